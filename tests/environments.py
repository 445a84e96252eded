"""Real Python environments for tests: venvs made without pip in a few milliseconds.

`with_our_mypy` puts this interpreter's site-packages on the new venv's path (a `.pth`
file), so the venv imports mypy and its dependencies as its own: a project
environment that has mypy installed. Without it the venv has no mypy.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path


def make_venv(folder: Path, *, with_our_mypy: bool = False) -> Path:
    """Create a venv at `folder` and return its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    if with_our_mypy:
        ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (site_packages(python) / "tapps-test-ours.pth").write_text("\n".join(sorted(ours)) + "\n")
    return python


def site_packages(python: Path) -> Path:
    done = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip())


def install_typed_package(python: Path, name: str, source: str) -> None:
    """A PEP 561 package (with `py.typed`) in the venv's site-packages."""
    package = site_packages(python) / name
    package.mkdir()
    (package / "__init__.py").write_text(source)
    (package / "py.typed").write_text("")

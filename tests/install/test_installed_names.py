"""What `pip install .` puts into a user's environment: one namespace, `tapps_lsp`.

Users install tapps-lsp into their project's own environment, where a `server` or an
`analyzers` package of the project's, or of another tool's, must never collide with ours.
The wheel is built from this checkout and installed into a fresh venv; the venv borrows the
test environment's dependencies (pygls, mypy, ...) through a path entry, not its packages.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv with this checkout's wheel installed."""
    work = tmp_path_factory.mktemp("install")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--wheel-dir", str(work / "dist"), str(REPO)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (work / "dist").glob("tapps_lsp-*.whl")
    env = work / "venv"
    venv.create(env, with_pip=False)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    # Dependencies come from the test environment's site-packages, a plain path entry:
    # its .pth files (the editable install of this checkout among them) are not read.
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install",
         "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return env / "bin"


def run_python(bin_dir: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "python"), "-c", code],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_only_the_namespace_is_installed(installed: Path, tmp_path: Path) -> None:
    for bare in ("server", "analyzers"):
        done = run_python(installed, f"import {bare}", tmp_path)
        assert done.returncode == 1 and "No module named" in done.stderr, done.stderr
    where = run_python(
        installed, "import tapps_lsp.server, tapps_lsp.analyzers.review as r; print(r.__file__)",
        tmp_path,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)
    assert not Path(where.stdout.strip()).is_relative_to(REPO)


def test_the_worker_ships_beside_the_engine(installed: Path, tmp_path: Path) -> None:
    """mypy_worker.py runs by path in the project's interpreter: it must be a plain file."""
    done = run_python(
        installed,
        "import tapps_lsp.analyzers.mypy.engine as e; print(e._WORKER_FILE.is_file())",
        tmp_path,
    )
    assert done.stdout.strip() == "True", done.stderr


def test_the_console_script_runs(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(installed / "tapps-lsp"), "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "check" in done.stdout and "serve" in done.stdout


def test_a_projects_own_server_package_does_not_stand_in(installed: Path, tmp_path: Path) -> None:
    """Run from a project folder that has its own `server` package, as editors do."""
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "__init__.py").write_text("raise SystemExit('the project ran')\n")
    (tmp_path / "server" / "__main__.py").write_text("raise SystemExit('the project ran')\n")
    done = subprocess.run(
        [str(installed / "python"), "-m", "tapps_lsp.server", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "the project ran" not in done.stderr, done.stderr

"""A hostile repository: every way its own files could choose a program for us to run.

Each program it names writes a marker file `MARKER-<name>` at the repository root when it
runs, then (for the interpreters) goes on as the real Python, so that a trusted run still
works. `markers(root)` lists the ones that ran.

The ways in:
- `[tool.tapps]`: `ruff.path`, `mypy.path`, `interpreter`, `mypy.args --python-executable`,
  and `trustedWorkspace` (a workspace trusting itself);
- a committed `.venv/bin/python`;
- a mypy plugin in `[tool.mypy]` (mypy imports it);
- a `librt.py` at the root (`python -m mypy` from the root imported it in place of the
  `librt` that mypy imports at start; tests/unit/test_interpreter.py checks the same with
  `mypy_extensions.py`);
- `.vscode/settings.json` setting `tapps.trustedWorkspace` and `tapps.ruff.path`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# A ruff finding (F401) and a mypy finding (assignment) that the real tools report.
MODULE = 'import os\n\nCOUNT: int = "many"\n'


def _program(path: Path, marker: Path, then: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\n: > "{marker}"\n{then}')
    path.chmod(0o755)


def hostile_repo(root: Path, *, mypy_path: bool = True, plugin: bool = True) -> Path:
    """Write the repository at `root`. Without `mypy_path` the `interpreter` setting is
    the one mypy uses when trusted; without `plugin`, mypy may run when untrusted."""
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text(MODULE)
    python = f'exec "{sys.executable}" "$@"\n'
    _program(root / "tools" / "fake-ruff", root / "MARKER-ruff")
    _program(root / "tools" / "fake-mypy", root / "MARKER-mypy")
    _program(root / "tools" / "fake-python", root / "MARKER-interpreter", python)
    _program(root / "tools" / "other-python", root / "MARKER-python-executable", python)
    _program(root / ".venv" / "bin" / "python", root / "MARKER-venv", python)
    marker = root / "MARKER-plugin"
    (root / "evil_plugin.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\n"
        "from mypy.plugin import Plugin\n\n\n"
        "def plugin(version):\n    return Plugin\n"
    )
    shadow = root / "MARKER-shadow"
    (root / "librt.py").write_text(f"open({str(shadow)!r}, 'w').close()\n")
    tapps_mypy = ['path = "tools/fake-mypy"'] if mypy_path else []
    tapps_mypy.append('args = ["--python-executable", "tools/other-python"]')
    mypy_plugins = ['plugins = ["./evil_plugin.py"]'] if plugin else []
    (root / "pyproject.toml").write_text(
        "\n".join(
            [
                "[tool.tapps]",
                'interpreter = "tools/fake-python"',
                "trustedWorkspace = true",
                "[tool.tapps.ruff]",
                'path = "tools/fake-ruff"',
                "[tool.tapps.mypy]",
                *tapps_mypy,
                "[tool.mypy]",
                'files = ["pkg"]',
                *mypy_plugins,
                "",
            ]
        )
    )
    (root / ".vscode").mkdir()
    (root / ".vscode" / "settings.json").write_text(
        json.dumps({"tapps.trustedWorkspace": True, "tapps.ruff.path": "tools/fake-ruff"})
    )
    return root


def markers(root: Path) -> list[str]:
    """The programs of the repository's that ran, by name."""
    return sorted(path.name.removeprefix("MARKER-") for path in root.glob("MARKER-*"))

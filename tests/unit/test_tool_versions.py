"""Tool versions are asked once per executable and remembered across restarts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mypy.version

from tapps_lsp.analyzers.cache.store import MemoryStore
from tapps_lsp.analyzers.tool_versions import (
    executable_identity,
    remembered_version,
    version_from_module,
)


def test_identity_follows_the_executable_file(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho 1.0\n")
    first = executable_identity([str(tool)])
    assert first is not None and first == executable_identity([str(tool)])
    tool.write_text("#!/bin/sh\necho 2.0.0\n")
    assert executable_identity([str(tool)]) != first
    assert executable_identity([str(tmp_path / "missing")]) is None


def test_identity_of_a_module_is_its_file_in_our_interpreter_only() -> None:
    assert executable_identity([sys.executable, "-m", "mypy"]) is not None
    assert executable_identity(["/usr/bin/some-other-python", "-m", "mypy"]) is None


async def test_a_version_is_asked_once_and_remembered(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("v1")
    store = MemoryStore()
    asked: list[str] = []

    async def ask() -> str:
        asked.append("asked")
        return f"{len(asked)}.0"

    assert await remembered_version(store, [str(tool)], ask) == "1.0"
    assert await remembered_version(store, [str(tool)], ask) == "1.0"
    assert asked == ["asked"]
    tool.write_text("v2, a new build")
    os.utime(tool, ns=(1, 1))
    assert await remembered_version(store, [str(tool)], ask) == "2.0"
    assert await remembered_version(store, [str(tmp_path / "gone")], ask) == "3.0"
    assert await remembered_version(store, [str(tmp_path / "gone")], ask) == "4.0"


def test_mypy_version_read_from_its_module_matches_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--version"], capture_output=True, text=True, check=True
    )
    stated = version_from_module(Path(mypy.version.__file__))
    assert stated is not None and done.stdout.startswith(f"mypy {stated} ")
    dev = tmp_path / "version.py"
    dev.write_text('__version__ = "2.5.0+dev"\nbase_version = __version__\n')
    assert version_from_module(dev) is None
    assert version_from_module(tmp_path / "missing" / "version.py") is None
    assert version_from_module(None) is None

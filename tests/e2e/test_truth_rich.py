"""Truth test: on rich 15.0.0, every file's diagnostics from the server equal what
`ruff check` and the project-level `mypy` run print for it."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.corpus_rich import prepare_rich
from tests.e2e.conftest import (
    Publish,
    Session,
    engine_info,
    start_session,
    stop_session,
    wait_engine,
)
from tests.mypy_direct import run_mypy_json

CORPUS_DIR = Path(__file__).resolve().parents[2] / "bench" / ".corpus"

Key = tuple[int, int, str, str]

pytestmark = pytest.mark.corpus


def _utf16(line: str, code_points: int) -> int:
    return len(line[:code_points].encode("utf-16-le")) // 2


def _direct_mypy(root: Path, cache: Path) -> dict[Path, set[Key]]:
    done = run_mypy_json(root, cache_dir=cache)
    assert done.returncode in (0, 1), done.stderr
    found: dict[Path, set[Key]] = defaultdict(set)
    for line in done.stdout.splitlines():
        record = json.loads(line)
        path = Path(record["file"])
        text_line = path.read_text(encoding="utf-8").split("\n")[record["line"] - 1]
        column = record["column"] if text_line.isascii() else -1
        message = record["message"] + (f"\n{record['hint']}" if record["hint"] else "")
        found[path].add((record["line"] - 1, column, record["code"] or "", message))
    return found


def _direct_ruff(root: Path) -> dict[Path, set[Key]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--output-format",
            "json",
            "--no-fix",
            "--force-exclude",
            "rich",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    found: dict[Path, set[Key]] = defaultdict(set)
    for record in json.loads(done.stdout):
        path = Path(record["filename"])
        row = record["location"]["row"] - 1
        lines = path.read_text(encoding="utf-8").split("\n")
        column = _utf16(lines[row], record["location"]["column"] - 1)
        found[path].add((row, column, record["code"] or "", record["message"]))
    return found


INJECTED = '\n\ndef _truth_check(flag: bool) -> int:\n    return "not an int" if flag else None\n'


@pytest.fixture(scope="module")
def shared_corpus() -> Path:
    return prepare_rich(CORPUS_DIR, Path(sys.executable)).root


@pytest.fixture
def rich_root(shared_corpus: Path, tmp_path: Path) -> Path:
    """A copy of rich with type errors injected into every tenth module, console.py
    (inside the 51-module import cycle) among them."""
    root = tmp_path / "rich-copy"
    shutil.copytree(shared_corpus, root, ignore=shutil.ignore_patterns(".mypy_cache"))
    modules = sorted((root / "rich").rglob("*.py"))
    for module in [*modules[::10], root / "rich" / "console.py"]:
        with module.open("a", encoding="utf-8") as handle:
            handle.write(INJECTED)
    return root


def _mismatches(
    files: list[Path],
    publishes: list[Publish],
    expected_mypy: dict[Path, set[Key]],
    expected_ruff: dict[Path, set[Key]],
) -> list[tuple[str, str, set[Key]]]:
    found = []
    for path, publish in zip(files, publishes, strict=True):
        lines = path.read_text(encoding="utf-8").split("\n")
        got_mypy = {
            (
                d.range.start.line,
                d.range.start.character if lines[d.range.start.line].isascii() else -1,
                str(d.code or ""),
                d.message,
            )
            for d in publish.by_source("mypy")
        }
        got_ruff = {
            (d.range.start.line, d.range.start.character, str(d.code or ""), d.message)
            for d in publish.by_source("ruff")
        }
        if got_mypy != expected_mypy.get(path, set()):
            found.append(("mypy", path.name, got_mypy ^ expected_mypy.get(path, set())))
        if got_ruff != expected_ruff.get(path, set()):
            found.append(("ruff", path.name, got_ruff ^ expected_ruff.get(path, set())))
    return found


async def _open_all(session: Session, root: Path, files: list[Path]) -> list[Publish]:
    marks = {path: session.open(str(path.relative_to(root))) for path in files}
    return list(
        await asyncio.gather(
            *(session.wait_complete(str(p.relative_to(root)), after=marks[p]) for p in files)
        )
    )


async def test_server_diagnostics_equal_ruff_and_project_mypy(
    rich_root: Path, tmp_path: Path
) -> None:
    files = sorted((rich_root / "rich").rglob("*.py"))
    assert len(files) >= 90
    expected_mypy = _direct_mypy(rich_root, tmp_path / "direct-mypy-cache")
    expected_ruff = _direct_ruff(rich_root)
    assert sum(len(v) for v in expected_mypy.values()) > 10, "injected errors must show"
    assert sum(len(v) for v in expected_ruff.values()) > 100

    session = await start_session(
        rich_root, initialization_options={"cache": {"dir": str(tmp_path / "cache")}}
    )
    try:
        publishes = await _open_all(session, rich_root, files)
        assert _mismatches(files, publishes, expected_mypy, expected_ruff) == []

        # Then through the warm fine-grained engine: an interface change in
        # rich/cells.py changes the findings of modules that import it.
        engine = await wait_engine(session)
        cells = rich_root / "rich" / "cells.py"
        edited = cells.read_text().replace(
            'def cell_len(text: str, unicode_version: str = "auto") -> int:',
            'def cell_len(text: str, unicode_version: str = "auto") -> str:',
        )
        mark = session.save("rich/cells.py", edited)
        await session.wait_complete("rich/cells.py", after=mark)
        for path in files:
            session.close(str(path.relative_to(rich_root)))
        publishes = await _open_all(session, rich_root, files)
        after = await engine_info(session)
    finally:
        await stop_session(session)
    assert after["checks"] > engine["checks"], "the edit went through the engine"
    expected_mypy = _direct_mypy(rich_root, tmp_path / "direct-mypy-cache-2")
    assert sum(len(v) for v in expected_mypy.values()) > 20
    assert _mismatches(files, publishes, expected_mypy, _direct_ruff(rich_root)) == []

"""A project engine's prime: a save goes to the real engine before the project scan is
done, and the next check takes that answer only if the file stayed as the engine read it.

Every answer is compared with the project-level CLI run on the same tree."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.imports import ProjectIndexer
from tapps_lsp.analyzers.mypy.engine import EngineResult
from tapps_lsp.analyzers.mypy.project_engine import ProjectEngine
from tests.unit.test_mypy_engine import TARGETS, cli_records, engine_records, make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


class RecordedEngine:
    """A ready project engine over `root`, with every check the engine receives recorded."""

    def __init__(self, root: Path) -> None:
        self.project_engine = ProjectEngine(sys.executable, root, TARGETS, timeout=60)
        self.indexer = ProjectIndexer(root)
        self.sent: list[list[str]] = []
        check = self.project_engine.engine.check

        async def recorded(
            changed: Sequence[Path] = (), removed: Sequence[Path] = ()
        ) -> EngineResult:
            self.sent.append(sorted(p.name for p in changed))
            return await check(changed, removed)

        self.project_engine.engine.check = recorded  # type: ignore[method-assign]

    async def start(self) -> None:
        self.project_engine.warm(lambda: asyncio.to_thread(self.indexer.scan))
        assert await self.project_engine.wait_ready()
        self.sent.clear()

    async def check(self) -> set[str]:
        result = await self.project_engine.check(self.indexer.scan())
        return engine_records(result.messages)


@pytest.fixture
async def engine(project: Path) -> AsyncIterator[RecordedEngine]:
    ready = RecordedEngine(project)
    await ready.start()
    try:
        yield ready
    finally:
        await ready.project_engine.close()


def save(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return content_hash(text)


async def test_a_primed_save_answers_the_next_check(project: Path, engine: RecordedEngine) -> None:
    b_py = project / "pkg" / "b.py"
    digest = save(b_py, b_py.read_text() + 'LATE: int = "late"\n')
    engine.project_engine.prime(b_py, digest)
    assert engine.project_engine.primed
    assert await engine.check() == cli_records(project)
    assert engine.sent == [["b.py"]], "the check took the prime's answer"
    assert not engine.project_engine.behind(engine.indexer.scan())


async def test_a_file_written_again_while_primed_is_checked_again(
    project: Path, engine: RecordedEngine
) -> None:
    """A second save lands while the engine works on the first (a race no test can
    time for real, so the second write comes right after the prime is sent)."""
    b_py = project / "pkg" / "b.py"
    original = b_py.read_text()
    engine.project_engine.prime(b_py, save(b_py, original + 'FIRST: int = "first"\n'))
    save(b_py, original + "SECOND_SAVE: str = 2\n")
    assert await engine.check() == cli_records(project)
    assert engine.sent == [["b.py"], ["b.py"]]


async def test_a_prime_with_other_files_changed_checks_them_too(
    project: Path, engine: RecordedEngine
) -> None:
    b_py, a_py = project / "pkg" / "b.py", project / "pkg" / "a.py"
    engine.project_engine.prime(b_py, save(b_py, b_py.read_text() + "B_EXTRA = 1\n"))
    save(a_py, a_py.read_text() + 'A_EXTRA: int = "a"\n')
    assert await engine.check() == cli_records(project)
    assert engine.sent[0] == ["b.py"] and "a.py" in engine.sent[1]


async def test_nothing_is_primed_for_content_the_engine_has(
    project: Path, engine: RecordedEngine
) -> None:
    b_py = project / "pkg" / "b.py"
    engine.project_engine.prime(b_py, content_hash(b_py.read_bytes()))
    assert not engine.project_engine.primed
    assert engine.sent == []


async def test_a_file_written_after_the_scan_is_never_taken_as_the_scanned_content(
    project: Path, engine: RecordedEngine
) -> None:
    """The scan saw one content, the engine may read another: that answer must not stand
    for the scanned graph (its results would be cached under the wrong content). The
    write lands between the scan and the engine's read, a window no test can hit on
    purpose otherwise."""
    b_py = project / "pkg" / "b.py"
    original = b_py.read_text()
    save(b_py, original + 'SCANNED: int = "scanned"\n')
    graph = engine.indexer.scan()
    save(b_py, original + 'READ_BY_THE_ENGINE: int = "read"\n')
    answer = await engine.project_engine.check(graph)
    assert not answer.settled, "an answer that may mix two contents is never stored"
    assert await engine.check() == cli_records(project)

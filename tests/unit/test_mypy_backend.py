"""The engine backend's prime: a save goes to the real engine before the project scan is
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
from tapps_lsp.analyzers.mypy_backend import EngineBackend
from tapps_lsp.analyzers.mypy_engine import EngineResult
from tests.unit.test_mypy_engine import TARGETS, cli_records, engine_records, make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


class Backend:
    """A ready backend over `root`, with every check the engine receives recorded."""

    def __init__(self, root: Path) -> None:
        self.backend = EngineBackend(sys.executable, root, TARGETS, timeout=60)
        self.indexer = ProjectIndexer(root)
        self.sent: list[list[str]] = []
        check = self.backend.engine.check

        async def recorded(
            changed: Sequence[Path] = (), removed: Sequence[Path] = ()
        ) -> EngineResult:
            self.sent.append(sorted(p.name for p in changed))
            return await check(changed, removed)

        self.backend.engine.check = recorded  # type: ignore[method-assign]

    async def start(self) -> None:
        self.backend.warm(lambda: asyncio.to_thread(self.indexer.scan))
        assert await self.backend.wait_ready()
        self.sent.clear()

    async def check(self) -> set[str]:
        result = await self.backend.check(self.indexer.scan())
        return engine_records(result.messages)


@pytest.fixture
async def backend(project: Path) -> AsyncIterator[Backend]:
    ready = Backend(project)
    await ready.start()
    try:
        yield ready
    finally:
        await ready.backend.close()


def save(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return content_hash(text)


async def test_a_primed_save_answers_the_next_check(project: Path, backend: Backend) -> None:
    b_py = project / "pkg" / "b.py"
    digest = save(b_py, b_py.read_text() + 'LATE: int = "late"\n')
    backend.backend.prime(b_py, digest)
    assert backend.backend.primed
    assert await backend.check() == cli_records(project)
    assert backend.sent == [["b.py"]], "the check took the prime's answer"
    assert not backend.backend.behind(backend.indexer.scan())


async def test_a_file_written_again_while_primed_is_checked_again(
    project: Path, backend: Backend
) -> None:
    """A second save lands while the engine works on the first (a race no test can
    time for real, so the second write comes right after the prime is sent)."""
    b_py = project / "pkg" / "b.py"
    original = b_py.read_text()
    backend.backend.prime(b_py, save(b_py, original + 'FIRST: int = "first"\n'))
    save(b_py, original + "SECOND_SAVE: str = 2\n")
    assert await backend.check() == cli_records(project)
    assert backend.sent == [["b.py"], ["b.py"]]


async def test_a_prime_with_other_files_changed_checks_them_too(
    project: Path, backend: Backend
) -> None:
    b_py, a_py = project / "pkg" / "b.py", project / "pkg" / "a.py"
    backend.backend.prime(b_py, save(b_py, b_py.read_text() + "B_EXTRA = 1\n"))
    save(a_py, a_py.read_text() + 'A_EXTRA: int = "a"\n')
    assert await backend.check() == cli_records(project)
    assert backend.sent[0] == ["b.py"] and "a.py" in backend.sent[1]


async def test_nothing_is_primed_for_content_the_engine_has(
    project: Path, backend: Backend
) -> None:
    b_py = project / "pkg" / "b.py"
    backend.backend.prime(b_py, content_hash(b_py.read_bytes()))
    assert not backend.backend.primed
    assert backend.sent == []


async def test_a_file_written_after_the_scan_is_never_taken_as_the_scanned_content(
    project: Path, backend: Backend
) -> None:
    """The scan saw one content, the engine may read another: that answer must not stand
    for the scanned graph (its results would be cached under the wrong content). The
    write lands between the scan and the engine's read, a window no test can hit on
    purpose otherwise."""
    b_py = project / "pkg" / "b.py"
    original = b_py.read_text()
    save(b_py, original + 'SCANNED: int = "scanned"\n')
    graph = backend.indexer.scan()
    save(b_py, original + 'READ_BY_THE_ENGINE: int = "read"\n')
    answer = await backend.backend.check(graph)
    assert not answer.settled, "an answer that may mix two contents is never stored"
    assert await backend.check() == cli_records(project)

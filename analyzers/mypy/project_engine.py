"""The fine-grained engine behind a project-level mypy run.

It keeps track of which sources the engine has seen, so each check tells it exactly
which files changed (by content hash, never by mtime), and it warms the engine in
the background: until the engine is ready, callers use the CLI run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.imports import ProjectGraph
from tapps_lsp.analyzers.mypy.engine import EngineError, EngineResult, MypyEngine
from tapps_lsp.analyzers.mypy.file_stat import FileStat, file_stat
from tapps_lsp.analyzers.settings import DEFAULT_MAX_RSS_MB

log = logging.getLogger(__name__)

# Refusals that will not change until the configuration does.
PERMANENT_KINDS = frozenset({"unsupported", "config", "untrusted"})
_MIN_START_TIMEOUT_S = 300.0
_WARM_UP_DELAY_S = 0.05
# File timestamps come from a coarse kernel clock: a write just after `started_ns` can be
# stamped a few milliseconds before it.
_CLOCK_SLACK_NS = 50_000_000


class ProjectEngine:
    def __init__(
        self,
        python: str,
        root: Path,
        argv: list[str],
        timeout: float,
        *,
        max_rss_mb: int = DEFAULT_MAX_RSS_MB,
        launch_refusal: Callable[[], str | None] | None = None,
    ) -> None:
        self.engine = MypyEngine(
            python=python,
            root=root,
            argv=argv,
            timeout=timeout,
            start_timeout=max(timeout, _MIN_START_TIMEOUT_S),
            max_rss_mb=max_rss_mb,
            launch_refusal=launch_refusal,
        )
        self.disabled: str | None = None
        self.checks = 0
        self._seen: dict[Path, str] = {}
        self._warmup: asyncio.Task[None] | None = None
        self._primed: _Prime | None = None
        # A project run is between its scan and its check's answer: no prime now.
        self.checking = False

    @property
    def ready(self) -> bool:
        return (
            self.disabled is None
            and self.engine.state == "ready"
            and self._warmup is not None
            and self._warmup.done()
        )

    def warm(self, scan: Callable[[], Awaitable[ProjectGraph]]) -> None:
        """Build the engine's state in the background, once."""
        if self._warmup is None and self.disabled is None:
            self._warmup = asyncio.ensure_future(self._start(scan))

    async def wait_ready(self) -> bool:
        """Wait for a warm-up in progress (it goes on if this waiter is cancelled)."""
        if self._warmup is not None and not self._warmup.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._warmup)
        return self.ready

    async def _start(self, scan: Callable[[], Awaitable[ProjectGraph]]) -> None:
        # Starting a process blocks the event loop for several milliseconds: let the
        # review that asked for the warm-up (often answered from the cache) finish first.
        await asyncio.sleep(_WARM_UP_DELAY_S)
        # The build does not wait for our scan (about 0.3 s on rich, cold): the engine
        # reads the sources while we hash them. A file written since the start may
        # differ between the two, so it counts as unseen: the first check tells the
        # engine about it again.
        started_ns = time.time_ns()
        scanning = asyncio.ensure_future(scan())
        try:
            await self.engine.start()
        except EngineError as exc:
            self._note_failure(exc)
            return
        finally:
            graph = await scanning
        self._seen = {
            path: digest
            for path, digest in _digests(graph).items()
            if not _written_since(path, started_ns - _CLOCK_SLACK_NS)
        }

    @property
    def primed(self) -> bool:
        """A prime was sent and no check has taken its answer yet."""
        return self._primed is not None

    def wants(self, path: Path, digest: str) -> bool:
        """Whether `prime` would tell the engine something: a source it holds, with new
        content, and no prime already on its way."""
        seen = self._seen.get(path)
        idle = self._primed is None and not self.checking
        return self.ready and idle and seen is not None and seen != digest

    def prime(self, path: Path, digest: str) -> None:
        """A save: tell the ready engine now that `path` holds `digest` on disk, while
        the caller still scans the project. The next `check` uses the answer if the
        file stayed as it was and nothing else changed."""
        if not self.wants(path, digest):
            return
        before = file_stat(path)
        if before is None:
            return
        answer = asyncio.ensure_future(self.engine.check([path], []))
        answer.add_done_callback(_retrieve)
        self._primed = _Prime(path, digest, before, answer)

    async def prime_settled(self) -> None:
        """Wait until the engine has answered the prime on its way, if any (the answer
        stays for the next check to take)."""
        if self._primed is not None:
            await asyncio.wait([self._primed.answer])

    async def _primed_answer(self) -> tuple[EngineResult, dict[Path, str]] | None:
        """The answer to a prime, with what the engine has seen after it; None if the
        file may have changed while the engine read it (then `check` asks again)."""
        primed, self._primed = self._primed, None
        if primed is None:
            return None
        result = await primed.answer
        if file_stat(primed.path) != primed.before or _digest(primed.path) != primed.digest:
            return None
        return result, {**self._seen, primed.path: primed.digest}

    def behind(self, graph: ProjectGraph) -> bool:
        """Whether a check of `graph` would tell the engine of any change."""
        current = _digests(graph)
        return current != self._seen

    async def check(self, graph: ProjectGraph) -> EngineResult:
        """All of the project's messages once the engine has seen `graph`'s sources;
        not `settled` if a file changed while the engine read them."""
        current = _digests(graph)
        try:
            primed = await self._primed_answer()
            if primed is not None and primed[1] == current:
                result = primed[0]
                self._seen = current
                self.checks += 1
                return result
            changed = [path for path, digest in current.items() if self._seen.get(path) != digest]
            removed = [path for path in self._seen if path not in current]
            # The engine reads the files now: each must still be as the scan saw it, and
            # stay so until the answer.
            before = _stats(current)
            result = await self.engine.check(changed, removed)
            after = _stats(current)
            moved = {p for p in current if not before[p] == after[p] == graph.stats.get(p)}
            if moved:
                # What the engine read of these is unknown: the next check names them.
                self._seen = {p: d for p, d in current.items() if p not in moved}
                self.checks += 1
                return dataclasses.replace(result, settled=False)
        except EngineError as exc:
            self._note_failure(exc)
            # A restarted worker builds from scratch; nothing it has seen carries over.
            self._seen = {}
            raise
        self._seen = current
        self.checks += 1
        return result

    def _note_failure(self, exc: EngineError) -> None:
        log.warning("mypy engine: %s", exc)
        if exc.kind in PERMANENT_KINDS:
            self.disabled = exc.message

    def describe(self) -> dict[str, Any]:
        state = self.engine.state
        if self.disabled:
            state = "disabled"
        elif state == "new" and self._warmup is not None:
            state = "starting"  # the warm-up waits a moment before it starts the process
        return {
            "state": state,
            "python": self.engine.python,
            "pid": self.engine.pid,
            "restarts": self.engine.restarts,
            "checks": self.checks,
            "disabledBecause": self.disabled,
            "lastError": str(self.engine.last_error) if self.engine.last_error else None,
            "breaker": self.engine.breaker.as_json(),
        }

    async def close(self) -> None:
        if self._warmup is not None and not self._warmup.done():
            self._warmup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warmup
        await self.engine.close()


@dataclass(frozen=True, slots=True)
class _Prime:
    path: Path
    digest: str
    before: FileStat
    answer: asyncio.Future[EngineResult]


def _stats(digests: dict[Path, str]) -> dict[Path, FileStat | None]:
    return {path: file_stat(path) for path in digests}


def _digest(path: Path) -> str | None:
    try:
        return content_hash(path.read_bytes())
    except OSError:
        return None


def _retrieve(answer: asyncio.Future[EngineResult]) -> None:
    """A prime nobody waited for still has its failure read (no asyncio warning)."""
    if not answer.cancelled():
        answer.exception()


def _written_since(path: Path, since_ns: int) -> bool:
    try:
        return path.stat().st_mtime_ns >= since_ns
    except OSError:
        return True


def _digests(graph: ProjectGraph) -> dict[Path, str]:
    return {path: entry.digest for path, entry in graph.files.items()}

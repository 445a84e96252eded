"""mypy project runs as the reviews use them: shared, stored per file, and caught up.

Reviews that saw the same sources share one project run. A run's results go to the store
file by file (the reviewed file first, the rest after the review has answered), unless a
file's inputs changed while mypy read them. After a result served from the store, a
catch-up run tells the engine what it has not seen yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.cache.recipes import MypyKeyContext, last_known_key, mypy_key, run_key
from tapps_lsp.analyzers.cache.singleflight import SingleFlight
from tapps_lsp.analyzers.cache.store import ResultStore, put_all
from tapps_lsp.analyzers.configs import config_text
from tapps_lsp.analyzers.environment import environment_fingerprint
from tapps_lsp.analyzers.findings import Source, ToolResult
from tapps_lsp.analyzers.imports import ProjectGraph
from tapps_lsp.analyzers.mypy.project import MypyProject, MypyRun
from tapps_lsp.analyzers.serialize import dump_result
from tapps_lsp.analyzers.timings import Timings

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass(frozen=True, slots=True)
class SeenSources:
    """What one review saw of its project: the file, unsaved texts, the scan."""

    path: Path
    shadows: dict[Path, str]
    graph: ProjectGraph | None


def file_key(path: Path, graph: ProjectGraph, context: MypyKeyContext) -> str | None:
    """Everything a file's mypy result depends on; None if the file is not in the graph."""
    digest = graph.digest_of(path)
    if digest is None:
        return None
    return mypy_key(path, digest, graph.closure_digest(path), context)


@dataclass(slots=True)
class ProjectRuns:
    store: ResultStore
    settings_key: str  # our mypy settings, as they enter the key
    timings: Timings
    spawn: Spawn  # background work, owned and awaited by the reviewer
    _flight: SingleFlight[MypyRun] = field(default_factory=SingleFlight)
    # Projects with a catch-up run waiting for its turn (it scans when it runs, so one
    # waiting covers every cache hit that asks for another).
    _catching_up: set[Path] = field(default_factory=set)
    # While a batch runs: failed project runs by the key of their sources, each with the
    # config text it failed with.
    _batches: int = 0
    _failed_runs: dict[str, tuple[MypyRun, str]] = field(default_factory=dict)

    async def key_context(self, project: MypyProject, version: str) -> MypyKeyContext:
        python = project.environment.python
        return MypyKeyContext(
            version=version,
            config_text=config_text(project.config),
            settings_key=self.settings_key,
            targets="\0".join(project.targets),
            environment=await environment_fingerprint(python) if python else "unknown",
        )

    async def file_key(
        self, project: MypyProject, path: Path, graph: ProjectGraph, version: str
    ) -> str | None:
        return file_key(path, graph, await self.key_context(project, version))

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """While a batch runs, a project run that failed (a bad mypy config, a crash) is
        its answer for every file over the same sources: a failure is never stored, so
        each file would run mypy again. The next batch, or save, tries again."""
        self._batches += 1
        try:
            yield
        finally:
            self._batches -= 1
            if not self._batches:
                self._failed_runs.clear()

    async def run(
        self,
        project: MypyProject,
        seen: SeenSources,
        version: str,
        generation: str,
        after_review: list[Coroutine[Any, Any, None]],
    ) -> MypyRun:
        """The project run for the sources `seen` (shared by reviews that saw the same),
        with its results stored: `seen.path` first, the rest appended to `after_review`."""

        async def run_project() -> MypyRun:
            # Wall time: the engine's own duration leaves out waiting for it to start.
            started = time.perf_counter()
            run = await project.run(seen.shadows)
            if not run.repeated:
                self.timings.record("mypy", (time.perf_counter() - started) * 1000)
            return run

        graph = seen.graph
        key = run_key(project.root, project.targets, graph.sources_key if graph else None)
        failed = self._failed_runs.get(key) if self._batches else None
        # The config is not among the sources: one fixed since the failure is tried.
        if failed is not None and failed[1] == config_text(project.config):
            return failed[0]
        run = await self._flight.run(key, run_project)
        if run.failure is not None and self._batches:
            self._failed_runs[key] = (run, config_text(project.config))
        if run.failure is None and not run.blocked and run.settled:
            after = await asyncio.to_thread(project.indexer.scan, seen.shadows)
            context = await self.key_context(project, version)
            await self._store(run, after, context, generation, [seen.path])
            # The rest of the project's results go to the cache off this save's path.
            others = [path for path in run.owned if path != seen.path]
            after_review.append(self._store(run, after, context, generation, others))
        return run

    def prime(
        self, project: MypyProject, path: Path, digest: str, on_disk: Callable[[], bool]
    ) -> None:
        """Saved content goes to a ready engine at once: it checks while the project is
        scanned for the cache key (a cache hit makes it the catch-up run)."""
        engine = project.engine
        if engine is None or not engine.wants(path, digest):
            return
        if project.untrusted_code() is not None:
            return
        if on_disk():
            engine.prime(path, digest)

    def catch_up_soon(
        self, project: MypyProject, seen: SeenSources, version: str, generation: str
    ) -> None:
        """After a result served from the cache (an undo, a switch back to a branch):
        tell the engine about the files it has not seen yet now, in the background,
        so the next save's check covers only that save's change."""
        if seen.shadows or seen.graph is None:
            return
        if project.engine_behind(seen.graph) and project.root not in self._catching_up:
            self._catching_up.add(project.root)
            self.spawn(self._catch_up(project, seen, version, generation))

    async def _catch_up(
        self, project: MypyProject, seen: SeenSources, version: str, generation: str
    ) -> None:
        after_review: list[Coroutine[Any, Any, None]] = []
        try:
            run = await self.run(project, seen, version, generation, after_review)
        finally:
            self._catching_up.discard(project.root)
        if run.failure is not None:
            log.debug("mypy catch-up run failed: %s", run.failure.message)
        for work in after_review:
            self.spawn(work)

    async def _store(
        self,
        run: MypyRun,
        after: ProjectGraph,
        context: MypyKeyContext,
        generation: str,
        paths: Iterable[Path],
    ) -> None:
        """Cache these files' results from `run`, unless their inputs changed while it ran
        (`after` is the project as it is now)."""
        entries: list[tuple[str, bytes]] = []
        for path in paths:
            if path not in run.graph.files:
                continue
            key = file_key(path, run.graph, context)
            if key is None or (after is not run.graph and key != file_key(path, after, context)):
                continue
            result = ToolResult(
                Source.MYPY, run.findings.get(path, ()), None, context.version, run.duration_ms
            )
            entries.append((key, dump_result(result)))
            digest = run.graph.digest_of(path)
            if digest is not None:
                entries.append((last_known_key(path, digest), key.encode()))
        await asyncio.to_thread(put_all, self.store, entries, generation)

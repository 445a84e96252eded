"""One file, end to end: cache lookup, ruff and mypy in parallel, the score.

`Reviewer.review()` is an async iterator of reports for one content: a partial
report with ruff's findings as soon as they are ready, then the complete one with
mypy's findings and the score. A cache hit yields the complete report at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.cache.keys import KeyBuilder, content_hash
from tapps_lsp.analyzers.cache.singleflight import SingleFlight
from tapps_lsp.analyzers.cache.store import ResultStore
from tapps_lsp.analyzers.configs import MypyConfig, find_mypy_config, read_text, ruff_config_files
from tapps_lsp.analyzers.environment import environment_fingerprint
from tapps_lsp.analyzers.findings import (
    FileReport,
    Finding,
    ScoreBreakdown,
    Severity,
    Source,
    ToolFailure,
    ToolResult,
    as_stale,
)
from tapps_lsp.analyzers.imports import IMPORTS_GENERATION, ProjectGraph, ProjectIndexer
from tapps_lsp.analyzers.interpreter import PythonEnvironment, choose_environment
from tapps_lsp.analyzers.metrics import CodeMetrics, measure
from tapps_lsp.analyzers.mypy import (
    MypyProject,
    MypyRun,
    config_text,
    file_key,
    mypy_version,
    run_targets,
    version_from_module,
)
from tapps_lsp.analyzers.mypy_backend import EngineBackend
from tapps_lsp.analyzers.process import ProcessError
from tapps_lsp.analyzers.ruff import ruff_command, ruff_version, run_ruff, run_ruff_batch
from tapps_lsp.analyzers.score import FORMULA_VERSION, compute_score
from tapps_lsp.analyzers.serialize import (
    METRICS_GENERATION,
    dump_metrics,
    dump_result,
    load_metrics,
    load_result,
)
from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.timings import Timings
from tapps_lsp.analyzers.tool_versions import VERSIONS_GENERATION, remembered_version
from tapps_lsp.analyzers.trust import inside_untrusted_message, may_run

log = logging.getLogger(__name__)
_METRICS_MEMO_SIZE = 512
_LAST_KNOWN = "lastmypy:v1:"
_METRICS_GROUP = 8  # files measured per thread hop


# Projects scanned once for a batch of files read from disk together (by project root):
# their keys then agree with each other, and planning each file costs no scan.
Snapshot = dict[Path, ProjectGraph]


@dataclass(frozen=True, slots=True)
class ToolVersions:
    ruff: str | None
    mypy: str | None
    ruff_failure: ToolFailure | None = None
    mypy_failure: ToolFailure | None = None


@dataclass(slots=True)
class _Plan:
    """What one review needs to know before running anything."""

    path: Path
    text: str
    digest: str
    ruff_key: str | None
    mypy_key: str | None = None
    project: MypyProject | None = None
    shadows: dict[Path, str] = field(default_factory=dict)
    graph: ProjectGraph | None = None
    # A blocking error elsewhere in the project stands: stored findings show as stale.
    blocked: bool = False
    metrics: asyncio.Future[CodeMetrics | str] | None = None
    # Cache writes for other files, started once this review has said what it found.
    after_review: list[Coroutine[Any, Any, None]] = field(default_factory=list)


@dataclass(slots=True)
class Reviewer:
    """Reviews files under one workspace root with one set of settings."""

    root: Path
    settings: ReviewSettings
    store: ResultStore
    mypy_cache_dir: Path
    _versions: ToolVersions | None = None
    _environment: PythonEnvironment | None = None
    _version_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _projects: dict[tuple[Path, Path | None, tuple[str, ...]], MypyProject] = field(
        default_factory=dict
    )
    _indexers: dict[Path, ProjectIndexer] = field(default_factory=dict)
    _ruff_flight: SingleFlight[ToolResult] = field(default_factory=SingleFlight)
    _mypy_flight: SingleFlight[MypyRun] = field(default_factory=SingleFlight)
    _metrics: OrderedDict[str, CodeMetrics | str] = field(default_factory=OrderedDict)
    _background: set[asyncio.Task[None]] = field(default_factory=set)
    # Projects with a catch-up run waiting for its turn (it scans when it runs, so one
    # waiting covers every cache hit that asks for another).
    _catching_up: set[Path] = field(default_factory=set)
    # While a batch runs: failed project runs by the key of their sources, each with the
    # config text it failed with.
    _batches: int = 0
    _failed_runs: dict[str, tuple[MypyRun, str]] = field(default_factory=dict)
    # Durations of real tool runs (not cache hits): "ruff", "ruff (batch)", "mypy".
    timings: Timings = field(default_factory=Timings)

    hits: int = 0
    misses: int = 0
    # Seconds per byte of source that a batch's tool stages took last time (its
    # progress estimate); None before the first batch.
    batch_tool_rate: float | None = None

    async def versions(self) -> ToolVersions:
        async with self._version_lock:
            if self._versions is None:
                self._environment = await choose_environment(
                    self.root,
                    interpreter=self.settings.interpreter,
                    mypy_path=self.settings.mypy.path,
                    trusted=self.settings.trusted_workspace,
                )
                self._versions = await _probe_versions(
                    self.root, self.settings, self.store, self._environment
                )
                if self._versions.ruff and self._versions.mypy:
                    keep = [
                        self.generation(self._versions),
                        IMPORTS_GENERATION,
                        VERSIONS_GENERATION,
                        METRICS_GENERATION,
                    ]
                    await asyncio.to_thread(self.store.prune, keep)
            return self._versions

    @property
    def environment(self) -> PythonEnvironment | None:
        """The Python environment mypy checks against, once `versions()` has run."""
        return self._environment

    def projects(self) -> list[MypyProject]:
        return list(self._projects.values())

    async def close(self) -> None:
        """Finish pending cache writes and stop every mypy engine this reviewer started."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        projects, self._projects = list(self._projects.values()), {}
        await asyncio.gather(*(project.close() for project in projects))

    async def result_id_now(self, path: Path, text: str, snapshot: Snapshot | None = None) -> str:
        """The result id a review of this text would have now, without running a tool.
        With a `snapshot`, files whose text is on disk share one scan of their project."""
        versions = await self.versions()
        plan = self._plan_ruff(path, text, versions)
        await self._plan_mypy(plan, versions, self.snapshot_for(path, text, snapshot), warm=False)
        return self._result_id(plan, blocked=plan.blocked)

    @staticmethod
    def snapshot_for(path: Path, text: str, snapshot: Snapshot | None) -> Snapshot | None:
        """`snapshot` if `text` is the file's content on disk (what a snapshot scanned)."""
        return snapshot if snapshot is not None and _disk_text(path) == text else None

    async def settled(self) -> None:
        """Wait for the cache writes still running in the background."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def generation(self, versions: ToolVersions) -> str:
        return f"ruff={versions.ruff};mypy={versions.mypy};formula={FORMULA_VERSION}"

    async def review(
        self, path: Path, text: str, snapshot: Snapshot | None = None
    ) -> AsyncIterator[FileReport]:
        """`snapshot`: for many files read from disk at once, each project scanned once
        (see Snapshot); `text` must then be the file's content on disk."""
        started = time.perf_counter()
        versions = await self.versions()
        plan = self._plan_ruff(path, text, versions)
        self._prime_engine(plan, versions)
        plan.metrics = self._measure_soon(plan)
        ruff_hit = self._cached(plan.ruff_key)
        ruff_task = None
        if self.settings.ruff.enabled and ruff_hit is None:
            ruff_task = asyncio.ensure_future(self._run_ruff(plan, versions))
        planning = asyncio.ensure_future(self._plan_mypy(plan, versions, snapshot))
        mypy_task = None
        partial_sent = False
        try:
            if ruff_task is not None:
                # ruff's findings go out as soon as they exist, even while the project
                # scan that the mypy key needs is still running.
                await asyncio.wait({ruff_task, planning}, return_when=asyncio.FIRST_COMPLETED)
                if ruff_task.done() and not planning.done():
                    yield self._report(plan, ruff_task.result(), None, started, metrics=None)
                    partial_sent = True
            await planning
            mypy_hit = self._shown_from_cache(plan, self._cached(plan.mypy_key))
            if self.settings.mypy.enabled and mypy_hit is None:
                mypy_task = asyncio.ensure_future(self._run_mypy(plan, versions))
            if mypy_task is None and mypy_hit is not None:
                self._catch_up_soon(plan, versions)
            if ruff_task is None and mypy_task is None:
                self.hits += 1
                metrics = await self._metrics_of(plan)
                yield self._report(plan, ruff_hit, mypy_hit, started, metrics=metrics)
                return
            self.misses += 1
            ruff_result = ruff_hit if ruff_task is None else await ruff_task
            if mypy_task is not None and not mypy_task.done():
                last_known = self._last_known(plan)
                if last_known is not None or not partial_sent:
                    yield self._report(plan, ruff_result, last_known, started, metrics=None)
            mypy_result = mypy_hit if mypy_task is None else await mypy_task
            metrics = await self._metrics_of(plan)
            yield self._report(plan, ruff_result, mypy_result, started, metrics=metrics)
        finally:
            self._end_review(plan, [ruff_task, planning, mypy_task, plan.metrics])

    def _end_review(self, plan: _Plan, tasks: list[asyncio.Future[Any] | None]) -> None:
        """Stop what the review no longer needs; start the writes it deferred."""
        for task in tasks:
            if task is not None and not task.done():
                task.cancel()
        for work in plan.after_review:
            self._spawn(work)

    async def review_cached(
        self, path: Path, text: str, snapshot: Snapshot | None = None
    ) -> FileReport | None:
        """The complete report if every part of it is stored already; None otherwise.
        Runs no tool and starts no engine."""
        versions = await self.versions()
        plan = self._plan_ruff(path, text, versions)
        ruff_hit = None
        if self.settings.ruff.enabled:
            ruff_hit = self._cached(plan.ruff_key)
            if ruff_hit is None:
                return None
        await self._plan_mypy(plan, versions, snapshot, warm=False)
        mypy_hit = None
        if self.settings.mypy.enabled:
            mypy_hit = self._shown_from_cache(plan, self._cached(plan.mypy_key))
            if mypy_hit is None:
                return None
        self.hits += 1
        plan.metrics = self._measure_soon(plan)
        metrics = await self._metrics_of(plan)
        return self._report(plan, ruff_hit, mypy_hit, time.perf_counter(), metrics=metrics)

    async def prefetch_ruff(self, texts: Mapping[Path, str]) -> set[Path]:
        """One ruff run over every file whose ruff result is not stored; returns the files
        whose results it stored. A file that changed on disk while ruff ran is not."""
        versions = await self.versions()
        if not self.settings.ruff.enabled or versions.ruff is None:
            return set()
        keys = {}
        for path, text in texts.items():
            key = self._ruff_key(path, content_hash(text), versions.ruff)
            if self.store.get(key) is None:
                keys[path] = key
        if not keys:
            return set()
        started = time.perf_counter()
        results = await run_ruff_batch(
            self.settings.ruff,
            {path: texts[path] for path in keys},
            cwd=self.root,
            timeout=self.settings.timeout,
            version=versions.ruff,
        )
        self.timings.record("ruff (batch)", (time.perf_counter() - started) * 1000)
        stored = {
            path
            for path, result in results.items()
            if path in keys and result.failure is None and _disk_text(path) == texts[path]
        }
        entries = [(keys[path], dump_result(results[path])) for path in stored]
        await asyncio.to_thread(self._put_all, entries, self.generation(versions))
        return stored

    async def may_depend_on(self, path: Path, changed: Path) -> bool:
        """Whether a change of `changed` can change `path`'s review: it is the file
        itself, or among the project files its mypy result depends on (by its
        project's last scan; True when that is unknown or mypy is blocked)."""
        if path == changed:
            return True
        project = await self.project_of(path)
        if project is None:
            return False
        if project.blocked:
            return True  # a blocking error anywhere shows in every file of the project
        graph = project.indexer.last_graph
        if graph is None or path not in graph.files:
            return True
        return changed in graph.closure(path)

    async def prefetch_mypy(self, path: Path) -> set[Path]:
        """The project run of `path`'s project over the sources on disk, every file's
        result stored when this returns (unless the run failed, was blocked or saw files
        move); returns the files it ran over. A review that needs the same run meanwhile
        shares it."""
        versions = await self.versions()
        if not self.settings.mypy.enabled or versions.mypy is None:
            return set()
        project = self._project_for(path)
        project.warm()  # the engine's build does not wait for the scan below
        graph = await asyncio.to_thread(project.indexer.scan, {})
        # Only the project and the sources seen matter to a project run, not the text.
        plan = _Plan(path, "", graph.digest_of(path) or "", None, project=project, graph=graph)
        run = await self._project_run(project, plan, versions.mypy, self.generation(versions))
        await asyncio.gather(*plan.after_review)
        return set(run.owned) if run.failure is None and run.settled else set()

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

    async def project_of(self, path: Path) -> MypyProject | None:
        """The mypy project-level run that covers `path` (None with mypy off)."""
        versions = await self.versions()
        if not self.settings.mypy.enabled or versions.mypy is None:
            return None
        return self._project_for(path)

    def _cached(self, key: str | None) -> ToolResult | None:
        if key is None:
            return None
        data = self.store.get(key)
        if data is None:
            return None
        try:
            return replace(load_result(data), cached=True)
        except ValueError:
            log.warning("dropping an unreadable cache entry %s", key)
            return None

    def _shown_from_cache(self, plan: _Plan, hit: ToolResult | None) -> ToolResult | None:
        """A stored mypy result as it shows now: behind the `blocked` notice while a
        blocking error stands; otherwise it becomes the file's last good result."""
        if hit is None or plan.project is None or plan.graph is None:
            return hit
        blocked = plan.project.blocked_view(plan.path, plan.graph, hit.findings)
        if blocked is not None:
            return replace(hit, findings=blocked)
        plan.project.note_shown(plan.path, hit.findings)
        return hit

    def _last_known(self, plan: _Plan) -> ToolResult | None:
        """The last mypy result stored for this very content, marked stale: shown while
        a slow run (the engine warming up, or the CLI) works out the current one."""
        if plan.project is None or plan.project.engine_ready:
            return None
        pointer = self.store.get(_last_known_key(plan.path, plan.digest))
        found = self._cached(pointer.decode(errors="replace")) if pointer else None
        if found is None:
            return None
        return replace(found, findings=tuple(map(as_stale, found.findings)))

    def _plan_ruff(self, path: Path, text: str, versions: ToolVersions) -> _Plan:
        digest = content_hash(text)
        ruff_key = None
        if self.settings.ruff.enabled and versions.ruff is not None:
            ruff_key = self._ruff_key(path, digest, versions.ruff)
        return _Plan(path, text, digest, ruff_key)

    async def _plan_mypy(
        self,
        plan: _Plan,
        versions: ToolVersions,
        snapshot: Snapshot | None = None,
        *,
        warm: bool = True,
    ) -> None:
        """The mypy half of the plan; `warm` starts the project's engine (a lookup that
        runs no tool leaves that to whoever needs the engine)."""
        if not self.settings.mypy.enabled or versions.mypy is None:
            return
        # A review's prime found the project already, a moment before.
        plan.project = plan.project or self._project_for(plan.path)
        if warm:
            plan.project.warm()
        if snapshot is not None:
            plan.graph = snapshot.get(plan.project.root)
            if plan.graph is None:
                plan.graph = await asyncio.to_thread(plan.project.indexer.scan, {})
                snapshot[plan.project.root] = plan.graph
        else:
            if _disk_text(plan.path) != plan.text:
                plan.shadows[plan.path] = plan.text
            plan.project.indexer.distrust(plan.path)
            plan.graph = await asyncio.to_thread(plan.project.indexer.scan, plan.shadows)
        plan.mypy_key = await self._mypy_key(plan.project, plan.path, plan.graph, versions.mypy)
        plan.blocked = plan.project.blocked_view(plan.path, plan.graph, ()) is not None

    def _ruff_key(self, path: Path, digest: str, version: str) -> str:
        key = KeyBuilder().add("tool", "ruff").add("version", version).add("path", str(path))
        for config in ruff_config_files(path):
            key.add("config", f"{config}\n{read_text(config)}")
        return key.add("settings", self.settings.tool_key("ruff")).add("content", digest).digest()

    async def _mypy_key(
        self, project: MypyProject, path: Path, graph: ProjectGraph, version: str
    ) -> str | None:
        return file_key(path, graph, **await self._key_context(project, version))

    async def _key_context(self, project: MypyProject, version: str) -> dict[str, str]:
        """What every file's mypy key shares within one project and one moment."""
        python = project.environment.python
        return {
            "version": version,
            "config_text": config_text(project.config),
            "settings_key": self.settings.tool_key("mypy"),
            "targets": "\0".join(project.targets),
            "environment": await environment_fingerprint(python) if python else "unknown",
        }

    def _project_for(self, path: Path) -> MypyProject:
        environment = self._environment
        assert environment is not None, "versions() chooses the environment first"
        config = find_mypy_config(path, self.root)
        targets = run_targets(config, path, self.settings.mypy)
        key = (config.root, config.config_file, targets)
        project = self._projects.get(key)
        if project is None:
            project = MypyProject(
                config=config,
                targets=targets,
                settings=self.settings.mypy,
                cache_dir=self.mypy_cache_dir,
                timeout=self.settings.timeout,
                indexer=self._indexer_for(config),
                environment=environment,
                trusted=self.settings.trusted_workspace,
            )
            if self.settings.mypy.engine and environment.mypy_python is not None:
                project.backend = EngineBackend(
                    environment.mypy_python,
                    config.root,
                    project.engine_argv(),
                    self.settings.timeout,
                    max_rss_mb=self.settings.engine_max_rss_mb,
                    launch_refusal=project.untrusted_code,
                )
            self._projects[key] = project
        return project

    def _indexer_for(self, config: MypyConfig) -> ProjectIndexer:
        indexer = self._indexers.get(config.root)
        if indexer is None:
            indexer = self._indexers[config.root] = ProjectIndexer(config.root, self.store)
        return indexer

    async def _run_ruff(self, plan: _Plan, versions: ToolVersions) -> ToolResult:
        if versions.ruff is None:
            return ToolResult(Source.RUFF, failure=versions.ruff_failure)
        key = plan.ruff_key or plan.digest

        async def run() -> ToolResult:
            result = await run_ruff(
                self.settings.ruff,
                plan.path,
                plan.text,
                cwd=self.root,
                timeout=self.settings.timeout,
                version=versions.ruff or "",
            )
            self.timings.record("ruff", result.duration_ms)
            if result.failure is None and plan.ruff_key is not None:
                await asyncio.to_thread(
                    self.store.put,
                    plan.ruff_key,
                    dump_result(result),
                    generation=self.generation(versions),
                )
            return result

        return await self._ruff_flight.run(key, run)

    async def _run_mypy(self, plan: _Plan, versions: ToolVersions) -> ToolResult:
        project = plan.project
        if project is None or versions.mypy is None:
            return ToolResult(Source.MYPY, failure=versions.mypy_failure)
        run = await self._project_run(project, plan, versions.mypy, self.generation(versions))
        if run.failure is not None:
            return ToolResult(Source.MYPY, failure=run.failure, version=versions.mypy)
        findings = run.findings.get(plan.path, ())
        failure = None
        warnings = [*filter(None, [project.environment.problem]), *run.warnings]
        if warnings:
            failure = ToolFailure(Source.MYPY, "warning", "mypy: " + "; ".join(warnings))
        return ToolResult(Source.MYPY, findings, failure, versions.mypy, run.duration_ms)

    async def _project_run(
        self, project: MypyProject, plan: _Plan, version: str, generation: str
    ) -> MypyRun:
        """The project run for the sources `plan` saw (shared by reviews that saw the
        same), with its results stored: `plan`'s file first, the rest in the background."""

        async def run_project() -> MypyRun:
            # Wall time: the engine's own duration leaves out waiting for it to start.
            started = time.perf_counter()
            run = await project.run(plan.shadows)
            if not run.repeated:
                self.timings.record("mypy", (time.perf_counter() - started) * 1000)
            return run

        key = _run_key(project, plan.graph)
        failed = self._failed_runs.get(key) if self._batches else None
        # The config is not among the sources: one fixed since the failure is tried.
        if failed is not None and failed[1] == config_text(project.config):
            return failed[0]
        run = await self._mypy_flight.run(key, run_project)
        if run.failure is not None and self._batches:
            self._failed_runs[key] = (run, config_text(project.config))
        if run.failure is None and not run.blocked and run.settled:
            after = await asyncio.to_thread(project.indexer.scan, plan.shadows)
            context = await self._key_context(project, version)
            await self._store_run(run, after, context, generation, [plan.path])
            # The rest of the project's results go to the cache off this save's path.
            others = [path for path in run.owned if path != plan.path]
            plan.after_review.append(self._store_run(run, after, context, generation, others))
        return run

    def _prime_engine(self, plan: _Plan, versions: ToolVersions) -> None:
        """Saved content goes to a ready engine at once: it checks while the project is
        scanned for the cache key (a cache hit makes it the catch-up run)."""
        if not self.settings.mypy.enabled or versions.mypy is None:
            return
        plan.project = self._project_for(plan.path)
        backend = plan.project.backend
        if backend is None or not backend.wants(plan.path, plan.digest):
            return
        if plan.project.untrusted_code() is not None:
            return
        if _disk_text(plan.path) == plan.text:
            backend.prime(plan.path, plan.digest)

    def _catch_up_soon(self, plan: _Plan, versions: ToolVersions) -> None:
        """After a result served from the cache (an undo, a switch back to a branch):
        tell the engine about the files it has not seen yet now, in the background,
        so the next save's check covers only that save's change."""
        project = plan.project
        if project is None or versions.mypy is None or plan.shadows or plan.graph is None:
            return
        if project.engine_behind(plan.graph) and project.root not in self._catching_up:
            self._catching_up.add(project.root)
            own = replace(plan, after_review=[])
            self._spawn(self._catch_up(project, own, versions.mypy, self.generation(versions)))

    async def _catch_up(
        self, project: MypyProject, plan: _Plan, version: str, generation: str
    ) -> None:
        try:
            run = await self._project_run(project, plan, version, generation)
        finally:
            self._catching_up.discard(project.root)
        if run.failure is not None:
            log.debug("mypy catch-up run failed: %s", run.failure.message)
        self._end_review(plan, [])

    async def _store_run(
        self,
        run: MypyRun,
        after: ProjectGraph,
        context: dict[str, str],
        generation: str,
        paths: Iterable[Path],
    ) -> None:
        """Cache these files' results from `run`, unless their inputs changed while it ran
        (`after` is the project as it is now)."""
        entries: list[tuple[str, bytes]] = []
        for path in paths:
            if path not in run.graph.files:
                continue
            key = file_key(path, run.graph, **context)
            if key is None or (after is not run.graph and key != file_key(path, after, **context)):
                continue
            result = ToolResult(
                Source.MYPY, run.findings.get(path, ()), None, context["version"], run.duration_ms
            )
            entries.append((key, dump_result(result)))
            digest = run.graph.digest_of(path)
            if digest is not None:
                entries.append((_last_known_key(path, digest), key.encode()))
        await asyncio.to_thread(self._put_all, entries, generation)

    def _put_all(self, entries: list[tuple[str, bytes]], generation: str) -> None:
        for key, value in entries:
            self.store.put(key, value, generation=generation)

    def _report(
        self,
        plan: _Plan,
        ruff: ToolResult | None,
        mypy: ToolResult | None,
        started: float,
        *,
        metrics: CodeMetrics | str | None,
    ) -> FileReport:
        """The complete report when `metrics` are given, else ruff's partial one."""
        complete = metrics is not None
        # The score counts what the tools found; `severity` only changes how it is shown.
        score = self._score(metrics, ruff, mypy) if metrics is not None else None
        ruff = self._with_overrides(ruff)
        mypy = self._with_overrides(mypy)
        return FileReport(
            path=str(plan.path),
            content_hash=plan.digest,
            ruff=ruff,
            mypy=mypy,
            score=score,
            complete=complete,
            result_id=self._result_id(plan, blocked=_is_blocked(mypy)),
            timings_ms={"total": (time.perf_counter() - started) * 1000},
        )

    def _result_id(self, plan: _Plan, *, blocked: bool) -> str:
        """Two reports with one id say the same: the same keys, and both blocked or not."""
        return (
            KeyBuilder()
            .add("ruff", plan.ruff_key)
            .add("mypy", plan.mypy_key)
            .add("blocked", blocked)
            .add("formula", FORMULA_VERSION)
            .add("severity", repr(sorted(self.settings.severity.items())))
            .digest()
        )

    def _with_overrides(self, result: ToolResult | None) -> ToolResult | None:
        if result is None or not self.settings.severity:
            return result
        return replace(result, findings=apply_severity(result.findings, self.settings.severity))

    def _score(
        self, metrics: CodeMetrics | str, ruff: ToolResult | None, mypy: ToolResult | None
    ) -> ScoreBreakdown:
        findings = [*(ruff.findings if ruff else ()), *(mypy.findings if mypy else ())]
        if isinstance(metrics, str):
            return compute_score(None, findings, syntax_error=metrics)
        unavailable = {r.tool for r in (ruff, mypy) if r is not None and _failed(r)}
        if not self.settings.ruff.enabled:
            unavailable.add(Source.RUFF)
        if not self.settings.mypy.enabled:
            unavailable.add(Source.MYPY)
        return compute_score(metrics, findings, unavailable=unavailable)

    def _measure_soon(self, plan: _Plan) -> asyncio.Future[CodeMetrics | str]:
        """The file's metrics: remembered (in memory or in the store) by content, else
        measured in a thread while the tools run, and stored."""
        found = self._metrics.get(plan.digest)
        if found is not None:
            self._metrics.move_to_end(plan.digest)
        else:
            found = load_metrics(self.store.get(_metrics_key(plan.digest)))
        if found is not None:
            done: asyncio.Future[CodeMetrics | str] = asyncio.get_running_loop().create_future()
            done.set_result(found)
            return done
        return asyncio.ensure_future(self._measure_and_store(plan.digest, plan.text))

    async def _measure_and_store(self, digest: str, text: str) -> CodeMetrics | str:
        found = await asyncio.to_thread(_measure, text, digest)
        await asyncio.to_thread(
            self._put_all, [(_metrics_key(digest), dump_metrics(found))], METRICS_GENERATION
        )
        return found

    async def _metrics_of(self, plan: _Plan) -> CodeMetrics | str:
        assert plan.metrics is not None
        found = await plan.metrics
        self._remember_metrics(plan.digest, found)
        return found

    def _remember_metrics(self, digest: str, found: CodeMetrics | str) -> None:
        self._metrics[digest] = found
        if len(self._metrics) > _METRICS_MEMO_SIZE:
            self._metrics.popitem(last=False)

    async def prefetch_metrics(self, texts: Iterable[str]) -> None:
        """Measure files ahead, while a slow tool runs in its own process: a batch's
        reviews then find their metrics remembered."""
        todo = {content_hash(text): text for text in texts}
        todo = {
            digest: text
            for digest, text in todo.items()
            if digest not in self._metrics and self.store.get(_metrics_key(digest)) is None
        }
        pending = list(todo.items())
        for start in range(0, len(pending), _METRICS_GROUP):
            group = pending[start : start + _METRICS_GROUP]
            measured = await asyncio.to_thread(_measure_group, group)
            for digest, found in measured:
                self._remember_metrics(digest, found)
            entries = [(_metrics_key(digest), dump_metrics(found)) for digest, found in measured]
            await asyncio.to_thread(self._put_all, entries, METRICS_GENERATION)


def _measure_group(group: list[tuple[str, str]]) -> list[tuple[str, CodeMetrics | str]]:
    return [(digest, _measure(text, digest)) for digest, text in group]


def _measure(text: str, digest: str | None = None) -> CodeMetrics | str:
    """Metrics, or why there are none (the syntax error)."""
    try:
        return measure(text, digest=digest)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except ValueError as exc:
        return str(exc)


def _is_blocked(result: ToolResult | None) -> bool:
    return result is not None and any(f.code == "blocked" for f in result.findings)


def _failed(result: ToolResult) -> bool:
    return result.failure is not None and result.failure.kind != "warning"


def apply_severity(
    findings: Iterable[Finding], overrides: Mapping[str, Severity]
) -> tuple[Finding, ...]:
    """Per-code severity overrides: "E501", "ruff:E501" or "mypy:arg-type" keys."""
    adjusted = []
    for finding in findings:
        code = finding.code or ""
        level = overrides.get(f"{finding.source.value}:{code}") or overrides.get(code)
        adjusted.append(finding if level is None else replace(finding, severity=level))
    return tuple(adjusted)


def _metrics_key(digest: str) -> str:
    return f"metrics:v1:{digest}"


def _last_known_key(path: Path, digest: str) -> str:
    """Points at the newest stored mypy result for this content of this file."""
    return f"{_LAST_KNOWN}{KeyBuilder().add('path', str(path)).add('content', digest).digest()}"


def _run_key(project: MypyProject, graph: ProjectGraph | None) -> str:
    """Two reviews share a project run only if they saw the same sources."""
    key = KeyBuilder().add("root", str(project.root)).add("targets", "\0".join(project.targets))
    if graph is not None:
        key.add("sources", graph.sources_key)
    return key.digest()


async def _probe_versions(
    root: Path, settings: ReviewSettings, store: ResultStore, environment: PythonEnvironment
) -> ToolVersions:
    """Both tools' versions, asked at once; a tool that cannot answer, or that an
    untrusted workspace may not run, is a failure."""

    async def ruff() -> tuple[str | None, ToolFailure | None]:
        named = settings.ruff.path
        if named and not may_run(named, root, trusted=settings.trusted_workspace):
            message = f"ruff: {inside_untrusted_message('ruff.path', named)}"
            return None, ToolFailure(Source.RUFF, "untrusted", message)
        asking = remembered_version(
            store,
            ruff_command(settings.ruff),
            lambda: ruff_version(settings.ruff, cwd=root, timeout=settings.timeout),
        )
        return await _probe(Source.RUFF, asking)

    mypy_asking = remembered_version(
        store,
        list(environment.mypy_command),
        lambda: _mypy_version(environment, settings.timeout),
        environment.mypy_module,
    )
    (ruff_found, ruff_failure), (mypy_found, mypy_failure) = await asyncio.gather(
        ruff(), _probe(Source.MYPY, mypy_asking)
    )
    return ToolVersions(ruff_found, mypy_found, ruff_failure, mypy_failure)


async def _mypy_version(environment: PythonEnvironment, timeout: float) -> str:
    stated = version_from_module(environment.mypy_module)
    if stated is not None:
        return stated
    return await mypy_version(environment.mypy_command, timeout=timeout)


async def _probe(
    tool: Source, asking: Coroutine[Any, Any, str]
) -> tuple[str | None, ToolFailure | None]:
    try:
        return await asking, None
    except ProcessError as exc:
        return None, ToolFailure(tool, exc.kind, f"{tool.value}: {exc.message}")


def _disk_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None

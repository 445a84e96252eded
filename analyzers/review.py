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
from collections.abc import AsyncIterator, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.cache import recipes
from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.cache.singleflight import SingleFlight
from tapps_lsp.analyzers.cache.store import ResultStore, put_all
from tapps_lsp.analyzers.code_metrics.memo import Measured, MetricsMemo
from tapps_lsp.analyzers.configs import read_text, ruff_config_files
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
from tapps_lsp.analyzers.imports import IMPORTS_GENERATION, ProjectGraph
from tapps_lsp.analyzers.interpreter import PythonEnvironment, choose_environment
from tapps_lsp.analyzers.mypy.project import MypyProject
from tapps_lsp.analyzers.mypy.projects import ProjectRegistry
from tapps_lsp.analyzers.mypy.runs import ProjectRuns, SeenSources
from tapps_lsp.analyzers.ruff import run_ruff, run_ruff_batch
from tapps_lsp.analyzers.score import FORMULA_VERSION, compute_score
from tapps_lsp.analyzers.serialize import METRICS_GENERATION, dump_result, load_result
from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.timings import Timings
from tapps_lsp.analyzers.tool_versions import VERSIONS_GENERATION, ToolVersions, probe_versions

log = logging.getLogger(__name__)


# Projects scanned once for a batch of files read from disk together (by project root):
# their keys then agree with each other, and planning each file costs no scan.
Snapshot = dict[Path, ProjectGraph]


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
    metrics: asyncio.Future[Measured] | None = None
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
    _ruff_flight: SingleFlight[ToolResult] = field(default_factory=SingleFlight)
    _background: set[asyncio.Task[None]] = field(default_factory=set)
    # Durations of real tool runs (not cache hits): "ruff", "ruff (batch)", "mypy".
    timings: Timings = field(default_factory=Timings)
    projects_registry: ProjectRegistry = field(init=False)
    mypy_runs: ProjectRuns = field(init=False)
    metrics: MetricsMemo = field(init=False)

    hits: int = 0
    misses: int = 0
    # Seconds per byte of source that a batch's tool stages took last time (its
    # progress estimate); None before the first batch.
    batch_tool_rate: float | None = None

    def __post_init__(self) -> None:
        self.projects_registry = ProjectRegistry(
            self.root, self.settings, self.store, self.mypy_cache_dir
        )
        self.mypy_runs = ProjectRuns(
            self.store, self.settings.tool_key("mypy"), self.timings, self._spawn
        )
        self.metrics = MetricsMemo(self.store)

    async def versions(self) -> ToolVersions:
        async with self._version_lock:
            if self._versions is None:
                self._environment = await choose_environment(
                    self.root,
                    interpreter=self.settings.interpreter,
                    mypy_path=self.settings.mypy.path,
                    trusted=self.settings.trusted_workspace,
                )
                self._versions = await probe_versions(
                    self.root, self.settings, self.store, self._environment
                )
                if self._versions.ruff and self._versions.mypy:
                    keep = [
                        self.generation(self._versions),
                        IMPORTS_GENERATION,
                        VERSIONS_GENERATION,
                        METRICS_GENERATION,
                        recipes.WORKFLOW_STEPS_GENERATION,
                    ]
                    await asyncio.to_thread(self.store.prune, keep)
            return self._versions

    @property
    def environment(self) -> PythonEnvironment | None:
        """The Python environment mypy checks against, once `versions()` has run."""
        return self._environment

    def projects(self) -> list[MypyProject]:
        return self.projects_registry.all()

    async def close(self) -> None:
        """Finish pending cache writes and stop every mypy engine this reviewer started."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.projects_registry.close()

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
        return recipes.generation(versions.ruff, versions.mypy, FORMULA_VERSION)

    async def review(
        self, path: Path, text: str, snapshot: Snapshot | None = None
    ) -> AsyncIterator[FileReport]:
        """`snapshot`: for many files read from disk at once, each project scanned once
        (see Snapshot); `text` must then be the file's content on disk."""
        started = time.perf_counter()
        versions = await self.versions()
        plan = self._plan_ruff(path, text, versions)
        self._prime_engine(plan, versions)
        plan.metrics = self.metrics.soon(plan.digest, plan.text)
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
        plan.metrics = self.metrics.soon(plan.digest, plan.text)
        metrics = await self._metrics_of(plan)
        return self._report(plan, ruff_hit, mypy_hit, time.perf_counter(), metrics=metrics)

    async def stored_ruff(self, path: Path, text: str) -> ToolResult | None:
        """ruff's stored result for this content as ruff gave it (no severity overrides);
        None if there is none (or ruff is off). Runs nothing."""
        versions = await self.versions()
        return self._cached(self._plan_ruff(path, text, versions).ruff_key)

    async def stored_mypy(
        self, path: Path, text: str, snapshot: Snapshot | None = None
    ) -> ToolResult | None:
        """mypy's stored result for this content and the project around it, as a review
        shows it (behind a blocking error's notice) but with no severity overrides; None
        if there is none (or mypy is off). Runs no tool, starts no engine."""
        versions = await self.versions()
        plan = _Plan(path, text, content_hash(text), None)
        await self._plan_mypy(plan, versions, snapshot, warm=False)
        return self._shown_from_cache(plan, self._cached(plan.mypy_key))

    async def score_of(
        self, text: str, ruff: ToolResult | None, mypy: ToolResult | None
    ) -> ScoreBreakdown:
        """The score a review gives this content with these results (as stored: no
        severity overrides), its metrics remembered or measured."""
        digest = content_hash(text)
        metrics = await self.metrics.of(digest, self.metrics.soon(digest, text))
        return self._score(metrics, ruff, mypy)

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
        await asyncio.to_thread(put_all, self.store, entries, self.generation(versions))
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
        run = await self.mypy_runs.run(
            project, _seen(plan), versions.mypy, self.generation(versions), plan.after_review
        )
        await asyncio.gather(*plan.after_review)
        return set(run.owned) if run.failure is None and run.settled else set()

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """While a batch runs, a failed project run answers for every file over the same
        sources (see `ProjectRuns.batch`)."""
        return self.mypy_runs.batch()

    async def prefetch_metrics(self, texts: Iterable[str]) -> None:
        """Measure files ahead, while a slow tool runs in its own process."""
        await self.metrics.prefetch(texts)

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
        pointer = self.store.get(recipes.last_known_key(plan.path, plan.digest))
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
        plan.mypy_key = await self.mypy_runs.file_key(
            plan.project, plan.path, plan.graph, versions.mypy
        )
        plan.blocked = plan.project.blocked_view(plan.path, plan.graph, ()) is not None

    def _ruff_key(self, path: Path, digest: str, version: str) -> str:
        return recipes.ruff_key(
            path,
            digest,
            version=version,
            configs=[(config, read_text(config)) for config in ruff_config_files(path)],
            settings_key=self.settings.tool_key("ruff"),
        )

    def _project_for(self, path: Path) -> MypyProject:
        environment = self._environment
        assert environment is not None, "versions() chooses the environment first"
        return self.projects_registry.project_for(path, environment)

    def _prime_engine(self, plan: _Plan, versions: ToolVersions) -> None:
        if not self.settings.mypy.enabled or versions.mypy is None:
            return
        plan.project = self._project_for(plan.path)
        self.mypy_runs.prime(
            plan.project, plan.path, plan.digest, lambda: _disk_text(plan.path) == plan.text
        )

    def _catch_up_soon(self, plan: _Plan, versions: ToolVersions) -> None:
        if plan.project is None or versions.mypy is None:
            return
        self.mypy_runs.catch_up_soon(
            plan.project, _seen(plan), versions.mypy, self.generation(versions)
        )

    async def _metrics_of(self, plan: _Plan) -> Measured:
        assert plan.metrics is not None
        return await self.metrics.of(plan.digest, plan.metrics)

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
        run = await self.mypy_runs.run(
            project, _seen(plan), versions.mypy, self.generation(versions), plan.after_review
        )
        if run.failure is not None:
            return ToolResult(Source.MYPY, failure=run.failure, version=versions.mypy)
        findings = run.findings.get(plan.path, ())
        failure = None
        warnings = [*filter(None, [project.environment.problem]), *run.warnings]
        if warnings:
            failure = ToolFailure(Source.MYPY, "warning", "mypy: " + "; ".join(warnings))
        return ToolResult(Source.MYPY, findings, failure, versions.mypy, run.duration_ms)

    def _report(
        self,
        plan: _Plan,
        ruff: ToolResult | None,
        mypy: ToolResult | None,
        started: float,
        *,
        metrics: Measured | None,
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
        return recipes.result_id(
            plan.ruff_key,
            plan.mypy_key,
            blocked=blocked,
            formula=FORMULA_VERSION,
            severity=self.settings.severity,
        )

    def _with_overrides(self, result: ToolResult | None) -> ToolResult | None:
        if result is None or not self.settings.severity:
            return result
        return replace(result, findings=apply_severity(result.findings, self.settings.severity))

    def _score(
        self, metrics: Measured, ruff: ToolResult | None, mypy: ToolResult | None
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


def _seen(plan: _Plan) -> SeenSources:
    return SeenSources(plan.path, plan.shadows, plan.graph)


def _disk_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None

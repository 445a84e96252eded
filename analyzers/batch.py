"""Review many files at once, streaming each file's report as soon as it is done.

The stages, each over every file still to do:
1. stored reports: a file whose every part is in the cache is done at once;
2. ruff: one ruff process over all the remaining files of a folder;
3. mypy: one project-level run per mypy project (the engine's when it is warm), which
   stores every file's result. It starts at the project's first cache miss, so mypy
   works on another core while stage 1 goes on and ruff runs;
4. the rest, `concurrency` files at a time, now mostly from the cache.

Progress is reported through a callback at every step and by a ticker while a long
step runs, so that a caller never goes quiet for long. While the tools run over the files
the cache could not answer (stages 2 and 3), no file finishes for a while: the share done
is then estimated from the time the tools have taken per byte of source (measured by the
reviewer's previous batch, else a default measured on rich), and never goes backwards.
Cancelling the coroutine stops running tools (their process groups are killed); every
stored entry is whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.admission import read_for_review
from tapps_lsp.analyzers.findings import FileReport
from tapps_lsp.analyzers.mypy.project import MypyProject
from tapps_lsp.analyzers.review import Reviewer, Snapshot

log = logging.getLogger(__name__)
_WORST_FILES = 10
_READ_GROUP = 64  # files read per thread hop
# Stages 2 and 3 over rich 15.0.0 (1.2 MB of source) from empty caches, 2 cores: 1.3 s;
# after a one-file edit about 0.2 s, whatever the file's size.
_DEFAULT_TOOL_S_PER_BYTE = 1.0e-6
_TOOL_FLOOR_S = 0.2
# Only a batch with this much source to run the tools on tells the rate.
_RATE_SAMPLE_MIN_BYTES = 100_000
# The share of a file's work that the tool stages stand for; the last stage, the rest.
_TOOL_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class BatchFile:
    """One file's outcome: its complete report, or why there is none."""

    path: Path
    report: FileReport | None
    problem: str | None = None
    # True when our own code failed on the file (a skip, e.g. too large, is not).
    failed: bool = False
    # The text reviewed, and the editor's version of it for an open document.
    text: str = ""
    version: int | None = None


@dataclass(frozen=True, slots=True)
class BatchProgress:
    done: int
    total: int
    stage: str
    current: Path | None
    elapsed_s: float
    eta_s: float | None
    # The share of the batch done, 0 to 1: files done, plus an estimate for the files
    # the tools are working on. It only rises.
    fraction: float = 0.0


@dataclass(slots=True)
class BatchSummary:
    files: int = 0
    reviewed: int = 0
    skipped: int = 0
    by_severity: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    scores: list[tuple[int, Path]] = field(default_factory=list)
    # Reviewed but not scored (a syntax error): worse than any score.
    unscored: list[Path] = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0
    duration_ms: float = 0.0
    cancelled: bool = False

    def add(self, item: BatchFile, *, hit: bool) -> None:
        self.files += 1
        if item.report is None:
            self.skipped += 1
            return
        if item.report.score is None or item.report.score.total is None:
            self.unscored.append(item.path)
        self.reviewed += 1
        if hit:
            self.cache_hits += 1
        else:
            self.cache_misses += 1
        for finding in item.report.findings:
            self.by_severity[finding.severity.name.lower()] += 1
            self.by_source[finding.source.value] += 1
        score = item.report.score
        if score is not None and score.total is not None:
            self.scores.append((score.total, item.path))

    def as_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        totals = [total for total, _ in self.scores]
        worst = sorted(self.scores, key=lambda entry: (entry[0], str(entry[1])))[:_WORST_FILES]
        lookups = self.cache_hits + self.cache_misses
        return {
            "files": self.files,
            "reviewed": self.reviewed,
            "skipped": self.skipped,
            "findings": {
                "total": sum(self.by_severity.values()),
                "bySeverity": dict(sorted(self.by_severity.items())),
                "bySource": dict(sorted(self.by_source.items())),
            },
            "meanScore": round(statistics.fmean(totals), 1) if totals else None,
            "worstScore": min(totals) if totals else None,
            "worstFiles": [
                *({"path": _shown(path, relative_to), "score": None} for path in self.unscored),
                *({"path": _shown(path, relative_to), "score": total} for total, path in worst),
            ][:_WORST_FILES],
            "cache": {
                "hits": self.cache_hits,
                "misses": self.cache_misses,
                "hitRate": round(self.cache_hits / lookups, 3) if lookups else None,
            },
            "durationMs": round(self.duration_ms, 1),
            "cancelled": self.cancelled,
        }


def _shown(path: Path, relative_to: Path | None) -> str:
    if relative_to is not None and path.is_relative_to(relative_to):
        return path.relative_to(relative_to).as_posix()
    return str(path)


# The editor's text and version of a file open in it, or None to read it from disk.
OpenText = Callable[[Path], tuple[str, int | None] | None]
OnFile = Callable[[BatchFile], None]
OnProgress = Callable[[BatchProgress], None]


@dataclass(slots=True)
class BatchReview:
    """One batch: the files, each with the reviewer of its folder."""

    files: Sequence[tuple[Reviewer, Path]]
    concurrency: int
    on_file: OnFile
    on_progress: OnProgress
    open_text: OpenText | None = None
    tick_s: float = 0.25
    summary: BatchSummary = field(default_factory=BatchSummary)
    _started: float = field(default_factory=time.perf_counter)
    _done: int = 0
    _stage: str = "reading"
    _stage_started: float = field(default_factory=time.perf_counter)
    _done_before_stage: int = 0
    _current: Path | None = None
    _snapshots: dict[int, Snapshot] = field(default_factory=dict)
    # The project runs of mypy started at each project's first cache miss, by project.
    _mypy_runs: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    _mypy_starts: list[asyncio.Future[None]] = field(default_factory=list)
    # Each file's mypy project (None: mypy is off), looked up once per batch.
    _projects: dict[Path, MypyProject | None] = field(default_factory=dict)
    # Files whose ruff or mypy result this batch's own runs stored: not "cached" in
    # their reports, though the last stage reads them from the cache.
    _ran: dict[str, set[Path]] = field(default_factory=lambda: {"ruff": set(), "mypy": set()})
    _tools: ToolEstimate | None = None
    _fraction: float = 0.0

    async def run(self) -> BatchSummary:
        """Review every file; on cancellation the summary says so, with what was done."""
        ticker = asyncio.ensure_future(self._tick())
        try:
            with contextlib.ExitStack() as batches:
                for reviewer in {id(r): r for r, _ in self.files}.values():
                    batches.enter_context(reviewer.batch())
                await self._stages()
        except asyncio.CancelledError:
            self.summary.cancelled = True
            raise
        finally:
            ticker.cancel()
            for task in [*self._mypy_starts, *self._mypy_runs.values()]:
                task.cancel()
            self.summary.duration_ms = (time.perf_counter() - self._started) * 1000
        self._report_progress()
        return self.summary

    async def _stages(self) -> None:
        self._report_progress()
        texts = await self._read_all()
        self._set_stage("cached results")
        remaining = await self._bounded(
            [(reviewer, path) for reviewer, path in self.files if path in texts],
            lambda reviewer, path: self._from_cache(reviewer, path, texts[path]),
        )
        by_reviewer: dict[int, tuple[Reviewer, list[Path]]] = {}
        for reviewer, path in remaining:
            # Reviewers compare by value; each stands for its own folder here.
            by_reviewer.setdefault(id(reviewer), (reviewer, []))[1].append(path)
        if remaining:
            self._tools = ToolEstimate.start(
                files=len(remaining),
                size=sum(len(texts[path][0]) for _, path in remaining),
                seconds_per_byte=min(
                    r.batch_tool_rate or _DEFAULT_TOOL_S_PER_BYTE for r, _ in remaining
                ),
            )
        for reviewer, paths in by_reviewer.values():
            self._set_stage(f"ruff on {len(paths)} files")
            # The mypy projects are scanned (their imports parsed) while ruff runs.
            scanning = asyncio.ensure_future(self._scan_projects(reviewer, paths))
            try:
                ran = await reviewer.prefetch_ruff({p: texts[p][0] for p in paths})
                self._ran["ruff"] |= ran
                await scanning
            finally:
                scanning.cancel()
        # The metrics of every remaining file are measured while mypy runs (another core).
        measuring = {
            id(reviewer): asyncio.ensure_future(
                reviewer.prefetch_metrics(texts[p][0] for p in paths)
            )
            for reviewer, paths in by_reviewer.values()
        }
        try:
            await asyncio.gather(*self._mypy_starts)
            groups = await self._by_project(by_reviewer.values())
            for reviewer, paths in [(r, ps) for r, project, ps in groups if project is None]:
                await self._files_stage(reviewer, paths, texts, measuring)
            # Project by project as its run ends: its files stream out while the other
            # projects' runs go on.
            runs = {
                await self._run_of(group[0], group[1], group[2][0]): group
                for group in groups
                if group[1] is not None
            }
            while runs:
                names = sorted(_project_name(group[1]) for group in runs.values())
                self._set_stage("mypy on " + ", ".join(names))
                done, _ = await asyncio.wait(runs, return_when=asyncio.FIRST_COMPLETED)
                for run in done:
                    reviewer, _, paths = runs.pop(run)
                    await reviewer.settled()
                    await self._files_stage(reviewer, paths, texts, measuring)
        finally:
            for task in measuring.values():
                task.cancel()

    async def _files_stage(
        self,
        reviewer: Reviewer,
        paths: list[Path],
        texts: dict[Path, tuple[str, int | None]],
        measuring: Mapping[int, asyncio.Future[None]],
    ) -> None:
        """The files' reviews, now mostly from the cache (their metrics measured first)."""
        if id(reviewer) in measuring:
            await measuring[id(reviewer)]
        self._tools_done()
        self._set_stage("files")
        items = [(reviewer, path) for path in paths]
        await self._bounded(items, lambda r, p: self._review(r, p, texts[p]))

    async def _by_project(
        self, groups: Iterable[tuple[Reviewer, list[Path]]]
    ) -> list[tuple[Reviewer, MypyProject | None, list[Path]]]:
        """The files of each reviewer by mypy project (None: mypy is off), those without
        one first, the rest in the order their projects first appear."""
        found: dict[tuple[int, int], tuple[Reviewer, MypyProject | None, list[Path]]] = {}
        for reviewer, paths in groups:
            for path in paths:
                project = await self._project_of(reviewer, path)
                key = (id(reviewer), id(project) if project is not None else 0)
                found.setdefault(key, (reviewer, project, []))[2].append(path)
        return sorted(found.values(), key=lambda group: group[1] is not None)

    def _tools_done(self) -> None:
        """At the first files stage: the tool estimate ends, and its rate is remembered."""
        tools = self._tools
        if tools is None or tools.finished:
            return
        tools.finish(time.perf_counter())
        if tools.size >= _RATE_SAMPLE_MIN_BYTES:
            for reviewer, _ in self.files:
                reviewer.batch_tool_rate = tools.seconds_per_byte

    def _start_mypy_soon(self, reviewer: Reviewer, path: Path) -> None:
        """At a file the cache cannot answer: its project's run starts now, unless it has.
        A batch answered from stored results alone starts no engine and runs no mypy."""
        self._mypy_starts.append(asyncio.ensure_future(self._start_mypy(reviewer, path)))

    async def _project_of(self, reviewer: Reviewer, path: Path) -> MypyProject | None:
        if path not in self._projects:
            self._projects[path] = await reviewer.project_of(path)
        return self._projects[path]

    async def _start_mypy(self, reviewer: Reviewer, path: Path) -> None:
        project = await self._project_of(reviewer, path)
        if project is not None and id(project) not in self._mypy_runs:
            run = asyncio.ensure_future(self._run_project(reviewer, path, project.root))
            self._mypy_runs[id(project)] = run

    async def _run_project(self, reviewer: Reviewer, path: Path, root: Path) -> None:
        try:
            self._ran["mypy"] |= await reviewer.prefetch_mypy(path)
        except Exception:  # the files' own reviews run mypy again and report the failure
            log.exception("the mypy run of %s failed", root)

    async def _run_of(
        self, reviewer: Reviewer, project: MypyProject, first: Path
    ) -> asyncio.Future[None]:
        """The project's run, which the first miss among its files started."""
        if id(project) not in self._mypy_runs:  # the fallback: a miss starts it
            await self._start_mypy(reviewer, first)
        return self._mypy_runs[id(project)]

    async def _read_all(self) -> dict[Path, tuple[str, int | None]]:
        texts: dict[Path, tuple[str, int | None]] = {}
        on_disk: list[tuple[Path, int]] = []
        for reviewer, path in self.files:
            opened = self.open_text(path) if self.open_text is not None else None
            if opened is not None:
                texts[path] = opened
            else:
                on_disk.append((path, reviewer.settings.max_file_size))
        for start in range(0, len(on_disk), _READ_GROUP):
            group = on_disk[start : start + _READ_GROUP]
            read = await asyncio.to_thread(_read_group, group)
            for (path, _), (text, problem) in zip(group, read, strict=True):
                if text is None:
                    self._finish(BatchFile(path, None, problem), hit=False)
                else:
                    texts[path] = (text, None)
        return texts

    async def _from_cache(
        self, reviewer: Reviewer, path: Path, text: tuple[str, int | None]
    ) -> bool:
        """Finishes the file from stored results; False when a tool must run."""
        try:
            report = await reviewer.review_cached(path, text[0], self._snapshot(reviewer, text))
        except Exception as exc:  # one file's failure never ends the batch
            log.exception("reviewing %s from the cache failed", path)
            self._finish(BatchFile(path, None, f"not reviewed: {exc}", failed=True), hit=False)
            return True
        if report is None:
            self._start_mypy_soon(reviewer, path)
            return False
        self._finish(BatchFile(path, report, text=text[0], version=text[1]), hit=True)
        return True

    async def _review(self, reviewer: Reviewer, path: Path, text: tuple[str, int | None]) -> bool:
        try:
            snapshot = self._snapshot(reviewer, text)
            reports = [report async for report in reviewer.review(path, text[0], snapshot)]
        except Exception as exc:  # one file's failure never ends the batch
            log.exception("reviewing %s failed", path)
            self._finish(BatchFile(path, None, f"not reviewed: {exc}", failed=True), hit=False)
            return True
        report = self._as_run_here(path, reports[-1])
        self._finish(BatchFile(path, report, text=text[0], version=text[1]), hit=False)
        return True

    def _as_run_here(self, path: Path, report: FileReport) -> FileReport:
        ruff, mypy = report.ruff, report.mypy
        if ruff is not None and ruff.cached and path in self._ran["ruff"]:
            ruff = replace(ruff, cached=False)
        if mypy is not None and mypy.cached and path in self._ran["mypy"]:
            mypy = replace(mypy, cached=False)
        return replace(report, ruff=ruff, mypy=mypy)

    async def _scan_projects(self, reviewer: Reviewer, paths: list[Path]) -> None:
        snapshot = self._snapshots.setdefault(id(reviewer), {})
        for path in paths:
            project = await self._project_of(reviewer, path)
            if project is not None and project.root not in snapshot:
                snapshot[project.root] = await asyncio.to_thread(project.indexer.scan, {})

    def _snapshot(self, reviewer: Reviewer, text: tuple[str, int | None]) -> Snapshot | None:
        """One scan per project for the files read from disk; an open document's text
        may differ from the disk, so its review plans on its own."""
        if text[1] is not None:
            return None
        return self._snapshots.setdefault(id(reviewer), {})

    async def _bounded(
        self,
        items: list[tuple[Reviewer, Path]],
        work: Callable[[Reviewer, Path], Any],
    ) -> list[tuple[Reviewer, Path]]:
        """Run `work` on each item, `concurrency` at a time; returns the items it
        answered False for."""
        left: list[tuple[Reviewer, Path]] = []
        queue = iter(items)

        async def worker() -> None:
            for reviewer, path in queue:
                if not await work(reviewer, path):
                    left.append((reviewer, path))
                # A cache hit never suspends: without this, every lookup of the batch
                # would run in one turn of the event loop (160 ms on rich).
                await asyncio.sleep(0)

        workers = [asyncio.ensure_future(worker()) for _ in range(max(1, self.concurrency))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
        order = {path: index for index, (_, path) in enumerate(items)}
        return sorted(left, key=lambda item: order[item[1]])

    def _finish(self, item: BatchFile, *, hit: bool) -> None:
        self._done += 1
        self._current = item.path
        self.summary.add(item, hit=hit)
        self.on_file(item)
        self._report_progress()

    def _set_stage(self, stage: str) -> None:
        self._stage = stage
        self._stage_started = time.perf_counter()
        self._done_before_stage = self._done
        self._report_progress()

    def _report_progress(self) -> None:
        """The ETA comes from the current stage's rate: files answered from the cache
        at the start say nothing about how fast the rest will go."""
        now = time.perf_counter()
        total = len(self.files)
        done_in_stage = self._done - self._done_before_stage
        eta = None
        tools = self._tools
        if self._done == total:
            eta = 0.0
        elif tools is not None and not tools.finished:
            eta = tools.eta_s(now)
        elif done_in_stage > 0:
            eta = (now - self._stage_started) / done_in_stage * (total - self._done)
        fraction = self._done / total if total else 1.0
        if tools is not None and not tools.finished:
            # The files in the tools' hands are a share of the way there already.
            fraction += tools.files * _TOOL_SHARE * tools.share_done(now) / total
        elif tools is not None:
            # What they still lack is their last stage, a tenth of their work.
            undone = total - self._done
            fraction += min(undone, tools.files) * _TOOL_SHARE / total
        self._fraction = max(self._fraction, min(fraction, 1.0))
        elapsed = now - self._started
        self.on_progress(
            BatchProgress(
                self._done, total, self._stage, self._current, elapsed, eta, self._fraction
            )
        )

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                self._report_progress()
            except Exception:  # a broken progress sink must not end the batch
                log.exception("progress report failed")
                return


@dataclass(slots=True)
class ToolEstimate:
    """The tool stages of a batch (ruff, then mypy) over the files the cache could not
    answer: how long they should take, from a rate in seconds per byte of source."""

    files: int
    size: int
    seconds_per_byte: float
    started: float
    finished: bool = False

    @classmethod
    def start(cls, *, files: int, size: int, seconds_per_byte: float) -> ToolEstimate:
        return cls(files, max(size, 1), seconds_per_byte, time.perf_counter())

    @property
    def expected_s(self) -> float:
        return _TOOL_FLOOR_S + self.size * self.seconds_per_byte

    def share_done(self, now: float) -> float:
        """Elapsed over expected, held below 1 until the tools are done."""
        return min((now - self.started) / self.expected_s, 0.95)

    def eta_s(self, now: float) -> float | None:
        """None once the tools take longer than expected: no honest guess is left."""
        left = self.expected_s - (now - self.started)
        return left if left > 0 else None

    def finish(self, now: float) -> None:
        """The rate they had this time is the next batch's guess, if there was enough
        source to tell it (a few files' time is mostly the floor)."""
        self.finished = True
        if self.size >= _RATE_SAMPLE_MIN_BYTES:
            took = now - self.started - _TOOL_FLOOR_S
            self.seconds_per_byte = max(took, 0.0) / self.size


def _project_name(project: MypyProject | None) -> str:
    return "" if project is None else project.root.name or str(project.root)


def _read_group(group: list[tuple[Path, int]]) -> list[tuple[str | None, str | None]]:
    return [read_for_review(path, limit) for path, limit in group]

"""The steps a save runs, as workflow steps: `ruff`, `mypy` and `score`.

They share the review cache instead of keeping a copy of their own: a step runs its
tool only over what the cache cannot answer (one ruff run over those files, one project
run per mypy project), then reads every file's result as a review would show it. A
rerun over unchanged files is only lookups.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.batch import BatchFile, BatchReview
from tapps_lsp.analyzers.findings import Finding, Source, ToolResult
from tapps_lsp.analyzers.review import Reviewer, Snapshot
from tapps_lsp.analyzers.workflows.sources import Sources, read_sources
from tapps_lsp.analyzers.workflows.step import DoneStep, StepFailed, StepInput, StepOutput

# ToolFailure kinds worth a retry (a crash, a timeout); the others (missing, a config
# error) fail the same way again.
_TRANSIENT = ("crash", "timeout")


@dataclass(frozen=True, slots=True)
class _ReviewStep:
    """What the three share: no options, and the review cache instead of the step cache."""

    name: str
    tool: str
    cacheable: bool = False
    runs_programs: bool = False

    def problems(self, options: Mapping[str, Any]) -> list[str]:
        return [f"unknown option `{key}` (this step has none)" for key in options]


@dataclass(frozen=True, slots=True)
class RuffStep(_ReviewStep):
    async def version(self, step: StepInput) -> str:
        return (await step.reviewer.versions()).ruff or ""

    async def run(self, step: StepInput) -> StepOutput:
        reviewer = step.reviewer
        if not reviewer.settings.ruff.enabled:
            return _off("ruff")
        sources = await read_sources(step.files, reviewer.settings.max_file_size)
        found = {
            path: await reviewer.stored_ruff(path, text) for path, text in sources.texts.items()
        }
        missing = {path: sources.texts[path] for path, hit in found.items() if hit is None}
        if missing:
            await reviewer.prefetch_ruff(missing)
        for path, text in missing.items():
            found[path] = await reviewer.stored_ruff(path, text) or await _reviewed(
                reviewer, path, text, "ruff"
            )
        return _output(found, sources, cached=not missing)


@dataclass(frozen=True, slots=True)
class MypyStep(_ReviewStep):
    async def version(self, step: StepInput) -> str:
        return (await step.reviewer.versions()).mypy or ""

    async def run(self, step: StepInput) -> StepOutput:
        reviewer = step.reviewer
        if not reviewer.settings.mypy.enabled:
            return _off("mypy")
        sources = await read_sources(step.files, reviewer.settings.max_file_size)
        found = await _stored_mypy(reviewer, sources.texts, {})
        missing = [path for path, hit in found.items() if hit is None]
        if missing:
            await _run_projects(reviewer, missing)
            again = await _stored_mypy(reviewer, {p: sources.texts[p] for p in missing}, {})
            for path, hit in again.items():
                found[path] = hit or await _reviewed(reviewer, path, sources.texts[path], "mypy")
        return _output(found, sources, cached=not missing)


@dataclass(frozen=True, slots=True)
class ScoreStep(_ReviewStep):
    async def version(self, step: StepInput) -> str:
        return ""

    async def run(self, step: StepInput) -> StepOutput:
        reviewer = step.reviewer
        scores: dict[str, int | None] = {}
        hits_before, misses_before = reviewer.hits, reviewer.misses
        results = _needed_results(step)
        if results is not None:
            await _score_from(step, results, scores)
        else:
            await _score_by_review(step, scores)
        cached = reviewer.misses == misses_before and (
            results is not None or reviewer.hits > hits_before
        )
        return StepOutput(
            {}, _score_summary(scores, reviewer.settings.score_threshold), cached=cached
        )


# Each file's ruff and mypy results from the steps the score step needs, by path.
NeededResults = dict[str, dict[Source, ToolResult | None]]


def _needed_results(step: StepInput) -> NeededResults | None:
    """What the needed `ruff` and `mypy` steps found in each covered file; None unless
    the score step needs one step of each (or the tool is off) over all its files."""
    settings = step.reviewer.settings
    wanted = {Source.RUFF: settings.ruff.enabled, Source.MYPY: settings.mypy.enabled}
    found: dict[Source, DoneStep] = {}
    for done in step.needed.values():
        tool = {"ruff": Source.RUFF, "mypy": Source.MYPY}.get(done.uses)
        if tool is not None and not set(step.files) - set(done.files):
            found[tool] = done
    if any(on and tool not in found for tool, on in wanted.items()):
        return None
    results: NeededResults = {}
    for path in step.files:
        results[str(path)] = {
            tool: ToolResult(tool, found[tool].output.findings.get(str(path), ())) if on else None
            for tool, on in wanted.items()
        }
    return results


async def _score_from(
    step: StepInput, results: NeededResults, scores: dict[str, int | None]
) -> None:
    """The scores from what the needed steps found: only the metrics are looked up."""
    sources = await read_sources(step.files, step.reviewer.settings.max_file_size)
    for path, text in sources.texts.items():
        found = results[str(path)]
        score = await step.reviewer.score_of(text, found[Source.RUFF], found[Source.MYPY])
        scores[_relative(path, step.root)] = score.total


async def _score_by_review(step: StepInput, scores: dict[str, int | None]) -> None:
    """The scores from a batch review of the files (mostly cache hits)."""
    reviewer = step.reviewer

    def record(item: BatchFile) -> None:
        if item.report is not None and item.report.score is not None:
            scores[_relative(item.path, step.root)] = item.report.score.total

    batch = BatchReview(
        [(reviewer, path) for path in step.files],
        concurrency=reviewer.settings.workers,
        on_file=record,
        on_progress=lambda progress: None,
    )
    await batch.run()


def _score_summary(scores: dict[str, int | None], threshold: int) -> dict[str, Any]:
    known = [score for score in scores.values() if score is not None]
    return {
        "files": len(scores),
        "average": round(sum(known) / len(known), 1) if known else None,
        "minimum": min(known, default=None),
        "threshold": threshold,
        "belowThreshold": sorted(
            path for path, score in scores.items() if score is not None and score < threshold
        ),
        "scores": dict(sorted(scores.items())),
    }


async def _stored_mypy(
    reviewer: Reviewer, texts: Mapping[Path, str], snapshot: Snapshot
) -> dict[Path, ToolResult | None]:
    return {path: await reviewer.stored_mypy(path, text, snapshot) for path, text in texts.items()}


async def _run_projects(reviewer: Reviewer, paths: list[Path]) -> None:
    """One project run per mypy project the files are in, at the same time."""
    by_project: dict[Path, Path] = {}
    for path in paths:
        project = await reviewer.project_of(path)
        if project is not None:
            by_project.setdefault(project.root, path)
    async with asyncio.TaskGroup() as group:
        for path in by_project.values():
            group.create_task(reviewer.prefetch_mypy(path))


async def _reviewed(reviewer: Reviewer, path: Path, text: str, tool: str) -> ToolResult | None:
    """The file reviewed on its own, as a save reviews it (the fallback when a shared
    run stored nothing for it, e.g. it changed while the run ran): its result as stored,
    or as the report gives it when nothing could be stored (a tool's failure)."""
    last = None
    async for report in reviewer.review(path, text):
        last = report
    stored = await (
        reviewer.stored_ruff(path, text) if tool == "ruff" else reviewer.stored_mypy(path, text)
    )
    if stored is not None or last is None:
        return stored
    return last.ruff if tool == "ruff" else last.mypy


def _output(
    found: Mapping[Path, ToolResult | None], sources: Sources, *, cached: bool
) -> StepOutput:
    findings: dict[str, tuple[Finding, ...]] = {}
    for path, result in found.items():
        if result is None:
            continue
        if result.failure is not None:
            failure = result.failure
            transient = failure.kind in _TRANSIENT
            raise StepFailed(f"{failure.tool.value}: {failure.message}", transient=transient)
        if result.findings:
            findings[str(path)] = result.findings
    summary: dict[str, Any] = {
        "files": len(found),
        "findings": sum(len(f) for f in findings.values()),
        "filesWithFindings": len(findings),
    }
    if sources.refused:
        summary["notReviewed"] = len(sources.refused)
    return StepOutput(findings, summary, cached=cached)


def _off(tool: str) -> StepOutput:
    return StepOutput({}, {"files": 0, "note": f"{tool} is turned off in the settings"})


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


RUFF = RuffStep("ruff", "ruff")
MYPY = MypyStep("mypy", "mypy")
SCORE = ScoreStep("score", "score")

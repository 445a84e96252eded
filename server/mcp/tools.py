"""What each MCP tool answers: the JSON of the LSP command it stands for, over the same
engine and persistent cache, plus each file's findings (an agent has no diagnostics
channel to receive them on). Every answer says whether it came from the cache alone."""

from __future__ import annotations

from typing import Any

from tapps_lsp.analyzers.batch import BatchFile, BatchSummary
from tapps_lsp.analyzers.budget.answers import (
    Limits,
    batch_answer,
    findings_answer,
    workflow_answer,
)
from tapps_lsp.analyzers.budget.fit import Narrowing
from tapps_lsp.analyzers.budget.floor import floor_files, floor_summary
from tapps_lsp.analyzers.changes import Changes, ChangesError, changes_since
from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.analyzers.recommend import recommend
from tapps_lsp.analyzers.serialize import finding_json
from tapps_lsp.analyzers.workflows.execute import RunNotFound, read_run
from tapps_lsp.analyzers.workflows.service import UnknownWorkflow
from tapps_lsp.server.mcp.project import McpProject, ToolRefused

SEVERITIES = {level.name.lower(): level for level in Severity}
# How an agent narrows a request that does not fit its budget, in the tools' words.
NARROWING = Narrowing(paths="fewer paths", severity="min_severity", since="review_changes")


def limits(max_tokens: int | None, min_severity: str | None) -> Limits:
    if max_tokens is not None and max_tokens < 1:
        raise ToolRefused("max_tokens is a whole number of at least 1")
    if min_severity is None:
        return Limits(max_tokens, None)
    level = SEVERITIES.get(min_severity.strip().lower())
    if level is None:
        raise ToolRefused(f"min_severity is one of {', '.join(SEVERITIES)}, not {min_severity!r}")
    return Limits(max_tokens, level)


def _reviewed(
    project: McpProject, summary: BatchSummary, done: list[BatchFile], limit: Limits
) -> dict[str, Any]:
    """The `tapps.reviewFiles` answer over `done`: with `max_tokens`, its findings listed
    within the budget (`findings.list`, as the LSP command lists them); without, each
    file's score and findings (`results`)."""
    cached = summary.cache_misses == 0
    if limit.min_severity is not None:
        done = floor_files(done, limit.min_severity)
        summary = floor_summary(summary, done)
    if limit.max_tokens is not None:
        unfloored = Limits(limit.max_tokens, None)
        extra = {"cached": cached}
        return batch_answer(summary, done, project.root, unfloored, NARROWING, extra=extra)
    results = [project.file_json(item) for item in done]
    return {**summary.as_json(project.root), "results": results, "cached": cached}


async def review_files(
    project: McpProject,
    paths: list[str],
    min_severity: str | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    limit = limits(max_tokens, min_severity)
    summary, done = await project.review(project.files(paths))
    return _reviewed(project, summary, done, limit)


async def score_file(
    project: McpProject,
    path: str,
    min_severity: str | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    limit = limits(max_tokens, min_severity)
    target = project.path(path)
    if not target.is_file():
        raise ToolRefused(f"not a file: {path}")
    summary, done = await project.review([target])
    entry = {**project.file_json(done[0]), "cached": summary.cache_misses == 0}
    findings = entry.pop("findings", [])
    one_file = Narrowing(paths=None, severity="min_severity")
    return findings_answer(entry, findings, limit, one_file, file_of=lambda finding: path)


def list_workflows(project: McpProject) -> dict[str, Any]:
    return {
        "workflows": [
            {
                "name": spec.name,
                "preset": spec.preset,
                "steps": [
                    {"id": step.id, "uses": step.uses, "needs": list(step.needs)}
                    for step in spec.steps
                ],
            }
            for spec in project.workflows.workflows()
        ],
        "problems": [str(problem) for problem in project.workflows.problems],
    }


async def run_workflow(
    project: McpProject,
    workflow: str,
    paths: list[str],
    min_severity: str | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    limit = limits(max_tokens, min_severity)
    try:
        run = await project.workflows.start(workflow, [project.path(p) for p in paths])
    except UnknownWorkflow as exc:
        raise ToolRefused(str(exc)) from None
    view = await run.execute()
    answer: dict[str, Any] = {"runId": view.run_id, "state": view.state}
    if view.report is not None:
        answer["report"] = view.report
        answer["cached"] = all(step.cached for step in view.steps.values())
    return workflow_answer(answer, limit, NARROWING)


async def run_status(project: McpProject, run_id: str) -> dict[str, Any]:
    try:
        view = await read_run(project.workflows.context.log, run_id)
    except RunNotFound as exc:
        raise ToolRefused(str(exc)) from None
    return view.as_json()


async def list_runs(project: McpProject, limit: int = 20) -> dict[str, Any]:
    await project.workflows.sweep_interrupted()
    rows = project.workflows.context.log.rows(limit)
    return {"runs": [row.as_json() for row in rows]}


def tool_runs(project: McpProject) -> dict[str, Any]:
    """How many times each tool really ran (cache hits are not runs), and the cache's
    hits and misses: what an agent checks to see that a repeated call ran nothing."""
    reviewer = project.reviewer
    runs = {name: series["count"] for name, series in reviewer.timings.summary().items()}
    return {"toolRuns": runs, "cache": {"hits": reviewer.hits, "misses": reviewer.misses}}


async def review_changes(
    project: McpProject,
    since: str,
    min_severity: str | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """The files changed since `since` (a git revision) reviewed, and only the findings
    on changed lines (all of a new file's)."""
    limit = limits(max_tokens, min_severity)
    changes = await _changes(project, since)
    summary, done = await project.review(changes.files)
    rows = []
    for item in done:
        if item.report is None:
            continue
        shown = item.path.relative_to(project.root).as_posix()
        for finding in item.report.findings:
            if changes.touches(item.path, finding.span.start_line):
                rows.append({"path": shown, **finding_json(finding)})
    base = {
        "since": since,
        "changedFiles": len(changes.files),
        "cached": summary.cache_misses == 0,
        "cache": summary.as_json()["cache"],
    }
    return findings_answer(base, rows, limit, NARROWING, file_of=lambda row: str(row["path"]))


async def recommend_preset(
    project: McpProject, paths: list[str], since: str | None = None
) -> dict[str, Any]:
    if paths and since is not None:
        raise ToolRefused("give paths or since, not both")
    if since is not None:
        changed = (await _changes(project, since)).lines
    else:
        changed = dict.fromkeys(path for path in project.files(paths))
    return (await recommend(project.reviewer, changed)).as_json(project.root)


async def _changes(project: McpProject, since: str) -> Changes:
    try:
        return await changes_since(project.root, since, project.files([]))
    except ChangesError as exc:
        raise ToolRefused(str(exc)) from None

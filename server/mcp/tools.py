"""What each MCP tool answers: the JSON of the LSP command it stands for, over the same
engine and persistent cache, plus each file's findings (an agent has no diagnostics
channel to receive them on). Every answer says whether it came from the cache alone."""

from __future__ import annotations

from typing import Any

from tapps_lsp.analyzers.changes import Changes, ChangesError, changes_since
from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.analyzers.recommend import recommend
from tapps_lsp.analyzers.serialize import finding_json
from tapps_lsp.analyzers.workflows.execute import RunNotFound, read_run
from tapps_lsp.analyzers.workflows.service import UnknownWorkflow
from tapps_lsp.server.mcp.project import McpProject, ToolRefused

SEVERITIES = {level.name.lower(): level for level in Severity}


def severity_floor(value: str | None) -> Severity | None:
    if value is None:
        return None
    level = SEVERITIES.get(value.strip().lower())
    if level is None:
        raise ToolRefused(f"min_severity is one of {', '.join(SEVERITIES)}, not {value!r}")
    return level


def _at_least(files: list[dict[str, Any]], floor: Severity | None) -> list[dict[str, Any]]:
    if floor is None:
        return files
    kept = []
    for entry in files:
        found = [f for f in entry.get("findings", []) if SEVERITIES[f["severity"]] <= floor]
        kept.append({**entry, "findings": found} if "findings" in entry else entry)
    return kept


async def review_files(
    project: McpProject, paths: list[str], min_severity: str | None = None
) -> dict[str, Any]:
    floor = severity_floor(min_severity)
    files = project.files(paths)
    summary, done = await project.review(files)
    entries = [project.file_json(item) for item in done]
    return {
        **summary,
        "cached": summary["cache"]["misses"] == 0,
        "files": _at_least(entries, floor),
        "fileCount": summary["files"],
    }


async def score_file(project: McpProject, path: str) -> dict[str, Any]:
    target = project.path(path)
    if not target.is_file():
        raise ToolRefused(f"not a file: {path}")
    summary, done = await project.review([target])
    return {**project.file_json(done[0]), "cached": summary["cache"]["misses"] == 0}


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
    project: McpProject, workflow: str, paths: list[str], min_severity: str | None = None
) -> dict[str, Any]:
    floor = severity_floor(min_severity)
    try:
        run = await project.workflows.start(workflow, [project.path(p) for p in paths])
    except UnknownWorkflow as exc:
        raise ToolRefused(str(exc)) from None
    view = await run.execute()
    answer: dict[str, Any] = {"runId": view.run_id, "state": view.state}
    if view.report is not None:
        report = dict(view.report)
        if floor is not None:
            report["steps"] = [
                {**step, "findings": _floor_rows(step["findings"], floor)}
                for step in report["steps"]
            ]
        answer["report"] = report
        answer["cached"] = all(step.cached for step in view.steps.values())
    return answer


def _floor_rows(rows: list[dict[str, Any]], floor: Severity) -> list[dict[str, Any]]:
    return [row for row in rows if SEVERITIES[row["severity"]] <= floor]


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
    project: McpProject, since: str, min_severity: str | None = None
) -> dict[str, Any]:
    """The files changed since `since` (a git revision) reviewed, and only the findings
    on changed lines (all of a new file's)."""
    floor = severity_floor(min_severity)
    changes = await _changes(project, since)
    summary, done = await project.review(changes.files)
    entries = []
    for item in done:
        entry = project.file_json(item)
        if item.report is not None:
            kept = [
                f for f in item.report.findings if changes.touches(item.path, f.span.start_line)
            ]
            entry["findings"] = [finding_json(f) for f in kept]
        entries.append(entry)
    return {
        "since": since,
        "changedFiles": len(changes.files),
        "cached": summary["cache"]["misses"] == 0,
        "cache": summary["cache"],
        "files": _at_least(entries, floor),
    }


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

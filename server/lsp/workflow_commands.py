"""Workflow commands (`workspace/executeCommand`): list, run, watch, pause, resume and
cancel review workflows (analyzers.workflows).

- `tapps.listWorkflows {folder?}` → `{workflows: [{name, preset, origin, trusted,
  steps: [{id, uses, needs}]}], problems}`
- `tapps.runWorkflow {workflow, paths?, folder?, maxTokens?, minSeverity?}` and
  `tapps.resumeRun {runId}` → `{runId, state, report?}`, with `$/progress` naming the
  running steps; both also run as background tasks (`tapps.submit`). Cancelling the
  request, its progress or its task cancels the run. `maxTokens` and `minSeverity`
  apply to the report's findings (analyzers.budget).
- `tapps.runStatus {runId}` → the run and each step's state; `tapps.listRuns {folder?,
  limit?}` → `{runs: [...]}`, newest first.
- `tapps.pauseRun {runId}` stops a run at its next step boundary; `tapps.cancelRun
  {runId}` ends it now (a paused or interrupted run too); both → `{runId, state,
  report?}`.

A run is found in the run log of the workspace folder it ran in; runs whose server died
are marked `interrupted` before any of these answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.budget.answers import Limits, workflow_answer
from tapps_lsp.analyzers.workflows.execute import (
    RunNotFound,
    RunNotResumable,
    WorkflowRun,
    cancel_stored_run,
    read_run,
)
from tapps_lsp.analyzers.workflows.run_view import RunView, fold
from tapps_lsp.analyzers.workflows.service import FolderWorkflows, UnknownWorkflow
from tapps_lsp.server.lsp.answer_limits import narrowing, read_limits
from tapps_lsp.server.lsp.arguments import Arguments, invalid, workspace_path
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.review_commands import CommandContext
from tapps_lsp.server.lsp.session import Folder
from tapps_lsp.server.lsp.workflow_publish import publish_run
from tapps_lsp.server.lsp.workflow_runs import ActiveRun

LIST_WORKFLOWS = "tapps.listWorkflows"
RUN_WORKFLOW = "tapps.runWorkflow"
RUN_STATUS = "tapps.runStatus"
LIST_RUNS = "tapps.listRuns"
CANCEL_RUN = "tapps.cancelRun"
PAUSE_RUN = "tapps.pauseRun"
RESUME_RUN = "tapps.resumeRun"
DEFAULT_RUNS_LISTED = 50
# How long pauseRun and cancelRun wait for the run to stop before they answer.
STOP_WAIT_S = 30.0


@dataclass(frozen=True, slots=True)
class RunRequest:
    folder: Folder
    workflow: str
    paths: list[Path]
    limits: Limits


@dataclass(frozen=True, slots=True)
class ResumeRequest:
    folder: Folder
    run_id: str


def _workflows(folder: Folder) -> FolderWorkflows:
    assert folder.workflows is not None, "a configured folder has its workflows"
    return folder.workflows


def _folder_argument(ls: TappsServer, args: Arguments) -> Folder:
    value = args.optional_string("folder")
    if value is not None:
        return ls.session.folder_for(workspace_path(ls, args.command, value, "folder"))
    if not ls.session.folders:
        raise invalid(args.command, "there is no workspace folder; name one with 'folder'")
    return next(iter(ls.session.folders.values()))


# --- tapps.listWorkflows --------------------------------------------------------------


async def list_workflows(ls: TappsServer, name: str, raw: tuple[Any, ...]) -> dict[str, Any]:
    args = Arguments(name, raw)
    workflows = _workflows(_folder_argument(ls, args))
    args.done()
    return {
        "workflows": [
            {
                "name": spec.name,
                "preset": spec.preset,
                "origin": spec.origin,
                "trusted": spec.trusted,
                "steps": [
                    {"id": step.id, "uses": step.uses, "needs": list(step.needs)}
                    for step in spec.steps
                ],
            }
            for spec in workflows.workflows()
        ],
        "problems": [str(problem) for problem in workflows.problems],
    }


# --- tapps.runWorkflow and tapps.resumeRun (also background tasks) --------------------


def parse_run_workflow(ls: TappsServer, args: Arguments) -> RunRequest:
    workflow = args.string("workflow")
    uris = args.strings("paths")
    folder_value = args.optional_string("folder")
    limits = read_limits(args)
    args.done()
    paths = [workspace_path(ls, args.command, uri, "paths") for uri in dict.fromkeys(uris)]
    for path, uri in zip(paths, uris, strict=False):
        if not path.exists():
            raise invalid(args.command, f"no such file or folder: {uri}")
    if folder_value is not None:
        folder = ls.session.folder_for(workspace_path(ls, args.command, folder_value, "folder"))
    elif paths:
        folder = ls.session.folder_for(paths[0])
    elif ls.session.folders:
        folder = next(iter(ls.session.folders.values()))
    else:
        raise invalid(args.command, "there is no workspace folder; name one with 'folder'")
    try:
        _workflows(folder).spec(workflow)
    except UnknownWorkflow as exc:
        raise invalid(args.command, str(exc)) from None
    return RunRequest(folder, workflow, paths, limits)


async def run_workflow(context: CommandContext, request: RunRequest) -> dict[str, Any]:
    workflows = _workflows(request.folder)
    run = await workflows.start(
        request.workflow, request.paths, on_change=_progress_reporter(context)
    )
    answer = await _follow(context, run)
    return workflow_answer(answer, request.limits, narrowing("fewer 'paths'"))


def parse_resume_run(ls: TappsServer, args: Arguments) -> ResumeRequest:
    run_id = args.string("runId")
    args.done()
    folder, view = _find_run_now(ls, args.command, run_id)
    if not view.resumable:
        raise invalid(
            args.command, f"run {run_id} is {view.state}; only a paused or interrupted run resumes"
        )
    if ls.workflow_runs.get(run_id) is not None:
        raise invalid(args.command, f"run {run_id} is running in this server")
    return ResumeRequest(folder, run_id)


async def resume_run(context: CommandContext, request: ResumeRequest) -> dict[str, Any]:
    workflows = _workflows(request.folder)
    try:
        run = await workflows.resume(request.run_id, on_change=_progress_reporter(context))
    except (RunNotFound, RunNotResumable) as exc:
        raise invalid(RESUME_RUN, str(exc)) from None
    return await _follow(context, run)


async def _follow(context: CommandContext, run: WorkflowRun) -> dict[str, Any]:
    """Run it as a task of its own (see server.lsp.workflow_runs) and wait for its end;
    cancelling the wait cancels the run."""
    active = context.ls.workflow_runs.launch(run)
    context.work = asyncio.ensure_future(_until_ended(active))
    try:
        view: RunView = await context.work
    finally:
        context.work = None
    if view.report is not None:
        publish_run(context.ls, view.workflow.name, run.files, run.outputs)
    return _answer(view)


async def _until_ended(active: ActiveRun) -> RunView:
    try:
        return await asyncio.shield(active.task)
    except asyncio.CancelledError:
        if active.task.done():
            raise  # the run itself was stopped (a shutdown): it is interrupted
        active.run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await active.task
        return active.run.view


def _progress_reporter(context: CommandContext) -> Any:
    def report(view: RunView, step: str | None) -> None:
        steps = list(view.steps.values())
        ended = [s for s in steps if s.state in ("done", "failed", "skipped", "cancelled")]
        running = [s.id for s in steps if s.state == "running"]
        message = f"{view.workflow.name}: {len(ended)}/{len(steps)} steps"
        if running:
            message += " · running: " + ", ".join(running)
        percentage = int(100 * len(ended) / len(steps)) if steps else 100
        context.progress.update(percentage, message)

    return report


def _answer(view: RunView) -> dict[str, Any]:
    answer: dict[str, Any] = {"runId": view.run_id, "state": view.state}
    if view.report is not None:
        answer["report"] = view.report
    return answer


# --- tapps.runStatus, tapps.listRuns ----------------------------------------------------


async def run_status(ls: TappsServer, name: str, raw: tuple[Any, ...]) -> dict[str, Any]:
    args = Arguments(name, raw)
    run_id = args.string("runId")
    args.done()
    active = ls.workflow_runs.get(run_id)
    if active is not None:
        return active.run.view.as_json()
    _folder, view = await _find_run(ls, name, run_id)
    return view.as_json()


async def list_runs(ls: TappsServer, name: str, raw: tuple[Any, ...]) -> dict[str, Any]:
    args = Arguments(name, raw)
    folder_value = args.optional_string("folder")
    limit = args.optional_int("limit") or DEFAULT_RUNS_LISTED
    args.done()
    folders = list(ls.session.folders.values())
    if folder_value is not None:
        folders = [ls.session.folder_for(workspace_path(ls, name, folder_value, "folder"))]
    rows = []
    for folder in folders:
        workflows = _workflows(folder)
        await workflows.sweep_interrupted()
        rows.extend(await asyncio.to_thread(workflows.context.log.rows, limit))
    rows.sort(key=lambda row: row.started_at, reverse=True)
    return {"runs": [row.as_json() for row in rows[:limit]]}


# --- tapps.pauseRun, tapps.cancelRun ------------------------------------------------------


async def pause_run(ls: TappsServer, name: str, raw: tuple[Any, ...]) -> dict[str, Any]:
    args = Arguments(name, raw)
    run_id = args.string("runId")
    args.done()
    active = ls.workflow_runs.get(run_id)
    if active is None:
        _folder, view = await _find_run(ls, name, run_id)
        if view.state == "paused":
            return _answer(view)
        raise invalid(name, f"run {run_id} is {view.state}, not running in this server")
    active.run.pause()
    return _answer(await _stopped(active))


async def cancel_run(ls: TappsServer, name: str, raw: tuple[Any, ...]) -> dict[str, Any]:
    args = Arguments(name, raw)
    run_id = args.string("runId")
    args.done()
    active = ls.workflow_runs.get(run_id)
    if active is not None:
        active.run.cancel()
        return _answer(await _stopped(active))
    folder, view = await _find_run(ls, name, run_id)
    if view.state == "running":
        raise invalid(name, f"run {run_id} is running in another server")
    return _answer(await cancel_stored_run(_workflows(folder).context, run_id))


async def _stopped(active: ActiveRun) -> RunView:
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(active.task), STOP_WAIT_S)
    return active.run.view


# --- finding a run --------------------------------------------------------------------------


async def _find_run(ls: TappsServer, command: str, run_id: str) -> tuple[Folder, RunView]:
    for folder in ls.session.all_folders():
        workflows = _workflows(folder)
        await workflows.sweep_interrupted()
        try:
            return folder, await read_run(workflows.context.log, run_id)
        except RunNotFound:
            continue
    raise invalid(command, f"no run {run_id!r} in the workspace")


def _find_run_now(ls: TappsServer, command: str, run_id: str) -> tuple[Folder, RunView]:
    """`_find_run` for a parser, which runs before anything else and may not wait."""
    for folder in ls.session.all_folders():
        workflows = _workflows(folder)
        workflows.context.log.sweep_interrupted()
        view = fold(workflows.context.log.events(run_id))
        if view is not None:
            return folder, view
    raise invalid(command, f"no run {run_id!r} in the workspace")

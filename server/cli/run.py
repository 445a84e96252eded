"""`tapps-lsp run WORKFLOW [PATH...]` and `tapps-lsp run --resume RUN_ID`: a review
workflow (a preset or one of pyproject.toml's), with the server's engine, cache and run log.

The run is written once it has ended, in one of check's five formats. Exit codes, as a CI
job wants them: 0 when it went through clean; 1 when a finding is at or above `--fail-on`
or a step failed or was cancelled (stderr says which); 2 for a usage error, an unknown or
invalid workflow, or a run that cannot resume; 130 when Ctrl-C cancelled the run (what was
done is still written, and the run is logged `cancelled`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.analyzers.workflows.execute import RunNotFound, RunNotResumable, WorkflowRun
from tapps_lsp.analyzers.workflows.kinds import aside
from tapps_lsp.analyzers.workflows.run_view import CANCELLED, FAILED, SKIPPED, RunView
from tapps_lsp.analyzers.workflows.service import FolderWorkflows, UnknownWorkflow
from tapps_lsp.analyzers.workspace import (
    cache_folder,
    make_reviewer,
    open_store,
    project_root,
    project_settings,
)
from tapps_lsp.server.cli.check import (
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_FINDINGS,
    FAIL_ON,
    command_line_layers,
    run_guarded,
)
from tapps_lsp.server.cli.check_progress import ProgressBar
from tapps_lsp.server.cli.formats.common import display, plural
from tapps_lsp.server.cli.listings import workflows_json, workflows_text
from tapps_lsp.server.cli.run_formats import RUN_RENDERERS, FinishedRun
from tapps_lsp.server.cli.run_limits import budgeted_run_json, floored_run
from tapps_lsp.server.cli.run_progress import StepProgress

EXIT_INTERRUPTED = 130


@dataclass(slots=True)
class RunOptions:
    # The workflow to start; None with `resume`.
    workflow: str | None
    paths: list[Path] = field(default_factory=list)
    # A paused or interrupted run's id: `run --resume`.
    resume: str | None = None
    # The project whose workflows and run log are used; None: that of the first path,
    # else of the working directory.
    project: Path | None = None
    output_format: str = "text"
    fail_on: str = "error"
    # Files reviewed at once (the `concurrency` setting); None: the setting's own.
    concurrency: int | None = None
    no_cache: bool = False
    trust: bool = False
    programs: dict[str, Any] = field(default_factory=dict)
    # `--min-severity` and `--max-tokens` (json only): see server.cli.run_limits.
    min_severity: str | None = None
    max_tokens: int | None = None


def run_workflow(options: RunOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    missing = [p for p in [*options.paths, *filter(None, [options.project])] if not p.exists()]
    if missing:
        err.write("".join(f"tapps-lsp: no such file or folder: {p}\n" for p in missing))
        return EXIT_ERROR
    try:
        return run_guarded(_run(options, out, err), out)
    except KeyboardInterrupt:  # before the run started: nothing to cancel or show
        err.write("tapps-lsp: interrupted\n")
        return EXIT_INTERRUPTED


def project_of(options: RunOptions) -> Path:
    start = options.project or (options.paths[0] if options.paths else Path.cwd())
    return project_root(start.resolve())


@asynccontextmanager
async def open_workflows(
    root: Path, options: RunOptions, err: TextIO
) -> AsyncIterator[FolderWorkflows]:
    """The project's workflows with the command line's settings (their problems, and
    the workflows' load problems, on `err`); closed on the way out."""
    layers = command_line_layers(options)
    if options.concurrency:
        layers.append({"concurrency": options.concurrency})
    settings, problems = project_settings(root, *layers)
    err.write("".join(f"tapps-lsp: {problem}\n" for problem in problems))
    reviewer = make_reviewer(root, settings, open_store(root, settings))
    # With --no-cache the run log stays in memory too.
    log_folder = None if options.no_cache else cache_folder(root, settings)
    workflows = FolderWorkflows(reviewer, log_folder)
    try:
        cwd = Path.cwd()
        for problem in workflows.problems:
            where = display(problem.path, cwd) if problem.path is not None else "settings"
            err.write(f"{where}:{problem.line + 1}: {problem}\n")
        yield workflows
    finally:
        workflows.close()
        await reviewer.close()
        reviewer.store.close()


async def _run(options: RunOptions, out: TextIO, err: TextIO) -> int:
    root = project_of(options)
    async with open_workflows(root, options, err) as workflows:
        progress = StepProgress(ProgressBar(err)) if err.isatty() else None
        on_change = progress.on_change if progress is not None else None
        try:
            if options.resume is not None:
                await workflows.sweep_interrupted()
                run = await workflows.resume(options.resume, on_change=on_change)
            else:
                assert options.workflow is not None
                paths = [path.resolve() for path in options.paths]
                run = await workflows.start(options.workflow, paths, on_change=on_change)
        except (UnknownWorkflow, RunNotFound, RunNotResumable) as exc:
            err.write(f"tapps-lsp: {exc}\n")
            return EXIT_ERROR
        view, interrupted = await _execute(run, progress)
        finished = floored_run(FinishedRun.of(view, root, Path.cwd()), options.min_severity)
    if options.max_tokens is not None:
        out.write(budgeted_run_json(finished, options.max_tokens))
    else:
        out.write(RUN_RENDERERS[options.output_format](finished))
    out.flush()
    if interrupted:
        err.write(f"tapps-lsp: cancelled; run {view.run_id} is logged {view.state}\n")
        return EXIT_INTERRUPTED
    code, reasons = run_exit_code(finished, FAIL_ON.get(options.fail_on))
    err.write("".join(f"tapps-lsp: {reason}\n" for reason in [*skipped(view), *reasons]))
    return code


async def _execute(run: WorkflowRun, progress: StepProgress | None) -> tuple[RunView, bool]:
    """Run it to its end; Ctrl-C cancels it (the run then ends `cancelled`, and is not
    cut off as a crash would leave it). Whether Ctrl-C was pressed."""
    loop = asyncio.get_running_loop()
    pressed: list[bool] = []

    def cancel() -> None:
        pressed.append(True)
        run.cancel()

    with contextlib.suppress(NotImplementedError):  # no signal handlers on this loop
        loop.add_signal_handler(signal.SIGINT, cancel)
    ticker = asyncio.create_task(progress.ticking()) if progress is not None else None
    try:
        view = await run.execute()
    finally:
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGINT)
        if ticker is not None:
            ticker.cancel()
        if progress is not None:
            progress.bar.clear()
        aside.shutdown()
    return view, bool(pressed)


def run_exit_code(run: FinishedRun, threshold: Severity | None) -> tuple[int, list[str]]:
    """1 when a step failed or was cancelled, or a finding is at least `threshold`, else
    0; and why, one sentence each."""
    reasons = [
        f"step `{step.id}` {step.state}: {step.error or 'no reason given'}"
        for step in run.view.steps.values()
        if step.state in (FAILED, CANCELLED)
    ]
    if threshold is not None:
        severe = [f for f in run.findings() if f.finding.severity <= threshold]
        if severe:
            name = threshold.name.lower()
            reasons.append(f"{plural(len(severe), 'finding')} at or above `{name}`")
    return (EXIT_FINDINGS if reasons else EXIT_CLEAN), reasons


def skipped(view: RunView) -> list[str]:
    """The skipped steps, which do not fail the run but leave part of it undone."""
    return [
        f"step `{step.id}` skipped: {step.error or 'no reason given'}"
        for step in view.steps.values()
        if step.state == SKIPPED
    ]


def list_workflows(options: RunOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """`run --list`: the project's workflows (presets first) and their steps."""

    async def listed() -> int:
        async with open_workflows(project_of(options), options, err) as workflows:
            found = workflows.workflows()
        shown = workflows_json(found) if options.output_format == "json" else workflows_text(found)
        out.write(shown)
        return EXIT_CLEAN

    return run_guarded(listed(), out)

"""Every `workspace/executeCommand` command the server answers, in one table.

A row is the command's name and what answers it: `(server, name, raw arguments)` to a
JSON result. The arguments are one JSON object, read key by key (server.lsp.arguments);
a bad one is an InvalidParams error that names it. pygls advertises the names in
`executeCommandProvider.commands`, in the table's order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from tapps_lsp.server.lsp.baseline_commands import (
    BASELINE_STATUS,
    WRITE_BASELINE,
    baseline_status,
    parse_baseline_status,
    parse_write_baseline,
    write_baseline,
)
from tapps_lsp.server.lsp.debug_information import PRINT_DEBUG_INFORMATION, debug_information
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.metrics import METRICS, ServerMetrics
from tapps_lsp.server.lsp.recommend_command import RECOMMEND_PRESET, recommend_preset
from tapps_lsp.server.lsp.review_commands import (
    CACHE_STATS,
    CLEAR_CACHE,
    REVIEW_FILES,
    REVIEW_WORKSPACE,
    SCORE_FILE,
    ReviewCommand,
    cache_stats,
    clear_cache,
    parse_clear_cache,
    parse_nothing,
    parse_review_files,
    parse_review_workspace,
    parse_score_file,
    review_files,
    review_workspace,
    score_file,
)
from tapps_lsp.server.lsp.tasks import CANCEL_TASK, SUBMIT, TASK_RESULT, TASK_STATUS, TaskManager
from tapps_lsp.server.lsp.workflow_commands import (
    CANCEL_RUN,
    LIST_RUNS,
    LIST_WORKFLOWS,
    PAUSE_RUN,
    RESUME_RUN,
    RUN_STATUS,
    RUN_WORKFLOW,
    cancel_run,
    list_runs,
    list_workflows,
    parse_resume_run,
    parse_run_workflow,
    pause_run,
    resume_run,
    run_status,
    run_workflow,
)

Answer = Callable[[TappsServer, str, tuple[Any, ...]], Awaitable[dict[str, Any]]]

# The review commands and the workflow runs: each also runs as a background task
# (`tapps.submit`).
REVIEW_COMMANDS: dict[str, ReviewCommand[Any]] = {
    REVIEW_WORKSPACE: ReviewCommand(
        parse_review_workspace, review_workspace, "Reviewing the workspace"
    ),
    REVIEW_FILES: ReviewCommand(parse_review_files, review_files, "Reviewing files"),
    SCORE_FILE: ReviewCommand(parse_score_file, score_file, None),
    CACHE_STATS: ReviewCommand(parse_nothing, cache_stats, None),
    CLEAR_CACHE: ReviewCommand(parse_clear_cache, clear_cache, None),
    RUN_WORKFLOW: ReviewCommand(parse_run_workflow, run_workflow, "Running a workflow"),
    RESUME_RUN: ReviewCommand(parse_resume_run, resume_run, "Resuming a workflow run"),
    WRITE_BASELINE: ReviewCommand(parse_write_baseline, write_baseline, "Writing the baseline"),
    BASELINE_STATUS: ReviewCommand(parse_baseline_status, baseline_status, "Baseline status"),
}


def command_table(tasks: TaskManager, metrics: ServerMetrics) -> dict[str, Answer]:
    """The table, for one server: `tasks` and `metrics` are its own."""
    return {
        PRINT_DEBUG_INFORMATION: lambda ls, name, args: debug_information(ls),
        **{name: command.answer for name, command in REVIEW_COMMANDS.items()},
        SUBMIT: lambda ls, name, args: tasks.submit(args),
        TASK_STATUS: lambda ls, name, args: tasks.status(args),
        TASK_RESULT: lambda ls, name, args: tasks.result(args),
        CANCEL_TASK: lambda ls, name, args: tasks.cancel(args),
        METRICS: lambda ls, name, args: metrics.report(),
        LIST_WORKFLOWS: list_workflows,
        RUN_STATUS: run_status,
        LIST_RUNS: list_runs,
        PAUSE_RUN: pause_run,
        CANCEL_RUN: cancel_run,
        RECOMMEND_PRESET: recommend_preset,
    }


def pygls_handler(name: str, answer: Answer) -> Callable[..., Coroutine[Any, Any, Any]]:
    """`answer` as pygls calls a command: the server, then the arguments unpacked."""

    async def handle(ls: TappsServer, *args: Any) -> dict[str, Any]:
        return await answer(ls, name, args)

    handle.__name__ = name.replace(".", "_")
    return handle

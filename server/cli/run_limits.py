"""`run --min-severity LEVEL` and `run --format json --max-tokens N` (analyzers.budget),
as for `check`: the floor applies to every format and to the exit code; the budget
prints the compact answer that `tapps.runWorkflow` gives with `maxTokens`."""

from __future__ import annotations

from dataclasses import replace

from tapps_lsp.analyzers.budget.answers import Limits, workflow_answer
from tapps_lsp.analyzers.budget.estimate import compact
from tapps_lsp.analyzers.budget.fit import Narrowing
from tapps_lsp.analyzers.budget.floor import floor_workflow_report
from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.server.cli.run_formats.common import FinishedRun


def floored_run(run: FinishedRun, min_severity: str | None) -> FinishedRun:
    """The run without the findings below `min_severity`: in the steps' outputs, their
    counts and the report (None: all of them)."""
    if min_severity is None:
        return run
    floor = Severity.parse(min_severity)
    outputs = {
        step: replace(
            output,
            findings={
                path: tuple(f for f in found if f.severity <= floor)
                for path, found in output.findings.items()
            },
        )
        for step, output in run.outputs.items()
    }
    steps = {
        step_id: replace(step, findings=outputs[step_id].finding_count)
        if step_id in outputs
        else step
        for step_id, step in run.view.steps.items()
    }
    report = run.view.report
    floored = floor_workflow_report(report, floor) if report is not None else None
    return replace(run, view=replace(run.view, steps=steps, report=floored), outputs=outputs)


def budgeted_run_json(run: FinishedRun, max_tokens: int) -> str:
    """`{runId, state, report, budget}` in compact JSON, within `max_tokens`."""
    answer = {"runId": run.view.run_id, "state": run.view.state, "report": run.view.report}
    narrowing = Narrowing("fewer PATHs", "--min-severity")  # no --since yet
    return compact(workflow_answer(answer, Limits(max_tokens), narrowing)) + "\n"

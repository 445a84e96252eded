"""The plain-text format of `tapps-lsp run`: one line per finding, the steps as a table,
and a summary line."""

from __future__ import annotations

from tapps_lsp.server.cli.formats.common import one_line, plural, seconds, severity_name
from tapps_lsp.server.cli.run_formats.common import (
    FinishedRun,
    severity_counts,
    step_duration_s,
    step_state,
    table,
)

_STEP_COLUMNS = ("step", "state", "findings", "cached", "duration", "error")


def render(run: FinishedRun) -> str:
    return findings(run) + ("\n" if run.outputs else "") + steps(run) + "\n" + summary_line(run)


def findings(run: FinishedRun) -> str:
    """`path:line:col: severity source code message`, by path and line."""
    lines = []
    for item in run.findings():
        finding = item.finding
        lines.append(
            f"{run.shown(item.path)}:{finding.span.start_line + 1}:{finding.span.start_col + 1}:"
            f" {severity_name(finding.severity)} {finding.source.value} {finding.code or '-'}"
            f" {one_line(finding.message)}"
        )
    return "".join(f"{line}\n" for line in lines)


def steps(run: FinishedRun) -> str:
    """step, state, findings, cached, duration and error, one step a line, aligned."""
    rows = []
    for step in run.view.steps.values():
        done = step.state == "done"
        duration = step_duration_s(step)
        rows.append(
            (
                step.id,
                step_state(step),
                str(step.findings) if done else "-",
                ("yes" if step.cached else "no") if done else "-",
                "-" if duration is None else seconds(duration * 1000),
                one_line(step.error or ""),
            )
        )
    return table(_STEP_COLUMNS, rows)


def summary_line(run: FinishedRun) -> str:
    """`standard done: 6 files, 6 findings (3 errors, 3 warnings), mean score 94.8, 2.31 s
    (run 0123456789abcdef)`."""
    found = run.findings()
    errors, others = severity_counts(found)
    parts = [
        plural(int(run.report.get("files", 0)), "file"),
        f"{plural(len(found), 'finding')} ({errors} errors, {others} warnings)",
    ]
    mean = run.mean_score()
    if mean is not None:
        parts.append(f"mean score {mean}")
    duration = run.duration_s()
    if duration is not None:
        parts.append(seconds(duration * 1000))
    view = run.view
    return f"{view.workflow.name} {view.state}: {', '.join(parts)} (run {view.run_id})\n"

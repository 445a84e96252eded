"""The Markdown format of `tapps-lsp run`, for a pull-request comment or a GitHub step
summary: the totals, the steps, then each file's findings in a collapsed section."""

from __future__ import annotations

from html import escape
from itertools import groupby

from tapps_lsp.server.cli.formats.common import plural, seconds
from tapps_lsp.server.cli.formats.markdown import DASH, code_cell, finding_row, inline
from tapps_lsp.server.cli.run_formats.common import (
    FinishedRun,
    StepFinding,
    severity_counts,
    step_duration_s,
    step_state,
)


def render(run: FinishedRun) -> str:
    view = run.view
    head = f"## tapps-lsp run · {code_cell(view.workflow.name)} · {view.state}\n"
    parts = [head, _summary(run), _steps(run), _findings(run.findings(), run)]
    return "\n".join(part for part in parts if part)


def _summary(run: FinishedRun) -> str:
    found = run.findings()
    errors, others = severity_counts(found)
    mean = run.mean_score()
    duration = run.duration_s()
    row = [
        str(run.report.get("files", 0)),
        str(len(found)),
        str(errors),
        str(others),
        DASH if mean is None else str(mean),
        DASH if duration is None else seconds(duration * 1000),
    ]
    return (
        "| files | findings | errors | warnings | mean score | duration |\n"
        "|---:|---:|---:|---:|---:|---:|\n"
        f"| {' | '.join(row)} |\n"
    )


def _steps(run: FinishedRun) -> str:
    rows = [
        "### Steps\n",
        "| step | uses | state | findings | cached | duration | note |",
        "|---|---|---|---:|---|---:|---|",
    ]
    for step in run.view.steps.values():
        done = step.state == "done"
        duration = step_duration_s(step)
        cells = [
            code_cell(step.id),
            code_cell(step.uses),
            step_state(step),
            str(step.findings) if done else DASH,
            ("yes" if step.cached else "no") if done else DASH,
            DASH if duration is None else seconds(duration * 1000),
            inline(step.error or ""),
        ]
        rows.append(f"| {' | '.join(cells)} |")
    return "\n".join(rows) + "\n"


def _findings(found: list[StepFinding], run: FinishedRun) -> str:
    if not found:
        return ""
    sections = ["### Findings\n"]
    for name, group in groupby(found, key=lambda item: run.shown(item.path)):
        items = list(group)
        sections += [
            f"<details><summary><code>{escape(name, quote=False)}</code> · "
            f"{plural(len(items), 'finding')}</summary>\n",
            "| where | severity | code | message | source |",
            "|---|---|---|---|---|",
            *(finding_row(item.finding) for item in items),
            "\n</details>\n",
        ]
    return "\n".join(sections)

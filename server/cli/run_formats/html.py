"""The HTML format of `tapps-lsp run`: one self-contained page (the check format's style,
no script, nothing fetched) with the totals, the steps and each file's findings. Every
text that comes from a file, a tool, a path or the configuration is escaped."""

from __future__ import annotations

from html import escape
from itertools import groupby

from tapps_lsp.server.cli.formats.common import plural, seconds
from tapps_lsp.server.cli.formats.html import DASH, card_row, finding_row, page
from tapps_lsp.server.cli.run_formats.common import (
    FinishedRun,
    StepFinding,
    severity_counts,
    step_duration_s,
    step_state,
)


def render(run: FinishedRun) -> str:
    view = run.view
    name = escape(view.workflow.name)
    found = run.findings()
    body = [
        f"<header><h1>tapps-lsp run · {name} · {escape(view.state)}</h1>"
        f"<p class='where'>{escape(str(run.root))} · run {escape(view.run_id)}</p></header>",
        _cards(run, found),
        "<h2>Steps</h2>",
        _steps(run),
        "<h2>Findings</h2>",
        _findings(found, run),
    ]
    return page(f"tapps-lsp run · {view.workflow.name} · {view.state}", body)


def _cards(run: FinishedRun, found: list[StepFinding]) -> str:
    errors, others = severity_counts(found)
    mean = run.mean_score()
    duration = run.duration_s()
    return card_row(
        [
            ("files", str(run.report.get("files", 0))),
            ("steps", str(len(run.view.steps))),
            ("errors", str(errors)),
            ("warnings", str(others)),
            ("mean score", DASH if mean is None else str(mean)),
            ("duration", DASH if duration is None else seconds(duration * 1000)),
        ]
    )


def _steps(run: FinishedRun) -> str:
    rows = [
        "<table><thead><tr><th>step</th><th>uses</th><th>state</th>"
        "<th class='num'>findings</th><th>cached</th><th class='num'>duration</th>"
        "<th>note</th></tr></thead><tbody>"
    ]
    for step in run.view.steps.values():
        done = step.state == "done"
        duration = step_duration_s(step)
        cells = [
            f"<td><code>{escape(step.id)}</code></td>",
            f"<td>{escape(step.uses)}</td>",
            f"<td>{escape(step_state(step))}</td>",
            f"<td class='num'>{step.findings if done else DASH}</td>",
            f"<td>{('yes' if step.cached else 'no') if done else DASH}</td>",
            f"<td class='num'>{DASH if duration is None else seconds(duration * 1000)}</td>",
            f"<td class='problem'>{escape(step.error or '')}</td>",
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _findings(found: list[StepFinding], run: FinishedRun) -> str:
    if not found:
        return "<p>No findings.</p>"
    sections = []
    for name, group in groupby(found, key=lambda item: run.shown(item.path)):
        items = list(group)
        sections += [
            f"<details open><summary><code>{escape(name)}</code>"
            f" · {plural(len(items), 'finding')}</summary>",
            "<table class='found'><thead><tr><th>where</th><th>severity</th><th>code</th>"
            "<th>message</th><th>source</th></tr></thead><tbody>",
            *(finding_row(item.finding) for item in items),
            "</tbody></table></details>",
        ]
    return "\n".join(sections)

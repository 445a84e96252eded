"""The Markdown format, for a pull-request comment or a GitHub step summary: the totals,
the files worst first, then each file's findings in a collapsed section."""

from __future__ import annotations

import re

from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.analyzers.findings import FileReport, Finding
from tapps_lsp.server.cli.formats.common import (
    CheckRun,
    counts,
    one_line,
    ordered,
    plural,
    score_of,
    seconds,
    severity_name,
    totals,
    worst_first,
)

DASH = "&ndash;"
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~])")
_SAFE_URL = re.compile(r"https?://[^\s()<>]+")


def render(run: CheckRun) -> str:
    parts = ["## tapps-lsp check\n", _summary(run), _files(run), _findings(run)]
    return "\n".join(part for part in parts if part)


def inline(text: str) -> str:
    """Text for one table cell: code spans kept, everything else shown literally."""
    text = one_line(text)
    shown: list[str] = []
    position = 0
    for span in _CODE_SPAN.finditer(text):
        shown.append(_SPECIAL.sub(r"\\\1", text[position : span.start()]))
        shown.append(span.group(0).replace("|", "\\|"))
        position = span.end()
    shown.append(_SPECIAL.sub(r"\\\1", text[position:]))
    return "".join(shown)


def code_cell(text: str) -> str:
    """`text` as a code span in a table cell."""
    fence = "``" if "`" in text else "`"
    escaped = text.replace("|", "\\|")
    return f"{fence}{escaped}{fence}"


def _summary(run: CheckRun) -> str:
    summary = run.summary
    data = summary.as_json()
    errors, warnings = totals(summary)
    mean = data["meanScore"]
    worst = data["worstScore"]
    hit_rate = data["cache"]["hitRate"]
    row = [
        str(summary.files),
        str(summary.skipped),
        str(errors + warnings),
        str(errors),
        str(warnings),
        DASH if mean is None else str(mean),
        DASH if worst is None else str(worst),
        DASH if hit_rate is None else f"{hit_rate:.0%}",
        seconds(summary.duration_ms),
    ]
    return (
        "| files | skipped | findings | errors | warnings | mean score | worst score"
        " | cache hits | duration |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {' | '.join(row)} |\n"
    )


def _files(run: CheckRun) -> str:
    if not run.files:
        return ""
    rows = [
        "### Files, worst first\n",
        "| file | score | errors | warnings | note |",
        "|---|---:|---:|---:|---|",
    ]
    rows += [_file_row(item, run) for item in worst_first(run)]
    return "\n".join(rows) + "\n"


def _file_row(item: BatchFile, run: CheckRun) -> str:
    name = code_cell(run.shown(item.path))
    if item.report is None:
        return f"| {name} | {DASH} | {DASH} | {DASH} | {inline(item.problem or '')} |"
    errors, warnings = counts(item.report.findings)
    total = score_of(item)
    notes = [f"{f.tool.value}: tool problem" for f in item.report.failures]
    if total is None:
        notes.append("no score")
    elif total < run.threshold(item.path):
        notes.append(f"below {run.threshold(item.path)}")
    score = DASH if total is None else str(total)
    return f"| {name} | {score} | {errors} | {warnings} | {'; '.join(notes)} |"


def _findings(run: CheckRun) -> str:
    sections: list[str] = []
    for item in worst_first(run):
        report = item.report
        if report is not None and (report.findings or report.failures):
            sections.append(_file_findings(run.shown(item.path), report))
    if not sections:
        return ""
    return "### Findings\n\n" + "\n".join(sections)


def _file_findings(name: str, report: FileReport) -> str:
    count = len(report.findings)
    head = f"<details><summary><code>{_html(name)}</code> · {plural(count, 'finding')}"
    rows = [
        f"{head}</summary>\n",
        "| where | severity | code | message | source |",
        "|---|---|---|---|---|",
    ]
    rows += [finding_row(finding) for finding in ordered(report.findings)]
    problems = [f"- {f.tool.value}: {inline(f.message)}" for f in report.failures]
    if problems:
        rows += ["", "Tool problems:", "", *problems]
    return "\n".join(rows) + "\n\n</details>\n"


def finding_row(finding: Finding) -> str:
    """`| where | severity | code | message | source |`."""
    where = f"{finding.span.start_line + 1}:{finding.span.start_col + 1}"
    code = code_cell(finding.code) if finding.code else DASH
    if finding.code and finding.url and _SAFE_URL.fullmatch(finding.url):
        code = f"[{code}]({finding.url})"
    cells = [where, severity_name(finding.severity), code, inline(finding.message)]
    return f"| {' | '.join(cells)} | {finding.source.value} |"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

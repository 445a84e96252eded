"""The HTML format: one self-contained page (inline CSS and SVG, no script, nothing
fetched) with the totals, a score histogram, the files worst first and their findings.
Every text that comes from a file, a tool or a path is escaped."""

from __future__ import annotations

import re
from html import escape

from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.analyzers.findings import FileReport, Finding
from tapps_lsp.server.cli.formats.common import (
    BUCKETS,
    CheckRun,
    counts,
    histogram,
    ordered,
    plural,
    score_of,
    seconds,
    severity_name,
    totals,
    worst_first,
)

DASH = "&ndash;"
_SAFE_URL = re.compile(r"https?://[^\s\"'<>]+")
_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1f2328;background:#fff}
h1{font-size:1.6rem;margin:0}h2{font-size:1.2rem;margin:2rem 0 .6rem}
.where{color:#59636e;margin:.2rem 0 1rem}code{font:12px ui-monospace,monospace}
.cards{display:flex;flex-wrap:wrap;gap:.6rem}
.card{border:1px solid #d1d9e0;border-radius:6px;padding:.5rem .9rem;min-width:7rem}
.card b{display:block;font-size:1.3rem}.card span{color:#59636e;font-size:.85rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #d1d9e0;vertical-align:top}th{background:#f6f8fa}
td.num,th.num{text-align:right}
.bar{background:#eef0f3;border-radius:3px;height:.6rem;width:8rem;display:inline-block}
.bar i{display:block;height:100%;border-radius:3px}
.low{background:#cf222e}.mid{background:#bf8700}.good{background:#1a7f37}
.sev{border-radius:1rem;padding:0 .5rem;color:#fff;font-size:.8rem}
.error{background:#cf222e}.warning{background:#bf8700}
.information,.hint{background:#0969da}
details{border:1px solid #d1d9e0;border-radius:6px;margin:.6rem 0;padding:.3rem .7rem}
summary{cursor:pointer;font-weight:600}.problem{color:#cf222e}
table.found{table-layout:fixed}table.found th:nth-child(1){width:4.5rem}
table.found th:nth-child(2){width:6rem}table.found th:nth-child(3){width:11rem}
table.found th:nth-child(5){width:4rem}td{overflow-wrap:anywhere}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}
"""


def render(run: CheckRun) -> str:
    title = f"tapps-lsp check · {run.summary.files} files"
    body = [
        f"<header><h1>tapps-lsp check</h1><p class='where'>{escape(str(run.cwd))}</p></header>",
        _cards(run),
        "<h2>Scores</h2>",
        _histogram(run),
        "<h2>Files, worst first</h2>",
        _files(run),
        "<h2>Findings</h2>",
        _findings(run),
    ]
    return page(title, body)


def page(title: str, body: list[str]) -> str:
    """One self-contained page: `body` (HTML, already escaped) under the shared style."""
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _cards(run: CheckRun) -> str:
    summary = run.summary
    data = summary.as_json()
    errors, warnings = totals(summary)
    hit_rate = data["cache"]["hitRate"]
    cards = [
        ("files", str(summary.files)),
        ("skipped", str(summary.skipped)),
        ("errors", str(errors)),
        ("warnings", str(warnings)),
        ("mean score", _or_dash(data["meanScore"])),
        ("worst score", _or_dash(data["worstScore"])),
        ("cache hits", DASH if hit_rate is None else f"{hit_rate:.0%}"),
        ("duration", seconds(summary.duration_ms)),
    ]
    return card_row(cards)


def card_row(cards: list[tuple[str, str]]) -> str:
    """A row of (label, value) cards; the values are HTML, already escaped."""
    shown = "".join(f"<div class='card'><b>{v}</b><span>{k}</span></div>" for k, v in cards)
    return f"<section class='cards'>{shown}</section>"


def _or_dash(value: object) -> str:
    return DASH if value is None else str(value)


def _tone(score: int, threshold: int) -> str:
    if score < threshold:
        return "low"
    return "mid" if score < 90 else "good"


def _histogram(run: CheckRun) -> str:
    """An SVG bar chart of how many files fall in each score bucket."""
    found = histogram(run)
    tallest = max(found, default=0) or 1
    width, height, bar, gap = 560, 190, 44, 10
    parts = [
        f"<svg role='img' aria-label='score histogram' width='{width}' height='{height}'"
        f" viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>"
    ]
    for index, ((low, high), count) in enumerate(zip(BUCKETS, found, strict=True)):
        x = 10 + index * (bar + gap)
        tall = round(140 * count / tallest)
        y = 160 - tall
        tone = {"low": "#cf222e", "mid": "#bf8700", "good": "#1a7f37"}[
            _tone(low, run.usual_threshold())
        ]
        parts.append(
            f"<rect x='{x}' y='{y}' width='{bar}' height='{tall}' fill='{tone}'>"
            f"<title>{low}&ndash;{high}: {plural(count, 'file')}</title></rect>"
            f"<text x='{x + bar / 2}' y='{y - 4}' text-anchor='middle'>{count}</text>"
            f"<text x='{x + bar / 2}' y='176' text-anchor='middle'>{low}&ndash;{high}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _files(run: CheckRun) -> str:
    rows = [
        "<table><thead><tr><th>file</th><th class='num'>score</th><th></th>"
        "<th class='num'>errors</th><th class='num'>warnings</th><th>note</th></tr></thead>"
        "<tbody>"
    ]
    rows += [_file_row(index, item, run) for index, item in enumerate(worst_first(run))]
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _file_row(index: int, item: BatchFile, run: CheckRun) -> str:
    name = escape(run.shown(item.path))
    if item.report is None:
        return (
            f"<tr><td><code>{name}</code></td><td class='num'>{DASH}</td>"
            "<td></td><td></td><td></td>"
            f"<td class='problem'>{escape(item.problem or '')}</td></tr>"
        )
    errors, warnings = counts(item.report.findings)
    total = score_of(item)
    threshold = run.threshold(item.path)
    if total is None:
        meter, score = "", DASH
    else:
        meter = (
            f"<span class='bar'><i class='{_tone(total, threshold)}' style='width:{total}%'>"
            "</i></span>"
        )
        score = str(total)
    notes = [f"{f.tool.value}: {f.message}" for f in item.report.failures]
    if item.report.score is not None and total is None:
        notes.append(item.report.score.reason or "no score")
    link = (
        f"<a href='#file-{index}'><code>{name}</code></a>"
        if item.report.findings
        else (f"<code>{name}</code>")
    )
    return (
        f"<tr><td>{link}</td><td class='num'>{score}</td><td>{meter}</td>"
        f"<td class='num'>{errors}</td><td class='num'>{warnings}</td>"
        f"<td class='problem'>{escape('; '.join(notes))}</td></tr>"
    )


def _findings(run: CheckRun) -> str:
    sections = []
    for index, item in enumerate(worst_first(run)):
        if item.report is not None and item.report.findings:
            sections.append(_file_findings(index, run.shown(item.path), item.report))
    return "\n".join(sections) if sections else "<p>No findings.</p>"


def _file_findings(index: int, name: str, report: FileReport) -> str:
    count = len(report.findings)
    total = report.score.total if report.score is not None else None
    score = f" · score {total}" if total is not None else ""
    rows = [
        f"<details open id='file-{index}'><summary><code>{escape(name)}</code>{score}"
        f" · {plural(count, 'finding')}</summary>",
        "<table class='found'><thead><tr><th>where</th><th>severity</th><th>code</th>"
        "<th>message</th><th>source</th></tr></thead><tbody>",
    ]
    rows += [finding_row(finding) for finding in ordered(report.findings)]
    rows.append("</tbody></table></details>")
    return "\n".join(rows)


def finding_row(finding: Finding) -> str:
    """`where | severity | code | message | source`, as a table row."""
    where = f"{finding.span.start_line + 1}:{finding.span.start_col + 1}"
    severity = severity_name(finding.severity)
    code = escape(finding.code) if finding.code else DASH
    if finding.code and finding.url and _SAFE_URL.fullmatch(finding.url):
        code = f"<a href='{escape(finding.url)}'>{code}</a>"
    message = escape(finding.message).replace("\n", "<br>")
    return (
        f"<tr><td>{where}</td><td><span class='sev {severity}'>{severity}</span></td>"
        f"<td><code>{code}</code></td><td>{message}</td><td>{finding.source.value}</td></tr>"
    )

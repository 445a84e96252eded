"""The plain-text format: one line per file as it finishes, then the findings, tool
problems and a summary line once every file is done."""

from __future__ import annotations

from tapps_lsp.analyzers.batch import BatchFile, BatchSummary
from tapps_lsp.analyzers.score import format_score
from tapps_lsp.server.cli.formats.common import (
    CheckRun,
    counts,
    one_line,
    ordered,
    score_of,
    seconds,
    totals,
)


def file_line(item: BatchFile, name: str, width: int) -> str:
    """`path  score  N errors/M warnings`, or `path  -  why it was not reviewed`."""
    shown = name.ljust(width)
    if item.report is None:
        return f"{shown}  -  {item.problem}\n"
    total = score_of(item)
    errors, warnings = counts(item.report.findings)
    score = "-" if total is None else str(total)
    return f"{shown}  {score:>3}  {errors} errors/{warnings} warnings\n"


def details(run: CheckRun) -> str:
    """Every finding as `path:line:col: code message [source]`, file by file, then what
    kept a tool or the score from an answer."""
    lines: list[str] = []
    for item in run.files:
        if item.report is None:
            continue
        name = run.shown(item.path)
        for finding in ordered(item.report.findings):
            lines.append(
                f"{name}:{finding.span.start_line + 1}:{finding.span.start_col + 1}: "
                f"{finding.code or '-'} {one_line(finding.message)} [{finding.source.value}]"
            )
        for failure in item.report.failures:
            lines.append(f"{name}: tool problem: {one_line(failure.message)}")
        score = item.report.score
        if score is not None and score.total is None:
            lines.append(f"{name}: {format_score(score)}")
    return "".join(f"{line}\n" for line in lines)


def summary_line(summary: BatchSummary, baselined: int | None = None) -> str:
    """`6 files (1 skipped), 5 findings (2 errors, 3 warnings), mean score 91.4, 1.20 s`;
    with a baseline, `5 new findings (...), 12 baselined`."""
    files = f"{summary.files} file{'s' if summary.files != 1 else ''}"
    if summary.skipped:
        files += f" ({summary.skipped} skipped)"
    errors, warnings = totals(summary)
    findings = f"{errors + warnings} findings ({errors} errors, {warnings} warnings)"
    if baselined is not None:
        findings = f"{errors + warnings} new {findings.split(' ', 1)[1]}, {baselined} baselined"
    mean = summary.as_json()["meanScore"]
    score = f"mean score {mean}" if mean is not None else "no score"
    interrupted = ", cancelled" if summary.cancelled else ""
    return f"{files}, {findings}, {score}, {seconds(summary.duration_ms)}{interrupted}\n"

"""The severity floor (`minSeverity`, `check --min-severity`): findings less severe than
the floor are left out of reports, answers and their counts, as if no tool had found
them. Scores are not changed (they are the file's, whatever is shown)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tapps_lsp.analyzers.batch import BatchFile, BatchSummary
from tapps_lsp.analyzers.findings import FileReport, Severity, ToolResult

# What a request may name, most severe first.
SEVERITIES = ("error", "warning", "information", "hint")


def kept(severity_name: str, floor: Severity) -> bool:
    """Whether a finding of this severity (its JSON name) is at or above the floor."""
    return Severity.parse(severity_name) <= floor


def floor_report(report: FileReport, floor: Severity) -> FileReport:
    return replace(
        report, ruff=_floor_result(report.ruff, floor), mypy=_floor_result(report.mypy, floor)
    )


def _floor_result(result: ToolResult | None, floor: Severity) -> ToolResult | None:
    if result is None:
        return None
    return replace(result, findings=tuple(f for f in result.findings if f.severity <= floor))


def floor_files(files: Sequence[BatchFile], floor: Severity) -> list[BatchFile]:
    return [
        replace(item, report=floor_report(item.report, floor)) if item.report else item
        for item in files
    ]


def floor_summary(summary: BatchSummary, files: Sequence[BatchFile]) -> BatchSummary:
    """The summary with its finding counts taken again from the floored `files`."""
    by_severity: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for item in files:
        for finding in item.report.findings if item.report else ():
            by_severity[finding.severity.name.lower()] += 1
            by_source[finding.source.value] += 1
    return replace(summary, by_severity=by_severity, by_source=by_source)


def floor_workflow_report(report: dict[str, Any], floor: Severity) -> dict[str, Any]:
    """A workflow run's report (analyzers.workflows.report) without the findings below
    the floor, its `findings` counts and the steps' summaries' `findings` and
    `filesWithFindings` taken again (a kind's own breakdown, such as security's rules,
    still counts every finding)."""
    steps = []
    by_source: Counter[str] = Counter()
    for step in report["steps"]:
        found = [f for f in step["findings"] if kept(f["severity"], floor)]
        by_source.update(f["source"] for f in found)
        summary = dict(step["summary"])
        if "findings" in summary:
            summary["findings"] = len(found)
        if "filesWithFindings" in summary:
            summary["filesWithFindings"] = len({f["path"] for f in found})
        steps.append({**step, "findings": found, "summary": summary})
    counts = {"total": sum(by_source.values()), "bySource": dict(sorted(by_source.items()))}
    return {**report, "steps": steps, "findings": counts}

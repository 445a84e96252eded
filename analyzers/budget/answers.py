"""The review answers with their limits applied: a batch's summary (with the findings
listed once `maxTokens` is given), one file's score, a workflow run's report."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.batch import BatchFile, BatchSummary
from tapps_lsp.analyzers.budget.fit import Narrowing, fit
from tapps_lsp.analyzers.budget.floor import floor_files, floor_summary, floor_workflow_report, kept
from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.analyzers.workflows.report import findings_json


@dataclass(frozen=True, slots=True)
class Limits:
    """`maxTokens` and `minSeverity` of one request; None: no limit."""

    max_tokens: int | None = None
    min_severity: Severity | None = None


def _path_of(finding: dict[str, Any]) -> str:
    return str(finding["path"])


def batch_answer(
    summary: BatchSummary,
    files: Sequence[BatchFile],
    relative_to: Path | None,
    limits: Limits,
    narrowing: Narrowing,
    *,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary (BatchSummary.as_json), its counts over the findings at or above the
    floor; with `maxTokens`, the findings themselves (`findings.list`) within it. `extra`
    keys join the answer (and count against the budget)."""
    if limits.min_severity is not None:
        files = floor_files(files, limits.min_severity)
        summary = floor_summary(summary, files)
    answer = {**summary.as_json(relative_to), **(extra or {})}
    if limits.max_tokens is None:
        return answer
    reported = {str(item.path): item.report.findings for item in files if item.report}
    found = findings_json(reported, relative_to or Path())

    def build(kept_findings: list[dict[str, Any]]) -> dict[str, Any]:
        return {**answer, "findings": {**answer["findings"], "list": kept_findings}}

    return fit(found, limits.max_tokens, build, file_of=_path_of, narrowing=narrowing)


def findings_answer(
    base: dict[str, Any],
    findings: list[dict[str, Any]],
    limits: Limits,
    narrowing: Narrowing,
    file_of: Callable[[dict[str, Any]], str],
) -> dict[str, Any]:
    """`base` with `findings` (a list of finding objects) at or above the floor, within
    `maxTokens` when given."""
    if limits.min_severity is not None:
        floor = limits.min_severity
        findings = [f for f in findings if kept(f["severity"], floor)]
    if limits.max_tokens is None:
        return {**base, "findings": findings}
    return fit(
        findings,
        limits.max_tokens,
        lambda kept_findings: {**base, "findings": kept_findings},
        file_of=file_of,
        narrowing=narrowing,
    )


def workflow_answer(answer: dict[str, Any], limits: Limits, narrowing: Narrowing) -> dict[str, Any]:
    """A run's answer (`{runId, state, report?}`): the report's findings at or above the
    floor, and within `maxTokens` across all steps (each kept finding stays in its step)."""
    report = answer.get("report")
    if report is None:
        return answer
    if limits.min_severity is not None:
        report = floor_workflow_report(report, limits.min_severity)
    if limits.max_tokens is None:
        return {**answer, "report": report}
    tagged = [
        {**finding, "step": index}
        for index, step in enumerate(report["steps"])
        for finding in step["findings"]
    ]

    def build(kept_findings: list[dict[str, Any]]) -> dict[str, Any]:
        steps: list[dict[str, Any]] = [{**step, "findings": []} for step in report["steps"]]
        for finding in kept_findings:
            shown = dict(finding)
            steps[shown.pop("step")]["findings"].append(shown)
        return {**answer, "report": {**report, "steps": steps}}

    return fit(tagged, limits.max_tokens, build, file_of=_path_of, narrowing=narrowing)

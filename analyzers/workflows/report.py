"""A finished run's report: every step's findings and summary, and every failure.

It holds no times and no cache or resume flags, so a run resumed after a crash reports
exactly what an uninterrupted run over the same files reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.findings import Finding
from tapps_lsp.analyzers.workflows.run_view import RunView
from tapps_lsp.analyzers.workflows.step import StepOutput


def build_report(
    view: RunView, outputs: Mapping[str, StepOutput], root: Path, files: int, state: str
) -> dict[str, Any]:
    steps = []
    by_source: Counter[str] = Counter()
    failures = []
    skipped = []
    for step in view.steps.values():
        output = outputs.get(step.id)
        found = findings_json(output.findings, root) if output is not None else []
        by_source.update(finding["source"] for finding in found)
        steps.append(
            {
                "id": step.id,
                "uses": step.uses,
                "state": step.state,
                "summary": _timeless(output.summary) if output is not None else {},
                "findings": found,
                "error": step.error,
            }
        )
        if step.state in ("failed", "cancelled"):
            failures.append({"step": step.id, "error": step.error, "outputTail": step.output_tail})
        elif step.state == "skipped":
            skipped.append({"step": step.id, "reason": step.error})
    return {
        "workflow": view.workflow.name,
        "state": state,
        "files": files,
        "findings": {"total": sum(by_source.values()), "bySource": dict(sorted(by_source.items()))},
        "steps": steps,
        "failures": failures,
        "skipped": skipped,
    }


def _timeless(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A step's summary without how long it took (runStatus has the step's times)."""
    return {key: value for key, value in summary.items() if key != "durationMs"}


def findings_json(findings: Mapping[str, tuple[Finding, ...]], root: Path) -> list[dict[str, Any]]:
    """1-based lines and columns (code points), workspace-relative paths, in file order."""
    rows = []
    for path, found in sorted(findings.items()):
        shown = Path(path)
        name = shown.relative_to(root).as_posix() if shown.is_relative_to(root) else path
        for finding in sorted(found, key=lambda f: (f.span.start_line, f.span.start_col)):
            span = finding.span
            rows.append(
                {
                    "path": name,
                    "line": span.start_line + 1,
                    "column": span.start_col + 1,
                    "endLine": span.end_line + 1,
                    "endColumn": span.end_col + 1,
                    "severity": finding.severity.name.lower(),
                    "source": finding.source.value,
                    "code": finding.code,
                    "message": finding.message,
                }
            )
    return rows

"""Reports and tool results to and from JSON, through one cattrs converter."""

from __future__ import annotations

import json
from typing import Any

import cattrs
from cattrs.preconf.json import make_converter

from tapps_lsp.analyzers.code_metrics.measure import CodeMetrics
from tapps_lsp.analyzers.findings import FileReport, Finding, ToolResult

converter = make_converter()
# Stored metrics depend only on the content and on how they are measured.
METRICS_GENERATION = "metrics=1"


def dump_result(result: ToolResult) -> bytes:
    return json.dumps(converter.unstructure(result), separators=(",", ":")).encode()


def load_result(data: bytes) -> ToolResult:
    """Raises ValueError for anything that is not a stored ToolResult."""
    try:
        return converter.structure(json.loads(data), ToolResult)
    except (cattrs.BaseValidationError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a stored tool result: {exc}") from exc


def finding_json(finding: Finding) -> dict[str, Any]:
    """One finding as our JSON answers give it: 1-based lines and 1-based code-point
    columns, as the tools print them."""
    span = finding.span
    return {
        "source": finding.source.value,
        "code": finding.code,
        "severity": finding.severity.name.lower(),
        "message": finding.message,
        "line": span.start_line + 1,
        "column": span.start_col + 1,
        "endLine": span.end_line + 1,
        "endColumn": span.end_col + 1,
        "url": finding.url,
    }


def report_to_json(report: FileReport) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(report)
    return data


def dump_metrics(metrics: CodeMetrics | str) -> bytes:
    """A file's metrics, or the reason it has none (its syntax error)."""
    if isinstance(metrics, str):
        return json.dumps({"unmeasurable": metrics}).encode()
    return json.dumps({"metrics": converter.unstructure(metrics)}).encode()


def load_metrics(data: bytes | None) -> CodeMetrics | str | None:
    """None for a missing or unreadable entry: the caller measures again."""
    if data is None:
        return None
    try:
        raw = json.loads(data)
        if isinstance(raw.get("unmeasurable"), str):
            return str(raw["unmeasurable"])
        return converter.structure(raw["metrics"], CodeMetrics)
    except (ValueError, TypeError, KeyError, AttributeError, cattrs.BaseValidationError):
        return None


def prepare() -> None:
    """Build the converter's (un)structuring code now, not during the first review
    after a start (cattrs generates it at first use: about 10 ms)."""
    from tapps_lsp.analyzers.findings import (  # noqa: PLC0415 - only needed here
        Edit,
        Finding,
        Fix,
        Related,
        Severity,
        Source,
        Span,
        ToolFailure,
    )

    span = Span(0, 0, 0, 1)
    finding = Finding(
        Source.RUFF,
        "F401",
        "sample",
        Severity.WARNING,
        span,
        fix=Fix("fix", "safe", (Edit(span, ""),)),
        related=(Related("x.py", span, "note"),),
    )
    sample = ToolResult(Source.RUFF, (finding,), ToolFailure(Source.RUFF, "warning", "w"))
    load_result(dump_result(sample))
    load_metrics(dump_metrics(CodeMetrics(1, ())))

"""Reports and tool results to and from JSON, through one cattrs converter."""

from __future__ import annotations

import json
from typing import Any

import cattrs
from cattrs.preconf.json import make_converter

from analyzers.findings import FileReport, ToolResult

converter = make_converter()


def dump_result(result: ToolResult) -> bytes:
    return json.dumps(converter.unstructure(result), separators=(",", ":")).encode()


def load_result(data: bytes) -> ToolResult:
    """Raises ValueError for anything that is not a stored ToolResult."""
    try:
        return converter.structure(json.loads(data), ToolResult)
    except (cattrs.BaseValidationError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a stored tool result: {exc}") from exc


def report_to_json(report: FileReport) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(report)
    return data

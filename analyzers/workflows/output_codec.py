"""A step's output to and from JSON: as the run log keeps it and the step cache stores it.
Paths are kept relative to the workspace folder, so the same content in another checkout
reads back right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cattrs

from tapps_lsp.analyzers.findings import Finding
from tapps_lsp.analyzers.serialize import converter
from tapps_lsp.analyzers.workflows.step import StepOutput


def dump_output(output: StepOutput, root: Path) -> dict[str, Any]:
    return {
        "findings": {
            _relative(Path(path), root): [converter.unstructure(f) for f in found]
            for path, found in sorted(output.findings.items())
        },
        "summary": dict(output.summary),
    }


def load_output(data: dict[str, Any], root: Path, *, cached: bool = False) -> StepOutput:
    """Raises ValueError for anything that is not a dumped output."""
    try:
        findings = {
            str(root / path): tuple(converter.structure(f, Finding) for f in found)
            for path, found in data["findings"].items()
        }
        return StepOutput(findings, dict(data["summary"]), cached=cached)
    except (cattrs.BaseValidationError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a step output: {exc}") from exc


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)

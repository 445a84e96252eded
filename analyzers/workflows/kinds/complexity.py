"""The `complexity` step: functions over a McCabe complexity threshold, or too long.

Complexity is our own `code_metrics.measure` (it counts as ruff's C901 counts, so `max`
means what ruff's `lint.mccabe.max-complexity` means), read through the reviewer's metrics
memo: a file a save has measured is not measured again. A function over `max` is a
`C901` finding with ruff's message; one with more logical lines (statements, docstring
left out) than `max_lines` is a `TAPPS-LEN` finding. Both point at the `def`'s name.
Files that do not parse are skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.code_metrics.measure import FunctionMetrics
from tapps_lsp.analyzers.findings import Finding, Severity, Source
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.analyzers.workflows.kinds.analysis import AnalysisKind
from tapps_lsp.analyzers.workflows.kinds.aside import run_aside
from tapps_lsp.analyzers.workflows.kinds.names import name_span
from tapps_lsp.analyzers.workflows.kinds.options import (
    Option,
    positive_integer,
)
from tapps_lsp.analyzers.workflows.sources import read_sources
from tapps_lsp.analyzers.workflows.step import StepInput, StepOutput

# Bumped whenever what is counted or reported changes.
VERSION = "complexity-1"
_MCCABE_URL = "https://docs.astral.sh/ruff/rules/complex-structure/"

_SCHEMA = (
    Option("max", "an integer above 0", positive_integer, 10),
    Option("max_lines", "an integer above 0", positive_integer, None),
)


@dataclass(slots=True)
class _Tally:
    functions: int = 0
    complex: int = 0
    long: int = 0
    worst: int = 0
    worst_name: str | None = None
    not_parsed: int = 0

    def count(self, function: FunctionMetrics) -> None:
        self.functions += 1
        if function.complexity > self.worst:
            self.worst, self.worst_name = function.complexity, function.name


@dataclass(frozen=True, slots=True)
class ComplexityKind(AnalysisKind):
    async def version(self, step: StepInput) -> str:
        return VERSION

    async def run(self, step: StepInput) -> StepOutput:
        read = self.options_of(step)
        limit, max_lines = int(read["max"]), read["max_lines"]
        sources = await read_sources(step.files, step.settings.max_file_size)
        memo = step.reviewer.metrics
        # Measured in the analysis process, beside mypy (kinds.aside).
        await memo.prefetch(sources.texts.values(), run=run_aside)
        tally = _Tally()
        findings: dict[str, tuple[Finding, ...]] = {}
        for path, text in sources.texts.items():
            digest = content_hash(text)
            measured = await memo.of(digest, memo.soon(digest, text))
            if isinstance(measured, str):
                tally.not_parsed += 1
                continue
            found = _findings(text, measured.functions, limit, max_lines, tally)
            if found:
                findings[str(path)] = found
        summary: dict[str, Any] = {
            "files": len(sources.texts),
            "functions": tally.functions,
            "overMax": tally.complex,
            "max": limit,
            "maxSeen": tally.worst,
            "mostComplex": tally.worst_name,
            "notParsed": tally.not_parsed,
        }
        if max_lines is not None:
            summary |= {"overMaxLines": tally.long, "maxLines": max_lines}
        if sources.refused:
            summary["notReviewed"] = len(sources.refused)
        return StepOutput(findings, summary)


def _findings(
    text: str,
    functions: tuple[FunctionMetrics, ...],
    limit: int,
    max_lines: int | None,
    tally: _Tally,
) -> tuple[Finding, ...]:
    lines = split_lines(text)
    found: list[Finding] = []
    for function in functions:
        tally.count(function)
        short = function.name.rpartition(".")[2]
        span = name_span(lines, function.line, short)
        if function.complexity > limit:
            tally.complex += 1
            message = f"`{short}` is too complex ({function.complexity} > {limit})"
            found.append(
                Finding(Source.COMPLEXITY, "C901", message, Severity.WARNING, span, _MCCABE_URL)
            )
        if max_lines is not None and function.logical_lines > max_lines:
            tally.long += 1
            message = f"`{short}` is too long ({function.logical_lines} > {max_lines} lines)"
            found.append(Finding(Source.COMPLEXITY, "TAPPS-LEN", message, Severity.WARNING, span))
    return tuple(found)


COMPLEXITY = ComplexityKind(name="complexity", tool="complexity", schema=_SCHEMA)

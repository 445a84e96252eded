"""The engine's vocabulary: findings, spans, scores and per-file reports.

Positions here are 0-based lines and 0-based columns counted in Unicode code
points, end exclusive. Only the server converts them to LSP positions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class Severity(enum.IntEnum):
    """Ordered like LSP's DiagnosticSeverity: lower is more severe."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @classmethod
    def parse(cls, name: str) -> Severity:
        key = name.strip().upper()
        key = _SEVERITY_ALIASES.get(key, key)
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown severity {name!r}") from None


_SEVERITY_ALIASES = {"INFO": "INFORMATION", "NOTE": "INFORMATION", "WARN": "WARNING"}


class Source(enum.StrEnum):
    RUFF = "ruff"
    MYPY = "mypy"
    TAPPS = "tapps"
    # The workflow steps' own findings (analyzers.workflows): the diagnostic's source.
    SECURITY = "tapps-security"
    COMPLEXITY = "tapps-complexity"
    DOCS = "tapps-docs"
    DEADCODE = "tapps-deadcode"
    TESTS = "tapps-tests"
    COMMAND = "tapps-command"


@dataclass(frozen=True, slots=True)
class Span:
    start_line: int
    start_col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, line: int, col: int = 0) -> Span:
        return cls(line, col, line, col)


@dataclass(frozen=True, slots=True)
class Edit:
    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    message: str
    applicability: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Related:
    """A place elsewhere that explains a finding (mypy notes, blocking errors)."""

    path: str
    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class Finding:
    source: Source
    code: str | None
    message: str
    severity: Severity
    span: Span
    url: str | None = None
    unnecessary: bool = False
    deprecated: bool = False
    fix: Fix | None = None
    related: tuple[Related, ...] = ()
    stale: bool = False


def as_stale(finding: Finding) -> Finding:
    """A finding from an earlier check, shown until a current one replaces it."""
    if finding.stale:
        return finding
    return replace(finding, stale=True, message=f"{finding.message} [stale]")


@dataclass(frozen=True, slots=True)
class ToolFailure:
    """A tool could not give an answer: missing, crashed, misconfigured or timed out."""

    tool: Source
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """The 0-100 quality score. `total` is None when the file could not be scored."""

    total: int | None
    types: int | None
    lint: int | None
    complexity: int | None
    security: int | None
    logical_lines: int
    formula_version: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one tool said about one file's content."""

    tool: Source
    findings: tuple[Finding, ...] = ()
    failure: ToolFailure | None = None
    version: str = ""
    duration_ms: float = 0.0
    cached: bool = False


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    content_hash: str
    ruff: ToolResult | None
    mypy: ToolResult | None
    score: ScoreBreakdown | None
    complete: bool
    result_id: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def findings(self) -> tuple[Finding, ...]:
        found: list[Finding] = []
        for result in (self.ruff, self.mypy):
            if result is not None:
                found.extend(result.findings)
        return tuple(found)

    @property
    def failures(self) -> tuple[ToolFailure, ...]:
        return tuple(
            r.failure for r in (self.ruff, self.mypy) if r is not None and r.failure is not None
        )

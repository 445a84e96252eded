"""Findings and scores to LSP diagnostics; the only place that knows LSP positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from lsprotocol import types

from tapps_lsp.analyzers.findings import FileReport, Finding, ScoreBreakdown, Severity, Span
from tapps_lsp.analyzers.score import format_score
from tapps_lsp.analyzers.text import decode_source, split_lines

SCORE_SOURCE = "tapps"
SCORE_CODE = "score"


class PositionMapper:
    """Code-point columns of one text to the negotiated position encoding."""

    def __init__(self, lines: Sequence[str], encoding: str) -> None:
        self.lines = lines
        self.encoding = encoding

    def position(self, line: int, col: int) -> types.Position:
        if not self.lines:
            return types.Position(0, 0)
        if line >= len(self.lines):
            line = len(self.lines) - 1
            col = len(self.lines[line])
        text = self.lines[max(line, 0)]
        col = min(max(col, 0), len(text))
        return types.Position(max(line, 0), self._units(text[:col]))

    def _units(self, prefix: str) -> int:
        if prefix.isascii() or self.encoding == types.PositionEncodingKind.Utf32:
            return len(prefix)
        if self.encoding == types.PositionEncodingKind.Utf8:
            return len(prefix.encode("utf-8", "surrogatepass"))
        return len(prefix.encode("utf-16-le", "surrogatepass")) // 2

    def range(self, span: Span) -> types.Range:
        return types.Range(
            self.position(span.start_line, span.start_col),
            self.position(span.end_line, span.end_col),
        )


_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFORMATION: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}


def finding_to_diagnostic(finding: Finding, mapper: PositionMapper) -> types.Diagnostic:
    tags = []
    if finding.unnecessary:
        tags.append(types.DiagnosticTag.Unnecessary)
    if finding.deprecated:
        tags.append(types.DiagnosticTag.Deprecated)
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(
                uri=Path(item.path).as_uri(),
                range=_related_mapper(item.path, mapper.encoding).range(item.span),
            ),
            message=item.message,
        )
        for item in finding.related
    ]
    return types.Diagnostic(
        range=mapper.range(finding.span),
        message=finding.message,
        severity=_SEVERITY[finding.severity],
        code=finding.code,
        code_description=types.CodeDescription(href=finding.url) if finding.url else None,
        source=finding.source.value,
        tags=tags or None,
        related_information=related or None,
        data=_fix_data(finding),
    )


def baselined_diagnostic(finding: Finding, mapper: PositionMapper) -> types.Diagnostic:
    """A finding the project's baseline covers: a Hint, tagged `baselined` in its data."""
    diagnostic = finding_to_diagnostic(replace(finding, severity=Severity.HINT), mapper)
    data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
    diagnostic.data = {**data, "baselined": True}
    return diagnostic


def _related_mapper(path: str, encoding: str) -> PositionMapper:
    """Positions in another file need that file's text to be in the negotiated encoding."""
    try:
        lines = split_lines(decode_source(Path(path).read_bytes()))
    except (OSError, ValueError):
        return _RawColumns(encoding)
    return PositionMapper(lines, encoding)


class _RawColumns(PositionMapper):
    """A file that cannot be read: code-point columns as they are."""

    def __init__(self, encoding: str) -> None:
        super().__init__([], encoding)

    def position(self, line: int, col: int) -> types.Position:
        return types.Position(max(line, 0), max(col, 0))


def _fix_data(finding: Finding) -> object | None:
    if finding.fix is None:
        return None
    return {
        "fix": {
            "message": finding.fix.message,
            "applicability": finding.fix.applicability,
            "edits": [
                {"span": asdict(edit.span), "newText": edit.new_text} for edit in finding.fix.edits
            ],
        }
    }


def score_diagnostic(
    score: ScoreBreakdown, mapper: PositionMapper, threshold: int
) -> types.Diagnostic:
    first_line = mapper.lines[0] if mapper.lines else ""
    low = score.total is not None and score.total < threshold
    return types.Diagnostic(
        range=mapper.range(Span(0, 0, 0, len(first_line))),
        message=format_score(score),
        severity=types.DiagnosticSeverity.Warning if low else types.DiagnosticSeverity.Information,
        code=SCORE_CODE,
        source=SCORE_SOURCE,
        data={"score": score_json(score)},
    )


def score_json(score: ScoreBreakdown) -> dict[str, object]:
    """The breakdown with camelCase keys, as every other JSON we send."""
    return {_camel(key): value for key, value in asdict(score).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def report_diagnostics(
    report: FileReport, mapper: PositionMapper, threshold: int
) -> list[types.Diagnostic]:
    diagnostics = [finding_to_diagnostic(f, mapper) for f in report.findings]
    if report.score is not None:
        diagnostics.append(score_diagnostic(report.score, mapper, threshold))
    return diagnostics

"""Findings and scores to LSP diagnostics, in the negotiated position encoding."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tapps_lsp.analyzers.findings import (
    Edit,
    FileReport,
    Finding,
    Fix,
    Related,
    ScoreBreakdown,
    Severity,
    Source,
    Span,
    ToolResult,
)
from tapps_lsp.analyzers.score import format_score
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.server.lsp.convert import (
    SCORE_CODE,
    SCORE_SOURCE,
    PositionMapper,
    finding_to_diagnostic,
    report_diagnostics,
    score_diagnostic,
)

UTF8 = types.PositionEncodingKind.Utf8
UTF16 = types.PositionEncodingKind.Utf16
UTF32 = types.PositionEncodingKind.Utf32
ENCODINGS = [UTF8, UTF16, UTF32]


def units(text: str, encoding: str) -> int:
    """The length of `text` in code units of `encoding`, measured by Python's codecs."""
    codec = {UTF8: "utf-8", UTF16: "utf-16-le", UTF32: "utf-32-le"}[
        types.PositionEncodingKind(encoding)
    ]
    width = {UTF8: 1, UTF16: 2, UTF32: 4}[types.PositionEncodingKind(encoding)]
    return len(text.encode(codec, "surrogatepass")) // width


LINES = ["x = 1", 'é = "日本😀"; y = zz', "\tz = '👩\u200d👩\u200d👧' + w", ""]


# --- PositionMapper --------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("line", range(len(LINES)))
def test_every_column_of_every_line(encoding: str, line: int) -> None:
    mapper = PositionMapper(LINES, encoding)
    text = LINES[line]
    for col in range(len(text) + 1):
        assert mapper.position(line, col) == types.Position(line, units(text[:col], encoding))


@pytest.mark.parametrize(("encoding", "expected"), [(UTF32, 15), (UTF16, 16), (UTF8, 23)])
def test_a_column_after_non_ascii_text(encoding: str, expected: int) -> None:
    # 'é = "日本😀"; y = zz': "zz" is at code point 15, after é (2 UTF-8 bytes), 日 and 本
    # (3 bytes each) and 😀 (4 bytes, 2 UTF-16 units).
    assert LINES[1].index("zz") == 15
    assert PositionMapper(LINES, encoding).position(1, 15).character == expected


def test_plain_strings_for_the_encoding_work_too() -> None:
    for name, expected in (("utf-8", 23), ("utf-16", 16), ("utf-32", 15)):
        assert PositionMapper(LINES, name).position(1, 15).character == expected


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_column_past_the_line_end_is_the_line_end(encoding: str) -> None:
    mapper = PositionMapper(LINES, encoding)
    end = units(LINES[1], encoding)
    assert mapper.position(1, len(LINES[1]) + 5) == types.Position(1, end)
    assert mapper.position(0, 10**6) == types.Position(0, 5)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_line_past_the_end_is_the_document_end(encoding: str) -> None:
    lines = ["a", "b = '😀'"]
    mapper = PositionMapper(lines, encoding)
    end = types.Position(1, units(lines[1], encoding))
    assert mapper.position(2, 0) == end
    assert mapper.position(99, 3) == end


def test_negative_numbers_are_clamped_to_zero() -> None:
    mapper = PositionMapper(LINES, UTF16)
    assert mapper.position(-1, 3) == types.Position(0, 3)
    assert mapper.position(1, -4) == types.Position(1, 0)


@pytest.mark.parametrize("lines", [[], [""]])
def test_an_empty_document(lines: list[str]) -> None:
    mapper = PositionMapper(lines, UTF16)
    assert mapper.position(0, 0) == types.Position(0, 0)
    assert mapper.position(3, 7) == types.Position(0, 0)
    assert mapper.range(Span(0, 0, 5, 5)) == types.Range(types.Position(0, 0), types.Position(0, 0))


def test_range_maps_both_ends() -> None:
    mapper = PositionMapper(LINES, UTF16)
    start = LINES[1].index("zz")
    assert mapper.range(Span(1, start, 1, start + 2)) == types.Range(
        types.Position(1, units(LINES[1][:start], UTF16)),
        types.Position(1, units(LINES[1][:start], UTF16) + 2),
    )


def test_lone_surrogates_do_not_crash() -> None:
    mapper = PositionMapper(["a\udc80b"], UTF8)
    assert mapper.position(0, 3).character == units("a\udc80b", UTF8)


# --- finding_to_diagnostic -------------------------------------------------------------


def _finding(**changes: object) -> Finding:
    base: dict[str, object] = {
        "source": Source.RUFF,
        "code": "F401",
        "message": "`os` imported but unused",
        "severity": Severity.WARNING,
        "span": Span(1, 16, 1, 18),
    }
    base.update(changes)
    return Finding(**base)  # type: ignore[arg-type]


def test_a_plain_finding() -> None:
    mapper = PositionMapper(LINES, UTF16)
    diagnostic = finding_to_diagnostic(_finding(), mapper)
    assert diagnostic.range == mapper.range(Span(1, 16, 1, 18))
    assert diagnostic.message == "`os` imported but unused"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.source == "ruff"
    assert diagnostic.code == "F401"
    assert diagnostic.code_description is None
    assert diagnostic.tags is None
    assert diagnostic.related_information is None
    assert diagnostic.data is None


@pytest.mark.parametrize(
    ("severity", "lsp"),
    [
        (Severity.ERROR, types.DiagnosticSeverity.Error),
        (Severity.WARNING, types.DiagnosticSeverity.Warning),
        (Severity.INFORMATION, types.DiagnosticSeverity.Information),
        (Severity.HINT, types.DiagnosticSeverity.Hint),
    ],
)
def test_severities(severity: Severity, lsp: types.DiagnosticSeverity) -> None:
    diagnostic = finding_to_diagnostic(_finding(severity=severity), PositionMapper(LINES, UTF16))
    assert diagnostic.severity == lsp


def test_source_code_and_link() -> None:
    finding = _finding(
        source=Source.MYPY, code="arg-type", url="https://mypy.readthedocs.io/#code-arg-type"
    )
    diagnostic = finding_to_diagnostic(finding, PositionMapper(LINES, UTF16))
    assert diagnostic.source == "mypy"
    assert diagnostic.code == "arg-type"
    assert diagnostic.code_description == types.CodeDescription(
        href="https://mypy.readthedocs.io/#code-arg-type"
    )


def test_no_code() -> None:
    diagnostic = finding_to_diagnostic(_finding(code=None), PositionMapper(LINES, UTF16))
    assert diagnostic.code is None


@pytest.mark.parametrize(
    ("unnecessary", "deprecated", "tags"),
    [
        (True, False, [types.DiagnosticTag.Unnecessary]),
        (False, True, [types.DiagnosticTag.Deprecated]),
        (True, True, [types.DiagnosticTag.Unnecessary, types.DiagnosticTag.Deprecated]),
    ],
)
def test_tags(unnecessary: bool, deprecated: bool, tags: list[types.DiagnosticTag]) -> None:
    finding = _finding(unnecessary=unnecessary, deprecated=deprecated)
    assert finding_to_diagnostic(finding, PositionMapper(LINES, UTF16)).tags == tags


def test_related_information_in_the_negotiated_encoding(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken_lines = ["x = 1", 'é = "😀" +']
    broken.write_text("\n".join(broken_lines) + "\n", encoding="utf-8")
    start = broken_lines[1].index("+")
    related = Related(str(broken), Span(1, start, 1, start + 1), "invalid syntax")
    finding = _finding(source=Source.MYPY, code="blocked", related=(related,))
    for encoding in ENCODINGS:
        diagnostic = finding_to_diagnostic(finding, PositionMapper(LINES, encoding))
        assert diagnostic.related_information is not None
        [info] = diagnostic.related_information
        assert info.message == "invalid syntax"
        assert info.location.uri == broken.as_uri()
        begin = units(broken_lines[1][:start], encoding)
        assert info.location.range == types.Range(
            types.Position(1, begin), types.Position(1, begin + 1)
        )


def test_related_information_for_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    related = Related(str(tmp_path / "gone.py"), Span(2, 3, 2, 4), "why")
    diagnostic = finding_to_diagnostic(_finding(related=(related,)), PositionMapper(LINES, UTF8))
    assert diagnostic.related_information is not None
    assert diagnostic.related_information[0].location.range == types.Range(
        types.Position(2, 3), types.Position(2, 4)
    )


def test_fix_data_carries_the_edits() -> None:
    fix = Fix(
        "Remove unused import: `os`",
        "safe",
        (Edit(Span(1, 0, 2, 0), ""), Edit(Span(0, 5, 0, 5), "\n")),
    )
    diagnostic = finding_to_diagnostic(_finding(fix=fix), PositionMapper(LINES, UTF16))
    assert diagnostic.data == {
        "fix": {
            "message": "Remove unused import: `os`",
            "applicability": "safe",
            "edits": [
                {
                    "span": {"start_line": 1, "start_col": 0, "end_line": 2, "end_col": 0},
                    "newText": "",
                },
                {
                    "span": {"start_line": 0, "start_col": 5, "end_line": 0, "end_col": 5},
                    "newText": "\n",
                },
            ],
        }
    }


# --- score_diagnostic ------------------------------------------------------------------


def _score(total: int | None) -> ScoreBreakdown:
    if total is None:
        return ScoreBreakdown(None, None, None, None, None, 3, 1, reason="line 2: invalid syntax")
    return ScoreBreakdown(total, 90, 80, 70, 100, 12, 1)


@pytest.mark.parametrize(
    ("total", "threshold", "severity"),
    [
        (69, 70, types.DiagnosticSeverity.Warning),
        (0, 70, types.DiagnosticSeverity.Warning),
        (70, 70, types.DiagnosticSeverity.Information),
        (100, 70, types.DiagnosticSeverity.Information),
        (50, 0, types.DiagnosticSeverity.Information),
        (99, 100, types.DiagnosticSeverity.Warning),
        (None, 70, types.DiagnosticSeverity.Information),
        (None, 101, types.DiagnosticSeverity.Information),
    ],
)
def test_score_severity(
    total: int | None, threshold: int, severity: types.DiagnosticSeverity
) -> None:
    diagnostic = score_diagnostic(_score(total), PositionMapper(LINES, UTF16), threshold)
    assert diagnostic.severity == severity


def test_score_diagnostic_fields() -> None:
    score = _score(82)
    mapper = PositionMapper(['é = "😀"', "y = 2"], UTF16)
    diagnostic = score_diagnostic(score, mapper, 70)
    assert diagnostic.source == SCORE_SOURCE == "tapps"
    assert diagnostic.code == SCORE_CODE == "score"
    assert diagnostic.message == format_score(score)
    assert "82" in diagnostic.message
    # The whole first line, in the negotiated units.
    assert diagnostic.range == types.Range(types.Position(0, 0), types.Position(0, 8))
    assert isinstance(diagnostic.data, dict)
    assert diagnostic.data["score"]["total"] == 82
    assert diagnostic.data["score"]["formulaVersion"] == 1
    assert diagnostic.data["score"]["logicalLines"] == score.logical_lines


def test_an_unscored_file_says_why() -> None:
    diagnostic = score_diagnostic(_score(None), PositionMapper(split_lines(""), UTF16), 70)
    assert "line 2: invalid syntax" in diagnostic.message
    assert diagnostic.range == types.Range(types.Position(0, 0), types.Position(0, 0))
    assert isinstance(diagnostic.data, dict)
    assert diagnostic.data["score"]["total"] is None
    assert diagnostic.data["score"]["reason"] == "line 2: invalid syntax"


def test_report_diagnostics_has_findings_then_the_score() -> None:
    ruff = ToolResult(Source.RUFF, (_finding(),))
    mypy = ToolResult(Source.MYPY, (_finding(source=Source.MYPY, code="misc"),))
    report = FileReport("/p/x.py", "h", ruff, mypy, _score(50), complete=True)
    diagnostics = report_diagnostics(report, PositionMapper(LINES, UTF16), 70)
    assert [(d.source, d.code) for d in diagnostics] == [
        ("ruff", "F401"),
        ("mypy", "misc"),
        ("tapps", "score"),
    ]
    partial = FileReport("/p/x.py", "h", ruff, None, None, complete=False)
    assert [d.code for d in report_diagnostics(partial, PositionMapper(LINES, UTF16), 70)] == [
        "F401"
    ]

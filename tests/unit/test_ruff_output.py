"""ruff's JSON output to findings, checked against the real ruff on tricky sources.

ruff reports 1-based rows and 1-based columns counted in code points, end
exclusive. A Finding holds 0-based lines and code-point columns, so the text a
span covers must be exactly the text ruff pointed at, whatever the characters.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.analyzers.findings import Finding, Severity, Source, Span
from tapps_lsp.analyzers.ruff import check_argv, default_severity, parse_record, ruff_command
from tapps_lsp.analyzers.settings import ToolSettings
from tapps_lsp.analyzers.text import split_lines

# The ruff the engine runs by default: the real tool, whatever way it is installed.
RUFF = ruff_command(ToolSettings())


def ruff_records(source: str, *select: str, cwd: Path | None = None) -> list[dict[str, Any]]:
    """What the real ruff says about `source`, with only the `select`ed rules."""
    argv = [*RUFF, "check", "--isolated", "--output-format", "json", "--no-fix"]
    argv += [f"--select={','.join(select)}"] if select else []
    argv += ["--stdin-filename", "x.py", "-"]
    done = subprocess.run(
        argv, input=source.encode("utf-8"), capture_output=True, check=False, cwd=cwd
    )
    assert done.returncode in (0, 1), done.stderr.decode()
    records: list[dict[str, Any]] = json.loads(done.stdout)
    return records


def findings(source: str, *select: str) -> list[Finding]:
    lines = split_lines(source)
    return [parse_record(record, lines) for record in ruff_records(source, *select)]


def one(source: str, code: str, *select: str) -> Finding:
    found = [f for f in findings(source, *(select or (code,))) if f.code == code]
    assert len(found) == 1, found
    return found[0]


def covered(source: str, span: Span) -> str:
    """The text a span covers, counting columns in code points."""
    lines = split_lines(source)
    if span.start_line == span.end_line:
        return lines[span.start_line][span.start_col : span.end_col]
    parts = [lines[span.start_line][span.start_col :]]
    parts += lines[span.start_line + 1 : span.end_line]
    parts.append(lines[span.end_line][: span.end_col])
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("source", "line", "name"),
    [
        ('s = "héllo"; x = undefined_名\n', 0, "undefined_名"),
        ('名前 = "日本語"; print(名前 + 未定義)\n', 0, "未定義"),
        ('e = "😀😀"; y = zz\n', 0, "zz"),  # outside the BMP: 2 UTF-16 units, 4 bytes each
        ('e = "👩\u200d👩\u200d👧"; y = zz\n', 0, "zz"),  # a ZWJ sequence is 5 code points
        ("café = 1\nprint(café, ñandú)\n", 1, "ñandú"),
        ("def f():\n\treturn zz\n", 1, "zz"),  # a tab is one column
    ],
)
def test_undefined_name_span_covers_the_name_in_code_points(
    source: str, line: int, name: str
) -> None:
    finding = one(source, "F821")
    assert finding.span.start_line == finding.span.end_line == line
    assert covered(source, finding.span) == name
    assert finding.span.start_col == split_lines(source)[line].index(name)
    assert finding.source is Source.RUFF
    assert finding.severity is Severity.ERROR
    assert finding.url == "https://docs.astral.sh/ruff/rules/undefined-name"
    assert name in finding.message
    assert not finding.unnecessary


def test_emoji_columns_are_code_points_not_utf16_units() -> None:
    source = 'e = "😀😀😀"; y = zz\n'
    finding = one(source, "F821")
    prefix = source[: source.index("zz")]
    assert finding.span.start_col == len(prefix)
    assert finding.span.start_col != len(prefix.encode("utf-16-le")) // 2
    assert finding.span.start_col != len(prefix.encode("utf-8"))


def test_trailing_whitespace_after_an_emoji_and_its_fix() -> None:
    source = 'x = "😀"   \ny = 1\n'
    finding = one(source, "W291")
    assert finding.span == Span(0, 7, 0, 10)
    assert covered(source, finding.span) == "   "
    assert finding.severity is Severity.WARNING
    assert finding.fix is not None
    assert finding.fix.applicability == "safe"
    assert "whitespace" in finding.fix.message.lower()
    [edit] = finding.fix.edits
    assert edit.span == finding.span
    assert edit.new_text == ""


def test_unused_import_is_unnecessary_and_its_fix_removes_the_line() -> None:
    source = 's = "é"\nimport os\nprint(s)\n'
    finding = one(source, "F401")
    assert covered(source, finding.span) == "os"
    assert finding.unnecessary
    assert finding.severity is Severity.WARNING
    assert finding.fix is not None
    [edit] = finding.fix.edits
    # From the start of the import's line to the start of the next one.
    assert edit.span == Span(1, 0, 2, 0)
    assert edit.new_text == ""


def test_unused_import_in_a_list_keeps_the_used_one() -> None:
    source = 'x = "😀"; import os, sys\nprint(sys, x)\n'
    finding = one(source, "F401")
    assert covered(source, finding.span) == "os"
    assert finding.fix is not None
    [edit] = finding.fix.edits
    assert covered(source, edit.span) == "import os, sys"
    assert edit.new_text == "import sys"


def test_unused_variable_is_unnecessary_with_an_unsafe_fix() -> None:
    source = "def f():\n    é = 1\n"
    finding = one(source, "F841")
    assert covered(source, finding.span) == "é"
    assert finding.unnecessary
    assert finding.severity is Severity.WARNING
    assert finding.fix is not None
    assert finding.fix.applicability == "unsafe"


@pytest.mark.parametrize(
    "source",
    ["def f(:\n", "x = (\n", "def f(:", 'x = "😀" +\n', "if True:\nprint('é')\n"],
)
def test_syntax_errors_are_errors_within_the_document(source: str) -> None:
    found = findings(source, "F")
    assert found
    lines = split_lines(source)
    for finding in found:
        assert finding.code in (None, "invalid-syntax", "E999")
        assert finding.severity is Severity.ERROR
        span = finding.span
        assert (span.start_line, span.start_col) <= (span.end_line, span.end_col)
        assert span.end_line < len(lines)
        assert span.start_col <= len(lines[span.start_line])
        assert span.end_col <= len(lines[span.end_line])


def test_unexpected_eof_without_a_final_newline_is_at_the_end_of_the_last_line() -> None:
    source = 'def f(é="😀":'
    eof = [f for f in findings(source, "F") if "EOF" in f.message]
    assert len(eof) == 1
    assert eof[0].span == Span.point(0, len(source))


def test_syntax_error_spanning_to_the_next_line() -> None:
    source = 'x = "😀" +\ny = 1\n'
    [finding] = [f for f in findings(source, "F") if "expression" in f.message.lower()]
    # From the end of the first line (code points, after "😀") to the start of the next.
    assert finding.span == Span(0, len('x = "😀" +'), 1, 0)


@pytest.mark.parametrize("source", ["x = 1", 'x = "é😀"', "a = 1\r\nb = '日本'"])
def test_missing_newline_at_eof(source: str) -> None:
    finding = one(source, "W292")
    lines = split_lines(source)
    end = Span.point(len(lines) - 1, len(lines[-1]))
    assert finding.span == end
    assert finding.fix is not None
    [edit] = finding.fix.edits
    assert edit.span == end
    assert edit.new_text in ("\n", "\r\n")


def test_crlf_and_form_feed_lines() -> None:
    source = 'a = "é"\r\nb = zz\r\n\fc = yy\r\n'
    found = sorted(findings(source, "F821"), key=lambda f: f.span.start_line)
    assert [(f.span.start_line, covered(source, f.span)) for f in found] == [
        (1, "zz"),
        (2, "yy"),
    ]


def test_form_feed_and_unicode_separators_do_not_break_lines() -> None:
    source = 'a = "é\u2028"\n\f\nb = "\x85"; c = zz\n'
    finding = one(source, "F821")
    # str.splitlines() would put this on line 4 or 5; ruff and split_lines() agree on 2.
    assert finding.span.start_line == 2
    assert covered(source, finding.span) == "zz"


def test_every_finding_of_a_busy_file_is_within_the_document() -> None:
    source = (
        "import os, sys\r\n"
        "from typing import *\r\n"
        'x = "日本😀" ; y == 1\r\n'
        "def f(a=[]):\r\n"
        "\tl = lambda: 0\r\n"
        "\treturn ñ  \r\n"
        "\f\r\n"
        "z = 'é'"
    )
    found = findings(source, "ALL")
    assert len(found) >= 8
    lines = split_lines(source)
    for finding in found:
        span = finding.span
        assert (span.start_line, span.start_col) <= (span.end_line, span.end_col)
        assert span.end_line < len(lines)
        assert span.end_col <= len(lines[span.end_line])
        if span.start_line == span.end_line and span.end_col > span.start_col:
            assert covered(source, span)


# Clamping: ruff's numbers are kept within the document, in case the text ruff saw and the
# text we split ever differ (a stale buffer, an EOF position on a missing last line).

LINES = ["x = 1", "yé = 2", ""]


def _record(start: dict[str, int] | None, end: dict[str, int] | None) -> dict[str, Any]:
    return {"code": "E000", "message": "m", "location": start, "end_location": end}


@pytest.mark.parametrize(
    ("start", "end", "span"),
    [
        ({"row": 2, "column": 1}, {"row": 2, "column": 3}, Span(1, 0, 1, 2)),
        ({"row": 2, "column": 5}, {"row": 2, "column": 99}, Span(1, 4, 1, 6)),  # past the line
        ({"row": 9, "column": 4}, {"row": 9, "column": 9}, Span(2, 0, 2, 0)),  # past the end
        ({"row": 1, "column": 3}, {"row": 7, "column": 1}, Span(0, 2, 2, 0)),
        ({"row": 2, "column": 4}, {"row": 2, "column": 2}, Span(1, 3, 1, 3)),  # end before start
        ({"row": 2, "column": 4}, None, Span(1, 3, 1, 3)),  # no end: a point
        (None, None, Span(0, 0, 0, 0)),
        ({"row": 0, "column": 0}, {"row": 0, "column": 0}, Span(0, 0, 0, 0)),
    ],
)
def test_spans_are_clamped_and_ordered(
    start: dict[str, int] | None, end: dict[str, int] | None, span: Span
) -> None:
    assert parse_record(_record(start, end), LINES).span == span


def test_fix_edits_are_not_clamped_at_eof() -> None:
    record = _record({"row": 1, "column": 1}, {"row": 1, "column": 2})
    record["fix"] = {
        "message": None,
        "applicability": "safe",
        "edits": [
            {
                "content": "",
                "location": {"row": 3, "column": 1},
                "end_location": {"row": 4, "column": 1},
            }
        ],
    }
    finding = parse_record(record, LINES)
    assert finding.fix is not None
    assert finding.fix.message == ""
    assert finding.fix.edits[0].span == Span(2, 0, 3, 0)


def test_a_record_without_a_fix_has_none() -> None:
    assert parse_record(_record({"row": 1, "column": 1}, None), LINES).fix is None


@pytest.mark.parametrize(
    ("code", "severity"),
    [
        (None, Severity.ERROR),
        ("invalid-syntax", Severity.ERROR),
        ("E999", Severity.ERROR),
        ("F821", Severity.ERROR),
        ("F401", Severity.WARNING),
        ("E501", Severity.WARNING),
        ("S101", Severity.WARNING),
    ],
)
def test_default_severity(code: str | None, severity: Severity) -> None:
    assert default_severity(code) is severity


@pytest.mark.parametrize(("code", "unnecessary"), [("F401", True), ("F841", True), ("F821", False)])
def test_unnecessary_tag(code: str, unnecessary: bool) -> None:
    record = {"code": code, "message": "m", "location": {"row": 1, "column": 1}}
    assert parse_record(record, LINES).unnecessary is unnecessary


# The argv we run ruff with.


def test_check_argv_reads_stdin_with_the_path_and_never_fixes() -> None:
    path = Path("/project/pkg/mod.py")
    argv = check_argv(ToolSettings(args=("--select", "E")), path)
    assert argv[: len(ruff_command(ToolSettings()))] == ruff_command(ToolSettings())
    assert argv[-3:] == ["--stdin-filename", str(path), "-"]
    assert "--no-fix" in argv
    assert argv[argv.index("--output-format") + 1] == "json"
    # The user's arguments come before the trailing stdin arguments.
    assert argv.index("--select") < argv.index("--stdin-filename")
    assert argv[argv.index("--select") + 1] == "E"
    assert argv[1] == "check"


def test_check_argv_uses_the_configured_executable() -> None:
    argv = check_argv(ToolSettings(path="/opt/ruff/bin/ruff"), Path("a.py"))
    assert argv[0] == "/opt/ruff/bin/ruff"
    assert argv[1] == "check"


def test_check_argv_runs_the_real_ruff(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["F821"]\n')
    target = tmp_path / "pkg" / "mod.py"
    source = 'é = "😀"; print(zz)\n'
    argv = check_argv(ToolSettings(), target)
    done = subprocess.run(
        argv, input=source.encode(), capture_output=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    [finding] = [parse_record(r, split_lines(source)) for r in json.loads(done.stdout)]
    assert finding.code == "F821"
    assert covered(source, finding.span) == "zz"
    assert finding.fix is None

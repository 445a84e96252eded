"""The output formats of `tapps-lsp check` and its progress display, on made-up reports."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
from hypothesis import given
from hypothesis import strategies as st

from tapps_lsp.analyzers.batch import BatchFile, BatchProgress, BatchSummary
from tapps_lsp.analyzers.findings import (
    FileReport,
    Finding,
    ScoreBreakdown,
    Severity,
    Source,
    Span,
    ToolFailure,
    ToolResult,
)
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.server.cli.check import exit_code
from tapps_lsp.server.cli.check_progress import ProgressBar, StageClock, bar_line, stats_text
from tapps_lsp.server.cli.formats import RENDERERS, CheckRun, html, markdown, sarif, text
from tapps_lsp.server.cli.formats.common import histogram, worst_first

CWD = Path("/work/project")
SCHEMA = Path(__file__).resolve().parent.parent / "fixtures" / "sarif-schema-2.1.0.json"


def finding(
    source: Source,
    code: str,
    message: str,
    span: Span,
    severity: Severity = Severity.ERROR,
) -> Finding:
    url = f"https://docs.example.org/{code}"
    return Finding(source, code, message, severity, span, url=url)


def report(
    path: Path,
    total: int | None,
    *findings: Finding,
    failure: ToolFailure | None = None,
) -> FileReport:
    score = ScoreBreakdown(total, total, total, total, total, 10, 1, reason="syntax error")
    ruff = ToolResult(Source.RUFF, tuple(f for f in findings if f.source is Source.RUFF))
    mypy = ToolResult(
        Source.MYPY,
        tuple(f for f in findings if f.source is Source.MYPY),
        failure=failure,
        version="1.20.0 (compiled: yes)",
    )
    return FileReport(str(path), "hash", ruff, mypy, score, complete=True)


def made_up_run() -> CheckRun:
    text_a = 'x = "😀"; y: int = "<b>"\n'
    a = CWD / "pkg" / "a.py"
    b = CWD / "pkg" / "b.py"
    c = CWD / "pkg" / "c.py"
    outside = Path("/elsewhere/d.py")
    files = [
        BatchFile(
            a,
            report(
                a,
                55,
                finding(
                    Source.RUFF, "E702", "Multiple | statements", Span(0, 7, 0, 8), Severity.WARNING
                ),
                finding(
                    Source.MYPY, "assignment", 'Bad type "<b>" & co\n  note', Span(0, 18, 0, 23)
                ),
            ),
            text=text_a,
        ),
        BatchFile(b, report(b, 100), text="\n"),
        BatchFile(
            c,
            None,
            "not reviewed: the file is 18 bytes, over the 10 bytes limit (setting maxFileSize)",
        ),
        BatchFile(outside, report(outside, None), text=""),
    ]
    summary = BatchSummary()
    for item in files:
        summary.add(item, hit=False)
    summary.duration_ms = 1234.0
    return CheckRun(files, summary, CWD, {a: 70, b: 70, outside: 70})


def test_sarif_regions_are_utf16_and_one_based() -> None:
    lines = split_lines('x = "😀"; y: int = "<b>"\n')
    # The string `"<b>"` starts at code point 18; the emoji before it takes 2 units.
    assert sarif.region(Span(0, 18, 0, 23), lines) == {
        "startLine": 1,
        "startColumn": 20,
        "endLine": 1,
        "endColumn": 25,
    }
    assert sarif.utf16_column(lines, 0, 5) == 5 and sarif.utf16_column(lines, 0, 6) == 7
    # Past the end of a line or of the file, each column counts one.
    assert sarif.utf16_column(lines, 0, 40) == 41 and sarif.utf16_column(lines, 9, 3) == 3


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_utf16_columns_match_the_codec(line: str) -> None:
    lines = [line]
    for column in range(len(line) + 1):
        expected = len(line[:column].encode("utf-16-le")) // 2
        assert sarif.utf16_column(lines, 0, column) == expected


def test_the_sarif_log_validates_and_keeps_paths_relative() -> None:
    log = sarif.sarif_log(made_up_run())
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    ruff, mypy, tapps = log["runs"]
    assert mypy["tool"]["driver"]["version"] == "1.20.0"
    [result] = mypy["results"]
    assert result["level"] == "error" and result["message"]["text"].startswith('Bad type "<b>"')
    where = result["locations"][0]["physicalLocation"]
    assert where["artifactLocation"] == {"uri": "pkg/a.py", "uriBaseId": "%SRCROOT%"}
    assert ruff["results"][0]["level"] == "warning"
    assert ruff["tool"]["driver"]["rules"][0]["helpUri"] == "https://docs.example.org/E702"
    [low] = tapps["results"]
    assert low["properties"] == {"score": 55, "threshold": 70}
    assert mypy["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///work/project/"


def test_a_failed_tool_is_an_unsuccessful_invocation() -> None:
    path = CWD / "a.py"
    failure = ToolFailure(Source.MYPY, "missing", "mypy: executable not found: /no/mypy")
    item = BatchFile(path, report(path, 100, failure=failure), text="")
    log = sarif.sarif_log(CheckRun([item], BatchSummary(), CWD))
    mypy = log["runs"][1]
    [invocation] = mypy["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"].startswith("mypy:")
    assert exit_code([item], Severity.ERROR) == 2
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))


def test_worst_first_puts_unscored_first_and_skipped_last() -> None:
    run = made_up_run()
    order = [run.shown(item.path) for item in worst_first(run)]
    assert order == ["/elsewhere/d.py", "pkg/a.py", "pkg/b.py", "pkg/c.py"]
    assert histogram(run) == [0, 0, 0, 0, 0, 1, 0, 0, 0, 1]


def test_markdown_escapes_table_cells() -> None:
    assert markdown.inline("`a|b` and <i>x</i> | *y*") == (
        "`a\\|b` and \\<i\\>x\\</i\\> \\| \\*y\\*"
    )
    page = markdown.render(made_up_run())
    assert "Multiple \\| statements" in page
    assert 'Bad type "\\<b\\>" \\& co note' in page
    assert "| `pkg/c.py` | &ndash; | &ndash; | &ndash; | not reviewed: the file is 18 bytes" in page
    assert "| `pkg/a.py` | 55 | 1 | 1 | below 70 |" in page


def test_html_escapes_everything_from_files_and_tools() -> None:
    page = html.render(made_up_run())
    assert '"<b>"' not in page
    assert "Bad type &quot;&lt;b&gt;&quot; &amp; co<br>  note" in page
    assert "class='low' style='width:55%'" in page
    assert "<script" not in page


def test_every_renderer_and_the_text_format() -> None:
    run = made_up_run()
    for render in RENDERERS.values():
        assert render(run).endswith("\n")
    a, _b, c, _d = run.files
    assert text.file_line(a, "pkg/a.py", 10) == "pkg/a.py     55  1 errors/1 warnings\n"
    assert text.file_line(c, "pkg/c.py", 8).startswith("pkg/c.py  -  not reviewed: the file is 18")
    details = text.details(run).splitlines()
    assert details[0] == "pkg/a.py:1:8: E702 Multiple | statements [ruff]"
    assert details[-1] == "/elsewhere/d.py: No quality score: syntax error"
    assert text.summary_line(run.summary) == (
        "4 files (1 skipped), 2 findings (1 errors, 1 warnings), mean score 77.5, 1.23 s\n"
    )
    document = json.loads(RENDERERS["json"](run))
    assert [entry["path"] for entry in document["files"]][2:] == ["pkg/c.py", "/elsewhere/d.py"]
    assert document["summary"]["files"] == 4


def progress(
    done: int, total: int = 4, stage: str = "files", elapsed: float = 1.0
) -> BatchProgress:
    eta = None if done == 0 else 3.6 * (total - done) / done
    return BatchProgress(done, total, stage, None, elapsed, eta, done / total)


def test_the_bar_is_redrawn_at_most_ten_times_a_second_and_always_at_the_end() -> None:
    now = [0.0]
    stream = io.StringIO()
    bar = ProgressBar(stream, clock=lambda: now[0])
    bar.update(progress(0))
    bar.update(progress(1))  # too soon: skipped
    now[0] = 0.15
    bar.update(progress(2))
    bar.update(progress(4))  # too soon, but the last frame is always drawn
    frames = stream.getvalue().split("\r")[1:]
    assert [frame.split()[1] for frame in frames] == ["0/4", "2/4", "4/4"]
    assert frames[1] == "[##########..........] 2/4 · files · ~4 s left\x1b[K"
    bar.clear()
    assert stream.getvalue().endswith("\r\x1b[K")
    assert bar_line(progress(1, 100)).endswith("~5 min 56 s left")


def test_stage_times_add_up_per_stage() -> None:
    clock = StageClock()
    for stage, at in [("reading", 0.0), ("ruff", 0.5), ("mypy on a", 1.0), ("ruff", 3.0)]:
        clock.update(progress(0, stage=stage, elapsed=at))
        clock.update(progress(0, stage=stage, elapsed=at + 0.1))
    assert clock.durations(4.0) == {"reading": 0.5, "ruff": 1.5, "mypy on a": 2.0}
    summary = BatchSummary(files=3, reviewed=3, cache_hits=1, cache_misses=2, duration_ms=4000)
    shown = stats_text(summary, clock.durations(4.0))
    assert "cache     1 hits, 2 misses, hit rate 33%" in shown
    assert "stages     0.50 s  reading" in shown

"""MypyColumnMapper: hand-made positions, then the real mypy on generated files.

Expected spans are written into the case sources between ⟦ and ⟧ and measured in
code points from the line text, so they never depend on the code under test.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapps_lsp.analyzers.findings import Span
from tapps_lsp.analyzers.mypy.columns import MypyColumnMapper

# --- hand-made positions -------------------------------------------------------------


def test_ascii_columns_are_code_points() -> None:
    mapper = MypyColumnMapper('x: int = "a"\n')
    assert mapper.span(1, 9, 1, 12) == Span(0, 9, 0, 12)


def test_columns_past_the_line_end_are_clamped() -> None:
    mapper = MypyColumnMapper("x = 1\ny = 2\n")
    assert mapper.span(1, 40, 1, 90) == Span(0, 5, 0, 5)
    assert mapper.span(1, 2, 2, 90) == Span(0, 2, 1, 5)


def test_end_before_start_is_moved_to_the_start() -> None:
    mapper = MypyColumnMapper("abcdef\nxyz\n")
    assert mapper.span(1, 4, 1, 2) == Span(0, 4, 0, 4)
    # Like mypy, an end line before the start line becomes the start line.
    assert mapper.span(2, 1, 1, 5) == Span(1, 1, 1, 3)
    assert mapper.span(2, 2, 1, 1) == Span(1, 2, 1, 2)


def test_line_past_the_end_points_at_the_end_of_the_text() -> None:
    # mypy reported "Unexpected EOF while parsing" at line 4 of a 3-line file.
    mapper = MypyColumnMapper("a = 1\nb = 2\nc = (", native_parser=True)
    assert mapper.span(4, 1, 4, 2, code="syntax") == Span(2, 5, 2, 5)
    assert mapper.span(99, 0, None, None) == Span(2, 5, 2, 5)


def test_line_zero_or_negative_is_the_first_line() -> None:
    mapper = MypyColumnMapper("a = 1\n")
    assert mapper.span(0, 2, 0, 3) == Span(0, 2, 0, 3)
    assert mapper.span(-5, 0, None, None) == Span(0, 0, 0, 1)


def test_eof_error_on_the_empty_last_line() -> None:
    mapper = MypyColumnMapper("x = (1,\n")
    assert mapper.span(2, 1, 2, 2, code="syntax") == Span(1, 0, 1, 0)


def test_missing_end_covers_one_code_point() -> None:
    assert MypyColumnMapper("abc = 1\n").span(1, 0, None, None) == Span(0, 0, 0, 1)
    assert MypyColumnMapper("abc = 1\n").span(1, 6, 1, -1) == Span(0, 6, 0, 7)
    assert MypyColumnMapper("abc = 1").span(1, 7, None, None) == Span(0, 7, 0, 7)
    legacy = MypyColumnMapper('s = "é"; t\n', native_parser=False)
    assert legacy.span(1, 10, None, None) == Span(0, 9, 0, 10)


def test_missing_column_covers_the_line_text() -> None:
    mapper = MypyColumnMapper("    import os  # type: ignore  \n")
    # mypy's "unused type: ignore" has column -1 and end column -1.
    assert mapper.span(1, -1, 1, -1) == Span(0, 4, 0, 29)
    assert mapper.span(1, -1, 1, 0) == Span(0, 4, 0, 29)
    assert MypyColumnMapper("é = 1  # type: ignore\n").span(1, -1, 1, -1) == Span(0, 0, 0, 21)


# The lead's measurements: the string literal `"{p}x"` in `v = "{p}"; w: int = "{p}x"`.
@pytest.mark.parametrize(
    ("payload", "reported"),
    [("é", (17, 20)), ("日本", (15, 19)), ("😀", (15, 18)), ("😀😀", (13, 18)), ("a😀b", (17, 21))],
)
def test_native_columns_measured_on_a_string_literal(
    payload: str, reported: tuple[int, int]
) -> None:
    line = f'v = "{payload}"; w: int = "{payload}x"'
    start = line.rindex(f'"{payload}x"')
    mapper = MypyColumnMapper(line + "\n")
    assert mapper.span(1, reported[0], 1, reported[1]) == Span(0, start, 0, len(line))


def test_legacy_columns_are_utf8_bytes() -> None:
    line = 'v = "é"; w: int = "éx"'
    mapper = MypyColumnMapper(line + "\n", native_parser=False)
    assert mapper.span(1, 19, 1, 24) == Span(0, 18, 0, 22)
    # A byte offset inside a character widens to the whole character.
    assert mapper.span(1, 5, 1, 6) == Span(0, 5, 0, 6)


def test_native_column_minus_one_is_code_point_zero_of_a_non_ascii_line() -> None:
    mapper = MypyColumnMapper("class Ä: ...\nÄ().zzz\n")
    assert mapper.span(2, -1, 2, 6) == Span(1, 0, 1, 7)


def test_parse_errors_have_one_based_columns() -> None:
    source = 's = "é"; t = 日 $ 3\n'
    for native in (True, False):
        mapper = MypyColumnMapper(source, native_parser=native)
        assert mapper.span(1, 16, 1, 17, code="syntax") == Span(0, 15, 0, 16)
    # Without the code the same numbers are a node position.
    assert MypyColumnMapper(source).span(1, 16, 1, 17) != Span(0, 15, 0, 16)


def test_syntax_errors_found_after_parsing_point_at_nodes() -> None:
    # "Duplicate parameter" comes from the native parser's tree, not from its parse.
    mapper = MypyColumnMapper("def f(x, é, é): pass\n")
    assert mapper.span(1, 11, 1, 12, code="syntax") == Span(0, 12, 0, 13)


def test_windows_and_old_mac_line_breaks() -> None:
    mapper = MypyColumnMapper('x: int = "é"\r\ny: int = "日"\rz = 1\n')
    assert mapper.span(1, 9, 1, 11) == Span(0, 9, 0, 12)
    assert mapper.span(2, 9, 2, 10) == Span(1, 9, 1, 12)
    assert mapper.span(3, 0, 3, 1) == Span(2, 0, 2, 1)


def test_source_python_cannot_parse_still_maps() -> None:
    line = 'x = "日本" + (1, '
    mapper = MypyColumnMapper(line + "\n")
    span = mapper.span(1, 8, 1, 10)
    assert span.start_line == span.end_line == 0
    assert 0 <= span.start_col <= span.end_col <= len(line)


_TEXT = st.text(
    alphabet=st.sampled_from([*"ab =()\"'#:.\t\r\n", "é", "日", "😀", "\ufeff"]),
    max_size=40,
)
_NUMBER = st.integers(min_value=-3, max_value=60)


@settings(max_examples=300, deadline=None)
@given(
    source=_TEXT,
    native=st.booleans(),
    line=_NUMBER,
    column=_NUMBER,
    end_line=st.none() | _NUMBER,
    end_column=st.none() | _NUMBER,
    code=st.sampled_from([None, "syntax", "name-defined"]),
)
def test_any_input_gives_a_span_inside_the_document(
    source: str,
    native: bool,
    line: int,
    column: int,
    end_line: int | None,
    end_column: int | None,
    code: str | None,
) -> None:
    span = MypyColumnMapper(source, native_parser=native).span(
        line, column, end_line, end_column, code=code
    )
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert 0 <= span.start_line <= span.end_line < len(lines)
    assert 0 <= span.start_col <= len(lines[span.start_line])
    assert 0 <= span.end_col <= len(lines[span.end_line])
    if span.start_line == span.end_line:
        assert span.start_col <= span.end_col


# --- the real mypy -------------------------------------------------------------------

PAYLOADS = ["é", "日本", "😀", "😀😀", "a😀b", "ñé日😀"]
IDENTIFIERS = ["é", "日本", "ñandú", "Ωmega", "x日y", "ß"]


@dataclass(frozen=True)
class Case:
    """A source template: {p} is text, {i} an identifier, ⟦ ⟧ the node mypy blames."""

    name: str
    template: str
    code: str
    legacy_template: str | None = None  # when --no-native-parser blames another node


CASES = [
    Case("assignment", 'v = "{p}"; w: int = ⟦"{p}x"⟧', "assignment"),
    Case("annotated_target", '{i}: int = ⟦"{p}"⟧', "assignment"),
    Case("tab_indented", 'def f() -> None:\n\tx: int = ⟦"{p}"⟧', "assignment"),
    Case("text_after_node", 'y: int = ⟦"a"⟧  # {p}', "assignment"),
    Case("conditional", 'x: int = ⟦1 if "{p}" else "{p}"⟧', "assignment"),
    Case("whole_fstring", 'x: int = ⟦f"{p}{{1}}{p}"⟧', "assignment"),
    Case(
        "fstring_inner_name",
        'x = f"{p}{{⟦missing_{i}⟧}}{p}"',
        "name-defined",
        # The legacy parser's name starts where its f-string starts.
        legacy_template='x = ⟦f"{p}{{missing_{i}⟧}}{p}"',
    ),
    Case("argument", 'def f(a: int) -> None: ...\nf(⟦"{p}"⟧)', "arg-type"),
    Case("keyword_argument", 'def f(a: int, b: int) -> None: ...\nf(1, b=⟦"{p}"⟧)', "arg-type"),
    Case(
        "argument_after_text",
        'def f(a: int, b: int) -> None: ...\ns = "{p}"; f(1, ⟦s⟧)',
        "arg-type",
    ),
    Case(
        "starred_argument",
        'def k(*a: int) -> None: ...\nk("{p}", *[1], *⟦{i}_missing⟧)',
        "name-defined",
    ),
    Case("multiline_call", 'def f(a: int) -> None: ...\nf(\n    ⟦"{p}"⟧,\n)', "arg-type"),
    Case(
        "multiline_call_with_comment",
        'def f(a: int) -> None: ...\nf(  # {p}\n    ⟦"{p}"⟧)',
        "arg-type",
    ),
    Case("multiline_node", 'x: int = (\n    ⟦"{p}"\n    "b"⟧\n)', "assignment"),
    Case("return_literal", 'def g() -> int:\n    return ⟦"{p}"⟧', "return-value"),
    Case("return_after_text", 'def g() -> int:\n    s = "{p}"; return ⟦s⟧', "return-value"),
    Case("return_parameter", "def h({i}: int) -> str:\n    return ⟦{i}⟧", "return-value"),
    Case("attribute_after_text", 'class C: ...\nx = "{p}"; ⟦C().attr⟧', "attr-defined"),
    Case("non_ascii_attribute", "class C: ...\nx = 1; ⟦C().{i}⟧", "attr-defined"),
    Case("attribute_of_literal", 'x = ⟦"{p}".nope⟧', "attr-defined"),
    Case("line_starts_with_identifier", "{i} = 1\n⟦{i}.foo⟧", "attr-defined"),
    Case("undefined_name", 'print("{p}", ⟦{i}_missing⟧)', "name-defined"),
    Case("call", "def {i}() -> None: ...\n⟦{i}(1)⟧", "call-arg"),
    Case("right_operand", 's = "{p}"; t = s + ⟦1⟧', "operator"),
    Case("unary_operator", 'x = ⟦-"{p}"⟧', "operator"),
    Case("comprehension", 'x = ["{p}" + ⟦1⟧ for _ in "{p}"]', "operator"),
    Case("list_item", 'l: list[int] = [1, ⟦"{p}"⟧]', "list-item"),
    Case("dict_entry", 'd: dict[str, int] = {{⟦"{p}": "{p}"⟧}}', "dict-item"),
    Case("index", 'z = "{p}"[⟦None⟧]', "index"),
    Case("slice", 'x = "{p}"[⟦1:"{p}"⟧]', "index"),
    Case("statement", 'x = "{p}"; ⟦return 1⟧', "misc"),
    Case("windows_line_breaks", 'x = "{p}"\r\ny: int = ⟦x⟧\r\nz = 1', "assignment"),
]


def _expand(template: str, payload: str, identifier: str) -> str:
    text = template.replace("{p}", payload).replace("{i}", identifier)
    return text.replace("{{", "{").replace("}}", "}")


def _without_markers(text: str) -> tuple[str, Span]:
    """The source, and the span between ⟦ and ⟧ in code points."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = end = (0, 0)
    for index in range(len(lines)):
        if "⟦" in lines[index]:
            start = (index, lines[index].index("⟦"))
            lines[index] = lines[index].replace("⟦", "", 1)
        if "⟧" in lines[index]:
            end = (index, lines[index].index("⟧"))
            lines[index] = lines[index].replace("⟧", "", 1)
    newline = "\r\n" if "\r\n" in text else "\n"
    return newline.join(lines) + newline, Span(start[0], start[1], end[0], end[1])


def _ascii_twin(source: str) -> str:
    """The same source with one ASCII letter per non-ASCII code point."""
    return "".join(char if char.isascii() else "q" for char in source)


@dataclass(frozen=True)
class Generated:
    case: Case
    payload: str
    source: str
    expected: Span
    legacy_expected: Span


def _generated() -> dict[str, Generated]:
    files: dict[str, Generated] = {}
    identifiers = itertools.cycle(IDENTIFIERS)
    for case in CASES:
        for number, payload in enumerate(PAYLOADS):
            identifier = next(identifiers)
            source, expected = _without_markers(_expand(case.template, payload, identifier))
            legacy_expected = expected
            if case.legacy_template is not None:
                legacy_text = _expand(case.legacy_template, payload, identifier)
                legacy_expected = _without_markers(legacy_text)[1]
            files[f"{case.name}_{number}.py"] = Generated(
                case, payload, source, expected, legacy_expected
            )
    return files


GENERATED = _generated()
MypyErrors = dict[str, list[dict[str, object]]]


def _run_mypy(folder: Path, cache: Path, *, native: bool) -> MypyErrors:
    command = [sys.executable, "-m", "mypy", "-O", "json", "--no-error-summary"]
    command += ["--config-file", "", "--python-version", "3.11", "--cache-dir", str(cache)]
    if not native:
        command.append("--no-native-parser")
    names = sorted(path.name for path in folder.glob("*.py"))
    result = subprocess.run(
        [*command, *names], check=False, cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert result.returncode in (0, 1), result.stderr
    errors: MypyErrors = {}
    for line in result.stdout.splitlines():
        error = json.loads(line)
        errors.setdefault(error["file"], []).append(error)
    return errors


@pytest.fixture(scope="module")
def mypy_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, MypyErrors]:
    """One mypy run per parser over every case and its ASCII twin."""
    folder = tmp_path_factory.mktemp("mypy_columns")
    for name, generated in GENERATED.items():
        (folder / name).write_text(generated.source, encoding="utf-8", newline="")
        twin = _ascii_twin(generated.source)
        (folder / f"twin_{name}").write_text(twin, encoding="utf-8", newline="")
    return {
        native: _run_mypy(folder, tmp_path_factory.mktemp("cache"), native=native)
        for native in (True, False)
    }


def _mapped(error: dict[str, object], mapper: MypyColumnMapper) -> Span:
    line, column = error["line"], error["column"]
    end_line, end_column, code = error["end_line"], error["end_column"], error["code"]
    assert isinstance(line, int) and isinstance(column, int)
    assert isinstance(end_line, int) and isinstance(end_column, int)
    assert code is None or isinstance(code, str)
    return mapper.span(line, column, end_line, end_column, code=code)


@pytest.mark.parametrize("native", [True, False], ids=["native", "legacy"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_mypy_error_maps_to_the_marked_node(
    case: Case, native: bool, mypy_runs: dict[bool, MypyErrors]
) -> None:
    failures = []
    for name, generated in GENERATED.items():
        if generated.case != case:
            continue
        errors = [e for e in mypy_runs[native].get(name, []) if e["code"] == case.code]
        assert errors, f"mypy reported no {case.code} error for {generated.source!r}"
        mapper = MypyColumnMapper(generated.source, native_parser=native)
        span = _mapped(errors[0], mapper)
        expected = generated.expected if native else generated.legacy_expected
        if span != expected:
            failures.append((generated.source, errors[0], span, expected))
    assert not failures


@pytest.mark.parametrize("native", [True, False], ids=["native", "legacy"])
def test_every_mypy_error_maps_like_its_ascii_twin(
    native: bool, mypy_runs: dict[bool, MypyErrors]
) -> None:
    """On the twin mypy's columns are code points, so they are the truth for both."""
    compared = 0
    failures = []
    for name, generated in GENERATED.items():
        errors = mypy_runs[native].get(name, [])
        twin_errors = mypy_runs[native].get(f"twin_{name}", [])
        assert len(errors) == len(twin_errors), name
        mapper = MypyColumnMapper(generated.source, native_parser=native)
        for error, twin_error in zip(errors, twin_errors, strict=True):
            line, column = twin_error["line"], twin_error["column"]
            end_line, end_column = twin_error["end_line"], twin_error["end_column"]
            assert isinstance(line, int) and isinstance(column, int)
            assert isinstance(end_line, int) and isinstance(end_column, int)
            truth = Span(line - 1, column, end_line - 1, end_column)
            span = _mapped(error, mapper)
            compared += 1
            if span != truth:
                failures.append((generated.source, error, span, truth))
    assert compared >= len(GENERATED)
    assert not failures

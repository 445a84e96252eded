from __future__ import annotations

import dataclasses
import string
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapps_lsp.analyzers.code_metrics.measure import CodeMetrics, FunctionMetrics, measure
from tapps_lsp.analyzers.findings import Finding, ScoreBreakdown, Severity, Source, Span
from tapps_lsp.analyzers.score import (
    COMPLEXITY_WEIGHT,
    FORMULA_VERSION,
    LINT_WEIGHT,
    SECURITY_WEIGHT,
    TYPES_WEIGHT,
    compute_score,
    format_score,
    rule_family,
)

SUB_SCORES = ("types", "lint", "complexity", "security")


def finding(
    source: Source = Source.RUFF,
    code: str | None = "E501",
    severity: Severity = Severity.WARNING,
) -> Finding:
    return Finding(source, code, "message", severity, Span.point(0))


def metrics_of(lines: int, *complexities: int) -> CodeMetrics:
    functions = tuple(FunctionMetrics(f"f{i}", i, c, 1) for i, c in enumerate(complexities))
    return CodeMetrics(logical_lines=lines, functions=functions)


def scores(breakdown: ScoreBreakdown) -> dict[str, int | None]:
    return {name: getattr(breakdown, name) for name in ("total", *SUB_SCORES)}


CODES = [None, "E501", "F821", "F401", "S307", "S603", "SIM108", "PLR0912", "PLR0915"]
CODES += ["PLR1702", "C901", "UP006", "arg-type", "name-defined"]

findings_st = st.builds(
    Finding,
    source=st.sampled_from(Source),
    code=st.sampled_from(CODES),
    message=st.just("m"),
    severity=st.sampled_from(Severity),
    span=st.just(Span.point(0)),
    stale=st.booleans(),
)
finding_lists = st.lists(findings_st, max_size=30)
metrics_st = st.builds(
    CodeMetrics,
    logical_lines=st.integers(0, 3000),
    functions=st.lists(
        st.builds(
            FunctionMetrics,
            name=st.just("f"),
            line=st.integers(0, 100),
            complexity=st.integers(1, 40),
            logical_lines=st.integers(0, 100),
        ),
        max_size=8,
    ).map(tuple),
)


# --- properties ------------------------------------------------------------------


@given(metrics_st, finding_lists)
def test_score_is_deterministic_and_ignores_finding_order(
    metrics: CodeMetrics, findings: list[Finding]
) -> None:
    first = compute_score(metrics, findings)

    assert compute_score(metrics, list(findings)) == first
    assert compute_score(metrics, findings[::-1]) == first


@given(metrics_st, finding_lists)
def test_scores_stay_in_range_and_total_lies_between_the_sub_scores(
    metrics: CodeMetrics, findings: list[Finding]
) -> None:
    breakdown = compute_score(metrics, findings)
    subs = [getattr(breakdown, name) for name in SUB_SCORES]

    assert all(isinstance(s, int) and 0 <= s <= 100 for s in subs)
    assert breakdown.total is not None
    assert min(subs) <= breakdown.total <= max(subs)
    assert breakdown.formula_version == FORMULA_VERSION
    assert breakdown.logical_lines == metrics.logical_lines
    assert breakdown.reason is None


@given(metrics_st, finding_lists, findings_st)
def test_adding_a_finding_never_raises_any_score(
    metrics: CodeMetrics, findings: list[Finding], extra: Finding
) -> None:
    before = scores(compute_score(metrics, findings))
    after = scores(compute_score(metrics, [*findings, extra]))

    for name, value in after.items():
        previous = before[name]
        assert value is not None
        assert previous is not None
        assert value <= previous, name


@given(finding_lists)
def test_empty_file_without_counted_findings_scores_100(findings: list[Finding]) -> None:
    tapps_only = [dataclasses.replace(f, source=Source.TAPPS) for f in findings]

    breakdown = compute_score(measure(""), tapps_only)

    assert scores(breakdown) == dict.fromkeys(("total", *SUB_SCORES), 100)
    assert format_score(breakdown).startswith("Quality 100/100")


@given(metrics_st, finding_lists, st.text(max_size=40))
def test_a_syntax_error_gives_no_score_and_says_why(
    metrics: CodeMetrics, findings: list[Finding], detail: str
) -> None:
    breakdown = compute_score(metrics, findings, syntax_error=detail)

    assert scores(breakdown) == dict.fromkeys(("total", *SUB_SCORES))
    assert breakdown.reason is not None
    assert "syntax error" in breakdown.reason
    assert detail in breakdown.reason
    assert format_score(breakdown).startswith("No quality score: the file has a syntax error")


# --- whitespace and comment edits ----------------------------------------------

Lines = list[tuple[int, str]]  # (indent level, text)

SIMPLE_STATEMENTS = [
    "x = 1",
    "y = x + 2; z = y",
    "print(x, 'a # not a comment')",
    "assert x, 'msg'",
    "pass",
    "ys = [i for i in range(3) if i if i > 1]",
    "w = a and b or not c",
    "v = 1 if x else 2",
    '"""A string statement."""',
]
MULTILINE_STATEMENTS = [
    [(0, "t = ("), (1, "1,"), (1, "2,"), (0, ")")],
    [(0, "call("), (1, "a=1,"), (1, "b=[x for x in y if x],"), (0, ")")],
]


def indented(block: Lines, by: int = 1) -> Lines:
    return [(level + by, text) for level, text in block]


def compound(header: str, body: Lines, *clauses: tuple[str, Lines]) -> Lines:
    lines = [(0, header), *indented(body)]
    for clause, clause_body in clauses:
        lines += [(0, clause), *indented(clause_body)]
    return lines


def compound_statements(block: st.SearchStrategy[Lines]) -> st.SearchStrategy[Lines]:
    return st.one_of(
        st.builds(lambda b: compound("if x:", b), block),
        st.builds(lambda b, e: compound("if x:", b, ("elif y:", e)), block, block),
        st.builds(lambda b, e: compound("for i in x:", b, ("else:", e)), block, block),
        st.builds(lambda b: compound("while x:", b), block),
        st.builds(lambda b: compound("with a as b, c:", b), block),
        st.builds(
            lambda b, h, f: compound("try:", b, ("except ValueError:", h), ("finally:", f)),
            block,
            block,
            block,
        ),
        st.builds(lambda b: compound("def f(a, *b, **c):", [(0, '"""Doc."""'), *b]), block),
        st.builds(lambda b: compound("async def g():", b), block),
        st.builds(lambda b: compound("class C(Base):", b), block),
        st.builds(
            lambda b, c: compound(
                "match x:", [(0, "case 1:"), *indented(b), (0, "case _:"), *indented(c)]
            ),
            block,
            block,
        ),
    )


def concatenated(statements: list[Lines]) -> Lines:
    return [line for statement in statements for line in statement]


leaf_statements = st.one_of(
    st.sampled_from(SIMPLE_STATEMENTS).map(lambda text: [(0, text)]),
    st.sampled_from(MULTILINE_STATEMENTS),
)
statements = st.recursive(
    leaf_statements,
    lambda inner: compound_statements(st.lists(inner, min_size=1, max_size=3).map(concatenated)),
    max_leaves=8,
)
modules = st.lists(statements, min_size=1, max_size=4).map(concatenated)

comment_text = st.text(alphabet=string.ascii_letters + string.digits + " ", max_size=12)
indentation = st.text(alphabet=" \t", max_size=6)
inserted_lines = st.one_of(
    indentation,
    st.builds(lambda pad, text: f"{pad}# {text}", indentation, comment_text),
)
line_endings = st.one_of(
    st.sampled_from(["", " ", "\t", "   "]),
    st.builds(lambda text: f"  # {text}", comment_text),
)


def render(lines: Lines) -> str:
    return "".join(f"{'    ' * level}{text}\n" for level, text in lines)


@st.composite
def edited_renderings(draw: st.DrawFn, lines: Lines) -> str:
    """The same program with blank lines, comments and trailing whitespace added."""
    gaps = len(lines) + 1
    insertions = draw(st.lists(st.lists(inserted_lines, max_size=2), min_size=gaps, max_size=gaps))
    endings = draw(st.lists(line_endings, min_size=len(lines), max_size=len(lines)))
    insertions[draw(st.integers(0, len(lines)))].append("# an edit that is only a comment")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    out = list(insertions[0])
    for (level, text), ending, inserted in zip(lines, endings, insertions[1:], strict=True):
        out.append(f"{'    ' * level}{text}{ending}")
        out.extend(inserted)
    return newline.join(out) + newline


def shape(metrics: CodeMetrics) -> tuple[int, list[tuple[str, int, int]]]:
    """Everything a whitespace edit must not change (function lines may move)."""
    functions = [(f.name, f.complexity, f.logical_lines) for f in metrics.functions]
    return metrics.logical_lines, functions


# Each example draws a whole program and its edits; 50 keep the suite fast.
@settings(max_examples=50)
@given(modules, st.data(), finding_lists)
def test_whitespace_and_comment_edits_leave_metrics_and_score_unchanged(
    lines: Lines, data: st.DataObject, findings: list[Finding]
) -> None:
    original = render(lines)
    edited = data.draw(edited_renderings(lines))
    before, after = measure(original), measure(edited)

    assert edited != original
    assert shape(after) == shape(before)
    assert compute_score(after, findings) == compute_score(before, findings)


# --- examples --------------------------------------------------------------------


def test_worked_example_from_the_docs() -> None:
    findings = [
        *[finding(Source.MYPY, "arg-type", Severity.ERROR) for _ in range(3)],
        finding(Source.MYPY, None, Severity.INFORMATION),
        finding(Source.RUFF, "F821", Severity.ERROR),
        *[finding(Source.RUFF, code) for code in ("E501", "SIM108", "F401", "UP006")],
        finding(Source.RUFF, "S307"),
        finding(Source.RUFF, "PLR0915"),
        finding(Source.RUFF, "C901"),
        finding(Source.TAPPS, "TAPPS001"),
    ]

    breakdown = compute_score(metrics_of(80, 4, 13), findings)

    assert breakdown == ScoreBreakdown(
        total=84,
        types=81,
        lint=88,
        complexity=80,
        security=93,
        logical_lines=80,
        formula_version=FORMULA_VERSION,
    )
    assert format_score(breakdown) == (
        "Quality 84/100 · types 81 · lint 88 · complexity 80 · security 93"
    )


def test_clean_file_scores_100() -> None:
    breakdown = compute_score(metrics_of(400, 10, 3, 1), [])

    assert scores(breakdown) == dict.fromkeys(("total", *SUB_SCORES), 100)


def test_mypy_errors_count_for_types_but_notes_do_not() -> None:
    note = finding(Source.MYPY, None, Severity.INFORMATION)
    error = finding(Source.MYPY, "arg-type", Severity.ERROR)

    assert compute_score(metrics_of(100), [note]).types == 100
    assert compute_score(metrics_of(100), [error]).types == 95
    assert compute_score(metrics_of(100), [error, error]).types == 90


def test_stale_findings_count_like_fresh_ones() -> None:
    fresh = finding(Source.MYPY, "arg-type", Severity.ERROR)
    stale = dataclasses.replace(fresh, stale=True)

    assert compute_score(metrics_of(50), [stale]) == compute_score(metrics_of(50), [fresh])


def test_sim_rules_are_lint_and_s_rules_are_security() -> None:
    simplify = compute_score(metrics_of(100), [finding(code="SIM108")])
    bandit = compute_score(metrics_of(100), [finding(code="S307")])

    assert (simplify.lint, simplify.security) == (99, 100)
    assert (bandit.lint, bandit.security) == (100, 95)


def test_a_ruff_error_weighs_five_warnings() -> None:
    error = compute_score(metrics_of(100), [finding(code="F821", severity=Severity.ERROR)])
    warnings = compute_score(metrics_of(100), [finding(code="E501")] * 5)

    assert error.lint == warnings.lint == 95


def test_small_files_are_measured_as_if_they_had_the_minimum_size() -> None:
    one_warning = [finding(code="E501")]

    tiny = compute_score(metrics_of(3), one_warning)
    minimum = compute_score(metrics_of(20), one_warning)
    larger = compute_score(metrics_of(40), one_warning)

    assert tiny.lint == minimum.lint == 95
    assert larger.lint == 97


def test_complexity_costs_five_points_per_unit_over_ten() -> None:
    assert compute_score(metrics_of(100, 10, 10), []).complexity == 100
    assert compute_score(metrics_of(100, 13), []).complexity == 85
    assert compute_score(metrics_of(100, 13, 12), []).complexity == 75
    assert compute_score(metrics_of(100, 40), []).complexity == 0


def test_design_findings_count_for_complexity_not_lint() -> None:
    breakdown = compute_score(metrics_of(100), [finding(code="PLR0915"), finding(code="PLR1702")])

    assert (breakdown.complexity, breakdown.lint) == (90, 100)


def test_findings_that_restate_the_measured_complexity_are_ignored() -> None:
    restated = [finding(code="C901"), finding(code="PLR0912")]

    assert compute_score(metrics_of(100, 12), restated) == compute_score(metrics_of(100, 12), [])


def test_long_files_lose_a_complexity_point_per_twenty_lines_over_a_thousand() -> None:
    assert compute_score(metrics_of(1000), []).complexity == 100
    assert compute_score(metrics_of(1019), []).complexity == 99
    assert compute_score(metrics_of(1100), []).complexity == 95


def test_tapps_findings_are_ignored() -> None:
    own = [finding(Source.TAPPS, "TAPPS001", severity) for severity in Severity]

    assert compute_score(metrics_of(30), own) == compute_score(metrics_of(30), [])


def test_scores_round_down_so_100_means_nothing_was_counted() -> None:
    breakdown = compute_score(metrics_of(1000), [finding(code="E501")])

    assert breakdown.lint == 99
    assert breakdown.total == 99


def test_total_is_the_weighted_mean_of_the_sub_scores() -> None:
    breakdown = compute_score(metrics_of(100, 30), [finding(Source.MYPY, "x", Severity.ERROR)])

    assert (breakdown.types, breakdown.complexity) == (95, 0)
    assert breakdown.total == (35 * 95 + 25 * 100 + 20 * 0 + 20 * 100) // 100
    assert TYPES_WEIGHT + LINT_WEIGHT + COMPLEXITY_WEIGHT + SECURITY_WEIGHT == 100


def test_syntax_error_message_names_the_problem() -> None:
    breakdown = compute_score(None, [], syntax_error="line 3: invalid syntax")

    assert breakdown.logical_lines == 0
    assert breakdown.formula_version == FORMULA_VERSION
    assert format_score(breakdown) == (
        "No quality score: the file has a syntax error (line 3: invalid syntax)"
    )


def test_missing_metrics_give_no_score() -> None:
    breakdown = compute_score(None, [finding()])

    assert breakdown.total is None
    assert format_score(breakdown) == "No quality score: the file could not be measured"


def test_score_of_a_real_source() -> None:
    source = textwrap.dedent(
        """
        def decide(a, b, c, d, e, f, g, h, i, j, k):
            if a: return 1
            if b: return 2
            if c: return 3
            if d: return 4
            if e: return 5
            if f: return 6
            if g: return 7
            if h: return 8
            if i: return 9
            if j: return 10
            if k: return 11
            return 0
        """
    )

    breakdown = compute_score(measure(source), [])

    assert breakdown.logical_lines == 24
    assert breakdown.complexity == 90


@pytest.mark.parametrize(
    ("code", "family"),
    [
        ("S307", "S"),
        ("SIM108", "SIM"),
        ("PLR0912", "PLR"),
        ("C901", "C"),
        ("RUF100", "RUF"),
        ("arg-type", ""),
        (None, ""),
        ("", ""),
    ],
)
def test_rule_family(code: str | None, family: str) -> None:
    assert rule_family(code) == family


def test_an_unavailable_tool_gives_no_sub_score_instead_of_a_perfect_one() -> None:
    metrics = measure("def f(x: int) -> int:\n    return x\n")
    lint_warning = Finding(Source.RUFF, "E501", "long", Severity.WARNING, Span(0, 0, 0, 1))
    without_mypy = compute_score(metrics, [lint_warning], unavailable={Source.MYPY})
    assert without_mypy.types is None
    assert without_mypy.lint is not None and without_mypy.lint < 100
    assert without_mypy.total is not None
    lint = without_mypy.lint
    assert without_mypy.total == (25 * lint + 20 * 100 + 20 * 100) // 65
    assert compute_score(metrics, [lint_warning]).types == 100
    assert "types n/a" in format_score(without_mypy)
    without_ruff = compute_score(metrics, [], unavailable={Source.RUFF})
    assert without_ruff.lint is None and without_ruff.security is None
    assert without_ruff.total == 100

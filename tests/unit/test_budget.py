"""analyzers.budget: the estimator, fitting within maxTokens, levels, left-out counts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tapps_lsp.analyzers.budget.estimate import compact, estimate_tokens
from tapps_lsp.analyzers.budget.fit import Narrowing, fit, level

NARROW = Narrowing("fewer 'uris'", "minSeverity", "since")
SEVERITIES = ["error", "warning", "information", "hint"]


def finding(path: str, severity: str, code: str = "E1", line: int = 1) -> dict[str, Any]:
    return {
        "path": path,
        "line": line,
        "column": 1,
        "severity": severity,
        "source": "ruff",
        "code": code,
        "message": "something is not right here",
    }


def build(kept: list[dict[str, Any]]) -> dict[str, Any]:
    return {"summary": {"files": 3}, "findings": kept}


def answer(found: list[dict[str, Any]], max_tokens: int) -> dict[str, Any]:
    return fit(found, max_tokens, build, file_of=lambda f: f["path"], narrowing=NARROW)


def test_the_estimate_is_four_characters_of_compact_json_a_token() -> None:
    value = {"a": [1, 2], "b": "x y"}
    assert compact(value) == '{"a":[1,2],"b":"x y"}'
    assert estimate_tokens(value) == 6  # 21 characters


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (0.5, "green"),
        (0.51, "yellow"),
        (0.75, "yellow"),
        (0.76, "orange"),
        (0.91, "red"),
        (3, "red"),
    ],
)
def test_levels_start_past_half_three_quarters_and_nine_tenths(share: float, expected: str) -> None:
    assert level(round(share * 1000), 1000) == expected


def test_most_severe_first_grouped_by_file_and_rule_and_the_rest_counted() -> None:
    found = [
        finding("b.py", "warning", "W2"),
        finding("a.py", "hint", "H1"),
        finding("b.py", "error", "E2", line=9),
        finding("a.py", "warning", "W1"),
        finding("b.py", "error", "E1", line=5),
        finding("a.py", "error", "E9"),
    ]
    full = answer(found, 100_000)
    assert [(f["severity"], f["path"], f["code"]) for f in full["findings"]] == [
        ("error", "a.py", "E9"),
        ("error", "b.py", "E1"),
        ("error", "b.py", "E2"),
        ("warning", "a.py", "W1"),
        ("warning", "b.py", "W2"),
        ("hint", "a.py", "H1"),
    ]
    assert full["budget"]["level"] == "green" and "hint" not in full["budget"]
    assert full["budget"]["omitted"] == {
        "total": 0,
        "bySeverity": {},
        "byFile": {},
        "otherFiles": 0,
    }

    tight = answer(found, full["budget"]["fullTokens"] - 30)
    kept = tight["findings"]
    omitted = tight["budget"]["omitted"]
    assert 0 < len(kept) < len(found) and tight["budget"]["kept"] == len(kept)
    assert kept == full["findings"][: len(kept)], "the most severe are the ones kept"
    left_out = full["findings"][len(kept) :]
    assert omitted["total"] == len(left_out)
    assert sum(omitted["bySeverity"].values()) == sum(omitted["byFile"].values()) == len(left_out)
    assert tight["budget"]["level"] == "red"
    # 3 errors, 2 warnings, 1 hint: the least severe floor whose findings would all fit.
    floor = "information" if len(kept) >= 5 else "error"
    assert f"minSeverity {floor} " in tight["budget"]["hint"]
    assert "fewer 'uris'" in tight["budget"]["hint"] and "since" in tight["budget"]["hint"]


def test_the_estimated_tokens_are_the_answers_own() -> None:
    found = [finding(f"f{i}.py", SEVERITIES[i % 4], line=i) for i in range(40)]
    for max_tokens in (120, 300, 800, 5000):
        result = answer(found, max_tokens)
        assert result["budget"]["estimatedTokens"] == estimate_tokens(result)


@given(
    st.lists(
        st.tuples(st.sampled_from(SEVERITIES), st.integers(0, 30), st.integers(1, 500)),
        max_size=80,
    ),
    st.integers(min_value=150, max_value=4000),
)
def test_an_answer_fits_whenever_its_fixed_part_does(
    rows: list[tuple[str, int, int]], max_tokens: int
) -> None:
    found = [finding(f"pkg/module_{n}.py", severity, line=line) for severity, n, line in rows]
    result = answer(found, max_tokens)
    text = compact(result)
    assert json.loads(text) == result
    assert len(text) <= 4 * max_tokens
    omitted = result["budget"]["omitted"]
    assert len(result["findings"]) + omitted["total"] == len(found)
    assert sum(omitted["bySeverity"].values()) == omitted["total"]
    assert len(omitted["byFile"]) <= 10
    if omitted["total"]:
        assert result["budget"]["level"] == "red", "a cut answer is always red"

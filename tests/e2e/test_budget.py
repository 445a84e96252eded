"""Answers within a budget over real stdio: `maxTokens` and `minSeverity` on
tapps.reviewWorkspace, reviewFiles, scoreFile and runWorkflow, every budget level, the
left-out counts, and bad arguments as InvalidParams errors that name the key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcInvalidParams

from tapps_lsp.analyzers.budget.estimate import compact
from tests.e2e.conftest import Session, start_session, stop_session
from tests.e2e.test_review_commands import execute

# tests/fixtures/basic: 3 errors (mypy), 3 warnings (ruff), in 3 of its 6 files.
ERRORS, WARNINGS = 3, 3


def fits(answer: dict[str, Any]) -> None:
    """The answer is within its budget by the estimator, and says so truly."""
    budget = answer["budget"]
    assert budget["estimatedTokens"] == math.ceil(len(compact(answer)) / 4)
    assert budget["estimatedTokens"] <= budget["maxTokens"]


async def test_every_level_and_the_left_out_counts(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        await execute(session, "tapps.reviewWorkspace", {})  # every later answer is cached
        roomy = await execute(session, "tapps.reviewWorkspace", {"maxTokens": 100_000})
        fits(roomy)
        assert roomy["budget"]["level"] == "green" and "hint" not in roomy["budget"]
        assert len(roomy["findings"]["list"]) == ERRORS + WARNINGS
        assert roomy["budget"]["omitted"]["total"] == 0
        full = roomy["budget"]["fullTokens"]

        levels = {}
        for share in (0.6, 0.8, 0.95, 1.15):
            answer = await execute(
                session, "tapps.reviewWorkspace", {"maxTokens": int(full / share)}
            )
            fits(answer)
            levels[share] = answer
        assert [levels[s]["budget"]["level"] for s in (0.6, 0.8, 0.95, 1.15)] == [
            "yellow",
            "orange",
            "red",
            "red",
        ]
        for answer in levels.values():
            assert (
                "minSeverity" in answer["budget"]["hint"] and "uris" not in answer["budget"]["hint"]
            )
        assert len(levels[0.6]["findings"]["list"]) == ERRORS + WARNINGS, "nothing cut below 90 %"

        cut = levels[1.15]
        kept = cut["findings"]["list"]
        omitted = cut["budget"]["omitted"]
        assert 0 < len(kept) < ERRORS + WARNINGS
        assert cut["findings"]["total"] == ERRORS + WARNINGS, "the counts are of every finding"
        assert [f["severity"] for f in kept] == sorted(
            (f["severity"] for f in kept), key=["error", "warning"].index
        )
        assert omitted["total"] == ERRORS + WARNINGS - len(kept)
        every = roomy["findings"]["list"]
        left_out = every[len(kept) :]
        assert kept == every[: len(kept)]
        by_file: dict[str, int] = {}
        for finding in left_out:
            by_file[finding["path"]] = by_file.get(finding["path"], 0) + 1
        assert omitted["byFile"] == by_file
        assert sum(omitted["bySeverity"].values()) == len(left_out)
    finally:
        await stop_session(session)


async def test_min_severity_filters_the_lists_and_the_counts(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        errors = await execute(
            session, "tapps.reviewWorkspace", {"minSeverity": "error", "maxTokens": 5000}
        )
        assert errors["findings"]["total"] == ERRORS
        assert errors["findings"]["bySeverity"] == {"error": ERRORS}
        assert errors["findings"]["bySource"] == {"mypy": ERRORS}
        assert {f["severity"] for f in errors["findings"]["list"]} == {"error"}

        unicode = (basic_project / "app" / "unicode.py").as_uri()
        files = await execute(
            session, "tapps.reviewFiles", {"uris": [unicode], "minSeverity": "warning"}
        )
        assert files["findings"]["total"] == 4 and "list" not in files["findings"]
        files = await execute(
            session, "tapps.reviewFiles", {"uris": [unicode], "minSeverity": "error"}
        )
        assert files["findings"]["total"] == 2 and "budget" not in files

        score = await execute(session, "tapps.scoreFile", {"uri": unicode, "minSeverity": "error"})
        assert [f["severity"] for f in score["findings"]] == ["error", "error"]
        whole = await execute(session, "tapps.scoreFile", {"uri": unicode})
        assert len(whole["findings"]) == 4 and whole["score"] == score["score"]
        tight = await execute(session, "tapps.scoreFile", {"uri": unicode, "maxTokens": 250})
        fits(tight)
        assert len(tight["findings"]) + tight["budget"]["omitted"]["total"] == 4
        assert list(tight["budget"]["omitted"]["byFile"]) in ([], ["unicode.py"])
    finally:
        await stop_session(session)


async def test_a_workflow_report_within_a_budget_and_a_floor(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        plain = await execute(session, "tapps.runWorkflow", {"workflow": "standard"})
        total = plain["report"]["findings"]["total"]
        floored = await execute(
            session, "tapps.runWorkflow", {"workflow": "standard", "minSeverity": "error"}
        )
        steps = floored["report"]["steps"]
        assert {f["severity"] for step in steps for f in step["findings"]} == {"error"}
        assert floored["report"]["findings"]["total"] < total
        ruff = next(step for step in steps if step["id"] == "ruff")
        assert ruff["findings"] == [] and ruff["summary"]["findings"] == 0
        tight = await execute(
            session, "tapps.runWorkflow", {"workflow": "standard", "maxTokens": 400}
        )
        fits(tight)
        kept = sum(len(step["findings"]) for step in tight["report"]["steps"])
        assert kept + tight["budget"]["omitted"]["total"] == total
        assert tight["budget"]["level"] == "red"
    finally:
        await stop_session(session)


@pytest.mark.parametrize(
    ("command", "argument", "complaint"),
    [
        ("tapps.reviewWorkspace", {"maxTokens": 0}, "'maxTokens' must be a whole number"),
        ("tapps.reviewWorkspace", {"maxTokens": "500"}, "'maxTokens' must be a whole number"),
        ("tapps.reviewFiles", {"uris": [], "maxTokens": 1.5}, "'maxTokens' must be a whole"),
        ("tapps.scoreFile", {"uri": "{a}", "minSeverity": "fatal"}, "'minSeverity' must be one of"),
        ("tapps.scoreFile", {"uri": "{a}", "minSeverity": 1}, "'minSeverity' must be a string"),
        ("tapps.runWorkflow", {"workflow": "minimal", "maxTokens": True}, "'maxTokens' must be"),
        ("tapps.runWorkflow", {"workflow": "minimal", "minSeverity": "info"}, "'minSeverity'"),
        (
            "tapps.submit",
            {"command": "tapps.reviewWorkspace", "arguments": {"maxTokens": -1}},
            "'maxTokens'",
        ),
    ],
)
async def test_bad_limits_are_invalid_params_that_name_the_key(
    basic_project: Path, command: str, argument: dict[str, Any], complaint: str
) -> None:
    if argument.get("uri") == "{a}":
        argument = {**argument, "uri": str(basic_project / "app" / "a.py")}
    session: Session = await start_session(basic_project)
    try:
        with pytest.raises(JsonRpcInvalidParams, match=complaint):
            await execute(session, command, argument)
    finally:
        await stop_session(session)

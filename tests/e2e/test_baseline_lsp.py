"""The baseline in the editor, over real stdio: `tapps.writeBaseline`, baselined findings
as Hints tagged `data.baselined` (or hidden), lines inserted above, and
`tapps.baselineStatus`'s counts as findings are fixed."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.conftest import Publish, start_session, stop_session
from tests.e2e.test_review_commands import execute

LINT = "app/lint.py"


def f401(publish: Publish) -> list[types.Diagnostic]:
    return [d for d in publish.by_source("ruff") if d.code == "F401"]


@pytest.mark.asyncio
async def test_baselined_findings_are_hints_and_the_status_counts(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        first = await session.wait_complete(LINT, after=session.open(LINT))
        assert f401(first)[0].severity == types.DiagnosticSeverity.Warning
        mark = len(session.publishes)
        written = await execute(session, "tapps.writeBaseline", {})
        assert written["baselines"][0]["entries"] == 6
        hinted = await session.wait_for(
            lambda p: p.uri == session.uri(LINT) and p.complete and bool(f401(p)), after=mark
        )
        diagnostic = f401(hinted)[0]
        assert diagnostic.severity == types.DiagnosticSeverity.Hint
        assert isinstance(diagnostic.data, dict) and diagnostic.data["baselined"] is True
        status = await execute(session, "tapps.baselineStatus")
        assert status == {"entries": 6, "matching": 6, "fixed": 0}

        moved = "# one\n# two\n# three\n" + session.text(LINT)
        after_move = await session.wait_complete(LINT, after=session.save(LINT, moved))
        assert [d.severity for d in f401(after_move)] == [types.DiagnosticSeverity.Hint]
        assert f401(after_move)[0].range.start.line == 3

        fixed = moved.replace("import os\n", "")
        after_fix = await session.wait_complete(LINT, after=session.save(LINT, fixed))
        assert not f401(after_fix)
        status = await execute(session, "tapps.baselineStatus")
        assert status == {"entries": 6, "matching": 5, "fixed": 1}
    finally:
        await stop_session(session)


@pytest.mark.asyncio
async def test_hidden_baselined_findings_are_not_shown(basic_project: Path) -> None:
    session = await start_session(
        basic_project, initialization_options={"baseline": {"show": "hidden"}}
    )
    try:
        await execute(session, "tapps.writeBaseline", {"paths": [str(basic_project / "app")]})
        shown = await session.wait_complete(LINT, after=session.open(LINT))
        assert not f401(shown)
        added = "import sys\n" + session.text(LINT)
        after = await session.wait_complete(LINT, after=session.save(LINT, added))
        assert [d.message for d in f401(after)] == ["`sys` imported but unused"]
        assert f401(after)[0].severity == types.DiagnosticSeverity.Warning
    finally:
        await stop_session(session)

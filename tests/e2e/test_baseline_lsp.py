"""The baseline in the editor, over real stdio: `tapps.writeBaseline`, baselined findings
as Hints tagged `data.baselined` (or hidden), lines inserted above, and
`tapps.baselineStatus`'s counts as findings are fixed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.conftest import Publish, Session, pull_capabilities, start_session, stop_session
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


async def full_pull(
    session: Session, uri: str, previous: str | None = None
) -> types.RelatedFullDocumentDiagnosticReport | types.RelatedUnchangedDocumentDiagnosticReport:
    params = types.DocumentDiagnosticParams(
        text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=previous
    )
    async with asyncio.timeout(60):
        while True:
            answer = await session.client.text_document_diagnostic_async(params)
            if answer.result_id and ":partial" not in answer.result_id:
                return answer
            await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_a_pull_result_id_changes_with_the_baseline(basic_project: Path) -> None:
    session = await start_session(basic_project, capabilities=pull_capabilities())
    try:
        session.open(LINT)
        uri = session.uri(LINT)
        before = await full_pull(session, uri)
        assert isinstance(before, types.RelatedFullDocumentDiagnosticReport)
        await execute(session, "tapps.writeBaseline", {"paths": [uri]})
        after = await full_pull(session, uri, before.result_id)
        assert isinstance(after, types.RelatedFullDocumentDiagnosticReport), "no stale answer"
        hints = [d for d in after.items if d.code == "F401"]
        assert [d.severity for d in hints] == [types.DiagnosticSeverity.Hint]
        same = await full_pull(session, uri, after.result_id)
        assert isinstance(same, types.RelatedUnchangedDocumentDiagnosticReport)
    finally:
        await stop_session(session)

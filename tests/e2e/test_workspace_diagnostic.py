"""`workspace/diagnostic`: every file by pull, partial results, `unchanged`, and the
same answer as the document's own pull."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.e2e.conftest import Session, pull_capabilities, start_session, stop_session

APP_FILES = ["__init__.py", "a.py", "b.py", "lint.py", "typeerr.py", "unicode.py"]


async def workspace_pull(
    session: Session,
    previous: dict[str, str] | None = None,
    partial_token: str | None = None,
) -> types.WorkspaceDiagnosticReport:
    return await session.client.workspace_diagnostic_async(
        types.WorkspaceDiagnosticParams(
            previous_result_ids=[
                types.PreviousResultId(uri=uri, value=value)
                for uri, value in (previous or {}).items()
            ],
            partial_result_token=partial_token,
        )
    )


def capture_partials(session: Session, token: str) -> list[Any]:
    """pytest-lsp only knows work-done progress; partial results are collected here."""
    partials: list[Any] = []
    default = session.client.protocol.fm.features[types.PROGRESS]

    def on_progress(params: types.ProgressParams) -> None:
        if params.token == token:
            partials.extend(params.value["items"])
        else:
            default(session.client, params)

    session.client.protocol.fm.features[types.PROGRESS] = on_progress
    return partials


async def test_every_file_then_unchanged_until_a_save(basic_project: Path) -> None:
    session = await start_session(basic_project, capabilities=pull_capabilities())
    try:
        first = await workspace_pull(session)
        uris = {(basic_project / "app" / name).as_uri() for name in APP_FILES}
        assert {item.uri for item in first.items} == uris
        assert all(item.kind == "full" for item in first.items)
        typeerr = next(i for i in first.items if i.uri.endswith("typeerr.py"))
        assert isinstance(typeerr, types.WorkspaceFullDocumentDiagnosticReport)
        assert "assignment" in {d.code for d in typeerr.items if d.source == "mypy"}

        known = {item.uri: item.result_id for item in first.items if item.result_id}
        held = asyncio.ensure_future(workspace_pull(session, known))
        await asyncio.sleep(1.0)
        assert not held.done(), "nothing changed: the pull is held"
        session.open("app/b.py")
        session.save("app/b.py", session.text("app/b.py") + "\nVALUE: int = 'x'\n")
        # A pass may start between the write and the save's review: pull on, as a client
        # does, until the new content shows.
        async with asyncio.timeout(60):
            while True:
                second = await held
                kinds = {item.uri.rsplit("/", 1)[-1]: item.kind for item in second.items}
                if kinds["b.py"] == "full":
                    break
                known.update({i.uri: i.result_id for i in second.items if i.result_id})
                held = asyncio.ensure_future(workspace_pull(session, known))
        assert kinds["lint.py"] == "unchanged"
        b_item = next(i for i in second.items if i.uri.endswith("b.py"))
        assert isinstance(b_item, types.WorkspaceFullDocumentDiagnosticReport)
        assert "assignment" in {d.code for d in b_item.items if d.source == "mypy"}
    finally:
        await stop_session(session)


async def test_partial_results_stream_and_the_response_is_empty(basic_project: Path) -> None:
    session = await start_session(basic_project, capabilities=pull_capabilities())
    try:
        partials = capture_partials(session, "partial-1")
        report = await workspace_pull(session, partial_token="partial-1")
        assert list(report.items) == []
        assert {item["uri"].rsplit("/", 1)[-1] for item in partials} == set(APP_FILES)
    finally:
        await stop_session(session)


async def test_pull_and_workspace_pull_agree_for_an_open_document(basic_project: Path) -> None:
    session = await start_session(basic_project, capabilities=pull_capabilities())
    try:
        text = session.text("app/a.py") + "\nimport os\n"
        session.open("app/a.py", text)
        uri = session.uri("app/a.py")
        own = await session.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        report = await workspace_pull(session)
        item = next(i for i in report.items if i.uri == uri)
        assert isinstance(item, types.WorkspaceFullDocumentDiagnosticReport)
        assert item.version == session.versions[uri]
        assert isinstance(own, types.RelatedFullDocumentDiagnosticReport)
        if own.result_id is not None and own.result_id.endswith(":partial"):
            own = await session.client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
        assert isinstance(own, types.RelatedFullDocumentDiagnosticReport)
        assert item.result_id == own.result_id
        assert [(d.code, d.range) for d in item.items] == [(d.code, d.range) for d in own.items]
    finally:
        await stop_session(session)

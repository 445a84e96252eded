"""Ranges in the negotiated encoding, pull diagnostics, and a missing tool."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.conftest import (
    pull_capabilities,
    start_session,
    stop_session,
    with_encodings,
)


def _units(prefix: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(prefix.encode("utf-8"))
    if encoding == "utf-32":
        return len(prefix)
    return len(prefix.encode("utf-16-le")) // 2


def _expected(line: str, needle: str, encoding: str, *, start_at: int = 0) -> tuple[int, int]:
    start = line.index(needle, start_at)
    return _units(line[:start], encoding), _units(line[: start + len(needle)], encoding)


@pytest.mark.parametrize(
    ("encoding", "native_parser"),
    [("utf-16", True), ("utf-8", True), ("utf-32", True), ("utf-16", False)],
)
async def test_non_ascii_columns_in_the_negotiated_encoding(
    basic_project: Path, encoding: str, native_parser: bool
) -> None:
    if not native_parser:
        pyproject = basic_project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + "native_parser = false\n")
    session = await start_session(basic_project, capabilities=with_encodings(encoding))
    try:
        mark = session.open("app/unicode.py")
        publish = await session.wait_complete("app/unicode.py", after=mark)
    finally:
        await stop_session(session)
    lines = (basic_project / "app/unicode.py").read_text().split("\n")
    ruff = sorted(
        (d.range.start.line, d.range.start.character, d.range.end.character)
        for d in publish.by_source("ruff")
    )
    assert ruff == [
        (3, *_expected(lines[3], ";", encoding)),
        (4, *_expected(lines[4], ";", encoding)),
    ]
    mypy = sorted(
        (d.range.start.line, d.range.start.character, d.range.end.character)
        for d in publish.by_source("mypy")
    )
    assert mypy == [
        (3, *_expected(lines[3], '"日本"', encoding)),
        (4, *_expected(lines[4], '"é😀"', encoding)),
    ]


async def test_pull_answers_full_then_unchanged(basic_project: Path) -> None:
    session = await start_session(basic_project, capabilities=pull_capabilities())
    try:
        session.open("app/typeerr.py")
        uri = session.uri("app/typeerr.py")
        identifier = types.TextDocumentIdentifier(uri=uri)
        # A client that can be asked to pull again gets ruff's partial answer first.
        async with asyncio.timeout(60):
            while True:
                full = await session.client.text_document_diagnostic_async(
                    types.DocumentDiagnosticParams(text_document=identifier)
                )
                assert isinstance(full, types.RelatedFullDocumentDiagnosticReport)
                if full.result_id and not full.result_id.endswith(":partial"):
                    break
                await asyncio.sleep(0.05)
        assert {d.source for d in full.items} == {"mypy", "tapps"}
        assert full.result_id
        again = await session.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=identifier, previous_result_id=full.result_id
            )
        )
        assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
        assert again.result_id == full.result_id
        assert session.publishes == [], "a pull client gets no pushed diagnostics"
    finally:
        await stop_session(session)


async def test_a_pulling_client_that_cannot_be_asked_to_pull_again_gets_push(
    basic_project: Path,
) -> None:
    """Neovim 0.11 pulls but has no refresh support: it would never see a save's result
    (nothing it does triggers a pull). It gets push and no diagnostic provider."""
    session = await start_session(basic_project, capabilities=pull_capabilities(refresh=False))
    try:
        result = session.initialize_result
        assert result is not None and result.capabilities.diagnostic_provider is None
        mark = session.open("app/lint.py")
        opened = await session.wait_complete("app/lint.py", after=mark)
        assert [d.code for d in opened.by_source("ruff")] == ["F401"]
        mark = session.save("app/lint.py", "x = 1\n")
        saved = await session.wait_complete("app/lint.py", after=mark)
        assert saved.by_source("ruff") == []
    finally:
        await stop_session(session)


async def test_missing_mypy_is_reported_once_and_the_rest_still_arrives(
    basic_project: Path,
) -> None:
    options = {"mypy": {"path": str(basic_project.parent / "no-such-mypy")}}
    session = await start_session(basic_project, initialization_options=options)
    try:
        mark = session.open("app/lint.py")
        opened = await session.wait_complete("app/lint.py", after=mark)
        assert [d.code for d in opened.by_source("ruff")] == ["F401"]
        assert opened.by_source("mypy") == []
        assert "types n/a" in opened.by_source("tapps")[0].message
        mark = session.save("app/lint.py", session.text("app/lint.py") + "\n")
        await session.wait_complete("app/lint.py", after=mark)
        missing = [m for m in session.client.messages if "no-such-mypy" in m.message]
        assert len(missing) == 1
        assert missing[0].type == types.MessageType.Error
    finally:
        await stop_session(session)

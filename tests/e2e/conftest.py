"""Drive the real server over real stdio with pytest-lsp, on copies of small real projects."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SERVER_COMMAND = [sys.executable, "-m", "tapps_lsp.server", "serve"]
WAIT_S = 60.0

PUSH_CAPABILITIES = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
            version_support=True, related_information=True
        ),
        synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
    ),
    workspace=types.WorkspaceClientCapabilities(
        configuration=True,
        did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
            dynamic_registration=True
        ),
    ),
    window=types.WindowClientCapabilities(work_done_progress=True),
)


def pull_capabilities(*, refresh: bool = True) -> types.ClientCapabilities:
    """A client that pulls diagnostics; the server pulls only with refresh support."""
    return types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            diagnostic=types.DiagnosticClientCapabilities(related_document_support=False),
            synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
        ),
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            diagnostics=types.DiagnosticWorkspaceClientCapabilities(refresh_support=refresh),
        ),
    )


def with_encodings(*encodings: str) -> types.ClientCapabilities:
    caps = PUSH_CAPABILITIES
    return types.ClientCapabilities(
        text_document=caps.text_document,
        workspace=caps.workspace,
        window=caps.window,
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind(e) for e in encodings]
        ),
    )


@dataclass
class Publish:
    uri: str
    version: int | None
    diagnostics: tuple[types.Diagnostic, ...]

    @property
    def sources(self) -> set[str]:
        return {d.source or "" for d in self.diagnostics}

    @property
    def complete(self) -> bool:
        """The second publish of a review: it carries the score (or the no-score notice)."""
        return "tapps" in self.sources

    def by_source(self, source: str) -> list[types.Diagnostic]:
        return [d for d in self.diagnostics if d.source == source]


@dataclass
class Session:
    client: LanguageClient
    root: Path
    publishes: list[Publish] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    versions: dict[str, int] = field(default_factory=dict)
    initialize_result: types.InitializeResult | None = None

    def uri(self, relative: str) -> str:
        return (self.root / relative).as_uri()

    def text(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    async def record(self, params: types.PublishDiagnosticsParams) -> None:
        async with self._arrived:
            self.publishes.append(Publish(params.uri, params.version, tuple(params.diagnostics)))
            self._arrived.notify_all()

    async def wait_for(
        self, predicate: Callable[[Publish], bool], *, after: int = 0, timeout: float = WAIT_S
    ) -> Publish:
        """The first publish at index >= `after` that satisfies `predicate`."""
        async with asyncio.timeout(timeout), self._arrived:
            while True:
                for publish in self.publishes[after:]:
                    if predicate(publish):
                        return publish
                await self._arrived.wait()

    async def wait_complete(self, relative: str, *, after: int = 0) -> Publish:
        uri = self.uri(relative)
        return await self.wait_for(lambda p: p.uri == uri and p.complete, after=after)

    def open(self, relative: str, text: str | None = None) -> int:
        """didOpen; returns the publish index to wait from."""
        mark = len(self.publishes)
        uri = self.uri(relative)
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri,
                    language_id="python",
                    version=1,
                    text=self.text(relative) if text is None else text,
                )
            )
        )
        return mark

    def close(self, relative: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(self.uri(relative)))
        )

    def save(self, relative: str, text: str, *, write: bool = True) -> int:
        """Write `text` to disk (as an editor does), then didChange + didSave."""
        mark = len(self.publishes)
        uri = self.uri(relative)
        if write:
            (self.root / relative).write_text(text, encoding="utf-8")
        version = self.versions.get(uri, 1) + 1
        self.versions[uri] = version
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri), text=text)
        )
        return mark


async def engine_info(session: Session) -> dict[str, Any]:
    """The first mypy project's engine, from tapps.printDebugInformation."""
    info = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="tapps.printDebugInformation")
    )
    engine: dict[str, Any] = info["folders"][0]["mypyProjects"][0]["engine"]
    return engine


async def wait_engine(session: Session, *, timeout: float = 120.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            engine = await engine_info(session)
            if engine["state"] == "ready" and engine["pid"]:
                return engine
            await asyncio.sleep(0.2)


def copy_fixture(name: str, destination: Path) -> Path:
    root = destination / name
    shutil.copytree(FIXTURES / name, root)
    return root


async def start_session(
    root: Path,
    *,
    capabilities: types.ClientCapabilities = PUSH_CAPABILITIES,
    initialization_options: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> Session:
    config = ClientServerConfig(
        server_command=SERVER_COMMAND, server_env={**os.environ, **(env or {})}
    )
    client = await config.start()
    session = Session(client, root)
    client.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = session.record
    session.initialize_result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=initialization_options,
        )
    )
    return session


async def stop_session(session: Session) -> None:
    try:
        await asyncio.wait_for(session.client.shutdown_session(), 30)
    finally:
        await session.client.stop()


@pytest.fixture
def basic_project(tmp_path: Path) -> Path:
    return copy_fixture("basic", tmp_path)


@pytest_asyncio.fixture
async def basic(basic_project: Path) -> AsyncIterator[Session]:
    session = await start_session(basic_project)
    try:
        yield session
    finally:
        await stop_session(session)

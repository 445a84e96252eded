"""Builds the language server and wires its handlers."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer

from tapps_lsp.analyzers.process import kill_all_running
from tapps_lsp.server import (
    commands,
    configuration,
    documents,
    metrics,
    pull,
    review_commands,
    tasks,
    workspace_pull,
)
from tapps_lsp.server.diagnostics import supports_pull
from tapps_lsp.server.protocol import TappsProtocol
from tapps_lsp.server.session import Session

log = logging.getLogger(__name__)

try:
    __version__ = version("tapps-lsp")
except PackageNotFoundError:
    __version__ = "0+unknown"


class TappsServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "tapps-lsp",
            __version__,
            protocol_cls=TappsProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.session = Session()
        self.client_name = "unknown"

    @property
    def tapps_protocol(self) -> TappsProtocol:
        assert isinstance(self.protocol, TappsProtocol)
        return self.protocol

    @property
    def pull_mode(self) -> bool:
        return supports_pull(self)

    @property
    def can_refresh(self) -> bool:
        return bool(
            get_capability(self.client_capabilities, "workspace.diagnostics.refresh_support", False)
        )

    def shutdown_session(self) -> None:
        self.tapps_protocol.idle_gc.stop()
        self.session.close()
        kill_all_running()


def build_server() -> TappsServer:
    server = TappsServer()
    configuration.register(server)
    documents.register(server)
    pull.register(server)
    commands.register(server)
    review_commands.register(server)
    tasks.register(server)
    workspace_pull.register(server)
    metrics.register(server)
    return server


def serve(*, tcp: bool = False, host: str = "127.0.0.1", port: int = 2087) -> None:
    server = build_server()
    try:
        if tcp:
            server.start_tcp(host, port)
        else:
            server.start_io()
    finally:
        server.shutdown_session()

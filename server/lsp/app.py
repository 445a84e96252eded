"""Builds the language server: every LSP method it serves routed to its handler, and
every command (server.lsp.commands).

The one module that imports the handlers; they import server.lsp.language_server, never this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lsprotocol import types

from tapps_lsp.server.lsp import configuration, documents, pull, workspace_pull
from tapps_lsp.server.lsp.allocator import limit_malloc_arenas
from tapps_lsp.server.lsp.commands import REVIEW_COMMANDS, command_table, pygls_handler
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.metrics import ServerMetrics
from tapps_lsp.server.lsp.tasks import TaskManager

# Method, handler, and the options pygls advertises for it.
FEATURES: list[tuple[str, Callable[..., Any], Any]] = [
    (types.INITIALIZE, configuration.initialize, None),
    (types.INITIALIZED, configuration.initialized, None),
    (types.WORKSPACE_DID_CHANGE_CONFIGURATION, configuration.did_change_configuration, None),
    (types.WORKSPACE_DID_CHANGE_WATCHED_FILES, configuration.did_change_watched_files, None),
    (types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, configuration.did_change_folders, None),
    (types.SHUTDOWN, configuration.shutdown, None),
    (types.TEXT_DOCUMENT_DID_OPEN, documents.did_open, None),
    (types.TEXT_DOCUMENT_DID_SAVE, documents.did_save, documents.SAVE_OPTIONS),
    (types.TEXT_DOCUMENT_DID_CLOSE, documents.did_close, None),
    (types.TEXT_DOCUMENT_DIAGNOSTIC, pull.document_diagnostic, pull.OPTIONS),
    (types.WORKSPACE_DIAGNOSTIC, workspace_pull.workspace_diagnostic, None),
]


def build_server() -> TappsServer:
    server = TappsServer()
    for method, handler, options in FEATURES:
        server.feature(method, options)(handler)
    metrics = ServerMetrics(server)
    server.tapps_protocol.observer = metrics
    tasks = TaskManager(server, REVIEW_COMMANDS)
    for name, answer in command_table(tasks, metrics).items():
        server.command(name)(pygls_handler(name, answer))
    return server


def serve(*, tcp: bool = False, host: str = "127.0.0.1", port: int = 2087) -> None:
    limit_malloc_arenas()
    server = build_server()
    try:
        if tcp:
            server.start_tcp(host, port)
        else:
            server.start_io()
    finally:
        server.shutdown_session()

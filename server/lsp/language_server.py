"""The language server itself: what the client can do, the session's state, and the
schedules of save rounds and refreshes.

Every handler module imports it; it imports no handler (server.lsp.app wires them).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from tapps_lsp.analyzers.process import kill_all_running
from tapps_lsp.analyzers.workflows.kinds import aside
from tapps_lsp.server.lsp.client import Client
from tapps_lsp.server.lsp.protocol import TappsProtocol
from tapps_lsp.server.lsp.refresh_window import RefreshWindow
from tapps_lsp.server.lsp.save_rounds import SaveRounds
from tapps_lsp.server.lsp.session import Session
from tapps_lsp.server.lsp.workflow_runs import ActiveRuns

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
        # Resolved at `initialize` (server.lsp.configuration).
        self.client = Client()
        self.save_rounds = SaveRounds(self.session.spawn)
        self.refreshes = RefreshWindow(self, self.session.spawn)
        self.workflow_runs = ActiveRuns()

    @property
    def tapps_protocol(self) -> TappsProtocol:
        assert isinstance(self.protocol, TappsProtocol)
        return self.protocol

    def shutdown_session(self) -> None:
        self.tapps_protocol.idle_gc.stop()
        self.session.close()
        kill_all_running()
        aside.shutdown()

"""Document sync: review on open and on save, clear on close."""

from __future__ import annotations

from lsprotocol import types

from tapps_lsp.server.lsp.after_save import review_save
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.reviews import schedule_review

# The text saved is the synced document's: a save's own `text` is not asked for, and
# ignored (ALE 3.3 sends it with literal `\n` between lines).
SAVE_OPTIONS = types.SaveOptions(include_text=False)


def did_open(ls: TappsServer, params: types.DidOpenTextDocumentParams) -> None:
    document = params.text_document
    schedule_review(ls, document.uri, document.text, document.version)


def did_save(ls: TappsServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    review_save(ls, uri, document.source, document.version)


def did_close(ls: TappsServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    state = ls.session.documents.pop(uri, None)
    if state is not None and state.task is not None:
        state.task.cancel()
    if not ls.client.pulls:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

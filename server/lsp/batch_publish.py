"""Results of batch reviews in the editor: each file's diagnostics as soon as it is done.

An open document shows a batch result only if the batch reviewed its current text; its
own review path (and its state) stays the one truth for it. A file that is not open is
published by push, or kept for `workspace/diagnostic` and announced with a (throttled)
refresh to a pulling client.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from tapps_lsp.analyzers.admission import NOT_REVIEWED, not_reviewed_report
from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.analyzers.findings import FileReport
from tapps_lsp.server.lsp.delivery import deliver, diagnostics_for, refresh_soon
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.messages import show_failure


@dataclass(frozen=True, slots=True)
class WorkspaceReport:
    """A file's last batch result, for a file that is not open."""

    report: FileReport
    text: str


def open_document(ls: TappsServer, path: Path) -> tuple[str, int | None] | None:
    """The editor's text and version of `path` when it is open."""
    document = ls.workspace.text_documents.get(path.as_uri())
    return (document.source, document.version) if document is not None else None


def publish_batch_file(ls: TappsServer, item: BatchFile) -> None:
    uri = item.path.as_uri()
    folder = ls.session.folder_for(item.path)
    threshold = folder.settings.score_threshold
    report = item.report
    for failure in report.failures if report is not None else ():
        show_failure(ls, failure)
    if report is None:
        report = not_reviewed_report(item.path, f"tapps: {item.problem or NOT_REVIEWED}")
    document = ls.workspace.text_documents.get(uri)
    if document is not None:
        state = ls.session.documents.get(uri)
        if state is not None and item.version is not None and item.version == state.version:
            deliver(
                ls, uri, state, report, text=item.text, version=item.version, threshold=threshold
            )
        return
    ls.session.workspace_reports[uri] = WorkspaceReport(report, item.text)
    ls.session.workspace_changed()
    if ls.client.pulls:
        refresh_soon(ls)
        return
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(
            uri=uri, diagnostics=diagnostics_for(ls, report, item.text, threshold)
        )
    )

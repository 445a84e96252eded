"""A document's report delivered: recorded in its state, then published by push, or for
a pulling client announced with a (throttled) refresh."""

from __future__ import annotations

from lsprotocol import types

from tapps_lsp.analyzers.findings import FileReport
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.server.lsp.baseline_view import editor_split
from tapps_lsp.server.lsp.convert import PositionMapper, baselined_diagnostic, report_diagnostics
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.session import DocumentState
from tapps_lsp.server.lsp.workflow_layers import layer_diagnostics


def deliver(
    ls: TappsServer,
    uri: str,
    state: DocumentState,
    report: FileReport,
    *,
    text: str,
    version: int | None,
    threshold: int,
) -> None:
    state.report = report
    state.report_text = text
    state.report_version = version
    state.notify()
    if report.complete:
        ls.session.workspace_changed()
    if ls.client.pulls:
        if report.complete:
            refresh_soon(ls)
        return
    diagnostics = diagnostics_for(ls, report, text, threshold)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
    )


def refresh_soon(ls: TappsServer) -> None:
    """Ask the client to pull again, if it can be asked (server.lsp.refresh_window)."""
    if ls.client.can_refresh:
        ls.refreshes.request()


def diagnostics_for(
    ls: TappsServer, report: FileReport, text: str, threshold: int
) -> list[types.Diagnostic]:
    """The report's diagnostics, and the workflows' for the same content
    (server.lsp.workflow_layers), in the position encoding negotiated with the client;
    the findings a baseline covers as server.lsp.baseline_view shows them."""
    mapper = PositionMapper(split_lines(text), ls.client.position_encoding)
    new_only, baselined = editor_split(ls, report, text)
    return [
        *report_diagnostics(new_only, mapper, threshold),
        *(baselined_diagnostic(finding, mapper) for finding in baselined),
        *layer_diagnostics(ls, report, mapper),
    ]

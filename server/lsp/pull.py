"""`textDocument/diagnostic`: resultId is the cache key, `unchanged` when it matches; a
pull waits for the document's report (server.lsp.reviews) when it has none yet."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tapps_lsp.analyzers.findings import FileReport
from tapps_lsp.server.lsp.baseline_view import result_id_part
from tapps_lsp.server.lsp.delivery import diagnostics_for
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.reviews import schedule_review
from tapps_lsp.server.lsp.uris import uri_to_path
from tapps_lsp.server.lsp.workflow_layers import layer_findings

PartialOrFull = (
    types.RelatedFullDocumentDiagnosticReport | types.RelatedUnchangedDocumentDiagnosticReport
)
OPTIONS = types.DiagnosticOptions(
    identifier="tapps", inter_file_dependencies=True, workspace_diagnostics=True
)
_WAIT_SLACK_S = 15.0


async def document_diagnostic(
    ls: TappsServer, params: types.DocumentDiagnosticParams
) -> PartialOrFull:
    uri = params.text_document.uri
    report, text = await pull_report(ls, uri)
    result_id = report.result_id if report.complete else f"{report.result_id}:partial"
    _found, layers = layer_findings(ls, report)
    if layers:
        result_id = f"{result_id}:{layers}"
    path = uri_to_path(uri)
    if path is not None:
        result_id += result_id_part(ls, path)
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    threshold = ls.session.folder_for(path).settings.score_threshold if path else 70
    items = diagnostics_for(ls, report, text, threshold)
    return types.RelatedFullDocumentDiagnosticReport(items=items, result_id=result_id)


async def pull_report(ls: TappsServer, uri: str) -> tuple[FileReport, str]:
    """The report a pull answers with: the newest for this document, waiting for one if
    none exists yet. A pull never answers from an empty cache."""
    state = ls.session.document(uri)
    if state.report is None and (state.task is None or state.task.done()):
        document = ls.workspace.get_text_document(uri)
        schedule_review(ls, uri, document.source, document.version)
    path = uri_to_path(uri)
    timeout = _WAIT_SLACK_S
    if path is not None:
        timeout += ls.session.folder_for(path).settings.timeout
    async with asyncio.timeout(timeout):
        while state.report is None or not (state.report.complete or ls.client.can_refresh):
            await state.wait_changed()
    return state.report, state.report_text

"""`textDocument/diagnostic`: resultId is the cache key, `unchanged` when it matches."""

from __future__ import annotations

from lsprotocol import types

from tapps_lsp.server.diagnostics import diagnostics_for, pull_report, uri_to_path
from tapps_lsp.server.language_server import TappsServer

PartialOrFull = (
    types.RelatedFullDocumentDiagnosticReport | types.RelatedUnchangedDocumentDiagnosticReport
)
OPTIONS = types.DiagnosticOptions(
    identifier="tapps", inter_file_dependencies=True, workspace_diagnostics=True
)


async def document_diagnostic(
    ls: TappsServer, params: types.DocumentDiagnosticParams
) -> PartialOrFull:
    uri = params.text_document.uri
    report, text = await pull_report(ls, uri)
    result_id = report.result_id if report.complete else f"{report.result_id}:partial"
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    path = uri_to_path(uri)
    threshold = ls.session.folder_for(path).settings.score_threshold if path else 70
    items = diagnostics_for(ls, report, text, threshold)
    return types.RelatedFullDocumentDiagnosticReport(items=items, result_id=result_id)

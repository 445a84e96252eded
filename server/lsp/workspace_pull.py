"""`workspace/diagnostic`: every Python file of the workspace folders, by pull.

The same batch engine as `tapps.reviewWorkspace`. With a `partialResultToken`, reports
stream through `$/progress` as files finish and the response is empty, as the spec
requires. A file whose result id the client already holds is `unchanged`. An open
document's report is the one its own pull gives, since both review its current text
with the same keys. When nothing changed since the client's last pull, the request is
held until something does (clients re-pull as soon as a pull returns).
"""

from __future__ import annotations

import asyncio
import time

from lsprotocol import types

from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.server.lsp.baseline_view import result_id_part
from tapps_lsp.server.lsp.delivery import diagnostics_for
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.progress import WorkProgress
from tapps_lsp.server.lsp.review_commands import new_batch, workspace_files
from tapps_lsp.server.lsp.workflow_layers import layer_findings

WorkspaceItem = (
    types.WorkspaceFullDocumentDiagnosticReport | types.WorkspaceUnchangedDocumentDiagnosticReport
)
FLUSH_INTERVAL_S = 0.1


async def workspace_diagnostic(
    ls: TappsServer, params: types.WorkspaceDiagnosticParams
) -> types.WorkspaceDiagnosticReport:
    known = {entry.uri: entry.value for entry in params.previous_result_ids}
    while True:
        changed = ls.session.wait_workspace_change()
        waiter = asyncio.ensure_future(changed)
        try:
            items, anything_new = await _one_pass(ls, params, known)
            if anything_new or not known:
                return types.WorkspaceDiagnosticReport(items=items)
            await waiter
        finally:
            waiter.cancel()


async def _one_pass(
    ls: TappsServer, params: types.WorkspaceDiagnosticParams, known: dict[str, str]
) -> tuple[list[WorkspaceItem], bool]:
    stream = _PartialStream(ls, params.partial_result_token)
    collected: list[WorkspaceItem] = []
    anything_new = False

    def on_file(item: BatchFile) -> None:
        nonlocal anything_new
        entry = _item(ls, item, known)
        if entry is None:
            return
        anything_new = anything_new or isinstance(
            entry, types.WorkspaceFullDocumentDiagnosticReport
        )
        if stream.active:
            stream.add(entry)
        else:
            collected.append(entry)

    files = await asyncio.to_thread(workspace_files, ls, list(ls.session.folders), [], [])
    with WorkProgress(ls, "Workspace diagnostics", params.work_done_token) as progress:
        batch = new_batch(ls, files, on_file=on_file, progress=progress, relative_to=None)
        summary = await batch.run()
        progress.close(f"{summary.files} files")
    stream.flush()
    return collected, anything_new


def _item(ls: TappsServer, item: BatchFile, known: dict[str, str]) -> WorkspaceItem | None:
    report = item.report
    if report is None:
        return None
    uri = item.path.as_uri()
    _found, layers = layer_findings(ls, report)
    result_id = f"{report.result_id}:{layers}" if layers else report.result_id
    result_id += result_id_part(ls, item.path)
    if known.get(uri) == result_id:
        return types.WorkspaceUnchangedDocumentDiagnosticReport(
            uri=uri, result_id=result_id, version=item.version
        )
    threshold = ls.session.folder_for(item.path).settings.score_threshold
    return types.WorkspaceFullDocumentDiagnosticReport(
        uri=uri,
        items=diagnostics_for(ls, report, item.text, threshold),
        result_id=result_id,
        version=item.version,
    )


class _PartialStream:
    """Partial results for one token, sent in small groups at most every 100 ms."""

    def __init__(self, ls: TappsServer, token: types.ProgressToken | None) -> None:
        self._ls = ls
        self._token = token
        self._pending: list[WorkspaceItem] = []
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def active(self) -> bool:
        return self._token is not None

    def add(self, entry: WorkspaceItem) -> None:
        self._pending.append(entry)
        wait = FLUSH_INTERVAL_S - (time.monotonic() - self._last)
        if wait <= 0:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self._flush_later)

    def _flush_later(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending or self._token is None:
            return
        items, self._pending = self._pending, []
        self._last = time.monotonic()
        self._ls.progress(
            types.ProgressParams(
                token=self._token,
                value=types.WorkspaceDiagnosticReportPartialResult(items=items),
            )
        )

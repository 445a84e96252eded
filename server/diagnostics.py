"""Reviews of open documents, published by push, or answered by pull.

A client that can pull (`textDocument/diagnostic`) gets pull only, and a refresh
request when a newer result is ready; every other client gets push. Either way a
result is only shown for the document version it reviewed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from tapps_lsp.analyzers.findings import (
    FileReport,
    Finding,
    Severity,
    Source,
    Span,
    ToolFailure,
    ToolResult,
)
from tapps_lsp.analyzers.review import Reviewer, Snapshot
from tapps_lsp.analyzers.text import UndecodableSource, decode_source, split_lines
from tapps_lsp.server.convert import PositionMapper, report_diagnostics
from tapps_lsp.server.language_server import TappsServer
from tapps_lsp.server.session import DocumentState, Folder

log = logging.getLogger(__name__)
_WAIT_SLACK_S = 15.0


def uri_to_path(uri: str) -> Path | None:
    fs_path = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(fs_path).resolve() if fs_path else None


def schedule_review(
    ls: TappsServer,
    uri: str,
    text: str,
    version: int | None,
    *,
    saved: bool = False,
    refresh: bool = False,
    snapshot: Snapshot | None = None,
) -> asyncio.Task[None]:
    """Start reviewing this content; a review of an older content is cancelled.

    After a save, other open documents whose results it changed are reviewed again.
    `snapshot`: the project as scanned for a round of such re-reviews."""
    state = ls.session.document(uri)
    if state.task is not None and not state.task.done():
        state.task.cancel()
    state.version = version
    review = review_and_publish(ls, uri, text, version, quiet=refresh, snapshot=snapshot)
    path = uri_to_path(uri)
    if saved and path is not None:
        review = _as_save(ls, uri, ls.session.folder_for(path), review)
    task = ls.session.spawn(review)
    state.task = task
    return task


async def _as_save(
    ls: TappsServer, uri: str, folder: Folder, review: Coroutine[Any, Any, None]
) -> None:
    """A save's review: the folder's round of re-reviews waits until no save's review
    runs (it would compete with them), then covers every save since the last round."""
    running = ls.session.saves_running
    running[folder.root] = running.get(folder.root, 0) + 1
    pending = ls.session.refresh_rounds.get(folder.root)
    if pending is not None and not pending.done():
        pending.cancel()
    try:
        await review
    finally:
        running[folder.root] -= 1
        refresh_others_soon(ls, uri, folder)


async def review_and_publish(
    ls: TappsServer,
    uri: str,
    text: str,
    version: int | None,
    *,
    quiet: bool = False,
    snapshot: Snapshot | None = None,
) -> None:
    """Review and publish; `quiet` (a refresh) publishes only what differs from before."""
    started = time.perf_counter()
    path = uri_to_path(uri)
    if path is None:
        return
    state = ls.session.document(uri)
    folder = ls.session.folder_for(path)
    reviewer = folder.reviewer
    assert reviewer is not None
    refusal = _refusal(path, text, folder.settings.max_file_size)
    if refusal is not None:
        report = FileReport(str(path), "", None, None, None, complete=True, result_id="refused")
        report = with_notice(report, refusal)
        deliver(
            ls,
            uri,
            state,
            report,
            text=text,
            version=version,
            threshold=folder.settings.score_threshold,
        )
        return
    try:
        async for report in reviewer.review(path, text, snapshot):
            if state.version != version:
                log.debug("dropping a result for %s version %s", uri, version)
                return
            for failure in report.failures:
                show_failure(ls, failure)
            if quiet and _nothing_new(state, report):
                continue
            deliver(
                ls,
                uri,
                state,
                report,
                text=text,
                version=version,
                threshold=folder.settings.score_threshold,
            )
        # From scheduled to the complete result (for tapps.metrics).
        elapsed_ms = (time.perf_counter() - started) * 1000
        ls.session.review_timings.record("refresh" if quiet else "review", elapsed_ms)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the server keeps serving whatever one review does
        log.exception("review of %s failed", uri)
        _show_once(
            ls,
            f"internal:{type(exc).__name__}:{exc}",
            f"tapps-lsp could not review {path.name}: {exc}",
            types.MessageType.Error,
        )


REFRESH_OTHERS_DELAY_S = 0.2


def refresh_others_soon(ls: TappsServer, saved_uri: str, folder: Folder) -> None:
    """Re-review the documents a save may have changed, once saves have paused for a
    moment: saves in quick succession (an edit, then its undo; a save-all) share one
    round, and a save's own review never competes with the round of the one before."""
    session = ls.session
    session.saved_since_refresh.setdefault(folder.root, set()).add(saved_uri)
    if session.saves_running.get(folder.root, 0) > 0:
        return
    pending = session.refresh_rounds.get(folder.root)
    if pending is not None and not pending.done():
        pending.cancel()
    session.refresh_rounds[folder.root] = session.spawn(_refresh_round(ls, folder))


async def _refresh_round(ls: TappsServer, folder: Folder) -> None:
    await asyncio.sleep(REFRESH_OTHERS_DELAY_S)
    saved = ls.session.saved_since_refresh.pop(folder.root, set())
    try:
        await refresh_other_documents(ls, saved, folder)
    except asyncio.CancelledError:
        # A newer save took over: its round covers these saves too.
        ls.session.saved_since_refresh.setdefault(folder.root, set()).update(saved)
        raise


async def refresh_other_documents(ls: TappsServer, saved_uris: set[str], folder: Folder) -> None:
    """A save can change what other files' reviews say (a dependency edit, its undo, a
    syntax error that blocks mypy): re-review every open, unmodified document of the
    folder whose result id would now differ. Most of these are cache hits. Documents
    with unsaved edits wait for their own save; a saved one whose own review still runs
    is left to it."""
    reviewer = folder.reviewer
    saved = [path for path in map(uri_to_path, saved_uris) if path is not None]
    if reviewer is None or not saved:
        return
    await reviewer.settled()
    snapshot: Snapshot = {}
    for uri, document in list(ls.workspace.text_documents.items()):
        path = uri_to_path(uri)
        state = ls.session.documents.get(uri)
        if path is None or state is None or state.report is None:
            continue
        if ls.session.folder_for(path) is not folder or state.report_text != document.source:
            continue
        if uri in saved_uris and state.task is not None and not state.task.done():
            continue
        if await _outdated(reviewer, path, document.source, state, saved=saved, snapshot=snapshot):
            schedule_review(
                ls,
                uri,
                document.source,
                document.version,
                refresh=True,
                snapshot=reviewer.snapshot_for(path, document.source, snapshot),
            )


async def _outdated(
    reviewer: Reviewer,
    path: Path,
    text: str,
    state: DocumentState,
    *,
    saved: list[Path],
    snapshot: Snapshot,
) -> bool:
    """Whether what the document shows may no longer be what a review would say: a
    review already running may have started before the save; a blocked result holds
    whatever file blocked mypy, even one this file does not import; a file that depends
    on none of the saved ones keeps its result; otherwise its key decides."""
    if state.task is not None and not state.task.done():
        return True
    report = state.report
    if report is None or any(f.code == "blocked" for f in report.findings):
        return True
    if not any([await reviewer.may_depend_on(path, changed) for changed in saved]):
        return False
    return await reviewer.result_id_now(path, text, snapshot) != report.result_id


def _nothing_new(state: DocumentState, report: FileReport) -> bool:
    """For a refresh: a partial report, or a complete one that says what is shown."""
    if not report.complete:
        return True
    before = state.report
    same = (
        before is not None
        and before.complete
        and before.findings == report.findings
        and before.score == report.score
    )
    if same:
        state.report = report
    return same


def _refusal(path: Path, text: str, limit: int) -> str | None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        return (
            f"tapps: not reviewed: the file is {size / 1e6:.1f} MB, over the "
            f"{limit / 1e6:.1f} MB limit (setting maxFileSize)"
        )
    if "\x00" in text:
        return "tapps: not reviewed: the file looks binary (it contains NUL bytes)"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        decode_source(data)
    except UndecodableSource as exc:
        return f"tapps: not reviewed: {exc}"
    return None


def with_notice(report: FileReport, message: str) -> FileReport:
    notice = Finding(Source.TAPPS, "not-reviewed", message, Severity.WARNING, Span.point(0))
    return FileReport(
        report.path,
        report.content_hash,
        ToolResult(Source.TAPPS, (notice,)),
        None,
        None,
        complete=True,
        result_id=report.result_id,
    )


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


REFRESH_WINDOW_S = 0.1


def refresh_soon(ls: TappsServer) -> None:
    """Ask the client to pull again: the first request at once, any more within the next
    100 ms folded into one at its end (every pull re-pulls every open document)."""
    session = ls.session
    if not ls.client.can_refresh:
        return
    if session.refresh_pending:
        session.refresh_again = True
        return
    session.refresh_pending = True
    session.spawn(_refresh_window(ls))


async def _refresh_window(ls: TappsServer) -> None:
    session = ls.session
    try:
        while True:
            session.refresh_again = False
            session.spawn(refresh_diagnostics(ls))
            await asyncio.sleep(REFRESH_WINDOW_S)
            if not session.refresh_again:
                return
    finally:
        session.refresh_pending = False


async def refresh_diagnostics(ls: TappsServer) -> None:
    try:
        await asyncio.wait_for(ls.workspace_diagnostic_refresh_async(None), 10)
    except Exception as exc:  # a client that fails a refresh still answers pulls
        log.debug("diagnostic refresh failed: %s", exc)


def diagnostics_for(
    ls: TappsServer, report: FileReport, text: str, threshold: int
) -> list[types.Diagnostic]:
    mapper = PositionMapper(split_lines(text), ls.client.position_encoding)
    return report_diagnostics(report, mapper, threshold)


def show_failure(ls: TappsServer, failure: ToolFailure) -> None:
    """A tool's failure: logged, and shown to the user once (a batch sees it per file)."""
    calm = failure.kind in ("warning", "untrusted")
    kind = types.MessageType.Warning if calm else types.MessageType.Error
    _show_once(ls, f"{failure.tool}:{failure.kind}:{failure.message}", failure.message, kind)


def _show_once(ls: TappsServer, key: str, message: str, kind: types.MessageType) -> None:
    if key in ls.session.shown_messages:
        log.debug("%s", message)
        return
    log.warning("%s", message)
    ls.session.shown_messages.add(key)
    ls.window_show_message(types.ShowMessageParams(type=kind, message=message))


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

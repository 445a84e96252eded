"""Reviews of open documents: one task per document, a newer content's review cancels
the older one's, and a result is only shown for the document version it reviewed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from lsprotocol import types

from tapps_lsp.analyzers.admission import not_reviewed_report, refusal_of_open_text
from tapps_lsp.analyzers.findings import FileReport
from tapps_lsp.analyzers.review import Snapshot
from tapps_lsp.server.lsp.delivery import deliver
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.messages import show_failure, show_once
from tapps_lsp.server.lsp.session import DocumentState
from tapps_lsp.server.lsp.uris import uri_to_path

log = logging.getLogger(__name__)

Review = Coroutine[Any, Any, None]


def schedule_review(
    ls: TappsServer,
    uri: str,
    text: str,
    version: int | None,
    *,
    refresh: bool = False,
    snapshot: Snapshot | None = None,
    around: Callable[[Review], Review] | None = None,
) -> asyncio.Task[None]:
    """Start reviewing this content; a review of an older content is cancelled.

    `refresh`: a re-review after another document's save. `snapshot`: the project as
    scanned for a round of such re-reviews. `around`: what the review runs inside (a
    save's review, server.lsp.after_save)."""
    state = ls.session.document(uri)
    if state.task is not None and not state.task.done():
        state.task.cancel()
    state.version = version
    review = review_and_publish(ls, uri, text, version, quiet=refresh, snapshot=snapshot)
    if around is not None:
        review = around(review)
    task = ls.session.spawn(review)
    state.task = task
    return task


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

    def publish(report: FileReport) -> None:
        threshold = folder.settings.score_threshold
        deliver(ls, uri, state, report, text=text, version=version, threshold=threshold)

    refused = refusal_of_open_text(path, text, folder.settings.max_file_size)
    if refused is not None:
        publish(not_reviewed_report(path, f"tapps: {refused}"))
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
            publish(report)
        # From scheduled to the complete result (for tapps.metrics).
        elapsed_ms = (time.perf_counter() - started) * 1000
        ls.session.review_timings.record("refresh" if quiet else "review", elapsed_ms)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the server keeps serving whatever one review does
        log.exception("review of %s failed", uri)
        show_once(
            ls,
            f"internal:{type(exc).__name__}:{exc}",
            f"tapps-lsp could not review {path.name}: {exc}",
            types.MessageType.Error,
        )


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

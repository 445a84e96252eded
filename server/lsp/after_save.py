"""A save's review, and then the re-review of the other open documents of its folder
whose results the save may have changed (in rounds: server.lsp.save_rounds)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tapps_lsp.analyzers.review import Reviewer, Snapshot
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.reviews import Review, schedule_review
from tapps_lsp.server.lsp.session import DocumentState, Folder
from tapps_lsp.server.lsp.uris import uri_to_path


def review_save(ls: TappsServer, uri: str, text: str, version: int | None) -> asyncio.Task[None]:
    """Review the saved content; once no save's review of the folder runs, review again
    the other documents it changed."""
    path = uri_to_path(uri)
    if path is None:
        return schedule_review(ls, uri, text, version)
    folder = ls.session.folder_for(path)

    def as_save(review: Review) -> Review:
        return ls.save_rounds.review(
            folder.root, uri, review, lambda saved: refresh_other_documents(ls, saved, folder)
        )

    return schedule_review(ls, uri, text, version, around=as_save)


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

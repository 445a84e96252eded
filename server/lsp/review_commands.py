"""Review commands (`workspace/executeCommand`): whole folders, lists of files, one
file's score, and the cache.

Each command is a parser `(server, Arguments) -> request`, which checks every argument
before anything runs (so `tapps.submit` refuses a bad one at once), and a runner
`(CommandContext, request) -> JSON result`, so the same code serves a request (with
`$/progress`) and a background task. A runner's cancellable part runs
as `context.work`: cancelling it (progress cancel, `tapps.cancelTask`) ends the batch,
and the result says `cancelled` with what was done. A `$/cancelRequest` cancels the
whole request instead. The commands are declared in server.lsp.commands.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from tapps_lsp.analyzers.batch import BatchFile, BatchProgress, BatchReview, BatchSummary, OnFile
from tapps_lsp.analyzers.budget.answers import Limits, batch_answer, findings_answer
from tapps_lsp.analyzers.files import discover
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.serialize import finding_json
from tapps_lsp.analyzers.workspace import cache_folder
from tapps_lsp.server.lsp.answer_limits import narrowing, read_limits
from tapps_lsp.server.lsp.arguments import Arguments, invalid, workspace_path
from tapps_lsp.server.lsp.batch_publish import open_document, publish_batch_file
from tapps_lsp.server.lsp.convert import score_json
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.progress import WorkProgress
from tapps_lsp.server.lsp.protocol import EXECUTE_PARAMS
from tapps_lsp.server.lsp.session import Folder
from tapps_lsp.server.lsp.uris import uri_to_path

REVIEW_WORKSPACE = "tapps.reviewWorkspace"
REVIEW_FILES = "tapps.reviewFiles"
SCORE_FILE = "tapps.scoreFile"
CACHE_STATS = "tapps.cacheStats"
CLEAR_CACHE = "tapps.clearCache"


class ProgressSink(Protocol):
    def update(self, percentage: int, message: str) -> None: ...


@dataclass(slots=True)
class CommandContext:
    ls: TappsServer
    progress: ProgressSink
    work: asyncio.Task[Any] | None = field(default=None)

    def cancel_work(self) -> None:
        if self.work is not None:
            self.work.cancel()


Request = TypeVar("Request")


@dataclass(frozen=True, slots=True)
class ReviewCommand(Generic[Request]):
    parse: Callable[[TappsServer, Arguments], Request]
    runner: Callable[[CommandContext, Request], Awaitable[dict[str, Any]]]
    # The progress title; None for commands too quick to need progress.
    title: str | None

    async def run(self, context: CommandContext, arguments: Arguments) -> dict[str, Any]:
        return await self.runner(context, self.parse(context.ls, arguments))

    async def answer(self, ls: TappsServer, name: str, args: tuple[Any, ...]) -> dict[str, Any]:
        """The command as a request: cancellable by `$/cancelRequest`, with `$/progress`
        when it has a title."""
        ls.tapps_protocol.track_current_task()
        request = self.parse(ls, Arguments(name, args))
        params = EXECUTE_PARAMS.get()
        token = params.work_done_token if params is not None else None
        context = CommandContext(ls, _NoProgress())
        if self.title is None:
            return await self.runner(context, request)
        with WorkProgress(ls, self.title, token, on_cancel=context.cancel_work) as progress:
            context.progress = progress
            try:
                result = await self.runner(context, request)
            except asyncio.CancelledError:
                progress.close("cancelled")
                raise
            except Exception as exc:
                progress.close(f"failed: {exc}")
                raise
            progress.close(_end_message(result))
            return result


class _NoProgress:
    def update(self, percentage: int, message: str) -> None:
        pass


def _end_message(result: dict[str, Any]) -> str:
    if "runId" in result:  # a workflow run
        report = result.get("report") or {}
        message = f"{report.get('workflow', 'the run')}: {result['state']}"
        if "findings" in report:
            message += f" · {report['findings']['total']} findings"
        return message
    if "files" not in result:
        return "done"
    findings = result.get("findings", {}).get("total", 0)
    how = "cancelled after" if result.get("cancelled") else "reviewed"
    seconds = result.get("durationMs", 0) / 1000
    return f"{how} {result['files']} files · {findings} findings · {seconds:.1f} s"


# --- review commands ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkspaceRequest:
    roots: list[Path]
    include: list[str]
    exclude: list[str]
    limits: Limits


def parse_review_workspace(ls: TappsServer, args: Arguments) -> WorkspaceRequest:
    folder_arg = args.optional_string("folder")
    include = args.strings("include")
    exclude = args.strings("exclude")
    limits = read_limits(args)
    args.done()
    if folder_arg is None:
        return WorkspaceRequest(list(ls.session.folders), include, exclude, limits)
    root = workspace_path(ls, args.command, folder_arg, "folder")
    if not root.is_dir():
        raise invalid(args.command, f"'folder' is not a folder: {folder_arg}")
    return WorkspaceRequest([root], include, exclude, limits)


async def review_workspace(context: CommandContext, request: WorkspaceRequest) -> dict[str, Any]:
    roots = request.roots
    files = await asyncio.to_thread(
        workspace_files, context.ls, roots, request.include, request.exclude
    )
    relative_to = roots[0] if len(roots) == 1 else None
    limits = request.limits
    return await run_batch(context, files, relative_to=relative_to, limits=limits)


@dataclass(frozen=True, slots=True)
class FilesRequest:
    paths: list[Path]
    limits: Limits


def parse_review_files(ls: TappsServer, args: Arguments) -> FilesRequest:
    uris = args.strings("uris", required=True)
    limits = read_limits(args)
    args.done()
    paths: list[Path] = []
    for uri in dict.fromkeys(uris):
        path = workspace_path(ls, args.command, uri, "uris")
        if not path.is_file():
            raise invalid(args.command, f"not a file: {uri}")
        paths.append(path)
    return FilesRequest(paths, limits)


async def review_files(context: CommandContext, request: FilesRequest) -> dict[str, Any]:
    session = context.ls.session
    files = [(_reviewer(session.folder_for(path)), path) for path in request.paths]
    return await run_batch(context, files, relative_to=None, limits=request.limits)


async def run_batch(
    context: CommandContext,
    files: list[tuple[Reviewer, Path]],
    *,
    relative_to: Path | None,
    limits: Limits,
) -> dict[str, Any]:
    ls = context.ls
    done: list[BatchFile] = []

    def on_file(item: BatchFile) -> None:
        done.append(item)
        publish_batch_file(ls, item)

    batch = new_batch(
        ls,
        files,
        on_file=on_file,
        progress=context.progress,
        relative_to=relative_to,
    )
    context.work = asyncio.ensure_future(batch.run())
    summary: BatchSummary
    try:
        summary = await context.work
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        summary = batch.summary
    finally:
        context.work = None
    paths = "fewer 'uris'" if relative_to is None else "a 'folder', 'include' or 'exclude'"
    return batch_answer(summary, done, relative_to, limits, narrowing(paths))


def describe(progress: BatchProgress, relative_to: Path | None) -> tuple[int, str]:
    """(percentage, `37/120 files · rich/console.py · ~4 s left`)."""
    percentage = int(progress.fraction * 100)
    parts = [f"{progress.done}/{progress.total} files"]
    if progress.done == 0 or progress.stage != "files":
        parts.append(progress.stage)
    elif progress.current is not None:
        current = progress.current
        if relative_to is not None and current.is_relative_to(relative_to):
            current = current.relative_to(relative_to)
        parts.append(current.as_posix())
    if progress.eta_s is not None and progress.done < progress.total:
        parts.append(f"~{max(round(progress.eta_s), 1)} s left")
    return percentage, " · ".join(parts)


def workspace_files(
    ls: TappsServer, roots: list[Path], include: list[str], exclude: list[str]
) -> list[tuple[Reviewer, Path]]:
    """The Python files under `roots`, each with its folder's reviewer, without what
    .gitignore, the folder's `exclude` setting and `exclude` name (blocking: walks)."""
    files: list[tuple[Reviewer, Path]] = []
    for root in roots:
        folder = ls.session.folder_for(root)
        patterns = [*folder.settings.exclude, *exclude]
        reviewer = _reviewer(folder)
        files += [(reviewer, p) for p in discover(root, include=include, exclude=patterns)]
    return files


def new_batch(
    ls: TappsServer,
    files: list[tuple[Reviewer, Path]],
    *,
    on_file: OnFile,
    progress: ProgressSink,
    relative_to: Path | None,
) -> BatchReview:
    """A batch over `files` that reviews open documents' editor text and reports progress
    as `37/120 files · path · ~4 s left`."""
    return BatchReview(
        files,
        min((reviewer.settings.workers for reviewer, _ in files), default=1),
        on_file=on_file,
        on_progress=lambda state: progress.update(*describe(state, relative_to)),
        open_text=lambda path: open_document(ls, path),
    )


def _reviewer(folder: Folder) -> Reviewer:
    reviewer = folder.reviewer
    assert reviewer is not None, "every folder has a reviewer once configured"
    return reviewer


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    path: Path
    limits: Limits


def parse_score_file(ls: TappsServer, args: Arguments) -> ScoreRequest:
    uri = args.string("uri")
    limits = read_limits(args)
    args.done()
    path = workspace_path(ls, args.command, uri, "uri")
    if not path.is_file():
        raise invalid(args.command, f"not a file: {uri}")
    return ScoreRequest(path, limits)


async def score_file(context: CommandContext, request: ScoreRequest) -> dict[str, Any]:
    ls, path = context.ls, request.path
    folder = ls.session.folder_for(path)
    opened = open_document(ls, path)
    text = opened[0] if opened else await asyncio.to_thread(path.read_text, "utf-8", "replace")
    reports = [report async for report in _reviewer(folder).review(path, text)]
    report = reports[-1]
    answer = {
        "uri": path.as_uri(),
        "version": opened[1] if opened else None,
        "score": score_json(report.score) if report.score is not None else None,
        "failures": [failure.message for failure in report.failures],
        "resultId": report.result_id,
    }
    findings = [finding_json(finding) for finding in report.findings]
    limits = request.limits
    return findings_answer(answer, findings, limits, narrowing(None), lambda _: path.name)


# --- cache commands ----------------------------------------------------------------


def parse_nothing(ls: TappsServer, args: Arguments) -> None:
    args.done()


async def cache_stats(context: CommandContext, request: None) -> dict[str, Any]:
    folders = []
    for folder in context.ls.session.all_folders():
        stats = folder.store.stats() if folder.store is not None else None
        reviewer = folder.reviewer
        folders.append(
            {
                "root": str(folder.root),
                "folder": str(cache_folder(folder.root, folder.settings)),
                "entries": stats.entries if stats else 0,
                "bytes": stats.total_bytes if stats else 0,
                "hits": reviewer.hits if reviewer else 0,
                "misses": reviewer.misses if reviewer else 0,
            }
        )
    return {"folders": folders}


def parse_clear_cache(ls: TappsServer, args: Arguments) -> list[Folder]:
    """`scope`: "all" (the default) or one workspace folder's URI or path."""
    scope = args.optional_string("scope") or "all"
    args.done()
    if scope == "all":
        return list(ls.session.all_folders())
    root = workspace_path(ls, args.command, scope, "scope")
    folders = [f for f in ls.session.all_folders() if f.root.resolve() == root]
    if not folders:
        raise invalid(args.command, f"'scope' is not a workspace folder: {scope}")
    return folders


async def clear_cache(context: CommandContext, folders: list[Folder]) -> dict[str, Any]:
    ls = context.ls
    removed = 0
    for folder in folders:
        if folder.store is not None:
            removed += await asyncio.to_thread(folder.store.clear)
        mypy_cache = cache_folder(folder.root, folder.settings) / "mypy"
        await asyncio.to_thread(shutil.rmtree, mypy_cache, True)
    ls.session.workspace_reports = {
        uri: report
        for uri, report in ls.session.workspace_reports.items()
        if not any(_under(uri, folder.root) for folder in folders)
    }
    return {"cleared": [str(folder.root) for folder in folders], "entriesRemoved": removed}


def _under(uri: str, root: Path) -> bool:
    path = uri_to_path(uri)
    return path is not None and (path == root or root in path.parents)

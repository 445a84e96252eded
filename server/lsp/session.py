"""Per-workspace state: folders with their settings and engines, and open-document reviews."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.baseline.files import BaselineFiles
from tapps_lsp.analyzers.cache.store import ResultStore
from tapps_lsp.analyzers.findings import FileReport
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.timings import Timings
from tapps_lsp.analyzers.trust import TRUST_KEY
from tapps_lsp.analyzers.workflows.service import FolderWorkflows
from tapps_lsp.analyzers.workspace import (
    cache_folder,
    make_reviewer,
    open_store,
    project_root,
    project_settings,
    user_cache_folder,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Folder:
    """One workspace folder (or the project of a file outside every folder)."""

    root: Path
    editor_settings: dict[str, Any] = field(default_factory=dict)
    pinned_settings: dict[str, Any] = field(default_factory=dict)
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    problems: list[str] = field(default_factory=list)
    store: ResultStore | None = None
    reviewer: Reviewer | None = None
    # Its workflows and run log, made with its first reviewer (server.lsp.workflow_commands).
    workflows: FolderWorkflows | None = None
    # Where its reviewers record their tool runs (the server's, shared by every folder).
    timings: Timings | None = None
    _closing: set[asyncio.Task[None]] = field(default_factory=set)

    def configure(self, global_settings: Mapping[str, Any] | None) -> bool:
        """Rebuild settings from every layer; returns True when they changed."""
        settings, problems = project_settings(
            self.root,
            global_settings,
            workspace_fed=self.editor_settings,
            pinned=self.pinned_settings,
        )
        changed = settings != self.settings or self.reviewer is None
        self.problems = problems
        if changed:
            self._rebuild(settings)
        return changed

    def _rebuild(self, settings: ReviewSettings) -> None:
        old = self.settings
        self.settings = settings
        if self.store is None or old.cache != settings.cache:
            if self.store is not None:
                self.store.close()
            self.store = open_store(self.root, settings)
        self._replace_reviewer(make_reviewer(self.root, settings, self.store, self.timings))

    def forget_projects(self) -> None:
        """Config files changed: mypy roots, targets and engines must be found again."""
        if self.reviewer is not None and self.store is not None:
            self._replace_reviewer(
                make_reviewer(self.root, self.settings, self.store, self.timings)
            )

    def _replace_reviewer(self, reviewer: Reviewer) -> None:
        old, self.reviewer = self.reviewer, reviewer
        if self.workflows is None:
            log_folder = cache_folder(self.root, self.settings)
            self.workflows = FolderWorkflows(
                reviewer, log_folder if self.settings.cache.enabled else None
            )
        else:
            self.workflows.use_reviewer(reviewer)
        if old is not None:
            task = asyncio.ensure_future(old.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Stop the mypy engines, then close the store."""
        reviewer, self.reviewer = self.reviewer, None
        if reviewer is not None:
            await reviewer.close()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        self.close()

    def close(self) -> None:
        if self.workflows is not None:
            self.workflows.close()
        if self.store is not None:
            self.store.close()
            self.store = None


@dataclass(slots=True)
class DocumentState:
    """What the server last concluded about one open document."""

    version: int | None = None
    report: FileReport | None = None
    report_text: str = ""
    report_version: int | None = None
    task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_changed(self) -> None:
        await self._changed.wait()


@dataclass(slots=True)
class Session:
    folders: dict[Path, Folder] = field(default_factory=dict)
    loose: dict[Path, Folder] = field(default_factory=dict)
    global_settings: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, DocumentState] = field(default_factory=dict)
    shown_messages: set[str] = field(default_factory=set)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # Batch results of files that are not open (values: server.lsp.batch_publish.WorkspaceReport).
    workspace_reports: dict[str, Any] = field(default_factory=dict)
    # Each file's findings from the last run of each workflow, by path and workflow name
    # (values: server.lsp.workflow_publish.WorkflowFindings).
    workflow_findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Durations (ms) of tool runs ("ruff", "mypy", ...) and of open-document reviews.
    tool_timings: Timings = field(default_factory=Timings)
    # Each project's `.tapps/baseline.json`, read again when it changes (server.lsp.baseline_view).
    baselines: BaselineFiles = field(default_factory=BaselineFiles)
    review_timings: Timings = field(default_factory=Timings)
    _workspace_event: asyncio.Event = field(default_factory=asyncio.Event)

    def workspace_changed(self) -> None:
        """Wake whoever waits for a change in what a workspace review would say."""
        event, self._workspace_event = self._workspace_event, asyncio.Event()
        event.set()

    async def wait_workspace_change(self) -> None:
        await self._workspace_event.wait()

    def add_folder(self, root: Path) -> Folder:
        folder = self.folders.get(root)
        if folder is None:
            folder = self.folders[root] = Folder(root, timings=self.tool_timings)
            folder.configure(self.global_settings)
        return folder

    def remove_folder(self, root: Path) -> None:
        folder = self.folders.pop(root, None)
        if folder is not None:
            self.spawn(folder.aclose())

    def folder_for(self, path: Path) -> Folder:
        """The deepest workspace folder holding `path`, else the project around it."""
        best: Folder | None = None
        for root, folder in self.folders.items():
            if (root == path or root in path.parents) and (
                best is None or len(root.parts) > len(best.root.parts)
            ):
                best = folder
        if best is not None:
            return best
        root = project_root(path)
        loose = self.loose.get(root)
        if loose is None:
            # Not a folder the client opened: never trusted, whatever it says of those.
            cache = {"cache": {"dir": str(user_cache_folder(root))}, TRUST_KEY: False}
            loose = self.loose[root] = Folder(
                root, pinned_settings=cache, timings=self.tool_timings
            )
            loose.configure(self.global_settings)
        return loose

    def all_folders(self) -> list[Folder]:
        return [*self.folders.values(), *self.loose.values()]

    def document(self, uri: str) -> DocumentState:
        state = self.documents.get(uri)
        if state is None:
            state = self.documents[uri] = DocumentState()
        return state

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def aclose(self) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*(folder.aclose() for folder in self.all_folders()))

    def close(self) -> None:
        for task in list(self.background):
            task.cancel()
        for folder in self.all_folders():
            folder.close()

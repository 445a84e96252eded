"""The one project an MCP server answers for: its settings, reviewer and workflows, and
the paths a tool may name (inside the project only)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.batch import BatchFile, BatchReview, BatchSummary
from tapps_lsp.analyzers.files import python_files
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.serialize import finding_json
from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.trust import confine
from tapps_lsp.analyzers.workflows.service import FolderWorkflows
from tapps_lsp.analyzers.workspace import (
    cache_folder,
    make_reviewer,
    open_store,
    project_root,
    project_settings,
)


class ToolRefused(ValueError):
    """A tool's arguments are wrong (a path outside the project, ...): the message says
    what, and the agent gets it as the tool's error."""


@dataclass(slots=True)
class McpProject:
    root: Path
    settings: ReviewSettings
    reviewer: Reviewer
    workflows: FolderWorkflows
    problems: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path, client_layer: dict[str, Any]) -> McpProject:
        root = project_root(path.resolve())
        settings, problems = project_settings(root, client_layer)
        reviewer = make_reviewer(root, settings, open_store(root, settings))
        log_folder = cache_folder(root, settings) if settings.cache.enabled else None
        return cls(root, settings, reviewer, FolderWorkflows(reviewer, log_folder), problems)

    def path(self, value: str) -> Path:
        """A path a tool names, absolute or relative to the project root, resolved and
        inside the project; else ToolRefused."""
        named = Path(value).expanduser()
        if not named.is_absolute():
            named = self.root / named
        inside = confine(named, [self.root])
        if inside is None:
            raise ToolRefused(f"{value} is outside the project {self.root}")
        if not inside.exists():
            raise ToolRefused(f"no such file or folder: {value}")
        return inside

    def files(self, paths: Sequence[str]) -> list[Path]:
        given = [self.path(value) for value in paths] or [self.root]
        return list(python_files(given, exclude=self.settings.exclude, base=self.root))

    async def review(self, files: list[Path]) -> tuple[BatchSummary, list[BatchFile]]:
        """The batch summary (whose JSON is the LSP's `tapps.reviewFiles` answer) and
        every file's outcome, in the order given."""
        done: list[BatchFile] = []
        batch = BatchReview(
            [(self.reviewer, path) for path in files],
            self.settings.workers,
            on_file=done.append,
            on_progress=lambda progress: None,
        )
        summary = await batch.run()
        order = {path: index for index, path in enumerate(files)}
        done.sort(key=lambda item: order.get(item.path, len(order)))
        return summary, done

    def file_json(self, item: BatchFile) -> dict[str, Any]:
        report = item.report
        shown = item.path.relative_to(self.root).as_posix()
        if report is None:
            return {"path": shown, "notReviewed": item.problem}
        score = report.score.total if report.score is not None else None
        return {
            "path": shown,
            "score": score,
            "findings": [finding_json(finding) for finding in report.findings],
            "failures": [failure.message for failure in report.failures],
        }

    async def close(self) -> None:
        await self.reviewer.close()
        self.workflows.close()
        await asyncio.to_thread(self.reviewer.store.close)

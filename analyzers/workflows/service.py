"""One workspace folder's workflows, as the server and the CLI use them: which there
are (and what is wrong with the others), and runs started, resumed and read back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tapps_lsp.analyzers.breaker import Breakers
from tapps_lsp.analyzers.files import discover, python_files
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.workflows.execute import (
    OnChange,
    WorkflowContext,
    WorkflowRun,
    resume_run,
    start_run,
)
from tapps_lsp.analyzers.workflows.kinds.registry import option_problems
from tapps_lsp.analyzers.workflows.load import LoadedWorkflows, WorkflowProblem, load_workflows
from tapps_lsp.analyzers.workflows.presets import presets
from tapps_lsp.analyzers.workflows.run_log import RunLog
from tapps_lsp.analyzers.workflows.spec import WorkflowSpec


class UnknownWorkflow(LookupError):
    """No such workflow, or one whose declaration has problems (they are the message)."""


@dataclass(slots=True)
class FolderWorkflows:
    """The workflows of the folder `reviewer` reviews, its run log in `log_folder` (the
    folder's cache folder; None keeps it in memory) and the breakers it shares."""

    reviewer: Reviewer
    log_folder: Path | None
    breakers: Breakers = field(default_factory=Breakers)
    _loaded: LoadedWorkflows | None = None
    _context: WorkflowContext | None = None

    @property
    def root(self) -> Path:
        return self.reviewer.root

    @property
    def loaded(self) -> LoadedWorkflows:
        """Read once; `reload` after pyproject.toml or the settings change."""
        if self._loaded is None:
            settings = self.reviewer.settings
            self._loaded = load_workflows(
                self.root,
                settings,
                option_problems=option_problems,
                builtin=presets(settings.test_command),
            )
        return self._loaded

    @property
    def problems(self) -> list[WorkflowProblem]:
        return self.loaded.problems

    def reload(self) -> None:
        self._loaded = None

    @property
    def context(self) -> WorkflowContext:
        if self._context is None:
            self._context = WorkflowContext(
                self.root, self.reviewer, RunLog(self.log_folder), self.breakers
            )
        return self._context

    def use_reviewer(self, reviewer: Reviewer) -> None:
        """The folder's reviewer was replaced (settings or config files changed)."""
        self.reviewer = reviewer
        self._loaded = None
        if self._context is not None:
            self._context.reviewer = reviewer

    def workflows(self) -> list[WorkflowSpec]:
        return list(self.loaded.workflows.values())

    def spec(self, name: str) -> WorkflowSpec:
        found = self.loaded.workflows.get(name)
        if found is not None:
            return found
        problems = [str(p) for p in self.problems if p.workflow == name]
        if problems:
            raise UnknownWorkflow(f"workflow `{name}` is not valid: " + "; ".join(problems))
        known = ", ".join(self.loaded.workflows)
        raise UnknownWorkflow(f"no workflow `{name}` (there are: {known})")

    async def files(self, paths: Sequence[Path] = ()) -> list[Path]:
        """The Python files of `paths` (files or folders), else of the whole folder."""
        exclude = self.reviewer.settings.exclude
        if paths:
            return await asyncio.to_thread(
                lambda: list(python_files(paths, exclude=exclude, base=self.root))
            )
        return await asyncio.to_thread(lambda: list(discover(self.root, exclude=exclude)))

    async def start(
        self, name: str, paths: Sequence[Path] = (), *, on_change: OnChange | None = None
    ) -> WorkflowRun:
        spec = self.spec(name)
        files = await self.files(paths)
        shown = [_relative(path, self.root) for path in paths]
        return await start_run(self.context, spec, files, paths=shown, on_change=on_change)

    async def resume(self, run_id: str, *, on_change: OnChange | None = None) -> WorkflowRun:
        return await resume_run(self.context, run_id, on_change=on_change)

    async def sweep_interrupted(self) -> list[str]:
        return await asyncio.to_thread(self.context.log.sweep_interrupted)

    def close(self) -> None:
        if self._context is not None:
            self._context.log.close()


def _relative(path: Path, root: Path) -> str:
    resolved = path.resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(path)

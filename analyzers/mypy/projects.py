"""The mypy projects under one workspace root: one per config root, config file and set
of targets, each with its import indexer and, when the engine is on, its engine."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from tapps_lsp.analyzers.cache.store import ResultStore
from tapps_lsp.analyzers.configs import MypyConfig, find_mypy_config
from tapps_lsp.analyzers.imports import ProjectIndexer
from tapps_lsp.analyzers.interpreter import PythonEnvironment
from tapps_lsp.analyzers.mypy.project import MypyProject, run_targets
from tapps_lsp.analyzers.mypy.project_engine import ProjectEngine
from tapps_lsp.analyzers.settings import ReviewSettings


@dataclass(slots=True)
class ProjectRegistry:
    root: Path
    settings: ReviewSettings
    store: ResultStore
    cache_dir: Path  # mypy's own cache
    _projects: dict[tuple[Path, Path | None, tuple[str, ...]], MypyProject] = field(
        default_factory=dict
    )
    _indexers: dict[Path, ProjectIndexer] = field(default_factory=dict)

    def all(self) -> list[MypyProject]:
        return list(self._projects.values())

    def project_for(self, path: Path, environment: PythonEnvironment) -> MypyProject:
        config = find_mypy_config(path, self.root)
        targets = run_targets(config, path, self.settings.mypy)
        key = (config.root, config.config_file, targets)
        project = self._projects.get(key)
        if project is None:
            project = self._projects[key] = self._open(config, targets, environment)
        return project

    async def close(self) -> None:
        """Stop every engine the projects started."""
        projects, self._projects = list(self._projects.values()), {}
        await asyncio.gather(*(project.close() for project in projects))

    def _open(
        self, config: MypyConfig, targets: tuple[str, ...], environment: PythonEnvironment
    ) -> MypyProject:
        settings = self.settings
        project = MypyProject(
            config=config,
            targets=targets,
            settings=settings.mypy,
            cache_dir=self.cache_dir,
            timeout=settings.timeout,
            indexer=self._indexer_for(config),
            environment=environment,
            trusted=settings.trusted_workspace,
        )
        if settings.mypy.engine and environment.mypy_python is not None:
            project.engine = ProjectEngine(
                environment.mypy_python,
                config.root,
                project.engine_argv(),
                settings.timeout,
                max_rss_mb=settings.engine_max_rss_mb,
                launch_refusal=project.untrusted_code,
            )
        return project

    def _indexer_for(self, config: MypyConfig) -> ProjectIndexer:
        indexer = self._indexers.get(config.root)
        if indexer is None:
            indexer = self._indexers[config.root] = ProjectIndexer(config.root, self.store)
        return indexer

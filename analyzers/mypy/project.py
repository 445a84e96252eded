"""The project-level mypy run: one config root, one set of targets, parsed into findings.

The truth a user compares against is their project-level run (what CI does), so
every check runs mypy from the config root over the project's targets, never over
the single saved file: inside an import cycle a file-rooted check can disagree.
One run yields findings for every file it owns, and those are cached per file.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.configs import MypyConfig, config_bool, config_option
from tapps_lsp.analyzers.findings import (
    Finding,
    Related,
    Severity,
    Source,
    Span,
    ToolFailure,
    as_stale,
)
from tapps_lsp.analyzers.imports import ProjectGraph, ProjectIndexer
from tapps_lsp.analyzers.interpreter import PythonEnvironment
from tapps_lsp.analyzers.mypy.columns import MypyColumnMapper
from tapps_lsp.analyzers.mypy.engine import EngineError, EngineResult
from tapps_lsp.analyzers.mypy.file_stat import file_stat
from tapps_lsp.analyzers.mypy.output import RawMessage, parse_output, raw_message, to_finding
from tapps_lsp.analyzers.mypy.project_engine import ProjectEngine
from tapps_lsp.analyzers.process import Completed, ProcessError, run_process
from tapps_lsp.analyzers.settings import MypySettings
from tapps_lsp.analyzers.trust import (
    code_mypy_would_run,
    untrusted_mypy_args,
    untrusted_mypy_message,
)

# Scans and checks in a row before giving up on a project whose files keep changing.
_ENGINE_ATTEMPTS = 3


def run_targets(config: MypyConfig, path: Path, settings: MypySettings) -> tuple[str, ...]:
    """What the project-level run checks: the config's own targets, the setting, or the
    top-level package (or source folder) that holds `path`."""
    if settings.targets:
        return settings.targets
    if config.targets_from_config:
        return ()
    top = _top_level_package(path, config.root)
    if top is None:
        top = path.parent if path.parent != config.root else path
    return (os.path.relpath(top, config.root),)


def _top_level_package(path: Path, root: Path) -> Path | None:
    folder = path.parent
    top: Path | None = None
    while folder != root and root in folder.parents and _is_package(folder):
        top = folder
        folder = folder.parent
    return top


def _is_package(folder: Path) -> bool:
    return (folder / "__init__.py").exists() or (folder / "__init__.pyi").exists()


@dataclass(frozen=True, slots=True)
class MypyRun:
    """One project-level run: findings for every file it owns, or why there are none."""

    findings: dict[Path, tuple[Finding, ...]]
    owned: frozenset[Path]
    graph: ProjectGraph
    blocked: bool = False
    failure: ToolFailure | None = None
    warnings: tuple[str, ...] = ()
    duration_ms: float = 0.0
    # False when sources changed while mypy read them: shown, never stored.
    settled: bool = True
    # True when no tool ran: the sources were those of the last run, blocked.
    repeated: bool = False


@dataclass(slots=True)
class MypyProject:
    """The project-level mypy run for one config root and one set of targets.

    Runs are serialised (they share one cache folder). It remembers each file's
    last complete findings, to show them marked stale while a syntax error blocks
    the check, and the stat of every file at the last run, to catch edits that
    keep size and whole-second mtime (mypy would trust its cache for those).
    """

    config: MypyConfig
    targets: tuple[str, ...]
    settings: MypySettings
    cache_dir: Path
    timeout: float
    indexer: ProjectIndexer
    environment: PythonEnvironment
    # Whether the workspace may make mypy run its code (plugins); see analyzers.trust.
    trusted: bool = False
    engine: ProjectEngine | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _last_good: dict[Path, tuple[Finding, ...]] = field(default_factory=dict)
    # While a blocking error stands: the blocking files' digests, and the notice.
    _blocking: dict[Path, str] = field(default_factory=dict)
    _blocked_notice: Finding | None = None
    _blocked_by: _BlockedRun | None = None
    _seen: dict[Path, tuple[int, int, str]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def native_parser(self) -> bool:
        """Which parser's column convention mypy reports in (native is mypy 2's default)."""
        for arg in reversed(self.settings.args):
            if arg in ("--native-parser", "--no-native-parser"):
                return arg == "--native-parser"
        return config_bool(self.config, "native_parser") is not False

    @property
    def environment_args(self) -> tuple[str, ...]:
        """`--python-executable`, unless the project names its own."""
        if "--python-executable" in self.settings.args:
            return ()
        if config_option(self.config, "python_executable") is not None:
            return ()
        return self.environment.python_executable_args

    def untrusted_code(self) -> str | None:
        """Why mypy must not run here: the workspace is not trusted and its config would
        have mypy run its code. None when mypy may run."""
        if self.trusted:
            return None
        return code_mypy_would_run(self.config, self.settings.args)

    def owns(self, path: Path) -> bool:
        if not self.targets:
            return True
        for target in self.targets:
            target_path = (self.root / target).resolve()
            if path == target_path or target_path in path.parents:
                return True
        return False

    async def run(self, shadows: Mapping[Path, str]) -> MypyRun:
        """The fine-grained engine's answer when it is ready and the sources are on
        disk; otherwise (unsaved text, engine warming up or failed) the CLI run."""
        refused = self.untrusted_code()
        if refused is not None:
            graph = await asyncio.to_thread(self.indexer.scan, shadows)
            failure = ToolFailure(Source.MYPY, "untrusted", untrusted_mypy_message(refused))
            return MypyRun({}, frozenset(), graph, failure=failure)
        async with self._lock:
            engine = self.engine if not shadows else None
            if engine is None:
                graph = await asyncio.to_thread(self.indexer.scan, shadows)
                return self._blocked_again(graph) or await self._run_cli(graph, shadows)
            # The engine must read the files as the scan below sees them: nothing queued
            # ahead of this run's check, and no prime sent until it is done.
            engine.checking = True
            try:
                await engine.prime_settled()
                return await self._engine_run(engine)
            finally:
                engine.checking = False

    async def _engine_run(self, engine: ProjectEngine) -> MypyRun:
        notices: tuple[str, ...] = ()
        unsettled: MypyRun | None = None
        for _ in range(_ENGINE_ATTEMPTS):
            graph = await asyncio.to_thread(self.indexer.scan, {})
            again = self._blocked_again(graph)
            if again is not None:
                return again
            if not engine.ready and not engine.primed:
                self.warm()
                if not self._cli_is_incremental():
                    await engine.wait_ready()
            # A prime's answer (or its failure) is this run's, even if the engine
            # went down since.
            if not (engine.ready or engine.primed):
                break
            try:
                result = await engine.check(graph)
            except EngineError as exc:
                notices = (f"the mypy engine failed ({exc}); using the mypy CLI",)
                break
            run = self._from_engine(result, graph)
            if result.settled:
                return run
            # A file changed while the engine read the sources: scan and ask again.
            unsettled = replace(run, settled=False)
        if unsettled is not None:
            return unsettled  # files keep changing: the best answer there is, not stored
        graph = await asyncio.to_thread(self.indexer.scan, {})
        run = await self._run_cli(graph, {})
        return replace(run, warnings=(*notices, *run.warnings)) if notices else run

    def _from_engine(self, result: EngineResult, graph: ProjectGraph) -> MypyRun:
        real_paths: dict[str, Path] = {}
        messages = [
            m for m in (self._record(r, real_paths) for r in result.messages) if m is not None
        ]
        grouped = self._group(messages, {})
        owned = frozenset(p for p in graph.files if self.owns(p))
        warnings = tuple(line for line in result.other if line.strip())
        if result.blocking:
            return self._blocked(grouped, owned, graph, warnings, result.duration_ms)
        return self._complete(grouped, owned, graph, warnings, result.duration_ms)

    def _record(self, record: dict[str, Any], real_paths: dict[str, Path]) -> RawMessage | None:
        try:
            return raw_message(record, self.root, real_paths)
        except (ValueError, TypeError, AttributeError):
            return None

    async def _run_cli(self, graph: ProjectGraph, shadows: Mapping[Path, str]) -> MypyRun:
        with tempfile.TemporaryDirectory(prefix="tapps-mypy-") as scratch:
            argv = self._argv(self._shadow_args(graph, shadows, Path(scratch)))
            started = time.perf_counter()
            try:
                done = await run_process(argv, cwd=self.root, timeout=self.timeout)
            except ProcessError as exc:
                failure = ToolFailure(Source.MYPY, exc.kind, f"mypy: {exc.message}")
                return MypyRun({}, frozenset(), graph, failure=failure)
            duration = (time.perf_counter() - started) * 1000
        self._remember_stats(graph)
        return self._interpret(done, graph, shadows, duration)

    @property
    def engine_ready(self) -> bool:
        return self.engine is not None and self.engine.ready

    def engine_behind(self, graph: ProjectGraph) -> bool:
        """Whether the ready engine has yet to see some of `graph`'s sources."""
        return self.engine is not None and self.engine.ready and self.engine.behind(graph)

    def _cli_is_incremental(self) -> bool:
        """Whether a CLI run can start from mypy's cache; without one it costs a full
        build, slower than the engine's (which has no cache to write), and both
        building at once on a small machine would delay the first result further."""
        try:
            return any(self.cache_dir.iterdir())
        except OSError:
            return False

    @property
    def blocked(self) -> bool:
        """A blocking error stood at the last run."""
        return self._blocked_notice is not None

    def blocked_view(
        self, path: Path, graph: ProjectGraph, findings: tuple[Finding, ...]
    ) -> tuple[Finding, ...] | None:
        """How a file's stored findings show while a blocking error still stands in
        `graph` (the project as it is now): the notice, then those findings marked
        stale, as a run would show them; None when nothing blocks the project."""
        if self._blocked_notice is None or path in self._blocking:
            return None
        if any(graph.digest_of(p) != digest for p, digest in self._blocking.items()):
            return None
        return (self._blocked_notice, *map(as_stale, findings))

    def note_shown(self, path: Path, findings: tuple[Finding, ...]) -> None:
        """A stored result now shown for `path`: its findings are the last good ones (an
        undo answered from the cache must not leave the undone edit's behind)."""
        self._last_good[path] = findings

    def warm(self) -> None:
        """Start building the fine-grained engine's state in the background."""
        if self.engine is not None and self.untrusted_code() is None:
            self.engine.warm(lambda: asyncio.to_thread(self.indexer.scan, {}))

    def engine_argv(self) -> list[str]:
        """The project-level run's arguments, for the engine (it sets display flags itself)."""
        return [
            *self._config_args(),
            *self.environment_args,
            *self.settings.args,
            *self._target_args(),
        ]

    def _run_args(self) -> list[str]:
        return [*self.environment_args, *self.settings.args, *self._target_args()]

    def _target_args(self) -> list[str]:
        """The targets as mypy must read them: a folder named `@x` or `--flag` is a path,
        not an argument file or an option."""
        return [
            os.path.join(os.curdir, target) if target.startswith(("-", "@")) else target
            for target in self.targets
        ]

    def _config_args(self) -> list[str]:
        """The config file mypy reads: ours, and in an untrusted workspace never one mypy
        finds by itself (nor types it would install)."""
        if not self.trusted:
            return list(untrusted_mypy_args(self.config))
        return ["--config-file", str(self.config.config_file)] if self.config.config_file else []

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.close()

    def _argv(self, shadow_args: list[str]) -> list[str]:
        argv = [
            *self.environment.mypy_command,
            "-O",
            "json",
            "--show-absolute-path",
            "--no-error-summary",
            "--cache-dir",
            str(self.cache_dir),
        ]
        argv += self._config_args()
        return [
            *argv,
            *shadow_args,
            *self.environment_args,
            *self.settings.args,
            *self._target_args(),
        ]

    def _shadow_args(
        self, graph: ProjectGraph, shadows: Mapping[Path, str], scratch: Path
    ) -> list[str]:
        args: list[str] = []
        for index, (path, text) in enumerate(shadows.items()):
            copy = scratch / f"shadow{index}{path.suffix}"
            copy.write_text(text, encoding="utf-8")
            args += ["--shadow-file", str(path), str(copy)]
        for index, path in enumerate(self._same_stat_edits(graph, shadows)):
            copy = scratch / f"changed{index}{path.suffix}"
            copy.write_bytes(path.read_bytes())
            os.utime(copy, (1, 1))
            args += ["--shadow-file", str(path), str(copy)]
        return args

    def _same_stat_edits(self, graph: ProjectGraph, shadows: Mapping[Path, str]) -> list[Path]:
        """Files whose content changed since our last run but whose (size, second) did not."""
        changed = []
        for path, entry in graph.files.items():
            seen = self._seen.get(path)
            if seen is None or path in shadows:
                continue
            stat = file_stat(path)
            if (
                stat is not None
                and (stat.size, stat.mtime_seconds) == seen[:2]
                and entry.digest != seen[2]
            ):
                changed.append(path)
        return changed

    def _remember_stats(self, graph: ProjectGraph) -> None:
        for path, entry in graph.files.items():
            stat = file_stat(path)
            if stat is not None:
                self._seen[path] = (stat.size, stat.mtime_seconds, entry.digest)

    def _interpret(
        self, done: Completed, graph: ProjectGraph, shadows: Mapping[Path, str], duration: float
    ) -> MypyRun:
        returncode = done.returncode
        messages = parse_output(done.stdout, self.root)
        errors_text = done.stderr.decode(errors="replace").strip()
        owned = frozenset(p for p in graph.files if self.owns(p))
        if returncode == 2 and not messages:
            kind = (
                "crash"
                if "Traceback" in errors_text or "INTERNAL ERROR" in errors_text
                else ("config")
            )
            failure = ToolFailure(Source.MYPY, kind, f"mypy: {errors_text or 'exited with 2'}")
            return MypyRun({}, owned, graph, failure=failure, duration_ms=duration)
        warnings = tuple(line for line in errors_text.splitlines() if line.strip())
        grouped = self._group(messages, shadows)
        if returncode == 2:
            return self._blocked(grouped, owned, graph, warnings, duration)
        return self._complete(grouped, owned, graph, warnings, duration)

    def _complete(
        self,
        grouped: dict[Path, tuple[Finding, ...]],
        owned: frozenset[Path],
        graph: ProjectGraph,
        warnings: tuple[str, ...],
        duration: float,
    ) -> MypyRun:
        """A run that checked the whole project: its findings are the last good ones, and
        nothing blocks the project any more."""
        findings = {path: grouped.get(path, ()) for path in owned | grouped.keys()}
        self._last_good.update(findings)
        self._blocking, self._blocked_notice, self._blocked_by = {}, None, None
        return MypyRun(
            findings, owned | frozenset(grouped), graph, warnings=warnings, duration_ms=duration
        )

    def _group(
        self, messages: list[RawMessage], shadows: Mapping[Path, str]
    ) -> dict[Path, tuple[Finding, ...]]:
        by_path: dict[Path, list[RawMessage]] = {}
        for message in messages:
            by_path.setdefault(message.path, []).append(message)
        grouped: dict[Path, tuple[Finding, ...]] = {}
        for path, raws in by_path.items():
            mapper = MypyColumnMapper(
                shadows.get(path) or _read_text(path), native_parser=self.native_parser
            )
            grouped[path] = tuple(to_finding(raw, mapper) for raw in raws)
        return grouped

    def _blocked_again(self, graph: ProjectGraph) -> MypyRun | None:
        """What a run would answer now if these are the sources the last run found
        blocked: the same blocking errors, and the other files' last good findings as
        they are now (a batch's files would otherwise run mypy again, one by one)."""
        last = self._blocked_by
        if last is None or last.sources != graph.sources_key:
            return None
        run = self._blocked(last.blockers, last.owned, graph, last.warnings, 0.0)
        return replace(run, repeated=True)

    def _blocked(
        self,
        blockers: dict[Path, tuple[Finding, ...]],
        owned: frozenset[Path],
        graph: ProjectGraph,
        warnings: tuple[str, ...],
        duration: float,
    ) -> MypyRun:
        """A blocking error stops the whole check: it is not 'clean' anywhere."""
        related = tuple(
            Related(str(path), f.span, f.message) for path, found in blockers.items() for f in found
        )
        first_path, first = next(iter(blockers.items()))
        where = f"{os.path.relpath(first_path, self.root)}:{first[0].span.start_line + 1}"
        notice = Finding(
            source=Source.MYPY,
            code="blocked",
            message=f"mypy stopped at an error in {where}: {first[0].message}. "
            "Findings shown are from the last complete check.",
            severity=Severity.ERROR,
            span=Span.point(0),
            related=related,
        )
        self._blocking = {path: graph.digest_of(path) or "" for path in blockers}
        self._blocked_notice = notice
        self._blocked_by = _BlockedRun(graph.sources_key, blockers, owned, warnings)
        findings: dict[Path, tuple[Finding, ...]] = {}
        for path in owned | blockers.keys():
            if path in blockers:
                findings[path] = blockers[path]
            else:
                findings[path] = (notice, *map(as_stale, self._last_good.get(path, ())))
        return MypyRun(
            findings,
            owned | frozenset(blockers),
            graph,
            blocked=True,
            warnings=warnings,
            duration_ms=duration,
        )


@dataclass(frozen=True, slots=True)
class _BlockedRun:
    """What a run stopped by a blocking error saw and found."""

    sources: str  # ProjectGraph.sources_key
    blockers: dict[Path, tuple[Finding, ...]]
    owned: frozenset[Path]
    warnings: tuple[str, ...]


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""

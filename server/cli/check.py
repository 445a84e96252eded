"""`tapps-lsp check PATH...`: the headless review, with the server's engine and cache.

The files go through analyzers.batch.BatchReview (one Reviewer per project root). The
text format streams a line per file as it finishes; the other formats are written once
every file is done. On a terminal, stderr shows a progress bar meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from tapps_lsp.analyzers.batch import BatchFile, BatchProgress, BatchReview, BatchSummary
from tapps_lsp.analyzers.budget.floor import floor_summary
from tapps_lsp.analyzers.changes import Changes, ChangesError, changes_since, on_changed_lines
from tapps_lsp.analyzers.files import python_files
from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.workspace import make_reviewer, open_store, project_root, project_settings
from tapps_lsp.server.cli.check_baseline import BaselineFlags, apply_baselines
from tapps_lsp.server.cli.check_progress import ProgressBar, StageClock, stats_text
from tapps_lsp.server.cli.formats import RENDERERS, CheckRun
from tapps_lsp.server.cli.formats import text as text_format
from tapps_lsp.server.cli.formats.common import display
from tapps_lsp.server.cli.limits import budgeted_json, floor_item, floored

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

FAIL_ON = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "information": Severity.INFORMATION,
    "hint": Severity.HINT,
}


@dataclass(slots=True)
class CheckOptions:
    paths: list[Path]
    output_format: str = "text"
    fail_on: str = "error"
    # Files at once; None: the `concurrency` setting (0: the CPU count).
    concurrency: int | None = None
    no_cache: bool = False
    stats: bool = False
    # The workspace may choose programs (see analyzers.trust): `check --trust`.
    trust: bool = False
    # Programs named on the command line: `--interpreter`, `--ruff-path`, `--mypy-path`.
    programs: dict[str, Any] = field(default_factory=dict)
    # `--write-baseline`, `--prune-baseline`, `--no-baseline` (server.cli.check_baseline).
    baseline: BaselineFlags = field(default_factory=BaselineFlags)
    # `--min-severity` (findings below it are not reported and do not fail the check) and
    # `--max-tokens` (json only): see server.cli.limits.
    min_severity: str | None = None
    # `--since REV`: only the files changed since a git revision, only their findings on
    # changed lines (analyzers.changes).
    since: str | None = None
    max_tokens: int | None = None


def run_check(options: CheckOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    missing = [p for p in options.paths if not p.exists()]
    if missing:
        err.write("".join(f"tapps-lsp: no such file or folder: {p}\n" for p in missing))
        return EXIT_ERROR
    return run_guarded(_check(options, out, err), out)


def run_guarded(main: Coroutine[Any, Any, int], out: TextIO) -> int:
    """`asyncio.run(main)`, quiet when the reader of `out` goes away."""
    try:
        return asyncio.run(main)
    except BrokenPipeError:
        # The reader went away (`check . | head`): say nothing more, on a closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return EXIT_ERROR


@dataclass(slots=True)
class _Folders:
    """Settings and a Reviewer per project root, made when first needed. Each root's
    settings problems (an ignored `[tool.tapps]` key, an unknown setting) go to `err`
    once."""

    options: CheckOptions
    err: TextIO
    settings: dict[Path, ReviewSettings] = field(default_factory=dict)
    reviewers: dict[Path, Reviewer] = field(default_factory=dict)

    def settings_of(self, root: Path) -> ReviewSettings:
        if root not in self.settings:
            settings, problems = project_settings(root, *command_line_layers(self.options))
            self.settings[root] = settings
            self.err.write("".join(f"tapps-lsp: {problem}\n" for problem in problems))
        return self.settings[root]

    def reviewer_of(self, path: Path) -> Reviewer:
        root = project_root(path)
        if root not in self.reviewers:
            settings = self.settings_of(root)
            self.reviewers[root] = make_reviewer(root, settings, open_store(root, settings))
        return self.reviewers[root]

    async def close(self) -> None:
        for reviewer in self.reviewers.values():
            await reviewer.close()
            reviewer.store.close()


class CommandLine(Protocol):
    """The flags `check` and `run` share that become settings."""

    no_cache: bool
    trust: bool
    programs: dict[str, Any]


def command_line_layers(options: CommandLine) -> list[dict[str, Any]]:
    """The settings `check` and `run` give on top of `[tool.tapps]`, as a client's would be."""
    # A one-shot check gains nothing from warming the fine-grained engine: the CLI run on
    # mypy's persistent cache is the fast path here.
    layers: list[dict[str, Any]] = [{"mypy": {"engine": False}}, options.programs]
    if options.no_cache:
        layers.append({"cache": {"enabled": False}})
    layers.append({"trustedWorkspace": options.trust})
    return layers


def files_to_check(paths: Sequence[Path], folders: _Folders) -> list[Path]:
    """The Python files under `paths`, without what .gitignore or the `exclude` setting of
    their project names. Exclude patterns are relative to the project root, also when a
    folder inside it is given."""
    found: dict[Path, None] = {}
    for given in paths:
        path = given.resolve()
        root = project_root(path)
        exclude = folders.settings_of(root).exclude
        found.update(dict.fromkeys(python_files([path], exclude=exclude, base=root)))
    return list(found)


@dataclass(slots=True)
class _Display:
    """What the user sees while the batch runs: streamed lines, the bar, stage times."""

    options: CheckOptions
    out: TextIO
    cwd: Path
    width: int
    bar: ProgressBar | None
    clock: StageClock = field(default_factory=StageClock)
    done: list[BatchFile] = field(default_factory=list)
    changes: Changes | None = None

    def on_file(self, item: BatchFile) -> None:
        # Kept whole: the baseline is written, pruned and matched on every finding.
        self.done.append(item)
        if self.options.output_format != "text":
            return
        if self.bar is not None and self.out.isatty():
            self.bar.clear()
        shown = floor_item(item, self.options.min_severity)
        if self.changes is not None:
            shown = on_changed_lines([shown], self.changes)[0]
        self.out.write(text_format.file_line(shown, display(item.path, self.cwd), self.width))
        self.out.flush()

    def on_progress(self, progress: BatchProgress) -> None:
        self.clock.update(progress)
        if self.bar is not None:
            self.bar.update(progress)

    def in_order(self, files: Sequence[Path]) -> list[BatchFile]:
        """The outcomes in the order the files were asked for, not as they finished."""
        order = {path: index for index, path in enumerate(files)}
        return sorted(self.done, key=lambda item: order.get(item.path, len(order)))


async def _check(options: CheckOptions, out: TextIO, err: TextIO) -> int:
    cwd = Path.cwd()
    folders = _Folders(options, err)
    try:
        files = files_to_check(options.paths, folders)
        changes = None
        if options.since is not None:
            try:
                changes = await changes_since(project_root(cwd), options.since, files)
            except ChangesError as exc:
                err.write(f"tapps-lsp: --since: {exc}\n")
                return EXIT_ERROR
            files = [path for path in files if path in changes.lines]
        planned = [(folders.reviewer_of(path), path) for path in files]
        width = max((len(display(path, cwd)) for path in files), default=0)
        shown = _Display(options, out, cwd, width, ProgressBar(err) if err.isatty() else None)
        shown.changes = changes
        summary = await _review(planned, options, shown)
    finally:
        await folders.close()
    thresholds = {path: reviewer.settings.score_threshold for reviewer, path in planned}
    outcomes = shown.in_order(files)
    if changes is not None:
        outcomes = on_changed_lines(outcomes, changes)
        summary = floor_summary(summary, outcomes)
    applied = apply_baselines(outcomes, options.baseline, summary, err)
    if applied is None:
        return EXIT_ERROR
    run = CheckRun(applied.files, summary, cwd, thresholds, applied.baselined, applied.present)
    run = floored(run, options.min_severity)
    _write(run, options, out)
    if options.stats:
        err.write(stats_text(summary, shown.clock.durations(summary.duration_ms / 1000)))
    return exit_code(run.files, FAIL_ON.get(options.fail_on))


async def _review(
    planned: list[tuple[Reviewer, Path]], options: CheckOptions, shown: _Display
) -> BatchSummary:
    concurrency = options.concurrency or max(
        (reviewer.settings.workers for reviewer, _ in planned), default=1
    )
    batch = BatchReview(
        planned, concurrency, on_file=shown.on_file, on_progress=shown.on_progress, tick_s=0.1
    )
    try:
        return await batch.run()
    finally:
        if shown.bar is not None:
            shown.bar.clear()


def _write(run: CheckRun, options: CheckOptions, out: TextIO) -> None:
    if options.output_format == "text":
        out.write(text_format.details(run))
        out.write(
            text_format.summary_line(
                run.summary, run.baselined_count() if run.baseline_present else None
            )
        )
    elif options.max_tokens is not None:
        out.write(budgeted_json(run, options.max_tokens))
    else:
        out.write(RENDERERS[options.output_format](run))
    out.flush()


def exit_code(outcomes: Sequence[BatchFile], threshold: Severity | None) -> int:
    """2 when a tool could not run (or a file could not be reviewed), else 1 when a
    finding is at least `threshold`, else 0."""
    for outcome in outcomes:
        if outcome.failed:
            return EXIT_ERROR
        if outcome.report and any(f.kind != "warning" for f in outcome.report.failures):
            return EXIT_ERROR
    if threshold is None:
        return EXIT_CLEAN
    for outcome in outcomes:
        if outcome.report and any(f.severity <= threshold for f in outcome.report.findings):
            return EXIT_FINDINGS
    return EXIT_CLEAN


__all__ = [
    "EXIT_CLEAN",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "FAIL_ON",
    "CheckOptions",
    "CommandLine",
    "command_line_layers",
    "exit_code",
    "files_to_check",
    "run_check",
    "run_guarded",
]

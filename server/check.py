"""`tapps-lsp check PATH...`: the headless review, with the server's engine and cache."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from analyzers.files import python_files
from analyzers.findings import FileReport, Finding, Severity
from analyzers.review import Reviewer
from analyzers.score import format_score
from analyzers.serialize import report_to_json
from analyzers.text import UndecodableSource, decode_source
from analyzers.workspace import make_reviewer, open_store, project_root, project_settings

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
    concurrency: int = field(default_factory=lambda: os.cpu_count() or 2)
    no_cache: bool = False


@dataclass(slots=True)
class FileOutcome:
    path: Path
    report: FileReport | None
    problem: str | None = None


def run_check(options: CheckOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    missing = [p for p in options.paths if not p.exists()]
    if missing:
        err.write("".join(f"tapps-lsp: no such file or folder: {p}\n" for p in missing))
        return EXIT_ERROR
    return asyncio.run(_check(options, out, err))


async def _check(options: CheckOptions, out: TextIO, err: TextIO) -> int:
    files = list(python_files(options.paths))
    progress = _Progress(len(files), err) if err.isatty() else None
    reviewers: dict[Path, Reviewer] = {}
    semaphore = asyncio.Semaphore(max(1, options.concurrency))

    async def review_one(path: Path) -> FileOutcome:
        async with semaphore:
            outcome = await _review_file(path, reviewers, options)
        if progress is not None:
            progress.advance(path)
        return outcome

    try:
        outcomes = await asyncio.gather(*(review_one(path) for path in files))
    finally:
        for reviewer in reviewers.values():
            await reviewer.close()
            reviewer.store.close()
    if progress is not None:
        progress.finish()
    cwd = Path.cwd()
    if options.output_format == "json":
        out.write(json.dumps([_json(o, cwd) for o in outcomes], indent=2) + "\n")
    else:
        _write_text(outcomes, cwd, out)
    return _exit_code(outcomes, FAIL_ON.get(options.fail_on))


async def _review_file(
    path: Path, reviewers: dict[Path, Reviewer], options: CheckOptions
) -> FileOutcome:
    root = project_root(path)
    reviewer = reviewers.get(root)
    if reviewer is None:
        # A one-shot check gains nothing from warming the fine-grained engine: the CLI
        # run on mypy's persistent cache is the fast path here.
        layers: list[dict[str, Any]] = [{"mypy": {"engine": False}}]
        if options.no_cache:
            layers.append({"cache": {"enabled": False}})
        settings, _problems = project_settings(root, *layers)
        reviewer = reviewers[root] = make_reviewer(root, settings, open_store(root, settings))
    try:
        data = path.read_bytes()
        if len(data) > reviewer.settings.max_file_size:
            return FileOutcome(
                path,
                None,
                f"skipped: larger than {reviewer.settings.max_file_size}"
                " bytes (setting maxFileSize)",
            )
        text = decode_source(data)
    except (OSError, UndecodableSource) as exc:
        return FileOutcome(path, None, f"skipped: {exc}")
    reports = [report async for report in reviewer.review(path, text)]
    return FileOutcome(path, reports[-1])


def _display(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def _counts(findings: Sequence[Finding]) -> tuple[int, int]:
    errors = sum(1 for f in findings if f.severity == Severity.ERROR)
    return errors, len(findings) - errors


def _write_text(outcomes: Sequence[FileOutcome], cwd: Path, out: TextIO) -> None:
    width = max((len(_display(o.path, cwd)) for o in outcomes), default=0)
    for outcome in outcomes:
        name = _display(outcome.path, cwd).ljust(width)
        if outcome.report is None:
            out.write(f"{name}  -  {outcome.problem}\n")
            continue
        score = outcome.report.score
        total = "-" if score is None or score.total is None else str(score.total)
        errors, warnings = _counts(outcome.report.findings)
        out.write(f"{name}  {total:>3}  {errors} errors/{warnings} warnings\n")
    for outcome in outcomes:
        if outcome.report is None:
            continue
        name = _display(outcome.path, cwd)
        for finding in sorted(
            outcome.report.findings, key=lambda f: (f.span.start_line, f.span.start_col)
        ):
            out.write(
                f"{name}:{finding.span.start_line + 1}:{finding.span.start_col + 1}: "
                f"{finding.code or '-'} {_one_line(finding.message)} [{finding.source.value}]\n"
            )
        for failure in outcome.report.failures:
            out.write(f"{name}: tool problem: {_one_line(failure.message)}\n")
        score = outcome.report.score
        if score is not None and score.total is None:
            out.write(f"{name}: {format_score(score)}\n")


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _json(outcome: FileOutcome, cwd: Path) -> dict[str, object]:
    data: dict[str, object] = {"path": _display(outcome.path, cwd)}
    if outcome.report is None:
        data["problem"] = outcome.problem
    else:
        data["report"] = report_to_json(outcome.report)
    return data


def _exit_code(outcomes: Sequence[FileOutcome], threshold: Severity | None) -> int:
    for outcome in outcomes:
        if outcome.report and any(f.kind != "warning" for f in outcome.report.failures):
            return EXIT_ERROR
    if threshold is None:
        return EXIT_CLEAN
    for outcome in outcomes:
        if outcome.report and any(f.severity <= threshold for f in outcome.report.findings):
            return EXIT_FINDINGS
    return EXIT_CLEAN


class _Progress:
    """A one-line progress bar with an ETA, for terminals only."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.started = time.monotonic()

    def advance(self, path: Path) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        remaining = elapsed / self.done * (self.total - self.done)
        filled = int(30 * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (30 - filled)
        self.stream.write(
            f"\r[{bar}] {self.done}/{self.total} ~{remaining:.0f}s left {path.name[:30]:<30}"
        )
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r" + " " * 90 + "\r")
        self.stream.flush()

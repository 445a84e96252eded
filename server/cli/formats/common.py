"""What every output format of `tapps-lsp check` reads: the finished run, and small helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tapps_lsp.analyzers.batch import BatchFile, BatchSummary
from tapps_lsp.analyzers.findings import Finding, Severity

DEFAULT_THRESHOLD = 70
# Score histogram buckets: 0-9, 10-19, ..., 80-89, 90-100.
BUCKETS = tuple((low, low + 9 if low < 90 else 100) for low in range(0, 100, 10))


@dataclass(frozen=True, slots=True)
class CheckRun:
    """A finished check: each file's outcome in the order asked for, and the totals."""

    files: Sequence[BatchFile]
    summary: BatchSummary
    cwd: Path
    # The `scoreThreshold` setting of each file's folder.
    thresholds: Mapping[Path, int] = field(default_factory=dict)
    # The findings a baseline covers, taken out of the reports (server.cli.check_baseline),
    # and whether any checked project has a baseline.
    baselined: Mapping[Path, tuple[Finding, ...]] = field(default_factory=dict)
    baseline_present: bool = False

    def baselined_count(self) -> int:
        return sum(len(found) for found in self.baselined.values())

    def threshold(self, path: Path) -> int:
        return self.thresholds.get(path, DEFAULT_THRESHOLD)

    def usual_threshold(self) -> int:
        """One threshold for the whole run (the lowest), for pictures of all files."""
        return min(self.thresholds.values(), default=DEFAULT_THRESHOLD)

    def shown(self, path: Path) -> str:
        return display(path, self.cwd)


def display(path: Path, cwd: Path) -> str:
    """The path relative to the working directory when it is below it, else absolute."""
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


def counts(findings: Iterable[Finding]) -> tuple[int, int]:
    """(errors, everything else), as the per-file line shows them."""
    found = list(findings)
    errors = sum(1 for f in found if f.severity == Severity.ERROR)
    return errors, len(found) - errors


def score_of(item: BatchFile) -> int | None:
    score = item.report.score if item.report is not None else None
    return score.total if score is not None else None


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.span.start_line, f.span.start_col, f.source.value))


def one_line(message: str) -> str:
    return " ".join(message.split())


def severity_name(severity: Severity) -> str:
    return severity.name.lower()


def worst_first(run: CheckRun) -> list[BatchFile]:
    """Unscored files (e.g. a syntax error) first, then by score, more errors first;
    files that were not reviewed last."""

    def badness(item: BatchFile) -> tuple[int, int, int, int, str]:
        name = run.shown(item.path)
        if item.report is None:
            return (2, 0, 0, 0, name)
        errors, warnings = counts(item.report.findings)
        total = score_of(item)
        return (0 if total is None else 1, total or 0, -errors, -warnings, name)

    return sorted(run.files, key=badness)


def histogram(run: CheckRun) -> list[int]:
    """How many files fall in each of BUCKETS."""
    found = [0] * len(BUCKETS)
    for item in run.files:
        total = score_of(item)
        if total is not None:
            found[min(total // 10, len(BUCKETS) - 1)] += 1
    return found


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def seconds(duration_ms: float) -> str:
    value = duration_ms / 1000
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def totals(summary: BatchSummary) -> tuple[int, int]:
    """(errors, everything else) over the whole run."""
    errors = summary.by_severity.get("error", 0)
    return errors, sum(summary.by_severity.values()) - errors

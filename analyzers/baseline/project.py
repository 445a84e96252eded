"""A project's baseline against its reviewed files: split, record, prune and count.

Only the files reviewed are judged: writing records their current findings and keeps
the other files' entries; pruning drops their entries that nothing matches; the status
counts over them. A file not reviewed this time is neither fixed nor new.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tapps_lsp.analyzers.baseline.fingerprint import BaselineKey, FileFingerprints
from tapps_lsp.analyzers.baseline.matching import FileMatch, keys_of, match_file
from tapps_lsp.analyzers.baseline.store import Baseline, relative_path
from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.analyzers.findings import FileReport, Finding, ToolResult


@dataclass(frozen=True, slots=True)
class Reviewed:
    """One reviewed file: its path, the text reviewed and its findings."""

    path: Path
    text: str
    findings: Sequence[Finding]


def reviewed_of(item: BatchFile) -> Reviewed:
    return Reviewed(item.path, item.text, item.report.findings if item.report else ())


def keeping(report: FileReport, kept: Sequence[Finding]) -> FileReport:
    """The report with only the findings in `kept` (each tool's, in their order)."""
    keep = {id(finding) for finding in kept}

    def trimmed(result: ToolResult | None) -> ToolResult | None:
        if result is None:
            return None
        return replace(result, findings=tuple(f for f in result.findings if id(f) in keep))

    return replace(report, ruff=trimmed(report.ruff), mypy=trimmed(report.mypy))


@dataclass(frozen=True, slots=True)
class BaselineStatus:
    """`tapps.baselineStatus`: entries in the file, those a finding still matches, and
    those nothing matches any more (fixed, stale), over the files reviewed."""

    entries: int
    matching: int
    fixed: int


def split(baseline: Baseline, item: Reviewed) -> FileMatch:
    relative = relative_path(baseline.root, item.path)
    prints = FileFingerprints.of(relative, item.text)
    return match_file(baseline.entries(relative), item.findings, prints)


def recorded(baseline: Baseline, reviewed: Iterable[Reviewed]) -> list[BaselineKey]:
    """The entries after recording `reviewed`: theirs replaced by their current findings."""
    keys: dict[str, list[BaselineKey]] = {k: list(v) for k, v in baseline.files.items()}
    for item in reviewed:
        relative = relative_path(baseline.root, item.path)
        keys[relative] = keys_of(item.findings, FileFingerprints.of(relative, item.text))
    return [key for entries in keys.values() for key in entries]


def pruned(baseline: Baseline, reviewed: Iterable[Reviewed]) -> tuple[list[BaselineKey], int]:
    """The entries without the reviewed files' fixed ones, and how many were dropped."""
    keys: dict[str, list[BaselineKey]] = {k: list(v) for k, v in baseline.files.items()}
    dropped = 0
    for item in reviewed:
        match = split(baseline, item)
        if match.stale:
            relative = relative_path(baseline.root, item.path)
            kept = list(keys.get(relative, ()))
            for key in match.stale:
                kept.remove(key)
            keys[relative] = kept
            dropped += len(match.stale)
    return [key for entries in keys.values() for key in entries], dropped


def status(baseline: Baseline, reviewed: Iterable[Reviewed]) -> BaselineStatus:
    matching = fixed = 0
    for item in reviewed:
        match = split(baseline, item)
        matching += len(match.baselined)
        fixed += len(match.stale)
    return BaselineStatus(baseline.count(), matching, fixed)

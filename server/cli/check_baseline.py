"""`check`'s baseline: `--write-baseline`, `--prune-baseline`, `--no-baseline`, and the
split of each file's findings into new ones (reported) and baselined ones (counted).

Each project root has its own `.tapps/baseline.json` (analyzers.baseline). The reports
handed to the formats keep only the new findings, so every format and the exit code see
those alone; the baselined ones ride beside them for SARIF's `baselineState`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from tapps_lsp.analyzers.baseline import store
from tapps_lsp.analyzers.baseline.project import keeping, pruned, recorded, reviewed_of, split
from tapps_lsp.analyzers.batch import BatchFile, BatchSummary
from tapps_lsp.analyzers.findings import Finding
from tapps_lsp.analyzers.workspace import project_root


@dataclass(frozen=True, slots=True)
class BaselineFlags:
    """What the command line asked of the baseline."""

    write: bool = False
    prune: bool = False
    ignore: bool = False


@dataclass(slots=True)
class Applied:
    """The files with only their new findings, and the baselined ones by path."""

    files: list[BatchFile]
    baselined: dict[Path, tuple[Finding, ...]] = field(default_factory=dict)
    present: bool = False

    def count(self) -> int:
        return sum(len(found) for found in self.baselined.values())


def apply_baselines(
    files: Sequence[BatchFile], flags: BaselineFlags, summary: BatchSummary, err: TextIO
) -> Applied | None:
    """Write or prune as asked, then split every file's findings by its project's
    baseline, taking the baselined ones out of `summary`'s counts. None when a baseline
    file cannot be read (the message is on `err`)."""
    if flags.ignore:
        return Applied(list(files))
    by_root: dict[Path, list[BatchFile]] = defaultdict(list)
    for item in files:
        by_root[project_root(item.path)].append(item)
    baselines: dict[Path, store.Baseline] = {}
    try:
        for root, items in by_root.items():
            baselines[root] = _updated(store.load(root), items, flags, err)
    except (store.BaselineError, OSError) as error:
        err.write(f"tapps-lsp: {error}\n")
        return None
    applied = Applied([], present=any(b.present for b in baselines.values()))
    for item in files:
        baseline = baselines[project_root(item.path)]
        if item.report is None or not baseline.present:
            applied.files.append(item)
            continue
        match = split(baseline, reviewed_of(item))
        applied.files.append(replace(item, report=keeping(item.report, match.new)))
        if match.baselined:
            applied.baselined[item.path] = match.baselined
        for finding in match.baselined:
            summary.by_severity[finding.severity.name.lower()] -= 1
            summary.by_source[finding.source.value] -= 1
    # Counter's `+=` drops the counts that fell to zero.
    summary.by_severity += Counter()
    summary.by_source += Counter()
    return applied


def _updated(
    baseline: store.Baseline, items: list[BatchFile], flags: BaselineFlags, err: TextIO
) -> store.Baseline:
    reviewed = [reviewed_of(item) for item in items if item.report is not None]
    target = store.baseline_path(baseline.root)
    if flags.write:
        written = store.write(baseline.root, recorded(baseline, reviewed))
        err.write(f"tapps-lsp: wrote {written.count()} entries to {target}\n")
        return written
    if flags.prune and baseline.present:
        keys, dropped = pruned(baseline, reviewed)
        written = store.write(baseline.root, keys)
        err.write(f"tapps-lsp: pruned {dropped} fixed entries from {target}\n")
        return written
    return baseline

"""What the editor shows of a report with a baseline: the new findings as they are, the
baselined ones as Hints tagged `data.baselined` or hidden (the `baseline.show` setting),
and the part of a result id that changes with the baseline file and that setting."""

from __future__ import annotations

from pathlib import Path

from tapps_lsp.analyzers.baseline.project import Reviewed, keeping, split
from tapps_lsp.analyzers.baseline.store import Baseline
from tapps_lsp.analyzers.findings import FileReport, Finding
from tapps_lsp.analyzers.workspace import project_root
from tapps_lsp.server.lsp.language_server import TappsServer


def baseline_of(ls: TappsServer, path: Path) -> Baseline:
    return ls.session.baselines.get(project_root(path))


def editor_split(
    ls: TappsServer, report: FileReport, text: str
) -> tuple[FileReport, tuple[Finding, ...]]:
    """The report with only its new findings, and the baselined ones to show as Hints
    (none when `baseline.show` is `hidden`)."""
    path = Path(report.path)
    baseline = baseline_of(ls, path)
    if not baseline.present or not report.findings:
        return report, ()
    match = split(baseline, Reviewed(path, text, report.findings))
    new_only = keeping(report, match.new)
    shown = ls.session.folder_for(path).settings.baseline.show
    return new_only, match.baselined if shown == "hint" else ()


def result_id_part(ls: TappsServer, path: Path) -> str:
    """`:baseline-<digest>-<show>` with a baseline, else nothing."""
    baseline = baseline_of(ls, path)
    if not baseline.present:
        return ""
    shown = ls.session.folder_for(path).settings.baseline.show
    return f":baseline-{baseline.digest}-{shown}"

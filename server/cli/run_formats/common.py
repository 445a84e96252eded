"""What every output format of `tapps-lsp run` reads: the run as it ended, its findings
with the step that found each, and small helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from tapps_lsp.analyzers.findings import Finding, Severity
from tapps_lsp.analyzers.workflows.output_codec import load_output
from tapps_lsp.analyzers.workflows.run_view import DONE, RunView, StepView
from tapps_lsp.analyzers.workflows.step import StepOutput
from tapps_lsp.server.cli.formats.common import display


class StepFinding(NamedTuple):
    step: str
    path: Path
    finding: Finding


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """A run as it ended (done, failed or cancelled) and the outputs of its done steps,
    shown with paths relative to `cwd`."""

    view: RunView
    root: Path
    cwd: Path
    outputs: Mapping[str, StepOutput]

    @classmethod
    def of(cls, view: RunView, root: Path, cwd: Path) -> FinishedRun:
        """The done steps' outputs read back from the log's view of them (a step
        resumed from an earlier part of the run included)."""
        outputs = {
            step.id: load_output(step.output, root)
            for step in view.steps.values()
            if step.state == DONE and step.output is not None
        }
        return cls(view, root, cwd, outputs)

    @property
    def report(self) -> Mapping[str, Any]:
        return self.view.report or {}

    def findings(self) -> list[StepFinding]:
        """Every step's findings, by path, then line, column and source."""
        found = [
            StepFinding(step, Path(path), finding)
            for step, output in self.outputs.items()
            for path, findings in output.findings.items()
            for finding in findings
        ]

        def order(item: StepFinding) -> tuple[str, int, int, str]:
            span = item.finding.span
            return (self.shown(item.path), span.start_line, span.start_col, item.finding.source)

        return sorted(found, key=order)

    def shown(self, path: Path) -> str:
        return display(path, self.cwd)

    def mean_score(self) -> float | None:
        """The `score` steps' average, when one ran."""
        for step in self.view.steps.values():
            output = self.outputs.get(step.id)
            if step.uses == "score" and output is not None:
                average = output.summary.get("average")
                return float(average) if isinstance(average, int | float) else None
        return None

    def duration_s(self) -> float | None:
        return between(self.view.started_at, self.view.finished_at)


def step_duration_s(step: StepView) -> float | None:
    return between(step.started_at, step.finished_at)


def between(start: str | None, end: str | None) -> float | None:
    """Seconds from one logged timestamp to another; None if one is missing."""
    if start is None or end is None:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def severity_counts(findings: list[StepFinding]) -> tuple[int, int]:
    """(errors, everything else)."""
    errors = sum(1 for item in findings if item.finding.severity == Severity.ERROR)
    return errors, len(findings) - errors


def step_state(step: StepView) -> str:
    return f"{step.state}, resumed" if step.resumed else step.state


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned, two spaces apart; the head first."""
    every = [head, *rows]
    widths = [max(len(row[column]) for row in every) for column in range(len(head))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in every
    )

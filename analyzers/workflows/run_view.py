"""A run as its events tell it: the state of the run and of each step, and each done
step's output. The fold of the log (analyzers.workflows.run_log), and the JSON that
`tapps.runStatus`, `tapps.listRuns` and `tapps-lsp runs` answer with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tapps_lsp.analyzers.workflows.run_log import Event
from tapps_lsp.analyzers.workflows.spec import WorkflowSpec

PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"
CANCELLED = "cancelled"
# A step's state after each step event.
_STEP_STATES = {
    "step_started": RUNNING,
    "step_completed": DONE,
    "step_failed": FAILED,
    "step_skipped": SKIPPED,
    "step_cancelled": CANCELLED,
}


@dataclass(slots=True)
class StepView:
    id: str
    uses: str
    needs: tuple[str, ...]
    state: str = PENDING
    attempts: int = 0
    cached: bool = False
    # Done in an earlier part of the run (before a pause or a crash): not run again.
    resumed: bool = False
    started_at: str | None = None
    finished_at: str | None = None
    findings: int = 0
    error: str | None = None
    output_tail: str | None = None
    # The step's output as logged (findings by path, summary), once it is done.
    output: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uses": self.uses,
            "state": self.state,
            "attempts": self.attempts,
            "cached": self.cached,
            "resumed": self.resumed,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "findings": self.findings,
            "error": self.error,
        }


@dataclass(slots=True)
class RunView:
    run_id: str
    workflow: WorkflowSpec
    # The files asked for (workspace-relative), empty for the whole workspace.
    paths: list[str]
    root: str
    state: str = "running"
    started_at: str | None = None
    finished_at: str | None = None
    steps: dict[str, StepView] = field(default_factory=dict)
    report: dict[str, Any] | None = None

    @property
    def resumable(self) -> bool:
        return self.state in ("paused", "interrupted")

    def as_json(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "workflow": self.workflow.name,
            "state": self.state,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "steps": [step.as_json() for step in self.steps.values()],
            "report": self.report,
        }


def fold(events: Iterable[Event]) -> RunView | None:
    """The run the events describe; None if they do not start with `run_started`."""
    view: RunView | None = None
    for event in events:
        if event.kind == "run_started":
            view = _started(event)
        elif view is not None:
            apply(view, event)
    return view


def _started(event: Event) -> RunView:
    spec = WorkflowSpec.from_json(event.data["workflow"])
    view = RunView(
        event.run_id,
        spec,
        list(event.data.get("paths", [])),
        str(event.data.get("root", "")),
        started_at=event.at,
    )
    for step in spec.steps:
        view.steps[step.id] = StepView(step.id, step.uses, step.needs)
    return view


def apply(view: RunView, event: Event) -> None:
    """One more event of the run."""
    if event.kind == "run_resumed":
        view.state = "running"
        view.finished_at = None
        for step in view.steps.values():
            if step.state == DONE:
                step.resumed = True
            elif step.state in (RUNNING, CANCELLED, FAILED, SKIPPED):
                # Run again from the start (a cut-off step, or one whose needs failed).
                _reset(step)
    elif event.kind in ("run_paused", "run_interrupted"):
        view.state = "paused" if event.kind == "run_paused" else "interrupted"
        for step in view.steps.values():
            if step.state == RUNNING:
                _reset(step)
    elif event.kind == "run_finished":
        view.state = str(event.data.get("state", DONE))
        view.finished_at = event.at
        view.report = event.data.get("report")
    elif event.step is not None and event.step in view.steps:
        _apply_step(view.steps[event.step], event)


def _apply_step(step: StepView, event: Event) -> None:
    if event.kind == "step_retried":
        step.error = event.data.get("error")
        return
    step.state = _STEP_STATES.get(event.kind, step.state)
    if event.kind == "step_started":
        step.attempts = int(event.data.get("attempt", step.attempts + 1))
        step.started_at = event.at
        step.finished_at = None
        step.error = None
        return
    step.finished_at = event.at
    step.error = event.data.get("error")
    step.output_tail = event.data.get("outputTail")
    if event.kind == "step_completed":
        step.cached = bool(event.data.get("cached", False))
        step.output = event.data.get("output")
        step.findings = int(event.data.get("findings", 0))
        step.error = None


def _reset(step: StepView) -> None:
    step.state = PENDING
    step.started_at = None
    step.finished_at = None
    step.error = None
    step.output_tail = None
    step.cached = False
    step.output = None
    step.findings = 0

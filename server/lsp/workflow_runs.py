"""The workflow runs executing in this server, by run id: each is a task of its own, so
that a request may wait for it, another may pause or cancel it, and a shutdown
interrupts it (the log then says `running`, and the next server marks it `interrupted`)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from tapps_lsp.analyzers.workflows.execute import WorkflowRun
from tapps_lsp.analyzers.workflows.run_view import RunView

SHUTDOWN_WAIT_S = 5.0


@dataclass(slots=True)
class ActiveRun:
    run: WorkflowRun
    task: asyncio.Task[RunView]


@dataclass(slots=True)
class ActiveRuns:
    runs: dict[str, ActiveRun] = field(default_factory=dict)

    def launch(self, run: WorkflowRun) -> ActiveRun:
        active = ActiveRun(run, asyncio.ensure_future(run.execute()))
        self.runs[run.run_id] = active
        active.task.add_done_callback(lambda _: self.runs.pop(run.run_id, None))
        return active

    def get(self, run_id: str) -> ActiveRun | None:
        return self.runs.get(run_id)

    async def close(self) -> None:
        """Interrupt every run (not cancel: it may be resumed by the next server)."""
        tasks = [active.task for active in self.runs.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(tasks, timeout=SHUTDOWN_WAIT_S)

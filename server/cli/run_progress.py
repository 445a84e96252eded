"""What `tapps-lsp run` shows on stderr on a terminal while the run runs:
`step 2/7 · running: mypy, security · 3.1 s`, redrawn after every event of the run and
a few times a second between them (a long step still shows time passing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tapps_lsp.analyzers.workflows.run_view import PENDING, RUNNING, RunView
from tapps_lsp.server.cli.check_progress import ProgressBar

TICK_S = 0.25


class StepProgress:
    """The bar of one run; `on_change` is the run's callback, `ticking` redraws it."""

    def __init__(self, bar: ProgressBar, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.bar = bar
        self.clock = clock
        self.started = clock()
        self.view: RunView | None = None

    def on_change(self, view: RunView, step: str | None) -> None:
        self.view = view
        self.redraw(final=step is None)

    def redraw(self, *, final: bool = False) -> None:
        if self.view is not None:
            self.bar.draw(step_line(self.view, self.clock() - self.started), final=final)

    async def ticking(self) -> None:
        """Redraw until cancelled."""
        while True:
            await asyncio.sleep(TICK_S)
            self.redraw()


def step_line(view: RunView, elapsed_s: float) -> str:
    """How many steps have ended out of all, which run now, and the time so far."""
    steps = view.steps.values()
    ended = sum(1 for step in steps if step.state not in (PENDING, RUNNING))
    running = [step.id for step in steps if step.state == RUNNING]
    parts = [f"step {ended}/{len(view.steps)}"]
    if running:
        parts.append("running: " + ", ".join(running))
    parts.append(f"{elapsed_s:.1f} s")
    return " · ".join(parts)

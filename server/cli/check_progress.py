"""What `tapps-lsp check` shows on stderr while it runs: a one-line progress bar on a
terminal, and (with `--stats`) how long each stage took."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TextIO

from tapps_lsp.analyzers.batch import BatchProgress, BatchSummary
from tapps_lsp.server.cli.formats.common import seconds

_BAR_WIDTH = 20


class ProgressBar:
    """`[#####...............] 37/120 · mypy on rich · ~4 s left`, redrawn in place at
    most 10 times a second (the last frame always), and cleared at the end."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.interval_s = interval_s
        self.clock = clock
        self._drawn_at: float | None = None
        self._shown = False
        self._last_done = -1

    def update(self, progress: BatchProgress) -> None:
        finished = progress.done >= progress.total and progress.done != self._last_done
        if self.draw(bar_line(progress), final=finished):
            self._last_done = progress.done

    def draw(self, line: str, *, final: bool = False) -> bool:
        """Show `line` in place of the last one, unless one was drawn less than
        `interval_s` ago (a `final` line always shows); whether it was drawn."""
        now = self.clock()
        if self._drawn_at is not None and now - self._drawn_at < self.interval_s and not final:
            return False
        self._drawn_at = now
        columns = self._columns()
        if columns is not None and len(line) >= columns:
            # A line that wraps could not be redrawn in place.
            line = line[: columns - 1]
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()
        self._shown = True
        return True

    def clear(self) -> None:
        """Take the bar off its line, e.g. before a line goes to the same terminal."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def _columns(self) -> int | None:
        """The terminal's width; None when it does not say (e.g. a new pty says 0)."""
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError):
            return None
        return columns if columns > 0 else None


def bar_line(progress: BatchProgress) -> str:
    filled = int(_BAR_WIDTH * progress.fraction)
    bar = "#" * filled + "." * (_BAR_WIDTH - filled)
    parts = [f"[{bar}] {progress.done}/{progress.total}", progress.stage]
    if progress.eta_s is not None:
        parts.append(f"~{_eta(progress.eta_s)} left")
    return " · ".join(parts)


def _eta(eta_s: float) -> str:
    if eta_s < 60:
        return f"{max(round(eta_s), 1)} s"
    minutes, rest = divmod(round(eta_s), 60)
    return f"{minutes} min {rest:02d} s"


class StageClock:
    """When each stage of the batch began, from the stage names its progress reports carry."""

    def __init__(self) -> None:
        self.starts: list[tuple[str, float]] = []

    def update(self, progress: BatchProgress) -> None:
        if not self.starts or self.starts[-1][0] != progress.stage:
            self.starts.append((progress.stage, progress.elapsed_s))

    def durations(self, total_s: float) -> dict[str, float]:
        """Seconds per stage name, in order of first appearance (a stage seen twice adds up)."""
        spent: dict[str, float] = {}
        ends = [start for _, start in self.starts[1:]] + [total_s]
        for (stage, start), end in zip(self.starts, ends, strict=True):
            spent[stage] = spent.get(stage, 0.0) + max(0.0, end - start)
        return spent


def stats_text(summary: BatchSummary, stages: dict[str, float]) -> str:
    lookups = summary.cache_hits + summary.cache_misses
    rate = f"{summary.cache_hits / lookups:.0%}" if lookups else "-"
    lines = [
        f"files     {summary.files} ({summary.reviewed} reviewed, {summary.skipped} skipped)",
        f"cache     {summary.cache_hits} hits, {summary.cache_misses} misses, hit rate {rate}",
        f"duration  {seconds(summary.duration_ms)}",
    ]
    for index, (stage, spent) in enumerate(stages.items()):
        label = "stages" if index == 0 else ""
        lines.append(f"{label:<9} {seconds(spent * 1000):>7}  {stage}")
    return "".join(f"{line}\n" for line in lines)

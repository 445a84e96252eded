"""Durations by name, in bounded memory: how long tools, reviews and requests take.

Each name keeps its total count and its maximum since it was first recorded, and its
last `window` samples (1000 by default): p50 and p95 are computed over that window,
so they describe recent behaviour, not the whole life of the process.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

DEFAULT_WINDOW = 1000


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile (`q` in 0..100) of values sorted ascending."""
    if not ordered:
        raise ValueError("no values")
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


@dataclass(slots=True)
class Series:
    """One name's durations (ms): a count and a maximum over all time, and a window
    of the last samples."""

    window: int = DEFAULT_WINDOW
    count: int = 0
    max: float = 0.0
    samples: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.samples = deque(self.samples, maxlen=self.window)

    def record(self, ms: float) -> None:
        self.count += 1
        self.max = max(self.max, ms)
        self.samples.append(ms)

    def summary(self) -> dict[str, Any]:
        """{count, p50, p95, max}: ms rounded to 0.1; p50/p95 over the kept window."""
        if not self.samples:
            return {"count": self.count, "p50": None, "p95": None, "max": None}
        ordered = sorted(self.samples)
        return {
            "count": self.count,
            "p50": round(percentile(ordered, 50), 1),
            "p95": round(percentile(ordered, 95), 1),
            "max": round(self.max, 1),
        }


@dataclass(slots=True)
class Timings:
    """Durations (ms) by name, e.g. "ruff", "mypy" or an LSP method.

    Not thread-safe: record from the event loop only."""

    window: int = DEFAULT_WINDOW
    _series: dict[str, Series] = field(default_factory=dict)

    def record(self, name: str, ms: float) -> None:
        series = self._series.get(name)
        if series is None:
            series = self._series[name] = Series(self.window)
        series.record(ms)

    def get(self, name: str) -> Series | None:
        return self._series.get(name)

    def names(self) -> list[str]:
        return sorted(self._series)

    def summary(self) -> dict[str, dict[str, Any]]:
        """{name: {count, p50, p95, max}} in ms; count and max cover every sample since
        the name was first recorded, p50 and p95 only the last `window` samples."""
        return {name: self._series[name].summary() for name in self.names()}

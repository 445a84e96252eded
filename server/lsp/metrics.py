"""`tapps.metrics`: how the server is doing, as JSON.

- `requests`: every LSP request by method, commands as `workspace/executeCommand:<name>`,
  timed from arrival to the response being sent;
- `tools`: real tool runs (not cache hits): `ruff`, `ruff (batch)`, `mypy`;
- `reviews`: open-document reviews, from scheduled to the complete result (`review`;
  `refresh` for the re-reviews a save triggers in other open documents);
- `cache`: result-cache hits and misses of every folder's reviewer (they restart when a
  folder's settings change), and the hit rate;
- `engines`: the state of each mypy project's engine, with its RSS;
- `workflows`: the runs executing, workflow step-cache hits and misses, and each tool's
  circuit breaker (state, consecutive failures, trips, last error) by folder;
- `rss`: the server's resident memory, and with every process it started;
- `eventLoopLag`: how late a 100 ms sleep on the event loop wakes up;
- `slowRequests`: the last 50 requests slower than `slowRequestSeconds` (the first
  folder's `slow_request_seconds`, 5 s by default); each is also logged as a warning.

Timings are in ms. `count` and `max` cover the server's life; `p50` and `p95` the last
1000 samples of each name (for the loop lag: the last 100 s).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from tapps_lsp.analyzers.mypy.engine import read_rss_mb
from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.timings import DEFAULT_WINDOW, Series, Timings, percentile
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.protocol import HELD_BY_DESIGN

log = logging.getLogger(__name__)

METRICS = "tapps.metrics"
SLOW_REQUESTS_KEPT = 50
LAG_INTERVAL_S = 0.1
_DEFAULT_SLOW_S = ReviewSettings().slow_request_seconds


class LagMonitor:
    """Sleeps `interval` seconds in a loop and records how late each wake-up is (ms):
    the time a ready callback waits for the event loop."""

    def __init__(self, interval: float = LAG_INTERVAL_S, window: int = DEFAULT_WINDOW) -> None:
        self.interval = interval
        self.series = Series(window)
        self.task: asyncio.Task[None] | None = None

    def start(self, spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]]) -> None:
        """Start once, as a task `spawn` owns (and cancels at shutdown)."""
        if self.task is None:
            self.task = spawn(self.run())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.series.record(overshoot_ms(before, loop.time(), self.interval))

    def summary(self) -> dict[str, Any]:
        """p50, p95 and max over the kept window (`window` times `interval`), and the max
        since the monitor started."""
        samples = sorted(self.series.samples)
        return {
            "intervalMs": round(self.interval * 1000),
            "windowS": round(self.series.window * self.interval),
            "samples": len(samples),
            "p50": round(percentile(samples, 50), 1) if samples else None,
            "p95": round(percentile(samples, 95), 1) if samples else None,
            "max": round(samples[-1], 1) if samples else None,
            "maxEver": round(self.series.max, 1) if samples else None,
        }


def overshoot_ms(before: float, after: float, interval: float) -> float:
    """How much later than `interval` seconds after `before` the wake-up came, in ms."""
    return max(0.0, (after - before - interval) * 1000)


class ServerMetrics:
    """The request side of the metrics (the protocol's observer) and the whole report."""

    def __init__(self, ls: TappsServer) -> None:
        self.ls = ls
        self.requests = Timings()
        self.slow: deque[dict[str, Any]] = deque(maxlen=SLOW_REQUESTS_KEPT)
        self.lag = LagMonitor()
        self.started = time.monotonic()

    def request_started(self, name: str) -> None:
        # The first request (`initialize`) runs on the event loop: start watching it.
        if name != "shutdown":
            self.lag.start(self.ls.session.spawn)

    def request_finished(self, name: str, ms: float) -> None:
        self.requests.record(name, ms)
        threshold = self.slow_request_seconds()
        if ms > threshold * 1000 and name not in HELD_BY_DESIGN:
            log.warning("slow request: %s took %.0f ms (over %g s)", name, ms, threshold)
            at = datetime.now(UTC).isoformat(timespec="milliseconds")
            self.slow.append({"method": name, "ms": round(ms, 1), "at": at})

    def slow_request_seconds(self) -> float:
        """The first workspace folder's setting, else the default."""
        for folder in self.ls.session.folders.values():
            return folder.settings.slow_request_seconds
        return _DEFAULT_SLOW_S

    def _workflows(self) -> dict[str, Any]:
        """Step cache hits and misses, and every tool's circuit breaker, by folder."""
        hits = misses = 0
        breakers: dict[str, Any] = {}
        for folder in self.ls.session.all_folders():
            if folder.workflows is None:
                continue
            context = folder.workflows.context
            hits += context.step_cache.hits
            misses += context.step_cache.misses
            if states := context.breakers.as_json():
                breakers[str(folder.root)] = states
        return {
            "activeRuns": sorted(self.ls.workflow_runs.runs),
            "stepCache": {"hits": hits, "misses": misses},
            "breakers": breakers,
        }

    async def report(self) -> dict[str, Any]:
        session = self.ls.session
        hits = misses = 0
        engines: list[dict[str, Any]] = []
        for folder in session.all_folders():
            reviewer = folder.reviewer
            if reviewer is None:
                continue
            hits += reviewer.hits
            misses += reviewer.misses
            for project in reviewer.projects():
                engine = project.engine.describe() if project.engine else {"state": "off"}
                pid = engine.get("pid")  # an int, or None when it is not running
                engines.append(
                    {
                        "folder": str(folder.root),
                        "configRoot": str(project.root),
                        **engine,
                        "rssMb": _round(read_rss_mb(pid)) if isinstance(pid, int) else None,
                    }
                )
        lookups = hits + misses
        return {
            "uptimeS": round(time.monotonic() - self.started, 1),
            "requests": self.requests.summary(),
            "tools": session.tool_timings.summary(),
            "reviews": session.review_timings.summary(),
            "cache": {
                "hits": hits,
                "misses": misses,
                "hitRate": round(hits / lookups, 3) if lookups else None,
            },
            "engines": engines,
            "workflows": self._workflows(),
            "rss": await asyncio.to_thread(rss_report, os.getpid()),
            "eventLoopLag": self.lag.summary(),
            "garbageCollection": self.ls.tapps_protocol.idle_gc.describe(),
            "slowRequestSeconds": self.slow_request_seconds(),
            "slowRequests": list(self.slow),
        }


def rss_report(pid: int) -> dict[str, Any]:
    """VmRSS of `pid`, and of it with all its descendants (from /proc), in MB."""
    own = read_rss_mb(pid)
    descendants = _descendants(pid)
    children = sum(filter(None, map(read_rss_mb, descendants)))
    return {
        "serverMb": _round(own),
        "childrenMb": _round(children),
        "totalMb": _round((own or 0.0) + children),
        "childProcesses": len(descendants),
    }


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    try:
        entries = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []
    for name in entries:
        ppid = _parent_of(name)
        if ppid is not None:
            parents.setdefault(ppid, []).append(int(name))
    found: list[int] = []
    pending = [pid]
    while pending:
        children = parents.get(pending.pop(), [])
        found += children
        pending += children
    return found


def _parent_of(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        return int(data[data.rindex(b")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None

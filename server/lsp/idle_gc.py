"""Full garbage collections only while the client is quiet.

A full collection of the server's heap (project graphs, stored reports, pygls' documents)
takes 50-90 ms on rich. Left to CPython's thresholds it comes whenever enough objects
have survived, often in the middle of a save's review. Here automatic collections stop at
the middle generation: a full one runs once no message has arrived for a moment and no
request is being worked on, and what survives it is frozen, so later collections never
scan it. Every few of those, a deep one thaws the frozen objects first, so cycles among
them are freed too. When the client never pauses, one still runs every `max_interval_s`.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

IDLE_S = 0.5
MAX_INTERVAL_S = 10.0
DEEP_EVERY = 10
# Automatic collections of the oldest generation, in effect never.
_NO_AUTOMATIC_FULL = 1_000_000


class IdleCollector:
    def __init__(
        self,
        idle_s: float = IDLE_S,
        max_interval_s: float = MAX_INTERVAL_S,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        """`busy`: whether a request is being worked on (a quiet client may be waiting)."""
        self.idle_s = idle_s
        self.busy = busy
        self.max_interval_s = max_interval_s
        self.collections = 0
        self.deep_collections = 0
        self.last_ms: float | None = None
        self._last_activity = time.monotonic()
        self._last_collection = time.monotonic()
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._thresholds = gc.get_threshold()

    def start(self) -> None:
        """Take over full collections (once), from inside the running loop."""
        if self._task is not None:
            return
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, _NO_AUTOMATIC_FULL)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        gc.set_threshold(*self._thresholds)

    def activity(self) -> None:
        """A message arrived: no collection until the client pauses again."""
        self._last_activity = time.monotonic()
        self._dirty = True

    def collect_now(self) -> None:
        started = time.perf_counter()
        if self.collections % DEEP_EVERY == 0:
            gc.unfreeze()
            self.deep_collections += 1
        gc.collect()
        gc.freeze()
        self.last_ms = (time.perf_counter() - started) * 1000
        self.collections += 1
        self._last_collection = time.monotonic()
        self._dirty = False

    def due(self, now: float) -> bool:
        if not self._dirty:
            return False
        quiet = now - self._last_activity >= self.idle_s and not self.busy()
        return quiet or now - self._last_collection >= self.max_interval_s

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(min(self.idle_s, self.max_interval_s) / 2)
            if self.due(time.monotonic()):
                self.collect_now()

    def describe(self) -> dict[str, object]:
        return {
            "fullCollections": self.collections,
            "deepCollections": self.deep_collections,
            "lastFullMs": round(self.last_ms, 1) if self.last_ms is not None else None,
            "frozenObjects": gc.get_freeze_count(),
        }

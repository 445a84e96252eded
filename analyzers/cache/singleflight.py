"""Share one run among concurrent callers asking for the same key.

Not a cache: once a run finishes its key is forgotten, and the next caller
starts a new run. Use it from one event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Call(Generic[T]):
    task: asyncio.Task[T]
    waiters: int = 0


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._calls: dict[str, _Call[T]] = {}

    def in_flight(self, key: str) -> bool:
        return key in self._calls

    async def run(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        """Return the result of `factory()`, shared with concurrent callers of `key`.

        Exceptions reach every waiter. A cancelled waiter leaves the run to the
        others; when the last waiter is cancelled, the run is cancelled too, and
        that waiter returns only once the run has finished unwinding.
        """
        call = self._calls.get(key)
        if call is None:
            call = _Call(asyncio.create_task(_invoke(factory)))
            self._calls[key] = call
            call.task.add_done_callback(lambda task: self._finished(key, call, task))
        call.waiters += 1
        try:
            return await asyncio.shield(call.task)
        finally:
            call.waiters -= 1
            if call.waiters == 0 and not call.task.done():
                # Every waiter is gone (we are being cancelled). Forget the key
                # at once so a new caller starts a fresh run instead of joining
                # one that is being cancelled.
                self._forget(key, call)
                call.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({call.task})

    def _finished(self, key: str, call: _Call[T], task: asyncio.Task[T]) -> None:
        self._forget(key, call)
        if not task.cancelled():
            # Every waiter has already received it; do not let asyncio log it
            # as "never retrieved".
            task.exception()

    def _forget(self, key: str, call: _Call[T]) -> None:
        if self._calls.get(key) is call:
            del self._calls[key]


async def _invoke(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()

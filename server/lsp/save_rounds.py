"""Rounds of re-reviews after saves, per folder, and when they run.

Saves in quick succession (an edit, then its undo; a save-all) share one round; a round
starts once saves have paused for a moment and no save's review runs, so that a save's
own review never competes with the round of the one before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

REFRESH_OTHERS_DELAY_S = 0.2

# What a round does, given the documents saved since the last one (their URIs).
Round = Callable[[set[str]], Awaitable[None]]


class SaveRounds:
    def __init__(self, spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]]) -> None:
        self._spawn = spawn
        # Per folder root: documents saved since the last round, the round due, and
        # reviews of saves still running (the round waits for the last one).
        self._saved: dict[Path, set[str]] = {}
        self._rounds: dict[Path, asyncio.Task[None]] = {}
        self._running: dict[Path, int] = {}

    async def review(
        self, root: Path, uri: str, review: Coroutine[Any, Any, None], run_round: Round
    ) -> None:
        """Run a save's review; then the folder's round is due, covering every save since
        the last round."""
        self._running[root] = self._running.get(root, 0) + 1
        pending = self._rounds.get(root)
        if pending is not None and not pending.done():
            pending.cancel()
        try:
            await review
        finally:
            self._running[root] -= 1
            self._round_soon(root, uri, run_round)

    def _round_soon(self, root: Path, saved_uri: str, run_round: Round) -> None:
        self._saved.setdefault(root, set()).add(saved_uri)
        if self._running.get(root, 0) > 0:
            return
        pending = self._rounds.get(root)
        if pending is not None and not pending.done():
            pending.cancel()
        self._rounds[root] = self._spawn(self._round(root, run_round))

    async def _round(self, root: Path, run_round: Round) -> None:
        await asyncio.sleep(REFRESH_OTHERS_DELAY_S)
        saved = self._saved.pop(root, set())
        try:
            await run_round(saved)
        except asyncio.CancelledError:
            # A newer save took over: its round covers these saves too.
            self._saved.setdefault(root, set()).update(saved)
            raise

"""Work-done progress (`$/progress`) for one piece of work, as the LSP spec says it.

- The client's `workDoneToken` is used when the request carries one; otherwise a fresh
  token is created with `window/workDoneProgress/create`, only if the client has
  `window.workDoneProgress`. Without either, nothing is sent.
- Nothing at all is sent for work that ends within `delay_s`: a cached answer must not
  flash a progress bar.
- One `begin` (cancellable, 0 %), then `report`s with a percentage that never goes
  down, at most 10 a second and at least every `KEEPALIVE_S` while
  the work goes on, whatever the caller's pace; always an `end`.
- A client's `window/workDoneProgress/cancel` calls `on_cancel`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from lsprotocol import types

from tapps_lsp.server.lsp.language_server import TappsServer

log = logging.getLogger(__name__)

DELAY_S = 0.3
MIN_INTERVAL_S = 0.1
KEEPALIVE_S = 0.3


class WorkProgress:
    def __init__(
        self,
        ls: TappsServer,
        title: str,
        client_token: types.ProgressToken | None,
        *,
        on_cancel: Callable[[], None] | None = None,
        delay_s: float = DELAY_S,
    ) -> None:
        self._ls = ls
        self._title = title
        self._client_token = client_token
        self._on_cancel = on_cancel
        self._delay_s = delay_s
        self._token: types.ProgressToken | None = None
        self._percentage = 0
        self._message: str | None = None
        self._sent: tuple[int, str | None] | None = None
        self._last_sent = 0.0
        self._started = time.monotonic()
        self._pacer: asyncio.Task[None] | None = None

    def __enter__(self) -> WorkProgress:
        if self._client_token is not None or self._can_create():
            self._pacer = asyncio.ensure_future(self._pace())
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(None)

    def update(self, percentage: int, message: str) -> None:
        """The newest state; sent at the pace described above."""
        self._percentage = max(self._percentage, min(percentage, 100))
        self._message = message

    def close(self, message: str | None) -> None:
        """End the progress (once), with a summary message if it ever began."""
        if self._pacer is not None:
            self._pacer.cancel()
            self._pacer = None
        token, self._token = self._token, None
        if token is None:
            return
        progress = self._ls.work_done_progress
        progress.end(token, types.WorkDoneProgressEnd(message=message))
        # pygls never forgets a token's cancellation future (pygls #607).
        progress.tokens.pop(token, None)

    def _can_create(self) -> bool:
        return self._ls.client.work_done_progress

    async def _pace(self) -> None:
        await asyncio.sleep(max(0.0, self._delay_s - (time.monotonic() - self._started)))
        token = self._client_token
        if token is None:
            token = f"tapps-{uuid.uuid4()}"
            try:
                await self._ls.work_done_progress.create_async(token)
            except Exception as exc:  # a client that refuses still gets the result
                log.debug("window/workDoneProgress/create failed: %s", exc)
                return
        self._begin(token)
        while True:
            self._send_report()
            await asyncio.sleep(MIN_INTERVAL_S)

    def _begin(self, token: types.ProgressToken) -> None:
        progress = self._ls.work_done_progress
        progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=self._title, cancellable=True, message=self._message, percentage=0
            ),
        )
        self._token = token
        self._sent = (0, self._message)
        self._last_sent = time.monotonic()
        cancelled = progress.tokens.get(token)
        if cancelled is not None and self._on_cancel is not None:
            on_cancel = self._on_cancel
            loop = asyncio.get_running_loop()
            cancelled.add_done_callback(lambda _: loop.call_soon_threadsafe(on_cancel))

    def _send_report(self) -> None:
        if self._token is None:
            return
        now = time.monotonic()
        state = (self._percentage, self._message)
        if state == self._sent and now - self._last_sent < KEEPALIVE_S:
            return
        if now - self._last_sent < MIN_INTERVAL_S:
            return
        with contextlib.suppress(Exception):
            self._ls.work_done_progress.report(
                self._token,
                types.WorkDoneProgressReport(
                    message=self._message, percentage=self._percentage, cancellable=True
                ),
            )
        self._sent = state
        self._last_sent = now

"""`workspace/diagnostic/refresh`, throttled: every pull re-pulls every open document."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

REFRESH_WINDOW_S = 0.1


class RefreshWindow:
    """The first request is sent at once; any more within the next 100 ms are folded
    into one at its end."""

    def __init__(
        self,
        server: LanguageServer,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]],
    ) -> None:
        self._server = server
        self._spawn = spawn
        # A refresh was sent within the last window; another is due at its end.
        self._pending = False
        self._again = False

    def request(self) -> None:
        if self._pending:
            self._again = True
            return
        self._pending = True
        self._spawn(self._window())

    async def _window(self) -> None:
        try:
            while True:
                self._again = False
                self._spawn(self._send())
                await asyncio.sleep(REFRESH_WINDOW_S)
                if not self._again:
                    return
        finally:
            self._pending = False

    async def _send(self) -> None:
        try:
            await asyncio.wait_for(self._server.workspace_diagnostic_refresh_async(None), 10)
        except Exception as exc:  # a client that fails a refresh still answers pulls
            log.debug("diagnostic refresh failed: %s", exc)

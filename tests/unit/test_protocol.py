"""Our fixes to pygls' protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from tapps_lsp.server.lsp.app import build_server


async def test_finished_notification_handlers_leave_no_futures_behind() -> None:
    """pygls 2.1.1 kept one future per notification (two for generator handlers)."""
    protocol = build_server().protocol
    seen: list[int] = []

    async def handler(value: int) -> None:
        seen.append(value)

    def builtin(value: int) -> Generator[Any, Any, None]:
        yield handler, (value,), None

    for number in range(50):
        protocol._execute_handler(
            f"note-{number}", builtin, callback=lambda _: None, args=(number,)
        )
    running = dict(protocol._request_futures)
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == list(range(50))
    assert len(running) >= 50, "futures are kept while their handlers run"
    assert protocol._request_futures == {}

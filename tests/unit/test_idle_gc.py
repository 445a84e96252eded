"""Full collections wait for the client to pause."""

from __future__ import annotations

import asyncio
import gc

from tapps_lsp.server.lsp.idle_gc import IdleCollector


async def test_a_full_collection_runs_once_the_client_pauses() -> None:
    before = gc.get_threshold()
    collector = IdleCollector(idle_s=0.05)
    collector.start()
    try:
        assert gc.get_threshold()[2] > before[2], "no automatic full collection"
        collector.activity()
        await asyncio.sleep(0.01)
        assert collector.collections == 0, "the client is not quiet yet"
        await asyncio.sleep(0.15)
        assert collector.collections == 1
        assert gc.get_freeze_count() > 0, "what survived is frozen"
        await asyncio.sleep(0.15)
        assert collector.collections == 1, "nothing happened since: nothing to collect"
        collector.activity()
        await asyncio.sleep(0.15)
        assert collector.collections == 2
    finally:
        collector.stop()
        gc.unfreeze()
    assert gc.get_threshold() == before


async def test_a_client_that_never_pauses_still_gets_collections() -> None:
    collector = IdleCollector(idle_s=10.0, max_interval_s=0.1)
    collector.start()
    try:
        for _ in range(40):
            collector.activity()
            await asyncio.sleep(0.01)
            if collector.collections:
                break
        assert collector.collections >= 1
    finally:
        collector.stop()
        gc.unfreeze()


async def test_no_collection_while_a_request_is_worked_on() -> None:
    """A quiet client may be waiting for a long request (a workspace review)."""
    working = [True]
    collector = IdleCollector(idle_s=0.05, busy=lambda: working[0])
    collector.start()
    try:
        collector.activity()
        await asyncio.sleep(0.2)
        assert collector.collections == 0
        working[0] = False
        await asyncio.sleep(0.1)
        assert collector.collections == 1
    finally:
        collector.stop()
        gc.unfreeze()

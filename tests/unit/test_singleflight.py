from __future__ import annotations

import asyncio

import pytest

from tapps_lsp.analyzers.cache import SingleFlight


class Probe:
    """A factory that counts its runs, blocks until released and, when
    cancelled, takes a while to clean up (like killing a subprocess)."""

    def __init__(self, result: str = "done") -> None:
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.unwinding = asyncio.Event()
        self.unwound = False
        self.result = result

    async def __call__(self) -> str:
        self.calls += 1
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.unwinding.set()
            await asyncio.sleep(0.01)
            self.unwound = True
            raise
        return self.result


async def test_concurrent_callers_share_one_run() -> None:
    flight: SingleFlight[str] = SingleFlight()
    probe = Probe()
    first = asyncio.create_task(flight.run("k", probe))
    second = asyncio.create_task(flight.run("k", probe))
    await probe.started.wait()
    assert flight.in_flight("k")
    probe.release.set()
    assert await asyncio.gather(first, second) == ["done", "done"]
    assert probe.calls == 1
    assert not flight.in_flight("k")


async def test_different_keys_run_separately() -> None:
    flight: SingleFlight[str] = SingleFlight()
    probe = Probe()
    probe.release.set()
    assert await asyncio.gather(flight.run("a", probe), flight.run("b", probe)) == ["done"] * 2
    assert probe.calls == 2


async def test_a_finished_key_is_forgotten() -> None:
    flight: SingleFlight[str] = SingleFlight()
    probe = Probe()
    probe.release.set()
    await flight.run("k", probe)
    await flight.run("k", probe)
    assert probe.calls == 2


async def test_exception_reaches_every_waiter() -> None:
    flight: SingleFlight[str] = SingleFlight()
    calls = 0
    gate = asyncio.Event()

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        raise ValueError("tool broke")

    waiters = [asyncio.create_task(flight.run("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert calls == 1
    assert all(isinstance(r, ValueError) and str(r) == "tool broke" for r in results)
    assert not flight.in_flight("k")


async def test_one_cancelled_waiter_leaves_the_run_to_the_others() -> None:
    flight: SingleFlight[str] = SingleFlight()
    probe = Probe()
    leaving = asyncio.create_task(flight.run("k", probe))
    staying = asyncio.create_task(flight.run("k", probe))
    await probe.started.wait()
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert flight.in_flight("k")
    probe.release.set()
    assert await staying == "done"
    assert not probe.unwinding.is_set()
    assert probe.calls == 1


async def test_run_is_cancelled_when_every_waiter_is() -> None:
    flight: SingleFlight[str] = SingleFlight()
    probe = Probe()
    waiters = [asyncio.create_task(flight.run("k", probe)) for _ in range(2)]
    await probe.started.wait()
    for waiter in waiters:
        waiter.cancel()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    # The last waiter returned only after the run had unwound.
    assert probe.unwound
    assert not flight.in_flight("k")


async def test_a_new_caller_after_a_cancelled_run_starts_afresh() -> None:
    flight: SingleFlight[str] = SingleFlight()
    doomed = Probe()
    waiter = asyncio.create_task(flight.run("k", doomed))
    await doomed.started.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    fresh = Probe("fresh")
    fresh.release.set()
    assert await flight.run("k", fresh) == "fresh"
    assert (doomed.calls, fresh.calls) == (1, 1)


async def test_key_is_free_while_an_abandoned_run_unwinds() -> None:
    flight: SingleFlight[str] = SingleFlight()
    doomed = Probe()
    waiter = asyncio.create_task(flight.run("k", doomed))
    await doomed.started.wait()
    waiter.cancel()
    await doomed.unwinding.wait()
    waiter.cancel()  # impatient: stop waiting for the cleanup too
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not doomed.unwound
    assert not flight.in_flight("k")

    fresh = Probe("fresh")
    fresh.release.set()
    assert await flight.run("k", fresh) == "fresh"
    await asyncio.sleep(0.02)
    assert doomed.unwound

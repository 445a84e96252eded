"""The circuit breaker: open after consecutive failures within the window, closed again
by one successful trial after the cooldown, reopened by a failed one."""

from __future__ import annotations

from tapps_lsp.analyzers.breaker import CLOSED, HALF_OPEN, OPEN, Breakers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_the_threshold_and_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = Breakers(threshold=3, window_s=60, cooldown_s=30, clock=clock).of("ruff")
    for _ in range(2):
        assert breaker.allow()
        breaker.failed("crashed")
    assert breaker.state == CLOSED
    breaker.failed("crashed")
    assert breaker.state == OPEN and not breaker.allow()
    assert breaker.as_json()["retryInS"] == 30.0
    clock.now += 30
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # the trial is running: nobody else
    breaker.succeeded()
    assert breaker.state == CLOSED and breaker.allow()
    assert breaker.as_json()["trips"] == 1


def test_a_failed_trial_reopens_it() -> None:
    clock = Clock()
    breaker = Breakers(threshold=1, cooldown_s=10, clock=clock).of("mypy")
    breaker.failed("timeout")
    clock.now += 10
    assert breaker.allow()
    breaker.failed("timeout again")
    assert breaker.state == OPEN and not breaker.allow()
    assert breaker.as_json()["lastError"] == "timeout again"


def test_failures_outside_the_window_and_a_success_reset_the_count() -> None:
    clock = Clock()
    breaker = Breakers(threshold=2, window_s=60, clock=clock).of("x")
    breaker.failed("one")
    clock.now += 61
    breaker.failed("two")  # the first is out of the window
    assert breaker.state == CLOSED
    breaker.succeeded()
    breaker.failed("three")
    assert breaker.state == CLOSED


def test_each_tool_has_its_own_and_metrics_list_them() -> None:
    breakers = Breakers(threshold=1)
    breakers.of("a").failed("boom")
    assert breakers.of("b").allow()
    assert {name: info["state"] for name, info in breakers.as_json().items()} == {
        "a": OPEN,
        "b": CLOSED,
    }

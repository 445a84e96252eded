"""A circuit breaker per tool: after `threshold` consecutive failures within `window_s`,
the tool is not run (`circuit open`) until `cooldown_s` has passed; then one trial run
(half-open) decides whether the circuit closes again or reopens. The workflow steps'
tools (analyzers.workflows) and the mypy engine (analyzers.mypy.engine) each have one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


@dataclass(slots=True)
class CircuitBreaker:
    tool: str
    threshold: int = 3
    window_s: float = 300.0
    cooldown_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    state: str = CLOSED
    # The consecutive failures' times (only those within the window count).
    _failures: list[float] = field(default_factory=list)
    _opened_at: float = 0.0
    _trial_running: bool = False
    trips: int = 0
    last_error: str | None = None

    def allow(self) -> bool:
        """Whether a run may start now; in half-open state only the one trial may."""
        if self.state == OPEN and self.clock() - self._opened_at >= self.cooldown_s:
            self.state = HALF_OPEN
            self._trial_running = False
        if self.state == CLOSED:
            return True
        if self.state == HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def succeeded(self) -> None:
        self.state = CLOSED
        self._failures.clear()
        self._trial_running = False

    def failed(self, error: str) -> None:
        now = self.clock()
        self.last_error = error
        self._trial_running = False
        self._failures = [at for at in self._failures if now - at <= self.window_s]
        self._failures.append(now)
        if self.state == HALF_OPEN or len(self._failures) >= self.threshold:
            self.state = OPEN
            self._opened_at = now
            self.trips += 1

    @property
    def consecutive_failures(self) -> int:
        return len(self._failures)

    def retry_in_s(self) -> float:
        """How long until the half-open trial, for the `circuit open` message."""
        return max(0.0, self.cooldown_s - (self.clock() - self._opened_at))

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "consecutiveFailures": len(self._failures),
            "trips": self.trips,
            "lastError": self.last_error,
            "retryInS": round(self.retry_in_s(), 1) if self.state == OPEN else None,
        }


@dataclass(slots=True)
class Breakers:
    """The breakers of one server (or CLI run), made on first use."""

    threshold: int = 3
    window_s: float = 300.0
    cooldown_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _by_tool: dict[str, CircuitBreaker] = field(default_factory=dict)

    def of(self, tool: str) -> CircuitBreaker:
        breaker = self._by_tool.get(tool)
        if breaker is None:
            breaker = CircuitBreaker(
                tool, self.threshold, self.window_s, self.cooldown_s, clock=self.clock
            )
            self._by_tool[tool] = breaker
        return breaker

    def as_json(self) -> dict[str, Any]:
        return {tool: breaker.as_json() for tool, breaker in sorted(self._by_tool.items())}

"""Timings in bounded memory, the event-loop lag monitor, and the request side of
`tapps.metrics` (request names, slow requests, RSS)."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from lsprotocol import types

from tapps_lsp.analyzers.timings import Series, Timings, percentile
from tapps_lsp.server.lsp.app import build_server
from tapps_lsp.server.lsp.metrics import LagMonitor, ServerMetrics, overshoot_ms, rss_report


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 100) == 100
    assert percentile([7.0], 95) == 7
    assert percentile([1.0, 2.0], 50) == 1
    assert percentile([1.0, 2.0], 95) == 2
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_of_one_name() -> None:
    timings = Timings()
    for ms in [5.0, 1.0, 3.0, 2.0, 4.0]:
        timings.record("ruff", ms)
    assert timings.summary() == {"ruff": {"count": 5, "p50": 3.0, "p95": 5.0, "max": 5.0}}
    assert Timings().summary() == {}


def test_memory_is_bounded_but_count_and_max_cover_everything() -> None:
    timings = Timings(window=10)
    timings.record("mypy", 10_000.0)
    for _ in range(5000):
        timings.record("mypy", 1.0)
    series = timings.get("mypy")
    assert series is not None and len(series.samples) == 10
    assert timings.summary()["mypy"] == {"count": 5001, "p50": 1.0, "p95": 1.0, "max": 10_000.0}


def test_names_are_kept_apart_and_sorted() -> None:
    timings = Timings()
    timings.record("workspace/executeCommand:tapps.reviewWorkspace", 2.0)
    timings.record("textDocument/diagnostic", 1.0)
    assert timings.names() == [
        "textDocument/diagnostic",
        "workspace/executeCommand:tapps.reviewWorkspace",
    ]
    assert Series(window=3).summary() == {"count": 0, "p50": None, "p95": None, "max": None}


def test_overshoot() -> None:
    assert overshoot_ms(10.0, 10.1025, 0.1) == pytest.approx(2.5)
    assert overshoot_ms(10.0, 10.09, 0.1) == 0.0, "a clock never makes a wake-up early"


async def test_lag_monitor_sees_a_blocked_loop_and_little_otherwise() -> None:
    monitor = LagMonitor(interval=0.02)
    tasks: set[asyncio.Task[Any]] = set()

    def spawn(coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        return task

    monitor.start(spawn)
    monitor.start(spawn)
    assert len(tasks) == 1, "started once"
    await asyncio.sleep(0.25)
    quiet = monitor.summary()
    assert quiet["samples"] >= 5
    assert quiet["p95"] < 15, quiet
    time.sleep(0.15)  # block the loop as a synchronous call would
    await asyncio.sleep(0.1)
    blocked = monitor.summary()
    assert blocked["max"] >= 100, blocked
    assert blocked["maxEver"] == blocked["max"]
    assert blocked["intervalMs"] == 20
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_lag_summary_before_any_sample() -> None:
    summary = LagMonitor().summary()
    assert summary["samples"] == 0 and summary["p95"] is None and summary["max"] is None
    assert summary["windowS"] == 100


def test_request_names() -> None:
    protocol = build_server().tapps_protocol
    assert protocol.request_name("textDocument/diagnostic", None) == "textDocument/diagnostic"
    assert protocol.request_name("initialize", None) == "initialize"
    run = types.ExecuteCommandParams(command="tapps.reviewWorkspace")
    assert (
        protocol.request_name("workspace/executeCommand", run)
        == "workspace/executeCommand:tapps.reviewWorkspace"
    )
    made_up = types.ExecuteCommandParams(command="made.up")
    assert (
        protocol.request_name("workspace/executeCommand", made_up)
        == "workspace/executeCommand:(unknown)"
    )
    assert protocol.request_name("x/anything", None) == "(unknown method)"


def test_slow_requests_are_logged_and_kept(caplog: pytest.LogCaptureFixture) -> None:
    server = build_server()
    metrics = server.tapps_protocol.observer
    assert isinstance(metrics, ServerMetrics)
    assert metrics.slow_request_seconds() == 5.0
    with caplog.at_level(logging.WARNING, logger="tapps_lsp.server.lsp.metrics"):
        metrics.request_finished("textDocument/diagnostic", 12.0)
        metrics.request_finished("workspace/executeCommand:tapps.reviewWorkspace", 6500.0)
    assert [s["method"] for s in metrics.slow] == ["workspace/executeCommand:tapps.reviewWorkspace"]
    assert metrics.slow[0]["ms"] == 6500.0 and metrics.slow[0]["at"].endswith("+00:00")
    assert "slow request: workspace/executeCommand:tapps.reviewWorkspace took 6500 ms" in (
        caplog.text
    )
    for _ in range(60):
        metrics.request_finished("textDocument/diagnostic", 9000.0)
    assert len(metrics.slow) == 50
    assert metrics.requests.summary()["textDocument/diagnostic"]["count"] == 61


def test_rss_counts_child_processes() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        report = rss_report(os.getpid())
        while report["childProcesses"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            report = rss_report(os.getpid())
        assert report["serverMb"] > 0
        assert report["childProcesses"] >= 1
        assert report["childrenMb"] > 0
        assert report["totalMb"] == pytest.approx(
            report["serverMb"] + report["childrenMb"], abs=0.2
        )
    finally:
        child.kill()
        child.wait()

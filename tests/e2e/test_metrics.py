"""`tapps.metrics` over real stdio: request, tool and review timings, the cache, the
engines, RSS, the event loop's lag and slow requests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.conftest import Session, start_session, stop_session

REVIEW_WORKSPACE = "workspace/executeCommand:tapps.reviewWorkspace"


async def execute(session: Session, command: str, *arguments: Any) -> Any:
    return await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))
    )


def is_timing(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"count", "p50", "p95", "max"}
        and all(isinstance(value[k], int | float) for k in value)
        and value["p50"] <= value["p95"] <= value["max"]
    )


async def test_metrics_after_a_save_and_a_workspace_review(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        mark = session.open("app/a.py")
        await session.wait_complete("app/a.py", after=mark)
        mark = session.save("app/a.py", session.text("app/a.py") + "\n\nX = 1\n")
        await session.wait_complete("app/a.py", after=mark)
        await execute(session, "tapps.reviewWorkspace", {})
        first = await execute(session, "tapps.metrics")

        requests = first["requests"]
        assert requests[REVIEW_WORKSPACE]["count"] == 1
        assert requests["initialize"]["count"] == 1
        assert "workspace/executeCommand:tapps.metrics" not in requests, "still running"
        assert all(map(is_timing, requests.values())), requests
        tools = first["tools"]
        assert tools["ruff"]["count"] >= 1 and tools["mypy"]["count"] >= 1, tools
        assert all(map(is_timing, tools.values())), tools
        assert first["reviews"]["review"]["count"] >= 2, "the open and the save"

        cache = first["cache"]
        assert cache["misses"] >= 1
        assert cache["hitRate"] == round(cache["hits"] / (cache["hits"] + cache["misses"]), 3)
        (engine,) = first["engines"]
        assert engine["configRoot"] == str(basic_project)
        assert isinstance(engine["state"], str) and "restarts" in engine, engine
        if engine["state"] == "ready":
            assert engine["rssMb"] > 0

        rss = first["rss"]
        assert rss["serverMb"] > 0
        assert rss["totalMb"] >= rss["serverMb"]
        lag = first["eventLoopLag"]
        assert lag["samples"] >= 1
        assert isinstance(lag["p95"], float) and isinstance(lag["max"], float)
        assert 0 <= lag["p95"] <= lag["max"]
        assert first["slowRequestSeconds"] == 5.0
        assert first["uptimeS"] > 0

        await execute(session, "tapps.reviewWorkspace", {})
        second = await execute(session, "tapps.metrics")
        assert second["requests"][REVIEW_WORKSPACE]["count"] == 2
        assert second["requests"]["workspace/executeCommand:tapps.metrics"]["count"] == 1
        assert second["cache"]["hits"] == cache["hits"] + 6, "every file a hit"
        assert second["cache"]["misses"] == cache["misses"]
        assert second["tools"]["mypy"]["count"] == tools["mypy"]["count"], "hits run nothing"
        assert second["tools"]["ruff"]["count"] == tools["ruff"]["count"]

        await asyncio.sleep(1.0)  # a pause: the server collects its garbage now
        collected = (await execute(session, "tapps.metrics"))["garbageCollection"]
        assert collected["fullCollections"] >= 1, collected
        assert collected["frozenObjects"] > 0 and collected["lastFullMs"] >= 0
    finally:
        await stop_session(session)


async def test_a_review_answered_from_the_cache_starts_no_engine(basic_project: Path) -> None:
    first = await start_session(basic_project)
    try:
        cold = await execute(first, "tapps.reviewWorkspace", {})
        assert cold["cache"]["misses"] == cold["files"] > 0, cold
    finally:
        await stop_session(first)

    restarted = await start_session(basic_project)
    try:
        warm = await execute(restarted, "tapps.reviewWorkspace", {})
        assert warm["cache"]["hits"] == warm["files"] == cold["files"], warm
        (engine,) = (await execute(restarted, "tapps.metrics"))["engines"]
        assert engine["state"] == "new" and engine["pid"] is None, engine

        mark = restarted.open("app/a.py")
        await restarted.wait_complete("app/a.py", after=mark)
        (engine,) = (await execute(restarted, "tapps.metrics"))["engines"]
        assert engine["state"] != "new", "opening a file warms the engine"
    finally:
        await stop_session(restarted)


async def test_a_project_blocked_by_a_syntax_error_is_run_once_per_batch(
    basic_project: Path,
) -> None:
    (basic_project / "app" / "broken.py").write_text("def broken(:\n")
    for n in range(12):
        (basic_project / "app" / f"m{n}.py").write_text(f"N{n}: int = {n}\n")
    session = await start_session(basic_project)
    try:
        result = await execute(session, "tapps.reviewWorkspace", {})
        assert result["files"] == 6 + 1 + 12
        shown = [p for p in session.publishes if p.uri.endswith("/m3.py") and p.complete]
        assert any(d.code == "blocked" for d in shown[-1].diagnostics), shown
        tools = (await execute(session, "tapps.metrics"))["tools"]
        assert tools["mypy"]["count"] == 1, "the same sources give the same blocked answer"
    finally:
        await stop_session(session)


async def test_a_failing_mypy_runs_once_per_batch_and_is_shown_once(
    basic_project: Path,
) -> None:
    config = basic_project / "pyproject.toml"
    config.write_text(config.read_text().replace("strict = true", "files = 3"))
    for n in range(12):
        (basic_project / "app" / f"m{n}.py").write_text(f"N{n}: int = {n}\n")
    session = await start_session(basic_project)
    try:
        result = await execute(session, "tapps.reviewWorkspace", {})
        assert result["files"] == 6 + 12
        tools = (await execute(session, "tapps.metrics"))["tools"]
        assert tools["mypy"]["count"] == 1, "a failure is the batch's answer for every file"
        shown = [m for m in session.client.messages if "files: Expected a list" in m.message]
        assert len(shown) == 1, "the failure is shown, once"
        assert shown[0].type == types.MessageType.Error
    finally:
        await stop_session(session)


async def test_slow_requests_are_listed_and_logged(
    basic_project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.tapps]\nslow_request_seconds = 0.001\n")
    session = await start_session(basic_project)
    try:
        await execute(session, "tapps.scoreFile", {"uri": session.uri("app/typeerr.py")})
        await session.client.workspace_diagnostic_async(
            types.WorkspaceDiagnosticParams(previous_result_ids=[])
        )
        metrics = await execute(session, "tapps.metrics")
        assert metrics["slowRequestSeconds"] == 0.001
        slow = {entry["method"]: entry for entry in metrics["slowRequests"]}
        entry = slow["workspace/executeCommand:tapps.scoreFile"]
        assert entry["ms"] > 1 and entry["at"].endswith("+00:00")
        # Held until something changes, by design: never "slow".
        assert "workspace/diagnostic" not in slow
        assert metrics["requests"]["workspace/diagnostic"]["count"] == 1
    finally:
        await stop_session(session)
    assert "slow request: workspace/executeCommand:tapps.scoreFile took" in capfd.readouterr().err

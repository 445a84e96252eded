"""Review workflows over real stdio: the presets, a user workflow's parallel graph, a
validation error on pyproject.toml, timeouts, retries and the circuit breaker with a
failing `command` step, an untrusted step refused, pytest failures on their lines, and
runs that survive a SIGKILL or a pause in another server process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tests.e2e.conftest import Session, copy_fixture, start_session, stop_session

PY = sys.executable
TRUSTED = {"trustedWorkspace": True}


async def execute(
    session: Session, command: str, arguments: Any = None, token: str | None = None
) -> Any:
    if token is not None:
        session.client.progress_reports[token] = []
    return await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command=command,
            arguments=[] if arguments is None else [arguments],
            work_done_token=token,
        )
    )


def add_workflows(root: Path, toml: str) -> None:
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n" + textwrap.dedent(toml))


def steps_of(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in status["steps"]}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_every_preset_runs_and_a_rerun_is_cached(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    session = await start_session(root, initialization_options=TRUSTED)
    try:
        listed = await execute(session, "tapps.listWorkflows")
        names = {w["name"]: w for w in listed["workflows"]}
        assert {"minimal", "standard", "comprehensive", "full"} <= set(names)
        assert all(names[n]["preset"] for n in ("minimal", "standard", "comprehensive", "full"))
        assert [s["uses"] for s in names["standard"]["steps"]] == ["ruff", "mypy", "score"]
        assert names["standard"]["steps"][2]["needs"] == ["ruff", "mypy"]

        reports = {}
        for name in ("minimal", "standard", "comprehensive", "full"):
            answer = await execute(session, "tapps.runWorkflow", {"workflow": name}, f"wf-{name}")
            assert answer["state"] == "done", answer
            reports[name] = answer["report"]
            progress = session.client.progress_reports[f"wf-{name}"]
            if progress:
                assert isinstance(progress[-1], types.WorkDoneProgressEnd)
        assert reports["minimal"]["findings"]["bySource"] == {"ruff": 3}
        assert reports["standard"]["findings"]["bySource"] == {"mypy": 3, "ruff": 3}
        comprehensive = reports["comprehensive"]["findings"]["bySource"]
        assert comprehensive["tapps-docs"] > 0 and comprehensive["tapps-deadcode"] > 0
        assert reports["full"]["findings"] == reports["comprehensive"]["findings"]

        again = await execute(session, "tapps.runWorkflow", {"workflow": "comprehensive"})
        status = await execute(session, "tapps.runStatus", {"runId": again["runId"]})
        assert all(step["cached"] for step in status["steps"])
        assert again["report"] == reports["comprehensive"]
        metrics = await execute(session, "tapps.metrics")
        assert metrics["workflows"]["stepCache"]["hits"] >= 4

        # Workflow findings show as diagnostics named by their step kind.
        docs = [p for p in session.publishes if "tapps-docs" in p.sources]
        assert docs, "the docs step's findings were published"
        runs = await execute(session, "tapps.listRuns")
        assert runs["runs"][0]["runId"] == again["runId"]
        assert len(runs["runs"]) == 5
    finally:
        await stop_session(session)


async def test_independent_steps_run_at_the_same_time(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    sleep = [PY, "-c", "import time; time.sleep(1.0)"]
    add_workflows(
        root,
        f"""
        [tool.tapps.workflows.graph.steps.a]
        uses = "command"
        with = {{ argv = {sleep!r} }}
        [tool.tapps.workflows.graph.steps.b]
        uses = "command"
        with = {{ argv = {sleep!r} }}
        [tool.tapps.workflows.graph.steps.c]
        uses = "command"
        needs = ["a", "b"]
        with = {{ argv = ["{PY}", "-c", "pass"] }}
        """.replace("'", '"'),
    )
    session = await start_session(root, initialization_options=TRUSTED)
    try:
        answer = await execute(session, "tapps.runWorkflow", {"workflow": "graph"})
        assert answer["state"] == "done"
        steps = steps_of(await execute(session, "tapps.runStatus", {"runId": answer["runId"]}))
        a, b, c = steps["a"], steps["b"], steps["c"]
        # a and b overlap; c starts only after both finished.
        assert at(a["startedAt"]) < at(b["finishedAt"]) and at(b["startedAt"]) < at(a["finishedAt"])
        assert at(c["startedAt"]) >= max(at(a["finishedAt"]), at(b["finishedAt"]))
    finally:
        await stop_session(session)


async def test_a_validation_error_is_a_diagnostic_on_its_pyproject_line(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    add_workflows(
        root,
        """
        [tool.tapps.workflows.broken.steps.lint]
        uses = "lint-everything"
        """,
    )
    lines = (root / "pyproject.toml").read_text().splitlines()
    wanted = next(n for n, line in enumerate(lines) if "lint-everything" in line)
    session = await start_session(root)
    try:
        uri = (root / "pyproject.toml").as_uri()
        published = await session.wait_for(lambda p: p.uri == uri and bool(p.diagnostics))
        [diagnostic] = published.diagnostics
        assert diagnostic.source == "tapps-workflows"
        assert diagnostic.range.start.line == wanted
        assert "unknown step kind `lint-everything`" in diagnostic.message
        listed = await execute(session, "tapps.listWorkflows")
        assert "broken" not in {w["name"] for w in listed["workflows"]}
        assert any("lint-everything" in p for p in listed["problems"])
        with pytest.raises(JsonRpcInvalidParams, match="not valid"):
            await execute(session, "tapps.runWorkflow", {"workflow": "broken"})
        with pytest.raises(JsonRpcInvalidParams, match="no workflow `nope`"):
            await execute(session, "tapps.runWorkflow", {"workflow": "nope"})
        with pytest.raises(JsonRpcInvalidParams, match="unknown argument"):
            await execute(session, "tapps.runWorkflow", {"workflow": "minimal", "typo": 1})
    finally:
        await stop_session(session)


async def test_timeouts_retries_and_the_circuit_breaker(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    flaky = [PY, "-c", "import time; time.sleep(5)"]
    failing = [PY, "-c", "import sys; print('bad thing happened'); sys.exit(3)"]
    session = await start_session(
        root,
        initialization_options={
            **TRUSTED,
            "workflows": {
                "slow": {
                    "steps": {
                        "hang": {
                            "uses": "command",
                            "with": {"argv": flaky},
                            "timeout": 0.5,
                            "retries": 2,
                        }
                    }
                },
                "broken": {
                    "steps": {
                        "fail": {"uses": "command", "with": {"argv": failing}},
                        "lint": {"uses": "ruff"},
                    }
                },
            },
        },
    )
    try:
        slow = await execute(session, "tapps.runWorkflow", {"workflow": "slow"})
        assert slow["state"] == "failed"
        hang = steps_of(await execute(session, "tapps.runStatus", {"runId": slow["runId"]}))["hang"]
        assert hang["state"] == "failed" and hang["attempts"] == 3
        assert "timed out after 0.5 s" in hang["error"]

        for _ in range(3):  # the breaker's threshold
            broken = await execute(session, "tapps.runWorkflow", {"workflow": "broken"})
            assert broken["state"] == "failed"
            [failure] = broken["report"]["failures"]
            assert failure["step"] == "fail" and "exited with 3" in failure["error"]
            assert "bad thing happened" in failure["outputTail"]
            lint = steps_of(await execute(session, "tapps.runStatus", {"runId": broken["runId"]}))
            assert lint["lint"]["state"] == "done", "a failure cancels only what needs it"
        tripped = await execute(session, "tapps.runWorkflow", {"workflow": "broken"})
        fail = steps_of(await execute(session, "tapps.runStatus", {"runId": tripped["runId"]}))
        assert fail["fail"]["state"] == "skipped"
        assert fail["fail"]["error"].startswith("circuit open")
        assert fail["fail"]["attempts"] == 0, "the program did not run"
        metrics = await execute(session, "tapps.metrics")
        breakers = next(iter(metrics["workflows"]["breakers"].values()))
        [tripped_breaker] = [b for name, b in breakers.items() if "sys.exit(3)" in name]
        assert tripped_breaker["state"] == "open" and tripped_breaker["trips"] == 1
    finally:
        await stop_session(session)


async def test_an_untrusted_command_step_is_refused_and_the_rest_runs(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    marker = tmp_path / "ran"
    add_workflows(
        root,
        f"""
        [tool.tapps.workflows.sneaky.steps.lint]
        uses = "ruff"
        [tool.tapps.workflows.sneaky.steps.payload]
        uses = "command"
        with = {{ argv = ["{PY}", "-c", "open('{marker}', 'w')"] }}
        """,
    )
    session = await start_session(root)  # untrusted: nothing said otherwise
    try:
        answer = await execute(session, "tapps.runWorkflow", {"workflow": "sneaky"})
        steps = steps_of(await execute(session, "tapps.runStatus", {"runId": answer["runId"]}))
        assert steps["payload"]["state"] == "skipped"
        assert "not trusted" in steps["payload"]["error"]
        assert steps["lint"]["state"] == "done"
        assert answer["state"] == "done"
        assert not marker.exists(), "the workspace's program never ran"
    finally:
        await stop_session(session)


async def test_pytest_failures_are_diagnostics_on_the_test_lines(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    tests = root / "tests"
    tests.mkdir()
    (tests / "test_sample.py").write_text(
        "def test_passes():\n    assert True\n\n\ndef test_fails():\n    assert 1 == 2\n"
    )
    session = await start_session(
        root, initialization_options={**TRUSTED, "testCommand": [PY, "-m", "pytest"]}
    )
    try:
        answer = await execute(session, "tapps.runWorkflow", {"workflow": "full", "paths": []})
        tests_step = next(s for s in answer["report"]["steps"] if s["id"] == "tests")
        assert tests_step["state"] == "done"
        assert tests_step["summary"]["failures"] == 1
        [finding] = tests_step["findings"]
        assert finding["path"] == "tests/test_sample.py" and finding["line"] == 5
        uri = (tests / "test_sample.py").as_uri()
        published = await session.wait_for(lambda p: p.uri == uri and "tapps-tests" in p.sources)
        [diagnostic] = published.by_source("tapps-tests")
        assert diagnostic.range.start.line == 4
        assert "test_fails" in diagnostic.message
    finally:
        await stop_session(session)


async def _wait_step_running(session: Session, run_id: str, step: str) -> None:
    async with asyncio.timeout(60):
        while True:
            status = await execute(session, "tapps.runStatus", {"runId": run_id})
            if steps_of(status)[step]["state"] == "running":
                return
            await asyncio.sleep(0.05)


def _slow_workflow(root: Path, marker_dir: Path) -> dict[str, Any]:
    """first → slow (2 s) → last, each appending its name to a file when it runs."""

    def step(name: str, seconds: float, needs: list[str]) -> dict[str, Any]:
        ran = str(marker_dir / "ran")
        code = f"import time; open({ran!r}, 'a').write('{name}\\n'); time.sleep({seconds})"
        return {"uses": "command", "with": {"argv": [PY, "-c", code]}, "needs": needs}

    return {
        "steps": {
            "first": step("first", 0, []),
            "lint": {"uses": "ruff", "needs": ["first"]},
            "slow": step("slow", 2, ["first"]),
            "last": step("last", 0, ["slow", "lint"]),
        }
    }


async def test_a_sigkilled_run_resumes_in_a_new_server_without_rerunning_done_steps(
    tmp_path: Path,
) -> None:
    root = copy_fixture("basic", tmp_path)
    options = {**TRUSTED, "workflows": {"durable": _slow_workflow(root, tmp_path)}}
    reference_session = await start_session(root, initialization_options=options)
    try:
        reference = await execute(reference_session, "tapps.runWorkflow", {"workflow": "durable"})
        # Command steps are cached too: the next run must execute them.
        await execute(reference_session, "tapps.clearCache")
    finally:
        await stop_session(reference_session)
    (tmp_path / "ran").unlink()

    session = await start_session(root, initialization_options=options)
    submitted = await execute(
        session,
        "tapps.submit",
        {"command": "tapps.runWorkflow", "arguments": {"workflow": "durable"}},
    )
    async with asyncio.timeout(60):
        while not (await execute(session, "tapps.listRuns"))["runs"] or (
            (await execute(session, "tapps.listRuns"))["runs"][0]["runId"] == reference["runId"]
        ):
            await asyncio.sleep(0.05)
    run_id = (await execute(session, "tapps.listRuns"))["runs"][0]["runId"]
    assert submitted["taskId"]
    await _wait_step_running(session, run_id, "slow")
    async with asyncio.timeout(30):  # "running" is logged before the program starts
        while "slow" not in (tmp_path / "ran").read_text().split():
            await asyncio.sleep(0.02)
    server = session.client._server  # type: ignore[attr-defined]
    os.kill(server.pid, signal.SIGKILL)
    await server.wait()
    await session.client.stop()
    assert (tmp_path / "ran").read_text().split() == ["first", "slow"]

    fresh = await start_session(root, initialization_options=options)
    try:
        status = await execute(fresh, "tapps.runStatus", {"runId": run_id})
        assert status["state"] == "interrupted"
        assert steps_of(status)["first"]["state"] == "done"
        resumed = await execute(fresh, "tapps.resumeRun", {"runId": run_id}, "resume-1")
        assert resumed["state"] == "done"
        steps = steps_of(await execute(fresh, "tapps.runStatus", {"runId": run_id}))
        assert steps["first"]["resumed"] and steps["first"]["attempts"] == 1
        assert not steps["slow"]["resumed"] and not steps["last"]["resumed"]
        # first ran once in all; slow again from the start; last once.
        assert (tmp_path / "ran").read_text().split() == ["first", "slow", "slow", "last"]
        assert resumed["report"] == reference["report"]
        with pytest.raises(JsonRpcInvalidParams, match="only a paused or interrupted run"):
            await execute(fresh, "tapps.resumeRun", {"runId": run_id})
    finally:
        await stop_session(fresh)


async def test_pause_then_resume_in_another_server(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    options = {**TRUSTED, "workflows": {"durable": _slow_workflow(root, tmp_path)}}
    session = await start_session(root, initialization_options=options)
    try:
        running = asyncio.ensure_future(
            execute(session, "tapps.runWorkflow", {"workflow": "durable"})
        )
        async with asyncio.timeout(60):
            while not (await execute(session, "tapps.listRuns"))["runs"]:
                await asyncio.sleep(0.05)
        run_id = (await execute(session, "tapps.listRuns"))["runs"][0]["runId"]
        await _wait_step_running(session, run_id, "slow")
        paused = await execute(session, "tapps.pauseRun", {"runId": run_id})
        assert paused["state"] == "paused"
        answer = await running
        assert answer["state"] == "paused" and "report" not in answer
        steps = steps_of(await execute(session, "tapps.runStatus", {"runId": run_id}))
        assert steps["slow"]["state"] == "done", "the running step finished"
        assert steps["last"]["state"] == "pending", "no step started after the pause"
    finally:
        await stop_session(session)

    other = await start_session(root, initialization_options=options)
    try:
        resumed = await execute(other, "tapps.resumeRun", {"runId": run_id})
        assert resumed["state"] == "done"
        steps = steps_of(await execute(other, "tapps.runStatus", {"runId": run_id}))
        assert steps["slow"]["resumed"] and not steps["last"]["resumed"]
        assert (tmp_path / "ran").read_text().split() == ["first", "slow", "last"]
        cancelled = await execute(other, "tapps.cancelRun", {"runId": run_id})
        assert cancelled["state"] == "done", "a finished run stays as it ended"
    finally:
        await stop_session(other)

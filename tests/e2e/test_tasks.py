"""Background tasks over the real server: submit, status, result, cancel, the
`tapps/taskUpdate` notifications, the queue bound, sharing, and persistence across
restarts (tasks.sqlite3 in the cache folder)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcServerError

from tapps_lsp.analyzers.workspace import user_cache_folder
from tests.e2e.conftest import Session, start_session, stop_session
from tests.e2e.test_review_commands import APP_FILES, execute


def tasks_db(root: Path) -> Path:
    """Where the untrusted workspace's task store is: the user's cache folder for it."""
    return user_cache_folder(root) / "tasks.sqlite3"


class Updates:
    """The `tapps/taskUpdate` notifications, as dicts, with their arrival times."""

    def __init__(self, session: Session) -> None:
        self.items: list[tuple[float, dict[str, Any]]] = []
        self._arrived = asyncio.Condition()
        session.client.protocol.fm.features["tapps/taskUpdate"] = self._record

    async def _record(self, params: Any) -> None:
        async with self._arrived:
            self.items.append((time.monotonic(), params._asdict()))
            self._arrived.notify_all()

    def of(self, task_id: str) -> list[dict[str, Any]]:
        return [update for _, update in self.items if update["taskId"] == task_id]

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async with asyncio.timeout(120), self._arrived:
            while True:
                for _, update in self.items:
                    if predicate(update):
                        return update
                await self._arrived.wait()


async def submit(session: Session, command: str, arguments: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"command": command}
    if arguments is not None:
        body["arguments"] = arguments
    result: dict[str, Any] = await execute(session, "tapps.submit", body)
    return result


async def status(session: Session, task_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await execute(session, "tapps.taskStatus", {"taskId": task_id})
    return result


async def task_result(session: Session, task_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await execute(session, "tapps.taskResult", {"taskId": task_id})
    return result


async def wait_finished(session: Session, task_id: str) -> dict[str, Any]:
    """Poll as a client would, following retryAfterMs (capped to keep the test short)."""
    async with asyncio.timeout(120):
        while True:
            current = await status(session, task_id)
            if current["retryAfterMs"] is None:
                return current
            await asyncio.sleep(min(current["retryAfterMs"], 1000) / 1000)


async def test_submit_answers_at_once_then_notifies_until_done(basic_project: Path) -> None:
    session = await start_session(basic_project)
    updates = Updates(session)
    try:
        submitted = await submit(session, "tapps.reviewWorkspace", {})
        assert submitted["state"] == "queued" and submitted["shared"] is False
        task_id = submitted["taskId"]
        first = await status(session, task_id)
        assert first["state"] in ("queued", "running"), "answered before the review ended"
        assert first["finishedAt"] is None and first["retryAfterMs"] == 250
        assert first["command"] == "tapps.reviewWorkspace"

        final = await wait_finished(session, task_id)
        assert final["state"] == "done" and final["progress"] == 100
        assert final["error"] is None
        assert final["submittedAt"] <= final["startedAt"] <= final["finishedAt"]
        assert final["finishedAt"].endswith("Z")
        result = await task_result(session, task_id)
        assert result["state"] == "done" and result["error"] is None
        assert result["result"]["files"] == len(APP_FILES)
        assert result["result"]["cancelled"] is False

        await updates.wait_for(lambda u: u["taskId"] == task_id and u["state"] == "done")
        mine = updates.of(task_id)
        states = [u["state"] for u in mine]
        assert states[0] == "queued" and states[1] == "running" and states[-1] == "done"
        assert set(states) == {"queued", "running", "done"}
        progress = mine[2:-1]
        assert progress, "progress was pushed while the batch ran"
        assert all("files" in u["message"] for u in progress)
        percentages = [u["progress"] for u in mine]
        assert percentages == sorted(percentages)
        times = [at for at, u in updates.items if u["taskId"] == task_id]
        assert len(progress) <= 4 * (times[-1] - times[0]) + 2, "at most 4 updates a second"
    finally:
        await stop_session(session)


async def test_tasks_run_one_at_a_time_and_cancel_keeps_the_partial_result(
    basic_project: Path,
) -> None:
    session = await start_session(basic_project)
    updates = Updates(session)
    try:
        review = (await submit(session, "tapps.reviewWorkspace", {}))["taskId"]
        score_uri = (basic_project / "app" / "a.py").as_uri()
        waiting = (await submit(session, "tapps.scoreFile", {"uri": score_uri}))["taskId"]
        assert (await status(session, waiting))["state"] == "queued"

        # A queued task is cancelled at once, without a result.
        cancelled = await execute(session, "tapps.cancelTask", {"taskId": waiting})
        assert cancelled["state"] == "cancelled" and cancelled["startedAt"] is None
        assert (await task_result(session, waiting))["result"] is None

        # The running batch stops and says what it did.
        await updates.wait_for(lambda u: u["taskId"] == review and "files" in (u["message"] or ""))
        stopped = await execute(session, "tapps.cancelTask", {"taskId": review})
        assert stopped["state"] == "cancelled"
        partial = await task_result(session, review)
        assert partial["state"] == "cancelled"
        assert partial["result"]["cancelled"] is True
        assert partial["result"]["files"] < len(APP_FILES)
        again = await execute(session, "tapps.cancelTask", {"taskId": review})
        assert again["state"] == "cancelled", "cancelling a finished task changes nothing"

        # The queue goes on.
        after = (await submit(session, "tapps.scoreFile", {"uri": score_uri}))["taskId"]
        assert (await wait_finished(session, after))["state"] == "done"
        assert (await task_result(session, after))["result"]["uri"] == score_uri
    finally:
        await stop_session(session)


async def test_results_survive_a_restart_and_a_crash_leaves_no_running_task(
    basic_project: Path,
) -> None:
    session = await start_session(basic_project)
    try:
        kept = (await submit(session, "tapps.reviewWorkspace", {}))["taskId"]
        assert (await wait_finished(session, kept))["state"] == "done"
        result = await task_result(session, kept)
        crashed = (await submit(session, "tapps.cacheStats"))["taskId"]
        assert (await wait_finished(session, crashed))["state"] == "done"
        cleared = (await submit(session, "tapps.clearCache"))["taskId"]
        assert (await wait_finished(session, cleared))["state"] == "done"
        assert await task_result(session, kept) == result, "clearCache keeps the tasks"
    finally:
        await stop_session(session)

    # A server killed while a task runs leaves its row `running`. Killing one at exactly
    # that moment is not cheap to cause for real, so the row is rewritten as it was.
    with sqlite3.connect(tasks_db(basic_project)) as conn:
        conn.execute(
            "UPDATE tasks SET state = 'running', finished_at = NULL, result = NULL WHERE id = ?",
            (crashed,),
        )

    session = await start_session(basic_project)
    try:
        assert await task_result(session, kept) == result
        interrupted = await status(session, crashed)
        assert interrupted["state"] == "failed" and interrupted["error"] == "interrupted"
        assert interrupted["finishedAt"] is not None and interrupted["retryAfterMs"] is None
    finally:
        await stop_session(session)


async def test_shutdown_stops_a_running_task_and_records_it(basic_project: Path) -> None:
    session = await start_session(basic_project)
    updates = Updates(session)
    try:
        task_id = (await submit(session, "tapps.reviewWorkspace", {}))["taskId"]
        await updates.wait_for(lambda u: u["taskId"] == task_id and u["state"] == "running")
    finally:
        await stop_session(session)
    with sqlite3.connect(tasks_db(basic_project)) as conn:
        state, error = conn.execute(
            "SELECT state, error FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
    assert (state, error) == ("failed", "interrupted")


async def test_the_queue_is_bounded_by_a_setting(basic_project: Path) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.tapps]\nmax_queued_tasks = 1\n")
    session = await start_session(basic_project)
    try:
        a, b = (basic_project / "app" / "a.py").as_uri(), (basic_project / "app" / "b.py").as_uri()
        answers = await asyncio.gather(
            submit(session, "tapps.reviewWorkspace", {}),
            submit(session, "tapps.reviewFiles", {"uris": [a]}),
            submit(session, "tapps.scoreFile", {"uri": b}),
            return_exceptions=True,
        )
        running, queued, refused = answers
        assert isinstance(refused, JsonRpcServerError)
        assert refused.code == -32010
        assert "the task queue is full (1 queued; setting maxQueuedTasks)" in refused.message
        assert isinstance(running, dict) and isinstance(queued, dict)
        assert (await wait_finished(session, queued["taskId"]))["state"] == "done"
        assert (await status(session, running["taskId"]))["state"] == "done"
        accepted = await submit(session, "tapps.scoreFile", {"uri": b})
        assert (await wait_finished(session, accepted["taskId"]))["state"] == "done"
    finally:
        await stop_session(session)


async def test_identical_tasks_share_one_run(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        first, second = await asyncio.gather(
            submit(session, "tapps.reviewWorkspace", {"include": ["app/*.py"], "exclude": []}),
            submit(session, "tapps.reviewWorkspace", {"exclude": [], "include": ["app/*.py"]}),
        )
        assert first["taskId"] == second["taskId"]
        assert (first["shared"], second["shared"]) == (False, True)
        other = await submit(session, "tapps.reviewWorkspace", {"include": ["app/a.py"]})
        assert other["taskId"] != first["taskId"], "other arguments, another task"
        await wait_finished(session, first["taskId"])
        later = await submit(session, "tapps.reviewWorkspace", {"include": ["app/*.py"]})
        assert later["taskId"] != first["taskId"], "a finished task is not shared"
        assert later["shared"] is False
    finally:
        await stop_session(session)


async def test_bad_input_is_a_clear_error_and_a_failing_runner_fails_the_task(
    basic_project: Path,
) -> None:
    session = await start_session(basic_project)
    try:
        for command, argument, complaint in [
            ("tapps.submit", {"command": "tapps.nope"}, "unknown command 'tapps.nope'"),
            ("tapps.submit", {}, "missing argument 'command'"),
            ("tapps.submit", {"command": "tapps.submit"}, "unknown command 'tapps.submit'"),
            ("tapps.submit", {"command": "tapps.scoreFile", "args": {}}, "unknown argument"),
            (
                "tapps.submit",
                {"command": "tapps.reviewWorkspace", "arguments": [1]},
                "tapps.reviewWorkspace: expected an object argument, got list",
            ),
            ("tapps.taskStatus", {}, "tapps.taskStatus: missing argument 'taskId'"),
            ("tapps.taskResult", {"taskId": "nope"}, "tapps.taskResult: unknown task 'nope'"),
            ("tapps.cancelTask", {"taskId": 3}, "'taskId' must be a string"),
            ("tapps.cancelTask", {"taskId": "nope"}, "tapps.cancelTask: unknown task 'nope'"),
            ("tapps.taskStatus", {"taskId": "x", "id": "y"}, "unknown argument 'id'"),
        ]:
            with pytest.raises(JsonRpcInvalidParams, match=complaint):
                await execute(session, command, argument)

        # The command's own arguments are checked at submit, before anything is queued.
        a_py = basic_project / "app" / "a.py"
        for arguments, complaint in [
            ({"uri": "/etc/passwd"}, "tapps.scoreFile: 'uri' is outside the workspace"),
            ({"uri": a_py.as_uri(), "x": 1}, "tapps.scoreFile: unknown argument 'x'"),
            ({}, "tapps.scoreFile: missing argument 'uri'"),
        ]:
            with pytest.raises(JsonRpcInvalidParams, match=complaint):
                await submit(session, "tapps.scoreFile", arguments)
        with pytest.raises(JsonRpcInvalidParams, match="'folder' is outside the workspace"):
            await submit(session, "tapps.reviewWorkspace", {"folder": "/tmp"})
        with pytest.raises(JsonRpcInvalidParams, match="'uris' is outside the workspace"):
            await submit(session, "tapps.reviewFiles", {"uris": ["/etc/hosts"]})

        # What was true at submit may no longer be when the task runs: the task fails.
        review = (await submit(session, "tapps.reviewWorkspace", {}))["taskId"]
        doomed = (await submit(session, "tapps.scoreFile", {"uri": a_py.as_uri()}))["taskId"]
        assert (await status(session, doomed))["state"] == "queued"
        a_py.unlink()
        assert (await wait_finished(session, review))["state"] == "done"
        failed = await wait_finished(session, doomed)
        assert failed["state"] == "failed"
        assert f"tapps.scoreFile: not a file: {a_py.as_uri()}" in failed["error"]
        assert (await task_result(session, doomed))["result"] is None
    finally:
        await stop_session(session)

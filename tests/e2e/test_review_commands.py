"""Review commands over `workspace/executeCommand`: whole folders with `$/progress`,
streamed diagnostics, arguments checked, cancellation, scores and the cache."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled

from tests.e2e.conftest import Session, start_session, stop_session

APP_FILES = ["__init__.py", "a.py", "b.py", "lint.py", "typeerr.py", "unicode.py"]


async def execute(session: Session, command: str, *arguments: Any, token: str | None = None) -> Any:
    if token is not None:
        session.client.progress_reports[token] = []
    return await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command=command, arguments=list(arguments), work_done_token=token
        )
    )


def progress_of(session: Session, token: str) -> list[Any]:
    return list(session.client.progress_reports.get(token, []))


async def test_review_workspace_streams_every_file_and_reports_progress(
    basic_project: Path,
) -> None:
    session = await start_session(basic_project)
    try:
        result = await execute(session, "tapps.reviewWorkspace", {}, token="review-1")
        uris = {(basic_project / "app" / name).as_uri() for name in APP_FILES}
        published = {p.uri for p in session.publishes if p.complete}
        assert published == uris, "every file's diagnostics were published"
        assert result["files"] == result["reviewed"] == len(APP_FILES)
        assert result["findings"]["bySource"]["mypy"] >= 1
        assert result["findings"]["bySource"]["ruff"] >= 1
        assert result["worstFiles"][0]["score"] == result["worstScore"]
        assert result["cache"]["misses"] == len(APP_FILES)
        assert result["cancelled"] is False

        reports = progress_of(session, "review-1")
        assert isinstance(reports[0], types.WorkDoneProgressBegin)
        assert reports[0].cancellable is True and reports[0].percentage == 0
        assert isinstance(reports[-1], types.WorkDoneProgressEnd)
        assert reports[-1].message is not None and "6 files" in reports[-1].message
        percentages = [r.percentage for r in reports[1:-1] if r.percentage is not None]
        assert percentages == sorted(percentages), "the percentage never goes down"

        again = await execute(session, "tapps.reviewWorkspace", {}, token="review-2")
        assert again["cache"] == {"hits": 6, "misses": 0, "hitRate": 1.0}
        assert again["findings"] == result["findings"]
        assert progress_of(session, "review-2") == [], "no progress for a cached answer"
    finally:
        await stop_session(session)


async def test_include_exclude_and_the_exclude_setting(basic_project: Path) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.tapps]\nexclude = ["unicode.py"]\n')
    session = await start_session(basic_project)
    try:
        result = await execute(
            session, "tapps.reviewWorkspace", {"include": ["app/*.py"], "exclude": ["lint.py"]}
        )
        assert result["files"] == len(APP_FILES) - 2
    finally:
        await stop_session(session)


async def test_review_files_and_score_file(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        typeerr = (basic_project / "app" / "typeerr.py").as_uri()
        lint = (basic_project / "app" / "lint.py").as_uri()
        result = await execute(session, "tapps.reviewFiles", {"uris": [typeerr, lint]})
        assert result["files"] == 2
        score = await execute(session, "tapps.scoreFile", {"uri": typeerr})
        assert score["score"]["total"] < 100
        assert [(f["source"], f["code"], f["line"]) for f in score["findings"]] == [
            ("mypy", "assignment", 1)
        ]
    finally:
        await stop_session(session)


@pytest.mark.parametrize(
    ("command", "argument", "complaint"),
    [
        ("tapps.reviewFiles", {}, "missing argument 'uris'"),
        ("tapps.reviewFiles", {"uris": "app/a.py"}, "'uris' must be a list of strings"),
        ("tapps.reviewWorkspace", {"folders": []}, "unknown argument 'folders'"),
        ("tapps.reviewWorkspace", [1], "expected an object argument"),
        ("tapps.scoreFile", {"uri": "/etc/passwd"}, "outside the workspace"),
        ("tapps.scoreFile", {"uri": "{root}/app/../../x.py"}, "outside the workspace"),
        ("tapps.scoreFile", {"uri": "{root}/app/link.py"}, "outside the workspace"),
        ("tapps.reviewWorkspace", {"folder": "app"}, "must be absolute"),
        ("tapps.clearCache", {"scope": "{root}/app"}, "not a workspace folder"),
    ],
)
async def test_bad_arguments_are_invalid_params_that_name_them(
    basic_project: Path, tmp_path: Path, command: str, argument: Any, complaint: str
) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    os.symlink(outside, basic_project / "app" / "link.py")
    if isinstance(argument, dict):
        argument = {
            key: value.replace("{root}", str(basic_project)) if isinstance(value, str) else value
            for key, value in argument.items()
        }
    session = await start_session(basic_project)
    try:
        with pytest.raises(JsonRpcInvalidParams, match=complaint.replace("(", r"\(")):
            await execute(session, command, argument)
        assert (await execute(session, "tapps.cacheStats"))["folders"], "still serving"
    finally:
        await stop_session(session)


async def test_progress_cancel_stops_the_batch_and_says_so(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        token = "review-cancel"
        running = asyncio.ensure_future(execute(session, "tapps.reviewWorkspace", {}, token=token))
        async with asyncio.timeout(30):
            while not progress_of(session, token):
                await asyncio.sleep(0.02)
        session.client.window_work_done_progress_cancel(
            types.WorkDoneProgressCancelParams(token=token)
        )
        result = await running
        assert result["cancelled"] is True
        assert result["files"] < len(APP_FILES)
        end = progress_of(session, token)[-1]
        assert isinstance(end, types.WorkDoneProgressEnd)
        assert end.message is not None and end.message.startswith("cancelled")
        assert no_tool_processes(session), "ruff and mypy processes were stopped"
        again = await execute(session, "tapps.reviewWorkspace", {})
        assert again["files"] == len(APP_FILES) and again["cancelled"] is False
    finally:
        await stop_session(session)


async def test_cancel_request_stops_the_command(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        session.client.progress_reports["cancelled-request"] = []
        request = asyncio.ensure_future(
            session.client.protocol.send_request_async(
                types.WORKSPACE_EXECUTE_COMMAND,
                types.ExecuteCommandParams(
                    command="tapps.reviewWorkspace",
                    arguments=[{}],
                    work_done_token="cancelled-request",
                ),
                msg_id="review-to-cancel",
            )
        )
        async with asyncio.timeout(30):
            while not progress_of(session, "cancelled-request"):
                await asyncio.sleep(0.02)
        session.client.cancel_request(types.CancelParams(id="review-to-cancel"))
        with pytest.raises(JsonRpcRequestCancelled):
            await request
        await asyncio.sleep(3)
        assert len({p.uri for p in session.publishes}) < len(APP_FILES), "the batch stopped"
        end = progress_of(session, "cancelled-request")[-1]
        assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "cancelled"
        assert no_tool_processes(session)
        result = await execute(session, "tapps.reviewWorkspace", {})
        assert result["files"] == len(APP_FILES)
    finally:
        await stop_session(session)


async def test_clear_cache_empties_the_store(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        await execute(session, "tapps.reviewWorkspace", {})
        before = (await execute(session, "tapps.cacheStats"))["folders"][0]
        assert before["entries"] > 0
        cleared = await execute(session, "tapps.clearCache", {})
        assert cleared["entriesRemoved"] == before["entries"]
        assert (await execute(session, "tapps.cacheStats"))["folders"][0]["entries"] == 0
        again = await execute(session, "tapps.reviewWorkspace", {})
        assert again["cache"]["hits"] == 0
    finally:
        await stop_session(session)


def no_tool_processes(session: Session) -> bool:
    """No ruff or mypy CLI process is left among the server's descendants."""
    server_pid = session.client._server.pid  # type: ignore[union-attr]
    for pid in descendants(server_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(cmdline)
        if b"mypy/worker.py" in text:
            continue
        if b"ruff" in text or b"-m mypy" in text:
            return False
    return True


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found

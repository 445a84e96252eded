"""The fine-grained mypy engine behind the server: used once warm, exact, and
replaced by the CLI run while it is down."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    Session,
    copy_fixture,
    engine_info,
    start_session,
    stop_session,
    wait_engine,
)
from tests.mypy_direct import run_mypy_json


@pytest.fixture
def cycle_project(tmp_path: Path) -> Path:
    return copy_fixture("cycle", tmp_path)


def direct_mypy(root: Path) -> set[tuple[str, int, str]]:
    done = run_mypy_json(root, "pkg", cache_dir=os.devnull)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    return {(Path(r["file"]).name, r["line"] - 1, r["code"]) for r in records}


def published(session: Session, names: list[str]) -> set[tuple[str, int, str]]:
    found = set()
    for name in names:
        uri = session.uri(f"pkg/{name}")
        last = [p for p in session.publishes if p.uri == uri and p.complete][-1]
        found |= {(name, d.range.start.line, str(d.code)) for d in last.by_source("mypy")}
    return found


async def save_and_wait(session: Session, name: str, text: str) -> None:
    mark = session.save(f"pkg/{name}", text)
    await session.wait_complete(f"pkg/{name}", after=mark)


async def test_saves_after_warm_up_use_the_engine_and_match_the_cli(cycle_project: Path) -> None:
    session = await start_session(cycle_project)
    try:
        for name in ("a.py", "b.py", "c.py"):
            mark = session.open(f"pkg/{name}")
            await session.wait_complete(f"pkg/{name}", after=mark)
        await wait_engine(session)
        before = (await engine_info(session))["checks"]
        b_text = session.text("pkg/b.py").replace("return node.size * 2", 'return "x"')
        await save_and_wait(session, "b.py", b_text)
        assert (await engine_info(session))["checks"] > before, "the save went to the engine"
        for name in ("a.py", "c.py"):
            session.close(f"pkg/{name}")
            mark = session.open(f"pkg/{name}")
            await session.wait_complete(f"pkg/{name}", after=mark)
        assert published(session, ["a.py", "b.py", "c.py"]) == direct_mypy(cycle_project)
        assert ("b.py", 9, "return-value") in direct_mypy(cycle_project)
    finally:
        await stop_session(session)


async def test_an_engine_past_the_rss_setting_is_restarted_and_answers_stay_exact(
    cycle_project: Path,
) -> None:
    session = await start_session(cycle_project, initialization_options={"engineMaxRssMb": 20})
    try:
        mark = session.open("pkg/b.py")
        await session.wait_complete("pkg/b.py", after=mark)
        await wait_engine(session)
        b_text = session.text("pkg/b.py").replace("return node.size * 2", 'return "x"')
        await save_and_wait(session, "b.py", b_text)
        async with asyncio.timeout(60):
            while (await engine_info(session))["restarts"] == 0:
                await asyncio.sleep(0.1)
        assert published(session, ["b.py"]) == {
            r for r in direct_mypy(cycle_project) if r[0] == "b.py"
        }
        assert ("b.py", 9, "return-value") in published(session, ["b.py"])
    finally:
        await stop_session(session)


async def test_an_undo_answered_from_the_cache_still_reaches_the_engine(
    cycle_project: Path,
) -> None:
    """The undo's result comes from the cache, but the engine has to learn of it too:
    in the background, so the next save's check covers only that save's change."""
    session = await start_session(cycle_project)
    try:
        for name in ("a.py", "b.py"):
            mark = session.open(f"pkg/{name}")
            await session.wait_complete(f"pkg/{name}", after=mark)
        await wait_engine(session)
        original = session.text("pkg/b.py")
        await save_and_wait(session, "b.py", original.replace("node.size * 2", '"x"'))
        after_edit = (await engine_info(session))["checks"]
        mark = session.save("pkg/b.py", original)
        undone = await session.wait_complete("pkg/b.py", after=mark)
        assert undone.by_source("mypy") == [], "the undo shows the original's (cached) result"
        async with asyncio.timeout(30):
            while (await engine_info(session))["checks"] == after_edit:
                await asyncio.sleep(0.1)
        assert (await engine_info(session))["checks"] == after_edit + 1
        # The engine now holds the original text: a dependency edit is checked exactly.
        a_text = session.text("pkg/a.py")
        await save_and_wait(session, "a.py", a_text + 'X: int = "x"\n')
        assert published(session, ["a.py"]) == {("a.py", a_text.count("\n"), "assignment")}
        assert published(session, ["a.py"]) <= direct_mypy(cycle_project)
    finally:
        await stop_session(session)


async def test_a_killed_worker_falls_back_to_the_cli_and_recovers(cycle_project: Path) -> None:
    session = await start_session(cycle_project)
    try:
        mark = session.open("pkg/b.py")
        await session.wait_complete("pkg/b.py", after=mark)
        engine = await wait_engine(session)
        os.kill(engine["pid"], signal.SIGKILL)
        original = session.text("pkg/b.py")
        await save_and_wait(session, "b.py", original.replace("node.size * 2", '"x"'))
        assert published(session, ["b.py"]) == {("b.py", 9, "return-value")}
        failures = [m for m in session.client.messages if "engine" in m.message]
        assert len(failures) == 1, [m.message for m in session.client.messages]
        recovered = await wait_engine(session)
        assert recovered["pid"] != engine["pid"]
        await save_and_wait(session, "b.py", original + "\n# new content, so not a cache hit\n")
        assert published(session, ["b.py"]) == set()
        assert (await engine_info(session))["checks"] == recovered["checks"] + 1
    finally:
        await stop_session(session)


async def test_no_worker_outlives_a_server_killed_without_shutdown(cycle_project: Path) -> None:
    session = await start_session(cycle_project)
    mark = session.open("pkg/a.py")
    await session.wait_complete("pkg/a.py", after=mark)
    engine = await wait_engine(session)
    server = session.client._server
    assert server is not None
    server.kill()
    await server.wait()
    try:
        async with asyncio.timeout(10):
            while Path(f"/proc/{engine['pid']}").exists() and _alive(engine["pid"]):
                await asyncio.sleep(0.1)
    finally:
        await session.client.stop()


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


@pytest.mark.parametrize("warm", [True, False], ids=["engine", "cli"])
async def test_a_save_updates_other_open_files_whose_findings_changed(
    cycle_project: Path, warm: bool
) -> None:
    options = None if warm else {"mypy": {"engine": False}}
    session = await start_session(cycle_project, initialization_options=options)
    try:
        for name in ("a.py", "b.py", "c.py"):
            mark = session.open(f"pkg/{name}")
            await session.wait_complete(f"pkg/{name}", after=mark)
        if warm:
            await wait_engine(session)
        a_uri, c_uri = session.uri("pkg/a.py"), session.uri("pkg/c.py")
        mark = session.save("pkg/b.py", session.text("pkg/b.py").replace("-> int:", "-> str:"))
        updated = await session.wait_for(
            lambda p: p.uri == a_uri and p.complete and bool(p.by_source("mypy")), after=mark
        )
        expected = {
            (line, code) for name, line, code in direct_mypy(cycle_project) if name == "a.py"
        }
        assert {(d.range.start.line, d.code) for d in updated.by_source("mypy")} == expected
        assert updated.version == 1, "a.py itself was never edited"
        unchanged = [p for p in session.publishes[mark:] if p.uri == c_uri]
        assert unchanged == [], "c.py's findings did not change, so it is not republished"
    finally:
        await stop_session(session)


async def test_a_cold_start_answers_from_the_engine_not_a_full_cli_build(
    cycle_project: Path,
) -> None:
    """With no mypy cache a CLI run is a full build; the first result waits for the
    engine instead of building twice at once."""
    session = await start_session(cycle_project)
    try:
        mark = session.open("pkg/c.py")
        await session.wait_complete("pkg/c.py", after=mark)
        engine = await engine_info(session)
        assert engine["state"] == "ready" and engine["checks"] == 1
        cli_cache = cycle_project / ".tapps_cache" / "mypy"
        assert not cli_cache.exists() or not any(cli_cache.iterdir())
    finally:
        await stop_session(session)


async def test_last_known_findings_are_shown_stale_until_the_engine_answers(
    cycle_project: Path,
) -> None:
    c_text = (cycle_project / "pkg" / "c.py").read_text() + '\n\nLIMIT: int = "ten"\n'
    session = await start_session(cycle_project)
    try:
        session.open("pkg/c.py")
        mark = session.save("pkg/c.py", c_text)
        first = await session.wait_complete("pkg/c.py", after=mark)
        assert [d.code for d in first.by_source("mypy")] == ["assignment"]
    finally:
        await stop_session(session)
    # While the server is down a dependency changes: c.py's cached result no longer applies.
    b_path = cycle_project / "pkg" / "b.py"
    b_path.write_text(b_path.read_text().replace("node.size * 2", "node.size * 3"))

    session = await start_session(cycle_project)
    try:
        mark = session.open("pkg/c.py")
        final = await session.wait_complete("pkg/c.py", after=mark)
        uri = session.uri("pkg/c.py")
        before = [p for p in session.publishes[mark:] if p.uri == uri and not p.complete]
        stale = [d for p in before for d in p.by_source("mypy")]
        assert [d.message for d in stale] == [f"{first.by_source('mypy')[0].message} [stale]"], (
            "the last-known finding shows, marked, before the engine's answer"
        )
        assert [d.message for d in final.by_source("mypy")] == [
            d.message for d in first.by_source("mypy")
        ]
    finally:
        await stop_session(session)

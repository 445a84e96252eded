"""The task store (rows, the interrupted sweep, trimming) and the polling hint."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from tapps_lsp.analyzers.owner import owner_alive, process_identity
from tapps_lsp.server.lsp.task_store import (
    DB_NAME,
    TaskRecord,
    TaskState,
    TaskStore,
    utc_now,
)
from tapps_lsp.server.lsp.tasks import FIRST_RETRY_MS, MAX_RETRY_MS, PollHint


def dead_owner() -> str:
    """The identity of a process that has exited (its pid is not reused this soon)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{proc.stdout.strip()}:1"


def test_a_record_round_trips(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    record = TaskRecord(id="t1", command="tapps.reviewWorkspace", arguments={"include": ["a"]})
    store.put(record)
    record.state = TaskState.DONE
    record.started_at = record.finished_at = utc_now()
    record.result = {"files": 6, "nested": {"ü": [1, 2]}}
    record.percentage, record.message = 100, "6/6 files"
    store.put(record)
    store.close()

    again = TaskStore(tmp_path).get("t1")
    assert again == record
    assert (tmp_path / DB_NAME).is_file()
    assert (tmp_path / ".gitignore").read_text() == "*\n"


def test_unknown_task_is_none(tmp_path: Path) -> None:
    assert TaskStore(tmp_path).get("nope") is None


def test_sweep_marks_unfinished_tasks_of_dead_owners_interrupted(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    dead = dead_owner()
    store.put(
        TaskRecord(id="running", command="c", arguments={}, state=TaskState.RUNNING, owner=dead)
    )
    store.put(TaskRecord(id="queued", command="c", arguments={}, owner=dead))
    store.put(TaskRecord(id="done", command="c", arguments={}, state=TaskState.DONE, owner=dead))
    # Another server on the same project, still alive: its task is left alone.
    alive = process_identity(os.getppid())
    store.put(
        TaskRecord(id="theirs", command="c", arguments={}, state=TaskState.RUNNING, owner=alive)
    )
    assert store.sweep_interrupted() == 2
    for task_id in ("running", "queued"):
        record = store.get(task_id)
        assert record is not None
        assert (record.state, record.error) == (TaskState.FAILED, "interrupted")
        assert record.finished_at is not None
    assert store.get("done").state is TaskState.DONE  # type: ignore[union-attr]
    assert store.get("theirs").state is TaskState.RUNNING  # type: ignore[union-attr]


def test_owner_identity() -> None:
    assert owner_alive(process_identity(os.getppid()))
    assert not owner_alive(dead_owner())
    assert not owner_alive("garbage")
    # A row of an earlier process that had our pid (a restarted container) is not ours.
    assert not owner_alive(f"{os.getpid()}:0")
    assert owner_alive(process_identity(os.getpid()))


def test_only_the_newest_finished_tasks_are_kept(tmp_path: Path) -> None:
    store = TaskStore(tmp_path, keep_finished=3)
    store.put(TaskRecord(id="live", command="c", arguments={}, state=TaskState.RUNNING))
    for n in range(6):
        store.put(TaskRecord(id=f"f{n}", command="c", arguments={}, state=TaskState.DONE))
    kept = [n for n in range(6) if store.get(f"f{n}") is not None]
    assert kept == [3, 4, 5]
    assert store.get("live") is not None, "unfinished tasks are never trimmed"


def test_a_corrupt_file_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not a database" * 100)
    store = TaskStore(tmp_path)
    assert store.durable
    store.put(TaskRecord(id="t", command="c", arguments={}))
    assert store.get("t") is not None
    assert (tmp_path / f"{DB_NAME}.corrupt").is_file()


def test_an_unwritable_folder_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = TaskStore(blocker / "cache")
    assert not store.durable
    store.put(TaskRecord(id="t", command="c", arguments={}))
    assert store.get("t") is not None


def test_an_old_schema_is_rebuilt(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("CREATE TABLE tasks (id TEXT)")
    store = TaskStore(tmp_path)
    store.put(TaskRecord(id="t", command="c", arguments={}))
    assert store.get("t") is not None


def test_timestamps_are_iso_utc() -> None:
    stamp = utc_now()
    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp).utcoffset() is not None


def test_retry_after_grows_while_nothing_changes_and_resets_on_change() -> None:
    hint = PollHint()
    running = ("running", 10, "1/6 files")
    assert [hint.next(running) for _ in range(7)] == [250, 500, 1000, 2000, 4000, 5000, 5000]
    assert hint.next(("running", 20, "2/6 files")) == FIRST_RETRY_MS, "progress resets it"
    assert hint.next(("running", 20, "2/6 files")) == 2 * FIRST_RETRY_MS
    assert hint.next(("running", 20, "3/6 files")) == FIRST_RETRY_MS, "a new message too"
    assert hint.next(("running", 20, "3/6 files")) == 500
    assert hint.next(("done", 100, "3/6 files")) == FIRST_RETRY_MS, "a state change too"
    assert MAX_RETRY_MS == 5000

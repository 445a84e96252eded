"""Where background tasks live: one SQLite file (WAL mode), one row per task.

Tasks are kept apart from the result cache (`tapps.clearCache` empties that one), in
`tasks.sqlite3` in the cache folder of the first workspace folder. Each row names the
process that owns it; when a server starts, the rows still `queued` or `running` whose
owner is gone are marked `failed` with the error `interrupted` (a crash, a kill). Rows of
a live owner (a second server on the same project) are left alone. Only the newest
finished tasks are kept.

The store never raises for a broken database: a corrupt file is moved aside and started
empty, and a folder that cannot be written falls back to memory (logged as a warning),
so tasks still run, they just do not survive a restart.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.cache.sqlite_open import open_durable
from tapps_lsp.analyzers.owner import owner_alive, process_identity
from tapps_lsp.analyzers.timestamps import utc_now

log = logging.getLogger(__name__)

DB_NAME = "tasks.sqlite3"
KEEP_FINISHED = 200
INTERRUPTED = "interrupted"
_SCHEMA_VERSION = 1

_SCHEMA = (
    """CREATE TABLE tasks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        command TEXT NOT NULL,
        arguments TEXT NOT NULL,
        state TEXT NOT NULL,
        percentage INTEGER NOT NULL,
        message TEXT,
        submitted_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        result TEXT,
        error TEXT,
        owner TEXT NOT NULL
    )""",
    "CREATE INDEX tasks_by_state ON tasks (state)",
)
_RESET = ("DROP TABLE IF EXISTS tasks", *_SCHEMA)
_COLUMNS = (
    "id, command, arguments, state, percentage, message, submitted_at, started_at,"
    " finished_at, result, error, owner"
)


class TaskState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (TaskState.QUEUED, TaskState.RUNNING)


@dataclass(slots=True)
class TaskRecord:
    id: str
    command: str
    arguments: dict[str, Any]
    state: TaskState = TaskState.QUEUED
    percentage: int = 0
    message: str | None = None
    submitted_at: str = field(default_factory=utc_now)
    started_at: str | None = None
    finished_at: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    owner: str = field(default_factory=lambda: process_identity(os.getpid()))

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.command,
            json.dumps(self.arguments, sort_keys=True),
            self.state.value,
            self.percentage,
            self.message,
            self.submitted_at,
            self.started_at,
            self.finished_at,
            None if self.result is None else json.dumps(self.result),
            self.error,
            self.owner,
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> TaskRecord:
        (id_, command, arguments, state, percentage, message, submitted, started) = row[:8]
        finished, result, error, owner = row[8:]
        return cls(
            id=id_,
            command=command,
            arguments=json.loads(arguments),
            state=TaskState(state),
            percentage=percentage,
            message=message,
            submitted_at=submitted,
            started_at=started,
            finished_at=finished,
            result=None if result is None else json.loads(result),
            error=error,
            owner=owner,
        )


class TaskStore:
    """Task rows in `folder`/tasks.sqlite3, or in memory when `folder` is None.

    Used from the event loop thread only; every statement is a small single-row write
    (or a bounded delete), committed at once.
    """

    def __init__(self, folder: Path | None, *, keep_finished: int = KEEP_FINISHED) -> None:
        self.path = folder / DB_NAME if folder is not None else None
        self._keep_finished = keep_finished
        self._closed = False
        self._conn = self._open()

    @property
    def durable(self) -> bool:
        return self.path is not None

    def sweep_interrupted(self) -> int:
        """Mark the unfinished tasks of processes that are gone `failed: interrupted`."""
        rows = self._query(
            "SELECT id, owner FROM tasks WHERE state IN (?, ?)",
            (TaskState.QUEUED.value, TaskState.RUNNING.value),
        )
        dead = [(utc_now(), task_id) for task_id, owner in rows if not owner_alive(owner)]
        if dead:
            self._execute_many(
                "UPDATE tasks SET state = 'failed', error = 'interrupted',"
                " finished_at = ? WHERE id = ?",
                dead,
            )
            log.info("%d background task(s) were interrupted by a server exit", len(dead))
        return len(dead)

    def put(self, record: TaskRecord) -> None:
        self._execute_many(
            f"INSERT INTO tasks ({_COLUMNS}) VALUES ({', '.join('?' * 12)})"  # noqa: S608
            " ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
            " percentage = excluded.percentage, message = excluded.message,"
            " started_at = excluded.started_at, finished_at = excluded.finished_at,"
            " result = excluded.result, error = excluded.error",
            [record.row()],
        )
        if record.state.finished:
            self.trim()

    def get(self, task_id: str) -> TaskRecord | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM tasks WHERE id = ?", (task_id,))  # noqa: S608
        return TaskRecord.from_row(rows[0]) if rows else None

    def trim(self) -> None:
        """Keep the newest `keep_finished` finished tasks."""
        self._execute_many(
            "DELETE FROM tasks WHERE state IN ('done', 'failed', 'cancelled') AND seq NOT IN"
            " (SELECT seq FROM tasks WHERE state IN ('done', 'failed', 'cancelled')"
            " ORDER BY seq DESC LIMIT ?)",
            [(self._keep_finished,)],
        )

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self._closed:
            return []
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            log.warning("task store %s: %s", self.path, exc)
            return []

    def _execute_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        if self._closed:
            return  # the server is going away; its unfinished rows say so already
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(sql, params)
        except sqlite3.Error as exc:
            # The task goes on in memory; only its durable copy is behind.
            log.warning("task store %s: %s", self.path, exc)

    def _open(self) -> sqlite3.Connection:
        conn, self.path = open_durable(
            self.path, "background tasks", version=_SCHEMA_VERSION, reset=_RESET
        )
        return conn

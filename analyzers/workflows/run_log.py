"""The durable record of workflow runs: an append-only log of events in SQLite.

Every run appends events (run started, step started, completed, failed, retried,
skipped, cancelled, run paused, resumed, interrupted, finished); `append` commits each
before it returns, so a step starts only after the event before it is on disk. A run's
state is the fold of its events (analyzers.workflows.run_view); the `runs` table only
indexes them (newest first, state and owner for the sweep after a crash), updated in the
same transaction as the event that changes them. The log lives in `runs.sqlite3` in the
workspace's cache folder, apart from the result cache (`tapps.clearCache` leaves it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.cache.sqlite_open import open_durable
from tapps_lsp.analyzers.owner import owner_alive, process_identity
from tapps_lsp.analyzers.timestamps import utc_now

log = logging.getLogger(__name__)

DB_NAME = "runs.sqlite3"
KEEP_RUNS = 100
_SCHEMA_VERSION = 1
_SCHEMA = (
    "DROP TABLE IF EXISTS runs",
    "DROP TABLE IF EXISTS events",
    """CREATE TABLE runs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL UNIQUE,
        workflow TEXT NOT NULL,
        state TEXT NOT NULL,
        owner TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT
    )""",
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        step TEXT,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX events_by_run ON events (run_id, seq)",
)

# Events that change the run's state, and the state they set.
RUN_STATES = {
    "run_started": "running",
    "run_resumed": "running",
    "run_paused": "paused",
    "run_interrupted": "interrupted",
}
FINISHED_STATES = ("done", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    run_id: str
    at: str
    kind: str
    step: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    workflow: str
    state: str
    owner: str
    started_at: str
    finished_at: str | None

    def as_json(self) -> dict[str, Any]:
        """One entry of `tapps.listRuns` (and of `tapps-lsp runs --format json`)."""
        return {
            "runId": self.run_id,
            "workflow": self.workflow,
            "state": self.state,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
        }


class RunLog:
    """The log in `folder`/runs.sqlite3 (memory when `folder` is None or unusable).
    Thread-safe: the event loop calls it through `asyncio.to_thread`."""

    def __init__(self, folder: Path | None, *, keep_runs: int = KEEP_RUNS) -> None:
        self._lock = threading.Lock()
        self._keep = keep_runs
        self._conn, self.path = open_durable(
            folder / DB_NAME if folder is not None else None,
            "workflow runs",
            version=_SCHEMA_VERSION,
            reset=_SCHEMA,
        )
        self.owner = process_identity(os.getpid())

    @property
    def durable(self) -> bool:
        return self.path is not None

    def start(self, run_id: str, workflow: str, data: dict[str, Any]) -> Event:
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            now = utc_now()
            self._conn.execute(
                "INSERT INTO runs (run_id, workflow, state, owner, started_at)"
                " VALUES (?, ?, 'running', ?, ?)",
                (run_id, workflow, self.owner, now),
            )
            event = self._insert(run_id, now, "run_started", None, data)
            self._trim()
        return event

    def append(
        self, run_id: str, kind: str, step: str | None = None, data: dict[str, Any] | None = None
    ) -> Event:
        """Commit one event; a run-state event also updates the run's row (and claims
        the run for this process when it resumes it)."""
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            now = utc_now()
            event = self._insert(run_id, now, kind, step, data or {})
            if kind in RUN_STATES:
                self._conn.execute(
                    "UPDATE runs SET state = ?, owner = ? WHERE run_id = ?",
                    (RUN_STATES[kind], self.owner, run_id),
                )
            elif kind == "run_finished":
                self._conn.execute(
                    "UPDATE runs SET state = ?, finished_at = ? WHERE run_id = ?",
                    (str((data or {}).get("state", "done")), now, run_id),
                )
        return event

    def events(self, run_id: str) -> list[Event]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, run_id, at, kind, step, data FROM events WHERE run_id = ?"
                " ORDER BY seq",
                (run_id,),
            ).fetchall()
        return [
            Event(seq, rid, at, kind, step, json.loads(data))
            for seq, rid, at, kind, step, data in rows
        ]

    def row(self, run_id: str) -> RunRow | None:
        rows = self._rows("WHERE run_id = ?", (run_id,))
        return rows[0] if rows else None

    def rows(self, limit: int = 50) -> list[RunRow]:
        """The newest runs first."""
        return self._rows("ORDER BY seq DESC LIMIT ?", (limit,))

    def sweep_interrupted(self) -> list[str]:
        """Mark the running runs of processes that are gone `interrupted`; their ids."""
        running = self._rows("WHERE state = 'running'", ())
        dead = [row.run_id for row in running if not owner_alive(row.owner)]
        for run_id in dead:
            self.append(run_id, "run_interrupted", data={"owner": self._owner_of(running, run_id)})
        if dead:
            log.info("%d workflow run(s) were interrupted by a server exit", len(dead))
        return dead

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

    @staticmethod
    def _owner_of(rows: list[RunRow], run_id: str) -> str:
        return next(row.owner for row in rows if row.run_id == run_id)

    def _insert(
        self, run_id: str, at: str, kind: str, step: str | None, data: dict[str, Any]
    ) -> Event:
        cursor = self._conn.execute(
            "INSERT INTO events (run_id, at, kind, step, data) VALUES (?, ?, ?, ?, ?)",
            (run_id, at, kind, step, json.dumps(data, separators=(",", ":"))),
        )
        return Event(int(cursor.lastrowid or 0), run_id, at, kind, step, data)

    def _rows(self, where: str, params: tuple[Any, ...]) -> list[RunRow]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT run_id, workflow, state, owner, started_at, finished_at FROM runs "  # noqa: S608
                + where,
                params,
            ).fetchall()
        return [RunRow(*row) for row in rows]

    def _trim(self) -> None:
        old = self._conn.execute(
            "SELECT run_id FROM runs ORDER BY seq DESC LIMIT -1 OFFSET ?", (self._keep,)
        ).fetchall()
        for (run_id,) in old:
            self._conn.execute("DELETE FROM events WHERE run_id = ?", (run_id,))
            self._conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))

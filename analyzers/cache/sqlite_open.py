"""Opening one of our SQLite databases: WAL journal, and the schema made afresh when the
file holds another schema version."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 2.0


def open_database(
    target: str, *, version: int, reset: Sequence[str], check_same_thread: bool = True
) -> sqlite3.Connection:
    """Connect in autocommit mode. If the database's `user_version` is not `version`,
    run `reset` (drop the old tables, create the new ones) in one transaction."""
    conn = sqlite3.connect(
        target,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,
        check_same_thread=check_same_thread,
    )
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            (found,) = conn.execute("PRAGMA user_version").fetchone()
            if found != version:
                for statement in reset:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(version)}")
    except BaseException:
        conn.close()
        raise
    return conn


def open_durable(
    path: Path | None, what: str, *, version: int, reset: Sequence[str]
) -> tuple[sqlite3.Connection, Path | None]:
    """`path` opened (its folder made, with a `.gitignore` of `*`), or an in-memory
    database when `path` is None or cannot be used; returns the connection and the path
    it is on (None: memory). A corrupt file is moved aside as `<name>.corrupt` and
    started afresh; `what` names the data in the warnings."""
    if path is None:
        return _connect(":memory:", version, reset), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError), (path.parent / ".gitignore").open("x") as f:
            f.write("*\n")
        try:
            return _connect(str(path), version, reset), path
        except sqlite3.DatabaseError as exc:
            code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
            if code not in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
                raise
            aside = path.with_name(path.name + ".corrupt")
            os.replace(path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            log.warning("%s: %s is corrupt (%s); moved it to %s", what, path, exc, aside)
            return _connect(str(path), version, reset), path
    except (OSError, sqlite3.Error) as exc:
        log.warning("%s are kept in memory only: %s: %s", what, path, exc)
        return _connect(":memory:", version, reset), None


def _connect(target: str, version: int, reset: Sequence[str]) -> sqlite3.Connection:
    return open_database(target, version=version, reset=reset, check_same_thread=False)

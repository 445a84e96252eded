"""Opening one of our SQLite databases: WAL journal, and the schema made afresh when the
file holds another schema version."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

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

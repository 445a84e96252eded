"""The durable result store: one SQLite file in WAL mode, bounded by size.

Several processes may share the file (two servers on one project): WAL lets
readers run beside one writer, and the running totals live in the database,
kept by triggers, so every process sees the same size when it evicts.

The store is a cache, so it never raises for a broken database: a corrupt
file is moved aside and rebuilt empty, and a folder we cannot write falls back
to memory. Both are logged as warnings naming the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Collection
from pathlib import Path
from types import TracebackType
from typing import Self

from tapps_lsp.analyzers.cache.sqlite_open import open_database
from tapps_lsp.analyzers.cache.store import MemoryStore, StoreStats

logger = logging.getLogger(__name__)

DB_NAME = "results.sqlite3"
_SCHEMA_VERSION = 1
# A write per get costs ~6x the read (measured ~50 us vs ~8 us), so access
# times are queued and written in batches.
_FLUSH_AFTER_ACCESSES = 256
_FLUSH_AFTER_NS = 2_000_000_000
_EVICT_TO = 0.9
_EVICT_CHUNK_BYTES = 2 * 2**20
_FALLBACK_MAX_BYTES = 32 * 2**20

# Values live apart from the bookkeeping: SQLite rewrites a whole row on
# UPDATE, so touching `last_access` next to a large value would rewrite the
# value too (measured: ~100 us per get instead of ~10 us).
_SCHEMA = (
    """CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        generation TEXT NOT NULL,
        last_access INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX entries_by_access ON entries (last_access)",
    "CREATE TABLE blobs (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    """CREATE TABLE totals (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        entries INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    )""",
    "INSERT INTO totals VALUES (0, 0, 0)",
    """CREATE TRIGGER entries_insert AFTER INSERT ON entries BEGIN
        UPDATE totals SET entries = entries + 1, bytes = bytes + new.size;
    END""",
    """CREATE TRIGGER entries_delete AFTER DELETE ON entries BEGIN
        UPDATE totals SET entries = entries - 1, bytes = bytes - old.size;
        DELETE FROM blobs WHERE key = old.key;
    END""",
    """CREATE TRIGGER entries_resize AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET bytes = bytes + new.size - old.size;
    END""",
)
_DROP = tuple(f"DROP TABLE IF EXISTS {table}" for table in ("entries", "blobs", "totals"))

# Upserts, not INSERT OR REPLACE: REPLACE deletes without firing the delete
# trigger, which would leave the totals wrong.
_PUT_ENTRY = """
INSERT INTO entries (key, size, generation, last_access) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    size = excluded.size,
    generation = excluded.generation,
    last_access = excluded.last_access
"""
_PUT_BLOB = """
INSERT INTO blobs (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
_TOUCH = "UPDATE entries SET last_access = max(last_access, ?) WHERE key = ?"


class SqliteStore:
    """A size-bounded LRU of results in `folder`/results.sqlite3.

    Thread-safe: one connection, guarded by a lock. `durable` is False once
    the store has fallen back to memory.
    """

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: int = 200 * 2**20,
        current_generations: Collection[str] = (),
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.path = folder / DB_NAME
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._inode = 0
        self._fallback: MemoryStore | None = None
        self._pending: dict[str, int] = {}
        self._pending_since = 0
        self._last_now = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        with self._lock:
            self._open()
        if current_generations:
            self.prune(current_generations)

    @property
    def durable(self) -> bool:
        return self._fallback is None

    def get(self, key: str) -> bytes | None:
        with self._lock:
            if self._fallback is not None:
                return self._fallback.get(key)
            value = self._read(key)
            if value is None:
                self._misses += 1
            else:
                self._hits += 1
            return value

    def put(self, key: str, value: bytes, *, generation: str) -> None:
        if len(value) > self._max_bytes:
            return
        with self._lock:
            if self._fallback is not None:
                self._fallback.put(key, value, generation=generation)
                return
            conn = self._connection()
            if conn is None:
                return
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    self._write_pending(conn)
                    conn.execute(_PUT_ENTRY, (key, len(value), generation, self._now()))
                    conn.execute(_PUT_BLOB, (key, value))
                    (total,) = conn.execute("SELECT bytes FROM totals").fetchone()
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                return
        if total > self._max_bytes:
            self._trim()

    def prune(self, current_generations: Collection[str]) -> int:
        """Delete entries of any generation not in `current_generations`."""
        current = list(current_generations)
        placeholders = ", ".join("?" * len(current))
        query = f"DELETE FROM entries WHERE generation NOT IN ({placeholders})"  # noqa: S608
        with self._lock:
            return self._write(query, current)

    def clear(self) -> int:
        with self._lock:
            if self._fallback is not None:
                return self._fallback.clear()
            self._pending.clear()
            return self._write("DELETE FROM entries", [])

    def stats(self) -> StoreStats:
        with self._lock:
            entries = total = 0
            hits, misses, evictions = self._hits, self._misses, self._evictions
            if self._fallback is not None:
                memory = self._fallback.stats()
                entries, total = memory.entries, memory.total_bytes
                hits, misses = hits + memory.hits, misses + memory.misses
                evictions += memory.evictions
            elif (conn := self._connection()) is not None:
                try:
                    entries, total = conn.execute("SELECT entries, bytes FROM totals").fetchone()
                except sqlite3.DatabaseError as exc:
                    self._recover(exc)
            return StoreStats(entries, total, hits, misses, evictions)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                with contextlib.suppress(sqlite3.DatabaseError), self._conn:
                    self._conn.execute("BEGIN IMMEDIATE")
                    self._write_pending(self._conn)
                self._disconnect()
            if self._fallback is not None:
                self._fallback.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _trim(self) -> None:
        """Evict least recently used entries until the total is under the target.

        Deleting is slow (~300 ms to free 20 MiB of 4 KiB values), so it goes
        in chunks of one transaction each, and other threads and processes
        get their turn between chunks.
        """
        target = int(self._max_bytes * _EVICT_TO)
        while True:
            with self._lock:
                conn = self._connection()
                if conn is None:
                    return
                try:
                    with conn:
                        conn.execute("BEGIN IMMEDIATE")
                        (total,) = conn.execute("SELECT bytes FROM totals").fetchone()
                        if total <= target:
                            return
                        self._write_pending(conn)
                        self._evictions += self._evict_oldest(
                            conn, min(total - target, _EVICT_CHUNK_BYTES)
                        )
                except sqlite3.DatabaseError as exc:
                    self._recover(exc)
                    return

    # Everything below runs with self._lock held.

    def _read(self, key: str) -> bytes | None:
        conn = self._connection()
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT value FROM blobs WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            return None
        if row is None:
            return None
        try:
            self._touch(conn, key)
        except sqlite3.DatabaseError as exc:
            # The value was read intact; only its access time is lost.
            self._recover(exc)
        value: bytes = row[0]
        return value

    def _evict_oldest(self, conn: sqlite3.Connection, excess: int) -> int:
        # Walks the access index from the oldest entry and stops as soon as
        # enough is found; a window sum over the table took ~90 ms at 50k.
        victims: list[tuple[str]] = []
        oldest = conn.execute("SELECT key, size FROM entries ORDER BY last_access")
        try:
            for key, size in oldest:
                if excess <= 0:
                    break
                victims.append((key,))
                excess -= size
        finally:
            oldest.close()
        conn.executemany("DELETE FROM entries WHERE key = ?", victims)
        return len(victims)

    def _write(self, query: str, params: list[str]) -> int:
        conn = self._connection()
        if conn is None:
            return 0
        try:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                return conn.execute(query, params).rowcount
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            return 0

    def _now(self) -> int:
        # Strictly increasing, so that two accesses never tie in LRU order.
        self._last_now = max(time.time_ns(), self._last_now + 1)
        return self._last_now

    def _touch(self, conn: sqlite3.Connection, key: str) -> None:
        now = self._now()
        if not self._pending:
            self._pending_since = now
        self._pending[key] = now
        if (
            len(self._pending) >= _FLUSH_AFTER_ACCESSES
            or now - self._pending_since >= _FLUSH_AFTER_NS
        ):
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                self._write_pending(conn)

    def _write_pending(self, conn: sqlite3.Connection) -> None:
        if self._pending:
            conn.executemany(_TOUCH, ((at, key) for key, at in self._pending.items()))
            self._pending.clear()

    def _open(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError), (folder / ".gitignore").open("x") as f:
                f.write("*\n")
        except OSError as exc:
            self._fall_back(f"cannot write to {folder}: {exc}")
            return
        self._connection()

    def _connection(self) -> sqlite3.Connection | None:
        """The open connection, opening it if needed; None when closed, in
        fallback, or when the database is busy (the next call tries again)."""
        if self._conn is None and self._fallback is None and not self._closed:
            try:
                self._connect()
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
        return self._conn

    def _connect(self) -> None:
        conn = open_database(
            str(self.path),
            version=_SCHEMA_VERSION,
            reset=_DROP + _SCHEMA,
            check_same_thread=False,
        )
        try:
            conn.execute("SELECT entries, bytes FROM totals").fetchone()
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._inode = os.stat(self.path).st_ino

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        self._pending.clear()

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            # Another process holds the write lock for longer than the busy
            # timeout: skip this one operation, the store itself is fine.
            logger.debug("result cache %s is busy: %s", self.path, exc)
            return
        self._disconnect()
        if code not in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            self._fall_back(f"cannot use {self.path}: {exc}")
            return
        try:
            if self._same_file_as_opened():
                aside = self.path.with_name(self.path.name + ".corrupt")
                os.replace(self.path, aside)
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                logger.warning(
                    "result cache %s is corrupt (%s); moved it to %s and started empty",
                    self.path,
                    exc,
                    aside,
                )
            self._connect()
        except (OSError, sqlite3.DatabaseError) as again:
            self._disconnect()
            self._fall_back(f"cannot rebuild corrupt {self.path}: {again}")

    def _same_file_as_opened(self) -> bool:
        # If another process already moved the corrupt file aside and rebuilt
        # it, the file at our path is the new one: reconnect, do not move it.
        if not self._inode:
            return True
        try:
            return os.stat(self.path).st_ino == self._inode
        except FileNotFoundError:
            return False

    def _fall_back(self, reason: str) -> None:
        logger.warning("result cache falls back to memory only: %s", reason)
        self._fallback = MemoryStore(
            max_entries=2**31, max_bytes=min(self._max_bytes, _FALLBACK_MAX_BYTES)
        )

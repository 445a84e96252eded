from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tapps_lsp.analyzers.cache import (
    MemoryStore,
    SqliteStore,
    TieredStore,
    sqlite_open,
    sqlite_store,
)
from tapps_lsp.analyzers.cache.sqlite_store import DB_NAME

GEN = "ruff=0.17.5;mypy=2.4.1;formula=1"
LOGGER = "tapps_lsp.analyzers.cache.sqlite_store"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def store(folder: Path) -> Iterator[SqliteStore]:
    with SqliteStore(folder) as opened:
        yield opened


# MemoryStore


def test_memory_evicts_least_recently_used_entry() -> None:
    memory = MemoryStore(max_entries=2)
    memory.put("a", b"1", generation=GEN)
    memory.put("b", b"2", generation=GEN)
    assert memory.get("a") == b"1"
    memory.put("c", b"3", generation=GEN)
    assert memory.get("b") is None
    assert memory.get("a") == b"1"
    assert memory.get("c") == b"3"
    assert memory.stats().evictions == 1


def test_memory_is_bounded_by_bytes() -> None:
    memory = MemoryStore(max_bytes=10)
    for key in "abc":
        memory.put(key, b"x" * 4, generation=GEN)
    stats = memory.stats()
    assert (stats.entries, stats.total_bytes, stats.evictions) == (2, 8, 1)
    assert memory.get("a") is None


def test_memory_skips_a_value_larger_than_the_bound() -> None:
    memory = MemoryStore(max_bytes=10)
    memory.put("small", b"x", generation=GEN)
    memory.put("huge", b"x" * 11, generation=GEN)
    assert memory.get("huge") is None
    assert memory.get("small") == b"x"


def test_memory_replacing_a_value_updates_the_size() -> None:
    memory = MemoryStore()
    memory.put("a", b"x" * 10, generation=GEN)
    memory.put("a", b"x" * 3, generation=GEN)
    assert memory.stats().total_bytes == 3
    assert memory.get("a") == b"xxx"


def test_memory_counts_hits_misses_and_clears() -> None:
    memory = MemoryStore()
    memory.put("a", b"1", generation=GEN)
    memory.put("b", b"2", generation=GEN)
    memory.get("a")
    memory.get("zzz")
    stats = memory.stats()
    assert (stats.hits, stats.misses) == (1, 1)
    assert memory.clear() == 2
    assert memory.stats().entries == 0
    assert memory.get("a") is None


# TieredStore


def test_tiered_promotes_a_durable_hit_into_memory(store: SqliteStore) -> None:
    store.put("k", b"v", generation=GEN)
    tiered = TieredStore(MemoryStore(), store)
    assert tiered.memory.get("k") is None
    assert tiered.get("k") == b"v"
    assert tiered.memory.get("k") == b"v"
    assert tiered.get("k") == b"v"
    # The second get was served from memory: the durable store saw one hit.
    assert store.stats().hits == 1


def test_tiered_put_writes_both_tiers(store: SqliteStore) -> None:
    tiered = TieredStore(MemoryStore(), store)
    tiered.put("k", b"v", generation=GEN)
    assert tiered.memory.get("k") == b"v"
    assert store.get("k") == b"v"
    assert tiered.get("missing") is None
    stats = tiered.stats()
    assert (stats.entries, stats.total_bytes, stats.misses) == (1, 1, 1)
    assert tiered.clear() == 1
    assert tiered.get("k") is None


def test_tiered_survives_a_restart(folder: Path) -> None:
    first = TieredStore(MemoryStore(), SqliteStore(folder))
    first.put("k", b"v", generation=GEN)
    first.close()
    second = TieredStore(MemoryStore(), SqliteStore(folder))
    assert second.get("k") == b"v"
    second.close()


# SqliteStore: basics


def test_sqlite_persists_across_reopen(folder: Path) -> None:
    with SqliteStore(folder) as store:
        store.put("k", b"\x00value", generation=GEN)
        store.put("k2", b"other", generation=GEN)
    with SqliteStore(folder) as store:
        assert store.get("k") == b"\x00value"
        stats = store.stats()
        assert (stats.entries, stats.total_bytes) == (2, 11)


def test_sqlite_uses_wal_and_keeps_itself_out_of_git(store: SqliteStore, folder: Path) -> None:
    assert (folder / ".gitignore").read_text() == "*\n"
    probe = sqlite3.connect(folder / DB_NAME)
    try:
        assert probe.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        probe.close()


def test_sqlite_put_replaces_and_keeps_totals(store: SqliteStore) -> None:
    store.put("k", b"x" * 10, generation=GEN)
    store.put("k", b"x" * 4, generation=GEN)
    stats = store.stats()
    assert (stats.entries, stats.total_bytes) == (1, 4)
    assert store.get("k") == b"xxxx"


def test_sqlite_clear_returns_count(store: SqliteStore) -> None:
    for key in "abc":
        store.put(key, b"1", generation=GEN)
    assert store.clear() == 3
    assert store.get("a") is None
    assert store.stats().entries == 0


def test_sqlite_counts_hits_and_misses(store: SqliteStore) -> None:
    store.put("a", b"1", generation=GEN)
    store.get("a")
    store.get("a")
    store.get("b")
    stats = store.stats()
    assert (stats.hits, stats.misses) == (2, 1)


# SqliteStore: eviction and pruning


def test_sqlite_evicts_least_recently_accessed_to_ninety_percent(folder: Path) -> None:
    with SqliteStore(folder, max_bytes=1000) as store:
        for i in range(6):
            store.put(f"k{i}", b"x" * 150, generation=GEN)
        # k0 is the oldest put, but reading it makes k1 the least recent.
        assert store.get("k0") is not None
        store.put("k6", b"x" * 150, generation=GEN)  # 1050 bytes > 1000
        assert store.get("k1") is None
        assert store.get("k0") is not None
        stats = store.stats()
        assert stats.total_bytes <= 900
        assert (stats.entries, stats.evictions) == (6, 1)


def test_sqlite_overwrite_counts_as_a_use_and_takes_the_new_generation(folder: Path) -> None:
    with SqliteStore(folder, max_bytes=1000) as store:
        for i in range(6):
            store.put(f"k{i}", b"x" * 150, generation="old")
        store.put("k0", b"y" * 150, generation=GEN)
        store.put("k6", b"x" * 150, generation=GEN)
        assert store.get("k1") is None
        assert store.get("k0") == b"y" * 150
        assert store.prune([GEN]) == 4
        assert store.stats().entries == 2


@pytest.mark.parametrize("chunk", [2**20, 1])
def test_sqlite_eviction_keeps_the_new_entry(
    folder: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # Eviction deletes in chunks of one transaction each; a chunk of 1 byte
    # means one entry per transaction.
    monkeypatch.setattr(sqlite_store, "_EVICT_CHUNK_BYTES", chunk)
    with SqliteStore(folder, max_bytes=1000) as store:
        for i in range(5):
            store.put(f"k{i}", b"x" * 150, generation=GEN)
        store.put("big", b"x" * 800, generation=GEN)
        assert store.get("big") is not None
        stats = store.stats()
        assert (stats.entries, stats.total_bytes, stats.evictions) == (1, 800, 5)
        store.put("too-big", b"x" * 1001, generation=GEN)
        assert store.get("too-big") is None
        assert store.get("big") is not None


def test_sqlite_prunes_other_generations_on_open(folder: Path) -> None:
    with SqliteStore(folder) as store:
        store.put("old", b"1", generation="ruff=0.17.4;formula=1")
        store.put("new", b"2", generation=GEN)
    with SqliteStore(folder, current_generations=[GEN]) as store:
        assert store.get("old") is None
        assert store.get("new") == b"2"
        assert store.stats().total_bytes == 1
        assert store.prune([GEN]) == 0
        assert store.prune(["other"]) == 1


# SqliteStore: damage


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelname == "WARNING"]


def test_sqlite_rebuilds_a_garbage_file(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder.mkdir()
    db = folder / DB_NAME
    db.write_bytes(b"this is not a database at all" * 100)
    with caplog.at_level(logging.WARNING, LOGGER), SqliteStore(folder) as store:
        assert store.durable
        assert store.get("k") is None
        store.put("k", b"v", generation=GEN)
        assert store.get("k") == b"v"
    (message,) = _warnings(caplog)
    assert str(db) in message
    assert "corrupt" in message
    assert (folder / (DB_NAME + ".corrupt")).read_bytes().startswith(b"this is not")
    with SqliteStore(folder) as store:
        assert store.get("k") == b"v"


def test_sqlite_rebuilds_a_truncated_database(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    values = {f"k{i}": bytes([i]) * 3000 for i in range(100)}
    with SqliteStore(folder) as store:
        for key, value in values.items():
            store.put(key, value, generation=GEN)
    db = folder / DB_NAME
    with db.open("r+b") as f:
        f.truncate(db.stat().st_size // 3)

    with caplog.at_level(logging.WARNING, LOGGER), SqliteStore(folder) as store:
        for key, value in values.items():
            assert store.get(key) in (None, value)
        assert store.stats().entries == 0
        store.put("fresh", b"v", generation=GEN)
        assert store.get("fresh") == b"v"
    (message,) = _warnings(caplog)
    assert str(db) in message


def test_sqlite_falls_back_to_memory_when_folder_is_unusable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    folder = blocker / "sub"
    with caplog.at_level(logging.WARNING, LOGGER), SqliteStore(folder) as store:
        assert not store.durable
        store.put("k", b"v", generation=GEN)
        assert store.get("k") == b"v"
        assert store.stats().entries == 1
        assert store.clear() == 1
    (message,) = _warnings(caplog)
    assert str(folder) in message


# SqliteStore: concurrency


def test_two_stores_share_one_folder(folder: Path) -> None:
    with SqliteStore(folder) as first, SqliteStore(folder) as second:
        first.put("k", b"from-first", generation=GEN)
        assert second.get("k") == b"from-first"
        second.put("k", b"from-second", generation=GEN)
        assert first.get("k") == b"from-second"

        def write(store: SqliteStore, prefix: str) -> None:
            for i in range(100):
                store.put(f"{prefix}{i}", b"x" * 10, generation=GEN)
                store.get(f"{prefix}{i // 2}")

        threads = [
            threading.Thread(target=write, args=(store, prefix))
            for store, prefix in ((first, "a"), (second, "b"), (first, "c"), (second, "d"))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        for store in (first, second):
            stats = store.stats()
            assert (stats.entries, stats.total_bytes) == (401, 4000 + len(b"from-second"))
        assert first.get("d99") == b"x" * 10
        assert second.get("a0") == b"x" * 10


def test_two_stores_agree_on_size_when_evicting(folder: Path) -> None:
    with (
        SqliteStore(folder, max_bytes=1000) as first,
        SqliteStore(folder, max_bytes=1000) as second,
    ):
        for i in range(20):
            (first if i % 2 else second).put(f"k{i}", b"x" * 100, generation=GEN)
        for store in (first, second):
            assert store.stats().total_bytes <= 1000
        assert first.get("k19") is not None
        assert second.get("k0") is None


@pytest.mark.parametrize(
    ("setting", "value"), [("_FLUSH_AFTER_ACCESSES", 1), ("_FLUSH_AFTER_NS", 0)]
)
def test_access_times_reach_other_processes(
    folder: Path, monkeypatch: pytest.MonkeyPatch, setting: str, value: int
) -> None:
    # Access times are queued and written in batches, by count or by age.
    monkeypatch.setattr(sqlite_store, setting, value)
    with (
        SqliteStore(folder, max_bytes=1000) as reader,
        SqliteStore(folder, max_bytes=1000) as writer,
    ):
        for i in range(6):
            writer.put(f"k{i}", b"x" * 150, generation=GEN)
        assert reader.get("k0") is not None
        writer.put("k6", b"x" * 150, generation=GEN)
        assert writer.get("k0") is not None
        assert writer.get("k1") is None


def test_close_writes_queued_access_times(folder: Path) -> None:
    with SqliteStore(folder, max_bytes=1000) as writer:
        reader = SqliteStore(folder, max_bytes=1000)
        for i in range(6):
            writer.put(f"k{i}", b"x" * 150, generation=GEN)
        assert reader.get("k0") is not None
        reader.close()
        writer.put("k6", b"x" * 150, generation=GEN)
        assert writer.get("k0") is not None
        assert writer.get("k1") is None


def test_a_busy_database_is_skipped_then_used_again(
    folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sqlite_open, "BUSY_TIMEOUT_S", 0.01)
    with SqliteStore(folder) as first:
        first.put("k", b"v", generation=GEN)
    blocker = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with caplog.at_level(logging.WARNING, LOGGER):
            store = SqliteStore(folder)
            store.put("other", b"x", generation=GEN)  # skipped, not raised
        blocker.execute("COMMIT")
        assert store.durable
        assert store.get("k") == b"v"
        assert store.stats().entries == 1
        store.close()
    finally:
        blocker.close()
    assert _warnings(caplog) == []

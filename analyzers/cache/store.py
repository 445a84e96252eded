"""Where results live: the store protocol, an in-memory LRU and a tiered pair.

Stores map a key (see `keys.py`) to opaque bytes. They never decide what a
key means, so any store can sit behind any key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoreStats:
    entries: int
    total_bytes: int
    hits: int
    misses: int
    evictions: int


class ResultStore(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes, *, generation: str) -> None:
        """Store `value`. `generation` names the tool and formula versions that
        produced it (e.g. "ruff=0.17.5;mypy=2.4.1;formula=1"), so durable
        stores can drop what no current version can ask for."""
        ...

    def clear(self) -> int:
        """Remove every entry; return how many were removed."""
        ...

    def prune(self, current_generations: Collection[str]) -> int:
        """Drop entries no current tool or formula version can ask for; return how many."""
        ...

    def stats(self) -> StoreStats: ...

    def close(self) -> None: ...


def put_all(store: ResultStore, entries: Iterable[tuple[str, bytes]], generation: str) -> None:
    """Store several results of one generation (blocking: call it in a thread)."""
    for key, value in entries:
        store.put(key, value, generation=generation)


class MemoryStore:
    """A thread-safe LRU bounded by entry count and by total value size.

    Generations are ignored: keys already include the tool versions, so an
    entry of an old generation can never be asked for, and it ages out.
    """

    def __init__(self, *, max_entries: int = 1024, max_bytes: int = 64 * 2**20) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("max_entries and max_bytes must be positive")
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return value

    def put(self, key: str, value: bytes, *, generation: str) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            if len(value) > self._max_bytes:
                # Storing it would evict everything else and still not fit.
                return
            self._entries[key] = value
            self._bytes += len(value)
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted)
                self._evictions += 1

    def clear(self) -> int:
        with self._lock:
            removed = len(self._entries)
            self._entries.clear()
            self._bytes = 0
            return removed

    def stats(self) -> StoreStats:
        with self._lock:
            return StoreStats(
                entries=len(self._entries),
                total_bytes=self._bytes,
                hits=self._hits,
                misses=self._misses,
                evictions=self._evictions,
            )

    def prune(self, current_generations: Collection[str]) -> int:
        # Keys already include the versions; old entries simply age out of the LRU.
        return 0

    def close(self) -> None:
        self.clear()


class TieredStore:
    """A MemoryStore in front of a durable store.

    `get` asks memory first, then the durable store, and copies a durable hit
    into memory. `put` writes both. The memory tier holds copies only, so the
    durable store's counts are the ones reported for entries and size.
    """

    def __init__(self, memory: MemoryStore, durable: ResultStore) -> None:
        self.memory = memory
        self.durable = durable

    def get(self, key: str) -> bytes | None:
        value = self.memory.get(key)
        if value is not None:
            return value
        value = self.durable.get(key)
        if value is not None:
            # MemoryStore ignores generations, so none is needed to promote.
            self.memory.put(key, value, generation="")
        return value

    def put(self, key: str, value: bytes, *, generation: str) -> None:
        self.memory.put(key, value, generation=generation)
        self.durable.put(key, value, generation=generation)

    def clear(self) -> int:
        self.memory.clear()
        return self.durable.clear()

    def prune(self, current_generations: Collection[str]) -> int:
        return self.durable.prune(current_generations)

    def stats(self) -> StoreStats:
        front = self.memory.stats()
        back = self.durable.stats()
        return StoreStats(
            entries=back.entries,
            total_bytes=back.total_bytes,
            hits=front.hits + back.hits,
            misses=back.misses,
            evictions=back.evictions,
        )

    def close(self) -> None:
        self.memory.close()
        self.durable.close()

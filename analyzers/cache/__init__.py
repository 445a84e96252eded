"""The content-hash result cache.

`keys` says what a result depends on; the stores say where results live; the
two never meet, so any key works with any store. `SingleFlight` makes
concurrent requests for one key share one run.
"""

from tapps_lsp.analyzers.cache.keys import KeyBuilder, content_hash
from tapps_lsp.analyzers.cache.singleflight import SingleFlight
from tapps_lsp.analyzers.cache.sqlite_store import SqliteStore
from tapps_lsp.analyzers.cache.store import MemoryStore, ResultStore, StoreStats, TieredStore

__all__ = [
    "KeyBuilder",
    "MemoryStore",
    "ResultStore",
    "SingleFlight",
    "SqliteStore",
    "StoreStats",
    "TieredStore",
    "content_hash",
]

"""Where a project starts, its settings from pyproject.toml, and a Reviewer for it."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analyzers.cache.keys import content_hash
from analyzers.cache.sqlite_store import SqliteStore
from analyzers.cache.store import MemoryStore, ResultStore, TieredStore
from analyzers.configs import pyproject_tapps_section
from analyzers.review import Reviewer
from analyzers.settings import ReviewSettings, build_settings, merge_layers
from analyzers.timings import Timings

log = logging.getLogger(__name__)

CACHE_FOLDER = ".tapps_cache"
_ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "mypy.ini", ".mypy.ini", "ruff.toml", ".git")


def project_root(path: Path) -> Path:
    """The nearest folder above `path` that looks like a project, else its own folder."""
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in _ROOT_MARKERS):
            return folder
    return start


def project_settings(
    root: Path, *editor_layers: Mapping[str, Any] | None
) -> tuple[ReviewSettings, list[str]]:
    """Defaults, then `[tool.tapps]`, then each editor layer: a later layer wins per key."""
    return build_settings(merge_layers(pyproject_tapps_section(root), *editor_layers))


def cache_folder(root: Path, settings: ReviewSettings) -> Path:
    if settings.cache.dir:
        folder = Path(settings.cache.dir).expanduser()
        return folder if folder.is_absolute() else root / folder
    return root / CACHE_FOLDER


def user_cache_folder(root: Path) -> Path:
    """Where results for files outside every workspace folder go: never beside them,
    since that could be a library or a folder the user does not own."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tapps-lsp" / content_hash(str(root))[:16]


def open_store(root: Path, settings: ReviewSettings) -> ResultStore:
    memory = MemoryStore(max_entries=4096, max_bytes=64 * 2**20)
    if not settings.cache.enabled:
        return memory
    durable = SqliteStore(
        cache_folder(root, settings), max_bytes=settings.cache.max_size_mb * 2**20
    )
    return TieredStore(memory, durable)


def make_reviewer(
    root: Path, settings: ReviewSettings, store: ResultStore, timings: Timings | None = None
) -> Reviewer:
    """`timings` (the server's) collects the reviewer's tool durations. With the cache
    off, mypy writes none either (its cache dir is the null device, which it honours)."""
    mypy_cache = cache_folder(root, settings) / "mypy"
    if not settings.cache.enabled:
        mypy_cache = Path(os.devnull)
    return Reviewer(
        root=root,
        settings=settings,
        store=store,
        mypy_cache_dir=mypy_cache,
        timings=timings if timings is not None else Timings(),
    )

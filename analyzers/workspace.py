"""Where a project starts, its settings from pyproject.toml, and a Reviewer for it."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.cache.sqlite_store import SqliteStore
from tapps_lsp.analyzers.cache.store import MemoryStore, ResultStore, TieredStore
from tapps_lsp.analyzers.configs import pyproject_tapps_section
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.settings import ReviewSettings, build_settings, merge_layers, normalise
from tapps_lsp.analyzers.timings import Timings
from tapps_lsp.analyzers.trust import (
    TRUST_KEY,
    client_layer_message,
    ignored_message,
    not_run_interpreters,
    screen_client_layer,
    screen_project_layer,
    untrusted_notices,
)

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
    root: Path,
    *client_layers: Mapping[str, Any] | None,
    workspace_fed: Mapping[str, Any] | None = None,
    pinned: Mapping[str, Any] | None = None,
) -> tuple[ReviewSettings, list[str]]:
    """Defaults, then `[tool.tapps]`, then each client layer (initializationOptions, the
    CLI's), then `workspace_fed` (workspace/configuration: a client may fill it from the
    workspace's own files), then `pinned`: a later layer wins per key. What an untrusted
    workspace may not choose is left out of `[tool.tapps]` and `workspace_fed`, and the
    problems say so. Trust itself comes from the client layers and `pinned` only."""
    client = merge_layers(*client_layers)
    trusted = merge_layers(client, pinned).get(TRUST_KEY) is True
    own = normalise(pyproject_tapps_section(root))
    own.pop("workflows", None)  # analyzers.workflows.load reads them, with their lines
    screened, ignored = screen_project_layer(own, trusted=trusted)
    fed = normalise(workspace_fed or {})
    fed_workflows = fed.pop("workflows", None)
    fed_ignored: list[str] = []
    if not trusted:
        fed, fed_ignored = screen_client_layer(fed, client)
    merged = merge_layers(screened, client, fed, pinned)
    client_workflows = merged.pop("workflows", None)
    settings, problems = build_settings(merged)
    settings = replace(
        settings, workflows=_table(client_workflows), fed_workflows=_table(fed_workflows)
    )
    if ignored:
        problems.insert(0, ignored_message(ignored, root / "pyproject.toml"))
    if fed_ignored:
        problems.append(client_layer_message(fed_ignored))
    problems.extend(untrusted_notices(root, settings))
    return settings, problems


def _table(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def trust_summary(root: Path, settings: ReviewSettings) -> dict[str, Any]:
    """What debug information says of the workspace's trust: whether the client trusts
    it, and what of the workspace's is therefore left out."""
    trusted = settings.trusted_workspace
    _kept, ignored = screen_project_layer(normalise(pyproject_tapps_section(root)), trusted=trusted)
    return {
        "trusted": trusted,
        "decidedBy": "the client's `trustedWorkspace` setting (or `check --trust`)"
        if trusted
        else "nothing said it is trusted (the default)",
        "ignoredSettings": ignored,
        "interpretersNotRun": [] if trusted else not_run_interpreters(root),
    }


def cache_folder(root: Path, settings: ReviewSettings) -> Path:
    """The cache folder: `cache.dir` (relative to the project), else `.tapps_cache` in it.
    An untrusted workspace gets nothing written into it (a committed `.tapps_cache` could
    hold links to files elsewhere): the user's cache folder for the project stands in,
    unless the client named an absolute folder."""
    named = Path(settings.cache.dir).expanduser() if settings.cache.dir else None
    if named is not None and named.is_absolute():
        return named
    if not settings.trusted_workspace:
        return user_cache_folder(root)
    return root / (named or CACHE_FOLDER)


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

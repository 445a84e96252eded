"""Document URIs to the paths the engine reviews."""

from __future__ import annotations

from pathlib import Path

from pygls.uris import to_fs_path


def uri_to_path(uri: str) -> Path | None:
    fs_path = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(fs_path).resolve() if fs_path else None

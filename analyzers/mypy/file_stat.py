"""A file's stat as the engine and the CLI run compare it: nanoseconds and size, the
same pair the project scan keeps (`ProjectGraph.stats`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple


class FileStat(NamedTuple):
    mtime_ns: int
    size: int

    @property
    def mtime_seconds(self) -> int:
        """The modification time as mypy's own cache compares it, `int(st_mtime)`: the
        float is formed as CPython forms it, so the rounding agrees too."""
        seconds, nanoseconds = divmod(self.mtime_ns, 1_000_000_000)
        return int(seconds + nanoseconds * 1e-9)


def file_stat(path: Path) -> FileStat | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return FileStat(found.st_mtime_ns, found.st_size)

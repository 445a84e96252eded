"""Which Python files a folder holds, skipping what is never project source."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

_SKIPPED = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist"})


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files given directly are kept as they are; folders are walked in a stable order."""
    seen: set[Path] = set()
    for given in paths:
        path = given.resolve()
        candidates = [path] if path.is_file() else _walk(path)
        for candidate in candidates:
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def _walk(folder: Path) -> Iterator[Path]:
    for current, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if _descend(Path(current), d))
        for name in sorted(names):
            if name.endswith((".py", ".pyi")):
                yield Path(current, name)


def _descend(parent: Path, name: str) -> bool:
    if name.startswith(".") or name in _SKIPPED or name.endswith(".egg-info"):
        return False
    return not (parent / name / "pyvenv.cfg").exists()

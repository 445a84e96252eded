"""A fingerprint of the installed Python environment that mypy resolves imports from.

Installing, upgrading or removing a package changes the names and mtimes of the
top-level entries of site-packages (dist-info folders carry versions), so hashing
that listing is enough to notice it without reading the packages themselves.
"""

from __future__ import annotations

import importlib.util
import json
import os
import site
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from tapps_lsp.analyzers.cache.keys import KeyBuilder
from tapps_lsp.analyzers.process import SAFE_PATH_PRELUDE, ProcessError, run_process

# A module of the project's must not stand in for json or site: the prelude first.
_PROBE = (
    SAFE_PATH_PRELUDE + "import importlib.util, json, site, sysconfig;"
    "paths = [sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']];"
    "paths += getattr(site, 'getsitepackages', lambda: [])();"
    "spec = importlib.util.find_spec('mypy');"
    "mypy = spec.origin if spec is not None else None;"
    "print(json.dumps({'paths': paths, 'version': sys.version, 'mypy': mypy}))"
)


@dataclass(frozen=True, slots=True)
class InterpreterFacts:
    version: str
    site_folders: tuple[Path, ...]
    # mypy's package `__init__.py` as this interpreter imports it, if it can.
    mypy_init: Path | None


_facts: dict[str, InterpreterFacts] = {}


async def interpreter_facts(python: str) -> InterpreterFacts:
    """What `python` is and where it imports from, asked once per run."""
    cached = _facts.get(python)
    if cached is not None:
        return cached
    if python == sys.executable:
        raw = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
        raw += site.getsitepackages()
        spec = importlib.util.find_spec("mypy")
        mypy = spec.origin if spec is not None else None
        answer = InterpreterFacts(sys.version, _existing(raw), _path_or_none(mypy))
    else:
        try:
            done = await run_process([python, "-c", _PROBE], timeout=30)
            data = json.loads(done.stdout)
            answer = InterpreterFacts(
                str(data["version"]), _existing(data["paths"]), _path_or_none(data.get("mypy"))
            )
        except (ProcessError, ValueError, KeyError, TypeError):
            answer = InterpreterFacts("unknown", (), None)
    _facts[python] = answer
    return answer


def _path_or_none(value: object) -> Path | None:
    return Path(value) if isinstance(value, str) else None


def _existing(paths: list[str]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(Path(p) for p in paths if Path(p).is_dir()))


def fingerprint_folders(version: str, folders: tuple[Path, ...]) -> str:
    key = KeyBuilder().add("python", version)
    for folder in folders:
        key.add("folder", str(folder))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                mtime = entry.stat().st_mtime_ns
            except OSError:
                mtime = 0
            key.add(entry.name, mtime)
    return key.digest()


_fingerprints: dict[tuple[str, tuple[int, ...]], str] = {}


async def environment_fingerprint(python: str) -> str:
    """Recomputed only when a site-packages folder's own mtime moves (an entry came or went)."""
    facts = await interpreter_facts(python)
    version, folders = facts.version, facts.site_folders
    stamps = tuple(_mtime_ns(folder) for folder in folders)
    memo_key = (python, stamps)
    found = _fingerprints.get(memo_key)
    if found is None:
        found = fingerprint_folders(version, folders)
        _fingerprints[memo_key] = found
    return found


def _mtime_ns(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0

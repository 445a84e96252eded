"""Tool versions, asked once per installed executable and remembered across restarts.

`mypy --version` costs a Python start and an import of mypy (about 0.3 s); the answer
only changes when the executable (or, for `python -m mypy`, the module) changes on
disk, so it is cached under that file's identity.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from tapps_lsp.analyzers.cache.keys import KeyBuilder
from tapps_lsp.analyzers.cache.store import ResultStore
from tapps_lsp.analyzers.interpreter import module_of

VERSIONS_GENERATION = "versions=1"
_KEY = "version:v1:"


def executable_identity(argv: list[str], module_file: Path | None = None) -> str | None:
    """What must stay the same for `argv --version` to answer the same; None if unknown.

    `module_file` is the file that carries the version of the module `argv` runs, when
    the caller knows it (for `python -m mypy` of another interpreter).
    """
    target: str | None = argv[0]
    if module_file is not None:
        target = str(module_file)
    elif (module := module_of(argv)) is not None:
        if argv[0] != sys.executable:
            return None
        spec = importlib.util.find_spec(module)
        target = spec.origin if spec is not None else None
    if target is None:
        return None
    try:
        stat = Path(target).resolve().stat()
    except OSError:
        return None
    return f"{' '.join(argv)}\0{target}\0{stat.st_mtime_ns}\0{stat.st_size}\0{stat.st_ino}"


async def remembered_version(
    store: ResultStore,
    argv: list[str],
    ask: Callable[[], Awaitable[str]],
    module_file: Path | None = None,
) -> str:
    identity = executable_identity(argv, module_file)
    key = f"{_KEY}{KeyBuilder().add('identity', identity).digest()}" if identity else None
    if key is not None:
        found = store.get(key)
        if found is not None:
            return found.decode()
    version = await ask()
    if key is not None:
        store.put(key, version.encode(), generation=VERSIONS_GENERATION)
    return version

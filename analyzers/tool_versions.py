"""Tool versions: both asked at once when a reviewer starts, each asked once per installed
executable and remembered across restarts.

`mypy --version` costs a Python start and an import of mypy (about 0.3 s); the answer
only changes when the executable (or, for `python -m mypy`, the module) changes on
disk, so it is cached under that file's identity.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.cache.keys import KeyBuilder
from tapps_lsp.analyzers.cache.store import ResultStore
from tapps_lsp.analyzers.findings import Source, ToolFailure
from tapps_lsp.analyzers.interpreter import PythonEnvironment, module_of
from tapps_lsp.analyzers.process import ProcessError, run_process
from tapps_lsp.analyzers.ruff import ruff_command, ruff_version
from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.trust import inside_untrusted_message, may_run

VERSIONS_GENERATION = "versions=1"
_KEY = "version:v1:"
_VERSION_LINE = re.compile(r"""^__version__ = ["']([^"']+)["']""", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ToolVersions:
    ruff: str | None
    mypy: str | None
    ruff_failure: ToolFailure | None = None
    mypy_failure: ToolFailure | None = None


async def probe_versions(
    root: Path, settings: ReviewSettings, store: ResultStore, environment: PythonEnvironment
) -> ToolVersions:
    """Both tools' versions, asked at once; a tool that cannot answer, or that an
    untrusted workspace may not run, is a failure."""

    async def ruff() -> tuple[str | None, ToolFailure | None]:
        named = settings.ruff.path
        if named and not may_run(named, root, trusted=settings.trusted_workspace):
            message = f"ruff: {inside_untrusted_message('ruff.path', named)}"
            return None, ToolFailure(Source.RUFF, "untrusted", message)
        asking = remembered_version(
            store,
            ruff_command(settings.ruff),
            lambda: ruff_version(settings.ruff, cwd=root, timeout=settings.timeout),
        )
        return await _probe(Source.RUFF, asking)

    mypy_asking = remembered_version(
        store,
        list(environment.mypy_command),
        lambda: _environment_mypy_version(environment, settings.timeout),
        environment.mypy_module,
    )
    (ruff_found, ruff_failure), (mypy_found, mypy_failure) = await asyncio.gather(
        ruff(), _probe(Source.MYPY, mypy_asking)
    )
    return ToolVersions(ruff_found, mypy_found, ruff_failure, mypy_failure)


async def _environment_mypy_version(environment: PythonEnvironment, timeout: float) -> str:
    stated = version_from_module(environment.mypy_module)
    if stated is not None:
        return stated
    return await mypy_version(environment.mypy_command, timeout=timeout)


async def _probe(
    tool: Source, asking: Coroutine[Any, Any, str]
) -> tuple[str | None, ToolFailure | None]:
    try:
        return await asking, None
    except ProcessError as exc:
        return None, ToolFailure(tool, exc.kind, f"{tool.value}: {exc.message}")


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


def version_from_module(version_file: Path | None) -> str | None:
    """mypy's version as its `mypy/version.py` states it, without starting a Python
    (about 0.3 s); None for a development build, whose version comes from git."""
    if version_file is None or version_file.name != "version.py":
        return None
    try:
        found = _VERSION_LINE.search(version_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    if found is None or "dev" in found.group(1):
        return None
    return found.group(1)


async def mypy_version(command: Sequence[str], *, timeout: float) -> str:
    done = await run_process([*command, "--version"], timeout=timeout)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or "mypy --version failed"
        raise ProcessError("crash", message)
    return done.stdout.decode().strip().removeprefix("mypy ").strip()

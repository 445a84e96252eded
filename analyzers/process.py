"""Run a tool as a subprocess without a shell, with a deadline and clean cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes


class ProcessError(Exception):
    """The process could not run to completion: missing executable or timeout."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


_RUNNING: set[asyncio.subprocess.Process] = set()
# The first statement of every `python -c` we start: the working directory (the project
# root) off sys.path before anything is imported, where Python 3.11's safe_path (which
# PYTHONSAFEPATH below sets) has not left it out already.
SAFE_PATH_PRELUDE = "import sys; getattr(sys.flags, 'safe_path', 0) or sys.path.pop(0); "


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Our environment for a tool, with PYTHONSAFEPATH set: a Python 3.11+ that the tool
    starts in the project root (mypy's parallel workers, `python -m ...`) does not put
    the root first on sys.path, where a module of the repository's would stand in for
    the tool's own."""
    return {**os.environ, "PYTHONSAFEPATH": "1", **(extra or {})}


async def run_process(
    argv: list[str],
    *,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> Completed:
    """Run argv and collect its output.

    The child gets its own process group, so a timeout or a cancellation kills it
    together with anything it spawned.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=child_env(env),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ProcessError("missing", f"executable not found: {argv[0]}") from None
    except PermissionError:
        raise ProcessError("missing", f"executable is not runnable: {argv[0]}") from None
    except ValueError as exc:  # an argument with a NUL byte
        raise ProcessError("missing", f"cannot run {argv[0]!r}: {exc}") from None
    _RUNNING.add(proc)
    try:
        async with asyncio.timeout(timeout):
            stdout, stderr = await proc.communicate(stdin)
    except TimeoutError:
        await _kill(proc)
        raise ProcessError(
            "timeout", f"{Path(argv[0]).name} timed out after {timeout:g} s"
        ) from None
    except BaseException:
        await _kill(proc)
        raise
    finally:
        _RUNNING.discard(proc)
    assert proc.returncode is not None
    return Completed(proc.returncode, stdout, stderr)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, asyncio.CancelledError):
        await asyncio.shield(proc.wait())


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def kill_all_running() -> None:
    """Kill every tool process still running; for server exit paths."""
    for proc in list(_RUNNING):
        if proc.returncode is None:
            _signal_group(proc.pid, signal.SIGKILL)


def running_count() -> int:
    return sum(1 for proc in _RUNNING if proc.returncode is None)

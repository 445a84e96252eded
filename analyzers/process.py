"""Run a tool as a subprocess without a shell, with a deadline and clean cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True, slots=True)
class Captured:
    """A finished process's exit status and the end of its output: stdout and stderr in
    one stream, in the order it wrote them."""

    returncode: int
    output: bytes
    # How many bytes of output came before `output` and were not kept.
    dropped: int


class ProcessError(Exception):
    """The process could not run to completion: missing executable or timeout.
    `output`: the end of what it wrote before that (`run_captured` only)."""

    def __init__(self, kind: str, message: str, output: bytes = b"") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.output = output


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
    proc = await _start(
        argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with _supervised(proc, argv, timeout):
        stdout, stderr = await proc.communicate(stdin)
    assert proc.returncode is not None
    return Completed(proc.returncode, stdout, stderr)


async def run_captured(
    argv: list[str],
    *,
    cwd: Path | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    max_output: int = 2**20,
) -> Captured:
    """Run argv with no input and keep the last `max_output` bytes of its output, reading
    (and dropping) the rest as it comes, so a chatty program neither blocks on a full
    pipe nor fills our memory. A timeout or a cancellation kills its process group."""
    proc = await _start(
        argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.STDOUT
    )
    tail = OutputTail(max_output)
    async with _supervised(proc, argv, timeout, tail):
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(2**16):
            tail.add(chunk)
        await proc.wait()
    assert proc.returncode is not None
    return Captured(proc.returncode, tail.data(), tail.dropped)


class OutputTail:
    """The last `limit` bytes of what was added, and how many came before them."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self.dropped = 0
        self._kept = bytearray()

    def add(self, chunk: bytes) -> None:
        self._kept += chunk
        # Trimmed only past twice the limit, so each byte is moved a bounded number of times.
        if len(self._kept) > 2 * self.limit:
            self._trim()

    def data(self) -> bytes:
        self._trim()
        return bytes(self._kept)

    def _trim(self) -> None:
        excess = len(self._kept) - self.limit
        if excess > 0:
            del self._kept[:excess]
            self.dropped += excess


async def _start(
    argv: list[str],
    *,
    cwd: Path | None,
    env: dict[str, str] | None,
    stdin: int,
    stderr: int,
) -> asyncio.subprocess.Process:
    """argv started in a process group of its own, its stdout a pipe."""
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=child_env(env),
            stdin=stdin,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ProcessError("missing", f"executable not found: {argv[0]}") from None
    except PermissionError:
        raise ProcessError("missing", f"executable is not runnable: {argv[0]}") from None
    except ValueError as exc:  # an argument with a NUL byte
        raise ProcessError("missing", f"cannot run {argv[0]!r}: {exc}") from None


@contextlib.asynccontextmanager
async def _supervised(
    proc: asyncio.subprocess.Process,
    argv: list[str],
    timeout: float | None,
    tail: OutputTail | None = None,
) -> AsyncIterator[None]:
    """A started process's run: counted as running while it lasts, its group killed when
    it runs past `timeout` (a ProcessError, with `tail`'s output) or is cancelled."""
    _RUNNING.add(proc)
    try:
        async with asyncio.timeout(timeout):
            yield
    except TimeoutError:
        await _kill(proc)
        message = f"{Path(argv[0]).name} timed out after {timeout:g} s"
        raise ProcessError("timeout", message, tail.data() if tail else b"") from None
    except BaseException:
        await _kill(proc)
        raise
    finally:
        _RUNNING.discard(proc)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    # The group, also when its leader has exited already: what the leader started can
    # still hold our pipes open, and no process of ours may outlive the run.
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

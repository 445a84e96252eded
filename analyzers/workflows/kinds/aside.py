"""Where the analysis steps' AST passes run: one worker process at a lower CPU priority.

In the server process they would share the interpreter lock with everything else, and
CPython 3.11's parse lock (analyzers.pyast) with the project scans that mypy's cache
keys need, so they would slow the mypy step they are meant to run beside. In a process
of their own at `nice` 10 they get what mypy's engine and the server leave of the CPU.
The process starts at the first use (spawned: nothing of the server's state is copied),
exits with the server, and is started again if it dies. Functions sent to it are plain
top-level functions over plain values.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from tapps_lsp.analyzers.workflows.step import StepFailed

Result = TypeVar("Result")
NICENESS = 10
_PR_SET_PDEATHSIG = 1  # linux/prctl.h

_pool: ProcessPoolExecutor | None = None


def _start_worker(parent: int) -> None:
    """In the worker: a lower priority, death with the parent (Linux; a SIGKILLed
    server leaves nothing behind), and no Ctrl-C of its own (it reaches the whole
    process group; the parent decides what stops)."""
    os.nice(NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)  # the parent died before the request took effect


def _executor() -> ProcessPoolExecutor:
    global _pool  # noqa: PLW0603 - one worker process per server
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
    return _pool


async def run_aside(function: Callable[..., Result], *args: Any) -> Result:
    """`function(*args)` in the worker process; a worker that died is a transient
    step failure (the next call starts a new one)."""
    global _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_executor(), function, *args)
    except BrokenProcessPool as exc:
        broken, _pool = _pool, None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)
        raise StepFailed(f"the analysis worker process died: {exc}", transient=True) from None


def shutdown() -> None:
    """Stop the worker process (the server's and the CLI's exit)."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)

"""A long-lived, supervised mypy engine: the async client of its worker (`worker.py`).

The worker keeps mypy's fine-grained state loaded over the project's sources, so a
recheck after a save costs tens of milliseconds instead of a fresh mypy process. This
side owns the worker process: it sends one request at a time, gives each a deadline,
and on a crash or a timeout kills the worker and starts a new one after a backoff. A
run of failures opens a circuit breaker, so callers can fall back to the CLI run until
a cool-down has passed. The worker dies with this process (see the worker's
`die_with_parent`), also when nobody calls `close()`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import math
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.breaker import OPEN, CircuitBreaker
from tapps_lsp.analyzers.process import SAFE_PATH_PRELUDE, child_env
from tapps_lsp.analyzers.settings import DEFAULT_MAX_RSS_MB

log = logging.getLogger(__name__)

_WORKER_FILE = Path(__file__).resolve().with_name("worker.py")
# The worker runs from its file, not as `-m tapps_lsp.analyzers.mypy.worker`: putting our package
# folder on the path of another environment's interpreter would shadow that
# environment's own mypy with ours. `-c` puts the cwd first on sys.path; drop it.
_RUN_WORKER = (
    SAFE_PATH_PRELUDE
    + "import runpy; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)
_STDERR_TAIL = 40
_READ_LIMIT = 1 << 28
_SHUTDOWN_GRACE = 2.0


class EngineError(Exception):
    """The engine could not answer this call.

    kind: "crash" or "timeout" (the worker was killed and will be restarted),
    "circuit-open" (too many failures in a row: not tried, use the CLI run),
    "config" or "unsupported" (mypy refused the project's options), "untrusted" (the
    workspace is not trusted and its config would have mypy run its code), "stopped".
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class EngineResult:
    """Every current mypy message of the project, as `mypy -O json` records."""

    messages: list[dict[str, Any]]
    blocking: bool
    duration_ms: float
    rebuilt: bool = False
    other: tuple[str, ...] = ()
    # False when a source changed while the engine read them: the answer may mix contents.
    settled: bool = True


class _WorkerGone(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class _Worker:
    """One worker process and its pipes; every failure surfaces as `_WorkerGone`."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        self._next_id = 0
        self._drain = asyncio.ensure_future(self._drain_stderr())

    @classmethod
    async def spawn(cls, python: str, root: Path) -> _Worker:
        try:
            proc = await asyncio.create_subprocess_exec(
                python,
                "-c",
                _RUN_WORKER,
                str(_WORKER_FILE),
                "--parent",
                str(os.getpid()),
                cwd=root,
                env=child_env(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=_READ_LIMIT,
            )
        except OSError as exc:
            raise _WorkerGone("crash", f"cannot start {python}: {exc}") from None
        return cls(proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def request(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write((json.dumps({"id": ident, **payload}) + "\n").encode())
            async with asyncio.timeout(timeout):
                await self.proc.stdin.drain()
                reply = await self._reply(ident)
        except TimeoutError:
            raise _WorkerGone("timeout", f"no answer within {timeout:g} s") from None
        except ConnectionError:
            await self._wait_exit()
            raise _WorkerGone("crash", self._exit_story()) from None
        return reply

    async def _reply(self, ident: int) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            try:
                line = await self.proc.stdout.readline()
            except ValueError:
                raise _WorkerGone("crash", "reply larger than the read limit") from None
            if not line:
                await self._wait_exit()
                raise _WorkerGone("crash", self._exit_story())
            try:
                reply = json.loads(line)
            except ValueError:
                log.warning("mypy worker wrote a non-JSON line: %r", line[:200])
                continue
            if isinstance(reply, dict) and reply.get("id") == ident:
                return reply

    async def _wait_exit(self) -> None:
        """Give a dying worker a moment, for its exit code and last words."""
        self._close_stdin()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self.proc.wait()
                await self._drain

    def _close_stdin(self) -> None:
        # On 3.11, wait() returns only once every pipe is closed, stdin included.
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()

    def _exit_story(self) -> str:
        code = self.proc.returncode
        if code is None:
            how = "the worker closed its output"
        elif code < 0:
            how = f"the worker was killed by signal {-code}"
        else:
            how = f"the worker exited with {code}"
        tail = "\n".join(self.stderr_tail)
        return f"{how}: {tail}" if tail else how

    async def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.stderr_tail.append(text)
            log.debug("mypy worker: %s", text)

    async def shutdown(self) -> None:
        """Ask politely, then kill the whole process group."""
        if self.proc.returncode is None:
            with contextlib.suppress(_WorkerGone):
                await self.request({"cmd": "shutdown"}, _SHUTDOWN_GRACE)
        await self.kill()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._close_stdin()
        with contextlib.suppress(ProcessLookupError):
            await self.proc.wait()
        self._drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._drain


def read_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class MypyEngine:
    """mypy's fine-grained engine for one config root, Python and argv.

    `check()` calls are serialised. A failed call raises `EngineError`; the worker
    is then restarted in the background after a backoff (0.5 s, 1 s, 2 s, ...), and
    the first answer from a new worker is a full build. `check()` also starts the
    worker if `start()` was not called.

    state: "new", "starting", "ready", "crashed" (a restart is planned), "restarting"
    (past the RSS ceiling), "failed" (mypy refused the options), "circuit-open",
    "stopped".
    """

    def __init__(
        self,
        *,
        python: str,
        root: Path,
        argv: list[str],
        timeout: float,
        max_rss_mb: int = DEFAULT_MAX_RSS_MB,
        start_timeout: float | None = None,
        failure_limit: int = 3,
        cooldown: float = 60.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        launch_refusal: Callable[[], str | None] | None = None,
    ) -> None:
        # Asked before every start and restart (a config may have changed since the last):
        # why a worker must not start now, or None.
        self.launch_refusal = launch_refusal
        self.python = python
        self.root = root
        self.argv = list(argv)
        self.timeout = timeout
        self.start_timeout = start_timeout if start_timeout is not None else timeout
        self.max_rss_mb = max_rss_mb
        # No window: any `failure_limit` failures in a row open it.
        self.breaker = CircuitBreaker(
            "mypy engine", threshold=failure_limit, window_s=math.inf, cooldown_s=cooldown
        )
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.state = "new"
        self.restarts = 0
        self.last_error: EngineError | None = None
        self._worker: _Worker | None = None
        self._lock = asyncio.Lock()
        self._next_start = 0.0
        self._restart: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        worker = self._worker
        if worker is None or worker.proc.returncode is not None:
            return None
        return worker.pid

    async def start(self) -> None:
        """Start the worker and build the project once; EngineError if that fails."""
        async with self._lock:
            self._refuse_if_closed()
            if self._worker is None:
                await self._launch()

    async def check(
        self, changed: Sequence[Path] = (), removed: Sequence[Path] = ()
    ) -> EngineResult:
        """All current messages after these files were saved or deleted."""
        async with self._lock:
            self._refuse_if_closed()
            self._refuse_if_open()
            if self._worker is None:
                await asyncio.sleep(max(0.0, self._next_start - time.monotonic()))
                result = await self._launch()
            else:
                result = await self._recheck(changed, removed)
            await self._enforce_rss()
            return result

    async def stats(self) -> dict[str, Any]:
        async with self._lock:
            self._refuse_if_closed()
            if self._worker is None:
                raise EngineError("stopped", "the worker is not running")
            reply = await self._call({"cmd": "stats"}, self.timeout)
            return {k: v for k, v in reply.items() if k not in ("id", "ok")}

    async def close(self) -> None:
        self.state = "stopped"
        if self._restart is not None:
            self._restart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restart
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if self._lock.locked():
            # A request is in flight on the pipes: no polite shutdown possible.
            await worker.kill()
        else:
            await worker.shutdown()

    # --- the worker's life ------------------------------------------------------

    async def _launch(self) -> EngineResult:
        refusal = self.launch_refusal() if self.launch_refusal is not None else None
        if refusal is not None:
            self.state = "failed"
            raise EngineError("untrusted", refusal)
        self.state = "starting"
        try:
            self._worker = await _Worker.spawn(self.python, self.root)
        except _WorkerGone as exc:
            raise await self._fail(exc.kind, exc.message) from None
        reply = await self._call({"cmd": "start", "args": self.argv}, self.start_timeout)
        self.state = "ready"
        self.breaker.succeeded()
        return _result(reply)

    async def _recheck(self, changed: Sequence[Path], removed: Sequence[Path]) -> EngineResult:
        payload = {
            "cmd": "check",
            "changed": [str(p) for p in changed],
            "removed": [str(p) for p in removed],
        }
        reply = await self._call(payload, self.timeout)
        self.breaker.succeeded()
        return _result(reply)

    async def _call(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        worker = self._worker
        assert worker is not None
        try:
            reply = await worker.request(payload, timeout)
        except _WorkerGone as exc:
            raise await self._fail(exc.kind, exc.message) from None
        if not reply.get("ok"):
            kind = str(reply.get("kind") or "crash")
            message = str(reply.get("error") or "the worker failed")
            if reply.get("fatal") or payload["cmd"] == "start":
                raise await self._fail(kind, message)
            raise EngineError(kind, message)
        return reply

    async def _fail(self, kind: str, message: str) -> EngineError:
        """Kill the worker, count the failure, and plan the next attempt."""
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.kill()
        if self.state == "stopped":
            return EngineError("stopped", "the engine was closed")
        self.breaker.failed(message)
        failures = self.breaker.consecutive_failures
        delay = min(self.backoff_cap, self.backoff_base * 2.0 ** (failures - 1))
        self._next_start = time.monotonic() + delay
        error = EngineError(kind, message)
        self.last_error = error
        log.warning("mypy engine %s (failure %d): %s", kind, failures, message)
        if self.breaker.state == OPEN:
            self.state = "circuit-open"
        elif kind in ("crash", "timeout"):
            self.state = "crashed"
            self._schedule_restart(delay)
        else:
            self.state = "failed"
        return error

    def _schedule_restart(self, delay: float) -> None:
        previous = self._restart
        if previous is not None and previous is not asyncio.current_task():
            previous.cancel()
        self._restart = asyncio.ensure_future(self._restart_after(delay))

    async def _restart_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self._lock:
            if self._worker is not None or self.state in ("stopped", "circuit-open"):
                return
            self.restarts += 1
            with contextlib.suppress(EngineError):
                await self._launch()

    async def _enforce_rss(self) -> None:
        worker = self._worker
        if worker is None:
            return
        rss = read_rss_mb(worker.pid)
        if rss is None or rss <= self.max_rss_mb:
            return
        log.info("mypy engine uses %.0f MB (> %d MB): restarting it", rss, self.max_rss_mb)
        self._worker = None
        await worker.shutdown()
        self.state = "restarting"
        self._schedule_restart(0.0)

    def _refuse_if_open(self) -> None:
        if self.state != "circuit-open":
            return
        if not self.breaker.allow():
            last = self.last_error.message if self.last_error else "repeated failures"
            raise EngineError("circuit-open", f"engine paused after failures: {last}")
        # Cool-down passed: the half-open trial (one more failure opens it again).
        self.state = "crashed"

    def _refuse_if_closed(self) -> None:
        if self.state == "stopped":
            raise EngineError("stopped", "the engine was closed")


def _result(reply: dict[str, Any]) -> EngineResult:
    return EngineResult(
        messages=list(reply.get("messages") or []),
        blocking=bool(reply.get("blocking")),
        duration_ms=float(reply.get("duration_ms") or 0.0),
        rebuilt=bool(reply.get("rebuilt")),
        other=tuple(str(line) for line in reply.get("other") or ()),
    )

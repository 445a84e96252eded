"""Background tasks: any review command, run later, watched by polling or notifications.

- `tapps.submit {command, arguments}` queues `command` (one of commands.REVIEW_COMMANDS)
  and answers at once with `{taskId, state, shared}`. An identical task (same command,
  same arguments) that is still queued or running is shared instead (`shared: true`).
- `tapps.taskStatus {taskId}`: state, progress and times, with `retryAfterMs`, a polling
  hint that doubles while nothing changes and resets on any change.
- `tapps.taskResult {taskId}`: the runner's JSON result (also the partial one of a
  cancelled batch) or the error of a failed task.
- `tapps.cancelTask {taskId}`: stops the batch (the runner returns what it has done) or
  else the whole run, and answers with the task's status once it has stopped.
- `tapps/taskUpdate` notifications on every state change and on progress (at most
  four a second per task).

One task runs at a time, in submission order; a task that is a batch reviews its files
`concurrency` at a time. Tasks live in server.lsp.task_store (SQLite), so a result can be read
after a reconnect or a restart; a task cut off by an exit ends `failed: interrupted`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest

from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.timestamps import utc_now
from tapps_lsp.analyzers.workspace import cache_folder
from tapps_lsp.server.lsp.arguments import Arguments, invalid
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.review_commands import CommandContext, ReviewCommand
from tapps_lsp.server.lsp.task_store import INTERRUPTED, TaskRecord, TaskState, TaskStore

log = logging.getLogger(__name__)

SUBMIT = "tapps.submit"
TASK_STATUS = "tapps.taskStatus"
TASK_RESULT = "tapps.taskResult"
CANCEL_TASK = "tapps.cancelTask"
TASK_UPDATE = "tapps/taskUpdate"

FIRST_RETRY_MS = 250
MAX_RETRY_MS = 5000
UPDATE_INTERVAL_S = 0.25
# How long cancelTask waits for the task to stop before it answers with its state.
CANCEL_WAIT_S = 5.0
# How long a shutdown waits for cancelled tasks to record how they ended.
SHUTDOWN_WAIT_S = 5.0

_UNSEEN = object()


class TaskQueueFull(JsonRpcException):
    """A JSON-RPC *server error* (code in -32000..-32099, the range JSON-RPC leaves to
    implementations; clients of pygls see a JsonRpcServerError): the request was fine,
    the server cannot take more work now, and retrying later may work."""

    CODE = -32010
    MESSAGE = "the task queue is full"


@dataclass(slots=True)
class PollHint:
    """The `retryAfterMs` of one task: FIRST_RETRY_MS, doubled (up to MAX_RETRY_MS) by
    each poll that finds the same snapshot as the poll before, reset by any change."""

    delay_ms: int = FIRST_RETRY_MS
    _seen: object = _UNSEEN

    def next(self, snapshot: object) -> int:
        if self._seen is _UNSEEN or snapshot != self._seen:
            self.delay_ms = FIRST_RETRY_MS
        else:
            self.delay_ms = min(self.delay_ms * 2, MAX_RETRY_MS)
        self._seen = snapshot
        return self.delay_ms


@dataclass(slots=True, eq=False)
class _Task:
    """A task of this process that is still queued or running."""

    record: TaskRecord
    key: str
    job: asyncio.Task[None] | None = None
    context: CommandContext | None = None
    cancel_requested: bool = False
    last_sent: float = 0.0
    pending: asyncio.TimerHandle | None = field(default=None)


class _Sink:
    """The ProgressSink a runner reports to."""

    def __init__(self, manager: TaskManager, task: _Task) -> None:
        self._manager = manager
        self._task = task

    def update(self, percentage: int, message: str) -> None:
        self._manager.progress(self._task, percentage, message)


def _snapshot(record: TaskRecord) -> tuple[str, int, str | None]:
    return record.state.value, record.percentage, record.message


class TaskManager:
    def __init__(self, ls: TappsServer, commands: Mapping[str, ReviewCommand[Any]]) -> None:
        """`commands`: what `tapps.submit` may run (server.lsp.commands.REVIEW_COMMANDS)."""
        self._ls = ls
        self._commands = commands
        self._store: TaskStore | None = None
        self._closed = False
        self._live: dict[str, _Task] = {}
        self._by_key: dict[str, str] = {}
        self._hints: dict[str, PollHint] = {}
        self._slot = asyncio.Lock()  # FIFO: tasks run one at a time, in order

    # --- the four commands ---------------------------------------------------------

    async def submit(self, raw: tuple[Any, ...]) -> dict[str, Any]:
        args = Arguments(SUBMIT, raw)
        values = args.as_dict()
        command = args.string("command")
        unknown = sorted(set(values) - {"command", "arguments"})
        if unknown:
            raise invalid(SUBMIT, f"unknown argument '{unknown[0]}'")
        if command not in self._commands:
            known = ", ".join(sorted(self._commands))
            raise invalid(SUBMIT, f"unknown command '{command}' (one of: {known})")
        arguments = values.get("arguments")
        # Refused now, not when the task runs: the same checks as the command's request.
        self._commands[command].parse(self._ls, Arguments(command, [arguments]))
        arguments = dict(arguments or {})
        key = json.dumps([command, arguments], sort_keys=True, separators=(",", ":"))
        store = self._open()

        shared = self._by_key.get(key)
        if shared is not None:
            state = self._live[shared].record.state
            return {"taskId": shared, "state": state.value, "shared": True}

        limit = self._settings().max_queued_tasks
        waiting = max(0, len(self._live) - 1)  # all but the one running (or next to run)
        if waiting >= limit:
            raise TaskQueueFull(
                f"{SUBMIT}: the task queue is full ({waiting} queued; setting maxQueuedTasks)"
            )

        record = TaskRecord(id=uuid.uuid4().hex, command=command, arguments=arguments)
        task = _Task(record, key)
        self._live[record.id] = task
        self._by_key[key] = record.id
        store.put(record)
        self._notify(task)
        task.job = asyncio.ensure_future(self._run(task))
        return {"taskId": record.id, "state": record.state.value, "shared": False}

    async def status(self, raw: tuple[Any, ...]) -> dict[str, Any]:
        record = self._record(TASK_STATUS, raw)
        retry: int | None = None
        if record.state.finished:
            self._hints.pop(record.id, None)
        else:
            retry = self._hints.setdefault(record.id, PollHint()).next(_snapshot(record))
        return _status_json(record, retry)

    async def result(self, raw: tuple[Any, ...]) -> dict[str, Any]:
        record = self._record(TASK_RESULT, raw)
        return {
            "taskId": record.id,
            "state": record.state.value,
            "result": record.result,
            "error": record.error,
        }

    async def cancel(self, raw: tuple[Any, ...]) -> dict[str, Any]:
        record = self._record(CANCEL_TASK, raw)
        task = self._live.get(record.id)
        if task is None:
            if not record.state.finished:
                raise JsonRpcInvalidRequest(
                    f"{CANCEL_TASK}: task '{record.id}' is run by another tapps-lsp process"
                    f" ({record.owner}); cancel it there"
                )
            return _status_json(record, None)  # already over: nothing to cancel
        task.cancel_requested = True
        context = task.context
        if context is not None and context.work is not None:
            context.cancel_work()  # the batch stops; the runner returns what it did
        elif task.job is not None:
            task.job.cancel()
        if task.job is not None:
            await asyncio.wait({task.job}, timeout=CANCEL_WAIT_S)
        return _status_json(task.record, None)

    # --- running -------------------------------------------------------------------

    async def _run(self, task: _Task) -> None:
        record = task.record
        try:
            async with self._slot:
                record.state = TaskState.RUNNING
                record.started_at = utc_now()
                self._changed(task)
                context = CommandContext(self._ls, _Sink(self, task))
                task.context = context
                arguments = Arguments(record.command, [record.arguments])
                result = await self._commands[record.command].run(context, arguments)
        except asyncio.CancelledError:
            if task.cancel_requested:
                self._finish(task, TaskState.CANCELLED)
            else:  # the server is going away
                self._finish(task, TaskState.FAILED, error=INTERRUPTED)
            raise
        except JsonRpcException as exc:
            self._finish(task, TaskState.FAILED, error=exc.message)
        except Exception as exc:
            log.exception("background task %s (%s) failed", record.id, record.command)
            self._finish(task, TaskState.FAILED, error=f"{type(exc).__name__}: {exc}")
        else:
            state = TaskState.CANCELLED if task.cancel_requested else TaskState.DONE
            self._finish(task, state, result=result)

    def progress(self, task: _Task, percentage: int, message: str) -> None:
        record = task.record
        if record.state.finished:
            return
        percentage = max(record.percentage, min(percentage, 100))
        if (percentage, message) == (record.percentage, record.message):
            return
        record.percentage, record.message = percentage, message
        if task.pending is not None:
            return  # the scheduled update sends the newest state
        delay = task.last_sent + UPDATE_INTERVAL_S - time.monotonic()
        if delay <= 0:
            self._changed(task)
        else:
            task.pending = asyncio.get_running_loop().call_later(delay, self._changed, task)

    def _finish(
        self,
        task: _Task,
        state: TaskState,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        record = task.record
        record.state, record.result, record.error = state, result, error
        record.finished_at = utc_now()
        if state is TaskState.DONE:
            record.percentage = 100
        self._live.pop(record.id, None)
        self._hints.pop(record.id, None)
        if self._by_key.get(task.key) == record.id:
            del self._by_key[task.key]
        task.context = None
        self._changed(task)

    def _changed(self, task: _Task) -> None:
        """Store the task's state and tell the client."""
        if task.pending is not None:
            task.pending.cancel()
            task.pending = None
        task.last_sent = time.monotonic()
        if self._store is not None:
            self._store.put(task.record)
        self._notify(task)

    def _notify(self, task: _Task) -> None:
        record = task.record
        payload = {
            "taskId": record.id,
            "state": record.state.value,
            "progress": record.percentage,
            "message": record.message,
            "error": record.error,
        }
        try:
            self._ls.protocol.notify(TASK_UPDATE, payload)
        except Exception as exc:  # the client may be gone (shutdown, exit)
            log.debug("could not send %s: %s", TASK_UPDATE, exc)

    # --- the store and its owner ---------------------------------------------------

    def _open(self) -> TaskStore:
        """The store, opened at the first task command, when the first folder is known."""
        if self._closed:
            raise JsonRpcInvalidRequest("tapps-lsp is shutting down")
        if self._store is None:
            folder = next(iter(self._ls.session.folders.values()), None)
            where = None
            if folder is not None and folder.settings.cache.enabled:
                where = cache_folder(folder.root, folder.settings)
            self._store = TaskStore(where)
            self._store.sweep_interrupted()
            # The session cancels its background tasks at shutdown (and asyncio.run at
            # exit): that is when the running task is stopped and the store closed.
            self._ls.session.spawn(self._own())
        return self._store

    async def _own(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            self._closed = True
            # Record the interruption first: the session may close before the runs unwind.
            # A run that does unwind in time then records how it really ended.
            jobs: list[asyncio.Task[None]] = []
            for task in list(self._live.values()):
                if self._store is not None:
                    self._store.put(
                        replace(
                            task.record,
                            state=TaskState.FAILED,
                            error=INTERRUPTED,
                            finished_at=utc_now(),
                        )
                    )
                if task.job is not None:
                    task.job.cancel()
                    jobs.append(task.job)
            if jobs:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait(jobs, timeout=SHUTDOWN_WAIT_S)
            if self._store is not None:
                self._store.close()

    def _settings(self) -> ReviewSettings:
        folder = next(iter(self._ls.session.folders.values()), None)
        return folder.settings if folder is not None else ReviewSettings()

    def _record(self, command: str, raw: tuple[Any, ...]) -> TaskRecord:
        args = Arguments(command, raw)
        task_id = args.string("taskId")
        args.done()
        store = self._open()
        live = self._live.get(task_id)
        record = live.record if live is not None else store.get(task_id)
        if record is None:
            raise invalid(command, f"unknown task '{task_id}'")
        return record


def _status_json(record: TaskRecord, retry_after_ms: int | None) -> dict[str, Any]:
    return {
        "taskId": record.id,
        "command": record.command,
        "state": record.state.value,
        "progress": record.percentage,
        "message": record.message,
        "submittedAt": record.submitted_at,
        "startedAt": record.started_at,
        "finishedAt": record.finished_at,
        "retryAfterMs": retry_after_ms,
        "error": record.error,
    }

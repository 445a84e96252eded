"""pygls' protocol with the fixes our server relies on (see shared/notes/pygls2.md)."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Generator
from functools import partial
from typing import Any, Protocol

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol, lsp_method

from tapps_lsp.server.lsp.client import client_pulls
from tapps_lsp.server.lsp.idle_gc import IdleCollector

# Requests answered only once something changes (long polls): never "slow", never busy.
HELD_BY_DESIGN = frozenset({types.WORKSPACE_DIAGNOSTIC})

EXECUTE_PARAMS: contextvars.ContextVar[types.ExecuteCommandParams | None] = contextvars.ContextVar(
    "execute_params", default=None
)


class RequestObserver(Protocol):
    """Told of every request from the client, by name (see `request_name`)."""

    def request_started(self, name: str) -> None: ...

    def request_finished(self, name: str, ms: float) -> None: ...


class TappsProtocol(LanguageServerProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._command_tasks: dict[Any, asyncio.Task[Any]] = {}
        self.observer: RequestObserver | None = None
        self._request_clock: dict[Any, tuple[str, float]] = {}
        # Requests being worked on, by id (a held long poll is not work).
        self._working: dict[Any, str] = {}
        self.idle_gc = IdleCollector(busy=lambda: bool(self._working))

    def handle_message(self, message: Any) -> None:
        self.idle_gc.start()
        self.idle_gc.activity()
        super().handle_message(message)

    def request_name(self, method: str, params: Any) -> str:
        """The method, with the command for `workspace/executeCommand`; names we do not
        serve are folded into one, so a client cannot grow the set of names."""
        if method == types.WORKSPACE_EXECUTE_COMMAND:
            command = getattr(params, "command", None)
            known = isinstance(command, str) and command in self.fm.commands
            return f"{method}:{command if known else '(unknown)'}"
        if method in self.fm.builtin_features or method in self.fm.features:
            return method
        return "(unknown method)"

    def _handle_request(self, msg_id: Any, method_name: str, params: Any) -> None:
        """Time every request from its arrival to its response being sent."""
        if method_name not in HELD_BY_DESIGN:
            self._working[msg_id] = method_name
        observer = self.observer
        if observer is not None:
            name = self.request_name(method_name, params)
            self._request_clock[msg_id] = (name, time.perf_counter())
            observer.request_started(name)
        super()._handle_request(msg_id, method_name, params)

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        try:
            super()._send_response(msg_id, result, error)
        finally:
            self._working.pop(msg_id, None)
            timed = self._request_clock.pop(msg_id, None)
            if timed is not None and self.observer is not None:
                name, started = timed
                self.observer.request_finished(name, (time.perf_counter() - started) * 1000)

    def track_current_task(self) -> None:
        """Let `$/cancelRequest` cancel the running command. pygls 2.1.1 answers the
        cancel but lets an async command run on, since it runs inside its own generator."""
        msg_id, task = self.msg_id, asyncio.current_task()
        if msg_id is None or task is None:
            return
        self._command_tasks[msg_id] = task
        task.add_done_callback(lambda _: self._command_tasks.pop(msg_id, None))

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        task = self._command_tasks.pop(msg_id, None)
        if task is not None:
            task.cancel()
        super()._handle_cancel_notification(msg_id)

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        """pygls 2.1.1 keeps the future of every notification handler (and of each step
        of its built-in generator handlers) forever: one or two per didChange/didSave.
        Forget each once it is done, as pygls already does for answered requests."""
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            future.add_done_callback(partial(self._forget_future, msg_id))

    def _forget_future(self, msg_id: Any, future: Any) -> None:
        if self._request_futures.get(msg_id) is future:
            del self._request_futures[msg_id]

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(
        self, params: types.ExecuteCommandParams
    ) -> Generator[Any, Any, Any]:
        """Command handlers never see their ExecuteCommandParams; stash them for
        the handler (async handlers inherit the context)."""
        EXECUTE_PARAMS.set(params)
        return (yield from super().lsp_workspace__execute_command(params))

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, Any]:
        """Offer pull diagnostics only to clients we serve by pull (see client_pulls)."""
        result = yield from super().lsp_initialize(params)
        if not client_pulls(params.capabilities):
            self.server_capabilities.diagnostic_provider = None
        return result

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """pygls 2.1.1 iterates the live futures dict here, which raises when a command
        is still running (pygls #606); iterate a snapshot instead."""
        if (handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None

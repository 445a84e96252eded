"""A minimal asyncio LSP client over a subprocess's stdio, for benchmarks.

It speaks JSON-RPC with Content-Length framing, records the arrival time
(``time.perf_counter()``) of every message, answers the few requests servers send to
clients, and lets a caller await a ``textDocument/publishDiagnostics`` for a URI that
matches a predicate. It also reads the resident memory of the server's process tree.

No pygls: the point is to see exactly what goes over the wire and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

JsonDict = dict[str, Any]

CLIENT_CAPABILITIES: JsonDict = {
    "general": {"positionEncodings": ["utf-16"]},
    "window": {"workDoneProgress": True},
    "workspace": {
        "configuration": True,
        "workspaceFolders": True,
        "didChangeConfiguration": {"dynamicRegistration": False},
    },
    "textDocument": {
        "synchronization": {
            "dynamicRegistration": False,
            "didSave": True,
            "willSave": False,
            "willSaveWaitUntil": False,
        },
        # Push diagnostics only: no "diagnostic" (pull) capability, so servers publish.
        "publishDiagnostics": {
            "relatedInformation": True,
            "versionSupport": True,
            "tagSupport": {"valueSet": [1, 2]},
            "codeDescriptionSupport": True,
            "dataSupport": True,
        },
    },
}


class LspError(Exception):
    """The server answered with an error, exited, or did not answer in time."""


class ServerExitedError(LspError):
    """The server's stdout closed before the awaited message arrived."""


@dataclass(frozen=True)
class Message:
    """One message from the server, with its arrival time (``time.perf_counter()``)."""

    time: float
    payload: JsonDict


@dataclass(frozen=True)
class Publish:
    """One ``textDocument/publishDiagnostics`` notification."""

    time: float
    uri: str
    version: int | None
    diagnostics: list[JsonDict]
    ordinal: int  # 0 for the first publish for this URI in this session, then 1, 2, ...


PublishPredicate = Callable[[Publish], bool]


@dataclass
class _Pending:
    future: asyncio.Future[Any]
    method: str


@dataclass
class LspClient:
    """A language server subprocess and the client end of its stdio connection."""

    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str] | None = None
    stderr_path: Path | None = None
    configuration: JsonDict = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    server_capabilities: JsonDict = field(default_factory=dict)
    _proc: asyncio.subprocess.Process | None = None
    _stderr: TextIO | None = None
    _reader: asyncio.Task[None] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _publishes: dict[str, list[Publish]] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _exited: bool = False

    # -- process ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self.stderr_path is not None:
            self.stderr_path.parent.mkdir(parents=True, exist_ok=True)
            self._stderr = self.stderr_path.open("a", encoding="utf-8")
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=dict(self.env) if self.env is not None else None,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr if self._stderr is not None else asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so a hung tree can be ended
        )
        self._reader = asyncio.create_task(self._read_loop())

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise LspError("server not started")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def stop(self, timeout: float = 10.0) -> bool:
        """shutdown + exit, then wait; end the process group if it overstays.

        Returns True when the server exited by itself within ``timeout``.
        """
        clean = False
        if self.running and not self._exited:
            with contextlib.suppress(LspError, OSError):
                await self.request("shutdown", None, timeout=timeout)
                await self.notify("exit", None)
        if self._proc is not None:
            try:
                await asyncio.wait_for(self._proc.wait(), timeout)
                clean = True
            except TimeoutError:
                self._kill_group()
                await self._proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._stderr is not None:
            self._stderr.close()
        return clean

    def _kill_group(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)

    def rss_bytes(self, extra_pids: Iterable[int] = ()) -> int:
        """Resident memory of the server and all its descendants, plus ``extra_pids``."""
        if not self.running:
            return 0
        return tree_rss_bytes(self.pid, extra_pids)

    # -- JSON-RPC --------------------------------------------------------------------------

    async def request(self, method: str, params: Any, timeout: float = 30.0) -> Any:
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = _Pending(future, method)
        await self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise LspError(f"{method}: no answer within {timeout:.0f} s") from exc
        finally:
            self._pending.pop(msg_id, None)

    async def notify(self, method: str, params: Any) -> float:
        """Send a notification; returns the time (perf_counter) just before it was written."""
        return await self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def _send(self, payload: JsonDict) -> float:
        if self._proc is None or self._proc.stdin is None:
            raise LspError("server not started")
        if self._exited:
            raise ServerExitedError("server has exited")
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        sent = time.perf_counter()
        self._proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await self._proc.stdin.drain()
        return sent

    async def _read_loop(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        try:
            while True:
                payload = await _read_message(stdout)
                if payload is None:
                    break
                await self._dispatch(Message(time.perf_counter(), payload))
        finally:
            self._exited = True
            for pending in self._pending.values():
                if not pending.future.done():
                    pending.future.set_exception(ServerExitedError(pending.method))
            async with self._changed:
                self._changed.notify_all()

    async def _dispatch(self, message: Message) -> None:
        self.messages.append(message)
        payload = message.payload
        if "method" not in payload:
            self._resolve(payload)
        elif "id" in payload:
            await self._answer(payload)
        elif payload["method"] == "textDocument/publishDiagnostics":
            await self._record_publish(message.time, payload.get("params") or {})

    def _resolve(self, payload: JsonDict) -> None:
        pending = self._pending.get(payload.get("id", -1))
        if pending is None or pending.future.done():
            return
        if "error" in payload:
            error = payload["error"]
            pending.future.set_exception(LspError(f"{pending.method}: {error.get('message')}"))
        else:
            pending.future.set_result(payload.get("result"))

    async def _answer(self, payload: JsonDict) -> None:
        """Answer a server-to-client request the way an editor would."""
        method, params = payload["method"], payload.get("params") or {}
        reply: JsonDict = {"jsonrpc": "2.0", "id": payload["id"]}
        if method == "workspace/configuration":
            reply["result"] = [self._config_section(i.get("section")) for i in params["items"]]
        elif method == "workspace/workspaceFolders":
            reply["result"] = [{"uri": self.cwd.as_uri(), "name": self.cwd.name}]
        elif method in {
            "window/workDoneProgress/create",
            "client/registerCapability",
            "client/unregisterCapability",
            "window/showMessageRequest",
            "workspace/diagnostic/refresh",
        }:
            reply["result"] = None
        else:
            reply["error"] = {"code": -32601, "message": f"unhandled: {method}"}
        with contextlib.suppress(LspError, OSError):
            await self._send(reply)

    def _config_section(self, section: str | None) -> Any:
        node: Any = self.configuration
        for part in section.split(".") if section else []:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    # -- diagnostics -----------------------------------------------------------------------

    async def _record_publish(self, arrived: float, params: JsonDict) -> None:
        uri = params.get("uri", "")
        history = self._publishes.setdefault(uri, [])
        version = params.get("version")
        history.append(
            Publish(
                time=arrived,
                uri=uri,
                version=version if isinstance(version, int) else None,
                diagnostics=list(params.get("diagnostics") or []),
                ordinal=len(history),
            )
        )
        async with self._changed:
            self._changed.notify_all()

    def publishes(self, uri: str) -> list[Publish]:
        return list(self._publishes.get(uri, []))

    async def wait_for_publish(
        self, uri: str, predicate: PublishPredicate, since: float, timeout: float
    ) -> Publish:
        """The first publish for ``uri`` that arrived after ``since`` and matches."""

        def found() -> Publish | None:
            for publish in self._publishes.get(uri, []):
                if publish.time >= since and predicate(publish):
                    return publish
            return None

        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    while (hit := found()) is None:
                        if self._exited:
                            raise ServerExitedError(f"server exited while waiting on {uri}")
                        await self._changed.wait()
            except TimeoutError as exc:
                raise LspError(f"no matching publish for {uri} within {timeout:.0f} s") from exc
        return hit

    # -- LSP conveniences ------------------------------------------------------------------

    async def initialize(
        self,
        root: Path,
        initialization_options: Any = None,
        capabilities: JsonDict | None = None,
        timeout: float = 60.0,
    ) -> JsonDict:
        params = {
            "processId": os.getpid(),
            "clientInfo": {"name": "tapps-bench", "version": "1"},
            "rootUri": root.as_uri(),
            "rootPath": str(root),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": capabilities if capabilities is not None else CLIENT_CAPABILITIES,
            "initializationOptions": initialization_options,
            "trace": "off",
        }
        result = await self.request("initialize", params, timeout=timeout)
        self.server_capabilities = (result or {}).get("capabilities", {})
        await self.notify("initialized", {})
        return dict(result or {})

    def save_includes_text(self) -> bool:
        sync = self.server_capabilities.get("textDocumentSync")
        save = sync.get("save") if isinstance(sync, dict) else None
        return isinstance(save, dict) and bool(save.get("includeText"))

    async def did_open(self, path: Path, text: str, version: int) -> float:
        doc = {"uri": path.as_uri(), "languageId": "python", "version": version, "text": text}
        return await self.notify("textDocument/didOpen", {"textDocument": doc})

    async def did_change(self, path: Path, text: str, version: int) -> float:
        params = {
            "textDocument": {"uri": path.as_uri(), "version": version},
            "contentChanges": [{"text": text}],
        }
        return await self.notify("textDocument/didChange", params)

    async def did_save(self, path: Path, text: str) -> float:
        params: JsonDict = {"textDocument": {"uri": path.as_uri()}}
        if self.save_includes_text():
            params["text"] = text
        return await self.notify("textDocument/didSave", params)

    async def did_close(self, path: Path) -> float:
        return await self.notify("textDocument/didClose", {"textDocument": {"uri": path.as_uri()}})


async def _read_message(stream: asyncio.StreamReader) -> JsonDict | None:
    """One framed JSON-RPC message, or None at end of stream."""
    length = -1
    while True:
        line = await stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length < 0:
        raise LspError("message without Content-Length")
    try:
        body = await stream.readexactly(length)
    except asyncio.IncompleteReadError:
        return None
    payload = json.loads(body)
    return payload if isinstance(payload, dict) else {"batch": payload}


# -- memory of a process tree ----------------------------------------------------------------


def _parent_map() -> dict[int, int]:
    """pid -> ppid for every process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # Field 2 (comm) may hold spaces and parentheses: split after its closing paren.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    return _below(pid, _parent_map())


def _below(pid: int, parents: dict[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def memory_tree(pid: int) -> list[int]:
    """``pid`` and the processes below it whose memory is their own: a child between fork
    and exec still runs its parent's image on the parent's pages, and counting its RSS
    would count those pages twice (a spawn of ruff briefly added the server's 63 MB)."""
    parents = _parent_map()
    return [p for p in _below(pid, parents) if p == pid or not _unexeced_fork(p, parents[p])]


def _unexeced_fork(pid: int, parent: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes() == Path(
            f"/proc/{parent}/cmdline"
        ).read_bytes() and os.readlink(f"/proc/{pid}/exe") == os.readlink(f"/proc/{parent}/exe")
    except OSError:
        return False


def rss_of(pid: int) -> int:
    """VmRSS of one process in bytes (0 if it is gone or a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_rss_bytes(pid: int, extra_pids: Iterable[int] = ()) -> int:
    """Sum of VmRSS over ``pid``'s process tree and the trees of ``extra_pids`` (see
    `memory_tree`)."""
    pids: set[int] = set()
    for root in (pid, *extra_pids):
        pids.update(memory_tree(root))
    return sum(rss_of(p) for p in pids)

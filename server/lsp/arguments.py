"""The arguments of our `workspace/executeCommand` commands: one JSON object with
camelCase keys, read key by key. A missing, unknown or mistyped key, or a path outside
the workspace folders, is a JSON-RPC InvalidParams error that names it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from tapps_lsp.analyzers.trust import confine
from tapps_lsp.server.lsp.language_server import TappsServer


def invalid(command: str, message: str) -> JsonRpcInvalidParams:
    return JsonRpcInvalidParams(f"{command}: {message}")


class Arguments:
    def __init__(self, command: str, raw: tuple[Any, ...] | list[Any]) -> None:
        self.command = command
        if len(raw) > 1:
            raise invalid(command, f"expected one object argument, got {len(raw)} arguments")
        value = raw[0] if raw else {}
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise invalid(command, f"expected an object argument, got {_kind(value)}")
        self._values: dict[str, Any] = value
        self._read: set[str] = set()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def optional_string(self, key: str) -> str | None:
        value = self._take(key)
        if value is None or isinstance(value, str):
            return value
        raise invalid(self.command, f"'{key}' must be a string, got {_kind(value)}")

    def string(self, key: str) -> str:
        value = self.optional_string(key)
        if value is None:
            raise invalid(self.command, f"missing argument '{key}'")
        return value

    def optional_int(self, key: str, *, minimum: int = 1) -> int | None:
        value = self._take(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise invalid(self.command, f"'{key}' must be a whole number of at least {minimum}")
        return value

    def strings(self, key: str, *, required: bool = False) -> list[str]:
        value = self._take(key)
        if value is None:
            if required:
                raise invalid(self.command, f"missing argument '{key}'")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(self.command, f"'{key}' must be a list of strings, got {_kind(value)}")
        return value

    def done(self) -> None:
        """Refuse keys that were never read: a typo must not be silently ignored."""
        unknown = sorted(set(self._values) - self._read)
        if unknown:
            raise invalid(self.command, f"unknown argument '{unknown[0]}'")

    def _take(self, key: str) -> Any:
        self._read.add(key)
        return self._values.get(key)


def workspace_path(ls: TappsServer, command: str, value: str, key: str) -> Path:
    """A `file:` URI or a path, resolved (`..` and symlinks), inside a workspace folder:
    every command's paths come through here."""
    raw = to_fs_path(value) if value.startswith("file:") else value
    if not raw:
        raise invalid(command, f"'{key}' is not a file URI or path: {value}")
    path = Path(raw)
    if not path.is_absolute():
        raise invalid(command, f"'{key}' must be absolute (a file: URI or path): {value}")
    resolved = confine(path, ls.session.folders)
    if resolved is None:
        raise invalid(command, f"'{key}' is outside the workspace folders: {value}")
    return resolved


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__

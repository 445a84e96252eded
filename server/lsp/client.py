"""What the client can do, resolved once from its capabilities at `initialize`."""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types
from pygls.capabilities import get_capability


@dataclass(frozen=True, slots=True)
class Client:
    """The client's name and the capabilities the server acts on (before `initialize`:
    an unknown client that can do none of it)."""

    name: str = "unknown"
    # Served by pull (see client_pulls), else by push.
    pulls: bool = False
    can_refresh: bool = False
    position_encoding: str = types.PositionEncodingKind.Utf16.value
    work_done_progress: bool = False
    configuration: bool = False
    watches_files: bool = False

    @classmethod
    def resolve(cls, params: types.InitializeParams, position_encoding: object | None) -> Client:
        """`position_encoding`: the workspace's, as pygls negotiated it (either the
        client's string or pygls' own enum default)."""
        caps = params.capabilities
        info = params.client_info
        encoding = position_encoding or types.PositionEncodingKind.Utf16
        return cls(
            name=f"{info.name} {info.version or ''}".strip() if info is not None else "unknown",
            pulls=client_pulls(caps),
            can_refresh=bool(get_capability(caps, "workspace.diagnostics.refresh_support", False)),
            position_encoding=str(getattr(encoding, "value", encoding)),
            work_done_progress=bool(get_capability(caps, "window.work_done_progress", False)),
            configuration=bool(get_capability(caps, "workspace.configuration", False)),
            watches_files=bool(
                get_capability(
                    caps, "workspace.did_change_watched_files.dynamic_registration", False
                )
            ),
        )


def client_pulls(capabilities: types.ClientCapabilities) -> bool:
    """Pull only for a client that can also be asked to pull again: results arrive after
    a save (or for other files after a dependency changed) without the client changing
    anything, and a client that cannot be told would never see them (Neovim 0.11 by
    default). Every other client gets push, and is not offered a diagnostic provider."""
    document = capabilities.text_document
    workspace = capabilities.workspace
    return (
        document is not None
        and document.diagnostic is not None
        and workspace is not None
        and workspace.diagnostics is not None
        and workspace.diagnostics.refresh_support is True
    )

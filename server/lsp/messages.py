"""Messages to the user (`window/showMessage`), each shown once; repeats are logged."""

from __future__ import annotations

import logging

from lsprotocol import types

from tapps_lsp.analyzers.findings import ToolFailure
from tapps_lsp.server.lsp.language_server import TappsServer

log = logging.getLogger(__name__)


def show_failure(ls: TappsServer, failure: ToolFailure) -> None:
    """A tool's failure: logged, and shown to the user once (a batch sees it per file)."""
    calm = failure.kind in ("warning", "untrusted")
    kind = types.MessageType.Warning if calm else types.MessageType.Error
    show_once(ls, f"{failure.tool}:{failure.kind}:{failure.message}", failure.message, kind)


def show_once(ls: TappsServer, key: str, message: str, kind: types.MessageType) -> None:
    if key in ls.session.shown_messages:
        log.debug("%s", message)
        return
    log.warning("%s", message)
    ls.session.shown_messages.add(key)
    ls.window_show_message(types.ShowMessageParams(type=kind, message=message))

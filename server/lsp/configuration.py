"""Settings from the client and config-file watching.

Precedence, per key (a later layer wins): built-in defaults, `[tool.tapps]` in the
folder's pyproject.toml, `initializationOptions`, then `workspace/configuration`
(section `tapps`, asked per folder) or settings pushed with
`workspace/didChangeConfiguration`.

`trustedWorkspace` counts only in `initializationOptions`: the other two carry, in some
clients, what a workspace's own files say (Eglot takes `eglot-workspace-configuration`
from a `.dir-locals.el` without asking), and a workspace must not trust itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lsprotocol import types

from tapps_lsp.analyzers import serialize
from tapps_lsp.analyzers.configs import WATCHED_CONFIG_NAMES
from tapps_lsp.analyzers.settings import normalise
from tapps_lsp.analyzers.trust import TRUST_KEY, TRUST_SETTING
from tapps_lsp.server.lsp.client import Client
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.reviews import schedule_review
from tapps_lsp.server.lsp.session import Folder
from tapps_lsp.server.lsp.uris import uri_to_path
from tapps_lsp.server.lsp.workflow_publish import publish_problems

log = logging.getLogger(__name__)
SECTION = "tapps"


def _section(raw: object) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        return {}
    inner = raw.get(SECTION)
    return dict(inner) if isinstance(inner, Mapping) else dict(raw)


def _editor_section(ls: TappsServer, raw: object) -> dict[str, Any]:
    """A folder's settings from workspace/configuration or a push, without trust."""
    section = _section(raw)
    trust_keys = [key for key in section if TRUST_KEY in normalise({key: None})]
    for key in trust_keys:
        del section[key]
    if trust_keys and "trust:pushed" not in ls.session.shown_messages:
        ls.session.shown_messages.add("trust:pushed")
        message = (
            f"tapps-lsp settings: `{TRUST_SETTING}` is read from initializationOptions only "
            "(workspace settings can reach workspace/configuration); it was ignored there"
        )
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=message)
        )
    return section


def initialize(ls: TappsServer, params: types.InitializeParams) -> None:
    serialize.prepare()
    ls.client = Client.resolve(params, ls.workspace.position_encoding)
    ls.session.global_settings = _section(params.initialization_options)
    roots = [uri_to_path(f.uri) for f in params.workspace_folders or []]
    if not roots and params.root_uri:
        roots = [uri_to_path(params.root_uri)]
    for root in roots:
        if root is not None:
            ls.session.add_folder(root)


async def initialized(ls: TappsServer, params: types.InitializedParams) -> None:
    _report_problems(ls)
    await pull_configuration(ls)
    await _watch_config_files(ls)


async def did_change_configuration(
    ls: TappsServer, params: types.DidChangeConfigurationParams
) -> None:
    pushed = params.settings
    asks = ls.client.configuration
    if isinstance(pushed, Mapping) and (isinstance(pushed.get(SECTION), Mapping) or not asks):
        # Settings under "tapps", or (from a client we cannot ask) flat, as in
        # initializationOptions.
        for folder in ls.session.all_folders():
            folder.editor_settings = _editor_section(ls, pushed)
        _reconfigure(ls, ls.session.all_folders())
    else:
        await pull_configuration(ls)


def did_change_watched_files(ls: TappsServer, params: types.DidChangeWatchedFilesParams) -> None:
    names = {Path(change.uri).name for change in params.changes}
    if not names & WATCHED_CONFIG_NAMES:
        return
    for folder in ls.session.all_folders():
        folder.forget_projects()
    _reconfigure(ls, ls.session.all_folders(), force=True)


async def did_change_folders(
    ls: TappsServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    for removed in params.event.removed:
        root = uri_to_path(removed.uri)
        if root is not None:
            ls.session.remove_folder(root)
    for added in params.event.added:
        root = uri_to_path(added.uri)
        if root is not None:
            ls.session.add_folder(root)
    await pull_configuration(ls)


async def shutdown(ls: TappsServer, *args: Any) -> None:
    await ls.workflow_runs.close()
    await ls.session.aclose()
    ls.shutdown_session()


async def pull_configuration(ls: TappsServer) -> None:
    """Ask the client for each folder's `tapps` section, then apply what changed."""
    if not ls.client.configuration:
        _reconfigure(ls, ls.session.all_folders())
        return
    folders = ls.session.all_folders()
    items = [types.ConfigurationItem(scope_uri=f.root.as_uri(), section=SECTION) for f in folders]
    try:
        answers = await ls.workspace_configuration_async(types.ConfigurationParams(items=items))
    except Exception as exc:  # a client that fails this still gets defaults
        log.warning("workspace/configuration failed: %s", exc)
        answers = []
    for folder, answer in zip(folders, answers, strict=False):
        folder.editor_settings = _editor_section(ls, answer)
    _reconfigure(ls, folders)


def _reconfigure(ls: TappsServer, folders: list[Folder], *, force: bool = False) -> None:
    changed = [f for f in folders if f.configure(ls.session.global_settings) or force]
    _report_problems(ls)
    if not changed:
        return
    for uri, document in list(ls.workspace.text_documents.items()):
        path = uri_to_path(uri)
        if path is not None and ls.session.folder_for(path) in changed:
            schedule_review(ls, uri, document.source, document.version)


def _report_problems(ls: TappsServer) -> None:
    for folder in ls.session.all_folders():
        publish_problems(ls, folder)
        for problem in folder.problems:
            key = f"settings:{folder.root}:{problem}"
            if key not in ls.session.shown_messages:
                ls.session.shown_messages.add(key)
                ls.window_show_message(
                    types.ShowMessageParams(
                        type=types.MessageType.Warning, message=f"tapps-lsp settings: {problem}"
                    )
                )


async def _watch_config_files(ls: TappsServer) -> None:
    if not ls.client.watches_files:
        return
    pattern = "**/{" + ",".join(sorted(WATCHED_CONFIG_NAMES)) + "}"
    registration = types.Registration(
        id=f"tapps-config-{uuid.uuid4()}",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=pattern)]
        ),
    )
    try:
        await ls.client_register_capability_async(
            types.RegistrationParams(registrations=[registration])
        )
    except Exception as exc:  # without watching, config changes apply on the next save
        log.warning("could not register config file watching: %s", exc)

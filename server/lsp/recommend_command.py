"""`tapps.recommendPreset {uris? | since?, folder?}` → `{preset, confidence, reasons,
files}`: which workflow preset a change deserves (analyzers.recommend). `uris` count as
changed whole; `since` is a git revision of the folder's repository."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.changes import ChangesError, changes_since
from tapps_lsp.analyzers.files import discover
from tapps_lsp.analyzers.recommend import recommend
from tapps_lsp.server.lsp.arguments import Arguments, invalid, workspace_path
from tapps_lsp.server.lsp.language_server import TappsServer

RECOMMEND_PRESET = "tapps.recommendPreset"


async def recommend_preset(ls: TappsServer, name: str, raw: tuple[Any, ...]) -> dict[str, Any]:
    args = Arguments(name, raw)
    uris = args.strings("uris")
    since = args.optional_string("since")
    folder_value = args.optional_string("folder")
    args.done()
    if uris and since is not None:
        raise invalid(name, "give 'uris' or 'since', not both")
    paths = [workspace_path(ls, name, uri, "uris") for uri in dict.fromkeys(uris)]
    if folder_value is not None:
        folder = ls.session.folder_for(workspace_path(ls, name, folder_value, "folder"))
    elif paths:
        folder = ls.session.folder_for(paths[0])
    elif ls.session.folders:
        folder = next(iter(ls.session.folders.values()))
    else:
        raise invalid(name, "there is no workspace folder; name one with 'folder'")
    reviewer = folder.reviewer
    assert reviewer is not None, "a configured folder has its reviewer"
    changed: dict[Path, frozenset[int] | None]
    if since is not None:
        files = await asyncio.to_thread(
            lambda: list(discover(folder.root, exclude=folder.settings.exclude))
        )
        try:
            changed = (await changes_since(folder.root, since, files)).lines
        except ChangesError as exc:
            raise invalid(name, str(exc)) from None
    else:
        changed = dict.fromkeys(path for path in paths if path.is_file())
    return (await recommend(reviewer, changed)).as_json(folder.root)

"""workspace/executeCommand handlers."""

from __future__ import annotations

import platform
import sys
from typing import TYPE_CHECKING, Any, cast

from pygls.capabilities import get_capability

from tapps_lsp.analyzers.score import FORMULA_VERSION
from tapps_lsp.analyzers.workspace import cache_folder, trust_summary
from tapps_lsp.server.diagnostics import negotiated_encoding
from tapps_lsp.server.session import Folder

if TYPE_CHECKING:
    from tapps_lsp.server.app import TappsServer

PRINT_DEBUG_INFORMATION = "tapps.printDebugInformation"


def register(server: TappsServer) -> None:
    # pygls resolves a command handler's annotations at each call: `ls` must not name a
    # class imported only for type checking.
    @server.command(PRINT_DEBUG_INFORMATION)
    async def print_debug_information(ls: Any, *args: Any) -> dict[str, Any]:
        return await debug_information(cast("TappsServer", ls))


async def debug_information(ls: TappsServer) -> dict[str, Any]:
    folders = [await _folder_info(folder) for folder in ls.session.all_folders()]
    return {
        "version": ls.version,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "scoreFormulaVersion": FORMULA_VERSION,
        "folders": folders,
        "openDocuments": sorted(ls.workspace.text_documents),
        "client": _client_summary(ls),
    }


async def _folder_info(folder: Folder) -> dict[str, Any]:
    reviewer = folder.reviewer
    tools: dict[str, Any] = {}
    if reviewer is not None:
        versions = await reviewer.versions()
        tools = {
            "ruff": versions.ruff or (versions.ruff_failure and versions.ruff_failure.message),
            "mypy": versions.mypy or (versions.mypy_failure and versions.mypy_failure.message),
        }
    environment = reviewer.environment if reviewer is not None else None
    stats = folder.store.stats() if folder.store is not None else None
    return {
        "root": str(folder.root),
        "settings": folder.settings.as_json(),
        "settingsProblems": folder.problems,
        "trust": trust_summary(folder.root, folder.settings),
        "tools": tools,
        "pythonEnvironment": environment.describe() if environment else None,
        "mypyProjects": [
            {
                "configRoot": str(p.root),
                "configFile": str(p.config.config_file or ""),
                "targets": list(p.targets),
                "engine": p.engine.describe() if p.engine else {"state": "off"},
                "notRun": p.untrusted_code(),
            }
            for p in (reviewer.projects() if reviewer else [])
        ],
        "cache": {
            "folder": str(cache_folder(folder.root, folder.settings)),
            "entries": stats.entries if stats else 0,
            "bytes": stats.total_bytes if stats else 0,
            "hits": reviewer.hits if reviewer else 0,
            "misses": reviewer.misses if reviewer else 0,
        },
    }


def _client_summary(ls: TappsServer) -> dict[str, Any]:
    caps = ls.client_capabilities
    return {
        "name": ls.client_name,
        "positionEncoding": negotiated_encoding(ls),
        "pullDiagnostics": ls.pull_mode,
        "diagnosticRefresh": ls.can_refresh,
        "workDoneProgress": bool(get_capability(caps, "window.work_done_progress", False)),
        "configuration": bool(get_capability(caps, "workspace.configuration", False)),
        "watchedFilesRegistration": bool(
            get_capability(caps, "workspace.did_change_watched_files.dynamic_registration", False)
        ),
    }

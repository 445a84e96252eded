"""`tapps.printDebugInformation`: the folders, their settings, tools, engines and cache,
and the client, as JSON."""

from __future__ import annotations

import platform
import sys
from typing import Any

from tapps_lsp.analyzers.score import FORMULA_VERSION
from tapps_lsp.analyzers.workspace import cache_folder, trust_summary
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.session import Folder

PRINT_DEBUG_INFORMATION = "tapps.printDebugInformation"


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
    client = ls.client
    return {
        "name": client.name,
        "positionEncoding": client.position_encoding,
        "pullDiagnostics": client.pulls,
        "diagnosticRefresh": client.can_refresh,
        "workDoneProgress": client.work_done_progress,
        "configuration": client.configuration,
        "watchedFilesRegistration": client.watches_files,
    }

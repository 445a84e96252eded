"""`tapps-lsp mcp`: the MCP server for coding agents, over stdio, for one project. It
needs the `mcp` extra; without it the command says how to install it."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

EXIT_ERROR = 2
MISSING = (
    "tapps-lsp mcp: the MCP SDK is not installed; install it with pip install 'tapps-lsp[mcp]'\n"
)


@dataclass(slots=True)
class McpOptions:
    project: Path | None
    no_cache: bool = False
    trust: bool = False
    programs: dict[str, Any] = field(default_factory=dict)

    def client_layer(self) -> dict[str, Any]:
        """The settings the command line gives, as a client's would be. The engine stays
        on: an agent asks again and again, and rechecks are what the engine is for."""
        layer: dict[str, Any] = {**self.programs, "trustedWorkspace": self.trust}
        if self.no_cache:
            layer["cache"] = {"enabled": False}
        return layer


def serve_mcp_command(options: McpOptions, err: TextIO = sys.stderr) -> int:
    if importlib.util.find_spec("mcp") is None:
        err.write(MISSING)
        return EXIT_ERROR
    root = (options.project or Path.cwd()).resolve()
    if not root.is_dir():
        err.write(f"tapps-lsp mcp: not a folder: {root}\n")
        return EXIT_ERROR
    from tapps_lsp.server.mcp.app import serve_mcp  # noqa: PLC0415 - the optional SDK

    asyncio.run(serve_mcp(root, options.client_layer()))
    return 0

"""`tapps-lsp mcp`: the MCP server over stdio (the official SDK's `MCPServer`), one
project, its tools registered here and answered by server.mcp.tools. Each tool answers
its JSON as text content; a refused call (a path outside the project, an unknown
workflow) is a tool error with the reason."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from tapps_lsp.server.mcp import tools
from tapps_lsp.server.mcp.project import McpProject, ToolRefused

try:
    __version__ = version("tapps-lsp")
except PackageNotFoundError:
    __version__ = "0+unknown"

INSTRUCTIONS = (
    "Review Python files with ruff, mypy and a 0-100 quality score, exactly as the "
    "project's own ruff and mypy runs would. Results are cached by content: asking again "
    "about unchanged files runs nothing and says `cached: true`. Paths are absolute or "
    "relative to the project root, and must be inside the project."
)


async def _answer(work: Awaitable[dict[str, Any]]) -> str:
    try:
        return json.dumps(await work, separators=(",", ":"))
    except ToolRefused as exc:
        raise ToolError(str(exc)) from None


async def _now(value: dict[str, Any]) -> dict[str, Any]:
    return value


def build_server(project: McpProject) -> MCPServer:
    server = MCPServer("tapps-lsp", version=__version__, instructions=INSTRUCTIONS)
    _review_tools(server, project)
    _workflow_tools(server, project)
    return server


def _registrar(server: MCPServer) -> Callable[[str], Callable[[Callable[..., Any]], Any]]:
    def tool(description: str) -> Callable[[Callable[..., Any]], Any]:
        return server.tool(description=description, structured_output=False)

    return tool


def _review_tools(server: MCPServer, project: McpProject) -> None:
    tool = _registrar(server)

    @tool("Review files or folders (default: the whole project): counts, scores and every finding.")
    async def review_files(
        paths: list[str] | None = None,
        min_severity: str | None = None,
        max_tokens: int | None = None,
    ) -> str:
        return await _answer(tools.review_files(project, paths or [], min_severity, max_tokens))

    @tool("One file's 0-100 quality score with its breakdown inputs and findings.")
    async def score_file(
        path: str, min_severity: str | None = None, max_tokens: int | None = None
    ) -> str:
        return await _answer(tools.score_file(project, path, min_severity, max_tokens))

    @tool("Review what changed since a git revision: only findings on changed lines.")
    async def review_changes(
        since: str, min_severity: str | None = None, max_tokens: int | None = None
    ) -> str:
        return await _answer(tools.review_changes(project, since, min_severity, max_tokens))

    @tool("Which workflow preset a change deserves (paths changed whole, or since a revision).")
    async def recommend_preset(paths: list[str] | None = None, since: str | None = None) -> str:
        return await _answer(tools.recommend_preset(project, paths or [], since))

    @tool("How often each tool really ran, and the cache's hits and misses.")
    async def tool_runs() -> str:
        return await _answer(_now(tools.tool_runs(project)))


def _workflow_tools(server: MCPServer, project: McpProject) -> None:
    tool = _registrar(server)

    @tool("The review workflows (presets and the project's own) and their steps.")
    async def list_workflows() -> str:
        return await _answer(_now(tools.list_workflows(project)))

    @tool("Run a review workflow (minimal, standard, comprehensive, full, or the project's).")
    async def run_workflow(
        workflow: str,
        paths: list[str] | None = None,
        min_severity: str | None = None,
        max_tokens: int | None = None,
    ) -> str:
        answer = tools.run_workflow(project, workflow, paths or [], min_severity, max_tokens)
        return await _answer(answer)

    @tool("A workflow run's state, its steps and, once it ended, its report.")
    async def run_status(run_id: str) -> str:
        return await _answer(tools.run_status(project, run_id))

    @tool("The project's recent workflow runs, newest first.")
    async def list_runs(limit: int = 20) -> str:
        return await _answer(tools.list_runs(project, limit))


async def serve_mcp(root: Path, client_layer: dict[str, Any]) -> None:
    project = McpProject.open(root, client_layer)
    try:
        await build_server(project).run_stdio_async()
    finally:
        await project.close()

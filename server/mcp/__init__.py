"""The MCP front door (`tapps-lsp mcp`): the review commands as Model Context Protocol
tools for coding agents, over the official `mcp` SDK (the `mcp` extra)."""

"""The MCP front door through the official SDK's own client over real stdio: the tools,
a review of a fixture, the same call again answered from the cache (no tool ran), and a
path outside the project refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.e2e.conftest import copy_fixture

pytestmark = pytest.mark.timeout(120)


def connect(root: Path) -> Client:
    """The SDK's client of `tapps-lsp mcp` over stdio. Entered in the test itself: the
    SDK's cancel scopes must be left by the task that entered them (not a fixture's)."""
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "tapps_lsp.server", "mcp", "--project", str(root)]
    )
    return Client(server)


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> Any:
    result = await client.call_tool(tool, arguments or {})
    assert not result.is_error, result.content
    [content] = result.content
    return json.loads(content.text)  # type: ignore[union-attr]


async def test_the_tools_review_and_a_repeat_is_a_cache_hit(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    async with connect(root) as session:
        await _review_twice(session, root)


async def _review_twice(session: Client, root: Path) -> None:
    listed = await session.list_tools()
    names = {tool.name for tool in listed.tools}
    assert {"review_files", "score_file", "run_workflow", "list_workflows"} <= names

    first = await call(session, "review_files", {"paths": ["app"]})
    assert first["files"] == 6 and first["cached"] is False
    lint = next(f for f in first["results"] if f["path"] == "app/lint.py")
    assert {(f["source"], f["code"]) for f in lint["findings"]} >= {("ruff", "F401")}
    runs_before = (await call(session, "tool_runs"))["toolRuns"]

    again = await call(session, "review_files", {"paths": [str(root / "app")]})
    assert again["cached"] is True and again["cache"]["misses"] == 0
    assert again["results"] == first["results"]
    assert (await call(session, "tool_runs"))["toolRuns"] == runs_before, "no tool ran"

    score = await call(session, "score_file", {"path": "app/lint.py"})
    assert score["cached"] is True and score["score"] == lint["score"]
    errors = await call(session, "review_files", {"paths": ["app"], "min_severity": "error"})
    severities = {f["severity"] for entry in errors["results"] for f in entry["findings"]}
    assert severities <= {"error"}


async def test_paths_outside_the_project_are_refused(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    outside = tmp_path / "elsewhere.py"
    outside.write_text("import os\n")
    async with connect(root) as session:
        for path in (str(outside), "../elsewhere.py"):
            result = await session.call_tool("review_files", {"paths": [path]})
            assert result.is_error
            assert "outside the project" in result.content[0].text  # type: ignore[union-attr]


async def test_workflows_through_mcp(tmp_path: Path) -> None:
    async with connect(copy_fixture("basic", tmp_path)) as session:
        await _workflows(session)


async def _workflows(session: Client) -> None:
    listed = await call(session, "list_workflows")
    assert "standard" in {w["name"] for w in listed["workflows"]}
    ran = await call(session, "run_workflow", {"workflow": "minimal"})
    assert ran["state"] == "done" and ran["report"]["findings"]["bySource"] == {"ruff": 3}
    status = await call(session, "run_status", {"run_id": ran["runId"]})
    assert status["state"] == "done"
    assert (await call(session, "list_runs"))["runs"][0]["runId"] == ran["runId"]
    unknown = await session.call_tool("run_workflow", {"workflow": "nope"})
    assert unknown.is_error and "no workflow `nope`" in unknown.content[0].text  # type: ignore[union-attr]


async def test_a_budget_and_the_changes_since_a_revision(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "base"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )
    lint = root / "app" / "lint.py"
    lint.write_text(lint.read_text() + "import sys\n")
    async with connect(root) as session:
        tight = await call(session, "review_files", {"paths": ["app"], "max_tokens": 400})
        assert tight["budget"]["level"] == "red" and tight["budget"]["omitted"]["total"] > 0
        assert tight["budget"]["estimatedTokens"] <= 400
        assert len(json.dumps(tight, separators=(",", ":"))) <= 400 * 4
        roomy = await call(session, "review_files", {"paths": ["app"], "max_tokens": 100_000})
        assert roomy["budget"]["level"] == "green" and roomy["findings"]["list"]
        changed = await call(session, "review_changes", {"since": "HEAD"})
        assert changed["changedFiles"] == 1
        last = len(lint.read_text().splitlines())
        assert ("app/lint.py", "F401", last) in {
            (f["path"], f["code"], f["line"]) for f in changed["findings"]
        }
        assert {f["line"] for f in changed["findings"]} == {last}, "only the changed line"
        advice = await call(session, "recommend_preset", {"since": "HEAD"})
        assert advice["preset"] == "minimal"
        bad = await session.call_tool("review_files", {"max_tokens": 0})
        assert bad.is_error and "max_tokens" in bad.content[0].text  # type: ignore[union-attr]

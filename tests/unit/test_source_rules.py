"""Rules of the source tree that hold only by care unless a test holds them.

- No program is ever started through a shell: a path or argument a repository chose must
  never be read as shell syntax.
- The engine (`analyzers/`) never imports the LSP layer (pygls, lsprotocol) or the server:
  the CLI, the server and the tests all drive it as a plain library.
- The `check` CLI (`server/cli/`) and the MCP server (`server/mcp/`) never import the LSP
  layer (pygls, lsprotocol): they run without paying for it, and the front doors stay apart.
- Our code is imported by its installed name only (`tapps_lsp.server`, `tapps_lsp.analyzers`):
  a bare `server` or `analyzers` would be a second copy of the module, or somebody else's.
"""

from __future__ import annotations

import ast
import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tapps_lsp.analyzers.process import run_process

REPO = Path(__file__).resolve().parents[2]
OURS = [REPO / "analyzers", REPO / "server"]
SHELL_CALLS = {"create_subprocess_shell", "system", "popen", "getoutput", "getstatusoutput"}
LSP_PACKAGES = {"pygls", "lsprotocol", "tapps_lsp.server", "pytest_lsp"}
PROTOCOL_PACKAGES = {"pygls", "lsprotocol", "pytest_lsp"}
BARE_NAMES = {"server", "analyzers"}


def modules(*folders: Path) -> Iterator[tuple[Path, ast.Module]]:
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def shell_uses(tree: ast.Module) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if isinstance(node.func, ast.Name):
            name = node.func.id
        shell_flag = any(
            k.arg == "shell" and not (isinstance(k.value, ast.Constant) and not k.value.value)
            for k in node.keywords
        )
        if name in SHELL_CALLS or shell_flag:
            lines.append(node.lineno)
    return lines


def test_no_program_is_started_through_a_shell() -> None:
    found = {
        str(path.relative_to(REPO)): lines
        for path, tree in modules(*OURS)
        if (lines := shell_uses(tree))
    }
    assert found == {}


def test_the_rule_sees_a_shell() -> None:
    tree = ast.parse("import subprocess, os\nsubprocess.run('x', shell=True)\nos.system('x')\n")
    assert shell_uses(tree) == [2, 3]
    assert shell_uses(ast.parse("subprocess.run(['x'], shell=False)\n")) == []


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for a tool")
def test_a_tool_path_with_shell_syntax_is_one_program(tmp_path: Path) -> None:
    """A path full of shell syntax runs as the file it names, and nothing else runs."""
    named = tmp_path / "tool; touch PWNED $(touch PWNED2)"
    named.write_text(f'#!/bin/sh\n: > "{tmp_path}/RAN"\n')
    named.chmod(0o755)
    done = asyncio.run(run_process([str(named), "--version"], cwd=tmp_path, timeout=30))
    assert done.returncode == 0
    assert (tmp_path / "RAN").exists()
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()


def package_of(module: str) -> str:
    """The top-level package, or for ours the namespace and the package (`tapps_lsp.server`)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "tapps_lsp" else parts[0]


def imported_packages(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(package_of(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(package_of(node.module))
    return found


def test_the_engine_never_imports_the_lsp_layer_or_the_server() -> None:
    found = {
        str(path.relative_to(REPO)): sorted(used)
        for path, tree in modules(REPO / "analyzers")
        if (used := imported_packages(tree) & LSP_PACKAGES)
    }
    assert found == {}
    tree = ast.parse("from pygls.lsp import x\nimport tapps_lsp.server.lsp.app\n")
    assert imported_packages(tree) == {"pygls", "tapps_lsp.server"}


@pytest.mark.parametrize("front_door", ["cli", "mcp"])
def test_the_cli_and_mcp_never_import_the_lsp_layer(front_door: str) -> None:
    found = {
        str(path.relative_to(REPO)): sorted(used)
        for path, tree in modules(REPO / "server" / front_door)
        if (used := imported_packages(tree) & PROTOCOL_PACKAGES)
    }
    assert found == {}
    assert any(modules(REPO / "server" / front_door))


def test_our_packages_are_imported_by_their_installed_names_only() -> None:
    found = {
        str(path.relative_to(REPO)): sorted(used)
        for path, tree in modules(*OURS, REPO / "tests", REPO / "bench")
        if "fixtures" not in path.parts and ".corpus" not in path.parts
        if (used := imported_packages(tree) & BARE_NAMES)
    }
    assert found == {}
    assert imported_packages(ast.parse("from analyzers.ruff import x\n")) == {"analyzers"}


def our_imports() -> dict[str, set[str]]:
    """Each module of ours (engine and server), and the modules of ours it imports,
    wherever the import stands (a function's, a `TYPE_CHECKING` block's)."""
    names = {}
    for folder in OURS:
        for path in folder.rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names[".".join(("tapps_lsp", *parts))] = path
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        edges = graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in names)
            elif isinstance(node, ast.ImportFrom) and node.module in names:
                for alias in node.names:
                    inner = f"{node.module}.{alias.name}"
                    edges.add(inner if inner in names else node.module)
        edges.discard(name)
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of `graph` (its modules in order), or [] when it has none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> list[str]:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return []
        path.append(name)
        for imported in sorted(graph.get(name, ())):
            if found := visit(imported):
                return found
        path.pop()
        done.add(name)
        return []

    for name in sorted(graph):
        if found := visit(name):
            return found
    return []


def test_our_modules_import_no_circle() -> None:
    """In the server, handlers import the server class's module (lsp.language_server);
    only the module that wires them (lsp.app) imports them all."""
    assert import_cycle(our_imports()) == []
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert import_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []

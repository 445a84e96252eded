"""Shared pieces of the on-save benchmarks: the edited documents, samples and runs.

``onsave.py`` (LSP servers), ``cli_tools.py`` (per-save command-line columns), ``truth.py``
(the project-level mypy reference) and ``soak.py`` all use these.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lsp_client import JsonDict, Publish

# One type error, as the issue says, plus a ruff finding that adds no import: an added
# import is a new dependency, extra work for mypy's engine that the edit does not
# ask for (it was `import os as _bench_os` until 2026-11-21).
INJECTED = (
    '_bench_err: int = "x"  # bench: mypy [assignment]\n'
    '_bench_fstring = f"bench"  # bench: ruff F541\n'
)
RUFF_CODE = "F541"
TYPE_ERROR = "Incompatible types in assignment"
MB = 1024 * 1024


@dataclass
class Doc:
    """One corpus file, its original content and the version counter the client uses."""

    path: Path
    name: str
    original: bytes
    version: int = 0
    # Where the edit goes: "end" (appended, as the protocol says) or "top".
    edit_at: str = "end"

    @property
    def uri(self) -> str:
        return self.path.as_uri()

    @property
    def text(self) -> str:
        return self.original.decode("utf-8")

    @cached_property
    def syntax_error(self) -> bool:
        return not _compiles(self.text)

    @cached_property
    def edit_line(self) -> int:
        """0-based line of the first injected line (the type error): appended at the end
        of the module, or (edit_at "top", or when code at the end may never run) at the
        top of the module's code if the edit still compiles there."""
        if self.edit_at == "end" and not tail_may_be_unreachable(self.original):
            return end_line(self.text)
        at = injection_line(self.original)
        if at is not None and _compiles(insert_lines(self.text, at, INJECTED)):
            return at
        return end_line(self.text)

    @property
    def error_line(self) -> int:
        """0-based line of the injected type error."""
        return self.edit_line

    @property
    def ruff_line(self) -> int:
        """0-based line of the injected ruff finding."""
        return self.edit_line + 1

    @property
    def edited(self) -> str:
        return insert_lines(self.text, self.edit_line, INJECTED)

    def next_version(self) -> int:
        self.version += 1
        return self.version


def injection_line(source: bytes) -> int | None:
    """0-based line of the module's first statement after its docstring and __future__
    imports (None for a syntax error or a module with nothing else).

    Code there always runs. A module's tail may not: rich/_win32_console.py raises
    ImportError off Windows, so mypy treats everything after it as unreachable and would
    never report an error appended at the end.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        decorators: list[ast.expr] = getattr(node, "decorator_list", [])
        return min([node.lineno, *(d.lineno for d in decorators)]) - 1
    return None


def tail_may_be_unreachable(source: bytes) -> bool:
    """Whether the module's top level can raise before its end: a `raise`, or an `if`
    with a branch that raises (rich/_win32_console.py raises ImportError off Windows,
    and mypy then reports nothing after it)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True
    for node in tree.body:
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.If) and any(
            isinstance(inner, ast.Raise) for inner in [*node.body, *node.orelse]
        ):
            return True
    return False


def end_line(text: str) -> int:
    """0-based index of the line that appending a block to ``text`` starts on."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def insert_lines(text: str, line: int, block: str) -> str:
    """``block`` (whole lines) inserted before 0-based ``line``; at or past the end, appended
    on a line of its own."""
    offset = 0
    for _ in range(line):
        found = text.find("\n", offset)
        if found < 0:
            return text + ("\n" if text else "") + block
        offset = found + 1
    return text[:offset] + block + text[offset:]


def _compiles(text: str) -> bool:
    try:
        compile(text, "<edited>", "exec", dont_inherit=True)
    except SyntaxError:
        return False
    return True


@dataclass
class Sample:
    """One measured wait. ``seconds`` is None when it failed (``error`` says why)."""

    file: str
    seconds: float | None
    first_publish: float | None = None
    first_ruff: float | None = None
    publishes: int = 0
    error: str | None = None
    seen: list[JsonDict] | None = None  # on failure: the publishes that did arrive


def diagnostics_at(publish: Publish, line: int, source: str) -> list[JsonDict]:
    return [
        d
        for d in publish.diagnostics
        if source in str(d.get("source", "")).lower()
        and d.get("range", {}).get("start", {}).get("line") == line
    ]


def shows_type_error(publish: Publish, doc: Doc) -> bool:
    found = diagnostics_at(publish, doc.error_line, "mypy")
    return any(TYPE_ERROR in str(d.get("message")) for d in found)


def shows_ruff_finding(publish: Publish, doc: Doc) -> bool:
    found = diagnostics_at(publish, doc.ruff_line, "ruff")
    return any(str(d.get("code")) == RUFF_CODE for d in found)


def version_ok(publish: Publish, version: int) -> bool:
    return publish.version is None or publish.version == version


@dataclass
class ServerRun:
    """Everything measured for one server."""

    name: str
    argv: list[str]
    initialize: list[float] = field(default_factory=list)
    phases: dict[str, list[Sample]] = field(default_factory=dict)
    rss_after_mb: float | None = None
    rss_after_restart_mb: float | None = None
    rss_peak_mb: float = 0.0
    rss_peak_cold_mb: float | None = None  # the cold phase's own peak
    clean_exits: list[bool] = field(default_factory=list)
    leftover_pids: list[int] = field(default_factory=list)
    daemon_pids: list[int] = field(default_factory=list)  # more than one per start: restarts
    shown_messages: list[str] = field(default_factory=list)  # window/showMessage texts
    message_counts: dict[str, int] = field(default_factory=dict)
    truth: list[JsonDict] = field(default_factory=list)  # per edited file, vs project mypy
    error: str | None = None


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)

"""The `docs` step: documentation coverage, the public definitions without a docstring.

What is public follows pydocstyle (and ruff's D1 rules), so the codes mean what they mean
there:
- a module (D100; a package's `__init__.py`, D104) is public unless its file name, or a
  folder between the step's root and it, starts with `_` (`__init__`, `__main__` and
  other dunder names are public); nothing in a private module is counted, as in ruff;
- a class (D101) or function (D103) at module level is public when its name does not
  start with `_`, or, in a module that sets `__all__` to a literal list, when `__all__`
  names it; a class nested in a public class is public (D106) unless its name starts
  with `_`; anything defined inside a function is not;
- a method of a public class is public when its name does not start with `_` (D102), or
  is a dunder: `__init__` (D107) and the magic methods (D105). `__init__` counts as
  documented when its class has a docstring (the class's docstring describes how to
  build one, as the numpy convention has it);
- `@overload` and `@override` functions, and property setters and deleters, are not
  counted: their docstring is elsewhere.
Every definition counted is one of `public`; `documented` are those with a docstring.
A finding (severity information) points at each undocumented one's name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers import pyast
from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.findings import Finding, Severity, Source, Span
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.analyzers.workflows.kinds.analysis import AnalysisKind
from tapps_lsp.analyzers.workflows.kinds.aside import run_aside
from tapps_lsp.analyzers.workflows.kinds.names import name_span
from tapps_lsp.analyzers.workflows.kinds.options import (
    Option,
    percent,
)
from tapps_lsp.analyzers.workflows.sources import read_sources
from tapps_lsp.analyzers.workflows.step import StepInput, StepOutput

# Bumped whenever what counts as public or documented changes.
VERSION = "docs-1"

_WHAT = {
    "D100": "public module",
    "D101": "public class",
    "D102": "public method",
    "D103": "public function",
    "D104": "public package",
    "D105": "magic method",
    "D106": "public nested class",
    "D107": "`__init__`",
}
_SKIPPED_DECORATORS = frozenset({"overload", "override"})


def _codes(value: object) -> bool:
    return isinstance(value, list | tuple) and all(code in _WHAT for code in value)


_SCHEMA = (
    Option("min_coverage", "a percentage from 0 to 100", percent, 0),
    Option("ignore", "a list of codes from D100 to D107", _codes, ()),
)

_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(frozen=True, slots=True)
class Counted:
    """One public definition: its code, whether it has a docstring, and where its name
    is (None for a module)."""

    code: str
    documented: bool
    node: _Definition | None


@dataclass(frozen=True, slots=True)
class DocsKind(AnalysisKind):
    async def version(self, step: StepInput) -> str:
        return VERSION

    async def run(self, step: StepInput) -> StepOutput:
        read = self.options_of(step)
        minimum, ignored = read["min_coverage"], frozenset(read["ignore"])
        sources = await read_sources(step.files, step.settings.max_file_size)
        counts = await run_aside(_document, list(sources.texts.items()), step.root, ignored)
        findings, public, documented, not_parsed = counts
        coverage = round(100 * documented / public, 1) if public else 100.0
        summary: dict[str, Any] = {
            "files": len(sources.texts),
            "public": public,
            "documented": documented,
            "coverage": coverage,
            "minCoverage": minimum,
            "belowMinimum": coverage < minimum,
            "notParsed": not_parsed,
        }
        if sources.refused:
            summary["notReviewed"] = len(sources.refused)
        return StepOutput(findings, summary)


# Findings by path, public definitions, documented ones, files that did not parse.
Documented = tuple[dict[str, tuple[Finding, ...]], int, int, int]


def _document(items: Sequence[tuple[Path, str]], root: Path, ignored: frozenset[str]) -> Documented:
    """Every file's undocumented public definitions (run in analyzers.workflows.kinds.aside)."""
    public = documented = not_parsed = 0
    findings: dict[str, tuple[Finding, ...]] = {}
    for path, text in items:
        found = _count_file(path, text, root)
        if found is None:
            not_parsed += 1
            continue
        kept = [item for item in found if item.code not in ignored]
        public += len(kept)
        documented += sum(item.documented for item in kept)
        missing = _findings(text, kept)
        if missing:
            findings[str(path)] = missing
    return findings, public, documented, not_parsed


def _count_file(path: Path, text: str, root: Path) -> list[Counted] | None:
    """The file's public definitions, or None when it does not parse."""
    try:
        tree = pyast.parse(text, digest=content_hash(text))
    except (SyntaxError, ValueError):
        return None
    if not _public_module(path, root):
        return []
    code = "D104" if path.name == "__init__.py" else "D100"
    return [
        Counted(code, ast.get_docstring(tree) is not None, None),
        *_public_definitions(tree.body, _exported(tree)),
    ]


def public_name(name: str) -> bool:
    return not name.startswith("_") or _dunder(name)


def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _public_module(path: Path, root: Path) -> bool:
    folders = path.parent.relative_to(root).parts if path.is_relative_to(root) else ()
    return public_name(path.stem) and not any(folder.startswith("_") for folder in folders)


def _exported(tree: ast.Module) -> frozenset[str] | None:
    """The names a literal `__all__` lists, or None when the module sets none."""
    for stmt in tree.body:
        targets: list[ast.expr]
        value: ast.expr | None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
            targets, value = [stmt.target], stmt.value
        else:
            continue
        names_all = any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)
        if names_all and isinstance(value, ast.List | ast.Tuple):
            return frozenset(
                e.value
                for e in value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
    return None


def _public_definitions(
    body: Sequence[ast.stmt], exported: frozenset[str] | None
) -> Iterator[Counted]:
    for stmt in body:
        if not isinstance(stmt, _Definition) or _skipped(stmt):
            continue
        public = stmt.name in exported if exported is not None else not stmt.name.startswith("_")
        if not public:
            continue
        if isinstance(stmt, ast.ClassDef):
            yield from _public_class(stmt, "D101")
        else:
            yield Counted("D103", ast.get_docstring(stmt) is not None, stmt)


def _public_class(node: ast.ClassDef, code: str) -> Iterator[Counted]:
    has_docstring = ast.get_docstring(node) is not None
    yield Counted(code, has_docstring, node)
    for stmt in node.body:
        if isinstance(stmt, ast.ClassDef) and not stmt.name.startswith("_"):
            yield from _public_class(stmt, "D106")
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            if _skipped(stmt) or not public_name(stmt.name):
                continue
            documented = ast.get_docstring(stmt) is not None
            if stmt.name == "__init__":
                yield Counted("D107", documented or has_docstring, stmt)
            else:
                yield Counted("D105" if _dunder(stmt.name) else "D102", documented, stmt)


def _skipped(node: _Definition) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id in _SKIPPED_DECORATORS:
            return True
        if isinstance(target, ast.Attribute) and (
            target.attr in _SKIPPED_DECORATORS or target.attr in ("setter", "deleter")
        ):
            return True
    return False


def _findings(text: str, counted: Sequence[Counted]) -> tuple[Finding, ...]:
    lines = split_lines(text)
    found = []
    for item in counted:
        if item.documented:
            continue
        node = item.node
        span = Span.point(0) if node is None else name_span(lines, node.lineno - 1, node.name)
        message = f"Missing docstring in {_WHAT[item.code]}"
        found.append(Finding(Source.DOCS, item.code, message, Severity.INFORMATION, span))
    return tuple(found)


DOCS = DocsKind(name="docs", tool="docs", schema=_SCHEMA)

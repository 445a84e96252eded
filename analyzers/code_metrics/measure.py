"""Code metrics from the standard library's `ast`: logical lines and McCabe complexity.

Both are counted on statements only, so whitespace- and comment-only edits never
change them. Complexity is counted the way ruff's C901 (mccabe) counts it, so the
numbers here agree with what the user sees from ruff.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tapps_lsp.analyzers import pyast


@dataclass(frozen=True, slots=True)
class FunctionMetrics:
    """One function or method. `name` is qualified by its enclosing classes and functions."""

    name: str
    line: int
    complexity: int
    logical_lines: int


@dataclass(frozen=True, slots=True)
class CodeMetrics:
    logical_lines: int
    functions: tuple[FunctionMetrics, ...]


_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def measure(source: str, *, digest: str | None = None) -> CodeMetrics:
    """Measure a module's source. Raises SyntaxError (or ValueError) when it does not parse."""
    tree = pyast.parse(source, digest=digest)
    return CodeMetrics(
        logical_lines=logical_lines(tree),
        functions=tuple(_functions_in(tree.body, scope=())),
    )


def logical_lines(tree: ast.Module) -> int:
    """The number of statements in the module, nested ones included, docstrings excluded."""
    return _count_statements(_without_docstring(tree.body))


def describe_syntax_error(error: SyntaxError | ValueError) -> str:
    """A one-line, human-readable account of why `measure` failed, with a 1-based line."""
    if isinstance(error, SyntaxError) and error.lineno is not None:
        return f"line {error.lineno}: {error.msg}"
    return str(error)


def _functions_in(block: Sequence[ast.stmt], scope: tuple[str, ...]) -> Iterator[FunctionMetrics]:
    for stmt in block:
        if isinstance(stmt, _FunctionNode):
            yield _function_metrics(stmt, scope)
            inner_scope = (*scope, stmt.name)
        elif isinstance(stmt, ast.ClassDef):
            inner_scope = (*scope, stmt.name)
        else:
            inner_scope = scope
        for nested in _nested_blocks(stmt):
            yield from _functions_in(nested, inner_scope)


def _function_metrics(node: _FunctionNode, scope: tuple[str, ...]) -> FunctionMetrics:
    return FunctionMetrics(
        name=".".join((*scope, node.name)),
        line=node.lineno - 1,
        complexity=1 + _decision_points(node.body),
        logical_lines=_count_statements(_without_docstring(node.body)),
    )


def _count_statements(block: Sequence[ast.stmt]) -> int:
    return sum(
        1 + sum(_count_statements(nested) for nested in _nested_blocks(stmt)) for stmt in block
    )


def _decision_points(block: Sequence[ast.stmt]) -> int:
    return sum(
        _own_decision_points(stmt)
        + sum(_decision_points(nested) for nested in _nested_blocks(stmt))
        for stmt in block
    )


def _own_decision_points(stmt: ast.stmt) -> int:
    """Decisions a statement adds by itself, before counting the blocks nested in it.

    Mirrors ruff's mccabe: boolean operators, conditional expressions,
    comprehensions, `with` and `assert` add nothing; a nested function adds 1
    plus its own decisions to the function that contains it.
    """
    match stmt:
        case ast.If() | ast.For() | ast.AsyncFor() | ast.While():
            return 1
        case ast.FunctionDef() | ast.AsyncFunctionDef():
            return 1
        case ast.Try() | ast.TryStar():
            return len(stmt.handlers) + (1 if stmt.orelse else 0)
        case ast.Match():
            return len(stmt.cases) - (1 if _ends_with_catch_all(stmt) else 0)
    return 0


def _ends_with_catch_all(match: ast.Match) -> bool:
    # An unguarded irrefutable last case is the `else` of the match: no extra path.
    last = match.cases[-1]
    return last.guard is None and _is_irrefutable(last.pattern)


def _is_irrefutable(pattern: ast.pattern) -> bool:
    match pattern:
        case ast.MatchAs(pattern=None):
            return True
        case ast.MatchAs(pattern=ast.pattern() as inner):
            return _is_irrefutable(inner)
        case ast.MatchOr(patterns=alternatives):
            return any(_is_irrefutable(alternative) for alternative in alternatives)
    return False


def _nested_blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement blocks directly inside a statement, docstrings left out."""
    match stmt:
        case ast.If() | ast.For() | ast.AsyncFor() | ast.While():
            return [stmt.body, stmt.orelse]
        case ast.With() | ast.AsyncWith():
            return [stmt.body]
        case ast.FunctionDef() | ast.AsyncFunctionDef() | ast.ClassDef():
            return [_without_docstring(stmt.body)]
        case ast.Try() | ast.TryStar():
            handlers = [handler.body for handler in stmt.handlers]
            return [stmt.body, *handlers, stmt.orelse, stmt.finalbody]
        case ast.Match():
            return [case.body for case in stmt.cases]
    return []


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and _is_docstring(body[0]):
        return body[1:]
    return body


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )

"""Which preset a change deserves, from measured facts about the changed files.

The facts, per changed file: how many of its lines changed, its size (logical lines),
the McCabe complexity of the functions whose lines changed, whether its code touches
something security-sensitive (found in the code itself, never in its name: imports of
`subprocess`, `pickle`, crypto and auth modules; calls of `eval`, `exec`, `os.system`;
SQL in string literals), whether tests exist beside it, and its current errors (from the
cache only: recommending runs no tool).

The rules, the first that holds wins:
1. nothing changed: `minimal`;
2. security-sensitive code changed: `full` when a trusted `testCommand` is set, else
   `comprehensive`;
3. a changed function over complexity 10, more than 300 changed lines, or more than 10
   files: `comprehensive`;
4. at most 10 changed lines in at most 2 files, no changed function over complexity 5,
   and no current error: `minimal`;
5. otherwise `standard`.
Confidence is 1.0 for rule 1, 0.9 for 2, 0.8 for 3 and 0.7 for 4 and 5; every rule that
held, and each file without tests beside it, is a reason.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers import pyast
from tapps_lsp.analyzers.admission import read_for_review
from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.code_metrics.measure import CodeMetrics
from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.analyzers.review import Reviewer

SENSITIVE_MODULES = frozenset(
    {
        "subprocess", "pickle", "marshal", "shelve", "dill", "ctypes", "socket",
        "hashlib", "hmac", "secrets", "ssl", "crypt", "cryptography", "Crypto", "nacl",
        "jwt", "jose", "passlib", "bcrypt", "authlib", "oauthlib", "itsdangerous",
        "sqlite3", "psycopg", "psycopg2", "pymysql", "sqlalchemy", "yaml",
    }
)  # fmt: skip
SENSITIVE_CALLS = frozenset({"eval", "exec", "compile", "__import__", "os.system", "os.popen"})
_SQL = re.compile(r"^\s*(select|insert|update|delete)\b.+\b(from|into|set|where)\b", re.I | re.S)
BIG_COMPLEXITY, SMALL_COMPLEXITY = 10, 5
BIG_LINES, SMALL_LINES = 300, 10
BIG_FILES, SMALL_FILES = 10, 2


@dataclass(frozen=True, slots=True)
class FileFacts:
    path: Path
    changed_lines: int
    logical_lines: int
    max_changed_complexity: int
    sensitive: tuple[str, ...]
    has_tests: bool
    errors: int | None  # None: nothing stored for this content yet

    def as_json(self, root: Path) -> dict[str, Any]:
        return {
            "path": _shown(self.path, root),
            "changedLines": self.changed_lines,
            "logicalLines": self.logical_lines,
            "maxChangedComplexity": self.max_changed_complexity,
            "sensitive": list(self.sensitive),
            "hasTests": self.has_tests,
            "errors": self.errors,
        }


@dataclass(frozen=True, slots=True)
class Recommendation:
    preset: str
    confidence: float
    reasons: list[str]
    facts: list[FileFacts] = field(default_factory=list)

    def as_json(self, root: Path) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "confidence": self.confidence,
            "reasons": self.reasons,
            "files": [facts.as_json(root) for facts in self.facts],
        }


async def recommend(
    reviewer: Reviewer, changed: Mapping[Path, frozenset[int] | None]
) -> Recommendation:
    """`changed`: each changed file's changed lines (0-based), None for all of it."""
    facts = [await _facts(reviewer, path, lines) for path, lines in sorted(changed.items())]
    return decide(facts, tests_configured=bool(reviewer.settings.test_command), root=reviewer.root)


def decide(facts: list[FileFacts], *, tests_configured: bool, root: Path) -> Recommendation:
    if not facts:
        return Recommendation("minimal", 1.0, ["nothing changed"])
    untested = [f"no tests beside {_shown(f.path, root)}" for f in facts if not f.has_tests]
    sensitive = [
        f"{_shown(f.path, root)} touches {', '.join(f.sensitive)}" for f in facts if f.sensitive
    ]
    if sensitive:
        preset = "full" if tests_configured else "comprehensive"
        if not tests_configured:
            sensitive.append("no trusted testCommand, so no tests run (else: full)")
        return Recommendation(preset, 0.9, [*sensitive, *untested], facts)
    lines = sum(f.changed_lines for f in facts)
    worst = max(f.max_changed_complexity for f in facts)
    big = []
    if worst > BIG_COMPLEXITY:
        big.append(f"a changed function has complexity {worst} (> {BIG_COMPLEXITY})")
    if lines > BIG_LINES:
        big.append(f"{lines} changed lines (> {BIG_LINES})")
    if len(facts) > BIG_FILES:
        big.append(f"{len(facts)} files changed (> {BIG_FILES})")
    if big:
        return Recommendation("comprehensive", 0.8, [*big, *untested], facts)
    errors = sum(f.errors or 0 for f in facts)
    small = lines <= SMALL_LINES and len(facts) <= SMALL_FILES and worst <= SMALL_COMPLEXITY
    if small and errors == 0:
        reason = f"{lines} changed lines in {len(facts)} file(s), complexity at most {worst}"
        return Recommendation("minimal", 0.7, [reason], facts)
    reasons = [f"{lines} changed lines in {len(facts)} file(s)"]
    if errors:
        reasons.append(f"{errors} error(s) stand in the changed files")
    return Recommendation("standard", 0.7, [*reasons, *untested], facts)


async def _facts(reviewer: Reviewer, path: Path, lines: frozenset[int] | None) -> FileFacts:
    text, _problem = await asyncio.to_thread(read_for_review, path, reviewer.settings.max_file_size)
    text = text or ""
    digest = content_hash(text)
    measured = await reviewer.metrics.of(digest, reviewer.metrics.soon(digest, text))
    metrics = measured if isinstance(measured, CodeMetrics) else CodeMetrics(0, ())
    changed = lines if lines is not None else frozenset(range(text.count("\n") + 1))
    tree, sensitive = await asyncio.to_thread(_scan, text, digest)
    spans = _function_spans(tree) if tree is not None else {}
    complexity = max(
        (
            function.complexity
            for function in metrics.functions
            if any(line in changed for line in spans.get(function.line, ()))
        ),
        default=0,
    )
    report = await reviewer.review_cached(path, text)
    errors = None
    if report is not None:
        errors = sum(1 for f in report.findings if f.severity is Severity.ERROR)
    return FileFacts(
        path,
        len(changed),
        metrics.logical_lines,
        complexity,
        sensitive,
        _has_tests(path, reviewer.root),
        errors,
    )


def _scan(text: str, digest: str) -> tuple[ast.Module | None, tuple[str, ...]]:
    try:
        tree = pyast.parse(text, digest=digest)
    except (SyntaxError, ValueError):
        return None, ()
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        what = _sensitive(node)
        if what is not None:
            found[what] = None
    return tree, tuple(found)


def _sensitive(node: ast.AST) -> str | None:
    """What is security-sensitive about one node: a module it imports, a call it makes,
    SQL in a string; None when nothing."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        tops = [name.split(".")[0] for name in names if name]
        return next((top for top in tops if top in SENSITIVE_MODULES), None)
    if isinstance(node, ast.Call):
        called = _dotted(node.func)
        if called in SENSITIVE_CALLS or called.startswith(("os.exec", "os.spawn")):
            return f"{called}()"
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.match(node.value):
        return "SQL in a string"
    return None


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _function_spans(tree: ast.Module) -> dict[int, range]:
    """Each function's `def` line (0-based) to its lines, decorators included."""
    spans = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            spans[node.lineno - 1] = range(first, (node.end_lineno or node.lineno))
    return spans


def _has_tests(path: Path, root: Path) -> bool:
    """A test module for it: `test_<name>.py` or `<name>_test.py` beside it, or
    `test_<name>.py` anywhere under a `tests` folder of the project. A test file is its
    own test."""
    stem = path.stem
    if stem.startswith("test_") or stem.endswith("_test") or stem == "conftest":
        return True
    names = (f"test_{stem}.py", f"{stem}_test.py")
    if any((path.parent / name).exists() for name in names):
        return True
    for tests in (root / "tests", root / "test"):
        if tests.is_dir() and next(tests.rglob(f"test_{stem}.py"), None) is not None:
            return True
    return False


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)

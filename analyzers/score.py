"""The 0-100 quality score: four sub-scores from findings and code metrics.

Every constant is documented in docs/score.md. The formula version is part of the
cache key, so changing any constant here must bump FORMULA_VERSION.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Sequence
from fractions import Fraction

from tapps_lsp.analyzers.code_metrics.measure import CodeMetrics
from tapps_lsp.analyzers.findings import Finding, ScoreBreakdown, Severity, Source

FORMULA_VERSION: int = 2

PERFECT = 100

# Weights in percent; they sum to 100 so the total stays exact integer arithmetic.
TYPES_WEIGHT = 35
LINT_WEIGHT = 25
COMPLEXITY_WEIGHT = 20
SECURITY_WEIGHT = 20

# Densities are per logical line, but never over fewer than this many lines, so
# one finding in a ten-line file costs what it costs in a twenty-line one.
MIN_LOGICAL_LINES = 20

# Points lost per unit of density (weighted findings per logical line).
TYPES_SCALE = 500
LINT_SCALE = 100
SECURITY_SCALE = 500

RUFF_ERROR_WEIGHT = 5
RUFF_OTHER_WEIGHT = 1

COMPLEXITY_THRESHOLD = 10
POINTS_PER_EXCESS_COMPLEXITY = 5
POINTS_PER_DESIGN_FINDING = 5
LARGE_FILE_LOGICAL_LINES = 1000
LOGICAL_LINES_PER_SIZE_POINT = 20

SECURITY_FAMILY = "S"
# These restate the measured cyclomatic complexity; counting them again would
# make the score depend on the user's thresholds and punish one function twice.
COMPLEXITY_DUPLICATE_CODES = frozenset({"C901", "PLR0912"})
# pylint's design checks (too many returns, arguments, statements, locals, ...)
# and nesting depth: structure that cyclomatic complexity does not see.
DESIGN_CODE_PREFIX = "PLR09"
DESIGN_EXTRA_CODES = frozenset({"PLR1702"})

_FAMILY = re.compile(r"[A-Z]+")


def rule_family(code: str | None) -> str:
    """The linter prefix of a rule code: "S" for "S307", "SIM" for "SIM108", "" for None."""
    if code is None:
        return ""
    found = _FAMILY.match(code)
    return found.group() if found else ""


def compute_score(
    metrics: CodeMetrics | None,
    findings: Sequence[Finding],
    *,
    syntax_error: str | None = None,
    unavailable: Collection[Source] = (),
) -> ScoreBreakdown:
    """Score one file from its metrics and the ruff and mypy findings on the same content.

    `syntax_error` (a description such as "line 3: invalid syntax") or missing
    metrics give a breakdown with no scores and the reason. A tool in `unavailable`
    (disabled, missing or failed) gives its sub-scores None, not a perfect mark, and
    the total is the weighted mean of the sub-scores that remain.
    """
    if syntax_error is not None:
        detail = f" ({syntax_error})" if syntax_error else ""
        return _unscored(metrics, f"the file has a syntax error{detail}")
    if metrics is None:
        return _unscored(None, "the file could not be measured")
    lines = metrics.logical_lines
    ruff = [f for f in findings if f.source is Source.RUFF]
    types = None
    if Source.MYPY not in unavailable:
        types = _density_score(_count_type_errors(findings), TYPES_SCALE, lines)
    lint = security = None
    if Source.RUFF not in unavailable:
        lint = _density_score(_ruff_weight(f for f in ruff if _is_lint(f.code)), LINT_SCALE, lines)
        security = _density_score(
            _ruff_weight(f for f in ruff if _is_security(f.code)), SECURITY_SCALE, lines
        )
    complexity = _complexity_score(metrics, sum(1 for f in ruff if _is_design(f.code)))
    return ScoreBreakdown(
        total=_weighted_total(types, lint, complexity, security),
        types=types,
        lint=lint,
        complexity=complexity,
        security=security,
        logical_lines=lines,
        formula_version=FORMULA_VERSION,
    )


def format_score(score: ScoreBreakdown) -> str:
    if score.total is None:
        return f"No quality score: {score.reason or 'the file could not be scored'}"
    return (
        f"Quality {score.total}/100 · types {_shown(score.types)} · lint {_shown(score.lint)}"
        f" · complexity {_shown(score.complexity)} · security {_shown(score.security)}"
    )


def _shown(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _unscored(metrics: CodeMetrics | None, reason: str) -> ScoreBreakdown:
    return ScoreBreakdown(
        total=None,
        types=None,
        lint=None,
        complexity=None,
        security=None,
        logical_lines=metrics.logical_lines if metrics is not None else 0,
        formula_version=FORMULA_VERSION,
        reason=reason,
    )


def _count_type_errors(findings: Iterable[Finding]) -> int:
    # mypy notes only explain an error; counting them would charge it twice.
    return sum(1 for f in findings if f.source is Source.MYPY and f.severity is Severity.ERROR)


def _ruff_weight(findings: Iterable[Finding]) -> int:
    return sum(
        RUFF_ERROR_WEIGHT if f.severity is Severity.ERROR else RUFF_OTHER_WEIGHT for f in findings
    )


def _is_security(code: str | None) -> bool:
    return rule_family(code) == SECURITY_FAMILY


def _restates_complexity(code: str | None) -> bool:
    return code in COMPLEXITY_DUPLICATE_CODES


def _is_design(code: str | None) -> bool:
    if code is None or _restates_complexity(code):
        return False
    return code.startswith(DESIGN_CODE_PREFIX) or code in DESIGN_EXTRA_CODES


def _is_lint(code: str | None) -> bool:
    return not (_is_security(code) or _is_design(code) or _restates_complexity(code))


def _density_score(weighted_count: int, scale: int, lines: int) -> int:
    return _clamp_down(PERFECT - Fraction(scale * weighted_count, max(lines, MIN_LOGICAL_LINES)))


def _complexity_score(metrics: CodeMetrics, design_findings: int) -> int:
    excess = sum(max(0, f.complexity - COMPLEXITY_THRESHOLD) for f in metrics.functions)
    oversize = max(0, metrics.logical_lines - LARGE_FILE_LOGICAL_LINES)
    penalty = (
        POINTS_PER_EXCESS_COMPLEXITY * excess
        + POINTS_PER_DESIGN_FINDING * design_findings
        + Fraction(oversize, LOGICAL_LINES_PER_SIZE_POINT)
    )
    return _clamp_down(PERFECT - penalty)


def _weighted_total(
    types: int | None, lint: int | None, complexity: int, security: int | None
) -> int:
    parts = [
        (TYPES_WEIGHT, types),
        (LINT_WEIGHT, lint),
        (COMPLEXITY_WEIGHT, complexity),
        (SECURITY_WEIGHT, security),
    ]
    present = [(weight, value) for weight, value in parts if value is not None]
    weighted = sum(weight * value for weight, value in present)
    return _clamp_down(Fraction(weighted, sum(weight for weight, _ in present)))


def _clamp_down(value: Fraction) -> int:
    # Rounding down keeps 100 for a file with nothing counted against it.
    return max(0, min(PERFECT, math.floor(value)))

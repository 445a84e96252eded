"""Fitting a JSON answer within `maxTokens`, and the budget levels.

The answer keeps its fixed part (summaries, scores) and as many findings as fit, most
severe first, then by file and rule (source and code), then by position. Its `budget`
field says what the full answer would have cost, what this one costs, the level, what
was left out and, from yellow on, how to narrow the request."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tapps_lsp.analyzers.budget.estimate import estimate_tokens
from tapps_lsp.analyzers.budget.floor import SEVERITIES
from tapps_lsp.analyzers.findings import Severity

# (share of the budget the full answer passes, level), highest first.
LEVELS = ((0.9, "red"), (0.75, "orange"), (0.5, "yellow"))
GREEN = "green"
# The files named in `omitted.byFile` (most left out first); the rest are counted.
OMITTED_FILES_SHOWN = 10

Build = Callable[[list[dict[str, Any]]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Narrowing:
    """How a front door spells the ways to narrow a request, for the hint."""

    paths: str | None  # "fewer 'uris'", "fewer PATHs"; None for one file
    severity: str  # "minSeverity", "--min-severity"
    # "since", "--since"; None while the command has no such argument.
    since: str | None = None


def level(full_tokens: int, max_tokens: int) -> str:
    share = full_tokens / max_tokens
    return next((name for bound, name in LEVELS if share > bound), GREEN)


def hint(narrowing: Narrowing, ordered: Sequence[dict[str, Any]], kept: int) -> str:
    """The ways to narrow: the paths, a floor (see `suggested_floor`), `since`."""
    ways = [narrowing.paths] if narrowing.paths is not None else []
    floor = suggested_floor(ordered, kept)
    if floor is not None:
        ways.append(f"{narrowing.severity} {floor.name.lower()}")
    if narrowing.since is not None:
        ways.append(f"{narrowing.since} REV (only changed lines)")
    if len(ways) == 1:
        return f"narrow the request: {ways[0]}"
    return "narrow the request: " + ", ".join(ways[:-1]) + " or " + ways[-1]


def suggested_floor(ordered: Sequence[dict[str, Any]], kept: int) -> Severity | None:
    """The least severe floor that leaves something out and whose findings all fit in
    the `kept` that did (`error` when none does); None when every finding is an error."""
    severities = [Severity.parse(f["severity"]) for f in ordered]
    least = max(severities, default=Severity.ERROR)
    for floor in sorted(Severity, reverse=True):
        if floor < least and sum(1 for s in severities if s <= floor) <= kept:
            return floor
    return Severity.ERROR if least > Severity.ERROR else None


def order(
    findings: Sequence[dict[str, Any]], file_of: Callable[[dict[str, Any]], str]
) -> list[dict[str, Any]]:
    """Most severe first; within a severity grouped by file, then rule, then position."""
    return sorted(
        findings,
        key=lambda f: (
            SEVERITIES.index(f["severity"]),
            file_of(f),
            f["source"],
            f["code"] or "",
            f["line"],
            f["column"],
        ),
    )


def fit(
    findings: Sequence[dict[str, Any]],
    max_tokens: int,
    build: Build,
    *,
    file_of: Callable[[dict[str, Any]], str],
    narrowing: Narrowing,
) -> dict[str, Any]:
    """`build(kept findings)` with a `budget` field, for the most findings that fit in
    `max_tokens`. When even no finding does not fit (the fixed part alone is larger),
    that smallest answer is returned and its `estimatedTokens` says by how much."""
    ordered = order(findings, file_of)
    full_tokens = estimate_tokens(build(ordered))
    budget_level = level(full_tokens, max_tokens)

    def answer(count: int, files_shown: int = OMITTED_FILES_SHOWN) -> dict[str, Any]:
        result = build(ordered[:count])
        # The budget field's own length can cut findings below 90 %: a cut is always red.
        answer_level = budget_level if count == len(ordered) else "red"
        result["budget"] = {
            "maxTokens": max_tokens,
            "estimatedTokens": 0,
            "fullTokens": full_tokens,
            "level": answer_level,
            "kept": count,
            "omitted": _omitted(ordered[count:], file_of, files_shown),
        }
        if answer_level != GREEN:
            result["budget"]["hint"] = hint(narrowing, ordered, count)
        return _settled(result)

    low, high = 0, len(ordered)
    if estimate_tokens(answer(high)) <= max_tokens:
        return answer(high)
    while low < high:  # the largest count that fits; answer(low) fits or low == 0
        middle = (low + high + 1) // 2
        if estimate_tokens(answer(middle)) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    best = answer(low)
    shown = OMITTED_FILES_SHOWN
    while low == 0 and shown > 0 and best["budget"]["estimatedTokens"] > max_tokens:
        shown -= 1
        best = answer(0, shown)
    return best


def _omitted(
    left_out: Sequence[dict[str, Any]], file_of: Callable[[dict[str, Any]], str], files_shown: int
) -> dict[str, Any]:
    by_severity = Counter(f["severity"] for f in left_out)
    by_file = Counter(file_of(f) for f in left_out)
    named = sorted(by_file.items(), key=lambda entry: (-entry[1], entry[0]))[:files_shown]
    return {
        "total": len(left_out),
        "bySeverity": {name: by_severity[name] for name in SEVERITIES if by_severity[name]},
        "byFile": dict(named),
        "otherFiles": len(by_file) - len(named),
    }


def _settled(result: dict[str, Any]) -> dict[str, Any]:
    """`estimatedTokens` set to the answer's own estimate (the number counts itself)."""
    budget = result["budget"]
    for _ in range(4):
        tokens = estimate_tokens(result)
        if budget["estimatedTokens"] == tokens:
            break
        budget["estimatedTokens"] = tokens
    return result

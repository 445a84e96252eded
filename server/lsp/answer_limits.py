"""The `maxTokens` and `minSeverity` arguments every review command takes
(analyzers.budget), and how the commands spell the ways to narrow a request."""

from __future__ import annotations

from tapps_lsp.analyzers.budget.answers import Limits
from tapps_lsp.analyzers.budget.fit import Narrowing
from tapps_lsp.analyzers.budget.floor import SEVERITIES
from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.server.lsp.arguments import Arguments, invalid


def read_limits(args: Arguments) -> Limits:
    max_tokens = args.optional_int("maxTokens")
    name = args.optional_string("minSeverity")
    if name is not None and name not in SEVERITIES:
        raise invalid(
            args.command, f"'minSeverity' must be one of {', '.join(SEVERITIES)}, got {name!r}"
        )
    return Limits(max_tokens, Severity.parse(name) if name is not None else None)


def narrowing(paths: str | None) -> Narrowing:
    """`paths`: the command's own way to ask for fewer files (`fewer 'uris'`), None for one file."""
    # No review command takes `since` yet: the hint offers it once one does.
    return Narrowing(paths, "minSeverity")

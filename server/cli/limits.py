"""`check --min-severity LEVEL` and `check --format json --max-tokens N`
(analyzers.budget): the floor applies to every format and to the exit code; the token
budget prints the compact answer that `tapps.reviewFiles` gives with `maxTokens`."""

from __future__ import annotations

import argparse
from dataclasses import replace

from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.analyzers.budget.answers import Limits, batch_answer
from tapps_lsp.analyzers.budget.estimate import compact
from tapps_lsp.analyzers.budget.fit import Narrowing
from tapps_lsp.analyzers.budget.floor import SEVERITIES, floor_files, floor_summary
from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.server.cli.formats.common import CheckRun


def floor_item(item: BatchFile, min_severity: str | None) -> BatchFile:
    """One file's outcome without the findings below `min_severity`, as it is shown."""
    if min_severity is None:
        return item
    return floor_files([item], Severity.parse(min_severity))[0]


def floored(run: CheckRun, min_severity: str | None) -> CheckRun:
    """The run without the findings below `min_severity` (None: all of them), the
    baselined ones too; after the baseline is applied, which sees every finding."""
    if min_severity is None:
        return run
    floor = Severity.parse(min_severity)
    files = floor_files(run.files, floor)
    baselined = {
        path: tuple(f for f in found if f.severity <= floor)
        for path, found in run.baselined.items()
    }
    summary = floor_summary(run.summary, files)
    return replace(run, files=files, summary=summary, baselined=baselined)


def budgeted_json(run: CheckRun, max_tokens: int) -> str:
    """`{summary..., findings: {..., list}, budget}` in compact JSON, within `max_tokens`
    by the estimator (the run is already floored)."""
    narrowing = Narrowing("fewer PATHs", "--min-severity", "--since")
    answer = batch_answer(run.summary, run.files, run.cwd, Limits(max_tokens), narrowing)
    return compact(answer) + "\n"


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-severity",
        choices=SEVERITIES,
        default=None,
        help="leave out the findings less severe than this, from every format and from "
        "the exit code (scores still count them)",
    )
    parser.add_argument(
        "--max-tokens",
        type=_positive,
        default=None,
        metavar="N",
        help="with --format json: a compact answer of at most N tokens (4 characters a "
        "token), the most severe findings first, with counts of what was left out",
    )


def limit_problem(output_format: str, max_tokens: int | None) -> str | None:
    """Why the flags do not go together, or None."""
    if max_tokens is not None and output_format != "json":
        return "--max-tokens needs --format json"
    return None


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number

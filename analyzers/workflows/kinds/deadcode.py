"""The `deadcode` step: unused code, found by vulture over every file the step covers.

vulture runs as a library in a worker thread: it parses the files and never runs them,
so it needs no trust. A name used in any covered file counts as used in all of them, so
the step is as good as its `paths` are wide. Each item is a hint at its name, marked
unnecessary (editors fade it), with vulture's own code (`V103` for an unused function,
as `# noqa: V103` names it) and message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vulture
import vulture.core
import vulture.utils

from tapps_lsp.analyzers import pyast
from tapps_lsp.analyzers.findings import Finding, Severity, Source, Span
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.analyzers.workflows.kinds.analysis import AnalysisKind
from tapps_lsp.analyzers.workflows.kinds.aside import run_aside
from tapps_lsp.analyzers.workflows.kinds.names import name_span
from tapps_lsp.analyzers.workflows.kinds.options import (
    Option,
    string_list,
)
from tapps_lsp.analyzers.workflows.sources import read_sources
from tapps_lsp.analyzers.workflows.step import StepInput, StepOutput

log = logging.getLogger(__name__)

# Bumped whenever the options or what is reported change.
_SCHEMA_VERSION = "deadcode-1"


def _confidence(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100


_SCHEMA = (
    Option("min_confidence", "an integer from 0 to 100", _confidence, 60),
    Option("ignore_names", 'a list of names or patterns, such as ["visit_*"]', string_list, ()),
    Option(
        "ignore_decorators",
        'a list of decorators or patterns, such as ["@app.route"]',
        string_list,
        (),
    ),
)


@dataclass(frozen=True, slots=True)
class Scan:
    """What vulture found: its items by path, and the files it could not parse."""

    items: dict[Path, list[Any]]
    not_parsed: int


@dataclass(frozen=True, slots=True)
class DeadcodeKind(AnalysisKind):
    async def version(self, step: StepInput) -> str:
        return f"vulture {vulture.__version__}; {_SCHEMA_VERSION}"

    async def run(self, step: StepInput) -> StepOutput:
        read = self.options_of(step)
        sources = await read_sources(step.files, step.settings.max_file_size)
        findings, types, not_parsed = await run_aside(_dead_code, sources.texts, read)
        summary: dict[str, Any] = {
            "files": len(sources.texts),
            "findings": sum(types.values()),
            "filesWithFindings": len(findings),
            "types": dict(sorted(types.items())),
            "minConfidence": read["min_confidence"],
            "notParsed": not_parsed,
        }
        if sources.refused:
            summary["notReviewed"] = len(sources.refused)
        return StepOutput(findings, summary)


def _dead_code(
    texts: Mapping[Path, str], read: Mapping[str, Any]
) -> tuple[dict[str, tuple[Finding, ...]], dict[str, int], int]:
    """Findings by path, counts by type, files that did not parse (run in
    analyzers.workflows.kinds.aside)."""
    scan = _scan(texts, read)
    findings: dict[str, tuple[Finding, ...]] = {}
    types: dict[str, int] = {}
    for path, items in scan.items.items():
        lines = split_lines(texts[path])
        findings[str(path)] = tuple(_finding(item, lines) for item in items)
        for item in items:
            types[item.typ] = types.get(item.typ, 0) + 1
    return findings, types, scan.not_parsed


def _scan(texts: Mapping[Path, str], read: Mapping[str, Any]) -> Scan:
    finder = vulture.Vulture(
        verbose=False,
        ignore_names=list(read["ignore_names"]),
        ignore_decorators=list(read["ignore_decorators"]),
    )
    # vulture prints a file's syntax error to stderr itself; we count them instead.
    finder._log = _log_quietly
    not_parsed = 0
    for path, text in texts.items():
        finder.exit_code = vulture.utils.ExitCode.NoDeadCode
        # vulture calls ast.parse itself: no other thread may parse meanwhile (pyast).
        with pyast.exclusive():
            finder.scan(text, filename=path)
        not_parsed += finder.exit_code == vulture.utils.ExitCode.InvalidInput
    with pyast.exclusive():
        # No paths: only vulture's whitelists for the modules the files import (the
        # names a library's users never call themselves, such as `Thread.daemon`).
        finder.scavenge([])
    items: dict[Path, list[Any]] = {}
    for item in finder.get_unused_code(min_confidence=read["min_confidence"]):
        if item.filename in texts:
            items.setdefault(item.filename, []).append(item)
    return Scan(items, not_parsed)


def _log_quietly(*args: object, file: object = None, force: bool = False) -> None:
    log.debug("vulture: %s", " ".join(map(str, args)))


def _finding(item: Any, lines: list[str]) -> Finding:
    first, last = item.first_lineno - 1, item.last_lineno - 1
    if item.typ == "unreachable_code" and last < len(lines):
        start = lines[first]
        span = Span(first, len(start) - len(start.lstrip()), last, len(lines[last]))
    else:
        span = name_span(lines, first, item.name, last_line=last)
    return Finding(
        Source.DEADCODE,
        vulture.core.ERROR_CODES.get(item.typ, item.typ),
        f"{item.message} ({item.confidence}% confidence)",
        Severity.HINT,
        span,
        unnecessary=True,
    )


DEADCODE = DeadcodeKind(name="deadcode", tool="deadcode", schema=_SCHEMA)

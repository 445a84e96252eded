"""pytest's JUnit XML (`junit_family=xunit1`, which alone gives each test's file and
line) read into the `tests` step's counts and findings.

pytest writes `file` relative to its rootdir and `line` 0-based: the line of the test
function's first line, its first decorator when it has one. A failed or errored test is
one finding there; the line it failed on (the traceback's last entry) is the finding's
related location.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from tapps_lsp.analyzers.findings import Finding, Related, Severity, Source, Span
from tapps_lsp.analyzers.text import split_lines

# pytest writes a few KB per failure; past this it is no report we can use.
MAX_XML_BYTES = 64 * 2**20
MAX_MESSAGE_CHARS = 500
# The last line of a failure's text: `path:lineno: ExceptionType`.
_CRASH = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<what>[\w.]+)$")
_CODES = {"failure": "failed", "error": "error"}


class JunitUnreadable(ValueError):
    """The JUnit XML is missing, too large, or not XML."""


@dataclass(slots=True)
class JunitResults:
    """What the report counts, and a finding per failed or errored test by absolute path."""

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    findings: dict[str, list[Finding]] = field(default_factory=dict)


def read_junit(xml: Path, cwd: Path) -> JunitResults:
    """The report at `xml`, of a pytest run started in `cwd` (blocking: a worker thread's)."""
    try:
        size = xml.stat().st_size
    except OSError:
        raise JunitUnreadable(f"pytest wrote no JUnit XML ({xml.name})") from None
    if size > MAX_XML_BYTES:
        raise JunitUnreadable(f"pytest's JUnit XML is {size} bytes, more than we read")
    try:
        # Our temporary file, written by the trusted step's own pytest: no untrusted XML.
        root = ET.parse(xml).getroot()  # noqa: S314
    except ET.ParseError as exc:
        raise JunitUnreadable(f"pytest's JUnit XML is not XML: {exc}") from None
    results = JunitResults()
    for suite in root.iter("testsuite"):
        results.tests += _count(suite, "tests")
        results.failures += _count(suite, "failures")
        results.errors += _count(suite, "errors")
        results.skipped += _count(suite, "skipped")
    lines = _Lines()
    for case in root.iter("testcase"):
        for outcome in case:
            if outcome.tag in _CODES and case.get("file"):
                path = locate(case.get("file", ""), cwd)
                finding = _finding(case, outcome, path, cwd, lines)
                results.findings.setdefault(str(path), []).append(finding)
    return results


def locate(relative: str, cwd: Path) -> Path:
    """A path pytest wrote relative to its rootdir, which is `cwd` or a folder above it
    (where its config file is), and which the report does not name."""
    if os.path.isabs(relative):
        return Path(relative)
    for base in (cwd, *cwd.parents):
        if (base / relative).is_file():
            return base / relative
    return cwd / relative


def _finding(
    case: ET.Element, outcome: ET.Element, path: Path, cwd: Path, lines: _Lines
) -> Finding:
    line = _int(case.get("line"))
    text = outcome.text or ""
    detail = _first_line(outcome.get("message", ""))
    if line is None:  # no test function: the module could not be collected
        detail = f"could not be collected: {_first_error_line(text) or detail}"
    related: tuple[Related, ...] = ()
    crash = _crash(text, cwd)
    if crash is not None and (crash[0], crash[1]) != (path, line):
        related = (Related(str(crash[0]), Span.point(crash[1]), f"{crash[2]} raised here"),)
    return Finding(
        source=Source.TESTS,
        code=_CODES[outcome.tag],
        message=f"{_test_name(case)}: {detail or outcome.tag}"[:MAX_MESSAGE_CHARS],
        severity=Severity.ERROR,
        span=lines.span(path, line or 0),
        related=related,
    )


def _test_name(case: ET.Element) -> str:
    """`TestClass.test_name[param]`: the classname without its module, then the name."""
    name = case.get("name", "?")
    module = Path(case.get("file", "")).with_suffix("").as_posix().replace("/", ".")
    owner = case.get("classname", "")
    if owner.startswith(module):
        owner = owner[len(module) :].lstrip(".")
    return f"{owner}.{name}" if owner else name


def _crash(text: str, cwd: Path) -> tuple[Path, int, str] | None:
    """Where the failure was raised: pytest's traceback ends `path:lineno: Type`, the path
    relative to where pytest started."""
    last = next((line for line in reversed(split_lines(text)) if line.strip()), "")
    found = _CRASH.match(last)
    if found is None:
        return None
    path = Path(found["path"])
    return (path if path.is_absolute() else cwd / path, int(found["line"]) - 1, found["what"])


def _first_error_line(text: str) -> str:
    """The first `E   ...` line of a traceback: the exception and its message."""
    for line in split_lines(text):
        if line.startswith("E "):
            return line[1:].strip()
    return ""


def _first_line(text: str) -> str:
    return split_lines(text.strip())[0] if text.strip() else ""


def _count(element: ET.Element, name: str) -> int:
    return _int(element.get(name)) or 0


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class _Lines:
    """The test files' lines, read once each, for a finding's span over its line."""

    def __init__(self) -> None:
        self._files: dict[Path, list[str]] = {}

    def span(self, path: Path, line: int) -> Span:
        if path not in self._files:
            try:
                self._files[path] = split_lines(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                self._files[path] = []
        rows = self._files[path]
        if line >= len(rows):
            return Span.point(line)
        text = rows[line]
        return Span(line, len(text) - len(text.lstrip()), line, len(text))

"""The workflow steps of their own (security, complexity, docs, deadcode) over small real
projects, with the real ruff and vulture."""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.analyzers.findings import Finding, Severity, Source, Span
from tapps_lsp.analyzers.ruff import ruff_command
from tapps_lsp.analyzers.settings import CacheSettings, ReviewSettings, ToolSettings
from tapps_lsp.analyzers.workflows.kinds.complexity import COMPLEXITY
from tapps_lsp.analyzers.workflows.kinds.deadcode import DEADCODE
from tapps_lsp.analyzers.workflows.kinds.docs import DOCS
from tapps_lsp.analyzers.workflows.kinds.security import SECURITY, selects
from tapps_lsp.analyzers.workflows.step import StepFailed, StepInput, StepKind, StepOutput
from tapps_lsp.analyzers.workspace import make_reviewer, open_store

Run = Callable[..., Awaitable[StepOutput]]


def write(root: Path, files: Mapping[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        paths.append(path)
    return [path for path in paths if path.suffix == ".py"]


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[Run]:
    """Runs a kind over files written to tmp_path, with a real reviewer (no cache)."""
    reviewers = []

    async def run_kind(
        kind: StepKind,
        files: Mapping[str, str],
        options: Mapping[str, Any] | None = None,
        ruff: ToolSettings | None = None,
    ) -> StepOutput:
        settings = ReviewSettings(
            cache=CacheSettings(enabled=False), ruff=ruff or ToolSettings(), timeout=30.0
        )
        reviewer = make_reviewer(tmp_path, settings, open_store(tmp_path, settings))
        reviewers.append(reviewer)
        step = StepInput(
            root=tmp_path,
            files=tuple(write(tmp_path, files)),
            options=options or {},
            settings=settings,
            reviewer=reviewer,
            trusted=False,
            timeout=30.0,
        )
        assert kind.problems(step.options) == []
        assert await kind.version(step)
        return await kind.run(step)

    yield run_kind
    for reviewer in reviewers:
        await reviewer.close()


def found(output: StepOutput, path: Path) -> list[tuple[str | None, int]]:
    return [(f.code, f.span.start_line) for f in output.findings.get(str(path), ())]


def every(output: StepOutput) -> list[Finding]:
    return [finding for found in output.findings.values() for finding in found]


# -- security ---------------------------------------------------------------------------

RISKY = """\
import pickle
import subprocess


def run(command, blob):
    assert command
    subprocess.call("ls " + command, shell=True)
    if not command == "x":
        return pickle.loads(blob)


password = "hunter2"
"""


async def test_security_adds_the_s_rules_and_keeps_the_projects_ignores(
    run: Run, tmp_path: Path
) -> None:
    project = {
        "pyproject.toml": '[tool.ruff.lint]\nselect = ["E", "F"]\nignore = ["S101", "S"]\n',
        "risky.py": RISKY,
    }
    output = await run(SECURITY, project)
    # S101 is ignored by name, so it stays ignored; the bare `S` does not switch S off;
    # SIM201 (`not ==`) is no S rule, E and F findings are not this step's.
    assert found(output, tmp_path / "risky.py") == [("S602", 6), ("S301", 8), ("S105", 11)]
    assert {f.source for f in every(output)} == {Source.SECURITY}
    shell = every(output)[0]
    assert shell.span == Span(6, 4, 6, 19) and shell.url and "S602" not in shell.message
    assert output.summary == {
        "files": 1,
        "findings": 3,
        "filesWithFindings": 1,
        "rules": {"S105": 1, "S301": 1, "S602": 1},
    }


async def test_security_options_select_more_and_ignore(run: Run, tmp_path: Path) -> None:
    options = {"select": ["S", "SIM"], "ignore": ["S3"]}
    output = await run(SECURITY, {"risky.py": RISKY}, options)
    codes = [code for code, _ in found(output, tmp_path / "risky.py")]
    assert codes == ["S101", "S602", "SIM201", "S105"]


async def test_security_without_ruff_fails_for_good(run: Run) -> None:
    with pytest.raises(StepFailed) as failed:
        await run(SECURITY, {"a.py": "x = 1\n"}, ruff=ToolSettings(path="/nonexistent/ruff"))
    assert not failed.value.transient
    assert "/nonexistent/ruff" in failed.value.message


def test_a_selector_covers_its_linters_rules_only() -> None:
    assert selects("S", "S101") and selects("S1", "S101") and selects("S101", "S101")
    assert not selects("S", "SIM101") and not selects("S10", "S110")
    assert selects("PL", "PLR0913") and selects("C", "C901") and not selects("E", "ERA001")


def test_security_options_are_checked() -> None:
    assert SECURITY.problems({"select": "S", "ignore": ["s101"], "severity": 1}) == [
        '`select` must be a non-empty list of ruff rule codes or prefixes, such as ["S"] or '
        '["S", "B"]',
        '`ignore` must be a list of ruff rule codes or prefixes, such as ["S101"]',
        "unknown option `severity` (this step takes `select`, `ignore`)",
    ]
    assert SECURITY.problems({"select": ["ALL"]}) != []
    assert SECURITY.problems({"select": ["S", "B"], "ignore": []}) == []


# -- complexity -------------------------------------------------------------------------

BRANCHES = "\n".join(f"    if x == {n}:\n        return {n}" for n in range(11))
COMPLEX = f'''\
def simple(x):
    return x


class Shape:
    @staticmethod
    def busy(x):
        """Eleven ifs: complexity 12."""
{textwrap.indent(BRANCHES, "    ")}
        return -1
'''


async def test_complexity_reports_what_ruff_c901_reports(run: Run, tmp_path: Path) -> None:
    files = {"shape.py": COMPLEX, "broken.py": "def (:\n"}
    output = await run(COMPLEXITY, files)
    [busy] = every(output)
    assert (busy.code, busy.source, busy.severity) == ("C901", Source.COMPLEXITY, Severity.WARNING)
    assert busy.message == "`busy` is too complex (12 > 10)"
    assert busy.span == Span(6, 8, 6, 12)
    assert output.summary == {
        "files": 2,
        "functions": 2,
        "overMax": 1,
        "max": 10,
        "maxSeen": 12,
        "mostComplex": "Shape.busy",
        "notParsed": 1,
    }
    flags = ["check", "--isolated", "--select", "C901", "--output-format", "json", "--no-cache"]
    ruff = subprocess.run(
        [*ruff_command(ToolSettings()), *flags, str(tmp_path / "shape.py")],
        capture_output=True,
        check=False,
    )
    [record] = json.loads(ruff.stdout)
    assert record["message"] == busy.message
    assert (record["location"]["row"] - 1, record["location"]["column"] - 1) == (6, 8)


async def test_complexity_max_and_max_lines(run: Run, tmp_path: Path) -> None:
    output = await run(COMPLEXITY, {"shape.py": COMPLEX}, {"max": 12, "maxLines": 1})
    assert [(f.code, f.message) for f in every(output)] == [
        ("TAPPS-LEN", "`busy` is too long (23 > 1 lines)")
    ]
    assert output.summary["overMax"] == 0 and output.summary["overMaxLines"] == 1


def test_complexity_options_are_checked() -> None:
    assert COMPLEXITY.problems({"max": 0, "max_lines": True, "maxComplexity": 3}) == [
        "`max` must be an integer above 0",
        "`max_lines` must be an integer above 0",
        "unknown option `maxComplexity` (this step takes `max`, `max_lines`)",
    ]


# -- docs -------------------------------------------------------------------------------

DOCUMENTED_IN_PART = '''\
"""A module with a docstring."""

from typing import overload


class Point:
    def __init__(self):
        pass

    def __repr__(self):
        return "Point()"

    def move(self):
        """Move it."""

    def _hidden(self):
        pass

    @property
    def x(self):
        """The x."""

    @x.setter
    def x(self, value):
        pass

    class Inner:
        pass


@overload
def size(x: int) -> int: ...
def size(x):
    def helper():
        pass


def _private():
    pass
'''

LISTED = '"""Exports."""\n__all__ = ["shown"]\ndef shown(): pass\ndef other(): pass\n'


async def test_docs_counts_the_public_definitions(run: Run, tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/geometry.py": DOCUMENTED_IN_PART,
        "pkg/listed.py": LISTED,
        "pkg/_internal.py": "def hidden(): pass\n",
        "_tools/script.py": "def hidden(): pass\n",
        "pkg/broken.py": "class (:\n",
    }
    output = await run(DOCS, files)
    assert found(output, tmp_path / "pkg/__init__.py") == [("D104", 0)]
    assert found(output, tmp_path / "pkg/geometry.py") == [
        ("D101", 5),
        ("D107", 6),
        ("D105", 9),
        ("D106", 26),
        ("D103", 32),
    ]
    assert found(output, tmp_path / "pkg/listed.py") == [("D103", 2)]
    size = every(output)[-2]
    assert size.message == "Missing docstring in public function"
    assert (size.span, size.severity, size.source) == (
        Span(32, 4, 32, 8),
        Severity.INFORMATION,
        Source.DOCS,
    )
    # geometry: the module, move and x are documented; listed: the module.
    assert output.summary == {
        "files": 6,
        "public": 11,
        "documented": 4,
        "coverage": 36.4,
        "minCoverage": 0,
        "belowMinimum": False,
        "notParsed": 1,
    }


async def test_docs_init_is_documented_by_its_class(run: Run) -> None:
    source = '"""M."""\nclass A:\n    """An A."""\n    def __init__(self): pass\n'
    output = await run(DOCS, {"a.py": source}, {"minCoverage": 100})
    assert output.findings == {}
    assert output.summary["coverage"] == 100.0 and not output.summary["belowMinimum"]


async def test_docs_below_the_minimum_and_ignored_codes(run: Run) -> None:
    source = "class A:\n    def __eq__(self, other): pass\n"
    output = await run(DOCS, {"a.py": source}, {"min_coverage": 50, "ignore": ["D105"]})
    assert [f.code for f in every(output)] == ["D100", "D101"]
    assert output.summary["public"] == 2 and output.summary["belowMinimum"]


def test_docs_options_are_checked() -> None:
    assert DOCS.problems({"minCoverage": 101, "ignore": ["E501"], "min": 1}) == [
        "`minCoverage` must be a percentage from 0 to 100",
        "`ignore` must be a list of codes from D100 to D107",
        "unknown option `min` (this step takes `min_coverage`, `ignore`)",
    ]
    assert DOCS.problems({"min_coverage": 62.5}) == []


# -- deadcode ---------------------------------------------------------------------------

LIBRARY = """\
import functools
import os
import sys


def used():
    return sys.argv


@functools.cache
def unused_helper():
    return 1
    print("never")


class Holder:
    def visit_node(self):
        pass
"""

USER = "from lib import Holder, used\n\nused()\nHolder()\n"


async def test_deadcode_finds_what_no_covered_file_uses(
    run: Run, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    files = {
        "lib.py": LIBRARY,
        "main.py": USER,
        "broken.py": "def (:\n",
    }
    output = await run(DEADCODE, files)
    assert found(output, tmp_path / "lib.py") == [
        ("V104", 1),
        ("V103", 10),
        ("V201", 12),
        ("V105", 16),
    ]
    unused_import, function, unreachable, _ = every(output)
    assert unused_import.message == "unused import 'os' (90% confidence)"
    assert function.span == Span(10, 4, 10, 17)
    assert unreachable.span == Span(12, 4, 12, 18)
    assert all(f.unnecessary and f.severity is Severity.HINT for f in every(output))
    assert output.summary == {
        "files": 3,
        "findings": 4,
        "filesWithFindings": 1,
        "types": {"function": 1, "import": 1, "method": 1, "unreachable_code": 1},
        "minConfidence": 60,
        "notParsed": 1,
    }
    assert "broken" not in capfd.readouterr().err


async def test_deadcode_options(run: Run, tmp_path: Path) -> None:
    options = {"minConfidence": 90, "ignoreNames": ["o*"]}
    output = await run(DEADCODE, {"lib.py": LIBRARY}, options)
    assert found(output, tmp_path / "lib.py") == [("V201", 12)]
    decorated = {"ignore_decorators": ["@functools.cache"], "ignore_names": ["visit_*"]}
    files = {"lib.py": LIBRARY, "main.py": USER}
    output = await run(DEADCODE, files, decorated)
    assert [code for code, _ in found(output, tmp_path / "lib.py")] == ["V104", "V201"]


def test_deadcode_options_are_checked() -> None:
    assert DEADCODE.problems({"min_confidence": "60", "ignoreNames": "x", "exclude": []}) == [
        "`min_confidence` must be an integer from 0 to 100",
        '`ignoreNames` must be a list of names or patterns, such as ["visit_*"]',
        "unknown option `exclude` (this step takes `min_confidence`, `ignore_names`, "
        "`ignore_decorators`)",
    ]

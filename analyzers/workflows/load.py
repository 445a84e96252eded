"""Workflows from where they are declared, checked as they are loaded.

User workflows live in `[tool.tapps.workflows.<name>]` in pyproject.toml, or under
`workflows` in the client's settings, in one shape:
`{name: {steps: {id: {uses, with, needs, timeout, retries, paths}}}}`. Every problem (an
unknown step kind, a cycle, a missing dependency, a bad option) is a `WorkflowProblem`
with the 0-based line of pyproject.toml it is about, and the workflow it spoils is not
loaded; the others are. Nothing here raises on bad input.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.workflows.graph import find_cycle, missing_needs
from tapps_lsp.analyzers.workflows.spec import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    STEP_KINDS,
    StepSpec,
    WorkflowSpec,
)

MAX_RETRIES = 10
_STEP_KEYS = ("uses", "with", "needs", "timeout", "retries", "paths", "cache")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

# (kind, options) -> what is wrong with the options.
OptionProblems = Callable[[str, Mapping[str, Any]], list[str]]


@dataclass(frozen=True, slots=True)
class WorkflowProblem:
    workflow: str
    step: str | None
    message: str
    # The step's key it is about (`needs`, `with`, ...), which places it on a line.
    key: str | None = None
    # Where: the file (None for the client's settings) and the 0-based line in it.
    path: Path | None = None
    line: int = 0

    def __str__(self) -> str:
        where = f"workflow `{self.workflow}`"
        if self.step is not None:
            where += f", step `{self.step}`"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class LoadedWorkflows:
    workflows: dict[str, WorkflowSpec]
    problems: list[WorkflowProblem]


def load_workflows(
    root: Path,
    settings: ReviewSettings,
    *,
    option_problems: OptionProblems,
    builtin: Mapping[str, WorkflowSpec],
) -> LoadedWorkflows:
    """The presets, then pyproject.toml's workflows, then those of workspace/configuration,
    then the client's own (a later one of the same name wins). The workspace's (its
    pyproject.toml and what a client may fill from its files) run programs only when the
    client trusts the workspace."""
    trusted_workspace = settings.trusted_workspace
    workflows = dict(builtin)
    problems: list[WorkflowProblem] = []
    pyproject = root / "pyproject.toml"
    raw, text = _pyproject_workflows(pyproject)
    locate = _Locator(text.splitlines(), pyproject)
    for name, body in raw.items():
        spec, found = parse_workflow(
            name, body, "pyproject", trusted=trusted_workspace, option_problems=option_problems
        )
        problems.extend(locate.place(problem) for problem in found)
        if spec is not None:
            workflows[name] = spec
    layers = (
        ("workspace-settings", settings.fed_workflows, trusted_workspace),
        ("client", settings.workflows, True),
    )
    for origin, raw_layer, trusted in layers:
        for name, body in raw_layer.items():
            spec, found = parse_workflow(
                str(name), body, origin, trusted=trusted, option_problems=option_problems
            )
            problems.extend(found)
            if spec is not None:
                workflows[str(name)] = spec
    return LoadedWorkflows(workflows, problems)


def _pyproject_workflows(pyproject: Path) -> tuple[dict[str, Any], str]:
    try:
        text = pyproject.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}, ""  # the settings' own loading reports an unreadable pyproject.toml
    section = data.get("tool", {}).get("tapps", {}).get("workflows", {})
    return (section if isinstance(section, dict) else {"": section}), text


def parse_workflow(
    name: str,
    body: Any,
    origin: str,
    *,
    trusted: bool,
    option_problems: OptionProblems,
) -> tuple[WorkflowSpec | None, list[WorkflowProblem]]:
    problems: list[WorkflowProblem] = []

    def problem(step: str | None, message: str, key: str | None = None) -> None:
        problems.append(WorkflowProblem(name, step, message, key))

    if not _NAME.match(name):
        problem(None, "a workflow's name is letters, digits, `-` and `_`")
        return None, problems
    if not isinstance(body, Mapping) or not isinstance(body.get("steps"), Mapping):
        problem(None, "a workflow is a table with a `steps` table")
        return None, problems
    if not body["steps"]:
        problem(None, "it has no steps")
    for key in body:
        if key != "steps":
            problem(None, f"unknown key `{key}` (a workflow has only `steps`)")
    steps = [
        _parse_step(name, str(step_id), raw, option_problems, problems)
        for step_id, raw in body["steps"].items()
    ]
    needs = {step.id: step.needs for step in steps}
    for step_id, need in missing_needs(needs):
        problem(step_id, f"needs `{need}`, which is not a step of this workflow", "needs")
    cycle = find_cycle(needs)
    if cycle is not None:
        arrows = " → ".join(f"`{step}`" for step in cycle)
        problem(cycle[0], f"its steps form a cycle: {arrows}", "needs")
    if problems:
        return None, problems
    return WorkflowSpec(name, tuple(steps), origin=origin, trusted=trusted), problems


def _parse_step(
    workflow: str,
    step_id: str,
    raw: Any,
    option_problems: OptionProblems,
    problems: list[WorkflowProblem],
) -> StepSpec:
    def problem(message: str, key: str | None = None) -> None:
        problems.append(WorkflowProblem(workflow, step_id, message, key))

    if not _NAME.match(step_id):
        problem("a step's id is letters, digits, `-` and `_`")
    if not isinstance(raw, Mapping):
        problem("a step is a table with `uses`")
        return StepSpec(step_id, "")
    for key in raw:
        if key not in _STEP_KEYS:
            problem(f"unknown key `{key}` (a step has {', '.join(_STEP_KEYS)})")
    uses = raw.get("uses")
    if uses is None:
        problem("it has no `uses`")
    elif uses not in STEP_KINDS:
        problem(f"unknown step kind `{uses}` (one of {', '.join(STEP_KINDS)})", "uses")
    options = _options(raw.get("with", {}), uses, option_problems, problem)
    needs = _strings(raw.get("needs", []), "needs", problem)
    paths = _strings(raw.get("paths", []), "paths", problem)
    timeout, retries = _limits(raw, problem)
    cache = raw.get("cache", True)
    if not isinstance(cache, bool):
        problem("`cache` is true or false", "cache")
        cache = True
    return StepSpec(
        step_id,
        str(uses or ""),
        options,
        tuple(dict.fromkeys(needs)),
        timeout,
        retries,
        tuple(paths),
        cache,
    )


def _options(
    options: Any, uses: Any, option_problems: OptionProblems, problem: Callable[[str, str], None]
) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        problem("`with` is a table of the step's options", "with")
        return {}
    if isinstance(uses, str) and uses in STEP_KINDS:
        for message in option_problems(uses, options):
            problem(f"`with`: {message}", "with")
    return dict(options)


def _limits(raw: Mapping[str, Any], problem: Callable[[str, str], None]) -> tuple[float, int]:
    timeout = raw.get("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problem("`timeout` is a number of seconds above 0", "timeout")
        timeout = DEFAULT_TIMEOUT_S
    retries = raw.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        problem(f"`retries` is a whole number from 0 to {MAX_RETRIES}", "retries")
        retries = DEFAULT_RETRIES
    return float(timeout), retries


def _strings(value: Any, key: str, problem: Callable[[str, str], None]) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return list(value)
    problem(f"`{key}` is a list of strings", key)
    return []


class _Locator:
    """The line of pyproject.toml that a problem is about: the step's key when it has
    one, else the step's table, else the workflow's, else `[tool.tapps]`."""

    def __init__(self, lines: list[str], path: Path) -> None:
        self._lines = lines
        self._path = path

    def place(self, problem: WorkflowProblem) -> WorkflowProblem:
        line = self._line_of(problem)
        return replace(problem, path=self._path, line=line)

    def _line_of(self, problem: WorkflowProblem) -> int:
        key = problem.key
        name = _bare(problem.workflow)
        prefix = rf"tool\.tapps\.workflows\.{name}"
        if problem.step is not None:
            step = _bare(problem.step)
            table = self._header(rf"{prefix}\.steps\.{step}")
            if table is not None:
                return self._key_in_table(table, key) if key else table
            workflow = self._header(prefix)
            if workflow is not None:
                found = self._search(workflow, rf"^\s*(steps\.)?{step}\s*(\.|=)")
                if found is not None:
                    return found
            steps = self._header(rf"{prefix}\.steps")
            if steps is not None:
                found = self._search(steps, rf"^\s*{step}\s*(\.|=)")
                if found is not None:
                    return found
        for pattern in (prefix, rf"{prefix}\.steps", r"tool\.tapps\.workflows", r"tool\.tapps"):
            found = self._header(pattern)
            if found is not None:
                return found
        return 0

    def _header(self, dotted: str) -> int | None:
        pattern = re.compile(rf"^\s*\[\s*{dotted}\s*\]")
        for number, line in enumerate(self._lines):
            if pattern.match(_unquoted(line)):
                return number
        return None

    def _search(self, start: int, pattern: str) -> int | None:
        wanted = re.compile(pattern)
        for number in range(start + 1, len(self._lines)):
            line = _unquoted(self._lines[number])
            if line.lstrip().startswith("["):
                return None
            if wanted.match(line):
                return number
        return None

    def _key_in_table(self, table: int, key: str) -> int:
        found = self._search(table, rf"^\s*{re.escape(key)}\s*=")
        return table if found is None else found


def _bare(name: str) -> str:
    return re.escape(name)


def _unquoted(line: str) -> str:
    """A TOML line with quotes around keys dropped, so `"my-flow"` matches `my-flow`."""
    return line.replace('"', "").replace("'", "")

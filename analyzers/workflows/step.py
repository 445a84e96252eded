"""What a workflow step kind is: its input, its output, and how it fails.

A kind (`ruff`, `security`, `tests`, ...) lives in `analyzers.workflows.kinds`, one module
each, and is one `StepKind`: it checks its `with` options when the workflow is loaded,
says what version of its tool it runs (part of the step's cache key), and runs over the
files the step covers. The executor (analyzers.workflows.execute) gives it timeouts,
retries, the circuit breaker and the cache; a kind only does its one job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tapps_lsp.analyzers.findings import Finding
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.settings import ReviewSettings


@dataclass(frozen=True, slots=True)
class StepInput:
    root: Path
    # The Python files the step covers (its `paths`, or the workspace's), absolute.
    files: tuple[Path, ...]
    # The step's `with`, as written (checked by the kind's `problems` at load time).
    options: Mapping[str, Any]
    settings: ReviewSettings
    reviewer: Reviewer
    # Whether the step comes from configuration the user trusts (the client's settings,
    # or a workspace the client marked trusted). `tests` and `command` refuse otherwise.
    trusted: bool
    timeout: float
    # The steps this one needs, done, by step id.
    needed: Mapping[str, DoneStep] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepOutput:
    # Findings by absolute path (str), as the files' content was when the step ran.
    findings: Mapping[str, tuple[Finding, ...]] = field(default_factory=dict)
    # A small JSON object: counts and whatever the kind reports (shown in the report).
    summary: Mapping[str, Any] = field(default_factory=dict)
    # True when every answer came from a cache (the review cache or the step cache).
    cached: bool = False

    @property
    def finding_count(self) -> int:
        return sum(len(found) for found in self.findings.values())


@dataclass(frozen=True, slots=True)
class DoneStep:
    """A step this one needs: its kind, the files it covered and what it produced (raw:
    severity overrides are applied when results are shown, never to outputs)."""

    uses: str
    files: tuple[Path, ...]
    output: StepOutput


class StepFailed(Exception):
    """The step gave no answer. `transient`: a crash or a timeout, worth a retry; a
    tool that reported findings, or a refused step, is not."""

    def __init__(self, message: str, *, transient: bool, output_tail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.output_tail = output_tail


class StepRefused(StepFailed):
    """The step may not run here (e.g. a program from untrusted configuration): the
    step is skipped with this message, and the rest of the workflow runs."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


class StepKind(Protocol):
    @property
    def name(self) -> str:
        """The `uses` value."""

    @property
    def tool(self) -> str:
        """The tool's name for its circuit breaker (`ruff` for ruff and security)."""

    @property
    def cacheable(self) -> bool:
        """Whether the executor stores its output under the step's key. Kinds that read
        the review cache themselves (ruff, mypy, score) say False."""

    @property
    def runs_programs(self) -> bool:
        """Whether the step runs a program that its configuration names (tests, command):
        such steps run only from trusted configuration."""

    def problems(self, options: Mapping[str, Any]) -> list[str]:
        """What is wrong with `with`, one sentence each (empty: fine)."""

    async def version(self, step: StepInput) -> str:
        """The version of what the step runs: part of its cache key."""

    async def run(self, step: StepInput) -> StepOutput:
        """Raise StepFailed (or StepRefused) when there is no answer."""

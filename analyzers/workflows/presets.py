"""The four preset workflows: minimal, standard, comprehensive and full."""

from __future__ import annotations

from collections.abc import Sequence

from tapps_lsp.analyzers.workflows.spec import StepSpec, WorkflowSpec

_STANDARD = (
    StepSpec("ruff", "ruff"),
    StepSpec("mypy", "mypy"),
    StepSpec("score", "score", needs=("ruff", "mypy")),
)
_COMPREHENSIVE = (
    *_STANDARD,
    StepSpec("security", "security"),
    StepSpec("complexity", "complexity"),
    StepSpec("docs", "docs"),
    StepSpec("deadcode", "deadcode"),
)


def presets(test_command: Sequence[str] = ()) -> dict[str, WorkflowSpec]:
    """`full` runs the project's tests with `test_command` (the trusted `testCommand`
    setting); without one it is comprehensive, and its report says why."""
    full: tuple[StepSpec, ...] = _COMPREHENSIVE
    if test_command:
        full = (*_COMPREHENSIVE, StepSpec("tests", "tests", {"argv": list(test_command)}))
    return {
        "minimal": WorkflowSpec("minimal", (StepSpec("ruff", "ruff"),), preset=True),
        "standard": WorkflowSpec("standard", _STANDARD, preset=True),
        "comprehensive": WorkflowSpec("comprehensive", _COMPREHENSIVE, preset=True),
        "full": WorkflowSpec("full", full, preset=True),
    }

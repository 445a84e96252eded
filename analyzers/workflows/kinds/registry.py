"""Every step kind by its `uses` name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tapps_lsp.analyzers.workflows.kinds.command import COMMAND
from tapps_lsp.analyzers.workflows.kinds.complexity import COMPLEXITY
from tapps_lsp.analyzers.workflows.kinds.deadcode import DEADCODE
from tapps_lsp.analyzers.workflows.kinds.docs import DOCS
from tapps_lsp.analyzers.workflows.kinds.review_steps import MYPY, RUFF, SCORE
from tapps_lsp.analyzers.workflows.kinds.security import SECURITY
from tapps_lsp.analyzers.workflows.kinds.tests import TESTS
from tapps_lsp.analyzers.workflows.step import StepKind

_ALL: tuple[StepKind, ...] = (
    RUFF,
    MYPY,
    SCORE,
    SECURITY,
    COMPLEXITY,
    DOCS,
    DEADCODE,
    TESTS,
    COMMAND,
)
KINDS: dict[str, StepKind] = {kind.name: kind for kind in _ALL}


def option_problems(uses: str, options: Mapping[str, Any]) -> list[str]:
    kind = KINDS.get(uses)
    return kind.problems(options) if kind is not None else []

"""What the kinds that only analyse share: their `with` checked against a schema, their
output cached by the executor, and no program of the configuration's run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tapps_lsp.analyzers.workflows.kinds.options import Option, option_problems, option_values
from tapps_lsp.analyzers.workflows.step import StepInput


@dataclass(frozen=True, slots=True)
class AnalysisKind:
    """The base of `security`, `complexity`, `docs` and `deadcode`; each adds `version`
    and `run`."""

    name: str
    tool: str
    schema: tuple[Option, ...]
    cacheable: bool = True
    runs_programs: bool = False

    def problems(self, options: Mapping[str, Any]) -> list[str]:
        return option_problems(options, self.schema)

    def options_of(self, step: StepInput) -> dict[str, Any]:
        """The step's options by snake_case name, with the defaults filled in."""
        return option_values(step.options, self.schema)

"""A workflow as it is declared: named steps, each of one kind, with what it needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Every `uses` a step may name, in the order the docs list them.
STEP_KINDS = (
    "ruff",
    "mypy",
    "score",
    "security",
    "complexity",
    "docs",
    "deadcode",
    "tests",
    "command",
)
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_RETRIES = 0


@dataclass(frozen=True, slots=True)
class StepSpec:
    id: str
    uses: str
    options: Mapping[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    # gitignore-style patterns, relative to the workspace folder; empty: every file.
    paths: tuple[str, ...] = ()
    # False: never served from the step cache (a command whose result depends on more
    # than the covered files, their ruff config and its options).
    cache: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uses": self.uses,
            "with": dict(self.options),
            "needs": list(self.needs),
            "timeout": self.timeout,
            "retries": self.retries,
            "paths": list(self.paths),
            "cache": self.cache,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepSpec:
        return cls(
            id=str(data["id"]),
            uses=str(data["uses"]),
            options=dict(data.get("with", {})),
            needs=tuple(data.get("needs", ())),
            timeout=float(data.get("timeout", DEFAULT_TIMEOUT_S)),
            retries=int(data.get("retries", DEFAULT_RETRIES)),
            paths=tuple(data.get("paths", ())),
            cache=bool(data.get("cache", True)),
        )


@dataclass(frozen=True, slots=True)
class WorkflowSpec:
    name: str
    steps: tuple[StepSpec, ...]
    preset: bool = False
    # Where it was declared: "preset", "client" (settings or initializationOptions) or
    # "pyproject". Programs run only from trusted configuration (see `trusted`).
    origin: str = "preset"
    # Whether its `tests` and `command` steps may run: the client's configuration always,
    # a pyproject.toml only in a workspace the client marked trusted.
    trusted: bool = True

    def step(self, step_id: str) -> StepSpec:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "preset": self.preset,
            "origin": self.origin,
            "trusted": self.trusted,
            "steps": [step.as_json() for step in self.steps],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkflowSpec:
        return cls(
            name=str(data["name"]),
            steps=tuple(StepSpec.from_json(step) for step in data["steps"]),
            preset=bool(data.get("preset", False)),
            origin=str(data.get("origin", "preset")),
            trusted=bool(data.get("trusted", False)),
        )

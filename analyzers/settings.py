"""The engine's settings, and how layers of raw settings merge into them.

Raw layers are JSON/TOML mappings. Keys may be camelCase (editors), snake_case or
kebab-case (pyproject.toml); they are normalised to snake_case, merged key by key
(a later layer wins), and structured once. Unknown keys and bad values are reported,
never fatal: the rest of the layer still applies.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any

from tapps_lsp.analyzers.findings import Severity

# A mypy engine past this resident size (MB) is restarted: `engineMaxRssMb`'s default.
DEFAULT_MAX_RSS_MB = 1500


@dataclass(frozen=True, slots=True)
class ToolSettings:
    enabled: bool = True
    path: str | None = None
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MypySettings:
    enabled: bool = True
    path: str | None = None
    args: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    engine: bool = True


@dataclass(frozen=True, slots=True)
class CacheSettings:
    enabled: bool = True
    dir: str | None = None
    max_size_mb: int = 200


BASELINE_SHOWN = ("hint", "hidden")


@dataclass(frozen=True, slots=True)
class BaselineSettings:
    """How the editor shows the findings `.tapps/baseline.json` covers (analyzers.baseline):
    as Hint diagnostics tagged `data.baselined`, or not at all."""

    show: str = "hint"

    def __post_init__(self) -> None:
        if self.show not in BASELINE_SHOWN:
            raise ValueError(f"baseline.show must be one of {', '.join(BASELINE_SHOWN)}")


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    ruff: ToolSettings = field(default_factory=ToolSettings)
    mypy: MypySettings = field(default_factory=MypySettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    baseline: BaselineSettings = field(default_factory=BaselineSettings)
    interpreter: str | None = None
    # Batch reviews: gitignore-style patterns skipped (beside .gitignore), files at once
    # (0: the CPU count), background tasks waiting at most, and when a request is slow.
    exclude: tuple[str, ...] = ()
    concurrency: int = 0
    max_queued_tasks: int = 16
    slow_request_seconds: float = 5.0
    severity: Mapping[str, Severity] = field(default_factory=dict)
    score_threshold: int = 70
    timeout: float = 60.0
    max_file_size: int = 2_000_000
    # A mypy engine past this resident size is restarted (it rebuilds in the background).
    # Not part of the mypy settings: it shapes no result, so it keys no cache entry.
    engine_max_rss_mb: int = DEFAULT_MAX_RSS_MB
    # Whether the workspace may choose the programs we run (see analyzers.trust). Only the
    # client or the CLI sets it; `[tool.tapps]` cannot.
    trusted_workspace: bool = False
    # The `full` workflow's test command (it names a program: screened like the paths).
    test_command: tuple[str, ...] = ()
    # User workflows (analyzers.workflows.load) as written, from the client's own layers
    # (initializationOptions, the CLI) and from workspace/configuration, which a client
    # may fill from the workspace's files: those run programs only in a trusted
    # workspace. Set apart from the other layers by workspace.project_settings.
    workflows: Mapping[str, Any] = field(default_factory=dict)
    fed_workflows: Mapping[str, Any] = field(default_factory=dict)

    @property
    def workers(self) -> int:
        return self.concurrency if self.concurrency > 0 else (os.cpu_count() or 2)

    def tool_key(self, tool: str) -> str:
        """The canonical text of the settings that shape `tool`'s raw result."""
        section = self.ruff if tool == "ruff" else self.mypy
        return json.dumps(asdict(section), sort_keys=True)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = {code: level.name.lower() for code, level in self.severity.items()}
        return data


def snake_case(key: str) -> str:
    key = key.replace("-", "_")
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def normalise(raw: Mapping[str, Any]) -> dict[str, Any]:
    """snake_case keys all the way down, except inside `severity` (its keys are rule codes)
    and `workflows` (its keys are names the user chose)."""
    result: dict[str, Any] = {}
    for key, value in raw.items():
        name = snake_case(str(key))
        if isinstance(value, Mapping) and name not in ("severity", "workflows"):
            result[name] = normalise(value)
        else:
            result[name] = value
    return result


def merge_layers(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        if isinstance(layer, Mapping):
            _deep_merge(merged, normalise(layer))
    return merged


def _deep_merge(into: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _deep_merge(current, value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def build_settings(merged: Mapping[str, Any]) -> tuple[ReviewSettings, list[str]]:
    """Structure merged raw settings; returns the settings and human-readable problems."""
    problems: list[str] = []
    settings = _structure(ReviewSettings, merged, "", problems)
    assert isinstance(settings, ReviewSettings)
    return settings, problems


# Fields no layer sets (workspace.project_settings fills them).
_INTERNAL = frozenset({"fed_workflows"})


def _structure(cls: type[Any], raw: Mapping[str, Any], where: str, problems: list[str]) -> Any:
    known = {f.name: f for f in fields(cls) if f.name not in _INTERNAL}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        spot = f"{where}{key}"
        if key not in known:
            problems.append(f"unknown setting '{spot}'")
            continue
        default = getattr(cls(), key)
        try:
            values[key] = _convert(default, value, spot, problems)
        except (TypeError, ValueError) as exc:
            problems.append(f"invalid value for '{spot}': {exc}")
    return replace(cls(), **values)


def _convert(default: Any, value: Any, spot: str, problems: list[str]) -> Any:
    if is_dataclass(default):
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a table, got {type(value).__name__}")
        return _structure(type(default), value, f"{spot}.", problems)
    if isinstance(default, Mapping):
        return _severities(value, spot, problems)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"expected a list of strings, got {value!r}")
        return tuple(value)
    if isinstance(default, int | float):
        return _number(type(default), value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {value!r}")


def _severities(value: Any, spot: str, problems: list[str]) -> dict[str, Severity]:
    """Each entry on its own: a bad level is reported and the other entries still apply."""
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a table of rule code to severity, got {value!r}")
    levels: dict[str, Severity] = {}
    for code, level in value.items():
        try:
            if not isinstance(level, str):
                raise TypeError(f"expected a severity name, got {level!r}")
            levels[str(code)] = Severity.parse(level)
        except (TypeError, ValueError) as exc:
            problems.append(f"invalid value for '{spot}.{code}': {exc}")
    return levels


def _number(kind: type[int] | type[float], value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected a whole number, got {value!r}")
    return kind(value)

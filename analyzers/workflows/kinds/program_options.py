"""The `with` options of the steps that run a program (`command`, `tests`): how they are
checked when a workflow is loaded, and read when the step runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_OUTPUT_KB = 1024
MAX_OUTPUT_KB_LIMIT = 64 * 1024
# camelCase (the client's JSON) and snake_case (pyproject.toml) name the same option.
ALIASES = {"maxOutputKb": "max_output_kb"}
SHOWN = {"max_output_kb": "maxOutputKb"}


@dataclass(frozen=True, slots=True)
class ProgramOptions:
    """A program step's options, checked already (`option_problems` found none)."""

    argv: tuple[str, ...] = ()
    # Extra arguments after argv (`tests` only).
    args: tuple[str, ...] = ()
    # Relative to the workspace root; None is the root.
    cwd: str | None = None
    # Merged over the environment every tool of ours gets (`process.child_env`).
    env: Mapping[str, str] = field(default_factory=dict)
    max_output_kb: int = DEFAULT_MAX_OUTPUT_KB

    @property
    def max_output_bytes(self) -> int:
        return self.max_output_kb * 1024


def option_problems(
    options: Mapping[str, Any], *, kind: str, known: Iterable[str], argv_required: bool
) -> list[str]:
    """What is wrong with a program step's `with`, one sentence each. `known`: the
    option names (snake_case) the kind takes."""
    allowed = set(known)
    problems: list[str] = []
    seen: dict[str, str] = {}
    for key in options:
        name = ALIASES.get(key, key)
        if name not in allowed:
            shown = ", ".join(f"`{SHOWN.get(k, k)}`" for k in sorted(allowed))
            problems.append(f"`{kind}` step: unknown option `{key}` (it takes {shown}).")
        elif name in seen:
            problems.append(f"`{kind}` step: `{seen[name]}` and `{key}` are one option: give one.")
        else:
            seen[name] = key
    values = {ALIASES.get(key, key): value for key, value in options.items()}
    if "argv" in values or argv_required:
        problems.extend(_strings(kind, "argv", values.get("argv"), non_empty=True))
    if "args" in values:
        problems.extend(_strings(kind, "args", values["args"], non_empty=False))
    if "cwd" in values and not _clean_string(values["cwd"]):
        problems.append(
            f"`{kind}` step: `cwd` must be a folder path (a non-empty string), "
            "relative to the workspace root."
        )
    if "env" in values:
        problems.extend(_env_problems(kind, values["env"]))
    if "max_output_kb" in values:
        problems.extend(_size_problems(kind, values["max_output_kb"]))
    return problems


def read_options(options: Mapping[str, Any]) -> ProgramOptions:
    """The options of a `with` that `option_problems` passed."""
    values = {ALIASES.get(key, key): value for key, value in options.items()}
    return ProgramOptions(
        argv=tuple(values.get("argv", ())),
        args=tuple(values.get("args", ())),
        cwd=values.get("cwd"),
        env=dict(values.get("env", {})),
        max_output_kb=values.get("max_output_kb", DEFAULT_MAX_OUTPUT_KB),
    )


def _strings(kind: str, name: str, value: Any, *, non_empty: bool) -> list[str]:
    strings = isinstance(value, list | tuple) and all(
        _clean_string(item, empty_ok=True) for item in value
    )
    if strings and (not non_empty or (value and value[0])):
        return []
    what = "a non-empty list of strings" if non_empty else "a list of strings"
    first = ", the program first" if non_empty else ""
    return [f"`{kind}` step: `{name}` must be {what}{first} (no NUL characters)."]


def _env_problems(kind: str, value: Any) -> list[str]:
    good = isinstance(value, Mapping) and all(
        _clean_string(k) and "=" not in k and _clean_string(v, empty_ok=True)
        for k, v in value.items()
    )
    if good:
        return []
    return [
        f"`{kind}` step: `env` must be a table of variable names to string values "
        "(names without `=`, no NUL characters)."
    ]


def _size_problems(kind: str, value: Any) -> list[str]:
    whole = isinstance(value, int) and not isinstance(value, bool)
    if whole and 1 <= value <= MAX_OUTPUT_KB_LIMIT:
        return []
    return [
        f"`{kind}` step: `maxOutputKb` must be a whole number of KiB from 1 to "
        f"{MAX_OUTPUT_KB_LIMIT}."
    ]


def _clean_string(value: Any, *, empty_ok: bool = False) -> bool:
    return isinstance(value, str) and (empty_ok or value != "") and "\0" not in value

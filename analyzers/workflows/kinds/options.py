"""A step kind's `with` options: what each may be, checked at load, read at run time.

Options come from TOML or JSON, with snake_case or camelCase keys: `min_confidence` and
`minConfidence` name the same option.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tapps_lsp.analyzers.settings import snake_case


@dataclass(frozen=True, slots=True)
class Option:
    """One option: its snake_case name, what a value must be (`rule` ends the sentence
    "`name` must be ..."), the test of a value, and the value when it is absent."""

    name: str
    rule: str
    accepts: Callable[[object], bool]
    default: Any = None


def option_problems(options: Mapping[str, Any], schema: Sequence[Option]) -> list[str]:
    """One sentence per unknown key or value of the wrong kind."""
    known = {option.name: option for option in schema}
    found: list[str] = []
    for key, value in options.items():
        option = known.get(snake_case(str(key)))
        if option is None:
            names = ", ".join(f"`{name}`" for name in known)
            found.append(f"unknown option `{key}` (this step takes {names})")
        elif not option.accepts(value):
            found.append(f"`{key}` must be {option.rule}")
    return found


def option_values(options: Mapping[str, Any], schema: Sequence[Option]) -> dict[str, Any]:
    """Every option of the schema by its snake_case name, defaults filled in; the options
    have passed `option_problems` when the workflow was loaded."""
    given = {snake_case(str(key)): value for key, value in options.items()}
    return {option.name: given.get(option.name, option.default) for option in schema}


def positive_integer(value: object) -> bool:
    # A TOML or JSON true is a bool, which Python also counts as an int.
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def percent(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100


def string_list(value: object) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)

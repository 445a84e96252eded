"""The step graph: dependencies that exist, and no cycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def missing_needs(needs: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """(step, the step it needs that does not exist), in declaration order."""
    return [(step, need) for step, wanted in needs.items() for need in wanted if need not in needs]


def find_cycle(needs: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One cycle as the steps along it, first step repeated at the end; None if none.
    Dependencies on steps that do not exist are ignored (missing_needs reports them)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(step: str) -> list[str] | None:
        state[step] = 1
        path.append(step)
        for need in needs.get(step, ()):
            if need not in needs:
                continue
            if state.get(need) == 1:
                return [*path[path.index(need) :], need]
            if need not in state:
                found = visit(need)
                if found is not None:
                    return found
        path.pop()
        state[step] = 2
        return None

    for step in needs:
        if step not in state:
            found = visit(step)
            if found is not None:
                return found
    return None

"""Workflows as declared: presets, pyproject.toml's and the client's, and every problem
placed on the line of pyproject.toml it is about."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.workflows.graph import find_cycle, missing_needs
from tapps_lsp.analyzers.workflows.kinds.registry import option_problems
from tapps_lsp.analyzers.workflows.load import LoadedWorkflows, load_workflows
from tapps_lsp.analyzers.workflows.presets import presets


def load(tmp_path: Path, toml: str, settings: ReviewSettings | None = None) -> LoadedWorkflows:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(toml))
    return load_workflows(
        tmp_path,
        settings or ReviewSettings(),
        option_problems=option_problems,
        builtin=presets(),
    )


def line_of(tmp_path: Path, text: str) -> int:
    lines = (tmp_path / "pyproject.toml").read_text().splitlines()
    return next(number for number, line in enumerate(lines) if text in line)


def test_the_presets_are_there_with_their_steps(tmp_path: Path) -> None:
    loaded = load(tmp_path, "[project]\nname = 'x'\n")
    assert loaded.problems == []
    steps = {name: [s.uses for s in spec.steps] for name, spec in loaded.workflows.items()}
    assert steps["minimal"] == ["ruff"]
    assert steps["standard"] == ["ruff", "mypy", "score"]
    assert steps["comprehensive"] == [
        "ruff", "mypy", "score", "security", "complexity", "docs", "deadcode"
    ]  # fmt: skip
    assert steps["full"] == steps["comprehensive"]  # no test command configured
    with_tests = presets(("python", "-m", "pytest"))["full"]
    assert [s.uses for s in with_tests.steps][-1] == "tests"


def test_a_pyproject_workflow_loads_untrusted_unless_the_workspace_is(tmp_path: Path) -> None:
    toml = """
        [tool.tapps.workflows.quick.steps.lint]
        uses = "ruff"
        [tool.tapps.workflows.quick.steps.types]
        uses = "mypy"
        needs = ["lint"]
        timeout = 30
        retries = 2
        paths = ["app/*.py"]
    """
    quick = load(tmp_path, toml).workflows["quick"]
    assert quick.origin == "pyproject" and not quick.trusted and not quick.preset
    types = quick.step("types")
    assert (types.needs, types.timeout, types.retries, types.paths) == (
        ("lint",),
        30.0,
        2,
        ("app/*.py",),
    )
    trusted = load(tmp_path, toml, ReviewSettings(trusted_workspace=True)).workflows["quick"]
    assert trusted.trusted


def test_an_unknown_kind_is_a_problem_on_its_uses_line(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        [project]
        name = "x"

        [tool.tapps.workflows.bad.steps.lint]
        uses = "rufff"
        [tool.tapps.workflows.good.steps.lint]
        uses = "ruff"
        """,
    )
    assert "bad" not in loaded.workflows and "good" in loaded.workflows
    [problem] = loaded.problems
    assert "unknown step kind `rufff`" in problem.message
    assert (problem.workflow, problem.step) == ("bad", "lint")
    assert problem.path == tmp_path / "pyproject.toml"
    assert problem.line == line_of(tmp_path, 'uses = "rufff"')


def test_a_missing_dependency_and_a_cycle_point_at_needs(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        [tool.tapps.workflows.loop.steps.a]
        uses = "ruff"
        needs = ["b"]
        [tool.tapps.workflows.loop.steps.b]
        uses = "mypy"
        needs = ["a"]

        [tool.tapps.workflows.gap.steps.a]
        uses = "ruff"
        needs = ["nowhere"]
        """,
    )
    assert set(loaded.workflows) == set(presets())
    by_workflow = {p.workflow: p for p in loaded.problems}
    assert "cycle" in by_workflow["loop"].message
    assert by_workflow["loop"].line == line_of(tmp_path, 'needs = ["b"]')
    assert "needs `nowhere`" in by_workflow["gap"].message
    assert by_workflow["gap"].line == line_of(tmp_path, 'needs = ["nowhere"]')


def test_inline_tables_and_bad_values_are_placed_on_the_step(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        [tool.tapps.workflows.inline]
        steps.lint = { uses = "ruff", timeout = -1, retries = 99, extra = 1, with = { x = 1 } }
        """,
    )
    messages = sorted(p.message for p in loaded.problems)
    assert any("`timeout`" in m for m in messages)
    assert any("`retries`" in m for m in messages)
    assert any("unknown key `extra`" in m for m in messages)
    assert any("unknown option `x`" in m for m in messages)
    assert {p.line for p in loaded.problems} == {line_of(tmp_path, "steps.lint")}


def test_cache_is_true_or_false(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[tool.tapps.workflows.w.steps.a]\nuses = "ruff"\ncache = "no"\n')
    [problem] = loaded.problems
    assert problem.message == "`cache` is true or false"
    assert problem.line == line_of(tmp_path, "cache =")
    kept = load(tmp_path, '[tool.tapps.workflows.w.steps.a]\nuses = "ruff"\ncache = false\n')
    assert kept.workflows["w"].step("a").cache is False


def test_client_workflows_are_trusted_and_win_over_the_workspace(tmp_path: Path) -> None:
    settings = ReviewSettings(
        workflows={"quick": {"steps": {"only": {"uses": "ruff"}}}},
        fed_workflows={"fed": {"steps": {"x": {"uses": "command", "with": {"argv": ["true"]}}}}},
    )
    loaded = load(tmp_path, '[tool.tapps.workflows.quick.steps.a]\nuses = "mypy"\n', settings)
    assert [s.id for s in loaded.workflows["quick"].steps] == ["only"]
    assert loaded.workflows["quick"].trusted
    assert loaded.workflows["fed"].origin == "workspace-settings"
    assert not loaded.workflows["fed"].trusted
    bad = load_workflows(
        tmp_path,
        ReviewSettings(workflows={"w": {"steps": "no"}}),
        option_problems=option_problems,
        builtin={},
    )
    assert bad.problems[0].path is None
    assert "`steps` table" in bad.problems[0].message


def test_an_unreadable_pyproject_loads_the_presets_only(tmp_path: Path) -> None:
    loaded = load(tmp_path, "[tool.tapps\n")
    assert set(loaded.workflows) == set(presets()) and loaded.problems == []


def test_the_graph_helpers() -> None:
    needs = {"a": [], "b": ["a"], "c": ["b"], "d": ["a", "x"]}
    assert missing_needs(needs) == [("d", "x")]
    assert find_cycle(needs) is None
    assert find_cycle({"a": ["c"], "b": ["a"], "c": ["b"]}) == ["a", "c", "b", "a"]
    assert find_cycle({"a": ["a"]}) == ["a", "a"]

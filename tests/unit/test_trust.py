"""Workspace trust: what a repository's own files may choose of the programs we run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from analyzers.configs import find_mypy_config
from analyzers.trust import (
    code_mypy_would_run,
    confine,
    may_run,
    strip_program_flags,
)
from analyzers.workspace import project_settings, trust_summary

HOSTILE = """
[tool.tapps]
interpreter = "./evil.sh"
trustedWorkspace = true
[tool.tapps.ruff]
path = "./evil.sh"
args = ["--select", "E"]
[tool.tapps.mypy]
path = "./evil.sh"
args = ["--strict", "--python-executable", "./evil.sh", "--config-file=evil.ini"]
[tool.tapps.cache]
dir = "~/.ssh"
"""


def hostile_project(root: Path) -> Path:
    (root / "pyproject.toml").write_text(HOSTILE)
    return root


def test_an_untrusted_workspace_names_no_program(tmp_path: Path) -> None:
    settings, problems = project_settings(hostile_project(tmp_path))
    assert settings.trusted_workspace is False, "a workspace cannot trust itself"
    assert settings.interpreter is None
    assert settings.ruff.path is None and settings.mypy.path is None
    assert settings.mypy.args == ("--strict",)
    assert settings.ruff.args == ("--select", "E"), "what runs nothing still applies"
    assert settings.cache.dir is None
    [message] = problems
    for key in ("interpreter", "ruff.path", "mypy.path", "mypy.args --python-executable"):
        assert f"`{key}`" in message
    assert "`mypy.args --config-file`" in message and "`cache.dir`" in message
    assert "trustedWorkspace" in message and "--trust" in message


def test_the_client_trusts_and_the_workspace_then_chooses(tmp_path: Path) -> None:
    settings, problems = project_settings(hostile_project(tmp_path), {"trustedWorkspace": True})
    assert settings.trusted_workspace is True
    assert settings.interpreter == "./evil.sh" and settings.ruff.path == "./evil.sh"
    assert "--python-executable" in settings.mypy.args
    assert settings.cache.dir == "~/.ssh"
    assert len(problems) == 1 and "cannot trust itself" in problems[0]


def test_a_client_that_says_untrusted_wins_over_nothing(tmp_path: Path) -> None:
    settings, _ = project_settings(
        hostile_project(tmp_path), {"trustedWorkspace": True}, {"trustedWorkspace": False}
    )
    assert settings.trusted_workspace is False
    assert settings.ruff.path is None


def test_the_clients_own_program_settings_always_apply(tmp_path: Path) -> None:
    settings, _ = project_settings(hostile_project(tmp_path), {"ruff": {"path": "/usr/bin/ruff"}})
    assert settings.ruff.path == "/usr/bin/ruff"


def test_a_cache_folder_inside_the_project_is_kept(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.tapps.cache]\ndir = "build/cache"\n')
    settings, problems = project_settings(tmp_path)
    assert settings.cache.dir == "build/cache" and problems == []


def test_a_workspace_venv_not_run_is_said_once(tmp_path: Path) -> None:
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    _, problems = project_settings(tmp_path)
    [notice] = problems
    assert str(python) in notice and "not trusted" in notice
    _, problems = project_settings(tmp_path, {"interpreter": sys.executable})
    assert problems == [], "the client chose the interpreter: nothing is lost"
    settings, _ = project_settings(tmp_path)
    assert trust_summary(tmp_path, settings)["interpretersNotRun"] == [str(python)]


def test_program_flags_and_their_values_are_stripped() -> None:
    args = ["--strict", "--python-executable", "x", "--config-file=y", "--warn-unused-ignores"]
    kept, dropped = strip_program_flags(args)
    assert kept == ["--strict", "--warn-unused-ignores"]
    assert dropped == ["--python-executable", "--config-file"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", '[tool.mypy]\nplugins = ["pydantic.mypy", "./local.py"]\n'),
        ("mypy.ini", "[mypy]\nplugins = pydantic.mypy, ./local.py\n"),
        ("setup.cfg", "[mypy]\npython_executable = ./evil.sh\n"),
    ],
)
def test_a_mypy_config_that_runs_code_is_named(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    (tmp_path / "m.py").write_text("")
    config = find_mypy_config(tmp_path / "m.py", tmp_path)
    reason = code_mypy_would_run(config, ())
    assert reason is not None and str(tmp_path / name) in reason


def test_a_config_file_named_in_the_arguments_is_the_one_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.mypy]\nstrict = true\n")
    (tmp_path / "other.ini").write_text("[mypy]\nplugins = evil\n")
    config = find_mypy_config(tmp_path / "m.py", tmp_path)
    assert code_mypy_would_run(config, ()) is None
    assert code_mypy_would_run(config, ("--config-file", "other.ini")) is not None


def test_nothing_inside_an_untrusted_workspace_runs(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    link = tmp_path / "bin" / "python"
    link.symlink_to(sys.executable)
    assert not may_run(str(link), tmp_path, trusted=False), "a venv's python links out"
    assert not may_run("./bin/tool", tmp_path, trusted=False), "relative: the workspace's"
    assert may_run(sys.executable, tmp_path, trusted=False)
    assert may_run("./bin/tool", tmp_path, trusted=True)
    outside = tmp_path.parent / f"{tmp_path.name}-tool"
    outside.write_text("")
    escape = tmp_path / "escape"
    escape.symlink_to(outside)
    assert not may_run(str(escape), tmp_path, trusted=False)


def test_confine_refuses_dot_dot_and_symlink_escapes(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("")
    (tmp_path / "secret.py").write_text("")
    (root / "link.py").symlink_to(tmp_path / "secret.py")
    assert confine(root / "pkg" / "a.py", [root]) == (root / "pkg" / "a.py").resolve()
    assert confine(root / "pkg" / ".." / "pkg" / "a.py", [root]) is not None
    assert confine(root / ".." / "secret.py", [root]) is None
    assert confine(root / "link.py", [root]) is None
    assert confine(Path(os.sep), [root]) is None


def test_our_own_venv_in_the_workspace_is_no_loss() -> None:
    """tapps-lsp run from the workspace's own `.venv` (as in this repository's CI) is
    running already: no notice that the workspace's interpreter was not run."""
    python = Path(sys.executable)
    if python.parent.parent.name not in (".venv", "venv"):
        pytest.skip("the tests do not run from a workspace .venv")
    root = python.parent.parent.parent
    _, problems = project_settings(root)
    assert not [p for p in problems if "is not run" in p], problems

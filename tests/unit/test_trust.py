"""Workspace trust: what a repository's own files may choose of the programs we run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tapps_lsp.analyzers.configs import find_mypy_config
from tapps_lsp.analyzers.trust import (
    code_mypy_would_run,
    confine,
    may_run,
    screen_client_layer,
    untrusted_mypy_args,
)
from tapps_lsp.analyzers.workspace import cache_folder, project_settings, trust_summary

HOSTILE = """
[tool.tapps]
interpreter = "./evil.sh"
trustedWorkspace = true
scoreThreshold = 80
[tool.tapps.ruff]
path = "./evil.sh"
args = ["--select", "E"]
[tool.tapps.mypy]
path = "./evil.sh"
args = ["--strict", "--python-exec", "./evil.sh", "@flags.txt", "--config=evil.ini"]
targets = ["pkg", "--python-executable", "./evil.sh"]
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
    assert settings.mypy.args == () and settings.ruff.args == (), (
        "arguments are not screened flag by flag: mypy reads @files and abbreviations"
    )
    assert settings.mypy.targets == ()
    assert settings.score_threshold == 80, "what names no program or argument still applies"
    assert settings.cache.dir is None
    [message] = problems
    for key in ("interpreter", "ruff.path", "mypy.path", "mypy.args", "ruff.args"):
        assert f"`{key}`" in message
    assert "`mypy.targets`" in message and "`cache.dir`" in message
    assert "trustedWorkspace" in message and "--trust" in message


def test_the_client_trusts_and_the_workspace_then_chooses(tmp_path: Path) -> None:
    settings, problems = project_settings(hostile_project(tmp_path), {"trustedWorkspace": True})
    assert settings.trusted_workspace is True
    assert settings.interpreter == "./evil.sh" and settings.ruff.path == "./evil.sh"
    assert "--python-exec" in settings.mypy.args
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


def test_a_cache_folder_of_the_projects_applies_once_trusted(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.tapps.cache]\ndir = "build/cache"\n')
    settings, problems = project_settings(tmp_path, {"trustedWorkspace": True})
    assert settings.cache.dir == "build/cache" and problems == []
    settings, problems = project_settings(tmp_path)
    assert settings.cache.dir is None and "`cache.dir`" in problems[0]


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


def test_a_client_layer_a_workspace_may_fill_is_screened_unless_initialization_agrees() -> None:
    layer = {"ruff": {"path": "/bin/bash", "enabled": True}, "mypy": {"args": ["--strict"]}}
    kept, ignored = screen_client_layer(layer, {"mypy": {"args": ["--strict"]}})
    assert kept == {"ruff": {"enabled": True}, "mypy": {}}
    assert ignored == ["ruff.path"], "the same value as initializationOptions is no news"


def test_untrusted_mypy_reads_only_the_config_we_screened(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("")
    none = find_mypy_config(tmp_path / "m.py", tmp_path)
    config_arg = untrusted_mypy_args(none)[0]
    assert config_arg.startswith("--config-file=") and str(tmp_path) not in config_arg, (
        "no project config: none that mypy would find by itself (the user's own at most)"
    )
    (tmp_path / "mypy.ini").write_text("[mypy]\n")
    found = find_mypy_config(tmp_path / "m.py", tmp_path)
    assert untrusted_mypy_args(found) == (
        f"--config-file={tmp_path / 'mypy.ini'}",
        "--no-install-types",
        "--interactive",
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", '[tool.mypy]\nplugins = ["pydantic.mypy", "./local.py"]\n'),
        ("mypy.ini", "[mypy]\nplugins = pydantic.mypy, ./local.py\n"),
        ("setup.cfg", "[mypy]\npython_executable = ./evil.sh\n"),
        ("mypy.ini", "[mypy]\njunit_xml = /home/someone/.bashrc\n"),
        ("pyproject.toml", '[tool.mypy]\nhtml_report = "/tmp/elsewhere"\n'),
        ("pyproject.toml", '[tool.mypy]\nreport_dirs = { linecount = "/tmp/elsewhere" }\n'),
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


def test_a_nul_byte_in_a_path_setting_is_no_crash(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.tapps.cache]\ndir = "a\\u0000b"\n')
    settings, problems = project_settings(tmp_path)
    assert settings.cache.dir is None and "`cache.dir`" in problems[0]
    assert confine(Path("/tmp/a\0b"), [tmp_path]) is None


def test_nothing_is_written_into_an_untrusted_workspace(tmp_path: Path) -> None:
    """A committed `.tapps_cache` could hold links to files elsewhere, at any depth (a
    `mypy/3.11` link to a folder where mypy writes its database)."""
    root, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    (root / ".tapps_cache" / "mypy").mkdir(parents=True)
    elsewhere.mkdir()
    (root / ".tapps_cache" / "mypy" / "3.11").symlink_to(elsewhere)
    untrusted, _ = project_settings(root)
    assert root not in cache_folder(root, untrusted).parents
    trusted, _ = project_settings(root, {"trustedWorkspace": True})
    assert cache_folder(root, trusted) == root / ".tapps_cache"
    named, _ = project_settings(root, {"cache": {"dir": str(tmp_path / "mine")}})
    assert cache_folder(root, named) == tmp_path / "mine", "the client's own folder"

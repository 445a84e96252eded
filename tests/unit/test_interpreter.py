"""Which Python environment mypy checks against: the project's own, found or named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tapps_lsp.analyzers.interpreter import (
    OURS,
    PythonEnvironment,
    candidate_interpreters,
    choose_environment,
    module_command,
    shebang_interpreter,
    shown_command,
)
from tapps_lsp.analyzers.trust import same_interpreter
from tests.environments import make_venv


def fake_python(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


async def choose(root: Path, **kwargs: object) -> PythonEnvironment:
    options: dict[str, object] = {
        "interpreter": None,
        "mypy_path": None,
        "environ": {},
        "trusted": True,
    }
    options.update(kwargs)
    return await choose_environment(root, **options)  # type: ignore[arg-type]


async def test_without_a_project_environment_ours_is_used(tmp_path: Path) -> None:
    environment = await choose(tmp_path)
    assert environment.python == sys.executable
    assert environment.origin == OURS
    assert environment.mypy_command == module_command(sys.executable, "mypy")
    assert environment.mypy_python == sys.executable
    assert environment.python_executable_args == ()
    assert environment.mypy_module is not None and environment.mypy_module.name == "version.py"


def test_candidates_in_order_of_preference(tmp_path: Path) -> None:
    named = fake_python(tmp_path / "envs" / "named" / "bin" / "python")
    dot_venv = fake_python(tmp_path / ".venv" / "bin" / "python")
    venv = fake_python(tmp_path / "venv" / "bin" / "python")
    active = fake_python(tmp_path / "active" / "bin" / "python")
    environ = {"VIRTUAL_ENV": str(tmp_path / "active")}
    found = candidate_interpreters(tmp_path, "envs/named/bin/python", environ)
    assert [python for python, _ in found] == [str(p) for p in (named, dot_venv, venv, active)]
    assert [origin for _, origin in found] == [
        "setting `interpreter`",
        "workspace `.venv`",
        "workspace `venv`",
        "$VIRTUAL_ENV",
    ]


def test_missing_or_not_executable_candidates_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text("not executable")
    assert candidate_interpreters(tmp_path, None, {"VIRTUAL_ENV": "/nowhere"}) == []


async def test_a_venv_without_mypy_is_checked_by_our_mypy(tmp_path: Path) -> None:
    python = make_venv(tmp_path / ".venv")
    environment = await choose(tmp_path)
    assert environment.python == str(python)
    assert environment.origin == "workspace `.venv`, without mypy"
    assert environment.mypy_command == module_command(sys.executable, "mypy")
    assert environment.mypy_python == sys.executable
    assert environment.python_executable_args == ("--python-executable", str(python))


async def test_a_venv_with_mypy_runs_its_own(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv", with_our_mypy=True)
    environment = await choose(tmp_path)
    assert environment.origin == "workspace `venv`"
    assert environment.mypy_command == module_command(str(python), "mypy")
    assert environment.mypy_python == str(python)
    assert environment.python_executable_args == ()


async def test_the_interpreter_setting_wins_and_may_be_relative(tmp_path: Path) -> None:
    make_venv(tmp_path / ".venv")
    named = make_venv(tmp_path / "tools" / "env", with_our_mypy=True)
    environment = await choose(tmp_path, interpreter="tools/env/bin/python")
    assert environment.python == str(named)
    assert environment.origin == "setting `interpreter`"


async def test_virtual_env_is_used_when_the_folder_has_none(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "elsewhere")
    environment = await choose(
        tmp_path / "project", environ={"VIRTUAL_ENV": str(python.parent.parent)}
    )
    assert environment.python == str(python)
    assert environment.origin == "$VIRTUAL_ENV, without mypy"


async def test_our_own_venv_as_virtual_env_is_ours(tmp_path: Path) -> None:
    prefix = Path(sys.executable).parent.parent
    environment = await choose(tmp_path, environ={"VIRTUAL_ENV": str(prefix)})
    if os.path.abspath(prefix / "bin" / "python") != os.path.abspath(sys.executable):
        pytest.skip("the tests do not run from a venv's bin/python")
    assert environment.origin == OURS
    assert environment.python_executable_args == ()


async def test_a_missing_interpreter_setting_is_a_clear_problem(tmp_path: Path) -> None:
    make_venv(tmp_path / ".venv")
    environment = await choose(tmp_path, interpreter="/no/such/python")
    assert environment.problem is not None and "/no/such/python" in environment.problem
    assert environment.python == sys.executable
    assert environment.mypy_command == module_command(sys.executable, "mypy")


async def test_mypy_path_runs_in_its_shebang_interpreter(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "env", with_our_mypy=True)
    script = tmp_path / "env" / "bin" / "mypy"
    script.write_text(f"#!{python}\nfrom mypy.__main__ import console_entry\nconsole_entry()\n")
    script.chmod(0o755)
    environment = await choose(tmp_path, mypy_path=str(script))
    assert environment.mypy_command == (str(script),)
    assert environment.python == environment.mypy_python == str(python)
    assert shebang_interpreter(str(tmp_path / "missing")) is None


def test_python_and_python3_of_one_venv_are_our_interpreter(tmp_path: Path) -> None:
    """No probe process for our own venv named another way (`python` vs `python3`)."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3").symlink_to(sys.executable)
    (bin_dir / "python").symlink_to("python3")
    assert same_interpreter(str(bin_dir / "python"), str(bin_dir / "python3"))
    other = tmp_path / "other" / "bin"
    other.mkdir(parents=True)
    (other / "python3").symlink_to(sys.executable)
    assert not same_interpreter(str(other / "python3"), str(bin_dir / "python3")), (
        "another venv on the same base interpreter is another environment"
    )


# --- an untrusted workspace runs nothing of its own ----------------------------------


async def test_an_untrusted_workspace_venv_is_not_chosen(tmp_path: Path) -> None:
    make_venv(tmp_path / ".venv", with_our_mypy=True)
    environment = await choose(tmp_path, trusted=False)
    assert environment.python == sys.executable
    assert environment.origin == OURS
    assert candidate_interpreters(tmp_path, None, {}, trusted=False) == []


async def test_an_untrusted_workspace_refuses_settings_that_point_into_it(
    tmp_path: Path,
) -> None:
    inside = fake_python(tmp_path / "tools" / "bin" / "python")
    environment = await choose(tmp_path, interpreter="tools/bin/python", trusted=False)
    assert environment.python == sys.executable
    assert environment.problem is not None and "not trusted" in environment.problem
    script = fake_python(tmp_path / "bin" / "mypy")
    environment = await choose(tmp_path, mypy_path=str(script), trusted=False)
    assert environment.mypy_command == module_command(sys.executable, "mypy")
    assert environment.problem is not None and "`mypy.path`" in environment.problem
    environ = {"VIRTUAL_ENV": str(inside.parent.parent)}
    assert candidate_interpreters(tmp_path, None, environ, trusted=False) == []


async def test_an_untrusted_workspace_still_runs_an_interpreter_outside_it(
    tmp_path: Path,
) -> None:
    python = make_venv(tmp_path / "elsewhere")
    environment = await choose(tmp_path / "project", interpreter=str(python), trusted=False)
    assert environment.python == str(python)
    assert environment.problem is None


def test_the_module_launcher_does_not_import_from_the_working_directory(
    tmp_path: Path,
) -> None:
    """`python -m mypy` from the project root imported a `mypy_extensions.py` there in
    place of mypy's own: a repository's code, run by opening it."""
    marker = tmp_path / "MARKER"
    (tmp_path / "mypy_extensions.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    done = subprocess.run(
        [*module_command(sys.executable, "mypy"), "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"},
    )
    assert done.returncode == 0 and done.stdout.startswith("mypy "), done.stderr
    assert not marker.exists()
    unsafe = subprocess.run(
        [sys.executable, "-m", "mypy", "--version"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"},
    )
    assert unsafe is not None and marker.exists(), "the plain `-m` imports it (the hole)"
    assert shown_command(module_command("/py", "mypy")) == "/py -m mypy"


def test_the_launcher_drops_the_working_directory_before_importing_runpy(
    tmp_path: Path,
) -> None:
    """Without frozen modules (as on Python 3.10 and older) `runpy` itself is imported from
    sys.path: a `runpy.py` in the project root must not be the one."""
    marker = tmp_path / "MARKER"
    (tmp_path / "runpy.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    python, *rest = module_command(sys.executable, "mypy")
    done = subprocess.run(
        [python, "-X", "frozen_modules=off", *rest, "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"},
    )
    assert done.returncode == 0, done.stderr
    assert not marker.exists()

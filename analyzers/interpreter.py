"""Which Python environment mypy checks a project against, and which mypy runs.

The project's own environment is the truth a user's CI sees: its installed packages
resolve the imports, and its mypy (with its plugins and cache format) gives the
answers. In order of preference the interpreter is the `interpreter` setting, the
interpreter in a `mypy.path` script's shebang, the workspace's `.venv` or `venv`,
`$VIRTUAL_ENV`, or our own. When that environment has mypy, its mypy runs there; when
it has none, our mypy checks against it with `--python-executable`. In an untrusted
workspace nothing inside it runs (analyzers.trust): not its `.venv`, and not an
interpreter a setting names there.

Python starts with the working directory (the project root) first on `sys.path` for
`-m` and `-c`, so a module of the repository's (a `mypy_extensions.py` at the root)
would be imported in place of mypy's own: every Python we start goes through
`module_command` or `process.SAFE_PATH_PRELUDE`, which take that entry out.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tapps_lsp.analyzers.environment import interpreter_facts
from tapps_lsp.analyzers.process import SAFE_PATH_PRELUDE
from tapps_lsp.analyzers.trust import (
    BIN,
    PYTHON,
    inside_untrusted_message,
    may_run,
    program_location,
    resolve_against,
    same_interpreter,
    workspace_interpreters,
)

OURS = "tapps-lsp's own"
# `python -m MODULE ARGS` without the working directory on sys.path: Python 3.11's
# PYTHONSAFEPATH and -P leave it out already; older ones put it first for `-c` too.
_RUN_MODULE = (
    SAFE_PATH_PRELUDE
    + "import runpy; runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)"
)


def module_command(python: str, module: str) -> tuple[str, ...]:
    """Run `module` as `python -m module` would, minus the working directory on sys.path."""
    return (python, "-c", _RUN_MODULE, module)


def module_of(command: Sequence[str]) -> str | None:
    """The module a `python -m MODULE` or `module_command` runs; None for other commands."""
    if len(command) == 3 and command[1] == "-m":
        return command[2]
    if len(command) == 4 and command[1] == "-c" and command[2] == _RUN_MODULE:
        return command[3]
    return None


def shown_command(command: Sequence[str]) -> str:
    """A command for people: `module_command`'s launcher shown as the `-m` it stands for."""
    module = module_of(command)
    return f"{command[0]} -m {module}" if module else " ".join(command)


@dataclass(frozen=True, slots=True)
class PythonEnvironment:
    """The interpreter mypy resolves imports from, and how mypy is started for it."""

    python: str | None
    origin: str
    mypy_command: tuple[str, ...]
    # The interpreter that imports mypy itself (and so can host the engine's worker).
    mypy_python: str | None
    mypy_module: Path | None = None
    problem: str | None = None

    @property
    def python_executable_args(self) -> tuple[str, ...]:
        """What our mypy needs to see this environment's packages."""
        if self.python is None or self.mypy_python == self.python:
            return ()
        return ("--python-executable", self.python)

    def describe(self) -> dict[str, object]:
        return {
            "python": self.python,
            "origin": self.origin,
            "mypy": shown_command(self.mypy_command),
            "mypyFrom": str(self.mypy_module) if self.mypy_module else None,
            "problem": self.problem,
        }


def candidate_interpreters(
    root: Path, setting: str | None, environ: Mapping[str, str], *, trusted: bool = True
) -> list[tuple[str, str]]:
    """(interpreter, where it came from), best first; only ones that exist and that the
    workspace's trust lets run."""
    found: list[tuple[str, str]] = []
    if setting:
        found.append((str(resolve_against(setting, root)), "setting `interpreter`"))
    found.extend(workspace_interpreters(root))
    virtual_env = environ.get("VIRTUAL_ENV")
    if virtual_env:
        found.append((str(Path(virtual_env) / BIN / PYTHON), "$VIRTUAL_ENV"))
    return [
        (python, origin)
        for python, origin in found
        if _is_executable(python) and may_run(python, root, trusted=trusted)
    ]


async def choose_environment(
    root: Path,
    *,
    interpreter: str | None,
    mypy_path: str | None,
    trusted: bool,
    environ: Mapping[str, str] | None = None,
) -> PythonEnvironment:
    environ = os.environ if environ is None else environ
    if mypy_path:
        # A path is the project's; a bare name is the one on PATH (its shebang is read
        # there, not in our working directory).
        located = program_location(mypy_path, root)
        mypy_path = str(located) if located is not None else mypy_path
    else:
        located = None
    refused = _refused_setting(root, interpreter, mypy_path, trusted=trusted)
    if refused is not None:
        return await _ours(f"{OURS}: {refused[0]}", refused[1])
    if mypy_path:
        # Not found on PATH: no file to read a #! from (not one in our working directory).
        python = shebang_interpreter(mypy_path) if located is not None else None
        if python is not None and not may_run(python, root, trusted=trusted):
            problem = inside_untrusted_message("mypy.path", f"{mypy_path} (its #! {python})")
            return await _ours(f"{OURS}: the `mypy.path` setting is not run", problem)
        return PythonEnvironment(python, "setting `mypy.path`", (mypy_path,), python)
    candidates = candidate_interpreters(root, interpreter, environ, trusted=trusted)
    if not candidates or same_interpreter(candidates[0][0], sys.executable):
        return await _ours(OURS)
    python, origin = candidates[0]
    module = await mypy_module_of(python)
    if module is not None:
        return PythonEnvironment(python, origin, module_command(python, "mypy"), python, module)
    return PythonEnvironment(python, f"{origin}, without mypy", _our_mypy(), sys.executable)


def _refused_setting(
    root: Path, interpreter: str | None, mypy_path: str | None, *, trusted: bool
) -> tuple[str, str] | None:
    """(why, the problem) when the `mypy.path` or `interpreter` setting cannot be used."""
    if mypy_path and not may_run(mypy_path, root, trusted=trusted):
        problem = inside_untrusted_message("mypy.path", mypy_path)
        return "the `mypy.path` setting is not run", problem
    if mypy_path or not interpreter:
        return None
    python = str(resolve_against(interpreter, root))
    if not _is_executable(python):
        problem = f"the `interpreter` setting names {interpreter}, which is not an executable"
        return "the `interpreter` setting is not usable", problem
    if not may_run(python, root, trusted=trusted):
        problem = inside_untrusted_message("interpreter", interpreter)
        return "the `interpreter` setting is not run", problem
    return None


async def mypy_module_of(python: str) -> Path | None:
    """mypy's `version.py` as `python` imports it, if mypy is installed there."""
    init = (await interpreter_facts(python)).mypy_init
    if init is None:
        return None
    version = init.with_name("version.py")
    return version if version.is_file() else init


def shebang_interpreter(script: str) -> str | None:
    """The Python in a console script's `#!` line; None when that cannot be told."""
    try:
        with open(script, "rb") as handle:
            first = handle.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    if words and "python" in Path(words[0]).name:
        return words[0]
    return None


async def _ours(origin: str, problem: str | None = None) -> PythonEnvironment:
    module = await mypy_module_of(sys.executable)
    return PythonEnvironment(
        sys.executable, origin, _our_mypy(), sys.executable, module, problem=problem
    )


def _our_mypy() -> tuple[str, ...]:
    return module_command(sys.executable, "mypy")


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)

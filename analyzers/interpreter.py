"""Which Python environment mypy checks a project against, and which mypy runs.

The project's own environment is the truth a user's CI sees: its installed packages
resolve the imports, and its mypy (with its plugins and cache format) gives the
answers. In order of preference the interpreter is the `interpreter` setting, the
interpreter in a `mypy.path` script's shebang, the workspace's `.venv` or `venv`,
`$VIRTUAL_ENV`, or our own. When that environment has mypy, its mypy runs there; when
it has none, our mypy checks against it with `--python-executable`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from analyzers.environment import interpreter_facts

OURS = "tapps-lsp's own"


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
            "mypy": " ".join(self.mypy_command),
            "mypyFrom": str(self.mypy_module) if self.mypy_module else None,
            "problem": self.problem,
        }


def candidate_interpreters(
    root: Path, setting: str | None, environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(interpreter, where it came from), best first; only ones that exist."""
    found: list[tuple[str, str]] = []
    if setting:
        found.append((_resolve_setting(root, setting), "setting `interpreter`"))
    for folder in (".venv", "venv"):
        found.append((str(root / folder / _BIN / _PYTHON), f"workspace `{folder}`"))
    virtual_env = environ.get("VIRTUAL_ENV")
    if virtual_env:
        found.append((str(Path(virtual_env) / _BIN / _PYTHON), "$VIRTUAL_ENV"))
    return [(python, origin) for python, origin in found if _is_executable(python)]


async def choose_environment(
    root: Path,
    *,
    interpreter: str | None,
    mypy_path: str | None,
    environ: Mapping[str, str] | None = None,
) -> PythonEnvironment:
    environ = os.environ if environ is None else environ
    if mypy_path:
        python = shebang_interpreter(mypy_path)
        return PythonEnvironment(python, "setting `mypy.path`", (mypy_path,), python)
    candidates = candidate_interpreters(root, interpreter, environ)
    if interpreter and not _is_executable(_resolve_setting(root, interpreter)):
        problem = f"the `interpreter` setting names {interpreter}, which is not an executable"
        return await _ours(f"{OURS}: the `interpreter` setting is not usable", problem)
    if not candidates or _same_interpreter(candidates[0][0], sys.executable):
        return await _ours(OURS)
    python, origin = candidates[0]
    module = await mypy_module_of(python)
    if module is not None:
        return PythonEnvironment(python, origin, (python, "-m", "mypy"), python, module)
    return PythonEnvironment(python, f"{origin}, without mypy", _our_mypy(), sys.executable)


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
    return (sys.executable, "-m", "mypy")


_BIN = "Scripts" if sys.platform == "win32" else "bin"
_PYTHON = "python.exe" if sys.platform == "win32" else "python"


def _resolve_setting(root: Path, setting: str) -> str:
    path = Path(os.path.expanduser(setting))
    return str(path if path.is_absolute() else root / path)


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _same_interpreter(a: str, b: str) -> bool:
    """Two paths to one venv's python are the same (`python` and `python3` in one bin
    folder, the same binary); a venv's python and its base are not."""
    a, b = os.path.abspath(a), os.path.abspath(b)
    if a == b:
        return True
    same_folder = os.path.dirname(a) == os.path.dirname(b)
    return same_folder and os.path.realpath(a) == os.path.realpath(b)

"""Workspace trust: what a repository may choose of the programs we run.

A repository is untrusted input. Only the client (initializationOptions,
workspace/configuration, didChangeConfiguration) or the CLI's own flags can say that a
workspace is trusted, with `trustedWorkspace`; nothing in the workspace's own files can.
Until then:

- settings that name a program or become a tool's arguments (`SCREENED_KEYS`) are not
  taken from `[tool.tapps]`, nor from workspace/configuration or didChangeConfiguration,
  which some clients fill from the workspace's own files (`screen_client_layer`): only
  from `initializationOptions`;
- no program inside the workspace runs, whoever named it: not its `.venv` interpreter,
  not a tool path that resolves into it;
- mypy does not run over a config that makes it run code (`plugins`, which it imports,
  or `python_executable`, which it starts) or write files anywhere (`junit_xml`, the
  reports); it gets the config file we screened, never one it finds itself, and
  `--no-install-types` (`untrusted_mypy_args`);
- nothing is written into the workspace: results go to the user's cache folder for it
  (`workspace.cache_folder`), since a committed `.tapps_cache` could hold links.

Every feature that runs a program asks this module.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tapps_lsp.analyzers.configs import MypyConfig, mypy_config_value, user_mypy_configs

if TYPE_CHECKING:
    from tapps_lsp.analyzers.settings import ReviewSettings

TRUST_KEY = "trusted_workspace"
TRUST_SETTING = "trustedWorkspace"
# Dotted names (snake_case, as merged) of the settings that name a program we start, or
# that become a tool's arguments (mypy reads `@file` arguments and flag abbreviations, ruff
# writes `--output-file`: no screen of single flags is safe). Workflows' `command` and
# `tests` steps are refused at run time instead (`untrusted_step_message`).
SCREENED_KEYS: tuple[str, ...] = (
    "ruff.path",
    "mypy.path",
    "interpreter",
    "ruff.args",
    "mypy.args",
    "mypy.targets",
    "cache.dir",
    "test_command",
)
# mypy config options that make mypy run code (it imports plugins, it starts the
# executable) or write files where the config says.
CODE_OPTIONS: tuple[str, ...] = ("plugins", "python_executable")
WRITE_OPTIONS: tuple[str, ...] = (
    "junit_xml",
    "report_dirs",
    "any_exprs_report",
    "cobertura_xml_report",
    "html_report",
    "linecount_report",
    "linecoverage_report",
    "lineprecision_report",
    "memory_xml_report",
    "txt_report",
    "xml_report",
    "xslt_html_report",
    "xslt_txt_report",
)

HOW_TO_TRUST = (
    "trust the workspace to use it: in VS Code, trust the folder; in other editors, send "
    "`trustedWorkspace: true` in initializationOptions (README: Workspace trust); with "
    "`tapps-lsp check`, pass --trust"
)


def screen_project_layer(
    layer: Mapping[str, Any], *, trusted: bool
) -> tuple[dict[str, Any], list[str]]:
    """`[tool.tapps]` (normalised) without what the workspace may not choose, and the
    dotted names of what was left out. The trust setting itself is always left out."""
    kept = _copy(layer)
    ignored: list[str] = []
    if TRUST_KEY in kept:
        del kept[TRUST_KEY]
        ignored.append(TRUST_SETTING)
    if trusted:
        return kept, ignored
    for dotted in SCREENED_KEYS:
        if _pop_dotted(kept, dotted):
            ignored.append(dotted)
    return kept, ignored


def ignored_message(ignored: Sequence[str], pyproject: Path) -> str:
    """The one message that says which `[tool.tapps]` keys were not applied, and why."""
    names = ", ".join(f"`{name}`" for name in ignored)
    if list(ignored) == [TRUST_SETTING]:
        return (
            f"`{TRUST_SETTING}` in [tool.tapps] of {pyproject} is ignored: a workspace "
            "cannot trust itself; only the client's settings can"
        )
    return (
        f"{names} in [tool.tapps] of {pyproject} ignored: the workspace is not trusted, "
        f"so it cannot choose the programs tapps-lsp runs, nor their arguments; {HOW_TO_TRUST}"
    )


def screen_client_layer(
    layer: Mapping[str, Any], initialization: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """A client layer that a workspace's own files may fill (workspace/configuration,
    didChangeConfiguration: Eglot takes `eglot-workspace-configuration` from
    `.dir-locals.el` without asking), for a workspace that is not trusted: without the
    screened keys, unless `initialization` (initializationOptions) gives the same value.
    Returns the layer and the dotted names left out (only those that differed)."""
    kept = _copy(layer)
    ignored: list[str] = []
    for dotted in SCREENED_KEYS:
        value = _get_dotted(kept, dotted)
        if _pop_dotted(kept, dotted) and value != _get_dotted(_copy(initialization), dotted):
            ignored.append(dotted)
    return kept, ignored


def client_layer_message(ignored: Sequence[str]) -> str:
    names = ", ".join(f"`{name}`" for name in ignored)
    return (
        f"{names} from workspace/configuration ignored: the workspace is not trusted, and "
        "what a client answers there can come from the workspace's own files; in an "
        "untrusted workspace these settings come from initializationOptions only; "
        f"{HOW_TO_TRUST}"
    )


def untrusted_mypy_args(config: MypyConfig) -> tuple[str, ...]:
    """What mypy gets in an untrusted workspace: the config file we screened and nothing
    it would find itself (its search can stop elsewhere than ours), and no installs."""
    named = config.config_file
    if named is None:  # no project config: mypy would read the user's own, and only that
        named = next(iter(user_mypy_configs()), None)
    # `--interactive` undoes a config's `non_interactive`, which mypy refuses without
    # `install_types`.
    return (f"--config-file={named or ''}", "--no-install-types", "--interactive")


def may_run(program: str, root: Path, *, trusted: bool) -> bool:
    """Whether a program that a setting names may be started: in an untrusted workspace,
    nothing inside the workspace runs. A relative path is the workspace's (it resolves
    against the root); a bare name is looked up on PATH."""
    if trusted:
        return True
    location = program_location(program, root)
    return location is None or not _touches(location, root)


def _touches(program: Path, root: Path) -> bool:
    """A program is the workspace's if its path is inside it, or what its path resolves
    to is: a venv's `python` links to a base interpreter elsewhere, yet runs the venv's
    `.pth` files at start."""
    named = Path(os.path.abspath(program))
    roots = {Path(os.path.abspath(root)), root.resolve()}
    return any(named == r or r in named.parents for r in roots) or is_inside(program, roots)


def untrusted_step_message(step: str, uses: str, origin: str) -> str:
    """Why a workflow's `tests` or `command` step does not run: the workflow comes from
    the workspace's own files (pyproject.toml, or settings a client may fill from them)."""
    where = "pyproject.toml" if origin == "pyproject" else "the workspace's settings"
    return (
        f"step `{step}` ({uses}) runs a program that {where} names, and the workspace is "
        f"not trusted: it is not run; {HOW_TO_TRUST}"
    )


def inside_untrusted_message(setting: str, value: str) -> str:
    return (
        f"the `{setting}` setting names {value}, inside the workspace, which is not "
        f"trusted: it is not run; {HOW_TO_TRUST}"
    )


def program_location(program: str, root: Path) -> Path | None:
    """Where the file a setting names is: a bare name on PATH, a path against `root`."""
    if os.sep not in program and not (os.altsep and os.altsep in program):
        found = shutil.which(program)
        return Path(found) if found else None
    return resolve_against(program, root)


def workspace_interpreters(root: Path) -> list[tuple[str, str]]:
    """The workspace's own environments' interpreters, (path, where from), that exist."""
    found = []
    for folder in (".venv", "venv"):
        python = root / folder / BIN / PYTHON
        if os.path.isfile(python) and os.access(python, os.X_OK):
            found.append((str(python), f"workspace `{folder}`"))
    return found


def untrusted_notices(root: Path, settings: ReviewSettings) -> list[str]:
    """What an untrusted workspace loses that the user should hear of once: its own
    environment, when no setting of the client's chose another."""
    if settings.trusted_workspace or settings.interpreter or settings.mypy.path:
        return []
    not_run = not_run_interpreters(root)
    return [
        f"the workspace is not trusted, so its interpreter {python} is not run: mypy checks "
        f"against another environment (tapps.printDebugInformation: pythonEnvironment), and "
        f"imports of the project's installed packages may not resolve; {HOW_TO_TRUST}"
        for python in not_run[:1]
    ]


def not_run_interpreters(root: Path) -> list[str]:
    """The workspace's interpreters an untrusted workspace keeps from running (our own,
    when tapps-lsp runs from the workspace's `.venv`, is running already)."""
    return [
        python
        for python, _origin in workspace_interpreters(root)
        if not same_interpreter(python, sys.executable)
    ]


def code_mypy_would_run(config: MypyConfig, args: Sequence[str]) -> str | None:
    """Why mypy would run code of the project's, or write files where it says, with this
    config and these arguments (the client's; the last `--config-file` wins, as in mypy),
    or None."""
    config_file = config.config_file
    for index, arg in enumerate(args):
        if arg == "--config-file" and index + 1 < len(args):
            config_file = resolve_against(args[index + 1], config.root)
        elif arg.startswith("--config-file="):
            config_file = resolve_against(arg.split("=", 1)[1], config.root)
    if config_file is None:
        return None
    for option in (*CODE_OPTIONS, *WRITE_OPTIONS):
        value = mypy_config_value(config_file, option)
        if value not in (None, "", []):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            what = {"plugins": "imports", "python_executable": "starts"}.get(option, "writes")
            return f"its mypy config ({config_file}) sets `{option}` ({shown}), which mypy {what}"
    return None


def untrusted_mypy_message(reason: str) -> str:
    return (
        f"mypy: not run, since the workspace is not trusted and {reason}; ruff and the "
        f"score still run; {HOW_TO_TRUST}"
    )


def is_inside(path: Path, roots: Iterable[Path]) -> bool:
    """`path`, with `..` and symlinks resolved, is one of `roots` or under one."""
    return confine(path, roots) is not None


def confine(path: Path, roots: Iterable[Path]) -> Path | None:
    """`path` resolved (`..` and symlinks), if that is inside one of `roots` (also
    resolved); else None. The one check that keeps paths from outside in."""
    try:
        resolved = path.resolve()
    except (OSError, ValueError):  # a NUL byte, a loop of links: not a path we accept
        return None
    for root in roots:
        real = root.resolve()
        if resolved == real or real in resolved.parents:
            return resolved
    return None


BIN = "Scripts" if sys.platform == "win32" else "bin"
PYTHON = "python.exe" if sys.platform == "win32" else "python"


def same_interpreter(a: str, b: str) -> bool:
    """Two paths to one venv's python are the same (`python` and `python3` in one bin
    folder, the same binary); a venv's python and its base are not."""
    a, b = os.path.abspath(a), os.path.abspath(b)
    if a == b:
        return True
    same_folder = os.path.dirname(a) == os.path.dirname(b)
    return same_folder and os.path.realpath(a) == os.path.realpath(b)


def resolve_against(value: str, root: Path) -> Path:
    """A setting's path: `~` expanded, a relative one against the project root."""
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else root / path


def _copy(layer: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, Mapping) else v for k, v in layer.items()}


def _get_dotted(layer: Mapping[str, Any], dotted: str) -> Any:
    node: Any = layer
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _pop_dotted(layer: dict[str, Any], dotted: str) -> bool:
    *parents, last = dotted.split(".")
    node: Any = layer
    for part in parents:
        node = node.get(part)
        if not isinstance(node, dict):
            return False
    if last not in node:
        return False
    del node[last]
    return True

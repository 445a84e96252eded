"""Find the configuration files ruff and mypy apply to a path, the way each tool does."""

from __future__ import annotations

import configparser
import functools
import logging
import os
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RUFF_CONFIG_NAMES = (".ruff.toml", "ruff.toml", "pyproject.toml")
MYPY_CONFIG_NAMES = ("mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg")
WATCHED_CONFIG_NAMES = frozenset({*RUFF_CONFIG_NAMES, *MYPY_CONFIG_NAMES})
_REPO_MARKERS = (".git", ".hg")


@dataclass(frozen=True, slots=True)
class MypyConfig:
    """Where the project's mypy run starts and what it checks."""

    root: Path
    config_file: Path | None
    targets_from_config: bool


_toml_memo: dict[Path, tuple[int, int, dict[str, Any]]] = {}
# A file written twice within one timestamp tick keeps its (mtime_ns, size): a stat is
# only trusted once the file is older than the coarsest tick (2 s on some filesystems).
_RACY_NS = 2_000_000_000


def read_toml(path: Path) -> dict[str, Any]:
    """Parsed TOML, re-parsed only when the file's (mtime_ns, size) moves."""
    try:
        stat = path.stat()
        memo = _toml_memo.get(path)
        if memo is not None and memo[:2] == (stat.st_mtime_ns, stat.st_size):
            return memo[2]
        read_at = time.time_ns()
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        log.debug("cannot read %s: %s", path, exc)
        return {}
    if stat.st_mtime_ns < read_at - _RACY_NS:
        _toml_memo[path] = (stat.st_mtime_ns, stat.st_size, data)
    return data


_text_memo: dict[Path, tuple[int, int, str]] = {}


def read_text(path: Path) -> str:
    """A config file's text ("" when unreadable), re-read only when its stat moves."""
    try:
        stat = path.stat()
        memo = _text_memo.get(path)
        if memo is not None and memo[:2] == (stat.st_mtime_ns, stat.st_size):
            return memo[2]
        read_at = time.time_ns()
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    if stat.st_mtime_ns < read_at - _RACY_NS:
        _text_memo[path] = (stat.st_mtime_ns, stat.st_size, text)
    return text


# Folder -> (its mtime, the names in it, until when that answer holds if the mtime is
# too recent to tell a later change apart: 0 when it holds as long as the mtime does).
_listing_memo: dict[Path, tuple[int, frozenset[str], int]] = {}
_LISTED_NAMES = (*WATCHED_CONFIG_NAMES, *_REPO_MARKERS)
# A freshly written folder (a new checkout) is listed again at most this often: a batch
# asks about the same folders hundreds of times within a second.
_RECENT_LISTING_NS = 500_000_000


def present_names(folder: Path) -> frozenset[str]:
    """Which config files and repository markers `folder` holds. A name that comes or
    goes changes the folder's mtime, so the answer is remembered under it."""
    try:
        mtime = os.stat(folder).st_mtime_ns
    except OSError:
        return frozenset()
    now = time.time_ns()
    memo = _listing_memo.get(folder)
    if memo is not None and memo[0] == mtime and (memo[2] == 0 or now < memo[2]):
        return memo[1]
    present = frozenset(name for name in _LISTED_NAMES if os.path.exists(folder / name))
    racy = mtime >= now - _RACY_NS
    _listing_memo[folder] = (mtime, present, now + _RECENT_LISTING_NS if racy else 0)
    return present


def _has_tool_section(pyproject: Path, tool: str) -> bool:
    data = read_toml(pyproject)
    tools = data.get("tool")
    return isinstance(tools, dict) and tool in tools


def tool_table(data: dict[str, Any], tool: str) -> dict[str, Any]:
    """`[tool.<tool>]` of parsed pyproject data, or {} when it is missing or not a table."""
    tools = data.get("tool")
    section = tools.get(tool) if isinstance(tools, dict) else None
    return section if isinstance(section, dict) else {}


def _setup_cfg_has_mypy(path: Path) -> bool:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return False
    return parser.has_section("mypy")


def _mypy_config_in(folder: Path, present: frozenset[str]) -> Path | None:
    for name in MYPY_CONFIG_NAMES:
        candidate = folder / name
        if name not in present or not candidate.is_file():
            continue
        if name == "pyproject.toml" and not _has_tool_section(candidate, "mypy"):
            continue
        if name == "setup.cfg" and not _setup_cfg_has_mypy(candidate):
            continue
        return candidate
    return None


def _folder_of(path: Path) -> Path:
    if path.suffix in (".py", ".pyi"):
        return path.parent
    return path if path.is_dir() else path.parent


def find_mypy_config(path: Path, fallback_root: Path) -> MypyConfig:
    """mypy's own search: the file's folder upwards, stopping at a repository root."""
    folder = _folder_of(path)
    for candidate_dir in (folder, *folder.parents):
        present = present_names(candidate_dir)
        config = _mypy_config_in(candidate_dir, present)
        if config is not None:
            return MypyConfig(candidate_dir, config, _config_names_targets(config))
        if any(marker in present for marker in _REPO_MARKERS):
            break
    return MypyConfig(fallback_root, None, targets_from_config=False)


def _config_names_targets(config: Path) -> bool:
    keys = ("files", "modules", "packages")
    if config.name == "pyproject.toml":
        section = tool_table(read_toml(config), "mypy")
        return any(section.get(key) for key in keys)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(config, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return False
    return parser.has_section("mypy") and any(parser.get("mypy", k, fallback="") for k in keys)


def mypy_config_value(config_file: Path, name: str) -> Any:
    """A global `[mypy]` option as written: any TOML value from pyproject.toml, the
    stripped string from an ini file; None when unset or unreadable."""
    if config_file.name == "pyproject.toml":
        return tool_table(read_toml(config_file), "mypy").get(name)
    return _ini_mypy_section(read_text(config_file)).get(name)


@functools.lru_cache(maxsize=32)
def _ini_mypy_section(text: str) -> dict[str, str]:
    """The `[mypy]` section of an ini file's text, parsed once per content (the trust
    check reads a dozen options on every run)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
        return {key: value.strip() for key, value in parser.items("mypy")}
    except configparser.Error:
        return {}


def _applies_to_ruff(candidate: Path) -> bool:
    """A pyproject.toml shapes ruff through `[tool.ruff]`, and also without one through
    `[project] requires-python`: ruff infers its target version from it."""
    if candidate.name != "pyproject.toml":
        return True
    data = read_toml(candidate)
    tools, project = data.get("tool"), data.get("project")
    return (isinstance(tools, dict) and "ruff" in tools) or (
        isinstance(project, dict) and "requires-python" in project
    )


def ruff_config_files(path: Path) -> tuple[Path, ...]:
    """Every file that can shape ruff's settings for `path`.

    The nearest applicable config, anything it `extend`s, and the user-level config
    that ruff falls back to. Over-approximating is safe: it only costs cache hits.
    """
    folder = _folder_of(path)
    found: list[Path] = []
    for candidate_dir in (folder, *folder.parents):
        present = present_names(candidate_dir)
        for name in RUFF_CONFIG_NAMES:
            candidate = candidate_dir / name
            if name in present and candidate.is_file() and _applies_to_ruff(candidate):
                found.extend(_with_extends(candidate))
    found.extend(_user_ruff_configs())
    return tuple(dict.fromkeys(found))


def _with_extends(config: Path, depth: int = 0) -> list[Path]:
    chain = [config]
    if depth > 8:
        return chain
    data = read_toml(config)
    section = tool_table(data, "ruff") if config.name == "pyproject.toml" else data
    extended = section.get("extend")
    if isinstance(extended, str):
        target = (config.parent / os.path.expanduser(extended)).resolve()
        if target.is_file():
            chain.extend(_with_extends(target, depth + 1))
    return chain


@functools.cache
def _user_config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def _user_ruff_configs() -> list[Path]:
    folder = _user_config_home() / "ruff"
    return [
        folder / name
        for name in ("ruff.toml", ".ruff.toml", "pyproject.toml")
        if (folder / name).is_file()
    ]


def user_mypy_configs() -> list[Path]:
    candidates = [_user_config_home() / "mypy" / "config", Path.home() / ".mypy.ini"]
    return [c for c in candidates if c.is_file()]


def pyproject_tapps_section(root: Path) -> dict[str, Any]:
    """`[tool.tapps]` from the pyproject.toml at `root`, or {}."""
    return tool_table(read_toml(root / "pyproject.toml"), "tapps")


def config_option(config: MypyConfig, name: str) -> bool | str | None:
    """A `[mypy]` option as the config file sets it (booleans parsed), or None."""
    if config.config_file is None:
        return None
    value = mypy_config_value(config.config_file, name)
    if config.config_file.name == "pyproject.toml":
        return value if isinstance(value, bool | str) else None
    if not isinstance(value, str):
        return None
    states = configparser.ConfigParser.BOOLEAN_STATES
    return states.get(value.lower(), value)


def config_bool(config: MypyConfig, name: str) -> bool | None:
    value = config_option(config, name)
    return value if isinstance(value, bool) else None


def config_text(config: MypyConfig) -> str:
    parts = [config.config_file, *user_mypy_configs()]
    return "\n".join(f"{part}\n{read_text(part)}" for part in parts if part is not None)

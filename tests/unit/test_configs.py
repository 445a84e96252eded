"""Which configuration files ruff and mypy apply to a path."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tapps_lsp.analyzers import configs
from tapps_lsp.analyzers.configs import (
    MypyConfig,
    find_mypy_config,
    pyproject_tapps_section,
    read_toml,
    ruff_config_files,
)
from tapps_lsp.analyzers.ruff import ruff_command
from tapps_lsp.analyzers.settings import ToolSettings

RUFF = ruff_command(ToolSettings())

MYPY_INI = "[mypy]\nstrict = True\n"
PYPROJECT_MYPY = "[tool.mypy]\nstrict = true\n"
PYPROJECT_OTHER = '[project]\nname = "x"\n\n[tool.black]\nline-length = 90\n'
SETUP_CFG_MYPY = "[metadata]\nname = x\n\n[mypy]\nstrict = True\n"
SETUP_CFG_OTHER = "[metadata]\nname = x\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def relative(root: Path, paths: tuple[Path, ...]) -> list[str]:
    """The paths under root, relative to it: user-level configs elsewhere are left out."""
    return [p.relative_to(root).as_posix() for p in paths if root in p.parents]


# --- find_mypy_config ------------------------------------------------------------------


def test_mypy_config_precedence_within_a_folder(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mypy.ini": MYPY_INI,
            ".mypy.ini": MYPY_INI,
            "pyproject.toml": PYPROJECT_MYPY,
            "setup.cfg": SETUP_CFG_MYPY,
            "pkg/mod.py": "",
        },
    )
    target = tmp_path / "pkg" / "mod.py"
    order = []
    for name in ("mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg"):
        config = find_mypy_config(target, tmp_path / "fallback")
        assert config.root == tmp_path
        assert config.config_file is not None
        order.append(config.config_file.name)
        (tmp_path / name).unlink()
    assert order == ["mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg"]
    assert find_mypy_config(target, tmp_path / "fallback") == MypyConfig(
        tmp_path / "fallback", None, targets_from_config=False
    )


def test_pyproject_and_setup_cfg_without_a_mypy_section_are_skipped(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mypy.ini": MYPY_INI,
            "proj/pyproject.toml": PYPROJECT_OTHER,
            "proj/setup.cfg": SETUP_CFG_OTHER,
            "proj/mod.py": "",
        },
    )
    config = find_mypy_config(tmp_path / "proj" / "mod.py", tmp_path)
    assert config.config_file == tmp_path / "mypy.ini"
    assert config.root == tmp_path


def test_setup_cfg_with_mypy_below_a_pyproject_without(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": PYPROJECT_OTHER, "setup.cfg": SETUP_CFG_MYPY})
    config = find_mypy_config(tmp_path / "a.py", tmp_path)
    assert config.config_file == tmp_path / "setup.cfg"


def test_a_mypy_ini_counts_even_without_a_mypy_section(tmp_path: Path) -> None:
    # mypy itself uses such a file (and warns that it has no [mypy] section).
    write(tmp_path, {"mypy.ini": "[mypy-some.module]\nignore_errors = True\n"})
    assert find_mypy_config(tmp_path / "a.py", tmp_path).config_file == tmp_path / "mypy.ini"


def test_the_nearest_config_wins_walking_up(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": PYPROJECT_MYPY, "a/b/c/mod.py": ""})
    deep = tmp_path / "a" / "b" / "c" / "mod.py"
    assert find_mypy_config(deep, tmp_path / "x").config_file == tmp_path / "pyproject.toml"
    write(tmp_path, {"a/setup.cfg": SETUP_CFG_MYPY})
    config = find_mypy_config(deep, tmp_path / "x")
    assert config.config_file == tmp_path / "a" / "setup.cfg"
    assert config.root == tmp_path / "a"


def test_a_folder_or_an_unsaved_file(tmp_path: Path) -> None:
    write(tmp_path, {"mypy.ini": MYPY_INI, "pkg/sub/.mypy.ini": MYPY_INI})
    sub = tmp_path / "pkg" / "sub"
    assert find_mypy_config(sub, tmp_path).config_file == sub / ".mypy.ini"
    # A file that is not on disk yet is looked up from its folder.
    assert find_mypy_config(sub / "new.py", tmp_path).config_file == sub / ".mypy.ini"
    assert find_mypy_config(tmp_path / "pkg" / "new.py", tmp_path).config_file == (
        tmp_path / "mypy.ini"
    )


@pytest.mark.parametrize("marker", [".git", ".hg"])
def test_the_walk_stops_at_a_repository_root(tmp_path: Path, marker: str) -> None:
    write(tmp_path, {"mypy.ini": MYPY_INI, "repo/pkg/mod.py": ""})
    (tmp_path / "repo" / marker).mkdir()
    fallback = tmp_path / "repo"
    config = find_mypy_config(tmp_path / "repo" / "pkg" / "mod.py", fallback)
    assert config == MypyConfig(fallback, None, targets_from_config=False)


def test_a_git_file_also_marks_a_repository_root(tmp_path: Path) -> None:
    # Worktrees and submodules have a .git file, not a folder.
    write(tmp_path, {"mypy.ini": MYPY_INI, "repo/.git": "gitdir: ../x\n", "repo/mod.py": ""})
    assert find_mypy_config(tmp_path / "repo" / "mod.py", tmp_path).config_file is None


def test_a_config_beside_the_git_folder_is_found(tmp_path: Path) -> None:
    write(tmp_path, {"repo/pyproject.toml": PYPROJECT_MYPY, "repo/src/mod.py": ""})
    (tmp_path / "repo" / ".git").mkdir()
    config = find_mypy_config(tmp_path / "repo" / "src" / "mod.py", tmp_path)
    assert config.config_file == tmp_path / "repo" / "pyproject.toml"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("pyproject.toml", '[tool.mypy]\nfiles = ["src"]\n', True),
        ("pyproject.toml", '[tool.mypy]\npackages = ["app"]\n', True),
        ("pyproject.toml", '[tool.mypy]\nmodules = ["app.main"]\n', True),
        ("pyproject.toml", '[tool.mypy]\nfiles = "src, tests"\n', True),
        ("pyproject.toml", "[tool.mypy]\nfiles = []\n", False),
        ("pyproject.toml", "[tool.mypy]\nstrict = true\n", False),
        ("mypy.ini", "[mypy]\nfiles = src, tests\n", True),
        ("mypy.ini", "[mypy]\npackages = app\n", True),
        ("mypy.ini", "[mypy]\nfiles =\n", False),
        ("mypy.ini", "[mypy]\nstrict = True\n", False),
        ("mypy.ini", "[mypy-app.*]\nfiles = x\n", False),
        ("setup.cfg", "[mypy]\nmodules = app\n", True),
    ],
)
def test_targets_from_config(tmp_path: Path, name: str, text: str, expected: bool) -> None:
    write(tmp_path, {name: text})
    config = find_mypy_config(tmp_path / "a.py", tmp_path)
    assert config.config_file == tmp_path / name
    assert config.targets_from_config is expected


def test_an_unreadable_pyproject_is_no_mypy_config(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.mypy\nbroken", "setup.cfg": SETUP_CFG_MYPY})
    assert find_mypy_config(tmp_path / "a.py", tmp_path).config_file == tmp_path / "setup.cfg"


# --- ruff_config_files -----------------------------------------------------------------

RUFF_PYPROJECT = "[tool.ruff]\nline-length = 100\n"


def test_the_nearest_ruff_config_comes_first(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": RUFF_PYPROJECT,
            "sub/ruff.toml": "line-length = 80\n",
            "sub/deeper/mod.py": "",
        },
    )
    found = relative(tmp_path, ruff_config_files(tmp_path / "sub" / "deeper" / "mod.py"))
    assert found[0] == "sub/ruff.toml"
    assert set(found) <= {"sub/ruff.toml", "pyproject.toml"}


@pytest.mark.parametrize(
    ("present", "nearest"),
    [
        ((".ruff.toml", "ruff.toml", "pyproject.toml"), ".ruff.toml"),
        (("ruff.toml", "pyproject.toml"), "ruff.toml"),
        (("pyproject.toml",), "pyproject.toml"),
    ],
)
def test_ruff_precedence_within_a_folder(
    tmp_path: Path, present: tuple[str, ...], nearest: str
) -> None:
    texts = {".ruff.toml": "line-length = 70\n", "ruff.toml": "line-length = 80\n"}
    write(tmp_path, {name: texts.get(name, RUFF_PYPROJECT) for name in present})
    assert relative(tmp_path, ruff_config_files(tmp_path / "mod.py"))[0] == nearest


def test_a_pyproject_without_ruff_settings_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": RUFF_PYPROJECT, "sub/pyproject.toml": PYPROJECT_OTHER})
    found = relative(tmp_path, ruff_config_files(tmp_path / "sub" / "mod.py"))
    assert found == ["pyproject.toml"]


def test_no_ruff_config_at_all(tmp_path: Path) -> None:
    write(tmp_path, {"sub/pyproject.toml": PYPROJECT_OTHER, "sub/setup.cfg": SETUP_CFG_MYPY})
    assert relative(tmp_path, ruff_config_files(tmp_path / "sub" / "mod.py")) == []


def _ruff_says(root: Path, target: str, source: str) -> list[str]:
    done = subprocess.run(
        [
            *RUFF,
            "check",
            "--output-format",
            "json",
            "--no-fix",
            "--select",
            "UP045",
            "--stdin-filename",
            target,
            "-",
        ],
        input=source.encode(),
        capture_output=True,
        check=False,
        cwd=root,
    )
    assert done.returncode in (0, 1), done.stderr.decode()
    return [record["code"] for record in json.loads(done.stdout)]


@pytest.mark.parametrize("beside", [None, "sub/ruff.toml"])
def test_requires_python_shapes_ruff_without_a_ruff_section(
    tmp_path: Path, beside: str | None
) -> None:
    """ruff infers its target version from `requires-python`, so that pyproject counts."""
    source = "from typing import Optional\nx: Optional[int] = None\n"
    write(tmp_path, {"sub/mod.py": source})
    if beside is not None:
        write(tmp_path, {beside: "line-length = 100\n"})
    answers = []
    for version in ("3.8", "3.12"):
        write(
            tmp_path,
            {"pyproject.toml": f'[project]\nname = "x"\nrequires-python = ">={version}"\n'},
        )
        answers.append(_ruff_says(tmp_path, "sub/mod.py", source))
    # The real ruff changes its answer with that file...
    assert answers == [[], ["UP045"]]
    # ...so it is one of the files ruff's result depends on.
    found = relative(tmp_path, ruff_config_files(tmp_path / "sub" / "mod.py"))
    assert "pyproject.toml" in found
    if beside is not None:
        assert found[0] == beside


def test_extend_is_followed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "shared/base.toml": 'extend = "core.toml"\nline-length = 90\n',
            "shared/core.toml": "line-length = 80\n",
            "proj/pyproject.toml": '[tool.ruff]\nextend = "../shared/base.toml"\n',
            "proj/sub/ruff.toml": 'extend = "../pyproject.toml"\n',
        },
    )
    found = relative(tmp_path, ruff_config_files(tmp_path / "proj" / "sub" / "mod.py"))
    assert found[:4] == [
        "proj/sub/ruff.toml",
        "proj/pyproject.toml",
        "shared/base.toml",
        "shared/core.toml",
    ]
    assert len(found) == len(set(found))


def test_extend_to_a_missing_file_or_in_a_cycle(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/ruff.toml": 'extend = "../b/ruff.toml"\n',
            "b/ruff.toml": 'extend = "../a/ruff.toml"\n',
            "c/ruff.toml": 'extend = "nowhere.toml"\n',
        },
    )
    assert relative(tmp_path, ruff_config_files(tmp_path / "a" / "x.py")) == [
        "a/ruff.toml",
        "b/ruff.toml",
    ]
    assert relative(tmp_path, ruff_config_files(tmp_path / "c" / "x.py")) == ["c/ruff.toml"]


@pytest.fixture
def user_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    configs._user_config_home.cache_clear()
    yield home
    configs._user_config_home.cache_clear()


def test_the_user_level_ruff_config_is_included(tmp_path: Path, user_config_home: Path) -> None:
    write(user_config_home, {"ruff/ruff.toml": "line-length = 60\n"})
    write(tmp_path, {"proj/ruff.toml": "line-length = 70\n"})
    found = ruff_config_files(tmp_path / "proj" / "x.py")
    assert found == (tmp_path / "proj" / "ruff.toml", user_config_home / "ruff" / "ruff.toml")


# --- pyproject_tapps_section and read_toml ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "section"),
    [
        (
            "[tool.tapps]\nscore-threshold = 50\n[tool.tapps.mypy]\ntargets = ['src']\n",
            {"score-threshold": 50, "mypy": {"targets": ["src"]}},
        ),
        ("[tool.ruff]\nline-length = 1\n", {}),
        ("[tool]\ntapps = 3\n", {}),
        ("tool = 1\n", {}),
        ("[tool.tapps\n", {}),
        ("", {}),
    ],
)
def test_pyproject_tapps_section(tmp_path: Path, text: str, section: dict[str, object]) -> None:
    write(tmp_path, {"pyproject.toml": text})
    assert pyproject_tapps_section(tmp_path) == section


def test_no_pyproject_means_no_section(tmp_path: Path) -> None:
    assert pyproject_tapps_section(tmp_path) == {}


def test_a_same_size_rewrite_within_one_tick_is_read_again(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.tapps]\ntimeout = 1\n")
    stat = pyproject.stat()
    assert pyproject_tapps_section(tmp_path) == {"timeout": 1}
    pyproject.write_text("[tool.tapps]\ntimeout = 2\n")
    os.utime(pyproject, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same tick
    assert pyproject_tapps_section(tmp_path) == {"timeout": 2}


def test_an_old_unchanged_toml_file_is_parsed_once(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.tapps]\ntimeout = 1\n")
    os.utime(pyproject, ns=(10**18, 10**18))
    first = read_toml(pyproject)
    assert read_toml(pyproject) is first
    pyproject.write_text("[tool.tapps]\ntimeout = 3\n")
    os.utime(pyproject, ns=(10**18 + 1, 10**18 + 1))
    assert read_toml(pyproject) == {"tool": {"tapps": {"timeout": 3}}}

"""Which files a folder review covers."""

from __future__ import annotations

from pathlib import Path

from tapps_lsp.analyzers.files import discover, python_files


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def names(root: Path, found: object) -> list[str]:
    return [p.relative_to(root).as_posix() for p in found]  # type: ignore[attr-defined]


def test_gitignore_files_apply_where_they_stand(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            ".gitignore": "generated/\n*_pb2.py\n",
            "app/main.py": "",
            "app/models_pb2.py": "",
            "app/.gitignore": "local.py\n!keep_pb2.py\n",
            "app/local.py": "",
            "app/keep_pb2.py": "",
            "generated/out.py": "",
            "lib/local.py": "",
            "notes.txt": "",
            "stubs/x.pyi": "",
        },
    )
    assert names(root, discover(root)) == [
        "app/keep_pb2.py",
        "app/main.py",
        "lib/local.py",
        "stubs/x.pyi",
    ]


def test_gitignore_above_the_folder_counts_up_to_the_git_root(tmp_path: Path) -> None:
    repo = tree(
        tmp_path / "repo",
        {".gitignore": "ignored.py\n", "sub/ignored.py": "", "sub/kept.py": "", ".git/HEAD": ""},
    )
    assert names(repo, discover(repo / "sub")) == ["sub/kept.py"]
    plain = tree(tmp_path / "plain", {".gitignore": "kept.py\n", "inner/kept.py": ""})
    assert names(plain, discover(plain / "inner")) == ["inner/kept.py"]


def test_the_exclude_setting_wins_over_a_gitignore_negation(tmp_path: Path) -> None:
    root = tree(tmp_path, {".gitignore": "!a.py\n", "a.py": "", "b.py": ""})
    assert names(root, discover(root, exclude=["a.py"])) == ["b.py"]


def test_exclude_and_include_patterns(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {"src/a.py": "", "src/b.py": "", "tests/test_a.py": "", "scripts/run.py": ""},
    )
    assert names(root, discover(root, exclude=["tests/", "run.py"])) == ["src/a.py", "src/b.py"]
    assert names(root, discover(root, include=["src/*.py"], exclude=["b.py"])) == ["src/a.py"]


def test_virtual_envs_hidden_and_build_folders_are_skipped(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "env/pyvenv.cfg": "",
            "env/lib/x.py": "",
            ".hidden/y.py": "",
            "build/z.py": "",
            "pkg.egg-info/w.py": "",
            "__pycache__/v.py": "",
            "ok.py": "",
        },
    )
    assert names(root, discover(root)) == ["ok.py"]


def test_a_file_named_directly_is_kept_even_if_ignored(tmp_path: Path) -> None:
    root = tree(tmp_path, {".gitignore": "gen.py\n", "gen.py": "", "a.py": ""})
    assert names(root, python_files([root / "gen.py", root])) == ["gen.py", "a.py"]


def test_a_folder_inside_an_ignored_one_is_reviewed_on_its_own(tmp_path: Path) -> None:
    repo = tree(
        tmp_path / "repo",
        {
            ".git/HEAD": "",
            ".gitignore": "vendor/\n*.gen.py\n",
            "vendor/lib/a.py": "",
            "vendor/lib/b.gen.py": "",
            "vendor/lib/.gitignore": "skip.py\n",
            "vendor/lib/skip.py": "",
        },
    )
    assert names(repo, discover(repo)) == []
    assert names(repo, discover(repo / "vendor" / "lib")) == [
        "vendor/lib/a.py",
        "vendor/lib/b.gen.py",
    ]

"""Changed lines since a git revision, on real temporary repositories (and a hostile one
whose configuration names programs git would run if it looked at the working tree)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tapps_lsp.analyzers.changes import ChangesError, changes_since


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "a.py").write_text("one = 1\ntwo = 2\nthree = 3\n")
    (root / "b.py").write_text("unchanged = True\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


async def test_changed_lines_new_files_and_untouched_files(repo: Path) -> None:
    (repo / "a.py").write_text("# added on top\none = 1\ntwo = 22\nthree = 3\n")
    (repo / "c.py").write_text("new = True\n")
    files = [repo / "a.py", repo / "b.py", repo / "c.py"]
    changes = await changes_since(repo, "HEAD", files)
    assert changes.lines == {repo / "a.py": frozenset({0, 2}), repo / "c.py": None}
    assert changes.touches(repo / "a.py", 2) and not changes.touches(repo / "a.py", 1)
    assert changes.touches(repo / "c.py", 0) and not changes.touches(repo / "b.py", 0)


async def test_outside_a_repository_and_a_bad_revision_are_clear_errors(
    repo: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ChangesError, match="needs a git repository"):
        await changes_since(plain, "HEAD", [])
    with pytest.raises(ChangesError, match="rev-parse"):
        await changes_since(repo, "no-such-branch", [])


async def test_the_repositorys_own_programs_never_run(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hook = repo / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    hook.chmod(0o755)
    for key in ("core.fsmonitor", "diff.external", "filter.evil.clean", "core.pager"):
        git(repo, "config", key, str(hook))
    (repo / ".gitattributes").write_text("*.py filter=evil diff=evil\n")
    git(repo, "config", "diff.evil.textconv", str(hook))
    (repo / "a.py").write_text("one = 100\n")
    changes = await changes_since(repo, "HEAD", [repo / "a.py"])
    assert changes.lines == {repo / "a.py": frozenset({0})}
    assert not marker.exists()

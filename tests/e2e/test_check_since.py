"""`tapps-lsp check --since REV` on a temporary git repository: only the changed files,
only their findings on changed lines, and clear errors outside git."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.conftest import copy_fixture


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tapps_lsp.server", "check", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def findings(answer: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(file name, code, 1-based line) of every finding of check's JSON format."""
    return [
        (Path(entry["path"]).name, finding["code"], finding["span"]["start_line"] + 1)
        for entry in answer["files"]
        for tool in ("ruff", "mypy")
        if entry["report"] and entry["report"][tool]
        for finding in entry["report"][tool]["findings"]
    ]


def test_only_findings_on_changed_lines_of_changed_files(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    everything = check(root, ".", "--format", "json", "--fail-on", "none")
    assert len(findings(json.loads(everything.stdout))) > 2, "the project has older findings"
    lint = root / "app" / "lint.py"
    lint.write_text(lint.read_text() + "import sys\n")
    line = len(lint.read_text().splitlines())
    done = check(root, ".", "--since", "HEAD", "--format", "json", "--fail-on", "none")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert [Path(entry["path"]).name for entry in answer["files"]] == ["lint.py"]
    found = findings(answer)
    assert ("lint.py", "F401", line) in found
    assert {row[2] for row in found} == {line}, "only the changed line's findings"
    assert answer["summary"]["findings"]["total"] == len(found)


def test_since_outside_git_or_with_a_baseline_write_is_an_error(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    outside = check(root, ".", "--since", "HEAD")
    assert outside.returncode == 2 and "needs a git repository" in outside.stderr
    both = check(root, ".", "--since", "HEAD", "--write-baseline")
    assert both.returncode == 2 and "cannot write or prune a baseline" in both.stderr

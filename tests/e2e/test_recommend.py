"""`tapps-lsp recommend`: fixture changes in a real git repository, each with the preset it
is known to deserve, and the facts the rules decide on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BASE = {
    "pyproject.toml": '[project]\nname = "demo"\nversion = "0"\n',
    "demo/__init__.py": "",
    "demo/text.py": 'def greet(name: str) -> str:\n    return "hello " + name\n',
    "demo/calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
    "tests/test_text.py": "from demo.text import greet\n\n\ndef test_greet() -> None:\n"
    '    assert greet("x") == "hello x"\n',
}


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    for name, text in BASE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


def recommend(root: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tapps_lsp.server", "recommend", "--format", "json", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_nothing_changed_is_minimal(repo: Path) -> None:
    answer = recommend(repo, "--since", "HEAD")
    assert (answer["preset"], answer["confidence"]) == ("minimal", 1.0)


def test_a_typo_fix_is_minimal(repo: Path) -> None:
    (repo / "demo/text.py").write_text(BASE["demo/text.py"].replace("hello", "hello,"))
    answer = recommend(repo, "--since", "HEAD")
    assert answer["preset"] == "minimal"
    [facts] = answer["files"]
    assert facts["path"] == "demo/text.py" and facts["changedLines"] == 1
    assert facts["hasTests"] is True and facts["sensitive"] == []


def test_security_sensitive_code_is_comprehensive(repo: Path) -> None:
    (repo / "demo/calc.py").write_text(
        BASE["demo/calc.py"]
        + "\n\ndef run(command: list[str]) -> None:\n"
        + "    import subprocess\n\n    subprocess.run(command, check=True)\n"
    )
    answer = recommend(repo, "--since", "HEAD")
    assert (answer["preset"], answer["confidence"]) == ("comprehensive", 0.9)
    assert any("subprocess" in reason for reason in answer["reasons"])
    assert any(reason == "no tests beside demo/calc.py" for reason in answer["reasons"])


def test_a_complex_changed_function_is_comprehensive(repo: Path) -> None:
    branches = "".join(f"    if n == {i}:\n        return {i}\n" for i in range(12))
    (repo / "demo/calc.py").write_text(
        BASE["demo/calc.py"] + f"\n\ndef pick(n: int) -> int:\n{branches}    return -1\n"
    )
    answer = recommend(repo, "--since", "HEAD")
    assert answer["preset"] == "comprehensive"
    assert answer["files"][0]["maxChangedComplexity"] == 13


def test_a_middling_change_is_standard(repo: Path) -> None:
    body = "".join(f"VALUE_{i} = {i}\n" for i in range(15))
    for name in ("demo/text.py", "demo/calc.py", "demo/extra.py"):
        path = repo / name
        path.write_text((path.read_text() if path.exists() else "") + body)
    answer = recommend(repo, "--since", "HEAD")
    assert answer["preset"] == "standard"
    assert {f["path"] for f in answer["files"]} == {"demo/text.py", "demo/calc.py", "demo/extra.py"}
    new = next(f for f in answer["files"] if f["path"] == "demo/extra.py")
    assert new["changedLines"] == 16  # a new file: all of it


def test_paths_count_as_changed_whole_and_a_bad_revision_is_an_error(repo: Path) -> None:
    answer = recommend(repo, "demo/calc.py")
    assert answer["preset"] == "minimal" and answer["files"][0]["changedLines"] == 3
    done = subprocess.run(
        [sys.executable, "-m", "tapps_lsp.server", "recommend", "--since", "nope"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2 and "rev-parse" in done.stderr
    plain = repo.parent / "plain"
    plain.mkdir()
    (plain / "x.py").write_text("x = 1\n")
    outside = subprocess.run(
        [sys.executable, "-m", "tapps_lsp.server", "recommend", "--since", "HEAD"],
        cwd=plain,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert outside.returncode == 2 and "needs a git repository" in outside.stderr

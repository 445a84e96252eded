"""`tapps-lsp check`: the headless review, its formats and exit codes."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tapps_lsp.analyzers.workspace import user_cache_folder

CHECK = [sys.executable, "-m", "tapps_lsp.server", "check"]


def run_check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHECK, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_text_output_lists_files_then_findings(basic_project: Path) -> None:
    done = run_check("app", cwd=basic_project)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    summary = {line.split()[0]: line.split()[1:] for line in lines if "errors/" in line}
    assert set(summary) == {
        "app/__init__.py",
        "app/a.py",
        "app/b.py",
        "app/lint.py",
        "app/typeerr.py",
        "app/unicode.py",
    }
    assert summary["app/b.py"] == ["100", "0", "errors/0", "warnings"]
    assert "app/lint.py:1:8: F401 `os` imported but unused [ruff]" in lines
    # The file lines come first (as files finish), the findings by file, then the totals.
    assert all("errors/" in line for line in lines[:6])
    findings = [line.split(":")[0] for line in lines[6:-1]]
    assert findings == sorted(findings)
    assert lines[-1].startswith("6 files, 6 findings (3 errors, 3 warnings), mean score 94.8, ")
    assert any(
        line.startswith("app/typeerr.py:1:14: assignment Incompatible types")
        and line.endswith("[mypy]")
        for line in lines
    )


def test_exit_codes_follow_fail_on(basic_project: Path) -> None:
    assert run_check("app/b.py", cwd=basic_project).returncode == 0
    assert run_check("app/lint.py", cwd=basic_project).returncode == 0
    assert run_check("app/lint.py", "--fail-on", "warning", cwd=basic_project).returncode == 1
    assert run_check("app/typeerr.py", "--fail-on", "none", cwd=basic_project).returncode == 0
    missing = run_check("app/nothing.py", cwd=basic_project)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_json_output_and_the_cache_on_a_second_run(basic_project: Path) -> None:
    first = json.loads(run_check("app/typeerr.py", "--format", "json", cwd=basic_project).stdout)
    second = json.loads(run_check("app/typeerr.py", "--format", "json", cwd=basic_project).stdout)
    [report] = [entry["report"] for entry in first["files"]]
    [cached] = [entry["report"] for entry in second["files"]]
    assert report["mypy"]["cached"] is False and cached["mypy"]["cached"] is True
    assert first["summary"]["cache"] == {"hits": 0, "misses": 1, "hitRate": 0.0}
    assert second["summary"]["cache"] == {"hits": 1, "misses": 0, "hitRate": 1.0}
    assert second["summary"]["worstFiles"] == [{"path": "app/typeerr.py", "score": 91}]
    assert cached["mypy"]["findings"] == report["mypy"]["findings"]
    assert report["score"]["total"] == cached["score"]["total"] < 100
    # Not trusted: nothing is written into the project; the cache is the user's.
    assert not (basic_project / ".tapps_cache").exists()
    assert (user_cache_folder(basic_project) / ".gitignore").read_text().strip() == "*"


def test_no_cache_neither_reads_nor_writes_any_cache(basic_project: Path) -> None:
    before = sorted(p.relative_to(basic_project) for p in basic_project.rglob("*"))
    cold = json.loads(run_check("app", "--format", "json", "--no-cache", cwd=basic_project).stdout)
    after = sorted(p.relative_to(basic_project) for p in basic_project.rglob("*"))
    assert after == before, "no .tapps_cache, no mypy cache, no ruff cache"
    assert cold["summary"]["cache"]["hits"] == 0
    assert cold["summary"]["findings"]["bySource"]["mypy"] == 3, "mypy still ran"


def test_a_missing_tool_exits_2_and_says_so(basic_project: Path) -> None:
    done = run_check("app/b.py", "--mypy-path", "/no/such/mypy", cwd=basic_project)
    assert done.returncode == 2
    assert "tool problem: mypy: executable not found: /no/such/mypy" in done.stdout


def test_a_trusted_projects_own_tool_path_applies(basic_project: Path) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.tapps.mypy]\npath = "/no/such/mypy"\n')
    untrusted = run_check("app/b.py", "--no-cache", cwd=basic_project)
    assert "tool problem" not in untrusted.stdout, "ignored: our own mypy ran"
    assert "`mypy.path` in [tool.tapps]" in untrusted.stderr
    done = run_check("app/b.py", "--trust", cwd=basic_project)
    assert done.returncode == 2
    assert "tool problem: mypy: executable not found: /no/such/mypy" in done.stdout


def test_a_progress_bar_appears_on_a_terminal_only(basic_project: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [*CHECK, "app", "--fail-on", "none"],
            cwd=basic_project,
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=300,
            check=False,
        )
        os.close(terminal)
        shown = b""
        while chunk := _read_available(controller):
            shown += chunk
    finally:
        os.close(controller)
    assert done.returncode == 0
    assert b"6/6" in shown and b"left" in shown
    piped = run_check("app", "--fail-on", "none", cwd=basic_project)
    assert "[" not in piped.stderr and "left" not in piped.stderr


def _read_available(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal side is closed: everything has been read
        return b""


def test_a_file_mypy_reaches_through_a_symlinked_folder_gets_its_findings(
    tmp_path: Path,
) -> None:
    """mypy names a file by the path it found it at: here `ns/real/mod.py`, a symlink to
    `real/mod.py`. The finding belongs to the file the user asked about (tapps-lsp's own
    tree is laid out this way: `tapps_lsp/server` links `server/`)."""
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "__init__.py").write_text("")
    (tmp_path / "real" / "mod.py").write_text('VALUE: int = "text"\n')
    (tmp_path / "ns").mkdir()
    (tmp_path / "ns" / "__init__.py").write_text("")
    (tmp_path / "ns" / "real").symlink_to("../real", target_is_directory=True)
    (tmp_path / "pyproject.toml").write_text('[tool.mypy]\nfiles = ["ns"]\n')
    done = run_check("real/mod.py", "--no-cache", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "real/mod.py:1:14: assignment Incompatible types" in done.stdout

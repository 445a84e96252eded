"""Running a real editor headless on a harness that writes its checks as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class EditorRun:
    result: dict[str, Any]
    checks: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    returncode: int
    stderr: str


def run_editor(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    out: Path,
    limit_s: int,
    label: str,
    capsys: pytest.CaptureFixture[str],
) -> EditorRun:
    """Run `argv` under `timeout`, read the JSON it wrote to `out`, and print each check,
    the run time and `N passed, N failed` for CI's log."""
    timeout = shutil.which("timeout")
    if timeout:
        argv = [timeout, "-k", "5", str(limit_s), *argv]
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=limit_s + 30,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert out.is_file(), (
        f"{label} wrote no result (exit {proc.returncode}; 124 is timeout)\n"
        f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
    )
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    checks: list[dict[str, Any]] = result.get("checks", [])
    failed = [c for c in checks if not c["ok"]]
    with capsys.disabled():
        print(f"\n{label}: {elapsed:.1f} s, result {out}")
        for check in checks:
            print(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['name']} ({check['t_ms']} ms)")
        print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return EditorRun(result, checks, failed, proc.returncode, proc.stderr)

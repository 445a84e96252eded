"""The reference the tests compare against: mypy itself, run directly, JSON output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_mypy_json(
    root: Path, *args: str, cache_dir: Path | str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`python -m mypy -O json --show-absolute-path --no-error-summary` from `root`."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "-O",
            "json",
            "--show-absolute-path",
            "--no-error-summary",
            "--cache-dir",
            str(cache_dir),
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

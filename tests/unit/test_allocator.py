"""The server caps glibc's malloc arenas (Linux with glibc, as on every test machine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_arena_cap_takes_effect_on_glibc() -> None:
    # In a child process: the cap would otherwise hold for the rest of the test run.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tapps_lsp.server.lsp.allocator import limit_malloc_arenas as f; print(f())",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip() == "True", done.stderr

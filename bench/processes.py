"""The processes a benchmarked server leaves behind: found through /proc, ended after a grace.

Shared by the on-save (onsave.py) and batch (batch.py) benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

from model import log


async def reap_leftovers(pgid: int, daemons: list[int], grace: float = 5.0) -> list[int]:
    """Processes the server started that outlived it by ``grace`` s (its group, its daemons)."""
    deadline = time.monotonic() + grace
    while True:
        alive = sorted(set(_group_members(pgid)) | {p for p in daemons if is_alive(p)})
        if not alive or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    for pid in alive:
        log(f"  leftover process {pid} outlived its server: ending it")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, 9)
    return alive


def is_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def runs(pid: int, word: str) -> bool:
    """True if process ``pid`` is alive and ``word`` is in its command line (pids get reused)."""
    try:
        return word in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(entry.path, "stat").read_text()
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members

"""Which process owns a durable record (a background task, a workflow run), and whether
that process is still alive: how a new server tells a crash's leftovers from the work of
a second server on the same project."""

from __future__ import annotations

import os
from pathlib import Path


def process_identity(pid: int) -> str:
    """`pid:start` where start is the process' start time (Linux), so that a pid reused
    after a crash (containers restart with the same pids) is not taken for the owner."""
    return f"{pid}:{_start_time(pid) or ''}"


def owner_alive(owner: str) -> bool:
    pid_text, _, start = owner.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        # Only rows of an earlier process with our pid can be seen before we write any.
        return owner == process_identity(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    except OSError:
        return False
    current = _start_time(pid)
    return not (start and current and start != current)


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None

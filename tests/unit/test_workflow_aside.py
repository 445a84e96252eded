"""The analysis steps' worker process: lower priority, a transient failure when it dies
(the next call starts a new one), and gone with a SIGKILLed parent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tapps_lsp.analyzers.workflows.kinds import aside
from tapps_lsp.analyzers.workflows.step import StepFailed


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return True
    return state == "Z"


async def test_it_runs_niced_and_a_dead_worker_is_a_transient_failure() -> None:
    try:
        pid = await aside.run_aside(os.getpid)
        assert pid != os.getpid()
        assert await aside.run_aside(os.nice, 0) == aside.NICENESS
        sleeping = asyncio.ensure_future(aside.run_aside(time.sleep, 30))
        await asyncio.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(StepFailed) as failed:
            await sleeping
        assert failed.value.transient
        assert await aside.run_aside(os.getpid) != pid, "a new worker took over"
    finally:
        aside.shutdown()


def test_the_worker_dies_with_a_sigkilled_parent(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, os, time
            from tapps_lsp.analyzers.workflows.kinds.aside import run_aside

            async def main():
                print(await run_aside(os.getpid), flush=True)
                time.sleep(60)

            if __name__ == "__main__":
                asyncio.run(main())
            """
        )
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while not _gone(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(worker)
    finally:
        parent.kill()

"""How the steps that run a program (`command`, `tests`) run it: only from trusted
configuration, in a folder inside the workspace, without a shell, with the step's
timeout, and with their output bounded; and how each way of ending becomes the step's
answer or its `StepFailed`."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

from tapps_lsp.analyzers.process import Captured, ProcessError, run_captured
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.analyzers.trust import HOW_TO_TRUST, confine
from tapps_lsp.analyzers.workflows.kinds.program_options import ProgramOptions
from tapps_lsp.analyzers.workflows.step import StepFailed, StepInput, StepRefused

TAIL_LINES = 40


@dataclass(frozen=True, slots=True)
class Ran:
    """A program that ran to its end, whatever its exit code."""

    captured: Captured
    duration_ms: int

    @property
    def returncode(self) -> int:
        return self.captured.returncode

    def tail(self) -> str:
        return output_tail(self.captured.output, dropped=self.captured.dropped)


def refuse_untrusted(step: StepInput, kind: str, program: str) -> None:
    """StepRefused unless the step comes from configuration the user trusts."""
    if step.trusted:
        return
    raise StepRefused(
        f"the `{kind}` step is not run: it would run `{program}`, and it comes from the "
        "workspace's own configuration, which is not trusted. A workflow in the client's "
        f"settings (`workflows`) may run programs; or {HOW_TO_TRUST}"
    )


def working_folder(step: StepInput, cwd: str | None) -> Path:
    """The step's `cwd` against the workspace root, which it may not leave."""
    folder = confine(step.root / (cwd or "."), [step.root])
    if folder is None:
        raise StepRefused(f"`cwd` {cwd} is outside the workspace {step.root}: not run there")
    if not folder.is_dir():
        raise StepFailed(f"`cwd` {cwd} is not a folder in {step.root}", transient=False)
    return folder


async def run_program(step: StepInput, argv: list[str], cwd: Path, options: ProgramOptions) -> Ran:
    """Run argv to its end; StepFailed when it cannot start (not transient) or runs past
    the step's timeout (transient, with the output so far)."""
    started = time.monotonic()
    try:
        captured = await run_captured(
            argv,
            cwd=cwd,
            timeout=step.timeout,
            env=dict(options.env),
            max_output=options.max_output_bytes,
        )
    except ProcessError as exc:
        transient = exc.kind == "timeout"
        raise StepFailed(
            exc.message, transient=transient, output_tail=output_tail(exc.output)
        ) from None
    return Ran(captured, round((time.monotonic() - started) * 1000))


def exit_failure(program: str, ran: Ran, what: str = "") -> StepFailed:
    """A nonzero exit. Killed by a signal (a crash, or the system out of memory) is
    worth a retry; an exit code is the program's own answer and is not."""
    code = ran.returncode
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        message = f"`{program}` was killed by {name}"
        return StepFailed(message, transient=True, output_tail=ran.tail())
    message = f"`{program}` exited with {code}" + (f" ({what})" if what else "")
    return StepFailed(message, transient=False, output_tail=ran.tail())


def output_tail(output: bytes, *, dropped: int = 0, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a program's output, as text."""
    text = output.decode("utf-8", errors="replace").rstrip("\r\n")
    kept = split_lines(text)[-lines:] if text else []
    if dropped and len(kept) < lines:
        kept.insert(0, f"[{dropped} bytes of output before this not kept]")
    return "\n".join(kept)

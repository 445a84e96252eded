"""The `command` step kind: any program, `with = {argv = [...], cwd?, env?, maxOutputKb?}`.

Its exit code is its answer: 0 is done, with the end of its output in the summary;
anything else fails the step with that tail. It runs only from trusted configuration
(`program_run`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tapps_lsp.analyzers.workflows.kinds.program_options import option_problems, read_options
from tapps_lsp.analyzers.workflows.kinds.program_run import (
    exit_failure,
    refuse_untrusted,
    run_program,
    working_folder,
)
from tapps_lsp.analyzers.workflows.step import StepInput, StepKind, StepOutput

# What the executor keys a command step on besides its options (argv among them) and the
# covered files: this kind's own behaviour. Bump it when that changes.
VERSION = "command-1"
OPTIONS = ("argv", "cwd", "env", "max_output_kb")


class CommandKind:
    """Runs the program `argv` names in the workspace (or its `cwd`), without a shell."""

    name = "command"
    tool = "command"
    cacheable = True
    runs_programs = True

    def problems(self, options: Mapping[str, Any]) -> list[str]:
        return option_problems(options, kind=self.name, known=OPTIONS, argv_required=True)

    async def version(self, step: StepInput) -> str:
        return VERSION

    async def run(self, step: StepInput) -> StepOutput:
        options = read_options(step.options)
        argv = list(options.argv)
        refuse_untrusted(step, self.name, argv[0])
        ran = await run_program(step, argv, working_folder(step, options.cwd), options)
        if ran.returncode != 0:
            raise exit_failure(argv[0], ran)
        summary = {"exitCode": 0, "durationMs": ran.duration_ms, "outputTail": ran.tail()}
        return StepOutput(summary=summary)


COMMAND: StepKind = CommandKind()

"""The `tests` step kind: pytest, `with = {argv?, args?, cwd?, env?, maxOutputKb?}`.

By default it runs pytest in the Python environment the reviewer chose (with trust:
`interpreter.choose_environment`), the way the `pytest` command does: through
`interpreter.module_command`, so the working directory is not first on `sys.path`, where
a module of the repository's could stand in for pytest's own. pytest's own rootdir and
conftest handling is untouched (it puts each conftest's folder on `sys.path` itself); a
project that imports its package from the root without installing it sets pytest's
`pythonpath`, as it must for `pytest`. `argv` replaces that command, `args` follow it.

Every run adds a JUnit XML report in a temporary folder (`junit_family=xunit1`: only it
has the tests' files and lines), `-p no:cacheprovider` (no `.pytest_cache` written into
the workspace) and `-q`. A failing test is a finding on its line, not a failed step:
the step is done, with `passed: false`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.environment import environment_fingerprint
from tapps_lsp.analyzers.interpreter import module_command, shown_command
from tapps_lsp.analyzers.workflows.kinds.junit import JunitResults, JunitUnreadable, read_junit
from tapps_lsp.analyzers.workflows.kinds.program_options import option_problems, read_options
from tapps_lsp.analyzers.workflows.kinds.program_run import (
    Ran,
    exit_failure,
    refuse_untrusted,
    run_program,
    working_folder,
)
from tapps_lsp.analyzers.workflows.step import StepFailed, StepInput, StepKind, StepOutput

# Bump when what this kind reports changes; the environment's fingerprint joins it.
VERSION = "tests-1"
OPTIONS = ("argv", "args", "cwd", "env", "max_output_kb")
ALWAYS = ("-o", "junit_family=xunit1", "-p", "no:cacheprovider", "-q")
# pytest's exit codes: tests failed, interrupted (also: collection errors), no tests.
FAILED, INTERRUPTED, NO_TESTS = 1, 2, 5
WHY = {2: "interrupted", 3: "internal error", 4: "usage error"}


class TestsKind:
    """Runs the project's tests with pytest; failures become findings on their tests."""

    name = "tests"
    tool = "pytest"
    cacheable = True
    runs_programs = True

    def problems(self, options: Mapping[str, Any]) -> list[str]:
        return option_problems(options, kind=self.name, known=OPTIONS, argv_required=False)

    async def version(self, step: StepInput) -> str:
        python = await environment_python(step)
        return f"{VERSION} {python} {await environment_fingerprint(python)}"

    async def run(self, step: StepInput) -> StepOutput:
        options = read_options(step.options)
        refuse_untrusted(step, self.name, shown_command(options.argv) or "python -m pytest")
        cwd = working_folder(step, options.cwd)
        argv = list(options.argv) or list(module_command(await environment_python(step), "pytest"))
        program = shown_command(argv)
        with tempfile.TemporaryDirectory(prefix="tapps-tests-") as folder:
            report = Path(folder) / "junit.xml"
            full = [*argv, *options.args, f"--junitxml={report}", *ALWAYS]
            ran = await run_program(step, full, cwd, options)
            code = ran.returncode
            if code not in (0, FAILED, INTERRUPTED, NO_TESTS):
                raise exit_failure(program, ran, WHY.get(code, ""))
            try:
                results = await asyncio.to_thread(read_junit, report, cwd)
            except JunitUnreadable as exc:
                raise StepFailed(
                    f"`{program}` exited with {code}, and {exc}",
                    transient=False,
                    output_tail=ran.tail(),
                ) from None
        # Interrupted with errors in the report: test modules that could not be collected,
        # each a finding on its file. Interrupted without any is a stop (Ctrl-C, -x).
        if code == INTERRUPTED and not results.findings:
            raise exit_failure(program, ran, WHY[code])
        return _output(results, ran)


async def environment_python(step: StepInput) -> str:
    """The interpreter of the environment the reviewer chose (ours when it names none)."""
    await step.reviewer.versions()
    environment = step.reviewer.environment
    if environment is not None and environment.python:
        return environment.python
    return sys.executable


def _output(results: JunitResults, ran: Ran) -> StepOutput:
    passed = ran.returncode in (0, NO_TESTS) and not results.failures and not results.errors
    summary: dict[str, Any] = {
        "passed": passed,
        "exitCode": ran.returncode,
        "tests": results.tests,
        "failures": results.failures,
        "errors": results.errors,
        "skipped": results.skipped,
        "durationMs": ran.duration_ms,
    }
    if not passed:
        summary["outputTail"] = ran.tail()
    findings = {path: tuple(found) for path, found in results.findings.items()}
    return StepOutput(findings=findings, summary=summary)


TESTS: StepKind = TestsKind()

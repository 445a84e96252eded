"""The workflow steps that run programs (`command`, `tests`), with real programs."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.analyzers.cache.store import MemoryStore
from tapps_lsp.analyzers.findings import Severity, Source
from tapps_lsp.analyzers.process import OutputTail, run_captured
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.settings import ReviewSettings
from tapps_lsp.analyzers.workflows.kinds.command import COMMAND
from tapps_lsp.analyzers.workflows.kinds.tests import TESTS
from tapps_lsp.analyzers.workflows.step import StepFailed, StepInput, StepRefused
from tapps_lsp.analyzers.workspace import make_reviewer

Step = Callable[..., StepInput]


@pytest.fixture
async def reviewer(tmp_path: Path) -> AsyncIterator[Reviewer]:
    root = tmp_path / "project"
    root.mkdir()
    settings = ReviewSettings(trusted_workspace=True)
    found = make_reviewer(root, settings, MemoryStore())
    yield found
    await found.close()


@pytest.fixture
def step(reviewer: Reviewer) -> Step:
    def make(options: Mapping[str, Any], *, trusted: bool = True, timeout: float = 60) -> StepInput:
        return StepInput(
            root=reviewer.root,
            files=(),
            options=options,
            settings=reviewer.settings,
            reviewer=reviewer,
            trusted=trusted,
            timeout=timeout,
        )

    return make


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# -- command ----------------------------------------------------------------------------


async def test_a_command_that_exits_0_is_done_with_its_output_tail(step: Step) -> None:
    code = "import os; [print(i) for i in range(100)]; print(os.getcwd(), os.environ['EXTRA'])"
    (step({}).root / "sub").mkdir()
    options = {"argv": python(code), "cwd": "sub", "env": {"EXTRA": "yes"}}
    output = await COMMAND.run(step(options))
    assert output.summary["exitCode"] == 0
    assert output.summary["durationMs"] >= 0
    tail = output.summary["outputTail"].splitlines()
    assert len(tail) == 40
    assert tail[-2] == "99"
    assert tail[-1] == f"{(step({}).root / 'sub').resolve()} yes"
    assert output.findings == {}


async def test_a_command_that_exits_3_fails_with_its_tail(step: Step) -> None:
    code = "import sys; print('to stdout'); print('why', file=sys.stderr); sys.exit(3)"
    with pytest.raises(StepFailed) as failed:
        await COMMAND.run(step({"argv": python(code)}))
    assert failed.value.message == f"`{sys.executable}` exited with 3"
    assert not failed.value.transient
    assert failed.value.output_tail == "to stdout\nwhy"


async def test_a_command_past_its_timeout_is_a_transient_failure_and_its_group_is_gone(
    step: Step, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    code = textwrap.dedent(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        print("started", flush=True)
        time.sleep(60)
    """)
    started = time.monotonic()
    with pytest.raises(StepFailed) as failed:
        await COMMAND.run(step({"argv": python(code)}, timeout=2))
    assert time.monotonic() - started < 10
    assert failed.value.transient
    assert "timed out after 2 s" in failed.value.message
    assert failed.value.output_tail == "started"
    leader, child = map(int, pids.read_text().split())
    # The orphaned child is killed at once, but reaped by init a moment later.
    deadline = time.monotonic() + 5
    while group_alive(leader) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not group_alive(leader)
    assert not alive(child)


async def test_a_cancelled_command_s_group_is_gone(step: Step, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    task = asyncio.create_task(COMMAND.run(step({"argv": python(code)})))
    while not pid_file.exists() or not pid_file.read_text():
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not group_alive(int(pid_file.read_text()))


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


async def test_a_command_s_huge_output_is_bounded(step: Step) -> None:
    code = "import sys\nfor i in range(200_000): print('x' * 99)\nprint('the end')"
    output = await COMMAND.run(step({"argv": python(code), "maxOutputKb": 4}))
    tail = output.summary["outputTail"].splitlines()
    assert tail[-1] == "the end"
    assert len(tail) == 40


async def test_captured_output_keeps_the_last_bytes_and_counts_the_rest() -> None:
    code = "import sys; sys.stdout.write('a' * 300_000 + 'b' * 1000); sys.stdout.flush()"
    done = await run_captured(python(code), max_output=1000)
    assert done.output == b"b" * 1000
    assert done.dropped == 300_000
    tail = OutputTail(3)
    for chunk in (b"ab", b"cd", b"e"):
        tail.add(chunk)
    assert (tail.data(), tail.dropped) == (b"cde", 2)


async def test_an_untrusted_command_is_refused_naming_its_program(step: Step) -> None:
    with pytest.raises(StepRefused) as refused:
        await COMMAND.run(step({"argv": ["make", "lint"]}, trusted=False))
    assert "`make`" in refused.value.message
    assert "trustedWorkspace" in refused.value.message
    assert "--trust" in refused.value.message
    assert not refused.value.transient


@pytest.mark.parametrize("cwd", ["..", "/", "sub/../../elsewhere"])
async def test_a_cwd_outside_the_workspace_is_refused(step: Step, cwd: str) -> None:
    with pytest.raises(StepRefused, match="outside the workspace"):
        await COMMAND.run(step({"argv": python("pass"), "cwd": cwd}))


async def test_a_missing_program_is_a_lasting_failure(step: Step) -> None:
    with pytest.raises(StepFailed) as failed:
        await COMMAND.run(step({"argv": ["no-such-program-tapps"]}))
    assert not failed.value.transient
    assert "not found" in failed.value.message


async def test_a_program_killed_by_a_signal_is_transient(step: Step) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    with pytest.raises(StepFailed, match="killed by SIGKILL") as failed:
        await COMMAND.run(step({"argv": python(code)}))
    assert failed.value.transient


def test_command_options_are_checked() -> None:
    assert COMMAND.problems({"argv": ["x"], "cwd": "a", "env": {"A": "1"}, "maxOutputKb": 2}) == []
    assert COMMAND.problems({"argv": ["x"], "max_output_kb": 2}) == []
    assert COMMAND.problems({}) == [
        "`command` step: `argv` must be a non-empty list of strings, the program first "
        "(no NUL characters)."
    ]
    for bad in ([], "make lint", ["make", 3], [""]):
        assert len(COMMAND.problems({"argv": bad})) == 1, bad
    assert COMMAND.problems({"argv": ["x"], "args": ["-v"]}) == [
        "`command` step: unknown option `args` (it takes `argv`, `cwd`, `env`, `maxOutputKb`)."
    ]
    assert len(COMMAND.problems({"argv": ["x"], "maxOutputKb": 1, "max_output_kb": 1})) == 1
    assert len(COMMAND.problems({"argv": ["x"], "env": {"A": 1}})) == 1
    assert len(COMMAND.problems({"argv": ["x"], "env": ["A=1"]})) == 1
    assert len(COMMAND.problems({"argv": ["x"], "cwd": 3})) == 1
    for size in (0, True, 1.5, "4"):
        assert len(COMMAND.problems({"argv": ["x"], "maxOutputKb": size})) == 1, size


# -- tests ------------------------------------------------------------------------------

PASSING_AND_FAILING = """\
from helpers import two


def test_passes(answer):
    assert answer == 42


def test_fails():
    expected = 1
    assert expected == two()
"""
CONFTEST = """\
import pytest


@pytest.fixture
def answer():
    return 42
"""


def write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


async def test_a_failing_test_is_a_finding_on_its_def_line(step: Step) -> None:
    root = step({}).root
    write(
        root,
        {
            "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['src']\n",
            "src/helpers.py": "def two():\n    return 2\n",
            "tests/conftest.py": CONFTEST,
            "tests/test_things.py": PASSING_AND_FAILING,
        },
    )
    output = await TESTS.run(step({"cwd": "tests"}))
    summary = dict(output.summary)
    assert summary.pop("durationMs") >= 0
    assert summary.pop("outputTail")
    assert summary == {
        "passed": False,
        "exitCode": 1,
        "tests": 2,
        "failures": 1,
        "errors": 0,
        "skipped": 0,
    }
    test_file = str((root / "tests" / "test_things.py").resolve())
    assert list(output.findings) == [test_file]
    (finding,) = output.findings[test_file]
    # pytest's junit `line`: the test function's first line, 0-based (here its `def`).
    assert finding.span.start_line == 7
    assert PASSING_AND_FAILING.splitlines()[7] == "def test_fails():"
    assert (finding.span.start_col, finding.span.end_col) == (0, len("def test_fails():"))
    assert finding.message == "test_fails: assert 1 == 2"
    assert (finding.source, finding.code, finding.severity) == (
        Source.TESTS,
        "failed",
        Severity.ERROR,
    )
    (raised,) = finding.related
    assert (raised.path, raised.span.start_line) == (test_file, 9)
    assert not (root / "tests" / ".pytest_cache").exists() and not (root / ".pytest_cache").exists()


async def test_no_tests_collected_is_a_pass_with_no_tests(step: Step) -> None:
    write(step({}).root, {"test_nothing.py": "x = 1\n"})
    output = await TESTS.run(step({}))
    assert output.summary["passed"] is True
    assert output.summary["exitCode"] == 5
    assert output.summary["tests"] == 0
    assert output.findings == {}


async def test_a_module_that_cannot_be_collected_is_a_finding_on_its_first_line(
    step: Step,
) -> None:
    root = step({}).root
    write(root, {"test_broken.py": "import no_such_module_tapps\n"})
    output = await TESTS.run(step({}))
    assert output.summary["passed"] is False
    (finding,) = output.findings[str(root.resolve() / "test_broken.py")]
    assert finding.span.start_line == 0
    assert finding.code == "error"
    assert finding.message == (
        "test_broken: could not be collected: ModuleNotFoundError: "
        "No module named 'no_such_module_tapps'"
    )


async def test_a_pytest_usage_error_fails_the_step(step: Step) -> None:
    write(step({}).root, {"test_one.py": "def test_one():\n    pass\n"})
    with pytest.raises(StepFailed) as failed:
        await TESTS.run(step({"args": ["--no-such-option-tapps"]}))
    assert "exited with 4 (usage error)" in failed.value.message
    assert not failed.value.transient
    assert "--no-such-option-tapps" in failed.value.output_tail


async def test_untrusted_tests_are_refused(step: Step) -> None:
    with pytest.raises(StepRefused, match="`tests` step is not run"):
        await TESTS.run(step({}, trusted=False))


async def test_the_tests_version_names_the_environment(step: Step) -> None:
    version = await TESTS.version(step({}))
    assert version.startswith(f"tests-1 {sys.executable} ")


def test_tests_options_are_checked() -> None:
    assert TESTS.problems({}) == []
    assert TESTS.problems({"args": ["-k", "fast"], "argv": ["pytest"]}) == []
    assert TESTS.problems({"args": "-k fast"}) == [
        "`tests` step: `args` must be a list of strings (no NUL characters)."
    ]
    assert len(TESTS.problems({"argv": []})) == 1
    assert len(TESTS.problems({"junit": True})) == 1

"""`tapps-lsp run`, `run --resume`, `run --list` and `runs`: real ruff and mypy runs in a
real CLI process, on copies of the fixtures."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema

from tapps_lsp.analyzers.workflows.run_view import RunView
from tapps_lsp.analyzers.workflows.service import FolderWorkflows
from tapps_lsp.analyzers.workspace import cache_folder, make_reviewer, open_store, project_settings
from tapps_lsp.server.cli.check import command_line_layers
from tapps_lsp.server.cli.run import RunOptions
from tests.e2e.test_check_formats import SARIF_SCHEMA

TAPPS = [sys.executable, "-m", "tapps_lsp.server"]
STANDARD = {"ruff", "mypy", "score"}


def tapps(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TAPPS, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def run_json(*args: str, cwd: Path) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    done = tapps("run", *args, "--format", "json", cwd=cwd)
    assert done.stdout, done.stderr
    return json.loads(done.stdout), done


def states(run: dict[str, Any]) -> dict[str, str]:
    return {step["id"]: step["state"] for step in run["steps"]}


def test_minimal_runs_ruff_and_exits_by_fail_on(basic_project: Path) -> None:
    done = tapps("run", "minimal", cwd=basic_project)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "app/lint.py:1:8: warning ruff F401 `os` imported but unused" in lines
    assert not any(" mypy " in line for line in lines)
    assert lines[-1].startswith("minimal done: 6 files, 3 findings (0 errors, 3 warnings), ")
    table = lines[lines.index("") + 1 : -2]
    assert table[0].split() == ["step", "state", "findings", "cached", "duration", "error"]
    assert table[1].split()[:4] == ["ruff", "done", "3", "no"]

    strict = tapps("run", "minimal", "--fail-on", "warning", cwd=basic_project)
    assert strict.returncode == 1
    assert "tapps-lsp: 3 findings at or above `warning`" in strict.stderr
    one_file = tapps("run", "minimal", "app/b.py", "--fail-on", "warning", cwd=basic_project)
    assert one_file.returncode == 0, one_file.stdout
    assert "1 file, 0 findings" in one_file.stdout


def test_standard_as_json_then_again_from_the_cache(basic_project: Path) -> None:
    first, done = run_json("standard", cwd=basic_project)
    assert done.returncode == 1
    assert "tapps-lsp: 3 findings at or above `error`" in done.stderr
    assert first["workflow"] == "standard" and first["state"] == "done"
    assert states(first) == dict.fromkeys(STANDARD, "done")
    report = first["report"]
    assert report["findings"] == {"total": 6, "bySource": {"mypy": 3, "ruff": 3}}
    found = {
        (f["path"], f["line"], f["code"]) for step in report["steps"] for f in step["findings"]
    }
    assert ("app/typeerr.py", 1, "assignment") in found and ("app/lint.py", 1, "F401") in found

    again, _ = run_json("standard", cwd=basic_project)
    assert again["runId"] != first["runId"]
    cached = {step["id"]: step["cached"] for step in again["steps"]}
    assert cached["ruff"] and cached["mypy"]
    assert again["report"] == report


def test_comprehensive_runs_every_kind_there_is(basic_project: Path) -> None:
    """The security, complexity, docs and deadcode kinds may not be registered yet: a
    missing kind's step is skipped (and says so on stderr), and the run is still done."""
    run, done = run_json("comprehensive", cwd=basic_project)
    assert run["state"] == "done"
    assert done.returncode == 1
    by_id = {step["id"]: step for step in run["steps"]}
    assert set(by_id) == {*STANDARD, "security", "complexity", "docs", "deadcode"}
    for name in STANDARD:
        assert by_id[name]["state"] == "done"
    for name in ("security", "complexity", "docs", "deadcode"):
        step = by_id[name]
        assert step["state"] in ("done", "skipped"), step
        if step["state"] == "skipped":
            assert step["error"] == f"`{name}` steps are not available"
            assert f"tapps-lsp: step `{name}` skipped: `{name}` steps" in done.stderr


def test_an_unknown_workflow_exits_2(basic_project: Path) -> None:
    done = tapps("run", "nightly", cwd=basic_project)
    assert done.returncode == 2 and not done.stdout
    assert (
        "no workflow `nightly` (there are: minimal, standard, comprehensive, full)" in done.stderr
    )
    assert tapps("run", cwd=basic_project).returncode == 2
    assert tapps("run", "minimal", "app/nothing.py", cwd=basic_project).returncode == 2


def test_pyproject_workflows_run_and_their_problems_name_the_line(basic_project: Path) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[tool.tapps.workflows.quick.steps.lint]\nuses = "ruff"\npaths = ["app/lint.py"]\n'
        + '\n[tool.tapps.workflows.broken.steps.lint]\nuses = "ruff"\nneeds = ["types"]\n'
    )
    needs_line = pyproject.read_text().splitlines().index('needs = ["types"]') + 1

    broken = tapps("run", "broken", cwd=basic_project)
    assert broken.returncode == 2
    assert f"pyproject.toml:{needs_line}: workflow `broken`, step `lint`:" in broken.stderr
    assert "workflow `broken` is not valid" in broken.stderr

    quick, done = run_json("quick", cwd=basic_project)
    assert done.returncode == 0, done.stderr
    assert f"pyproject.toml:{needs_line}:" in done.stderr, "every load problem is shown"
    assert {f["path"] for f in quick["report"]["steps"][0]["findings"]} == {"app/lint.py"}

    listed = json.loads(tapps("run", "--list", "--format", "json", cwd=basic_project).stdout)
    workflows = {w["name"]: w for w in listed["workflows"]}
    assert workflows["quick"] == {
        "name": "quick",
        "preset": False,
        "steps": [{"id": "lint", "uses": "ruff", "needs": []}],
    }
    assert workflows["standard"]["preset"] and "broken" not in workflows
    text = tapps("run", "--list", cwd=basic_project).stdout
    assert "standard       preset     ruff; mypy; score (needs ruff, mypy)" in text


def test_runs_lists_the_newest_first(basic_project: Path) -> None:
    assert tapps("runs", cwd=basic_project).stdout.splitlines()[1:] == []
    minimal, _ = run_json("minimal", cwd=basic_project)
    standard, _ = run_json("standard", cwd=basic_project)
    listed = json.loads(tapps("runs", "--format", "json", cwd=basic_project).stdout)
    assert [(r["runId"], r["workflow"], r["state"]) for r in listed["runs"]] == [
        (standard["runId"], "standard", "done"),
        (minimal["runId"], "minimal", "done"),
    ]
    assert listed["runs"][0]["startedAt"] == standard["startedAt"]
    assert listed["runs"][0]["finishedAt"] == standard["finishedAt"]
    elsewhere = tapps("runs", "--limit", "1", "--project", str(basic_project), cwd=Path("/"))
    assert [line.split()[0] for line in elsewhere.stdout.splitlines()] == [
        "run",
        standard["runId"],
    ]


async def test_a_paused_run_resumes_from_the_command_line(basic_project: Path) -> None:
    """The run is paused in this process, by the engine, in the folder and cache the CLI
    uses; `run --resume` finishes it without running its done steps again."""
    root = basic_project.resolve()
    settings, _ = project_settings(root, *command_line_layers(RunOptions(workflow=None)))
    reviewer = make_reviewer(root, settings, open_store(root, settings))
    workflows = FolderWorkflows(reviewer, cache_folder(root, settings))
    holder: list[Any] = []

    def pause_after_ruff(view: RunView, step: str | None) -> None:
        if step == "ruff" and view.steps["ruff"].state == "done":
            holder[0].pause()

    try:
        run = await workflows.start("standard", on_change=pause_after_ruff)
        holder.append(run)
        assert (await run.execute()).state == "paused"
    finally:
        workflows.close()
        await reviewer.close()
        reviewer.store.close()

    listed = json.loads(tapps("runs", "--format", "json", cwd=basic_project).stdout)
    assert listed["runs"][0] == {**listed["runs"][0], "runId": run.run_id, "state": "paused"}
    resumed, done = run_json("--resume", run.run_id, cwd=basic_project)
    assert done.returncode == 1, done.stderr
    assert resumed["runId"] == run.run_id and resumed["state"] == "done"
    steps = {step["id"]: step for step in resumed["steps"]}
    assert steps["ruff"]["resumed"] and steps["ruff"]["attempts"] == 1
    assert steps["mypy"]["state"] == "done" and steps["score"]["state"] == "done"
    assert not steps["score"]["resumed"]
    assert resumed["report"]["findings"]["bySource"] == {"mypy": 3, "ruff": 3}

    again = tapps("run", "--resume", run.run_id, cwd=basic_project)
    assert again.returncode == 2
    assert "is done; only a paused or interrupted run resumes" in again.stderr
    unknown = tapps("run", "--resume", "0000", cwd=basic_project)
    assert unknown.returncode == 2 and "no run '0000'" in unknown.stderr


def test_sarif_output_validates_against_the_schema(basic_project: Path) -> None:
    done = tapps("run", "standard", "--format", "sarif", "--fail-on", "none", cwd=basic_project)
    assert done.returncode == 0, done.stderr
    log = json.loads(done.stdout)
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text()))
    [run] = log["runs"]
    assert run["tool"]["driver"]["name"] == "tapps-lsp"
    assert len(run["results"]) == 6
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert "ruff/F401" in rules and "mypy/assignment" in rules
    unused = next(r for r in run["results"] if r["ruleId"] == "ruff/F401")
    assert unused["properties"] == {"step": "ruff"}
    location = unused["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "app/lint.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"]["startLine"] == 1 and location["region"]["startColumn"] == 8


def test_markdown_and_html_show_the_steps_and_findings(basic_project: Path) -> None:
    markdown = tapps("run", "standard", "--format", "markdown", cwd=basic_project).stdout
    assert markdown.startswith("## tapps-lsp run · `standard` · done\n")
    assert "| `mypy` | `mypy` | done | 3 |" in markdown
    assert "<details><summary><code>app/lint.py</code> · 1 finding</summary>" in markdown
    page = tapps("run", "standard", "--format", "html", cwd=basic_project).stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<td><code>score</code></td>" in page and "<script" not in page
    assert "(expression has type &quot;str&quot;" in page


def test_ctrl_c_cancels_the_run_and_shows_what_was_done(basic_project: Path) -> None:
    """On a terminal the bar names the running steps; Ctrl-C while mypy (cold) runs."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [*TAPPS, "run", "standard"],
            cwd=basic_project,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
        )
        os.close(terminal)
        shown = _read_until(controller, b"running: mypy")
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
        shown += _read_until(controller, b"\0")
    finally:
        os.close(controller)
    assert b"step 1/3 \xc2\xb7 running: mypy \xc2\xb7 " in shown
    assert process.returncode == 130, out
    assert "mypy   cancelled" in out and "the run was cancelled" in out
    assert "standard cancelled: 6 files" in out
    assert b"is logged cancelled" in shown
    listed = json.loads(tapps("runs", "--format", "json", cwd=basic_project).stdout)
    assert listed["runs"][0]["state"] == "cancelled"


def _read_until(fd: int, wanted: bytes, timeout_s: float = 60) -> bytes:
    """What the terminal shows until `wanted` appears, the other side closes, or the time
    is up."""
    shown = b""
    deadline = time.monotonic() + timeout_s
    while wanted not in shown and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal side is closed
            break
        if not chunk:
            break
        shown += chunk
    return shown

"""Workflow runs with the real reviewer, ruff and mypy over a fixture project: the
graph, the shared review cache, a failure that cancels only its dependents, and a pause
resumed by another process's log reader without running a completed step again."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.analyzers.files import discover
from tapps_lsp.analyzers.workflows.execute import (
    RunNotResumable,
    WorkflowContext,
    read_run,
    resume_run,
    start_run,
)
from tapps_lsp.analyzers.workflows.presets import presets
from tapps_lsp.analyzers.workflows.run_log import RunLog
from tapps_lsp.analyzers.workflows.run_view import RunView
from tapps_lsp.analyzers.workflows.spec import StepSpec, WorkflowSpec
from tapps_lsp.analyzers.workspace import make_reviewer, open_store, project_settings

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "basic"
    shutil.copytree(FIXTURES / "basic", root)
    return root


class Contexts:
    """Workflow contexts over one project, each as a new server would make it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: list[WorkflowContext] = []

    def new(self, **client: Any) -> WorkflowContext:
        settings, _ = project_settings(self.root, {"trustedWorkspace": True, **client})
        reviewer = make_reviewer(self.root, settings, open_store(self.root, settings))
        context = WorkflowContext(self.root, reviewer, RunLog(self.root / ".tapps_cache"))
        self.made.append(context)
        return context


@pytest.fixture
async def contexts(project: Path) -> AsyncIterator[Contexts]:
    made = Contexts(project)
    yield made
    for context in made.made:
        await context.reviewer.close()
        context.log.close()


def states(view: RunView) -> dict[str, str]:
    return {step.id: step.state for step in view.steps.values()}


async def test_standard_runs_then_reruns_from_the_review_cache(contexts: Contexts) -> None:
    context = contexts.new()
    files = list(discover(contexts.root))
    first = await (await start_run(context, presets()["standard"], files)).execute()
    assert first.state == "done"
    assert states(first) == {"ruff": "done", "mypy": "done", "score": "done"}
    assert first.report is not None
    assert first.report["findings"]["bySource"] == {"mypy": 3, "ruff": 3}
    lint = {(f["path"], f["code"]) for f in first.report["steps"][0]["findings"]}
    assert ("app/lint.py", "F401") in lint
    assert not first.steps["ruff"].cached

    again = await (await start_run(context, presets()["standard"], files)).execute()
    assert again.steps["ruff"].cached and again.steps["mypy"].cached
    assert again.report == first.report
    assert again.run_id != first.run_id


async def test_a_failing_step_cancels_only_what_needs_it(contexts: Contexts) -> None:
    context = contexts.new(mypy={"path": "/nonexistent/mypy"})
    files = list(discover(contexts.root))
    view = await (await start_run(context, presets()["standard"], files)).execute()
    assert view.state == "failed"
    assert states(view) == {"ruff": "done", "mypy": "failed", "score": "cancelled"}
    assert view.steps["score"].error == "needs `mypy`, which failed"
    assert view.report is not None
    failed = {f["step"] for f in view.report["failures"]}
    assert failed == {"mypy", "score"}
    assert "/nonexistent/mypy" in (view.steps["mypy"].error or "")


async def test_a_paused_run_resumes_elsewhere_without_rerunning_done_steps(
    contexts: Contexts,
) -> None:
    files = list(discover(contexts.root))
    reference = await (await start_run(contexts.new(), presets()["standard"], files)).execute()

    first = contexts.new()
    holder: list[Any] = []

    def pause_after_ruff(view: RunView, step: str | None) -> None:
        if step == "ruff" and view.steps["ruff"].state == "done":
            holder[0].pause()

    run = await start_run(first, presets()["standard"], files, on_change=pause_after_ruff)
    holder.append(run)
    paused = await run.execute()
    assert paused.state == "paused"
    assert paused.steps["score"].state == "pending"
    assert paused.report is None

    # Another process: a new log reader and reviewer over the same folder.
    second = contexts.new()
    resumed = await (await resume_run(second, run.run_id)).execute()
    assert resumed.state == "done"
    assert resumed.steps["ruff"].resumed and resumed.steps["ruff"].attempts == 1
    assert resumed.steps["mypy"].resumed
    assert not resumed.steps["score"].resumed
    events = second.log.events(run.run_id)
    started = [e.step for e in events if e.kind == "step_started"]
    assert started.count("ruff") == 1 and started.count("mypy") == 1
    assert resumed.report == {**reference.report, "state": "done"}  # type: ignore[dict-item]

    with pytest.raises(RunNotResumable):
        await resume_run(second, run.run_id)
    assert (await read_run(second.log, run.run_id)).state == "done"
    assert next(row.run_id for row in second.log.rows()) == run.run_id


async def test_severity_overrides_apply_to_the_step_kinds_findings(contexts: Contexts) -> None:
    files = list(discover(contexts.root))
    plain = await (await start_run(contexts.new(), presets()["comprehensive"], files)).execute()
    context = contexts.new(severity={"D104": "error"})
    view = await (await start_run(context, presets()["comprehensive"], files)).execute()
    assert view.steps["docs"].cached, "the stored output is the same; only its showing changes"

    def docs(run: RunView) -> dict[str, str]:
        assert run.report is not None
        step = next(s for s in run.report["steps"] if s["id"] == "docs")
        return {f["code"]: f["severity"] for f in step["findings"]}

    assert docs(plain)["D104"] == "information"
    assert docs(view)["D104"] == "error"
    assert docs(view)["D103"] == docs(plain)["D103"]


async def test_the_score_step_gives_the_scores_a_review_gives(contexts: Contexts) -> None:
    # The overrides change how findings show, never the score (as for a save).
    context = contexts.new(severity={"F401": "error", "E702": "hint"})
    files = list(discover(contexts.root))
    view = await (await start_run(context, presets()["standard"], files)).execute()
    assert view.report is not None
    score_step = next(s for s in view.report["steps"] if s["id"] == "score")
    from_reviews = {}
    for path in files:
        last = None
        async for report in context.reviewer.review(path, path.read_text()):
            last = report
        assert last is not None and last.score is not None
        from_reviews[path.relative_to(contexts.root).as_posix()] = last.score.total
    assert score_step["summary"]["scores"] == from_reviews
    lint = {f["code"]: f["severity"] for f in view.report["steps"][0]["findings"]}
    assert lint == {"F401": "error", "E702": "hint"}


async def test_a_step_with_cache_false_runs_every_time(contexts: Contexts, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    argv = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"]

    def workflow(cache: bool) -> WorkflowSpec:
        step = StepSpec("c", "command", {"argv": argv}, cache=cache)
        return WorkflowSpec("w", (step,), origin="client", trusted=True)

    context = contexts.new()
    for _ in range(2):
        assert (await (await start_run(context, workflow(True), [])).execute()).state == "done"
    assert marker.read_text() == "x", "the second run was a step-cache hit"
    for _ in range(2):
        assert (await (await start_run(context, workflow(False), [])).execute()).state == "done"
    assert marker.read_text() == "xxx"

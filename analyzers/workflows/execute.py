"""Running a workflow: its steps as a graph, each event on disk before the next step.

Independent steps run at the same time (a `TaskGroup`, at most `max_parallel` at once).
A step that fails cancels only the steps that need it; the others finish, and the run
reports every failure. Each attempt has the step's timeout; a transient failure (a crash,
a timeout) is retried with exponential backoff and jitter, up to the step's `retries`.
The tool's circuit breaker may skip the step (`circuit open`). Cacheable steps are
stored under a hash of their inputs. `pause` stops the run at the next step boundary,
`cancel` stops it now; a run cut off by a crash is resumed from its log
(`resume_run`), and no completed step runs again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import shlex
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pathspec import GitIgnoreSpec

from tapps_lsp.analyzers.breaker import Breakers
from tapps_lsp.analyzers.cache import recipes
from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.configs import read_text, ruff_config_files
from tapps_lsp.analyzers.findings import Severity
from tapps_lsp.analyzers.review import Reviewer, apply_severity
from tapps_lsp.analyzers.trust import untrusted_step_message
from tapps_lsp.analyzers.workflows.kinds.registry import KINDS
from tapps_lsp.analyzers.workflows.output_codec import dump_output, load_output
from tapps_lsp.analyzers.workflows.report import build_report
from tapps_lsp.analyzers.workflows.run_log import RunLog
from tapps_lsp.analyzers.workflows.run_view import (
    CANCELLED,
    DONE,
    FAILED,
    PENDING,
    SKIPPED,
    RunView,
    apply,
    fold,
)
from tapps_lsp.analyzers.workflows.spec import StepSpec, WorkflowSpec
from tapps_lsp.analyzers.workflows.step import (
    DoneStep,
    StepFailed,
    StepInput,
    StepKind,
    StepOutput,
    StepRefused,
)

log = logging.getLogger(__name__)

# (the run as it stands, the step an event was about or None): after every event.
OnChange = Callable[[RunView, str | None], None]


class RunNotFound(LookupError):
    pass


class RunNotResumable(ValueError):
    pass


@dataclass(slots=True)
class StepCacheCounts:
    hits: int = 0
    misses: int = 0


@dataclass(slots=True)
class WorkflowContext:
    """What runs of one workspace folder share: its reviewer, run log and breakers."""

    root: Path
    reviewer: Reviewer
    log: RunLog
    breakers: Breakers = field(default_factory=Breakers)
    kinds: Mapping[str, StepKind] = field(default_factory=lambda: KINDS)
    max_parallel: int = 4
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    step_cache: StepCacheCounts = field(default_factory=StepCacheCounts)


async def start_run(
    context: WorkflowContext,
    spec: WorkflowSpec,
    files: Sequence[Path],
    *,
    paths: Sequence[str] = (),
    on_change: OnChange | None = None,
) -> WorkflowRun:
    """A new run of `spec` over `files` (the workspace's, or those `paths` asked for),
    logged as started."""
    run_id = uuid.uuid4().hex[:16]
    data = {
        "workflow": spec.as_json(),
        "paths": list(paths),
        "files": [_relative(path, context.root) for path in files],
        "root": str(context.root),
    }
    event = await asyncio.to_thread(context.log.start, run_id, spec.name, data)
    view = fold([event])
    assert view is not None
    return WorkflowRun(context, view, list(files), on_change)


async def resume_run(
    context: WorkflowContext, run_id: str, *, on_change: OnChange | None = None
) -> WorkflowRun:
    """A paused or interrupted run, to go on from where its log stops."""
    events = await asyncio.to_thread(context.log.events, run_id)
    view = fold(events)
    if view is None:
        raise RunNotFound(f"no run {run_id!r} in this workspace's log")
    if not view.resumable:
        raise RunNotResumable(
            f"run {run_id} is {view.state}; only a paused or interrupted run resumes"
        )
    files = [context.root / name for name in _started_files(events)]
    run = WorkflowRun(context, view, files, on_change)
    await run.record("run_resumed")
    return run


async def cancel_stored_run(context: WorkflowContext, run_id: str) -> RunView:
    """A paused or interrupted run that no process executes, ended `cancelled` (its
    report holds what its done steps found); a finished run is left as it is."""
    events = await asyncio.to_thread(context.log.events, run_id)
    view = fold(events)
    if view is None:
        raise RunNotFound(f"no run {run_id!r} in this workspace's log")
    if not view.resumable:
        return view
    run = WorkflowRun(context, view, [context.root / name for name in _started_files(events)], None)
    run.load_done_outputs()
    run.cancel()
    await run.end()
    return run.view


async def read_run(log: RunLog, run_id: str) -> RunView:
    view = fold(await asyncio.to_thread(log.events, run_id))
    if view is None:
        raise RunNotFound(f"no run {run_id!r} in this workspace's log")
    return view


def _started_files(events: Sequence[Any]) -> list[str]:
    return list(events[0].data.get("files", [])) if events else []


class WorkflowRun:
    def __init__(
        self,
        context: WorkflowContext,
        view: RunView,
        files: list[Path],
        on_change: OnChange | None,
    ) -> None:
        self.context = context
        self.view = view
        self.files = files
        self._on_change = on_change
        self._pause = False
        self._cancel = False
        self._running: dict[str, asyncio.Task[None]] = {}
        self._finished = {step_id: asyncio.Event() for step_id in view.steps}
        self._outputs: dict[str, StepOutput] = {}
        self._slots = asyncio.Semaphore(context.max_parallel)

    @property
    def run_id(self) -> str:
        return self.view.run_id

    @property
    def spec(self) -> WorkflowSpec:
        return self.view.workflow

    def pause(self) -> None:
        """Start no more steps; the running ones finish, and the run is then `paused`."""
        self._pause = True

    def cancel(self) -> None:
        """Stop the running steps now; the run ends `cancelled`."""
        self._cancel = True
        for task in self._running.values():
            task.cancel()

    async def execute(self) -> RunView:
        """Run every step not done yet; returns the run as it ended. Cancelling this
        coroutine (the server going away) leaves the run `running` in the log, which
        the next server marks `interrupted`."""
        self.load_done_outputs()
        async with asyncio.TaskGroup() as group:
            for declared in self.spec.steps:
                if not self._finished[declared.id].is_set():
                    self._running[declared.id] = group.create_task(self._step(declared))
        await self.end()
        return self.view

    @property
    def outputs(self) -> Mapping[str, StepOutput]:
        """The done steps' outputs, by step id, as shown: severity overrides applied."""
        return shown_outputs(self._outputs, self.context.reviewer.settings.severity)

    def load_done_outputs(self) -> None:
        """The outputs of the steps done before (a resumed run's), from the log."""
        for step_id, step in self.view.steps.items():
            if step.state == DONE and step.output is not None:
                self._outputs[step_id] = load_output(step.output, self.context.root)
                self._finished[step_id].set()

    async def record(
        self, kind: str, step: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        event = await asyncio.to_thread(self.context.log.append, self.run_id, kind, step, data)
        apply(self.view, event)
        if self._on_change is not None:
            self._on_change(self.view, step)

    async def end(self) -> None:
        """Record how the run ended: cancelled, paused, failed or done (with its report)."""
        pending = [s for s in self.view.steps.values() if s.state == PENDING]
        if self._cancel:
            for step in pending:
                await self.record("step_cancelled", step.id, {"error": "the run was cancelled"})
            state = CANCELLED
        elif pending:
            await self.record("run_paused")
            return
        elif any(step.state in (FAILED, CANCELLED) for step in self.view.steps.values()):
            state = FAILED
        else:
            state = DONE
        outputs = shown_outputs(self._outputs, self.context.reviewer.settings.severity)
        report = build_report(self.view, outputs, self.context.root, len(self.files), state)
        await self.record("run_finished", data={"state": state, "report": report})

    async def _step(self, spec: StepSpec) -> None:
        try:
            for need in spec.needs:
                await self._finished[need].wait()
            if await self._blocked_by_needs(spec):
                return
            async with self._slots:
                if self._pause or self._cancel:
                    return
                await self._attempts(spec)
        except asyncio.CancelledError:
            if not self._cancel:
                raise  # the server is going away: the run is interrupted, not cancelled
            if self.view.steps[spec.id].state not in (DONE, FAILED, SKIPPED, CANCELLED):
                await self.record("step_cancelled", spec.id, {"error": "the run was cancelled"})
        finally:
            self._running.pop(spec.id, None)
            self._finished[spec.id].set()

    async def _blocked_by_needs(self, spec: StepSpec) -> bool:
        """Whether a need's outcome keeps the step from running (then recorded so)."""
        for need in spec.needs:
            state = self.view.steps[need].state
            if state == DONE:
                continue
            if state == PENDING:
                return True  # paused before it: this one waits too
            if state == SKIPPED:
                await self.record(
                    "step_skipped", spec.id, {"error": f"needs `{need}`, which was skipped"}
                )
            else:
                how = "failed" if state == FAILED else "was cancelled"
                await self.record(
                    "step_cancelled", spec.id, {"error": f"needs `{need}`, which {how}"}
                )
            return True
        return False

    async def _attempts(self, spec: StepSpec) -> None:
        kind = self.context.kinds.get(spec.uses)
        refusal = None
        if kind is None:
            refusal = f"`{spec.uses}` steps are not available"
        elif kind.runs_programs and not self.spec.trusted:
            refusal = untrusted_step_message(spec.id, spec.uses, self.spec.origin)
        if kind is None or refusal is not None:
            await self.record("step_skipped", spec.id, {"error": refusal})
            return
        await self._attempt_loop(spec, kind)

    async def _attempt_loop(self, spec: StepSpec, kind: StepKind) -> None:
        breaker = self.context.breakers.of(_breaker_name(kind, spec))
        step_input = self._input(spec)
        for attempt in range(1, spec.retries + 2):
            if not breaker.allow():
                error = (
                    f"circuit open: `{breaker.tool}` failed {breaker.threshold} times in a row"
                    f" (last: {breaker.last_error}); next trial in {breaker.retry_in_s():.0f} s"
                )
                await self.record("step_skipped", spec.id, {"error": error, "circuitOpen": True})
                return
            await self.record("step_started", spec.id, {"attempt": attempt})
            try:
                async with asyncio.timeout(spec.timeout):
                    output = await self._run_once(spec, kind, step_input)
            except StepRefused as refused:
                await self.record("step_skipped", spec.id, {"error": refused.message})
                return
            except (StepFailed, TimeoutError) as exc:
                failure = exc if isinstance(exc, StepFailed) else _timed_out(spec)
                breaker.failed(failure.message)
                if failure.transient and attempt <= spec.retries:
                    delay = self._backoff(attempt)
                    data = {"attempt": attempt, "error": failure.message, "delayS": delay}
                    await self.record("step_retried", spec.id, data)
                    await asyncio.sleep(delay)
                    continue
                data = {"error": failure.message, "outputTail": failure.output_tail}
                await self.record("step_failed", spec.id, data)
                return
            except Exception as exc:  # our own bug: the step fails, the run goes on
                log.exception("workflow step %s failed", spec.id)
                await self.record("step_failed", spec.id, {"error": f"internal error: {exc!r}"})
                return
            breaker.succeeded()
            self._outputs[spec.id] = output
            data = {
                "cached": output.cached,
                "findings": output.finding_count,
                "output": dump_output(output, self.context.root),
            }
            await self.record("step_completed", spec.id, data)
            return

    def _input(self, spec: StepSpec) -> StepInput:
        reviewer = self.context.reviewer
        return StepInput(
            root=self.context.root,
            files=tuple(covered(self.files, spec.paths, self.context.root)),
            options=spec.options,
            settings=reviewer.settings,
            reviewer=reviewer,
            trusted=self.spec.trusted,
            timeout=spec.timeout,
            needed={
                need: DoneStep(
                    self.spec.step(need).uses,
                    tuple(covered(self.files, self.spec.step(need).paths, self.context.root)),
                    self._outputs[need],
                )
                for need in spec.needs
                if need in self._outputs
            },
        )

    async def _run_once(self, spec: StepSpec, kind: StepKind, step: StepInput) -> StepOutput:
        if not kind.cacheable or not spec.cache:
            return await kind.run(step)
        output = await self._cached_run(spec, kind, step)
        overrides = step.settings.severity
        if not overrides:
            return output
        findings = {
            path: apply_severity(found, overrides) for path, found in output.findings.items()
        }
        return replace(output, findings=findings)

    async def _cached_run(self, spec: StepSpec, kind: StepKind, step: StepInput) -> StepOutput:
        version = await kind.version(step)
        key = await asyncio.to_thread(self._step_key, spec, version, step.files)
        store = self.context.reviewer.store
        stored = store.get(key)
        if stored is not None:
            try:
                output = load_output(json.loads(stored), self.context.root, cached=True)
            except ValueError:
                log.warning("dropping an unreadable workflow step entry %s", key)
            else:
                self.context.step_cache.hits += 1
                return output
        self.context.step_cache.misses += 1
        output = await kind.run(step)
        data = json.dumps(dump_output(output, self.context.root), separators=(",", ":"))
        await asyncio.to_thread(
            store.put, key, data.encode(), generation=recipes.WORKFLOW_STEPS_GENERATION
        )
        return output

    def _step_key(self, spec: StepSpec, version: str, files: Sequence[Path]) -> str:
        root = self.context.root
        digests: list[tuple[str, str]] = []
        configs: dict[str, str] = {}
        for path in files:
            try:
                digests.append((_relative(path, root), content_hash(path.read_bytes())))
            except OSError:
                digests.append((_relative(path, root), "unreadable"))
            for config in ruff_config_files(path):
                configs.setdefault(str(config), content_hash(read_text(config)))
        return recipes.workflow_step_key(
            spec.uses,
            version=version,
            options=json.dumps(spec.options, sort_keys=True, default=str),
            files=digests,
            configs=configs.items(),
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter (half to all of the delay)."""
        delay = min(self.context.backoff_cap_s, self.context.backoff_base_s * 2.0 ** (attempt - 1))
        jitter: float = random.uniform(0.5, 1.0)  # noqa: S311 - not for secrets
        return round(delay * jitter, 3)


def shown_outputs(
    outputs: Mapping[str, StepOutput], overrides: Mapping[str, Severity]
) -> dict[str, StepOutput]:
    """Outputs as the user sees them: the `severity` setting's overrides applied (the
    outputs themselves, logged and cached, stay as the tools gave them)."""
    if not overrides:
        return dict(outputs)
    return {
        step: replace(
            output,
            findings={p: apply_severity(f, overrides) for p, f in output.findings.items()},
        )
        for step, output in outputs.items()
    }


def covered(files: Sequence[Path], patterns: Sequence[str], root: Path) -> list[Path]:
    """The files a step's `paths` (gitignore-style, workspace-relative) cover: all of
    them when it names none."""
    if not patterns:
        return list(files)
    spec = GitIgnoreSpec.from_lines(patterns)
    return [path for path in files if spec.match_file(_relative(path, root))]


def _breaker_name(kind: StepKind, spec: StepSpec) -> str:
    """One breaker per tool; each command line a `command` or `tests` step runs is a tool
    of its own (one interpreter runs many different programs)."""
    argv = spec.options.get("argv")
    if kind.runs_programs and isinstance(argv, list) and argv:
        words = [Path(str(argv[0])).name, *map(str, argv[1:])]
        line = shlex.join(words)
        return f"{kind.tool}: {line if len(line) <= 80 else line[:79] + '…'}"
    return kind.tool


def _timed_out(spec: StepSpec) -> StepFailed:
    return StepFailed(f"timed out after {spec.timeout:g} s", transient=True)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)

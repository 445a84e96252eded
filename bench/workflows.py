"""Review workflows (issue 14) on rich 15.0.0: each figure side by side, in one run, with
what the issue compares it with.

Every server is a real ``tapps-lsp serve`` over stdio (bench/batch.py's ``serving``) on a
fresh copy of the corpus in the temp dir (bench/batch.py's ``Copies``), with a fresh
``XDG_CACHE_HOME`` of its own: the workspace is untrusted (the default), so its caches
and run log go to the user cache folder, keyed by the root; the resume phase trusts its
workspace (``trustedWorkspace``), which puts them in the copy's ``.tapps_cache``. Each
request is timed from sending it to its response's arrival (``batch.review``).

1. **Rerun vs review** (one server): ``tapps.reviewWorkspace {}`` once and the
   ``standard`` workflow once, then ``--warm-runs`` rounds of (reviewWorkspace, standard
   rerun), nothing changed, the order swapped every other round, each request
   ``--settle`` s after the previous answer. Figure: the median of the rounds' ratios.
   Target <= 1.5x.
2. **Cold presets** (``--cold-runs`` rounds, interleaved): in each round, for each of
   reviewWorkspace, ``minimal``, ``standard``, ``comprehensive`` and the workflow of
   independent steps (3), a fresh copy, cache folder and server; the cold request, then
   ``--reruns`` reruns in the same server (the presets table). Figure: comprehensive
   cold / standard cold (p50s). Target <= 1.3x.
3. **Independent steps**: a client workflow (``initializationOptions.workflows``) of
   ruff, mypy, security, complexity, docs and deadcode, none with ``needs``, run cold in
   step 2's rounds. Figure: the request's wall time / its longest step (from
   ``tapps.runStatus`` ``startedAt``/``finishedAt``, millisecond stamps). Target <= 1.2x.
4. **Resume after SIGKILL** (trusted copy): first -> (ruff, mypy) -> slow -> last, the
   ``command`` steps each appending their name to a marker file. An uninterrupted run
   first (the reference), ``tapps.clearCache``, then a second run, SIGKILL of the server
   while ``slow`` runs (ruff and mypy done), ``tapps.resumeRun`` in a new server. Counted:
   ``step_started`` events per step in the run's log (``runs.sqlite3``), the marker file,
   and ``runStatus``'s ``attempts``/``resumed``. Target: 0 completed steps executed again.

Printed: the figures against their targets, the presets table, per-step times; raw
numbers in ``bench/results/workflows.json``, server stderr in
``bench/results/logs/workflows-*.stderr.log``.

    python bench/workflows.py [--python PY] [--cold-runs 3] [--warm-runs 5] [--reruns 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from batch import (
    NA,
    Copies,
    Review,
    ServerSetup,
    down,
    load,
    markdown,
    metrics,
    p50,
    ratio,
    review,
    server_arguments,
    serving,
    spread,
    tapps_executable,
    temporary_copies,
    up,
    values,
)
from corpus import prepare_rich
from lsp_client import JsonDict, LspClient, LspError
from model import log
from onsave import RESULTS
from report import versions

RUN = "tapps.runWorkflow"
STATUS = "tapps.runStatus"
REVIEW = "tapps.reviewWorkspace"
PRESETS = ("minimal", "standard", "comprehensive")
INDEPENDENT = "independent"
INDEPENDENT_KINDS = ("ruff", "mypy", "security", "complexity", "docs", "deadcode")
# The columns of the cold rounds, in the order each round runs them.
COLUMNS = ("reviewWorkspace", *PRESETS, INDEPENDENT)
TARGET_RERUN = 1.5
TARGET_COMPREHENSIVE = 1.3
TARGET_PARALLEL = 1.2
SLOW_S = 3.0  # the resume phase's slow command step


def stamp(text: str | None) -> float | None:
    """An ISO 8601 stamp of the run log as seconds since the epoch."""
    return datetime.fromisoformat(text).timestamp() if text else None


def step_times(status: JsonDict) -> dict[str, JsonDict]:
    """Each step's state, cache flag and duration (ms, from its millisecond stamps)."""
    out = {}
    for step in status.get("steps") or []:
        began, ended = stamp(step.get("startedAt")), stamp(step.get("finishedAt"))
        out[step["id"]] = {
            "uses": step.get("uses"),
            "state": step.get("state"),
            "cached": step.get("cached"),
            "attempts": step.get("attempts"),
            "resumed": step.get("resumed"),
            "started_at": step.get("startedAt"),
            "ms": (ended - began) * 1000 if began is not None and ended is not None else None,
        }
    return out


def run_span_ms(status: JsonDict) -> float | None:
    began, ended = stamp(status.get("startedAt")), stamp(status.get("finishedAt"))
    return (ended - began) * 1000 if began is not None and ended is not None else None


async def execute(client: LspClient, command: str, arguments: Any, timeout: float) -> Any:
    params = {"command": command, "arguments": [] if arguments is None else [arguments]}
    return await client.request("workspace/executeCommand", params, timeout=timeout)


async def timed(client: LspClient, column: str, timeout: float) -> JsonDict:
    """One request of ``column`` (reviewWorkspace, or a workflow's run), timed; for a
    workflow, its run's status (steps and their times) too."""
    if column == "reviewWorkspace":
        done = await review(client, timeout)
        return _sample(done, None)
    done = await review(client, timeout, RUN, {"workflow": column})
    if done.result.get("state") != "done":
        raise LspError(f"{column}: the run ended {done.result.get('state')}")
    asked = time.perf_counter()
    status = await execute(client, STATUS, {"runId": done.result["runId"]}, timeout)
    sample = _sample(done, status)
    # runStatus answers the same report: what answering it costs, without the run.
    sample["status_ms"] = (time.perf_counter() - asked) * 1000
    return sample


def _sample(done: Review, status: JsonDict | None) -> JsonDict:
    sample: JsonDict = {
        "ms": done.total_ms,
        "load_1min": done.load_1min,
        # The answer's size as JSON: a run's answer holds its report, every finding in it.
        "answer_bytes": len(json.dumps(done.result, separators=(",", ":"))),
    }
    if status is None:
        sample["hit_rate"] = done.hit_rate
        sample["files"] = done.result.get("files")
        sample["findings"] = done.result.get("findings")
        return sample
    steps = step_times(status)
    longest = max(values(list(steps.values()), "ms"), default=None)
    sample.update(
        run_id=status.get("runId"),
        run_span_ms=run_span_ms(status),
        steps=steps,
        longest_step=max(steps, key=lambda s: steps[s]["ms"] or 0.0) if steps else None,
        longest_step_ms=longest,
        all_cached=all(s["cached"] for s in steps.values()),
        findings=(status.get("report") or {}).get("findings"),
    )
    return sample


def _text(sample: JsonDict) -> str:
    extra = ""
    if "steps" in sample:
        extra = (
            f", run span {sample['run_span_ms']:.0f} ms, longest step "
            f"{sample['longest_step']} {sample['longest_step_ms']:.0f} ms, "
            f"all cached {sample['all_cached']}"
        )
    else:
        extra = f", hit rate {sample.get('hit_rate')}"
    return f"{sample['ms']:.0f} ms{extra}"


@dataclass
class Bench:
    setup: ServerSetup
    copies: Copies
    cold_runs: int
    warm_runs: int
    reruns: int
    settle: float  # seconds of quiet before each warm request (the server's idle work)
    cache_parent: Path

    def cache_home(self) -> dict[str, str]:
        """A fresh XDG_CACHE_HOME: the untrusted workspace's caches and run log."""
        return {"XDG_CACHE_HOME": tempfile.mkdtemp(prefix="xdg-", dir=self.cache_parent)}

    def init_options(self, extra: JsonDict | None = None) -> JsonDict:
        steps = {kind: {"uses": kind} for kind in INDEPENDENT_KINDS}
        return {"workflows": {INDEPENDENT: {"steps": steps}}, **(extra or {})}


# -- 1. standard rerun vs a warm reviewWorkspace, one server ----------------------------------


async def rerun_vs_review(bench: Bench) -> JsonDict:
    copy = bench.copies.fresh("rerun")
    out: JsonDict = {"primes": {}, "rounds": []}
    timeout = bench.setup.timeout
    async with serving(
        copy.root,
        bench.setup,
        "rerun",
        init_options=bench.init_options(),
        env=bench.cache_home(),
        log_prefix="workflows",
    ) as client:
        for column in ("reviewWorkspace", "standard"):
            out["primes"][column] = await timed(client, column, timeout)
            log(f"  prime {column}: {_text(out['primes'][column])}")
        for number in range(1, bench.warm_runs + 1):
            # Odd rounds review first, even rounds rerun first: neither always follows
            # the other's leftovers.
            order = ("reviewWorkspace", "standard")[:: 1 if number % 2 else -1]
            got = {}
            for column in order:
                await asyncio.sleep(bench.settle)
                got[column] = await timed(client, column, timeout)
            warm, rerun = got["reviewWorkspace"], got["standard"]
            out["rounds"].append(
                {"review": warm, "standard": rerun, "ratio": rerun["ms"] / warm["ms"]}
            )
            log(
                f"  round {number}: reviewWorkspace {_text(warm)}; standard {_text(rerun)}; "
                f"ratio {rerun['ms'] / warm['ms']:.2f}"
            )
    bench.copies.drop(copy)
    return out


# -- 2 and 3. cold presets, reviewWorkspace and the independent workflow, interleaved ------


async def cold_column(bench: Bench, column: str, number: int) -> JsonDict:
    copy = bench.copies.fresh(f"cold-{column}")
    timeout = bench.setup.timeout
    async with serving(
        copy.root,
        bench.setup,
        f"cold-{column}-{number}",
        init_options=bench.init_options(),
        env=bench.cache_home(),
        log_prefix="workflows",
    ) as client:
        cold = await timed(client, column, timeout)
        # How late the server's event loop ran during the cold request (and start-up).
        cold["event_loop_lag"] = (await metrics(client, timeout)).get("eventLoopLag")
        log(f"  {column} cold {number}: {_text(cold)}; lag {cold['event_loop_lag']}")
        reruns = []
        for _ in range(bench.reruns):
            await asyncio.sleep(bench.settle)
            reruns.append(await timed(client, column, timeout))
        log(f"  {column} reruns {number}: " + ", ".join(f"{r['ms']:.0f}" for r in reruns) + " ms")
    bench.copies.drop(copy)
    return {"cold": cold, "reruns": reruns}


async def cold_rounds(bench: Bench) -> dict[str, list[JsonDict]]:
    out: dict[str, list[JsonDict]] = {column: [] for column in COLUMNS}
    for number in range(1, bench.cold_runs + 1):
        for column in COLUMNS:
            out[column].append(await cold_column(bench, column, number))
    return out


# -- 4. resume after SIGKILL ------------------------------------------------------------------


def durable_workflow(python: Path, marker: Path) -> JsonDict:
    """first -> (ruff, mypy) -> slow -> last; the command steps append their name to
    ``marker`` when they start."""

    def command(name: str, seconds: float, needs: list[str]) -> JsonDict:
        code = f"import time; open({str(marker)!r}, 'a').write('{name}\\n'); time.sleep({seconds})"
        return {"uses": "command", "with": {"argv": [str(python), "-c", code]}, "needs": needs}

    return {
        "steps": {
            "first": command("first", 0, []),
            "ruff": {"uses": "ruff", "needs": ["first"]},
            "mypy": {"uses": "mypy", "needs": ["first"]},
            "slow": command("slow", SLOW_S, ["ruff", "mypy"]),
            "last": command("last", 0, ["slow"]),
        }
    }


def started_per_step(db: Path, run_id: str) -> dict[str, int]:
    """``step_started`` events per step in the run's log."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
        rows = connection.execute(
            "SELECT step FROM events WHERE run_id = ? AND kind = 'step_started'", (run_id,)
        ).fetchall()
    return dict(Counter(str(step) for (step,) in rows))


async def wait_for(check: Any, timeout: float, every: float = 0.05) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := await check()):
            await asyncio.sleep(every)
    return found


async def resume_after_kill(bench: Bench) -> JsonDict:
    copy = bench.copies.fresh("resume")
    marker = copy.root.parent / "ran"
    timeout = bench.setup.timeout
    options = bench.init_options(
        {
            "trustedWorkspace": True,
            "workflows": {"durable": durable_workflow(bench.setup.python, marker)},
        }
    )
    db = copy.root / ".tapps_cache" / "runs.sqlite3"
    out: JsonDict = {}
    env = bench.cache_home()

    def session(name: str) -> Any:
        return serving(
            copy.root, bench.setup, name, init_options=options, env=env, log_prefix="workflows"
        )

    async with session("resume-reference") as client:
        reference = await review(client, timeout, RUN, {"workflow": "durable"})
        out["reference_ms"] = reference.total_ms
        reference_report = reference.result.get("report")
        # Every step is cached, command steps too: the killed run must execute them.
        await execute(client, "tapps.clearCache", None, timeout)
    marker.unlink()
    log(f"  reference run: {reference.total_ms:.0f} ms, {reference.result.get('state')}")

    async with session("resume-killed") as client:
        sent = time.perf_counter()
        running = asyncio.ensure_future(execute(client, RUN, {"workflow": "durable"}, timeout))

        async def run_id() -> str | None:
            runs = (await execute(client, "tapps.listRuns", None, timeout))["runs"]
            fresh = [r for r in runs if r["runId"] != reference.result["runId"]]
            return fresh[0]["runId"] if fresh else None

        killed_run = await wait_for(run_id, timeout)

        async def slow_running() -> JsonDict | None:
            status = await execute(client, STATUS, {"runId": killed_run}, timeout)
            steps = step_times(status)
            # In the middle of the step: its process has started (its marker is written).
            ran = marker.read_text().split() if marker.exists() else []
            return status if steps["slow"]["state"] == "running" and "slow" in ran else None

        before = await wait_for(slow_running, timeout)
        os.kill(client.pid, signal.SIGKILL)
        out["killed_after_ms"] = (time.perf_counter() - sent) * 1000
        with contextlib.suppress(LspError):
            await running
    out["steps_at_kill"] = step_times(before)
    out["marker_at_kill"] = marker.read_text().split()
    out["started_at_kill"] = started_per_step(db, killed_run)
    done_at_kill = [s for s, v in out["steps_at_kill"].items() if v["state"] == "done"]
    log(f"  killed while slow ran; done: {done_at_kill}; marker {out['marker_at_kill']}")

    async with session("resume-new") as client:
        status = await execute(client, STATUS, {"runId": killed_run}, timeout)
        out["state_in_new_server"] = status["state"]
        resumed = await review(client, timeout, "tapps.resumeRun", {"runId": killed_run})
        out["resume_ms"] = resumed.total_ms
        out["resumed_state"] = resumed.result.get("state")
        final = await execute(client, STATUS, {"runId": killed_run}, timeout)
    out["steps_final"] = step_times(final)
    out["marker_final"] = marker.read_text().split()
    out["started_final"] = started_per_step(db, killed_run)
    out["report_equal"] = resumed.result.get("report") == reference_report
    out["done_at_kill"] = done_at_kill
    out["executed_again"] = sorted(
        step
        for step in done_at_kill
        if out["started_final"].get(step, 0) > out["started_at_kill"].get(step, 0)
    )
    out["marker_repeats"] = sorted(
        name for name in done_at_kill if out["marker_final"].count(name) > 1
    )
    out["not_flagged_resumed"] = sorted(
        s for s in done_at_kill if not out["steps_final"][s]["resumed"]
    )
    log(
        f"  new server: {out['state_in_new_server']}; resumed {out['resumed_state']} in "
        f"{resumed.total_ms:.0f} ms; step_started per step {out['started_final']}; "
        f"marker {out['marker_final']}; report equal {out['report_equal']}"
    )
    bench.copies.drop(copy)
    return out


# -- the tables -------------------------------------------------------------------------------


def colds(rounds: list[JsonDict]) -> list[JsonDict]:
    return [r["cold"] for r in rounds]


def reruns(rounds: list[JsonDict]) -> list[JsonDict]:
    return [rerun for r in rounds for rerun in r["reruns"]]


def parallel_ratios(rounds: list[JsonDict], key: str) -> list[float]:
    return [
        c[key] / c["longest_step_ms"]
        for c in colds(rounds)
        if c.get(key) and c.get("longest_step_ms")
    ]


def figures(payload: JsonDict) -> list[tuple[str, ...]]:
    """figure, measured, compared with, ratio, target, met?"""
    first, cold, resume = payload["rerun"], payload["cold"], payload["resume"]
    ratios = [r["ratio"] for r in first["rounds"]]
    standard_rerun = [r["standard"] for r in first["rounds"]]
    review_warm = [r["review"] for r in first["rounds"]]
    rerun_ratio = statistics.median(ratios)
    comp, std = (
        p50(values(colds(cold["comprehensive"]), "ms")),
        p50(values(colds(cold["standard"]), "ms")),
    )
    independent = cold[INDEPENDENT]
    wall_ratios = parallel_ratios(independent, "ms")
    span_ratios = parallel_ratios(independent, "run_span_ms")
    longest = colds(independent)
    again = len(resume["executed_again"]) + len(resume["marker_repeats"])

    def met(ok: bool) -> str:
        return "yes" if ok else "no"

    n_warm = len(ratios)
    return [
        (
            f"`standard` rerun, nothing changed, p50 of {n_warm} (ms)",
            spread(standard_rerun, "ms", up),
            f"warm `tapps.reviewWorkspace`, same server: {spread(review_warm, 'ms', down)}",
            f"{ratio(rerun_ratio, 1.0)} (median of the {n_warm} rounds' ratios; "
            f"{min(ratios):.2f}\u2013{max(ratios):.2f})",
            f"\u2264 {TARGET_RERUN}\u00d7",
            met(rerun_ratio <= TARGET_RERUN),
        ),
        (
            f"`comprehensive` cold, p50 of {len(cold['comprehensive'])} (ms)",
            spread(colds(cold["comprehensive"]), "ms", up),
            f"`standard` cold: {spread(colds(cold['standard']), 'ms', down)}",
            f"{ratio(comp, std)} (of the p50s; each round's: "
            + ", ".join(
                ratio(c["ms"], s["ms"])
                for c, s in zip(colds(cold["comprehensive"]), colds(cold["standard"]), strict=True)
            )
            + ")",
            f"\u2264 {TARGET_COMPREHENSIVE}\u00d7",
            met(comp is not None and std is not None and comp <= std * TARGET_COMPREHENSIVE),
        ),
        (
            f"independent steps ({', '.join(INDEPENDENT_KINDS)}), cold, wall time, "
            f"p50 of {len(independent)} (ms)",
            spread(longest, "ms", up),
            f"its longest step: {spread(longest, 'longest_step_ms', down)} "
            f"({', '.join(sorted({c['longest_step'] for c in longest}))})",
            f"{ratio(p50(wall_ratios), 1.0)} (median of the runs' ratios; run log's own "
            f"span {ratio(p50(span_ratios), 1.0)})",
            f"\u2264 {TARGET_PARALLEL}\u00d7",
            met(bool(wall_ratios) and statistics.median(wall_ratios) <= TARGET_PARALLEL),
        ),
        (
            "resume after SIGKILL: completed steps executed again",
            f"{again} ({', '.join(resume['executed_again'] + resume['marker_repeats']) or 'none'})",
            f"{len(resume['done_at_kill'])} steps done at the kill "
            f"({', '.join(resume['done_at_kill'])})",
            NA,
            "0",
            met(again == 0 and resume["resumed_state"] == "done" and resume["report_equal"]),
        ),
    ]


def kilobytes(samples: list[JsonDict]) -> str:
    """The p50 size of the answers, in KB (rounded up)."""
    size = p50(values(samples, "answer_bytes"))
    return up(size / 1024 if size is not None else None)


def preset_rows(payload: JsonDict) -> list[tuple[str, ...]]:
    cold = payload["cold"]
    review_cold = p50(values(colds(cold["reviewWorkspace"]), "ms"))
    review_warm = p50(values(reruns(cold["reviewWorkspace"]), "ms"))
    rows: list[tuple[str, ...]] = []
    for column in COLUMNS:
        rounds = cold[column]
        c, w = p50(values(colds(rounds), "ms")), p50(values(reruns(rounds), "ms"))
        rows.append(
            (
                column if column == "reviewWorkspace" else f"`{column}`",
                spread(colds(rounds), "ms", up),
                ratio(c, review_cold),
                spread(reruns(rounds), "ms", up),
                ratio(w, review_warm),
                kilobytes(reruns(rounds)),
            )
        )
    return rows


def step_rows(payload: JsonDict) -> list[tuple[str, ...]]:
    """Each step's time (p50 over the cold runs, then over the reruns), per workflow."""
    rows: list[tuple[str, ...]] = []
    for column in (*PRESETS, INDEPENDENT):
        rounds = payload["cold"][column]
        for step in colds(rounds)[0]["steps"]:
            cold_ms = [
                c["steps"][step]["ms"] for c in colds(rounds) if c["steps"][step]["ms"] is not None
            ]
            warm_ms = [
                r["steps"][step]["ms"] for r in reruns(rounds) if r["steps"][step]["ms"] is not None
            ]
            rows.append((f"`{column}`", step, up(p50(cold_ms)), up(p50(warm_ms))))
    return rows


def breakdown(payload: JsonDict) -> list[str]:
    """Where the rerun's and the cold runs' time goes (p50s), for reading a missed target."""
    reruns_ = [r["standard"] for r in payload["rerun"]["rounds"]]
    steps = {
        step: up(p50([r["steps"][step]["ms"] for r in reruns_ if r["steps"][step]["ms"]]))
        for step in reruns_[0]["steps"]
    }
    wall, span = p50(values(reruns_, "ms")), p50(values(reruns_, "run_span_ms"))
    outside = wall - span if wall is not None and span is not None else None
    lines = [
        f"`standard` rerun (p50s): wall {up(wall)} ms = run log span {up(span)} ms (steps "
        + ", ".join(f"{k} {v}" for k, v in steps.items())
        + f"; ruff and mypy side by side, then score) + {up(outside)} ms outside the run"
        f" (files, run start, publishing, the answer of"
        f" {kilobytes(reruns_)} KB); `tapps.runStatus` of the"
        f" same run (the same report, no run) {up(p50(values(reruns_, 'status_ms')))} ms",
    ]
    for column in ("reviewWorkspace", "standard", "comprehensive", INDEPENDENT):
        lags = [c.get("event_loop_lag") or {} for c in colds(payload["cold"][column])]
        p95 = [float(lag["p95"]) for lag in lags if lag.get("p95") is not None]
        top = [float(lag["max"]) for lag in lags if lag.get("max") is not None]
        lines.append(
            f"event-loop lag after the cold `{column}` (tapps.metrics, start-up included):"
            f" p95 {up(p50(p95))} ms (p50 of the runs), max {up(max(top, default=None))} ms"
        )
    return lines


def report(payload: JsonDict) -> str:
    meta = payload["meta"]
    resume = payload["resume"]
    lines = [
        f"load average (1/5/15 min): {meta['load_average']['start']} at the start, "
        f"{meta['load_average']['end']} at the end, on {meta['machine']['cpus']} CPUs",
        "",
        markdown(
            ("figure", "measured", "compared with", "ratio", "target", "met?"), figures(payload)
        ),
        "",
        markdown(
            (
                "column",
                "cold p50 (ms)",
                "/ reviewWorkspace cold",
                "rerun p50 (ms)",
                "/ reviewWorkspace warm",
                "rerun answer (KB)",
            ),
            preset_rows(payload),
        ),
        "",
        markdown(("workflow", "step", "cold p50 (ms)", "rerun p50 (ms)"), step_rows(payload)),
        "",
        *breakdown(payload),
        "",
        f"resume: reference (uninterrupted) run {up(resume['reference_ms'])} ms; killed "
        f"{up(resume['killed_after_ms'])} ms into the second run; in the new server the run "
        f"was {resume['state_in_new_server']}; tapps.resumeRun {up(resume['resume_ms'])} ms "
        f"-> {resume['resumed_state']}; step_started per step {resume['started_final']} "
        f"(at the kill {resume['started_at_kill']}); marker file {resume['marker_final']}; "
        f"flagged resumed: {[s for s, v in resume['steps_final'].items() if v['resumed']]}; "
        f"report equal to the uninterrupted run's: {resume['report_equal']}",
    ]
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    server_arguments(parser, "workflows.json")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold rounds (3)")
    parser.add_argument("--warm-runs", type=int, default=5, help="rerun-vs-review rounds (5)")
    parser.add_argument("--reruns", type=int, default=3, help="reruns after each cold run (3)")
    parser.add_argument(
        "--settle", type=float, default=1.0, help="seconds before each warm request (1.0)"
    )
    return parser.parse_args(argv)


async def run_all(bench: Bench) -> JsonDict:
    log("== 1. standard rerun vs a warm tapps.reviewWorkspace, one server")
    first = await rerun_vs_review(bench)
    log("== 2, 3. cold: reviewWorkspace, presets and the independent workflow, interleaved")
    cold = await cold_rounds(bench)
    log("== 4. resume after SIGKILL")
    resume = await resume_after_kill(bench)
    return {"rerun": first, "cold": cold, "resume": resume}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.python = Path(os.path.abspath(args.python))
    tapps = tapps_executable(args)
    setup = ServerSetup(
        python=args.python, tapps=tapps, timeout=args.timeout, logs=RESULTS / "logs"
    )
    shared = prepare_rich(args.corpus, args.python)
    for old_log in setup.logs.glob("workflows-*.stderr.log"):
        old_log.unlink()  # the client appends: keep this run's logs only
    began, load_start = time.perf_counter(), load()
    log(f"== review workflows on {shared.root.name}, load average {load_start}")
    with temporary_copies(shared, args.work_dir.absolute()) as copies:
        bench = Bench(
            setup,
            copies,
            cold_runs=max(1, args.cold_runs),
            warm_runs=max(1, args.warm_runs),
            reruns=max(1, args.reruns),
            settle=max(0.0, args.settle),
            cache_parent=copies.root,
        )
        columns = asyncio.run(run_all(bench))
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "python": platform.python_version(),
        "versions": versions(args.python, ["mypy", "ruff", "vulture", "tapps-lsp", "pygls"]),
        "options": {k: str(v) for k, v in vars(args).items()},
        "server": [*tapps, "serve"],
        "load_average": {"start": load_start, "end": load()},
        "wall_s": round(time.perf_counter() - began, 1),
    }
    payload = {"meta": meta, **columns}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(report(payload))
    print(f"\nraw numbers: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

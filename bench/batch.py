"""Whole-folder review on rich 15.0.0: tapps-lsp (server and ``check``) next to ruff + mypy.

Three columns, each on fresh copies of the corpus (``corpus.working_copy``, never the
shared unpack), one after the other in the same run:

* **direct tools**: ``ruff check --no-cache .`` then ``$PYTHON -m mypy rich --cache-dir
  DIR`` from the copy's root (rich's own pyproject config). Cold: an empty ``DIR``; warm:
  the same command again; after an edit: append a line with a type error to one module
  (``--edit-file``, default ``rich/bar.py``) and run mypy again with the same cache.
* **tapps-lsp server**: ``tapps-lsp serve`` over stdio (bench/lsp_client.py) on the copy;
  ``workspace/executeCommand tapps.reviewWorkspace`` with a ``workDoneToken``, timed from
  the request to its response, every ``$/progress`` of that token stamped on arrival. Cold:
  fresh copy (no ``.tapps_cache``) and a fresh server. Then, in the same server: warm
  (nothing changed), after an edit (on disk only, no didOpen); then warm in a new server
  process each time (restart). ``tapps.metrics`` is read right after each cold review.
  One more cold run on its own fresh copy is a client with pull diagnostics that has one
  file open and pulls ``textDocument/diagnostic`` for it every 200 ms while the batch
  runs, and times ``tapps.cacheStats`` every 200 ms next to it.
* **tapps-lsp check**: ``tapps-lsp check --format json rich`` from the copy's root: cold,
  warm (run again), after an edit; its ``summary.durationMs`` and the wall time.

Printed: a markdown table (rows: the figures; columns: server, check, direct tools,
ratios) and the verdict on each target; raw numbers go to ``bench/results/batch.json``.
Server figures are rounded up, direct-tool figures down, ratios up and hit rates down, so
that rounding never flatters tapps-lsp.

    python bench/batch.py [--python PY] [--cold-runs 3] [--warm-runs 5] [--edits 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus import Corpus, prepare_rich, working_copy
from lsp_client import CLIENT_CAPABILITIES, JsonDict, LspClient, LspError
from model import log
from onsave import BENCH, RESULTS, tapps_command, tapps_server
from processes import reap_leftovers
from report import versions

NA = "\u2014"
REVIEW = "tapps.reviewWorkspace"
TYPE_ERROR = "Incompatible types in assignment"
PROBE_INTERVAL_S = 0.2
# The client of the pull run: the bench capabilities plus pull diagnostics (no refresh).
PULL_CAPABILITIES: JsonDict = {
    **CLIENT_CAPABILITIES,
    "textDocument": {
        **CLIENT_CAPABILITIES["textDocument"],
        "diagnostic": {"dynamicRegistration": False, "relatedDocumentSupport": False},
    },
}
TARGET_COLD_RATIO = 1.3
TARGET_WARM_MS = 150.0
TARGET_EDIT_RATIO = 1.3
TARGET_GAP_MS = 500.0
TARGET_LAG_P95_MS = 50.0


# -- small helpers -----------------------------------------------------------------------------


def now_ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def p50(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def edit_line(number: int) -> str:
    """The line appended by edit ``number``: a type error, a different size each time (so
    no tool could take the file for unchanged from its size and mtime)."""
    return f'_bench_edit_{number}: int = "{"x" * number}"  # bench: mypy [assignment]\n'


def write_edit(path: Path, original: bytes, number: int) -> int:
    """Append edit ``number`` to the original text; returns the 1-based line of the error."""
    text = original.decode("utf-8")
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text + edit_line(number), encoding="utf-8", newline="")
    return text.count("\n") + 1


@dataclass
class Timed:
    ms: float
    returncode: int
    stdout: str


def run_timed(argv: Sequence[str], cwd: Path, env: dict[str, str], timeout: float) -> Timed:
    """Run to the end, timed; past ``timeout`` its whole process group is killed."""
    began = time.perf_counter()
    with subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Timed(now_ms(began), -1, "")
    return Timed(now_ms(began), proc.returncode, stdout)


@dataclass
class Copies:
    """Fresh working copies of the corpus under one temporary folder, removed at the end."""

    shared: Corpus
    parent: Path
    root: Path = field(init=False)
    made: int = 0

    def __post_init__(self) -> None:
        self.parent.mkdir(parents=True, exist_ok=True)
        # Outside any git work tree: this repository's .gitignore lists bench/.corpus, and
        # tapps-lsp (like git) leaves ignored files out of a whole-folder review.
        inside = next(
            (p for p in [self.parent, *self.parent.parents] if (p / ".git").exists()), None
        )
        if inside is not None:
            raise SystemExit(f"--work-dir {self.parent} is inside the git work tree {inside}")
        self.root = Path(tempfile.mkdtemp(prefix="tapps-batch-", dir=self.parent))

    def fresh(self, label: str) -> Corpus:
        self.made += 1
        return working_copy(self.shared, self.root / f"{self.made:02d}-{label}")

    def drop(self, copy: Corpus) -> None:
        shutil.rmtree(copy.root.parent, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ServerSetup:
    """What `serving` needs to start a tapps-lsp server (also bench/workflows.py's)."""

    python: Path
    tapps: list[str]  # the tapps-lsp executable (no subcommand)
    timeout: float
    logs: Path


@dataclass
class Setup(ServerSetup):
    env: dict[str, str]
    ruff: list[str]
    edit_file: str
    open_file: str
    cold_runs: int
    warm_runs: int
    edits: int


# -- direct tools ------------------------------------------------------------------------------


def direct_cold(copies: Copies, setup: Setup, number: int) -> tuple[JsonDict, Corpus]:
    """ruff + mypy on a fresh copy with an empty mypy cache."""
    copy = copies.fresh("direct")
    sample = _direct_pass(copy, setup)
    log(f"  direct cold {number}: {_direct_text(sample)}")
    return sample, copy


def direct_warm_and_edits(copy: Corpus, setup: Setup, out: JsonDict) -> None:
    """The same commands again (warm), then after each edit, with the same mypy cache."""
    for number in range(1, setup.warm_runs + 1):
        out["warm"].append(_direct_pass(copy, setup))
        log(f"  direct warm {number}: {_direct_text(out['warm'][-1])}")
    path = copy.root / setup.edit_file
    original = path.read_bytes()
    for number in range(1, setup.edits + 1):
        line = write_edit(path, original, number)
        sample = _direct_pass(copy, setup)
        wanted = f"{setup.edit_file}:{line}: error: {TYPE_ERROR}"
        sample["edit_seen"] = wanted in sample.pop("mypy_stdout")
        out["edits"].append(sample)
        log(f"  direct edit {number}: {_direct_text(sample)}")


def _direct_pass(copy: Corpus, setup: Setup) -> JsonDict:
    cache = copy.root.parent / "mypy-cache"  # outside the copy, so ruff never sees it
    load_1min = os.getloadavg()[0]
    ruff = run_timed([*setup.ruff, "check", "--no-cache", "."], copy.root, setup.env, setup.timeout)
    mypy_argv = [str(setup.python), "-m", "mypy", "rich", "--cache-dir", str(cache)]
    mypy = run_timed(mypy_argv, copy.root, setup.env, setup.timeout)
    return {
        "ruff_ms": ruff.ms,
        "ruff_rc": ruff.returncode,
        "mypy_ms": mypy.ms,
        "mypy_rc": mypy.returncode,  # 1: findings (rich has one); 2: mypy failed
        "total_ms": ruff.ms + mypy.ms,
        "load_1min": load_1min,
        "mypy_stdout": mypy.stdout,
    }


def _direct_text(sample: JsonDict) -> str:
    sample.pop("mypy_stdout", None)
    seen = f", error seen: {sample['edit_seen']}" if "edit_seen" in sample else ""
    return (
        f"ruff {sample['ruff_ms']:.0f} ms (rc {sample['ruff_rc']}), "
        f"mypy {sample['mypy_ms']:.0f} ms (rc {sample['mypy_rc']}){seen}"
    )


# -- the server ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(
    root: Path,
    setup: ServerSetup,
    name: str,
    capabilities: JsonDict | None = None,
    *,
    init_options: JsonDict | None = None,
    env: dict[str, str] | None = None,
    log_prefix: str = "batch",
) -> AsyncIterator[LspClient]:
    """An initialized ``tapps-lsp serve`` on ``root`` (``init_options`` as its
    initializationOptions, ``env`` on top of its environment); shut down (or killed)
    afterwards, with any process of its group that outlives it ended."""
    server = tapps_server([*setup.tapps, "serve"], setup.python, {})
    client = LspClient(
        argv=server.argv,
        cwd=root,
        env={**server.env, **(env or {})},
        stderr_path=setup.logs / f"{log_prefix}-{name}.stderr.log",
    )
    await client.start()
    try:
        await client.initialize(
            root, init_options or {}, capabilities=capabilities, timeout=setup.timeout
        )
        yield client
    finally:
        await client.stop(timeout=min(setup.timeout, 20.0))
        leftovers = await reap_leftovers(client.pid, [])
        if leftovers:
            log(f"  {name}: ended leftover processes {leftovers}")


@dataclass
class Review:
    """One ``tapps.reviewWorkspace`` request, timed from the client."""

    sent: float  # time.perf_counter() when the request went out
    total_ms: float
    result: JsonDict
    progress: list[JsonDict]  # every $/progress of the token: ms since the request, kind, ...
    load_1min: float  # os.getloadavg()[0] just before the request

    def as_json(self) -> JsonDict:
        return {
            "total_ms": self.total_ms,
            "load_1min": self.load_1min,
            "server_duration_ms": self.result.get("durationMs"),
            "hit_rate": self.hit_rate,
            "files": self.result.get("files"),
            "findings": self.result.get("findings"),
            "cache": self.result.get("cache"),
            "first_progress_ms": self.first_progress_ms,
            "longest_gap_ms": self.longest_gap_ms,
            "end_to_response_ms": self.end_to_response_ms,
            "progress_messages": len(self.progress),
            "stages": stage_starts(self.progress),
            "progress": self.progress,
        }

    @property
    def hit_rate(self) -> float | None:
        rate = (self.result.get("cache") or {}).get("hitRate")
        return float(rate) if isinstance(rate, (int, float)) else None

    @property
    def mypy_findings(self) -> int:
        by_source = (self.result.get("findings") or {}).get("bySource") or {}
        return int(by_source.get("mypy", 0))

    @property
    def first_progress_ms(self) -> float | None:
        return self.progress[0]["ms"] if self.progress else None

    @property
    def longest_gap_ms(self) -> float | None:
        """The longest wait between consecutive begin/report/end messages."""
        times = [p["ms"] for p in self.progress]
        return max((b - a for a, b in itertools.pairwise(times)), default=None)

    @property
    def end_to_response_ms(self) -> float | None:
        return self.total_ms - self.progress[-1]["ms"] if self.progress else None


def stage_starts(progress: list[JsonDict]) -> dict[str, float]:
    """When each batch stage first shows in the progress messages (ms since the request).

    Messages read ``done/total files · stage-or-file · ~N s left``; a file path means the
    last stage (``files``)."""
    starts: dict[str, float] = {}
    for item in progress:
        message = str(item.get("message") or "")
        parts = message.split(" \u00b7 ")
        if item["kind"] == "end":
            stage = "end"
        elif len(parts) < 2:
            continue
        else:
            stage = "files" if parts[1].endswith(".py") else parts[1]
            if stage.startswith(("ruff on", "mypy on")):
                stage = stage.split(" on ")[0]
        starts.setdefault(stage, item["ms"])
    return starts


_tokens = iter(range(1, 1_000_000))


async def review(
    client: LspClient, timeout: float, command: str = REVIEW, arguments: JsonDict | None = None
) -> Review:
    """One ``command`` request (``tapps.reviewWorkspace {}`` by default) with a
    ``workDoneToken``, timed from the client: sent -> the response's arrival."""
    token = f"bench-batch-{next(_tokens)}"
    params = {"command": command, "arguments": [arguments or {}], "workDoneToken": token}
    load_1min = os.getloadavg()[0]
    sent = time.perf_counter()
    result = await client.request("workspace/executeCommand", params, timeout=timeout)
    answered = time.perf_counter()
    # The response's arrival stamp, not the moment this coroutine resumed.
    for message in reversed(client.messages):
        if message.payload.get("result") is result and "method" not in message.payload:
            answered = message.time
            break
    progress = []
    for message in client.messages:
        payload = message.payload
        if payload.get("method") != "$/progress" or payload["params"].get("token") != token:
            continue
        value = payload["params"].get("value") or {}
        progress.append(
            {
                "ms": (message.time - sent) * 1000,
                "kind": value.get("kind"),
                "percentage": value.get("percentage"),
                "message": value.get("message"),
            }
        )
    return Review(sent, (answered - sent) * 1000, dict(result or {}), progress, load_1min)


async def metrics(client: LspClient, timeout: float) -> JsonDict:
    params = {"command": "tapps.metrics", "arguments": []}
    return dict(await client.request("workspace/executeCommand", params, timeout=timeout) or {})


def _review_text(run: Review) -> str:
    gap = run.longest_gap_ms
    gap_text = f", longest progress gap {gap:.0f} ms" if gap is not None else ""
    return (
        f"{run.total_ms:.0f} ms (server {run.result.get('durationMs')} ms), "
        f"hit rate {run.hit_rate}, {len(run.progress)} progress messages{gap_text}"
    )


async def server_cold(
    copy: Corpus, setup: Setup, number: int, out: JsonDict, *, keep_going: bool
) -> None:
    """A fresh server on a fresh copy: the cold review, then the metrics at once. With
    ``keep_going``, the warm reviews and the edits follow in the same server."""
    async with serving(copy.root, setup, f"cold-{number}") as client:
        cold = await review(client, setup.timeout)
        read = await metrics(client, setup.timeout)
        lag = read.get("eventLoopLag")
        tools = read.get("tools")  # real tool runs: ruff (batch), mypy
        out["cold"].append({**cold.as_json(), "event_loop_lag": lag, "tools": tools})
        log(f"  server cold {number}: {_review_text(cold)}; lag {lag}")
        if keep_going:
            await _warm_and_edits(client, copy, setup, out)


async def server_restarts(copy: Corpus, setup: Setup, out: JsonDict) -> None:
    """A new server process each time, on the reviewed copy: its first review."""
    for number in range(1, setup.warm_runs + 1):
        async with serving(copy.root, setup, f"restart-{number}") as client:
            again = await review(client, setup.timeout)
            out["restart"].append(again.as_json())
            log(f"  server restart {number}: {_review_text(again)}")


async def _warm_and_edits(client: LspClient, copy: Corpus, setup: Setup, out: JsonDict) -> None:
    for number in range(1, setup.warm_runs + 1):
        warm = await review(client, setup.timeout)
        out["warm"].append(warm.as_json())
        log(f"  server warm {number}: {_review_text(warm)}")
    baseline = warm.mypy_findings
    path = copy.root / setup.edit_file
    original = path.read_bytes()
    for number in range(1, setup.edits + 1):
        write_edit(path, original, number)
        edited = await review(client, setup.timeout)
        # The original has no mypy error in this file: each edit adds exactly one.
        out["edits"].append({**edited.as_json(), "edit_seen": edited.mypy_findings > baseline})
        log(f"  server edit {number}: {_review_text(edited)}; mypy {edited.mypy_findings}")


# -- the pull run: an open file pulled, and a cheap request, while the cold batch runs ---------


@dataclass
class Probe:
    """Sends one request at a time, the next ``PROBE_INTERVAL_S`` after the previous send
    (or at once when that answer took longer), until stopped."""

    name: str
    call: Callable[[], Awaitable[Any]]
    origin: float
    timeout: float
    samples: list[JsonDict] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sent = time.perf_counter()
            sample: JsonDict = {"sent_ms": (sent - self.origin) * 1000}
            try:
                answer = await asyncio.wait_for(self.call(), self.timeout)
                sample["kind"] = answer.get("kind") if isinstance(answer, dict) else "ok"
            except (LspError, TimeoutError) as exc:
                sample["error"] = f"{type(exc).__name__}: {exc}"
            sample["ms"] = now_ms(sent)
            sample["answered_ms"] = now_ms(self.origin)
            self.samples.append(sample)
            wait = PROBE_INTERVAL_S - (time.perf_counter() - sent)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, wait))


async def pull_run(copies: Copies, setup: Setup) -> JsonDict:
    copy = copies.fresh("pull")
    path = copy.root / setup.open_file
    uri = path.as_uri()
    out: JsonDict = {"load_start": load(), "open_file": setup.open_file}
    async with serving(copy.root, setup, "pull", PULL_CAPABILITIES) as client:
        previous: dict[str, str | None] = {"id": None}

        async def pull() -> Any:
            params = {"textDocument": {"uri": uri}, "previousResultId": previous["id"]}
            answer = await client.request("textDocument/diagnostic", params, setup.timeout)
            if isinstance(answer, dict) and answer.get("resultId"):
                previous["id"] = answer["resultId"]
            return answer

        async def stats() -> Any:
            params = {"command": "tapps.cacheStats", "arguments": []}
            return await client.request("workspace/executeCommand", params, setup.timeout)

        origin = time.perf_counter()
        probes = [
            Probe("pull", pull, origin, setup.timeout),
            Probe("cacheStats", stats, origin, setup.timeout),
        ]
        await client.did_open(path, path.read_text(encoding="utf-8"), 1)
        stop = asyncio.Event()
        running = [asyncio.ensure_future(p.run(stop)) for p in probes]
        try:
            cold = await review(client, setup.timeout)
            lag = (await metrics(client, setup.timeout)).get("eventLoopLag")
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*running), setup.timeout + 1)
    # On the probes' clock (ms since just before didOpen).
    batch = {"start_ms": (cold.sent - origin) * 1000}
    batch["end_ms"] = batch["start_ms"] + cold.total_ms
    out.update({**cold.as_json(), "event_loop_lag": lag, "batch_window_ms": batch})
    for probe in probes:
        out[probe.name] = probe.samples
    log(f"  server cold with pulls: {_review_text(cold)}; lag {lag}")
    copies.drop(copy)
    out["load_end"] = load()
    return out


# -- tapps-lsp check -------------------------------------------------------------------------


def check_cold(copies: Copies, setup: Setup, number: int) -> tuple[JsonDict, Corpus]:
    copy = copies.fresh("check")
    sample = _check_pass(copy, setup)
    log(f"  check cold {number}: {_check_text(sample)}")
    return sample, copy


def check_warm_and_edits(copy: Corpus, setup: Setup, out: JsonDict) -> None:
    for number in range(1, setup.warm_runs + 1):
        out["warm"].append(_check_pass(copy, setup))
        log(f"  check warm {number}: {_check_text(out['warm'][-1])}")
    baseline = out["warm"][-1]["mypy_findings"]
    path = copy.root / setup.edit_file
    original = path.read_bytes()
    for number in range(1, setup.edits + 1):
        write_edit(path, original, number)
        sample = _check_pass(copy, setup)
        sample["edit_seen"] = (sample["mypy_findings"] or 0) > (baseline or 0)
        out["edits"].append(sample)
        log(f"  check edit {number}: {_check_text(sample)}")


def _check_pass(copy: Corpus, setup: Setup) -> JsonDict:
    argv = [*setup.tapps, "check", "--format", "json", "rich"]
    load_1min = os.getloadavg()[0]
    done = run_timed(argv, copy.root, setup.env, setup.timeout)
    try:
        summary = json.loads(done.stdout).get("summary") or {}
    except ValueError:
        summary = {}
    findings = summary.get("findings") or {}
    return {
        "wall_ms": done.ms,
        "returncode": done.returncode,  # 1: findings; 2: a tool or file failed
        "duration_ms": summary.get("durationMs"),
        "hit_rate": (summary.get("cache") or {}).get("hitRate"),
        "files": summary.get("files"),
        "mypy_findings": (findings.get("bySource") or {}).get("mypy"),
        "load_1min": load_1min,
    }


def _check_text(sample: JsonDict) -> str:
    seen = f", error seen: {sample['edit_seen']}" if "edit_seen" in sample else ""
    return (
        f"wall {sample['wall_ms']:.0f} ms, summary {sample['duration_ms']} ms, "
        f"hit rate {sample['hit_rate']}, rc {sample['returncode']}{seen}"
    )


# -- the run ----------------------------------------------------------------------------------


async def run_all(copies: Copies, setup: Setup) -> JsonDict:
    """The cold runs interleaved (direct, check, server in each round, so that the load of a
    shared machine spreads over all columns), then each column's warm runs and edits on the
    copy of its last cold run, the server's restarts, and the pull run."""
    direct: JsonDict = {"cold": [], "warm": [], "edits": []}
    check: JsonDict = {"cold": [], "warm": [], "edits": []}
    server: JsonDict = {"cold": [], "warm": [], "edits": [], "restart": []}
    kept: list[Corpus] = []
    for number in range(1, setup.cold_runs + 1):
        for copy in kept:
            copies.drop(copy)
        log(f"== cold round {number}/{setup.cold_runs}")
        sample, direct_copy = direct_cold(copies, setup, number)
        direct["cold"].append(sample)
        sample, check_copy = check_cold(copies, setup, number)
        check["cold"].append(sample)
        server_copy = copies.fresh("server")
        kept = [direct_copy, check_copy, server_copy]
        last = number == setup.cold_runs
        await server_cold(server_copy, setup, number, server, keep_going=last)
    log("== tapps-lsp server: restarts (a new process each time)")
    await server_restarts(server_copy, setup, server)
    copies.drop(server_copy)
    log("== tapps-lsp server, pull client, one open file pulled every 200 ms")
    pull = await pull_run(copies, setup)
    log("== direct tools: warm and after edits")
    direct_warm_and_edits(direct_copy, setup, direct)
    copies.drop(direct_copy)
    log("== tapps-lsp check: warm and after edits")
    check_warm_and_edits(check_copy, setup, check)
    copies.drop(check_copy)
    return {"direct": direct, "server": server, "pull": pull, "check": check}


# -- the table -------------------------------------------------------------------------------


def up(value: float | None) -> str:
    return NA if value is None else str(math.ceil(value))


def down(value: float | None) -> str:
    return NA if value is None else str(math.floor(value))


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or not theirs:
        return NA
    return f"{math.ceil(ours / theirs * 100) / 100:.2f}"


def percent_down(rate: float | None) -> str:
    return NA if rate is None else f"{math.floor(rate * 1000) / 10:.1f} %"


def values(samples: list[JsonDict], key: str) -> list[float]:
    return [float(s[key]) for s in samples if isinstance(s.get(key), (int, float))]


def spread(samples: list[JsonDict], key: str, rounding: Callable[[float | None], str]) -> str:
    """``p50`` or, for several samples, ``p50 (min-max)``."""
    data = values(samples, key)
    if not data:
        return NA
    if len(data) == 1:
        return rounding(data[0])
    return f"{rounding(p50(data))} ({rounding(min(data))}\u2013{rounding(max(data))})"


def lowest_rate(samples: list[JsonDict], key: str = "hit_rate") -> float | None:
    rates = values(samples, key)
    return min(rates) if rates else None


def seen(samples: list[JsonDict]) -> str:
    return f"{sum(1 for s in samples if s.get('edit_seen'))}/{len(samples)}" if samples else NA


def worst_lag(runs: list[JsonDict], key: str) -> float | None:
    found = [
        float(lag[key])
        for run in runs
        if isinstance(lag := run.get("event_loop_lag"), dict) and lag.get(key) is not None
    ]
    return max(found) if found else None


def during(samples: list[JsonDict], window: JsonDict) -> list[JsonDict]:
    """Probe answers that arrived while the batch ran."""
    return [
        s
        for s in samples
        if "error" not in s and window["start_ms"] <= s["answered_ms"] <= window["end_ms"]
    ]


def probe_cell(samples: list[JsonDict], window: JsonDict, first_apart: bool) -> str:
    answered = during(samples, window)
    if not answered:
        return f"none answered ({len(samples)} sent)"
    head = ""
    if first_apart:
        head = f"first {up(samples[0]['ms'])}; "
        answered = [s for s in answered if s is not samples[0]] or answered
    data = [s["ms"] for s in answered]
    return f"{head}p50 {up(p50(data))}, max {up(max(data))} (n={len(data)})"


Row = tuple[str, str, str, str, str, str]


def rows(
    direct: JsonDict, server: JsonDict, pull: JsonDict, check: JsonDict, edit_file: str
) -> list[Row]:
    n_cold = len(server["cold"])
    d_cold, d_warm = (
        p50(values(direct["cold"], "total_ms")),
        p50(values(direct["warm"], "total_ms")),
    )
    d_edit = p50(values(direct["edits"], "mypy_ms"))
    s_cold, c_cold = p50(values(server["cold"], "total_ms")), p50(values(check["cold"], "wall_ms"))
    s_warm, c_warm = p50(values(server["warm"], "total_ms")), p50(values(check["warm"], "wall_ms"))
    s_edit, c_edit = (
        p50(values(server["edits"], "total_ms")),
        p50(values(check["edits"], "wall_ms")),
    )
    s_restart = p50(values(server["restart"], "total_ms"))
    window = pull["batch_window_ms"]
    return [
        (
            f"whole-folder review, cold, p50 of {n_cold} (ms)",
            spread(server["cold"], "total_ms", up),
            spread(check["cold"], "wall_ms", up),
            spread(direct["cold"], "total_ms", down) + " (ruff + mypy)",
            ratio(s_cold, d_cold),
            ratio(c_cold, d_cold),
        ),
        (
            f"cold, {pull['open_file']} open and pulled every 200 ms (ms)",
            up(pull["total_ms"]),
            NA,
            down(d_cold),
            ratio(pull["total_ms"], d_cold),
            NA,
        ),
        (
            "check: summary.durationMs, cold (ms)",
            NA,
            spread(check["cold"], "duration_ms", up),
            NA,
            NA,
            ratio(p50(values(check["cold"], "duration_ms")), d_cold),
        ),
        (
            f"warm, nothing changed, p50 of {len(server['warm'])} (ms)",
            spread(server["warm"], "total_ms", up),
            spread(check["warm"], "wall_ms", up),
            spread(direct["warm"], "total_ms", down) + " (ruff + mypy)",
            ratio(s_warm, d_warm),
            ratio(c_warm, d_warm),
        ),
        (
            "check: summary.durationMs, warm (ms)",
            NA,
            spread(check["warm"], "duration_ms", up),
            NA,
            NA,
            ratio(p50(values(check["warm"], "duration_ms")), d_warm),
        ),
        (
            "warm: cache hit rate (lowest)",
            percent_down(lowest_rate(server["warm"])),
            percent_down(lowest_rate(check["warm"])),
            NA,
            NA,
            NA,
        ),
        (
            f"warm in a new server process (restart), p50 of {len(server['restart'])} (ms)",
            spread(server["restart"], "total_ms", up),
            NA,
            spread(direct["warm"], "total_ms", down) + " (ruff + mypy)",
            ratio(s_restart, d_warm),
            NA,
        ),
        (
            "restart: cache hit rate (lowest)",
            percent_down(lowest_rate(server["restart"])),
            NA,
            NA,
            NA,
            NA,
        ),
        (
            f"after one edit of {edit_file}, p50 of {len(server['edits'])} (ms)",
            spread(server["edits"], "total_ms", up),
            spread(check["edits"], "wall_ms", up),
            spread(direct["edits"], "mypy_ms", down) + " (mypy only)",
            ratio(s_edit, d_edit),
            ratio(c_edit, d_edit),
        ),
        (
            "check: summary.durationMs, after one edit (ms)",
            NA,
            spread(check["edits"], "duration_ms", up),
            NA,
            NA,
            ratio(p50(values(check["edits"], "duration_ms")), d_edit),
        ),
        (
            "after one edit: cache hit rate (lowest)",
            percent_down(lowest_rate(server["edits"])),
            percent_down(lowest_rate(check["edits"])),
            NA,
            NA,
            NA,
        ),
        (
            "after one edit: the injected error reported",
            seen(server["edits"]),
            seen(check["edits"]),
            seen(direct["edits"]),
            NA,
            NA,
        ),
        (
            f"cold: request -> first $/progress, worst of {n_cold + 1} (ms)",
            up(max(values([*server["cold"], pull], "first_progress_ms"), default=None)),
            NA,
            NA,
            NA,
            NA,
        ),
        (
            f"cold: longest gap between $/progress, worst of {n_cold + 1} (ms)",
            up(max(values([*server["cold"], pull], "longest_gap_ms"), default=None)),
            NA,
            NA,
            NA,
            NA,
        ),
        (
            f"event-loop lag p95 / max, tapps.metrics after cold, worst of {n_cold} (ms)",
            f"{up(worst_lag(server['cold'], 'p95'))} / {up(worst_lag(server['cold'], 'max'))}",
            NA,
            NA,
            NA,
            NA,
        ),
        (
            "event-loop lag p95 / max, the run with pulls (ms)",
            f"{up(worst_lag([pull], 'p95'))} / {up(worst_lag([pull], 'max'))}",
            NA,
            NA,
            NA,
            NA,
        ),
        (
            "textDocument/diagnostic pull during the cold review (ms)",
            probe_cell(pull["pull"], window, first_apart=True),
            NA,
            NA,
            NA,
            NA,
        ),
        (
            "tapps.cacheStats during the cold review (ms)",
            probe_cell(pull["cacheStats"], window, first_apart=False),
            NA,
            NA,
            NA,
            NA,
        ),
        (
            "load average, 1 min, at the samples (min\u2013max)",
            load_range([*all_samples(server), pull]),
            load_range(all_samples(check)),
            load_range(all_samples(direct)),
            NA,
            NA,
        ),
    ]


HEADER = (
    "figure",
    "tapps-lsp server",
    "tapps-lsp check",
    "direct tools",
    "server/direct",
    "check/direct",
)


def all_samples(column: JsonDict) -> list[JsonDict]:
    return [s for key in ("cold", "warm", "edits", "restart") for s in column.get(key, [])]


def load_range(samples: list[JsonDict]) -> str:
    data = values(samples, "load_1min")
    return f"{min(data):.2f}\u2013{max(data):.2f}" if data else NA


def markdown(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in body)])


def verdicts(direct: JsonDict, server: JsonDict, pull: JsonDict) -> list[tuple[str, ...]]:
    """Each target of the issue against the raw (unrounded) figures."""
    d_cold = p50(values(direct["cold"], "total_ms"))
    d_edit = p50(values(direct["edits"], "mypy_ms"))
    s_cold = p50(values(server["cold"], "total_ms"))
    s_warm = p50(values(server["warm"], "total_ms"))
    s_restart = p50(values(server["restart"], "total_ms"))
    s_edit = p50(values(server["edits"], "total_ms"))
    warm_rate = lowest_rate(server["warm"])
    restart_rate = lowest_rate(server["restart"])
    gap = max(values([*server["cold"], pull], "longest_gap_ms"), default=None)
    lag = max(
        filter(None, [worst_lag(server["cold"], "p95"), worst_lag([pull], "p95")]), default=None
    )
    pulls = during(pull["pull"], pull["batch_window_ms"])

    def met(ok: bool) -> str:
        return "yes" if ok else "no"

    return [
        (
            "cold whole-folder review",
            f"<= {TARGET_COLD_RATIO}x ruff + mypy",
            f"{ratio(s_cold, d_cold)}x ({up(s_cold)} vs {down(d_cold)} ms)",
            met(_le(s_cold, d_cold, TARGET_COLD_RATIO)),
        ),
        (
            "warm, same server",
            f"<= {TARGET_WARM_MS:.0f} ms, hit rate 100 %",
            f"{up(s_warm)} ms, {percent_down(warm_rate)}",
            met(_le(s_warm, 1.0, TARGET_WARM_MS) and warm_rate == 1.0),
        ),
        (
            "warm, new server process",
            f"<= {TARGET_WARM_MS:.0f} ms, hit rate 100 %",
            f"{up(s_restart)} ms, {percent_down(restart_rate)}",
            met(_le(s_restart, 1.0, TARGET_WARM_MS) and restart_rate == 1.0),
        ),
        (
            "after one file's edit",
            f"<= {TARGET_EDIT_RATIO}x mypy",
            f"{ratio(s_edit, d_edit)}x ({up(s_edit)} vs {down(d_edit)} ms)",
            met(
                _le(s_edit, d_edit, TARGET_EDIT_RATIO)
                and seen(server["edits"]).split("/")[0] == str(len(server["edits"]))
            ),
        ),
        (
            "longest gap between progress reports, cold",
            f"<= {TARGET_GAP_MS:.0f} ms",
            f"{up(gap)} ms",
            met(gap is not None and gap <= TARGET_GAP_MS),
        ),
        (
            "event-loop lag p95 while a batch runs",
            f"<= {TARGET_LAG_P95_MS:.0f} ms, a pull answered meanwhile",
            f"{up(lag)} ms; {len(pulls)} pulls answered during the batch, the first"
            f" after {up(pull['pull'][0]['ms'] if pull['pull'] else None)} ms",
            met(lag is not None and lag <= TARGET_LAG_P95_MS and bool(pulls)),
        ),
    ]


def _le(value: float | None, base: float | None, factor: float) -> bool:
    return value is not None and base is not None and value <= base * factor


# -- main ------------------------------------------------------------------------------------


def server_arguments(parser: argparse.ArgumentParser, output: str) -> None:
    """The options of a benchmark that starts servers on fresh copies (also
    bench/workflows.py's): corpus, interpreter, server command, copies, timeout, output."""
    parser.add_argument("--corpus", type=Path, default=BENCH / ".corpus")
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    parser.add_argument("--tapps-cmd", default=None, help="default: tapps-lsp next to --python")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the fresh copies go (outside any git work tree; default: the temp dir)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="limit on every wait (s)")
    parser.add_argument("--output", type=Path, default=RESULTS / output)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    server_arguments(parser, "batch.json")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold runs per column (3)")
    parser.add_argument("--warm-runs", type=int, default=5, help="warm runs and restarts (5)")
    parser.add_argument("--edits", type=int, default=5, help="one-file edits per column (5)")
    parser.add_argument("--edit-file", default="rich/bar.py", help="the module edited")
    parser.add_argument("--open-file", default="rich/bar.py", help="the file the pull run opens")
    return parser.parse_args(argv)


def tapps_executable(args: argparse.Namespace) -> list[str]:
    """tapps-lsp without its subcommand (``--tapps-cmd``, else next to ``--python``)."""
    command = tapps_command(args)
    if command is None:
        raise SystemExit("tapps-lsp not found (next to --python or on PATH)")
    return command[:-1] if command[-1] == "serve" else command


def make_setup(args: argparse.Namespace) -> Setup:
    tapps = tapps_executable(args)
    beside = args.python.parent / "ruff"
    ruff = [str(beside)] if beside.is_file() else [str(args.python), "-m", "ruff"]
    env = tapps_server([*tapps, "serve"], args.python, {}).env
    return Setup(
        python=args.python,
        tapps=tapps,
        env=env,
        ruff=ruff,
        edit_file=args.edit_file,
        open_file=args.open_file,
        cold_runs=max(1, args.cold_runs),
        warm_runs=max(1, args.warm_runs),
        edits=max(1, args.edits),
        timeout=args.timeout,
        logs=RESULTS / "logs",
    )


@contextlib.contextmanager
def temporary_copies(shared: Corpus, parent: Path) -> Iterator[Copies]:
    copies = Copies(shared, parent)
    try:
        yield copies
    finally:
        copies.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.python = Path(os.path.abspath(args.python))
    setup = make_setup(args)
    shared = prepare_rich(args.corpus, args.python)
    for rel in (setup.edit_file, setup.open_file):
        if not (shared.root / rel).is_file():
            raise SystemExit(f"not a corpus file: {rel}")
    for old_log in setup.logs.glob("batch-*.stderr.log"):
        old_log.unlink()  # the client appends: keep this run's logs only
    began, load_start = time.perf_counter(), load()
    log(f"== whole-folder review on {shared.root.name}, load average {load_start}")
    with temporary_copies(shared, args.work_dir.absolute()) as copies:
        columns = asyncio.run(run_all(copies, setup))
    load_end = load()
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "python": platform.python_version(),
        "versions": versions(args.python, ["mypy", "ruff", "tapps-lsp", "pygls"]),
        "options": {k: str(v) for k, v in vars(args).items()},
        "commands": {
            "ruff": [*setup.ruff, "check", "--no-cache", "."],
            "mypy": [str(setup.python), "-m", "mypy", "rich", "--cache-dir", "DIR"],
            "server": [*setup.tapps, "serve"],
            "check": [*setup.tapps, "check", "--format", "json", "rich"],
        },
        "edit_line": edit_line(1),
        "load_average": {"start": load_start, "end": load_end},
        "wall_s": round(time.perf_counter() - began, 1),
    }
    payload = {"meta": meta, **columns}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(report(payload, setup.edit_file))
    print(f"\nraw numbers: {args.output}")
    return 0


def report(payload: JsonDict, edit_file: str) -> str:
    direct, server, pull, check = (payload[k] for k in ("direct", "server", "pull", "check"))
    meta = payload["meta"]
    load_avg = meta["load_average"]
    cold_stages = server["cold"][-1]["stages"]
    stages = ", ".join(f"{name} +{math.ceil(ms)} ms" for name, ms in cold_stages.items())
    lines = [
        f"load average (1/5/15 min): {load_avg['start']} at the start, "
        f"{load_avg['end']} at the end, on {meta['machine']['cpus']} CPUs",
        "",
        markdown(HEADER, rows(direct, server, pull, check, edit_file)),
        "",
        f"stages of the last cold review (from its $/progress messages): {stages}",
        "",
        markdown(("target", "issue", "measured", "met"), verdicts(direct, server, pull)),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

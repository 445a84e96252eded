"""Command-line columns of the on-save benchmark: what an editor hook without a server does.

Each review of a file is two processes, one after the other, as a naive on-save hook runs
them: ``$PYTHON -m ruff check --output-format json FILE`` (its time is "first ruff" and
"open -> first publish"), then mypy. "complete" is the sum of both.

* ``mypy-file``: ``$PYTHON -m mypy -O json --show-absolute-path FILE`` from the corpus
  root. The project's config (rich's pyproject.toml) is picked up, its ``files`` setting is
  overridden by the file argument, and the corpus ``.mypy_cache`` is shared with the
  project-level run (same flags, so it is never rebuilt for a mode flip). Nothing stays
  resident: there is no re-open, restart or RSS-after-run figure.
* ``dmypy``: ``dmypy run -- -O json --show-absolute-path`` starts the daemon and checks the
  files rich's config names (the first review of a session), then every review is
  ``dmypy recheck``: the same sources, re-read where the file system says they changed.
  ``dmypy check FILE`` would make that one file the only source (a file-rooted check), and
  ``dmypy recheck --update FILE`` is refused by the daemon under ``follow_imports = normal``
  (an assertion in ``cmd_recheck``). The restart phase is ``dmypy stop``, then the open phase
  again. The daemon has its own status file (``.dmypy-bench.json``) and is stopped (killed
  if need be) at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import truth
from lsp_client import JsonDict, rss_of
from model import MB, RUFF_CODE, TYPE_ERROR, Doc, Sample, ServerRun, log
from processes import is_alive

COLUMNS = ("mypy-file", "dmypy")
MYPY_FLAGS = ("-O", "json", "--show-absolute-path")
DMYPY_STATUS = ".dmypy-bench.json"


@dataclass(frozen=True)
class Outcome:
    seconds: float
    stdout: str
    stderr: str
    returncode: int


class _PeakRss:
    """Samples the summed VmRSS of some processes every ``interval`` s in a thread.

    ``at_peak`` keeps each process's share of the highest sum seen.
    """

    def __init__(self, pids: Callable[[], Sequence[int]], interval: float = 0.02) -> None:
        self.peak = 0
        self.at_peak: dict[int, int] = {}
        self._pids = pids
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            shares = {pid: rss_of(pid) for pid in set(self._pids())}
            total = sum(shares.values())
            if total > self.peak:
                self.peak, self.at_peak = total, shares
            self._stop.wait(self._interval)


@dataclass
class Runner:
    """Runs commands from the corpus root, timing them and tracking peak memory."""

    root: Path
    timeout: float
    peak_bytes: int = 0
    resident: Callable[[], list[int]] = list  # pids that stay between commands (a daemon)

    def run(self, argv: Sequence[str]) -> Outcome:
        began = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with _PeakRss(lambda: [proc.pid, *self.resident()]) as peak:
            try:
                stdout, stderr = proc.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
        seconds = time.perf_counter() - began
        self.peak_bytes = max(self.peak_bytes, peak.peak)
        return Outcome(seconds, stdout, stderr, proc.returncode)


class MypyTool(Protocol):
    name: str
    restartable: bool

    @property
    def argv(self) -> list[str]: ...
    def check(self, doc: Doc) -> Outcome: ...
    def stop(self) -> list[int]: ...
    def resident_mb(self) -> float | None: ...


@dataclass
class MypyFile:
    """``mypy FILE`` per review."""

    python: Path
    runner: Runner
    name: str = "mypy-file"
    restartable: bool = False

    @property
    def argv(self) -> list[str]:
        return [str(self.python), "-m", "mypy", *MYPY_FLAGS, "FILE"]

    def check(self, doc: Doc) -> Outcome:
        return self.runner.run([str(self.python), "-m", "mypy", *MYPY_FLAGS, str(doc.path)])

    def stop(self) -> list[int]:
        return []

    def resident_mb(self) -> float | None:
        return None


@dataclass
class Dmypy:
    """``dmypy run`` for the first review of a session, ``dmypy recheck`` for the others."""

    python: Path
    runner: Runner
    name: str = "dmypy"
    restartable: bool = True
    started: bool = False
    pids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.runner.resident = self.daemon_pids

    @property
    def status_file(self) -> Path:
        return self.runner.root / DMYPY_STATUS

    def _client(self, *args: str) -> list[str]:
        return [str(self.python), "-m", "mypy.dmypy", "--status-file", str(self.status_file), *args]

    @property
    def argv(self) -> list[str]:
        return [*self._client("run", "--", *MYPY_FLAGS), "then", *self._client("recheck")]

    def daemon_pids(self) -> list[int]:
        data = read_json(self.status_file)
        pid = data.get("pid") if data else None
        return [pid] if isinstance(pid, int) else []

    def check(self, doc: Doc) -> Outcome:
        if self.started:
            return self.runner.run(self._client("recheck"))
        outcome = self.runner.run(self._client("run", "--", *MYPY_FLAGS))
        self.started = True
        self.pids.extend(p for p in self.daemon_pids() if p not in self.pids)
        return outcome

    def stop(self) -> list[int]:
        """Stop the daemon; kill it if it does not go. Returns pids that had to be killed."""
        pids = self.daemon_pids()
        if pids:
            self.runner.run(self._client("stop"))
        self.started = False
        deadline = time.monotonic() + 5.0
        while any(is_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        leftovers = [p for p in pids if is_alive(p)]
        for pid in leftovers:
            log(f"  dmypy daemon {pid} did not stop: killing it")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.status_file.unlink(missing_ok=True)
        return leftovers

    def resident_mb(self) -> float | None:
        pids = self.daemon_pids()
        return sum(rss_of(p) for p in pids) / MB if pids else None


def read_json(path: Path) -> JsonDict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- one column ------------------------------------------------------------------------------


@dataclass
class Column:
    tool: MypyTool
    python: Path
    runner: Runner

    def ruff(self, doc: Doc) -> tuple[Outcome, bool]:
        """ruff on the file: its outcome and whether it shows the injected ruff finding."""
        argv = [str(self.python), "-m", "ruff", "check", "--output-format", "json"]
        outcome = self.runner.run([*argv, str(doc.path)])
        return outcome, _ruff_at(outcome.stdout, doc)

    def review(self, doc: Doc, want_error: bool | None) -> tuple[Sample, list[truth.Finding]]:
        ruff, ruff_ok = self.ruff(doc)
        mypy = self.tool.check(doc)
        found = truth.from_mypy_json(mypy.stdout, doc.path, self.runner.root)
        problems = []
        if mypy.returncode not in (0, 1):
            problems.append(f"mypy exited {mypy.returncode}: {mypy.stderr.strip()[-300:]}")
        shown = any(f.line == doc.error_line + 1 and TYPE_ERROR in f.message for f in found)
        if want_error is not None and shown != want_error:
            problems.append(f"injected type error {'missing' if want_error else 'still shown'}")
        if want_error and not ruff_ok:
            problems.append(f"ruff {RUFF_CODE} on the injected line missing")
        sample = Sample(
            file=doc.name,
            seconds=ruff.seconds + mypy.seconds,
            first_publish=ruff.seconds,
            first_ruff=ruff.seconds if want_error else None,
            publishes=2,
            error="; ".join(problems) or None,
        )
        return sample, found


def _ruff_at(stdout: str, doc: Doc) -> bool:
    try:
        records = json.loads(stdout or "[]")
    except ValueError:
        return False
    return any(
        r.get("code") == RUFF_CODE and r.get("location", {}).get("row") == doc.ruff_line + 1
        for r in records
    )


def _fmt(sample: Sample) -> str:
    ms = f"{(sample.seconds or 0) * 1000:.0f} ms (ruff {(sample.first_publish or 0) * 1000:.0f})"
    return f"{ms} FAILED: {sample.error}" if sample.error else ms


def run_column(
    name: str,
    python: Path,
    root: Path,
    docs: Sequence[Doc],
    *,
    timeout: float,
    think: float,
    cold: bool,
    warm_up: Callable[[], None],
    reference: truth.Reference | None,
) -> ServerRun:
    """Every phase that applies to one command-line column; the daemon is always stopped."""
    runner = Runner(root, timeout)
    tool: MypyTool = MypyFile(python, runner) if name == "mypy-file" else Dmypy(python, runner)
    column = Column(tool, python, runner)
    run = ServerRun(name, tool.argv)

    def phase(label: str, want_error: bool | None = None) -> list[Sample]:
        samples = []
        for doc in docs:
            sample, _ = column.review(doc, want_error)
            log(f"  {name} {label} {doc.name}: {_fmt(sample)}")
            samples.append(sample)
        return samples

    try:
        if cold:
            shutil.rmtree(root / ".mypy_cache", ignore_errors=True)
            sample, _ = column.review(docs[0], None)
            log(f"  {name} cold {docs[0].name}: {_fmt(sample)}")
            run.phases["cold"] = [sample]
            run.leftover_pids.extend(tool.stop())
            run.rss_peak_cold_mb = runner.peak_bytes / MB
            runner.peak_bytes = 0
        warm_up()
        run.phases["open"] = phase("open")
        run.phases["save"], run.phases["restore"] = [], []
        for doc in docs:
            time.sleep(think)
            try:
                doc.path.write_text(doc.edited, encoding="utf-8", newline="")
                saved, found = column.review(doc, want_error=True)
            finally:
                time.sleep(think)
                doc.path.write_bytes(doc.original)
            restored, _ = column.review(doc, want_error=False)
            log(f"  {name} save {doc.name}: {_fmt(saved)}; restore {_fmt(restored)}")
            run.phases["save"].append(saved)
            run.phases["restore"].append(restored)
            if reference is not None:
                expected = reference.findings[doc.name]
                run.truth.append(truth.as_json(truth.compare(doc.name, expected, found)))
        run.phases["open_first"] = [
            Sample(s.file, s.first_publish, error=s.error) for s in run.phases["open"]
        ]
        run.phases["first_ruff"] = [
            Sample(s.file, s.first_ruff, error=s.error) for s in run.phases["save"]
        ]
        run.rss_after_mb = tool.resident_mb()
        if tool.restartable:
            run.leftover_pids.extend(tool.stop())
            run.phases["restart"] = phase("restart-open")
            run.rss_after_restart_mb = tool.resident_mb()
    except (OSError, subprocess.SubprocessError) as exc:
        run.error = f"{type(exc).__name__}: {exc}"
        log(f"  {name}: aborted: {run.error}")
    finally:
        run.leftover_pids.extend(tool.stop())
        for doc in docs:
            doc.path.write_bytes(doc.original)
    if isinstance(tool, Dmypy):
        run.daemon_pids = tool.pids
    run.rss_peak_mb = runner.peak_bytes / MB
    return run

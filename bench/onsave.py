"""On-save benchmark: tapps-lsp side by side with pylsp + pylsp-mypy + python-lsp-ruff.

For each server, on the rich 15.0.0 corpus (see corpus.py):

0. copy the corpus to --corpus/onsave-work (the shared unpack is never edited);
1. start it (rootUri = that copy) and open each file in turn: didOpen -> completing publish;
2. edit-save cycle per file: insert an unused import (ruff F401) and a type error (mypy
   [assignment]) at the top of the module's code, write to disk, didChange + didSave -> the
   publish that shows the mypy error, and the first publish that shows the ruff finding;
   then restore, save, wait again;
3. close + re-open every (unchanged) file -> completing publish (cache hit);
4. read the RSS of the server's process tree; shut down; start again and open every file
   (restart hit: tapps-lsp's persisted cache, mypy's .mypy_cache for pylsp);
5. print a table and write every raw number to bench/results/onsave.json.

See bench/README.md for what each figure means. Run with --help for the options.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from corpus import Corpus, prepare_rich, working_copy
from lsp_client import JsonDict, LspClient, LspError, Publish, ServerExitedError

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
INJECTED = (
    "import os as _bench_os  # bench: unused import, ruff F401\n"
    '_bench_err: int = "x"  # bench: mypy [assignment]\n'
)
WORK_DIR = "onsave-work"  # under --corpus: the copy this benchmark edits
MB = 1024 * 1024
MAX_CONSECUTIVE_FAILURES = 3
DERIVED = ("open_first", "first_ruff")  # read off the "open" and "save" samples

# -- servers ---------------------------------------------------------------------------------

Completes = Callable[[Publish, int, bool], bool]


@dataclass(frozen=True)
class Server:
    """How to start one server and how to tell that a publish completes a file's review."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]
    init_options: Any
    settings: JsonDict  # sent as didChangeConfiguration and answered to workspace/configuration
    completes: Completes  # (publish, matching publishes before it, file has a syntax error)
    reset_paths: tuple[str, ...] = ()  # relative to the corpus root, removed before the run
    daemon_status_file: str | None = None  # a detached daemon whose RSS counts for this server


def tapps_completes(publish: Publish, earlier: int, syntax_error: bool) -> bool:
    """tapps publishes ruff first, then mypy + score; a syntax error gets no score."""
    if syntax_error:
        return earlier >= 1
    return any(
        d.get("source") == "tapps" and str(d.get("code")) == "score" for d in publish.diagnostics
    )


def pylsp_completes(publish: Publish, earlier: int, syntax_error: bool) -> bool:
    """pylsp runs every lint plugin, then publishes once per (debounced) lint."""
    return True


def venv_env(venv: Path) -> dict[str, str]:
    """The environment of a shell in which ``venv`` is activated."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def tapps_server(command: Sequence[str], project_python: Path, init_options: Any) -> Server:
    project_venv = project_python.parent.parent
    env = venv_env(project_venv) if (project_venv / "pyvenv.cfg").is_file() else dict(os.environ)
    return Server(
        name="tapps",
        argv=tuple(command),
        env=env,
        init_options=init_options,
        settings={"tapps": init_options} if isinstance(init_options, dict) else {},
        completes=tapps_completes,
        reset_paths=(".tapps_cache",),
    )


def pylsp_settings(project_python: Path, dmypy: bool) -> JsonDict:
    """pylsp-mypy on save (live_mode off), python-lsp-ruff on, pylsp's own linters off."""
    plugins: JsonDict = {
        "pylsp_mypy": {
            "enabled": True,
            "live_mode": False,
            "dmypy": dmypy,
            "report_progress": False,
            # As pylsp-mypy's README shows: check against the project's interpreter.
            "overrides": [True, "--python-executable", str(project_python)],
        },
        "ruff": {"enabled": True},
    }
    for linter in ("pyflakes", "pycodestyle", "mccabe", "pylint", "flake8", "pydocstyle"):
        plugins[linter] = {"enabled": False}
    return {"pylsp": {"plugins": plugins}}


def pylsp_server(venv: Path, project_python: Path, dmypy: bool) -> Server:
    settings = pylsp_settings(project_python, dmypy)
    return Server(
        name="pylsp-dmypy" if dmypy else "pylsp",
        argv=(str(venv / "bin" / "pylsp"),),
        env=venv_env(venv),
        # Settings go only through didChangeConfiguration, as editors send them: pylsp merges
        # list settings from two sources as list(set(a + b)), which scrambles the order of
        # pylsp-mypy's "overrides" and breaks the mypy command line.
        init_options=None,
        settings=settings,
        completes=pylsp_completes,
        reset_paths=(".dmypy.json",),
        daemon_status_file=".dmypy.json" if dmypy else None,
    )


def ensure_pylsp_venv(venv: Path, requirements: Path) -> Path:
    """Create ``venv`` from requirements.txt unless it already matches it."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    marker = venv / ".bench-requirements.sha256"
    if (venv / "bin" / "pylsp").is_file() and _read(marker) == digest:
        return venv
    log(f"creating {venv} from {requirements.name} ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "-r", str(requirements)], check=True)
    marker.write_text(digest, encoding="utf-8")
    return venv


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


# -- documents and samples -------------------------------------------------------------------


@dataclass
class Doc:
    """One corpus file, its original content and the version counter the client uses."""

    path: Path
    name: str
    original: bytes
    version: int = 0

    @property
    def uri(self) -> str:
        return self.path.as_uri()

    @property
    def text(self) -> str:
        return self.original.decode("utf-8")

    @cached_property
    def syntax_error(self) -> bool:
        return not _compiles(self.text)

    @cached_property
    def import_line(self) -> int:
        """0-based line of the injected unused import: the top of the module's code if the
        edit still compiles there, else a new line at the end."""
        at = injection_line(self.original)
        if at is not None and _compiles(insert_lines(self.text, at, INJECTED)):
            return at
        return end_line(self.text)

    @property
    def error_line(self) -> int:
        """0-based line of the injected type error."""
        return self.import_line + 1

    @property
    def edited(self) -> str:
        return insert_lines(self.text, self.import_line, INJECTED)

    def next_version(self) -> int:
        self.version += 1
        return self.version


def injection_line(source: bytes) -> int | None:
    """0-based line of the module's first statement after its docstring and __future__
    imports (None for a syntax error or a module with nothing else).

    Code there always runs. A module's tail may not: rich/_win32_console.py raises
    ImportError off Windows, so mypy treats everything after it as unreachable and would
    never report an error appended at the end.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        decorators: list[ast.expr] = getattr(node, "decorator_list", [])
        return min([node.lineno, *(d.lineno for d in decorators)]) - 1
    return None


def end_line(text: str) -> int:
    """0-based index of the line that appending a block to ``text`` starts on."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def insert_lines(text: str, line: int, block: str) -> str:
    """``block`` (whole lines) inserted before 0-based ``line``; at or past the end, appended
    on a line of its own."""
    offset = 0
    for _ in range(line):
        found = text.find("\n", offset)
        if found < 0:
            return text + ("\n" if text else "") + block
        offset = found + 1
    return text[:offset] + block + text[offset:]


def _compiles(text: str) -> bool:
    try:
        compile(text, "<edited>", "exec", dont_inherit=True)
    except SyntaxError:
        return False
    return True


@dataclass
class Sample:
    """One measured wait. ``seconds`` is None when it failed (``error`` says why)."""

    file: str
    seconds: float | None
    first_publish: float | None = None
    first_ruff: float | None = None
    publishes: int = 0
    error: str | None = None
    seen: list[JsonDict] | None = None  # on failure: the publishes that did arrive


def diagnostics_at(publish: Publish, line: int, source: str) -> list[JsonDict]:
    return [
        d
        for d in publish.diagnostics
        if source in str(d.get("source", "")).lower()
        and d.get("range", {}).get("start", {}).get("line") == line
    ]


def shows_type_error(publish: Publish, doc: Doc) -> bool:
    found = diagnostics_at(publish, doc.error_line, "mypy")
    return any("Incompatible types in assignment" in str(d.get("message")) for d in found)


def shows_ruff_finding(publish: Publish, doc: Doc) -> bool:
    found = diagnostics_at(publish, doc.import_line, "ruff")
    return any(str(d.get("code")) == "F401" for d in found)


def version_ok(publish: Publish, version: int) -> bool:
    return publish.version is None or publish.version == version


# -- one server session ----------------------------------------------------------------------


@dataclass
class Options:
    timeout: float
    settle: float
    logs: Path


@dataclass
class ServerRun:
    """Everything measured for one server."""

    name: str
    argv: list[str]
    initialize: list[float] = field(default_factory=list)
    phases: dict[str, list[Sample]] = field(default_factory=dict)
    rss_after_mb: float | None = None
    rss_after_restart_mb: float | None = None
    rss_peak_mb: float = 0.0
    clean_exits: list[bool] = field(default_factory=list)
    leftover_pids: list[int] = field(default_factory=list)
    daemon_pids: list[int] = field(default_factory=list)  # more than one per start: restarts
    shown_messages: list[str] = field(default_factory=list)  # window/showMessage texts
    message_counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Session:
    server: Server
    client: LspClient
    root: Path
    opts: Options
    run: ServerRun
    failures: int = 0

    def extra_pids(self) -> list[int]:
        if self.server.daemon_status_file is None:
            return []
        status = _read_json(self.root / self.server.daemon_status_file)
        pid = status.get("pid") if status else None
        return [pid] if isinstance(pid, int) else []

    def rss_mb(self) -> float:
        daemons = self.extra_pids()
        self.run.daemon_pids.extend(p for p in daemons if p not in self.run.daemon_pids)
        return self.client.rss_bytes(daemons) / MB

    async def measure(
        self, doc: Doc, sent: float, version: int, want_error: bool | None = None
    ) -> Sample:
        """Wait for the publish that completes ``doc`` at ``version``; never forever."""

        def done(publish: Publish) -> bool:
            if not version_ok(publish, version):
                return False
            earlier = sum(
                1
                for p in self.client.publishes(doc.uri)
                if sent <= p.time < publish.time and version_ok(p, version)
            )
            if not self.server.completes(publish, earlier, doc.syntax_error):
                return False
            return want_error is None or shows_type_error(publish, doc) == want_error

        try:
            final = await self.client.wait_for_publish(doc.uri, done, sent, self.opts.timeout)
        except ServerExitedError:
            raise
        except LspError as exc:
            self.failures += 1
            if self.failures >= MAX_CONSECUTIVE_FAILURES:
                raise LspError(f"{self.failures} waits in a row timed out: server hung?") from exc
            return Sample(doc.name, None, error=str(exc), seen=self._seen(doc, sent))
        self.failures = 0
        return self._sample(doc, sent, version, final, want_error is True)

    def _seen(self, doc: Doc, sent: float) -> list[JsonDict]:
        """What did arrive for ``doc`` after ``sent``: kept with a failed wait, to debug it."""
        return [
            {
                "after_s": round(p.time - sent, 4),
                "version": p.version,
                "diagnostics": len(p.diagnostics),
                "score": tapps_completes(p, 0, syntax_error=False),
                "type_error_at_injected_line": shows_type_error(p, doc),
                "ruff_f401_at_injected_line": shows_ruff_finding(p, doc),
                "at_injected_lines": [
                    d
                    for d in p.diagnostics
                    if d.get("range", {}).get("start", {}).get("line", -1) >= doc.import_line
                ],
            }
            for p in self.client.publishes(doc.uri)
            if p.time >= sent
        ]

    def _sample(self, doc: Doc, sent: float, version: int, final: Publish, save: bool) -> Sample:
        seen = [
            p
            for p in self.client.publishes(doc.uri)
            if sent <= p.time <= final.time and version_ok(p, version)
        ]
        first_ruff = next((p.time - sent for p in seen if shows_ruff_finding(p, doc)), None)
        return Sample(
            file=doc.name,
            seconds=final.time - sent,
            first_publish=seen[0].time - sent,
            first_ruff=first_ruff if save else None,
            publishes=len(seen),
        )

    async def open(self, doc: Doc) -> Sample:
        version = doc.next_version()
        sent = await self.client.did_open(doc.path, doc.text, version)
        return await self.measure(doc, sent, version)

    async def save(self, doc: Doc, text: str, want_error: bool) -> Sample:
        doc.path.write_text(text, encoding="utf-8", newline="")
        version = doc.next_version()
        await self.client.did_change(doc.path, text, version)
        sent = await self.client.did_save(doc.path, text)
        return await self.measure(doc, sent, version, want_error)

    async def close(self, doc: Doc) -> None:
        """didClose, then give the server a moment to clear the file's diagnostics."""
        sent = await self.client.did_close(doc.path)
        with contextlib.suppress(LspError):
            await self.client.wait_for_publish(
                doc.uri, lambda p: not p.diagnostics, sent, self.opts.settle
            )


def _read_json(path: Path) -> JsonDict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fmt(sample: Sample) -> str:
    if sample.seconds is None:
        return f"FAILED ({sample.error})"
    ruff = f", first ruff {sample.first_ruff * 1000:.0f} ms" if sample.first_ruff else ""
    return f"{sample.seconds * 1000:.0f} ms ({sample.publishes} publishes{ruff})"


async def _sample_rss(session: Session) -> None:
    while True:
        session.run.rss_peak_mb = max(session.run.rss_peak_mb, session.rss_mb())
        await asyncio.sleep(0.25)


@contextlib.asynccontextmanager
async def started(
    server: Server, corpus: Corpus, opts: Options, run: ServerRun
) -> AsyncIterator[Session]:
    """A running, initialized server; shut down (or killed) and checked for leftovers."""
    client = LspClient(
        argv=server.argv,
        cwd=corpus.root,
        env=server.env,
        stderr_path=opts.logs / f"{server.name}.stderr.log",
        configuration=server.settings,
    )
    session = Session(server, client, corpus.root, opts, run)
    await client.start()
    sampler = asyncio.create_task(_sample_rss(session))
    try:
        begin = time.perf_counter()
        await client.initialize(corpus.root, server.init_options, timeout=opts.timeout)
        run.initialize.append(time.perf_counter() - begin)
        if server.settings:
            await client.notify("workspace/didChangeConfiguration", {"settings": server.settings})
        yield session
    finally:
        sampler.cancel()
        session.rss_mb()  # records the current daemon, if any
        daemons = [p for p in run.daemon_pids if _runs(p, "dmypy")]
        run.clean_exits.append(await client.stop(timeout=min(opts.timeout, 20.0)))
        _count_messages(run, client)
        run.leftover_pids.extend(await _reap_leftovers(client.pid, daemons))


def _count_messages(run: ServerRun, client: LspClient) -> None:
    for message in client.messages:
        key = str(message.payload.get("method", "<response>"))
        run.message_counts[key] = run.message_counts.get(key, 0) + 1
        if key in {"window/showMessage", "window/showMessageRequest"}:
            run.shown_messages.append(str(message.payload.get("params", {}).get("message")))


async def _reap_leftovers(pgid: int, daemons: list[int], grace: float = 5.0) -> list[int]:
    """Processes the server started that outlived it by ``grace`` s (its group, its daemons)."""
    deadline = time.monotonic() + grace
    while True:
        alive = sorted(set(_group_members(pgid)) | {p for p in daemons if _is_alive(p)})
        if not alive or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    for pid in alive:
        log(f"  leftover process {pid} outlived its server: ending it")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, 9)
    return alive


def _is_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def _runs(pid: int, word: str) -> bool:
    """True if process ``pid`` is alive and ``word`` is in its command line (pids get reused)."""
    try:
        return word in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(entry.path, "stat").read_text()
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


# -- phases ----------------------------------------------------------------------------------


async def phase_open(session: Session, docs: list[Doc], label: str) -> list[Sample]:
    samples = []
    for doc in docs:
        sample = await session.open(doc)
        log(f"  {session.server.name} {label} {doc.name}: {_fmt(sample)}")
        samples.append(sample)
    return samples


async def phase_cycle(session: Session, docs: list[Doc]) -> tuple[list[Sample], list[Sample]]:
    saves, restores = [], []
    for doc in docs:
        try:
            saved = await session.save(doc, doc.edited, want_error=True)
        finally:
            doc.path.write_bytes(doc.original)
        restored = await session.save(doc, doc.text, want_error=False)
        log(f"  {session.server.name} save {doc.name}: {_fmt(saved)}; restore {_fmt(restored)}")
        saves.append(saved)
        restores.append(restored)
    return saves, restores


async def phase_reopen(session: Session, docs: list[Doc]) -> list[Sample]:
    samples = []
    for doc in docs:
        await session.close(doc)
        sample = await session.open(doc)
        log(f"  {session.server.name} reopen {doc.name}: {_fmt(sample)}")
        samples.append(sample)
    return samples


async def run_server(server: Server, corpus: Corpus, docs: list[Doc], opts: Options) -> ServerRun:
    run = ServerRun(server.name, list(server.argv))
    (opts.logs / f"{server.name}.stderr.log").unlink(missing_ok=True)
    for rel in server.reset_paths:
        _remove(corpus.root / rel)
    try:
        async with started(server, corpus, opts, run) as session:
            run.phases["open"] = await phase_open(session, docs, "open")
            run.phases["save"], run.phases["restore"] = await phase_cycle(session, docs)
            run.phases["open_first"] = [
                Sample(s.file, s.first_publish, error=s.error) for s in run.phases["open"]
            ]
            run.phases["first_ruff"] = [
                Sample(s.file, s.first_ruff, error=s.error) for s in run.phases["save"]
            ]
            run.phases["reopen"] = await phase_reopen(session, docs)
            run.rss_after_mb = session.rss_mb()
        async with started(server, corpus, opts, run) as session:
            run.phases["restart"] = await phase_open(session, docs, "restart-open")
            run.rss_after_restart_mb = session.rss_mb()
    except LspError as exc:
        run.error = f"{type(exc).__name__}: {exc}"
        log(f"  {server.name}: aborted: {run.error}")
    return run


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def prepare_mypy_cache(corpus: Corpus, mode: str) -> None:
    """cold: no .mypy_cache; warm: one project-level `mypy` run first (as a user or CI has)."""
    if mode == "keep":
        return
    _remove(corpus.root / ".mypy_cache")
    if mode == "warm":
        subprocess.run(
            [str(corpus.python), "-m", "mypy"],
            cwd=corpus.root,
            stdout=subprocess.DEVNULL,
            check=False,
            timeout=900,
        )


# -- report ----------------------------------------------------------------------------------


def quantiles(values: Sequence[float]) -> tuple[float, float] | None:
    """(p50, p95) with linear interpolation between the closest ranks."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0], data[0]
    cuts = statistics.quantiles(data, n=20, method="inclusive")
    return statistics.median(data), cuts[18]


def seconds_of(run: ServerRun, phase: str) -> list[float]:
    return [s.seconds for s in run.phases.get(phase, []) if s.seconds is not None]


def failures_of(run: ServerRun) -> int:
    return sum(
        1
        for name, samples in run.phases.items()
        if name not in DERIVED  # their failures are counted in the phase they come from
        for s in samples
        if s.error is not None
    )


FIGURES: tuple[tuple[str, str], ...] = (
    ("open", "open -> complete"),
    ("open_first", "open -> first publish"),
    ("save", "save -> complete"),
    ("first_ruff", "save -> first ruff"),
    ("reopen", "cache hit (re-open)"),
    ("restart", "restart hit (open)"),
)
LABELS = {"tapps": "tapps-lsp", "pylsp": "pylsp-mypy", "pylsp-dmypy": "pylsp-dmypy"}
Row = tuple[str, list[float | None], bool]  # label, one value per server, ratios wanted


def figure_rows(runs: list[ServerRun]) -> list[Row]:
    rows: list[Row] = []
    for phase, label in FIGURES:
        stats = [quantiles(seconds_of(run, phase)) for run in runs]
        for index, name in ((0, "p50"), (1, "p95")):
            values = [None if q is None else q[index] * 1000 for q in stats]
            rows.append((f"{label} {name} (ms)", values, True))
    rows.append(("restart: first open (ms)", [_first_restart(r) for r in runs], True))
    rows.append(("initialize (ms)", [_initialize(r) for r in runs], True))
    rows.append(("RSS after run (MB)", [r.rss_after_mb for r in runs], True))
    rows.append(("RSS peak, sampled (MB)", [r.rss_peak_mb or None for r in runs], True))
    rows.append(("failed waits", [float(failures_of(r)) for r in runs], False))
    return rows


def _first_restart(run: ServerRun) -> float | None:
    samples = run.phases.get("restart") or []
    if not samples or samples[0].seconds is None:
        return None
    return samples[0].seconds * 1000


def _initialize(run: ServerRun) -> float | None:
    return statistics.median(run.initialize) * 1000 if run.initialize else None


def _cells(values: list[float | None], ratios: int) -> list[str]:
    cells = ["-" if v is None else f"{v:.0f}" for v in values]
    base = values[0]
    for other in values[1 : 1 + ratios]:
        cells.append(f"{base / other:.2g}" if base is not None and other else "-")
    return cells


def format_table(runs: list[ServerRun]) -> str:
    """Markdown table: one column per server, then tapps/other ratios when tapps ran."""
    names = [LABELS.get(r.name, r.name) for r in runs]
    ratios = len(runs) - 1 if runs and runs[0].name == "tapps" else 0
    header = ["figure", *names, *[f"tapps/{n}" for n in names[1 : 1 + ratios]]]
    rows = [header]
    for label, values, want_ratios in figure_rows(runs):
        cells = _cells(values, ratios if want_ratios else 0)
        rows.append([label, *cells, *[""] * (len(header) - 1 - len(cells))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def versions(python: Path, names: Sequence[str]) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try:\n        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    out = subprocess.run(
        [str(python), "-c", code, *names], capture_output=True, text=True, check=False
    )
    try:
        data = json.loads(out.stdout)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def write_results(path: Path, meta: JsonDict, runs: list[ServerRun]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "servers": {run.name: asdict(run) for run in runs}}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=30, help="files to use (default 30)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated corpus paths (e.g. rich/cells.py) to use instead of the sample",
    )
    parser.add_argument("--servers", default="tapps,pylsp,pylsp-dmypy")
    parser.add_argument("--corpus", type=Path, default=BENCH / ".corpus")
    parser.add_argument(
        "--python",
        type=Path,
        default=Path(sys.executable),
        help="the project's interpreter: rich's deps go there; mypy checks with it",
    )
    parser.add_argument(
        "--tapps-cmd",
        default=None,
        help="default: tapps-lsp next to --python, then on PATH, plus 'serve'",
    )
    parser.add_argument("--tapps-init-options", default="{}", help="JSON initializationOptions")
    parser.add_argument("--pylsp-venv", type=Path, default=BENCH / ".venv-pylsp")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per wait")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.5,
        help="seconds to wait for the clearing publish after didClose",
    )
    parser.add_argument(
        "--mypy-cache",
        choices=("warm", "cold", "keep"),
        default="warm",
        help="state of the corpus .mypy_cache before each server (default warm)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "onsave.json")
    return parser.parse_args(argv)


def tapps_command(args: argparse.Namespace) -> list[str] | None:
    if args.tapps_cmd:
        return [str(part) for part in args.tapps_cmd.split()]
    beside = args.python.parent / "tapps-lsp"
    found = str(beside) if beside.is_file() else shutil.which("tapps-lsp")
    return [found, "serve"] if found else None


def build_servers(args: argparse.Namespace, python: Path) -> list[Server]:
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(wanted) - set(LABELS)
    if unknown:
        raise SystemExit(f"unknown servers: {', '.join(sorted(unknown))}")
    servers: list[Server] = []
    if "tapps" in wanted:
        command = tapps_command(args)
        if command is None:
            log("tapps-lsp not found (next to --python or on PATH): skipping it")
        else:
            servers.append(tapps_server(command, python, json.loads(args.tapps_init_options)))
    if {"pylsp", "pylsp-dmypy"} & set(wanted):
        venv = ensure_pylsp_venv(args.pylsp_venv.absolute(), BENCH / "requirements.txt")
        servers += [
            pylsp_server(venv, python, dmypy=n == "pylsp-dmypy") for n in wanted if n != "tapps"
        ]
    return servers


async def run_all(
    servers: list[Server], corpus: Corpus, docs: list[Doc], args: argparse.Namespace
) -> list[ServerRun]:
    opts = Options(timeout=args.timeout, settle=args.settle, logs=RESULTS / "logs")
    runs = []
    try:
        for server in servers:
            log(f"== {server.name}: {' '.join(server.argv)}")
            prepare_mypy_cache(corpus, args.mypy_cache)
            runs.append(await run_server(server, corpus, docs, opts))
    finally:
        for doc in docs:
            doc.path.write_bytes(doc.original)
    return runs


def chosen(corpus: Corpus, only: str) -> list[Path]:
    if not only:
        return list(corpus.files)
    paths = [corpus.root / name.strip() for name in only.split(",") if name.strip()]
    missing = [str(p) for p in paths if p not in corpus.modules]
    if missing:
        raise SystemExit(f"not corpus modules: {', '.join(missing)}")
    return paths


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    python = Path(os.path.abspath(args.python))
    shared = prepare_rich(args.corpus, python, args.files)
    with exclusive(args.corpus / WORK_DIR / ".lock"):
        return bench(args, python, working_copy(shared, args.corpus / WORK_DIR))


@contextlib.contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """One onsave run at a time per working copy: a second one stops at once."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another onsave run holds {lock}") from None
        yield


def bench(args: argparse.Namespace, python: Path, corpus: Corpus) -> int:
    """Run every server on ``corpus`` (the working copy), print the table, write JSON."""
    docs = [
        Doc(p, p.relative_to(corpus.root).as_posix(), p.read_bytes())
        for p in chosen(corpus, args.only)
    ]
    servers = build_servers(args, python)
    runs = asyncio.run(run_all(servers, corpus, docs, args))
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "corpus": corpus.to_json(),
        "options": {k: str(v) for k, v in vars(args).items()},
        "injected": INJECTED,
        "versions": {
            "project": versions(python, ["mypy", "ruff", "tapps-lsp", "pygls"]),
            "pylsp": versions(
                args.pylsp_venv / "bin" / "python",
                ["python-lsp-server", "pylsp-mypy", "python-lsp-ruff", "mypy", "ruff"],
            ),
        },
        "servers": {
            s.name: {"argv": list(s.argv), "init_options": s.init_options} for s in servers
        },
    }
    write_results(args.output, meta, runs)
    print(format_table(runs))
    print(f"\nraw numbers: {args.output}")
    return 0 if all(r.error is None for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

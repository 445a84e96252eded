"""On-save benchmark: tapps-lsp side by side with pylsp + pylsp-mypy + python-lsp-ruff.

For each server, on the rich 15.0.0 corpus (see corpus.py):

0. copy the corpus to --corpus/onsave-work (the shared unpack is never edited);
1. start it (rootUri = that copy) and open each file in turn: didOpen -> completing publish;
2. edit-save cycle per file: insert a type error (mypy [assignment]) and a ruff finding
   (F541) at the top of the module's code, write to disk, didChange + didSave -> the
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
import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cli_tools
import truth
from corpus import Corpus, prepare_rich, working_copy
from lsp_client import JsonDict, LspClient, LspError, Publish, ServerExitedError
from model import (
    INJECTED,
    MB,
    Doc,
    Sample,
    ServerRun,
    log,
    shows_ruff_finding,
    shows_type_error,
    version_ok,
)
from processes import reap_leftovers, runs
from report import LABELS, format_table, mismatches, versions, write_results

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
WORK_DIR = "onsave-work"  # under --corpus: the copy this benchmark edits
MAX_CONSECUTIVE_FAILURES = 3

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
    truth_hints: bool = True  # mypy's notes arrive in the message (False: separate diagnostics)


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
        truth_hints=False,
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


@dataclass
class Options:
    timeout: float
    settle: float
    logs: Path
    think: float = 0.0


@dataclass
class Session:
    server: Server
    client: LspClient
    root: Path
    opts: Options
    run: ServerRun
    failures: int = 0
    last_final: Publish | None = None  # the publish that completed the last measured wait

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
        self.last_final = final
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
                    if d.get("range", {}).get("start", {}).get("line", -1) >= doc.edit_line
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
        daemons = [p for p in run.daemon_pids if runs(p, "dmypy")]
        run.clean_exits.append(await client.stop(timeout=min(opts.timeout, 20.0)))
        _count_messages(run, client)
        run.leftover_pids.extend(await reap_leftovers(client.pid, daemons))


def _count_messages(run: ServerRun, client: LspClient) -> None:
    for message in client.messages:
        key = str(message.payload.get("method", "<response>"))
        run.message_counts[key] = run.message_counts.get(key, 0) + 1
        if key in {"window/showMessage", "window/showMessageRequest"}:
            run.shown_messages.append(str(message.payload.get("params", {}).get("message")))


# -- phases ----------------------------------------------------------------------------------


async def phase_open(session: Session, docs: list[Doc], label: str) -> list[Sample]:
    samples = []
    for doc in docs:
        sample = await session.open(doc)
        log(f"  {session.server.name} {label} {doc.name}: {_fmt(sample)}")
        samples.append(sample)
    return samples


async def phase_cycle(
    session: Session, docs: list[Doc], reference: truth.Reference | None
) -> tuple[list[Sample], list[Sample]]:
    saves, restores = [], []
    think = session.opts.think
    for doc in docs:
        await asyncio.sleep(think)
        try:
            session.last_final = None
            saved = await session.save(doc, doc.edited, want_error=True)
            published = session.last_final
        finally:
            if think:
                await asyncio.sleep(think)
            doc.path.write_bytes(doc.original)
        restored = await session.save(doc, doc.text, want_error=False)
        log(f"  {session.server.name} save {doc.name}: {_fmt(saved)}; restore {_fmt(restored)}")
        saves.append(saved)
        restores.append(restored)
        if reference is not None:
            got = None if published is None else truth.from_diagnostics(published.diagnostics)
            expected = reference.findings[doc.name]
            found = truth.compare(doc.name, expected, got, hints=session.server.truth_hints)
            session.run.truth.append(truth.as_json(found))
    return saves, restores


async def phase_reopen(session: Session, docs: list[Doc]) -> list[Sample]:
    samples = []
    for doc in docs:
        await session.close(doc)
        sample = await session.open(doc)
        log(f"  {session.server.name} reopen {doc.name}: {_fmt(sample)}")
        samples.append(sample)
    return samples


async def phase_cold(
    server: Server, corpus: Corpus, doc: Doc, opts: Options, run: ServerRun
) -> None:
    """A server started with no .mypy_cache (and none of its own caches): open one file."""
    remove_path(corpus.root / ".mypy_cache")
    for rel in server.reset_paths:
        remove_path(corpus.root / rel)
    try:
        async with started(server, corpus, opts, run) as session:
            sample = await session.open(doc)
            log(f"  {server.name} cold open {doc.name}: {_fmt(sample)}")
            run.phases["cold"] = [sample]
    except LspError as exc:
        run.phases["cold"] = [Sample(doc.name, None, error=f"{type(exc).__name__}: {exc}")]
        log(f"  {server.name}: cold phase aborted: {exc}")
    # The rest of the run starts from the prepared cache: keep the cold peak apart.
    run.rss_peak_cold_mb, run.rss_peak_mb = run.rss_peak_mb, 0.0
    run.initialize.clear()


async def run_server(
    server: Server,
    corpus: Corpus,
    docs: list[Doc],
    opts: Options,
    run: ServerRun,
    reference: truth.Reference | None,
) -> ServerRun:
    for rel in server.reset_paths:
        remove_path(corpus.root / rel)
    try:
        async with started(server, corpus, opts, run) as session:
            run.phases["open"] = await phase_open(session, docs, "open")
            run.phases["save"], run.phases["restore"] = await phase_cycle(session, docs, reference)
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


def remove_path(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def prepare_mypy_cache(corpus: Corpus, mode: str) -> None:
    """cold: no .mypy_cache; warm: one project-level `mypy` run first (as a user or CI has)."""
    if mode == "keep":
        return
    remove_path(corpus.root / ".mypy_cache")
    if mode == "warm":
        subprocess.run(
            [str(corpus.python), "-m", "mypy"],
            cwd=corpus.root,
            stdout=subprocess.DEVNULL,
            check=False,
            timeout=900,
        )


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=30, help="files to use (default 30)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated corpus paths (e.g. rich/cells.py) to use instead of the sample",
    )
    parser.add_argument(
        "--servers",
        default=",".join(LABELS),
        help=f"columns to run, tapps first (default {','.join(LABELS)})",
    )
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
        "--edit-at",
        choices=("end", "top"),
        default="end",
        help="where the edit goes: appended at the end of the module, as the issue's"
        " protocol says (default), or at the top of its code, which moves every later line",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="seconds between a save's complete publish and the next save, as a person"
        " editing takes (default 1.0; 0 saves back to back)",
    )
    parser.add_argument(
        "--mypy-cache",
        choices=("warm", "cold", "keep"),
        default="warm",
        help="state of the corpus .mypy_cache before each server (default warm)",
    )
    parser.add_argument(
        "--no-cold",
        dest="cold",
        action="store_false",
        help="skip the cold phase (empty .mypy_cache and tapps cache, open the first file)",
    )
    parser.add_argument(
        "--no-truth",
        dest="truth",
        action="store_false",
        help="skip the project-level mypy reference and the recall/precision rows",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "onsave.json")
    return parser.parse_args(argv)


def tapps_command(args: argparse.Namespace) -> list[str] | None:
    if args.tapps_cmd:
        return [str(part) for part in args.tapps_cmd.split()]
    beside = args.python.parent / "tapps-lsp"
    found = str(beside) if beside.is_file() else shutil.which("tapps-lsp")
    return [found, "serve"] if found else None


def build_servers(args: argparse.Namespace, python: Path) -> list[Server | str]:
    """The LSP servers to start, and the names of the command-line columns, tapps first."""
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(wanted) - set(LABELS)
    if unknown:
        raise SystemExit(f"unknown servers: {', '.join(sorted(unknown))}")
    servers: list[Server | str] = []
    if "tapps" in wanted:
        command = tapps_command(args)
        if command is None:
            log("tapps-lsp not found (next to --python or on PATH): skipping it")
        else:
            servers.append(tapps_server(command, python, json.loads(args.tapps_init_options)))
    venv = args.pylsp_venv.absolute()
    if {"pylsp", "pylsp-dmypy"} & set(wanted):
        venv = ensure_pylsp_venv(venv, BENCH / "requirements.txt")
    for name in wanted:
        if name in {"pylsp", "pylsp-dmypy"}:
            servers.append(pylsp_server(venv, python, dmypy=name == "pylsp-dmypy"))
        elif name in cli_tools.COLUMNS:
            servers.append(name)
    return servers


async def run_all(
    servers: list[Server | str],
    corpus: Corpus,
    docs: list[Doc],
    args: argparse.Namespace,
    reference: truth.Reference | None,
) -> list[ServerRun]:
    """Each column in turn: its cold phase (--no-cold skips it), then the warm phases."""
    opts = Options(
        timeout=args.timeout, settle=args.settle, logs=RESULTS / "logs", think=args.think
    )
    runs = []
    try:
        for server in servers:
            if isinstance(server, str):
                log(f"== {server} (command line)")
                runs.append(
                    cli_tools.run_column(
                        server,
                        corpus.python,
                        corpus.root,
                        docs,
                        timeout=args.timeout,
                        think=args.think,
                        cold=args.cold,
                        warm_up=lambda: prepare_mypy_cache(corpus, args.mypy_cache),
                        reference=reference,
                    )
                )
                continue
            log(f"== {server.name}: {' '.join(server.argv)}")
            (opts.logs / f"{server.name}.stderr.log").unlink(missing_ok=True)
            run = ServerRun(server.name, list(server.argv))
            if args.cold:
                await phase_cold(server, corpus, docs[0], opts, run)
            prepare_mypy_cache(corpus, args.mypy_cache)
            runs.append(await run_server(server, corpus, docs, opts, run, reference))
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
        Doc(p, p.relative_to(corpus.root).as_posix(), p.read_bytes(), edit_at=args.edit_at)
        for p in chosen(corpus, args.only)
    ]
    servers = build_servers(args, python)
    reference = None
    if args.truth:
        cache = args.corpus.absolute() / "truth-mypy-cache"
        reference = truth.reference(corpus.python, corpus.root, docs, cache)
    runs = asyncio.run(run_all(servers, corpus, docs, args, reference))
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
            s.name: {"argv": list(s.argv), "init_options": s.init_options}
            for s in servers
            if isinstance(s, Server)
        },
        "reference": reference.to_json() if reference else None,
    }
    write_results(args.output, meta, runs)
    print(format_table(runs))
    differ = mismatches(runs)
    if differ:
        print(f"\nmypy findings that differ from the project-level run:\n{differ}")
    print(f"\nraw numbers: {args.output}")
    return 0 if all(r.error is None for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

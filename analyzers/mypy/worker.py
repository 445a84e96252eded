"""The mypy engine's worker process: mypy's fine-grained state, kept loaded.

Run by path (see engine.py) with cwd = the mypy config root. It reads one JSON
request per line on stdin and writes one JSON reply per line on stdout; stdout carries
nothing else (mypy's own prints are sent to stderr). Requests:

    {"id": n, "cmd": "start", "args": [mypy argv of the project-level run]}
    {"id": n, "cmd": "check", "changed": [abs paths], "removed": [abs paths]}
    {"id": n, "cmd": "stats"}
    {"id": n, "cmd": "shutdown"}

A successful start or check replies with every current mypy message of the project,
as the records `mypy -O json --show-absolute-path` prints:

    {"id": n, "ok": true, "messages": [...], "blocking": bool, "rebuilt": bool,
     "other": [non-JSON output lines], "duration_ms": float}

A failure replies {"id": n, "ok": false, "kind": ..., "error": ..., "fatal": bool}; after
a fatal one the worker exits, because mypy's state may be half-updated.

This module imports only the standard library and the interpreter's own mypy, so it
runs in the project's environment as well as in ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import json
import os
import re
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mypy.build import BuildManager, Graph
from mypy.dmypy_server import Server
from mypy.fswatcher import FileData
from mypy.main import process_options
from mypy.modulefinder import BuildSource, ModuleNotFoundReason
from mypy.nodes import TypeInfo
from mypy.options import Options
from mypy.stubinfo import stub_distribution_name
from mypy.version import __version__ as MYPY_VERSION

MIN_MYPY = (1, 20)
IDLE_GC_SECONDS = 2.0
# Without an idle pause, collect the young objects anyway after this many checks, or once
# this many files were rechecked: each one's previous tree is garbage, and back-to-back
# checks of many files (a catch-up after an undo or a branch switch) otherwise pile up
# tens of MB of it. A routine collection costs 20-40 ms on rich.
MAX_CHECKS_WITHOUT_GC = 25
MAX_FILES_WITHOUT_GC = 5
# A deep collection (of objects frozen after the last build) once RSS grew this much.
DEEP_GC_GROWTH = 1.05
_PR_SET_PDEATHSIG = 1
# mypy words these in build.skipping_module (follow_imports=error) and shows the note once.
_SKIPPED_IMPORT = 'Import of "{module}" ignored'
_SKIPPED_NOTE = "(Using --follow-imports=error, module not passed on command line)"

Reply = dict[str, Any]
_T = TypeVar("_T")


class RequestError(Exception):
    """A request that cannot be served; `fatal` ends the worker."""

    def __init__(self, kind: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.fatal = fatal


# --- the process: parent death, stdio ----------------------------------------------


def die_with_parent(parent: int | None) -> None:
    """Ask Linux to SIGKILL us when the parent dies, and exit if it already has (it
    may have died before the request took effect)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(0)


@dataclass
class Channel:
    """Line-delimited JSON over the original stdin/stdout file descriptors."""

    read_fd: int
    write_fd: int
    _buffer: bytes = b""

    @classmethod
    def claim_stdio(cls) -> Channel:
        """Keep fd 1 for the protocol and point everything else that prints at stderr."""
        protocol = os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return cls(read_fd=0, write_fd=protocol)

    def read(self, timeout: float | None) -> dict[str, Any] | None:
        """The next request, or None if none came within `timeout`; EOFError at the
        end of input (the client closed the pipe or died)."""
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.read_fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            request = json.loads(line)
        except ValueError:
            return {"cmd": "invalid"}
        return request if isinstance(request, dict) else {"cmd": "invalid"}

    def write(self, reply: Reply) -> None:
        data = (json.dumps(reply) + "\n").encode()
        while data:
            written = os.write(self.write_fd, data)
            data = data[written:]


# --- mypy, kept loaded ------------------------------------------------------------


def mypy_version() -> tuple[int, ...]:
    parts = []
    for part in MYPY_VERSION.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def parse_argv(argv: list[str]) -> tuple[list[BuildSource], Options, str]:
    """mypy's own reading of the argv and config: the sources, the options and anything
    it printed while reading them."""
    printed = io.StringIO()
    try:
        sources, options = process_options(list(argv), stdout=printed, stderr=printed)
    except SystemExit:
        message = printed.getvalue().strip() or "invalid mypy arguments"
        raise RequestError("config", message) from None
    return sources, options, printed.getvalue().strip()


def unsupported_reason(options: Options) -> str | None:
    """Why the fine-grained engine would not give the project-level run's results.

    mypy's fine-grained mode always turns on local_partial_types. Where a config turns
    it off, the CLI infers some types from function bodies that fine-grained mode
    cannot, so the two runs disagree; refuse and let the caller use the CLI.
    """
    if not options.local_partial_types:
        return "local_partial_types = false is not supported by mypy's fine-grained mode"
    for section, overrides in options.per_module_options.items():
        if overrides.get("local_partial_types") is False:
            return (
                f"local_partial_types = false (in [mypy-{section}]) is not supported"
                " by mypy's fine-grained mode"
            )
    return None


def prepare_options(options: Options) -> None:
    """The display options of `-O json --show-absolute-path --no-error-summary`, and
    never a start from a fine-grained cache (it can report stale results)."""
    options.output = "json"
    options.show_absolute_path = True
    options.error_summary = False
    options.color_output = False
    options.use_fine_grained_cache = False
    options.cache_fine_grained = False


@dataclass(frozen=True)
class Outcome:
    messages: list[dict[str, Any]]
    other: list[str]
    blocking: bool


def split_output(out: str, err: str) -> tuple[list[dict[str, Any]], list[str]]:
    """mypy's JSON records, and any line that is not one."""
    records: list[dict[str, Any]] = []
    other: list[str] = []
    for line in [*out.splitlines(), *err.splitlines()]:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            other.append(line)
    return records, other


@dataclass(frozen=True)
class _ImportTemplate:
    pattern: re.Pattern[str]
    notes: tuple[str, ...]


def _import_templates() -> list[_ImportTemplate]:
    """The import errors whose notes mypy shows once per run, as the CLI words them."""
    templates = []
    for reason in ModuleNotFoundReason:
        message, notes = reason.error_message_templates(daemon=False)
        templates.append(_ImportTemplate(_template_pattern(message), tuple(notes)))
    templates.append(_ImportTemplate(_template_pattern(_SKIPPED_IMPORT), (_SKIPPED_NOTE,)))
    return templates


def _template_pattern(message: str) -> re.Pattern[str]:
    return re.compile(re.escape(message).replace(re.escape("{module}"), "(?P<module>.+)") + "$")


@dataclass
class OnceNotes:
    """Puts mypy's once-per-run import notes where the CLI puts them.

    mypy shows some notes of import errors ("See https://...#missing-imports", the pip
    hint for a stub package, ...) only at the first error that needs them in a run.
    A fine-grained update forgets which it has shown, and the daemon words one of
    them differently, so the engine strips them and hands each to the first error in
    the CLI's order: the order in which the build loaded the modules, then lines.
    """

    templates: list[_ImportTemplate] = field(default_factory=_import_templates)

    def place(self, records: list[dict[str, Any]], rank: Callable[[str], int]) -> None:
        expected = [(record, self._notes_for(record)) for record in records]
        wanting = [(record, notes) for record, notes in expected if notes is not None]
        wanting.sort(key=lambda pair: _cli_position(pair[0], rank))
        shown: set[str] = set()
        for record, notes in wanting:
            assert notes is not None
            lines = [line for line in _hint_lines(record) if line not in self._all_notes(record)]
            for note in notes:
                if note not in shown:
                    shown.add(note)
                    lines.append(note)
            record["hint"] = "\n".join(lines) if lines else None

    def _notes_for(self, record: dict[str, Any]) -> tuple[str, ...] | None:
        """The once-only notes the CLI would attach to this error if it came first."""
        matches = self._matches(record)
        if not matches:
            return None
        hint_lines = set(_hint_lines(record))
        # Two reasons share one message; only their notes tell them apart.
        for notes in matches:
            if hint_lines & set(notes):
                return notes
        return matches[0]

    def _all_notes(self, record: dict[str, Any]) -> set[str]:
        return {note for notes in self._matches(record) for note in notes}

    def _matches(self, record: dict[str, Any]) -> list[tuple[str, ...]]:
        if record.get("severity") != "error":
            return []
        found = []
        for template in self.templates:
            matched = template.pattern.match(str(record.get("message", "")))
            if matched:
                module = matched.group("module").strip('"')
                found.append(tuple(_fill(note, module) for note in template.notes))
        return found


def _fill(note: str, module: str) -> str:
    if "{stub_dist}" not in note:
        return note
    return note.format(stub_dist=stub_distribution_name(module) or module)


def _hint_lines(record: dict[str, Any]) -> list[str]:
    hint = record.get("hint")
    return hint.split("\n") if isinstance(hint, str) and hint else []


def _cli_position(record: dict[str, Any], rank: Callable[[str], int]) -> tuple[int, int, int]:
    return (
        rank(str(record.get("file"))),
        int(record.get("line") or 0),
        int(record.get("column") or 0),
    )


@dataclass
class FineGrainedBuild:
    """One project's fine-grained mypy state, as the project-level run defines it."""

    argv: list[str]
    options: Options
    roots: list[BuildSource]
    server: Server | None = None
    silenced: frozenset[str] = frozenset()
    # Absolute path -> when the first build loaded it: the CLI's order of work.
    load_order: dict[str, int] = field(default_factory=dict)
    once_notes: OnceNotes = field(default_factory=OnceNotes)
    builds: int = 0
    mending_failed: bool = False

    @classmethod
    def open(cls, argv: list[str]) -> tuple[FineGrainedBuild, str]:
        version = mypy_version()
        if version < MIN_MYPY:
            raise RequestError(
                "unsupported", f"mypy {'.'.join(map(str, version))} is older than 1.20"
            )
        roots, options, printed = parse_argv(argv)
        reason = unsupported_reason(options)
        if reason is not None:
            raise RequestError("unsupported", reason)
        prepare_options(options)
        return cls(argv=list(argv), options=options, roots=roots), printed

    @property
    def following_imports(self) -> bool:
        return self.options.follow_imports == "normal"

    def build(self) -> Outcome:
        """A full build from the sources (no cache)."""
        self.server = Server(self.options, os.devnull)
        self.load_order = {}
        self.builds += 1
        return self._run(list(self.roots), first_build=True)

    def update(self, changed: list[str], removed: list[str]) -> tuple[Outcome, bool]:
        """Recheck after these files changed or went away; True if that took a full build."""
        graph = self._graph()
        if graph is None:
            return self.build(), True
        known = self._known_paths(graph)
        touched = [*changed, *removed]
        if not self.following_imports:
            if self._outside_roots(touched, known):
                return self.build(), True
            changed = [*changed, *_importers(touched, known, graph)]
        if removed or not set(changed) <= known.keys():
            self.roots, _, _ = parse_argv(self.argv)
        if any(path in self.silenced for path in changed):
            return self.build(), True
        self._force_changed([known.get(path, path) for path in changed])
        outcome = self._run(self.roots + self._ancestor_roots(changed, known, graph))
        graph = self._graph()
        if graph is not None and not outcome.blocking and _lost_modules(graph):
            return self.build(), True
        return outcome, False

    def _run(self, sources: list[BuildSource], *, first_build: bool = False) -> Outcome:
        assert self.server is not None
        self.server.fscache.flush()
        reply = self.server.check(sources, False, False, 80)
        records, other = split_output(str(reply.get("out", "")), str(reply.get("err", "")))
        self._mend(first_build=first_build)
        graph = self._graph() or {}
        self.silenced = _silenced_paths(graph)
        self._extend_load_order(graph)
        self.once_notes.place(records, self._load_rank)
        manager = self.server.fine_grained_manager
        # Without a manager, the first build itself stopped at a blocking error.
        blocking = manager is None or manager.blocking_error is not None
        return Outcome(records, other, blocking)

    def _mend(self, *, first_build: bool) -> None:
        assert self.server is not None
        fine_grained = self.server.fine_grained_manager
        if fine_grained is None or self.mending_failed:
            return
        try:
            if first_build:
                forget_processed_targets(fine_grained.manager)
            else:
                mend_after_update(fine_grained.manager)
        except Exception:
            # The mending reaches into mypy's internals; a mypy whose internals differ
            # still checks correctly without it, only more slowly over time.
            self.mending_failed = True
            print("not mending mypy's state:\n" + traceback.format_exc(), file=sys.stderr)

    def _graph(self) -> Graph | None:
        if self.server is None or self.server.fine_grained_manager is None:
            return None
        return self.server.fine_grained_manager.graph

    def _extend_load_order(self, graph: Graph) -> None:
        for state in graph.values():
            if state.path:
                self.load_order.setdefault(os.path.abspath(state.path), len(self.load_order))

    def _load_rank(self, path: str) -> int:
        return self.load_order.get(path, len(self.load_order))

    def _force_changed(self, paths: Iterable[str]) -> None:
        """Make mypy re-read these files even when their size and whole-second mtime
        are unchanged: it would trust those and miss the edit."""
        assert self.server is not None
        for path in paths:
            self.server.fswatcher.set_file_data(path, FileData(-1.0, -1, ""))

    def _known_paths(self, graph: Graph) -> dict[str, str]:
        """Absolute path -> the path as mypy spells it (relative to cwd for sources)."""
        paths = [source.path for source in self.roots if source.path]
        paths += [state.path for state in graph.values() if state.path]
        return {os.path.abspath(path): path for path in paths}

    def _outside_roots(self, paths: list[str], known: dict[str, str]) -> bool:
        """Whether a module the build holds but does not check as a source changed.

        Without follow_imports=normal, mypy's update looks at the sources only, and
        would miss an edited stub or silently followed module.
        """
        roots = {os.path.abspath(source.path) for source in self.roots if source.path}
        return any(path in known and path not in roots for path in paths)

    def _ancestor_roots(
        self, changed: list[str], known: dict[str, str], graph: Graph
    ) -> list[BuildSource]:
        """The packages above changed modules that the build only follows.

        When following imports, mypy's update stops its walk at a changed module and
        goes on through its imports only, so a package it reached only as that
        module's ancestor looks unreachable and is deleted; naming it keeps it.
        """
        if not self.following_imports:
            return []
        by_path = {state.path: state for state in graph.values() if state.path}
        rooted = {source.module for source in self.roots}
        extra: dict[str, BuildSource] = {}
        for path in changed:
            state = by_path.get(known.get(path, path))
            for ancestor in (state.ancestors or []) if state else []:
                if ancestor in graph and ancestor not in rooted:
                    extra[ancestor] = BuildSource(graph[ancestor].path, ancestor, followed=True)
        return list(extra.values())

    def graph_size(self) -> int:
        graph = self._graph()
        return len(graph) if graph is not None else 0


def _importers(paths: list[str], known: dict[str, str], graph: Graph) -> list[str]:
    """Modules whose import of a file outside the build may resolve differently now
    (the file was created or deleted); rechecking them re-resolves the import."""
    names = {name for path in paths if path not in known for name in _module_names(path)}
    if not names:
        return []
    importers = []
    for state in graph.values():
        if state.path and any(_within(dep, names) for dep in state.suppressed):
            importers.append(os.path.abspath(state.path))
    return importers


def _module_names(path: str) -> set[str]:
    """Every dotted name the file could be imported as, whatever the search root."""
    stem, suffix = os.path.splitext(path)
    if suffix not in (".py", ".pyi"):
        return set()
    parts = [part for part in stem.split(os.sep) if part]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return {".".join(parts[index:]) for index in range(len(parts))}


def _within(module: str, names: set[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def _silenced_paths(graph: Graph) -> frozenset[str]:
    """Modules followed with their errors silenced (follow_imports=silent). A
    fine-grained update of such a module would show its errors, so it takes a build."""
    return frozenset(
        os.path.abspath(state.path) for state in graph.values() if state.ignore_all and state.path
    )


def _lost_modules(graph: Graph) -> bool:
    """Whether a module imports or sits in a package that the graph lost; mypy's own
    update can leave that state behind, and the next update would crash on it."""
    return any(
        dep not in graph
        for state in graph.values()
        for dep in [*state.dependencies, *(state.ancestors or [])]
    )


# --- mending what an update leaves behind ------------------------------------------

# A name kept aside when a class member is defined again: `__init__-redefinition2`.
_SET_ASIDE = re.compile(r"(?P<name>.+)-redefinition\d*")


def mend_after_update(manager: BuildManager) -> None:
    """Undo what mypy's update leaves behind in classes it did not re-analyze.

    An update re-runs every class plugin hook (dataclasses, attrs, functools) of each
    module it touches, on classes it did not strip. Each run sets the previous generated
    members aside under new names and appends more to the class body, so on every
    save the class grows, and so do the time and memory of every later update.
    """
    for module in {module for module, _target in manager.processed_targets}:
        tree = manager.modules.get(module)
        if tree is None:
            continue
        for _name, symbol, _owner in tree.local_definitions():
            if isinstance(symbol.node, TypeInfo):
                drop_replaced_plugin_members(symbol.node)
    forget_processed_targets(manager)


def forget_processed_targets(manager: BuildManager) -> None:
    """mypy records every target it analyzes, for its own tests, and never forgets."""
    manager.processed_targets.clear()


def drop_replaced_plugin_members(info: TypeInfo) -> None:
    """Remove the generated members a later run of the plugin replaced, and body
    statements listed twice (the AST merge gives a replaced one its old identity)."""
    names = info.names
    replaced = [
        name
        for name, symbol in names.items()
        if symbol.plugin_generated
        and (match := _SET_ASIDE.fullmatch(name)) is not None
        and match["name"] in names
    ]
    gone = {id(names.pop(name).node) for name in replaced}
    gone -= {id(symbol.node) for symbol in names.values()}
    body = info.defn.defs.body
    last = {id(statement): index for index, statement in enumerate(body)}
    kept = [
        statement
        for index, statement in enumerate(body)
        if last[id(statement)] == index and id(statement) not in gone
    ]
    if len(kept) != len(body):
        body[:] = kept


# --- requests -----------------------------------------------------------------------


def rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


@dataclass
class Worker:
    fine_grained: FineGrainedBuild | None = None
    # What mypy printed while reading the config (warnings about bad options): the
    # CLI prints them on every run, so every reply carries them.
    config_notes: list[str] = field(default_factory=list)
    checks: int = 0
    checks_since_gc: int = 0
    files_since_gc: int = 0
    gc_due: bool = False
    gc_runs: int = 0
    last_gc_at: float | None = None
    last_gc_ms: float | None = None
    deep_gc_runs: int = 0
    # The build whose objects a deep collection has gone through (then frozen again).
    collected_builds: int = 0
    frozen_rss_mb: float = 0.0
    handlers: dict[str, Callable[[dict[str, Any]], Reply]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.handlers = {
            "start": self._start,
            "check": self._check,
            "stats": self._stats,
            "shutdown": lambda _request: {},
        }

    def handle(self, request: dict[str, Any]) -> Reply:
        ident = request.get("id")
        handler = self.handlers.get(str(request.get("cmd")))
        started = time.perf_counter()
        try:
            if handler is None:
                raise RequestError("protocol", f"unknown request {request.get('cmd')!r}")
            reply = handler(request)
        except RequestError as exc:
            return _failure(ident, exc.kind, exc.message, fatal=exc.fatal)
        except Exception:
            return _failure(ident, "crash", "mypy crashed:\n" + traceback.format_exc(), fatal=True)
        duration = (time.perf_counter() - started) * 1000
        return {"id": ident, "ok": True, **reply, "duration_ms": duration}

    def _start(self, request: dict[str, Any]) -> Reply:
        if self.fine_grained is not None:
            raise RequestError("protocol", "already started")
        args = request.get("args")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise RequestError("protocol", "start needs args: a list of strings")
        fine_grained, printed = FineGrainedBuild.open(args)
        self.fine_grained = fine_grained
        self.config_notes = printed.splitlines()
        outcome = self._checking(fine_grained.build)
        return self._outcome(outcome, rebuilt=True)

    def _check(self, request: dict[str, Any]) -> Reply:
        if self.fine_grained is None:
            raise RequestError("protocol", "check before start")
        changed = _paths(request.get("changed"))
        removed = _paths(request.get("removed"))
        fine_grained = self.fine_grained
        self.files_since_gc += len(changed) + len(removed)
        outcome, rebuilt = self._checking(lambda: fine_grained.update(changed, removed))
        return self._outcome(outcome, rebuilt=rebuilt)

    def _checking(self, run: Callable[[], _T]) -> _T:
        # No collection in the middle of a check: a full one stops everything for ~1 s.
        gc.disable()
        builds = self.fine_grained.builds if self.fine_grained else 0
        try:
            return run()
        finally:
            gc.disable()
            if self.fine_grained is not None and self.fine_grained.builds != builds:
                # Freezing costs microseconds and keeps the build's objects out of every
                # routine collection; a deep one, when idle, goes through them later.
                gc.freeze()
                self.frozen_rss_mb = rss_mb()
            self.checks += 1
            self.checks_since_gc += 1
            self.gc_due = True

    def _outcome(self, outcome: Outcome, *, rebuilt: bool) -> Reply:
        return {
            "messages": outcome.messages,
            "other": [*self.config_notes, *outcome.other],
            "blocking": outcome.blocking,
            "rebuilt": rebuilt,
        }

    def _stats(self, _request: dict[str, Any]) -> Reply:
        fine_grained = self.fine_grained
        return {
            "rss_mb": rss_mb(),
            "checks": self.checks,
            "gc_runs": self.gc_runs,
            "last_gc_at": self.last_gc_at,
            "last_gc_ms": self.last_gc_ms,
            "deep_gc_runs": self.deep_gc_runs,
            "graph_size": fine_grained.graph_size() if fine_grained else 0,
            "follow_imports": fine_grained.options.follow_imports if fine_grained else None,
            "mypy_version": MYPY_VERSION,
        }

    def collect_garbage(self, *, idle: bool) -> None:
        """Collect garbage between checks.

        After a build, everything alive is frozen (left out of later collections), so
        a routine collection scans only what updates made: milliseconds instead of a
        second. A deep one (unfreeze, collect all, freeze again) is due after a new
        build or enough growth, and runs only when idle, where nobody waits for it.
        """
        started = time.perf_counter()
        # Updates replace frozen objects, which only a deep collection frees: without an
        # idle moment, one still runs once memory has grown enough.
        if self._deep_gc_due() if idle else self._grown():
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.collected_builds = self.fine_grained.builds if self.fine_grained else 0
            self.frozen_rss_mb = rss_mb()
            self.deep_gc_runs += 1
        else:
            gc.collect()
        self.last_gc_ms = (time.perf_counter() - started) * 1000
        self.last_gc_at = time.time()
        self.gc_runs += 1
        self.gc_due = False
        self.checks_since_gc = 0
        self.files_since_gc = 0

    def collection_due(self) -> bool:
        """Whether to collect now, without waiting for an idle pause."""
        return (
            self.checks_since_gc >= MAX_CHECKS_WITHOUT_GC
            or self.files_since_gc >= MAX_FILES_WITHOUT_GC
        )

    def _deep_gc_due(self) -> bool:
        return self._build_uncollected() or self._grown()

    def _grown(self) -> bool:
        return self.frozen_rss_mb > 0 and rss_mb() > self.frozen_rss_mb * DEEP_GC_GROWTH

    def _build_uncollected(self) -> bool:
        return self.fine_grained is not None and self.fine_grained.builds != self.collected_builds


def _failure(ident: object, kind: str, message: str, *, fatal: bool) -> Reply:
    return {"id": ident, "ok": False, "kind": kind, "error": message, "fatal": fatal}


def _paths(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise RequestError("protocol", "paths must be a list of strings")
    return [os.path.abspath(p) for p in value]


def serve(channel: Channel, worker: Worker) -> int:
    while True:
        try:
            request = channel.read(IDLE_GC_SECONDS if worker.gc_due else None)
        except EOFError:
            return 0
        if request is None:
            worker.collect_garbage(idle=True)
            continue
        reply = worker.handle(request)
        channel.write(reply)
        if reply.get("fatal"):
            return 1
        if request.get("cmd") == "shutdown":
            return 0
        if worker.collection_due():
            worker.collect_garbage(idle=False)


def main(argv: list[str]) -> int:
    parent = int(argv[1]) if len(argv) == 2 and argv[0] == "--parent" else None
    die_with_parent(parent)
    channel = Channel.claim_stdio()
    return serve(channel, Worker())


if __name__ == "__main__":
    # os._exit: skip freeing mypy's large object graph, which takes seconds.
    code = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(code)

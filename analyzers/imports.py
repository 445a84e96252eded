"""The project's module graph: which project files a module imports, transitively.

A mypy result for a file depends on every project module it imports, directly or
not, so the cache key needs that closure. Files are hashed by content; the stat
memo only avoids re-reading files whose (mtime_ns, size) did not change, and it
trusts a stat only once the file is older than the filesystem's timestamp
granularity. Module names are worked out again on every scan, because adding or
removing an `__init__.py` renames files whose own stat did not move.

The closure over-approximates: an import resolves to every project file mypy could
give that name (folders without `__init__.py` are namespace packages, so a file
can be reached under a longer name too). A file too many only costs cache hits; a
file missing would serve a wrong answer.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from tapps_lsp.analyzers import pyast
from tapps_lsp.analyzers.cache.keys import KeyBuilder, content_hash
from tapps_lsp.analyzers.cache.store import ResultStore

_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})
MAX_PROJECT_FILES = 20_000
# A file changed again within this long after we read it can keep its (mtime_ns, size):
# timestamps are only as fine as the kernel's clock tick or the filesystem (1-2 s on some).
_RACY_NS = 2_000_000_000

# Parsed imports, by content hash, in the result store. The generation keeps them out of
# pruning by tool versions; bump the version when _raw_imports changes.
_IMPORTS_KEY = "imports:v1:"
IMPORTS_GENERATION = "imports=1"

# Beyond this many closure lookups on one graph, working them all out at once is cheaper.
_SINGLE_LOOKUPS = 4

# One import statement as written: (module, level, names); names is () for `import x`.
_RawImport = tuple[str | None, int, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class ModuleFile:
    path: Path
    module: str
    is_package: bool
    digest: str
    imports: tuple[str, ...]


@dataclass(slots=True)
class ProjectGraph:
    """One consistent view of the project's sources."""

    files: dict[Path, ModuleFile]
    by_module: dict[str, tuple[Path, ...]]
    # (mtime_ns, size) of each file read from disk, as this scan saw it.
    stats: dict[Path, tuple[int, int]] = field(default_factory=dict)
    _closures: dict[Path, tuple[Path, ...]] = field(default_factory=dict)
    _closure_digests: dict[Path, str] | None = None
    _single_lookups: int = 0
    _sources_key: str | None = None

    @property
    def sources_key(self) -> str:
        """One digest of every source's path and content: equal keys, same sources."""
        if self._sources_key is None:
            pairs = sorted((str(path), entry.digest) for path, entry in self.files.items())
            self._sources_key = KeyBuilder().add_many("sources", pairs).digest()
        return self._sources_key

    def closure(self, path: Path) -> tuple[Path, ...]:
        """The project files `path` imports, directly or not, sorted, itself excluded."""
        cached = self._closures.get(path)
        if cached is not None:
            return cached
        seen: set[Path] = set()
        stack = [path]
        while stack:
            current = stack.pop()
            entry = self.files.get(current)
            if entry is None:
                continue
            for module in entry.imports:
                for target in self.by_module.get(module, ()):
                    if target not in seen and target != path:
                        seen.add(target)
                        stack.append(target)
        result = tuple(sorted(seen))
        self._closures[path] = result
        return result

    def closure_digest(self, path: Path) -> str:
        """One hash of the content of every project file `path` imports, directly or not.

        The first few lookups walk that file's closure; past them, all files' digests are
        worked out at once, per strongly connected component (every module of an import
        cycle shares one closure), so a project's worth of keys costs one pass.
        """
        if self._closure_digests is None:
            if path not in self.files:
                return ""
            self._single_lookups += 1
            if self._single_lookups <= _SINGLE_LOOKUPS:
                return _digest_of_closure(self, {path, *self.closure(path)})
            self._closure_digests = self._all_closure_digests()
        return self._closure_digests.get(path, "")

    def _targets(self, path: Path) -> list[Path]:
        entry = self.files[path]
        found = {t for m in entry.imports for t in self.by_module.get(m, ()) if t != path}
        return sorted(found)

    def _all_closure_digests(self) -> dict[Path, str]:
        reach: list[frozenset[Path]] = []
        component_of: dict[Path, int] = {}
        for members in _strongly_connected(self.files, self._targets):
            index = len(reach)
            for member in members:
                component_of[member] = index
            below = {component_of[t] for m in members for t in self._targets(m)} - {index}
            reach.append(frozenset(members).union(*(reach[c] for c in below)))
        digests = [_digest_of_closure(self, closure) for closure in reach]
        return {path: digests[component] for path, component in component_of.items()}

    def digest_of(self, path: Path) -> str | None:
        entry = self.files.get(path)
        return entry.digest if entry else None


def _digest_of_closure(graph: ProjectGraph, closure: Iterable[Path]) -> str:
    pairs = [(str(path), graph.files[path].digest) for path in closure]
    return KeyBuilder().add_many("closure", pairs).digest()


def _strongly_connected(
    nodes: Iterable[Path], successors: Callable[[Path], list[Path]]
) -> list[list[Path]]:
    """Tarjan's components; each comes after every component it reaches."""
    search = _Tarjan(successors)
    for node in nodes:
        if node not in search.index:
            search.visit(node)
    return search.components


class _Tarjan:
    """Iterative, so deep import chains cannot exhaust the recursion limit."""

    def __init__(self, successors: Callable[[Path], list[Path]]) -> None:
        self.successors = successors
        self.index: dict[Path, int] = {}
        self.low: dict[Path, int] = {}
        self.stack: list[Path] = []
        self.on_stack: set[Path] = set()
        self.components: list[list[Path]] = []

    def visit(self, root: Path) -> None:
        work = [self._enter(root)]
        while work:
            node, pending = work[-1]
            target = next(pending, None)
            if target is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    self.low[parent] = min(self.low[parent], self.low[node])
                self._close(node)
            elif target not in self.index:
                work.append(self._enter(target))
            elif target in self.on_stack:
                self.low[node] = min(self.low[node], self.index[target])

    def _enter(self, node: Path) -> tuple[Path, Iterator[Path]]:
        self.index[node] = self.low[node] = len(self.index)
        self.stack.append(node)
        self.on_stack.add(node)
        return node, iter(self.successors(node))

    def _close(self, node: Path) -> None:
        if self.low[node] != self.index[node]:
            return
        members: list[Path] = []
        while not members or members[-1] != node:
            member = self.stack.pop()
            self.on_stack.discard(member)
            members.append(member)
        self.components.append(members)


@dataclass(frozen=True, slots=True)
class _Parsed:
    digest: str
    imports: tuple[_RawImport, ...]


@dataclass(frozen=True, slots=True)
class _Memo:
    mtime_ns: int
    size: int
    parsed: _Parsed
    trusted: bool


class ProjectIndexer:
    """Builds ProjectGraphs for one root, re-reading only files that changed."""

    def __init__(self, root: Path, store: ResultStore | None = None) -> None:
        """`store`, when given, remembers each content's imports across restarts, so a
        first scan reads and hashes files but parses only the ones never seen."""
        self.root = root
        self.store = store
        self._memo: dict[Path, _Memo] = {}
        self._last: ProjectGraph | None = None
        self._last_sources: dict[Path, str] = {}
        # Scans run in worker threads, several at once (a batch, a warm-up, a review).
        self._scanning = threading.Lock()
        # Set from the event loop while a scan may run; the next scan takes them.
        self._distrusted: set[Path] = set()

    @property
    def last_graph(self) -> ProjectGraph | None:
        """The graph of the last scan, without scanning again."""
        return self._last

    def scan(self, overrides: Mapping[Path, str] | None = None) -> ProjectGraph:
        with self._scanning:
            return self._scan(overrides or {})

    def _take_distrusted(self) -> None:
        while self._distrusted:
            memo = self._memo.get(path := self._distrusted.pop())
            if memo is not None:
                self._memo[path] = replace(memo, trusted=False)

    def _scan(self, overrides: Mapping[Path, str]) -> ProjectGraph:
        self._take_distrusted()
        parsed: dict[Path, _Parsed] = {}
        for path in _python_files(self.root):
            override = overrides.get(path)
            parsed[path] = _parse(_encode(override)) if override is not None else self._read(path)
        for path, text in overrides.items():
            if path not in parsed and path.suffix in (".py", ".pyi"):
                parsed[path] = _parse(_encode(text))
        self._memo = {p: m for p, m in self._memo.items() if p in parsed}
        sources = {path: entry.digest for path, entry in parsed.items()}
        stats = {p: (m.mtime_ns, m.size) for p, m in self._memo.items() if p not in overrides}
        if self._last is not None and sources == self._last_sources:
            # Same files with the same content: names and imports resolve the same way.
            if stats != self._last.stats:
                self._last = replace(self._last, stats=stats)
            return self._last
        is_package = functools.cache(_is_package)
        files: dict[Path, ModuleFile] = {}
        candidates: dict[str, list[Path]] = {}
        for path in sorted(parsed, key=lambda p: (p.suffix != ".pyi", str(p))):
            names = _names(path, self.root, is_package)
            is_init = path.stem == "__init__"
            # Relative imports count from each package the file may be part of.
            packages = {name if is_init else name.rpartition(".")[0] for name in names}
            entry = parsed[path]
            files[path] = ModuleFile(
                path, names[0], is_init, entry.digest, _resolve(entry.imports, packages)
            )
            if path.suffix == ".py" and path.with_suffix(".pyi") in parsed:
                continue  # mypy reads the stub next to it instead
            for name in names:
                candidates.setdefault(name, []).append(path)
        by_module = {name: tuple(paths) for name, paths in candidates.items()}
        self._last = ProjectGraph(files, by_module, stats)
        self._last_sources = sources
        return self._last

    def distrust(self, path: Path) -> None:
        """Read `path` again on the next scan, whatever its stat says: the editor just
        saved it, and a tool that restores mtimes (cp -p, touch -r) can keep the stat."""
        self._distrusted.add(path)

    def _parse_remembered(self, data: bytes, digest: str) -> _Parsed:
        if self.store is None:
            return _parse(data, digest)
        key = f"{_IMPORTS_KEY}{digest}"
        found = self.store.get(key)
        if found is not None:
            try:
                raw = json.loads(found)
                return _Parsed(digest, tuple((m, int(lv), tuple(ns)) for m, lv, ns in raw))
            except (ValueError, TypeError):
                pass  # a damaged entry is just parsed again
        parsed = _parse(data, digest)
        self.store.put(key, json.dumps(parsed.imports).encode(), generation=IMPORTS_GENERATION)
        return parsed

    def _read(self, path: Path) -> _Parsed:
        try:
            stat = path.stat()
        except OSError:
            return _parse(b"")
        memo = self._memo.get(path)
        same_stat = (
            memo is not None and memo.mtime_ns == stat.st_mtime_ns and memo.size == stat.st_size
        )
        if memo is not None and same_stat and memo.trusted:
            return memo.parsed
        read_at = time.time_ns()
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        digest = content_hash(data)
        if memo is not None and memo.parsed.digest == digest:
            parsed = memo.parsed
        else:
            parsed = self._parse_remembered(data, digest)
        trusted = stat.st_mtime_ns < read_at - _RACY_NS
        self._memo[path] = _Memo(stat.st_mtime_ns, stat.st_size, parsed, trusted)
        return parsed


def _python_files(root: Path) -> Iterable[Path]:
    count = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if _descend(Path(folder), d))
        for name in sorted(names):
            if name.endswith((".py", ".pyi")):
                count += 1
                if count > MAX_PROJECT_FILES:
                    return
                yield Path(folder, name)


def _descend(parent: Path, name: str) -> bool:
    if name.startswith(".") or name in _SKIPPED_DIRS or name.endswith(".egg-info"):
        return False
    return not (parent / name / "pyvenv.cfg").exists()


def _is_package(folder: Path) -> bool:
    return (folder / "__init__.py").exists() or (folder / "__init__.pyi").exists()


def module_name(path: Path) -> tuple[str, bool]:
    """The dotted module name mypy gives `path`, found by crawling up __init__ files."""
    return _names(path, None, _is_package)[0], path.stem == "__init__"


def _names(path: Path, root: Path | None, is_package: Callable[[Path], bool]) -> list[str]:
    """mypy's crawled name for `path` first, then the longer names it has when the
    folders above, up to `root`, are namespace packages."""
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while is_package(folder):
        parts.append(folder.name)
        folder = folder.parent
    names = [".".join(reversed(parts)) or path.stem]
    while root is not None and folder != root and root in folder.parents:
        parts.append(folder.name)
        folder = folder.parent
        names.append(".".join(reversed(parts)))
    return names


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _parse(data: bytes, digest: str | None = None) -> _Parsed:
    digest = digest or content_hash(data)
    return _Parsed(digest, _raw_imports(data, digest))


def _raw_imports(data: bytes, digest: str | None = None) -> tuple[_RawImport, ...]:
    try:
        tree = pyast.parse(data, digest=digest)
    except (SyntaxError, ValueError):
        return ()
    found: list[_RawImport] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module, node.level, tuple(a.name for a in node.names)))
    return tuple(found)


def _resolve(raw: Iterable[_RawImport], packages: Iterable[str]) -> tuple[str, ...]:
    """Absolute dotted names of the modules the statements import, with their parents."""
    found: set[str] = set()
    for module, level, names in raw:
        if not names and module is not None:
            found.update(_with_parents(module))
            continue
        for package in packages:
            base = _absolute(module, level, package)
            if base is None:
                continue
            if base:
                found.update(_with_parents(base))
            found.update(f"{base}.{name}" if base else name for name in names)
    return tuple(sorted(found))


def _with_parents(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _absolute(module: str | None, level: int, package: str) -> str | None:
    if level == 0:
        return module or None
    base_parts = package.split(".") if package else []
    if level - 1 > len(base_parts):
        return None
    base_parts = base_parts[: len(base_parts) - (level - 1)]
    if module:
        base_parts.append(module)
    return ".".join(base_parts)

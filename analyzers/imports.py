"""The project's module graph: which project files a module imports, transitively.

A mypy result for a file depends on every project module it imports, directly or
not, so the cache key needs that closure. Files are hashed by content; the stat
memo only avoids re-reading files whose (mtime_ns, size) did not change.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analyzers.cache.keys import content_hash

_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})
MAX_PROJECT_FILES = 20_000


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
    by_module: dict[str, Path]
    _closures: dict[Path, tuple[Path, ...]] = field(default_factory=dict)

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
                target = self.by_module.get(module)
                if target is not None and target not in seen and target != path:
                    seen.add(target)
                    stack.append(target)
        result = tuple(sorted(seen))
        self._closures[path] = result
        return result

    def dependency_digests(self, path: Path) -> list[tuple[str, str]]:
        return [(str(p), self.files[p].digest) for p in self.closure(path)]

    def digest_of(self, path: Path) -> str | None:
        entry = self.files.get(path)
        return entry.digest if entry else None


class ProjectIndexer:
    """Builds ProjectGraphs for one root, re-reading only files that changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._memo: dict[Path, tuple[int, int, ModuleFile]] = {}

    def scan(self, overrides: Mapping[Path, str] | None = None) -> ProjectGraph:
        overrides = overrides or {}
        files: dict[Path, ModuleFile] = {}
        for path in _python_files(self.root):
            files[path] = self._entry(path, overrides.get(path))
        for path, text in overrides.items():
            if path not in files and path.suffix in (".py", ".pyi"):
                files[path] = _module_file(path, text.encode("utf-8", "surrogatepass"))
        by_module: dict[str, Path] = {}
        for path in sorted(files, key=lambda p: (p.suffix != ".pyi", str(p))):
            by_module.setdefault(files[path].module, path)
        self._memo = {p: m for p, m in self._memo.items() if p in files}
        return ProjectGraph(files, by_module)

    def _entry(self, path: Path, override: str | None) -> ModuleFile:
        if override is not None:
            return _module_file(path, override.encode("utf-8", "surrogatepass"))
        try:
            stat = path.stat()
        except OSError:
            return _module_file(path, b"")
        memo = self._memo.get(path)
        if memo is not None and memo[0] == stat.st_mtime_ns and memo[1] == stat.st_size:
            return memo[2]
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        entry = _module_file(path, data)
        self._memo[path] = (stat.st_mtime_ns, stat.st_size, entry)
        return entry


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


def module_name(path: Path) -> tuple[str, bool]:
    """The dotted module name mypy gives `path`, found by crawling up __init__ files."""
    is_package = path.stem == "__init__"
    parts = [] if is_package else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists() or (folder / "__init__.pyi").exists():
        parts.append(folder.name)
        folder = folder.parent
    parts.reverse()
    return ".".join(parts) or path.stem, is_package


def _module_file(path: Path, data: bytes) -> ModuleFile:
    module, is_package = module_name(path)
    package = module if is_package else module.rpartition(".")[0]
    return ModuleFile(path, module, is_package, content_hash(data), _imports(data, package))


def _imports(data: bytes, package: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return ()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.update(_with_parents(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is None:
                continue
            if base:
                found.update(_with_parents(base))
            found.update(f"{base}.{a.name}" if base else a.name for a in node.names)
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

"""Which Python files a folder holds: never what git ignores, what the `exclude` setting
names, virtual environments, or build and cache folders."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

_SKIPPED = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist"})
_SUFFIXES = (".py", ".pyi")


def python_files(
    paths: Iterable[Path], *, exclude: Sequence[str] = (), base: Path | None = None
) -> Iterator[Path]:
    """Files given directly are kept as they are; folders are walked in a stable order."""
    seen: set[Path] = set()
    for given in paths:
        path = given.resolve()
        candidates = [path] if path.is_file() else discover(path, exclude=exclude, base=base)
        for candidate in candidates:
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


@dataclass(frozen=True, slots=True)
class _Ignore:
    """The patterns of one .gitignore (or of the settings), relative to `base`."""

    base: Path
    spec: GitIgnoreSpec

    def verdict(self, path: Path, *, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included by a `!` pattern, None: no pattern matches."""
        relative = path.relative_to(self.base).as_posix()
        return self.spec.check_file(relative + "/" if is_dir else relative).include


def _ignored(path: Path, is_dir: bool, excluded: _Ignore | None, rules: list[_Ignore]) -> bool:
    """The `exclude` setting always wins; among .gitignore files the deepest that has a
    matching pattern decides, as git does."""
    if excluded is not None and excluded.verdict(path, is_dir=is_dir):
        return True
    for rule in reversed(rules):
        verdict = rule.verdict(path, is_dir=is_dir)
        if verdict is not None:
            return verdict
    return False


def discover(
    folder: Path,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    base: Path | None = None,
) -> Iterator[Path]:
    """Python files under `folder`, in a stable order. `include` (gitignore-style
    patterns, relative to `folder`) keeps only matching files when given; `exclude`
    patterns are relative to `base` (the project root; default: `folder`)."""
    anchor = base if base is not None and folder.is_relative_to(base) else folder
    excluded = _Ignore(anchor, GitIgnoreSpec.from_lines(exclude)) if exclude else None
    keep = GitIgnoreSpec.from_lines(include) if include else None
    rules: list[_Ignore] = []
    git_root = next((p for p in folder.parents if (p / ".git").exists()), None)
    if git_root is not None and not (folder / ".git").exists():
        between = [p for p in folder.parents if p == git_root or git_root in p.parents]
        for parent in reversed(between):
            rules += [_Ignore(parent, spec) for spec in _gitignore(parent)]
        # A folder opened on its own inside an ignored one (a vendored or generated
        # tree) is reviewed as a project of its own, not found empty.
        inner = [folder, *(p for p in folder.parents if git_root in p.parents)]
        if any(_ignored(p, True, None, rules) for p in inner):
            rules = []
    yield from _walk(folder, folder, excluded, rules, keep)


def _walk(
    root: Path,
    folder: Path,
    excluded: _Ignore | None,
    rules: list[_Ignore],
    keep: GitIgnoreSpec | None,
) -> Iterator[Path]:
    rules = rules + [_Ignore(folder, spec) for spec in _gitignore(folder)]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        is_dir = entry.is_dir(follow_symlinks=False)
        if _ignored(path, is_dir, excluded, rules):
            continue
        if is_dir:
            if _descend(path):
                yield from _walk(root, path, excluded, rules, keep)
        elif entry.name.endswith(_SUFFIXES) and entry.is_file() and _kept(keep, root, path):
            yield path


def _kept(keep: GitIgnoreSpec | None, root: Path, path: Path) -> bool:
    return keep is None or keep.match_file(path.relative_to(root).as_posix())


def _gitignore(folder: Path) -> list[GitIgnoreSpec]:
    try:
        lines = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [GitIgnoreSpec.from_lines(lines.splitlines())]


def _descend(folder: Path) -> bool:
    name = folder.name
    if name.startswith(".") or name in _SKIPPED or name.endswith(".egg-info"):
        return False
    return not (folder / "pyvenv.cfg").exists()

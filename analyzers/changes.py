"""What changed in a project since a git revision: the changed lines of each Python file,
and the files that are new.

git is asked only for what a revision holds (`rev-parse`, `ls-tree`, `cat-file`), never
to look at the working tree: that is where a repository's own configuration could make
git run a program (`core.fsmonitor`, clean filters, external diff drivers, textconv). The
lines are compared here, against the files as they are on disk, so unsaved editor text
and the index play no part. `core.fsmonitor` is turned off on every call all the same.
"""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.analyzers.findings import FileReport, ToolResult
from tapps_lsp.analyzers.process import ProcessError, run_process
from tapps_lsp.analyzers.text import decode_source, split_lines

GIT_TIMEOUT_S = 30.0
_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false")


class ChangesError(Exception):
    """No answer: no git, not a repository, or an unknown revision (the message says)."""


@dataclass(frozen=True, slots=True)
class Changes:
    since: str
    # Changed lines (0-based, in the file as it is now) of each changed file; a new file
    # maps to None (all of it is new).
    lines: dict[Path, frozenset[int] | None] = field(default_factory=dict)

    @property
    def files(self) -> list[Path]:
        return sorted(self.lines)

    def touches(self, path: Path, line: int) -> bool:
        """Whether a finding on `line` (0-based) of `path` is on a changed line."""
        if path not in self.lines:
            return False
        changed = self.lines[path]
        return changed is None or line in changed


def on_changed_lines(files: Sequence[BatchFile], changes: Changes) -> list[BatchFile]:
    """The files' outcomes with only the findings on changed lines (all of a new file's)."""
    return [
        replace(item, report=_changed_report(item.report, changes)) if item.report else item
        for item in files
    ]


def _changed_report(report: FileReport, changes: Changes) -> FileReport:
    path = Path(report.path)

    def cut(result: ToolResult | None) -> ToolResult | None:
        if result is None:
            return None
        kept = tuple(f for f in result.findings if changes.touches(path, f.span.start_line))
        return replace(result, findings=kept)

    return replace(report, ruff=cut(report.ruff), mypy=cut(report.mypy))


async def changes_since(root: Path, since: str, files: Iterable[Path]) -> Changes:
    """The changes of `files` (the project's Python files now) since `since`."""
    git = shutil.which("git")
    if git is None:
        raise ChangesError("`since` needs git, and git is not on PATH")
    top = Path(await _git(git, root, "rev-parse", "--show-toplevel")).resolve()
    commit = await _git(
        git, root, "rev-parse", "--verify", "--end-of-options", f"{since}^{{commit}}"
    )
    listed = await _git(git, top, "ls-tree", "-r", "-z", "--full-tree", commit)
    blobs = _blobs(listed)
    lines: dict[Path, frozenset[int] | None] = {}
    present = {
        path: path.resolve().relative_to(top).as_posix()
        for path in files
        if path.resolve().is_relative_to(top)
    }
    old_texts = await _contents(
        git, top, [blobs[name] for name in present.values() if name in blobs]
    )
    for path, name in present.items():
        blob = blobs.get(name)
        if blob is None:
            lines[path] = None
            continue
        changed = _changed_lines(old_texts.get(blob, ""), _text(path))
        if changed:
            lines[path] = changed
    return Changes(since, lines)


def _blobs(listed: str) -> dict[str, str]:
    """`ls-tree -r -z` entries: path to blob id (files only)."""
    blobs = {}
    for entry in listed.split("\0"):
        meta, _, name = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            blobs[name] = parts[2]
    return blobs


async def _contents(git: str, top: Path, blobs: Sequence[str]) -> dict[str, str]:
    """The blobs' texts, in one `cat-file --batch` (no filters, no textconv)."""
    if not blobs:
        return {}
    wanted = "".join(f"{blob}\n" for blob in dict.fromkeys(blobs)).encode()
    try:
        done = await run_process(
            [git, *_SAFE, "-C", str(top), "cat-file", "--batch"],
            stdin=wanted,
            timeout=GIT_TIMEOUT_S,
        )
    except ProcessError as exc:
        raise ChangesError(f"git cat-file: {exc}") from None
    texts: dict[str, str] = {}
    data = done.stdout
    position = 0
    while position < len(data):
        end = data.index(b"\n", position)
        header = data[position:end].split()
        position = end + 1
        if len(header) < 3 or header[1] != b"blob":
            continue
        size = int(header[2])
        content = data[position : position + size]
        position += size + 1
        try:
            texts[header[0].decode()] = decode_source(content)
        except ValueError:
            texts[header[0].decode()] = ""
    return texts


def _changed_lines(old: str, new: str) -> frozenset[int]:
    """The lines of `new` (0-based) that are not lines `old` had in the same place: what
    `git diff` shows as added, found with difflib's matching blocks."""
    matcher = difflib.SequenceMatcher(None, split_lines(old), split_lines(new), autojunk=False)
    changed: set[int] = set()
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            changed.update(range(j1, j2))
    return frozenset(changed)


def _text(path: Path) -> str:
    try:
        return decode_source(path.read_bytes())
    except (OSError, ValueError):
        return ""


async def _git(git: str, cwd: Path, *args: str) -> str:
    try:
        done = await run_process([git, *_SAFE, "-C", str(cwd), *args], timeout=GIT_TIMEOUT_S)
    except ProcessError as exc:
        raise ChangesError(f"git {args[0]}: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        why = message[-1] if message else f"exited with {done.returncode}"
        if "not a git repository" in why:
            raise ChangesError(f"`since` needs a git repository, and {cwd} is not in one")
        raise ChangesError(f"git {args[0]}: {why}")
    return done.stdout.decode(errors="replace").strip()

"""`.tapps/baseline.json` at the project root: read, and written only when asked.

The file is `{"version": 1, "files": {path: [{source, code, content, column}, ...]}}`,
paths relative to the root in POSIX form, files and entries sorted, two-space indent and
a final newline, so that it diffs well. A file that cannot be read is reported, never
guessed at; a workspace's baseline is data, read in untrusted workspaces too.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from tapps_lsp.analyzers.baseline.fingerprint import BaselineKey

FILE_NAME = Path(".tapps") / "baseline.json"
VERSION = 1


class BaselineError(ValueError):
    """The baseline file is there but is not one we can read."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """The entries of one project's baseline, by relative path, and a digest of the file
    (empty when there is none) for cache keys and result ids."""

    root: Path
    files: Mapping[str, tuple[BaselineKey, ...]] = field(default_factory=dict)
    digest: str = ""

    @property
    def present(self) -> bool:
        return bool(self.digest)

    def entries(self, relative: str) -> tuple[BaselineKey, ...]:
        return self.files.get(relative, ())

    def count(self) -> int:
        return sum(len(keys) for keys in self.files.values())


def baseline_path(root: Path) -> Path:
    return root / FILE_NAME


def relative_path(root: Path, path: Path) -> str:
    """The key of `path` in the baseline: relative to the root, POSIX form."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def load(root: Path) -> Baseline:
    """The baseline of the project at `root`; an empty one when there is no file."""
    try:
        data = baseline_path(root).read_bytes()
    except FileNotFoundError:
        return Baseline(root)
    except OSError as error:
        raise BaselineError(f"{baseline_path(root)}: {error.strerror}") from None
    return parse(root, data)


def parse(root: Path, data: bytes) -> Baseline:
    try:
        document = json.loads(data)
        files = document["files"]
        parsed: dict[str, tuple[BaselineKey, ...]] = {}
        for path, entries in files.items():
            parsed[path] = tuple(
                BaselineKey(
                    path,
                    str(e["source"]),
                    str(e.get("code") or ""),
                    str(e["content"]),
                    int(e["column"]),
                )
                for e in entries
            )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BaselineError(
            f"{baseline_path(root)} is not a tapps-lsp baseline ({error})"
        ) from None
    return Baseline(root, parsed, xxhash.xxh3_64_hexdigest(data))


def render(keys: Iterable[BaselineKey]) -> str:
    """The file's text for these entries: sorted, stable, one entry a line."""
    by_file: dict[str, list[BaselineKey]] = defaultdict(list)
    for key in keys:
        by_file[key.path].append(key)
    lines = ["{", f'  "version": {VERSION},', '  "files": {']
    names = sorted(by_file)
    for number, name in enumerate(names):
        lines.append(f"    {json.dumps(name)}: [")
        entries = sorted(by_file[name])
        for index, key in enumerate(entries):
            entry: dict[str, Any] = {
                "source": key.source,
                "code": key.code,
                "content": key.content,
                "column": key.column,
            }
            comma = "," if index < len(entries) - 1 else ""
            lines.append(f"      {json.dumps(entry, ensure_ascii=False)}{comma}")
        lines.append("    ]" + ("," if number < len(names) - 1 else ""))
    lines.extend(["  }", "}"])
    return "\n".join(lines) + "\n"


def write(root: Path, keys: Iterable[BaselineKey]) -> Baseline:
    """Replace the baseline file with exactly these entries (atomically), and return it."""
    target = baseline_path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render(keys)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
    return parse(root, text.encode("utf-8"))

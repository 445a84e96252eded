"""A finding's baseline key: file, source, code, the content of its line and its column.

The line's content is hashed with spaces and tabs removed (xxh3_64), so re-indenting a
line keeps its identity; the column is counted from the line's first character that is
not a space or tab, for the same reason. Identical lines in one file are told apart by
their order, as GitHub's `primaryLocationLineHash` counts repeats: `<hex>:<n>` for the
n-th line of the file with that hash. The line number is not part of the key, so lines
inserted above a finding leave it baselined.
"""

from __future__ import annotations

from dataclasses import dataclass

import xxhash

from tapps_lsp.analyzers.findings import Finding
from tapps_lsp.analyzers.text import split_lines

_BLANKS = str.maketrans("", "", " \t")


@dataclass(frozen=True, slots=True, order=True)
class BaselineKey:
    """What a baseline entry records of a finding, and what a finding must match."""

    path: str
    source: str
    code: str
    content: str
    column: int


def content_hashes(text: str) -> list[str]:
    """Each line's `<hex>:<n>`: the hash of its text without spaces and tabs, and how
    many lines up to this one (this one included) have that hash."""
    seen: dict[str, int] = {}
    found: list[str] = []
    for line in split_lines(text):
        value = xxhash.xxh3_64_hexdigest(line.translate(_BLANKS).encode("utf-8", "surrogatepass"))
        seen[value] = seen.get(value, 0) + 1
        found.append(f"{value}:{seen[value]}")
    return found


def indent_of(line: str) -> int:
    """How many spaces and tabs the line starts with."""
    return len(line) - len(line.lstrip(" \t"))


@dataclass(frozen=True, slots=True)
class FileFingerprints:
    """One file's lines and their content hashes, to key its findings."""

    path: str
    lines: list[str]
    hashes: list[str]

    @classmethod
    def of(cls, path: str, text: str) -> FileFingerprints:
        return cls(path, split_lines(text), content_hashes(text))

    def key(self, finding: Finding) -> BaselineKey:
        row = finding.span.start_line
        inside = 0 <= row < len(self.lines)
        content = self.hashes[row] if inside else f"line-{row}"
        column = finding.span.start_col - (indent_of(self.lines[row]) if inside else 0)
        return BaselineKey(self.path, finding.source.value, finding.code or "", content, column)

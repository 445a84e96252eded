"""GitHub code scanning's `primaryLocationLineHash`, computed as the upload action does.

A port of `hash` in github/codeql-action's `src/fingerprints.ts`: a rolling hash, in
64-bit two's-complement arithmetic, over the first 100 characters (UTF-16 code units)
that are not spaces or tabs, counted from the start of each line and running on into the
lines after it. Line endings (\\r, \\n, \\r\\n) count as one \\n. The file ends with a
65535 and enough zeros to fill the window. Each line's value is `<hex>:<n>`, where n
counts how often that hex value has been seen so far in the file.
"""

from __future__ import annotations

from array import array

_BLOCK_SIZE = 100
_MOD = 37
_MASK = (1 << 64) - 1
_FIRST_MOD = pow(_MOD, _BLOCK_SIZE, 1 << 64)
_TAB, _SPACE, _LF, _CR = 9, 32, 10, 13
_EOF = 65535


def _code_units(text: str) -> array[int]:
    """The text as JavaScript's `charCodeAt` sees it: UTF-16 code units."""
    units = array("H")
    units.frombytes(text.encode("utf-16-le", errors="surrogatepass"))
    return units


def line_hashes(text: str) -> list[str]:
    """The `primaryLocationLineHash` of every line of `text`, first line first (one more
    than the line breaks, as `text.split(/\\r\\n|\\r|\\n/)` counts lines)."""
    hasher = _Hasher()
    for unit in _code_units(text):
        hasher.process(unit)
    hasher.process(_EOF)
    hasher.flush()
    return hasher.hashes


class _Hasher:
    """The rolling window and the state the TypeScript original keeps in closures."""

    __slots__ = (
        "counts",
        "hash",
        "hashes",
        "index",
        "line_number",
        "line_numbers",
        "line_start",
        "prev_cr",
        "window",
    )

    def __init__(self) -> None:
        self.window = [0] * _BLOCK_SIZE
        # The line that starts at each place of the window, or -1.
        self.line_numbers = [-1] * _BLOCK_SIZE
        self.hashes: list[str] = []
        self.counts: dict[str, int] = {}
        self.hash = 0
        self.index = 0
        self.line_number = 0
        self.line_start = True
        self.prev_cr = False

    def output(self) -> None:
        value = format(self.hash, "x")
        self.counts[value] = self.counts.get(value, 0) + 1
        self.hashes.append(f"{value}:{self.counts[value]}")
        self.line_numbers[self.index] = -1

    def update(self, current: int) -> None:
        begin = self.window[self.index]
        self.window[self.index] = current
        self.hash = (_MOD * self.hash + current - _FIRST_MOD * begin) & _MASK
        self.index = (self.index + 1) % _BLOCK_SIZE

    def process(self, current: int) -> None:
        if current in (_SPACE, _TAB) or (self.prev_cr and current == _LF):
            self.prev_cr = False
            return
        self.prev_cr = current == _CR
        if current == _CR:
            current = _LF
        if self.line_numbers[self.index] != -1:
            self.output()
        if self.line_start:
            self.line_start = False
            self.line_number += 1
            self.line_numbers[self.index] = self.line_number
        if current == _LF:
            self.line_start = True
        self.update(current)

    def flush(self) -> None:
        """The lines near the end, their windows filled with zeros."""
        for _ in range(_BLOCK_SIZE):
            if self.line_numbers[self.index] != -1:
                self.output()
            self.update(0)

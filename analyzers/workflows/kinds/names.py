"""Where a definition's name stands in its source: the span a finding points at.

Python 3.11's `ast` gives a `def` or `class` statement's line but not its name's column,
so the name is found on the line, after its keyword when there is one.
"""

from __future__ import annotations

import re

from tapps_lsp.analyzers.findings import Span


def name_span(lines: list[str], line: int, name: str, *, last_line: int | None = None) -> Span:
    """The first `name` (a whole word, after `def` or `class` where the line has one) on
    lines `line` to `last_line` (0-based, `line` alone by default); else all of `line`."""
    word = re.escape(name)
    defined = re.compile(rf"\b(?:def|class)\s+({word})\b")
    anywhere = re.compile(rf"\b({word})\b")
    end = line if last_line is None else last_line
    for pattern in (defined, anywhere):
        for number in range(line, min(end, len(lines) - 1) + 1):
            found = pattern.search(lines[number])
            if found is not None:
                return Span(number, found.start(1), number, found.end(1))
    text = lines[line] if 0 <= line < len(lines) else ""
    return Span(line, 0, line, len(text))

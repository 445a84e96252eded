"""Source text as the tools and LSP see it: decoding and line splitting."""

from __future__ import annotations

import codecs
import re

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines split only at \\n, \\r\\n and \\r, as LSP, ruff and mypy count them.

    str.splitlines() also breaks at form feeds and Unicode separators, which would
    shift every row after them.
    """
    return _LINE_BREAK.split(text)


class UndecodableSource(ValueError):
    """The file is not UTF-8 text."""


def decode_source(data: bytes) -> str:
    """UTF-8 with an optional BOM, as ruff and mypy read a file (whether a file with NUL
    bytes is reviewed at all is `admission`'s to say)."""
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # exc.start counts from after the BOM; lines break as split_lines() breaks them.
        line = len(_LINE_BREAK_BYTES.findall(body, 0, exc.start)) + 1
        raise UndecodableSource(f"the file is not valid UTF-8 (line {line})") from None

"""Cache keys: what a result depends on, hashed with xxh3_128.

A key is built from labelled parts. Every part is framed with a type tag and
length prefixes, so no two different sequences of parts produce the same byte
stream: ("ab", "c") and ("a", "bc") differ, and so do None, "" and 0.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Self

import xxhash

# Part of every key: changing the framing below must invalidate old keys.
_SCHEMA = b"tapps-key/1"

_TAG_BYTES = b"b"
_TAG_INT = b"i"
_TAG_NONE = b"n"
_TAG_MANY = b"m"

_LENGTH = struct.Struct(">Q")


def content_hash(data: bytes | str) -> str:
    """The xxh3_128 hex digest of `data`; text is hashed as UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return xxhash.xxh3_128_hexdigest(data)


class KeyBuilder:
    """Accumulates labelled parts into one digest.

    Text and bytes are framed the same way (text as UTF-8), like
    `content_hash`, so a file's content gives one key however it was read.
    Integers and None have tags of their own.
    """

    __slots__ = ("_hasher",)

    def __init__(self) -> None:
        self._hasher = xxhash.xxh3_128()
        self._frame(_SCHEMA)

    def add(self, label: str, value: str | bytes | int | None) -> Self:
        self._frame(label.encode("utf-8"))
        if value is None:
            self._hasher.update(_TAG_NONE)
        elif isinstance(value, int):
            self._hasher.update(_TAG_INT)
            self._frame(str(int(value)).encode("ascii"))
        else:
            self._hasher.update(_TAG_BYTES)
            self._frame(value.encode("utf-8") if isinstance(value, str) else value)
        return self

    def add_many(self, label: str, pairs: Iterable[tuple[str, str]]) -> Self:
        """Add a set of (name, hash) pairs, such as imported modules and their hashes.

        The pairs are sorted here, so the caller's iteration order never
        changes the key.
        """
        ordered = sorted(pairs)
        self._frame(label.encode("utf-8"))
        self._hasher.update(_TAG_MANY)
        self._hasher.update(_LENGTH.pack(len(ordered)))
        for name, digest in ordered:
            self._frame(name.encode("utf-8"))
            self._frame(digest.encode("utf-8"))
        return self

    def digest(self) -> str:
        """The xxh3_128 hex digest of the parts so far; more parts may follow."""
        return self._hasher.hexdigest()

    def _frame(self, data: bytes) -> None:
        self._hasher.update(_LENGTH.pack(len(data)))
        self._hasher.update(data)

"""ast.parse, safe to call from several threads at once.

CPython 3.11's AST constructor keeps its recursion depth in per-interpreter state, so
two threads parsing at once can fail with "SystemError: AST constructor recursion
depth mismatch". The engine parses on the event loop and in worker threads, so every
parse goes through one lock.
"""

from __future__ import annotations

import ast
import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator

_PARSE_LOCK = threading.Lock()


_RECENT_TREES = 4
_recent: OrderedDict[str, ast.Module] = OrderedDict()


def parse(source: str | bytes, *, digest: str | None = None) -> ast.Module:
    """`digest` (of the content) shares one parse between callers: a saved file is
    parsed for its imports and for its metrics at the same moment, and a parse holds
    the GIL for tens of milliseconds on a large module. Callers must not modify the
    tree."""
    with _PARSE_LOCK:
        if digest is not None and digest in _recent:
            _recent.move_to_end(digest)
            return _recent[digest]
        tree = ast.parse(source)
        if digest is not None:
            _recent[digest] = tree
            if len(_recent) > _RECENT_TREES:
                _recent.popitem(last=False)
        return tree


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """Parse nothing else meanwhile: for a library that calls ast.parse itself (vulture)."""
    with _PARSE_LOCK:
        yield

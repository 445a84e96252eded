"""ast.parse, safe to call from several threads at once.

CPython 3.11's AST constructor keeps its recursion depth in per-interpreter state, so
two threads parsing at once can fail with "SystemError: AST constructor recursion
depth mismatch". The engine parses on the event loop and in worker threads, so every
parse goes through one lock.
"""

from __future__ import annotations

import ast
import threading

_PARSE_LOCK = threading.Lock()


def parse(source: str | bytes) -> ast.Module:
    with _PARSE_LOCK:
        return ast.parse(source)

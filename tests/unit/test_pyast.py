"""ast.parse from several threads at once (CPython 3.11 fails without our lock)."""

from __future__ import annotations

import ast
import gc
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tapps_lsp.analyzers import pyast

NESTED = "x = " + "(" * 60 + "1" + ")" * 60 + "\n" + "def f():\n    return [[[[1]]]]\n" * 50


def parse_in_threads(parse: Callable[[str], ast.Module]) -> list[BaseException]:
    def work() -> BaseException | None:
        try:
            for _ in range(150):
                parse(NESTED)
        except BaseException as exc:  # the point is to collect what escaped
            return exc
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = [f.result() for f in [pool.submit(work) for _ in range(4)]]
    return [exc for exc in outcomes if exc is not None]


@pytest.fixture
def thread_switches_during_gc() -> Iterator[None]:
    """A garbage collection inside the AST constructor that lets another thread run:
    what a finalizer or a profiler does in a real server."""

    def switch(phase: str, info: dict[str, int]) -> None:
        time.sleep(0)

    thresholds = gc.get_threshold()
    gc.callbacks.append(switch)
    gc.set_threshold(50, 5, 5)
    try:
        yield
    finally:
        gc.callbacks.remove(switch)
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("thread_switches_during_gc")
def test_parsing_in_several_threads_at_once_never_fails() -> None:
    assert parse_in_threads(pyast.parse) == []


def test_one_parse_serves_callers_of_the_same_content() -> None:
    """The imports scan and the metrics of a saved file parse it once between them."""
    source = "import os\n\ndef f(x: int) -> int:\n    return x\n"
    first = pyast.parse(source, digest="digest-of-source")
    assert pyast.parse(source.encode(), digest="digest-of-source") is first
    assert pyast.parse(source) is not first, "without a digest every call parses"

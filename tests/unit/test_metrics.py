from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from tapps_lsp.analyzers.code_metrics.measure import (
    CodeMetrics,
    FunctionMetrics,
    describe_syntax_error,
    measure,
)

RUFF = Path("/tmp/venv/bin/ruff")


def complexities(source: str) -> dict[str, int]:
    return {f.name: f.complexity for f in measure(textwrap.dedent(source)).functions}


def only_function(source: str) -> FunctionMetrics:
    (function,) = measure(textwrap.dedent(source)).functions
    return function


# Each snippet exercises one way of adding (or not adding) a path through a function.
RUFF_CORPUS = textwrap.dedent(
    '''
    def straight(n):
        """A docstring."""
        k = n + 4
        return k

    def if_elif_else(n):
        if n > 3:
            return 1
        elif n > 4:
            return 2
        else:
            return 3

    def else_then_if(n):
        if n:
            pass
        else:
            if n > 1:
                pass

    def loops(xs):
        for x in xs:
            if x:
                break
        else:
            pass
        while xs:
            xs.pop()
        else:
            pass

    def boolean_operators(a, b, c, d):
        if a and b or c and not d:
            return a or b or c
        return a and b and c and d

    def comprehensions_with_ifs(xs):
        ys = [x for x in xs if x if x > 1]
        zs = {x: y for x in xs for y in xs if x != y}
        return ys, zs, (1 if xs else 2), (lambda: 3 if xs else 4)

    def try_everything():
        try:
            pass
        except ValueError:
            pass
        except (TypeError, KeyError):
            pass
        else:
            pass
        finally:
            if True:
                pass

    def try_star():
        try:
            pass
        except* OSError:
            pass
        except* ValueError:
            pass

    def with_and_assert(lock):
        assert lock, "no lock"
        with lock, lock:
            if lock:
                pass

    async def asynchronous(a, c):
        await a
        async with c:
            pass
        async for x in a:
            if x:
                pass

    def match_with_wildcard(x):
        match x:
            case 1:
                pass
            case [a, b] if a:
                pass
            case _:
                pass

    def match_with_capture_last(x):
        match x:
            case {"k": 1}:
                pass
            case other:
                pass

    def match_with_guarded_wildcard(x):
        match x:
            case str() | bytes():
                pass
            case _ if x:
                pass

    def match_or_with_wildcard(x):
        match x:
            case 1:
                pass
            case 2 | _:
                pass

    def match_named_wildcard(x):
        match x:
            case (1 | 2) as y:
                pass
            case (_ as whole):
                pass

    def match_star_last(x):
        match x:
            case 1:
                pass
            case [*_]:
                pass

    def outer(a):
        def inner(b):
            if b:
                return 1
            return 2

        class Local:
            def method(self):
                for _ in a:
                    pass

        async def helper():
            if a:
                pass

        if a:
            return inner(a)
        return Local

    class Service:
        def handle(self, x):
            if x:
                return 1
            return 0

        class Nested:
            async def run(self, x):
                while x:
                    x -= 1

    @decorator
    def decorated(x):
        return x if x else None

    if condition:
        def conditional(x):
            if x:
                pass
    '''
)


def ruff_complexities(tmp_path: Path, source: str) -> set[tuple[int, int]]:
    target = tmp_path / "corpus.py"
    target.write_text(source)
    completed = subprocess.run(
        [
            str(RUFF),
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "C901",
            "--config",
            "lint.mccabe.max-complexity=0",
            "--output-format",
            "json",
            str(target),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode in (0, 1), completed.stderr
    found = set()
    for diagnostic in json.loads(completed.stdout):
        assert diagnostic["code"] == "C901", diagnostic
        number = re.search(r"\((\d+) > 0\)", diagnostic["message"])
        assert number is not None, diagnostic["message"]
        found.add((diagnostic["location"]["row"] - 1, int(number.group(1))))
    return found


@pytest.mark.skipif(not RUFF.exists(), reason="needs the ruff binary from the venv")
def test_complexity_matches_ruff_c901(tmp_path: Path) -> None:
    ours = {(f.line, f.complexity) for f in measure(RUFF_CORPUS).functions}

    assert ours == ruff_complexities(tmp_path, RUFF_CORPUS)


def test_complexity_of_known_functions() -> None:
    found = complexities(RUFF_CORPUS)

    assert found["straight"] == 1
    assert found["if_elif_else"] == 3
    assert found["else_then_if"] == 3
    assert found["loops"] == 4
    assert found["try_everything"] == 5
    assert found["try_star"] == 3
    assert found["with_and_assert"] == 2
    assert found["asynchronous"] == 3


def test_boolean_operators_comprehensions_and_conditional_expressions_add_nothing() -> None:
    found = complexities(RUFF_CORPUS)

    assert found["boolean_operators"] == 2
    assert found["comprehensions_with_ifs"] == 1
    assert found["decorated"] == 1


def test_match_counts_cases_but_not_a_final_catch_all() -> None:
    found = complexities(RUFF_CORPUS)

    assert found["match_with_wildcard"] == 3
    assert found["match_with_capture_last"] == 2
    assert found["match_with_guarded_wildcard"] == 3
    assert found["match_or_with_wildcard"] == 2
    assert found["match_named_wildcard"] == 2
    assert found["match_star_last"] == 3


def test_nested_functions_and_methods_are_measured_separately_and_named_by_scope() -> None:
    found = complexities(RUFF_CORPUS)

    assert found["outer.inner"] == 2
    assert found["outer.Local.method"] == 2
    # Like mccabe, the enclosing function carries its nested functions' paths too.
    assert found["outer.helper"] == 2
    nested = found["outer.inner"] + found["outer.Local.method"] + found["outer.helper"]
    assert found["outer"] == 1 + nested + 1
    assert found["Service.handle"] == 2
    assert found["Service.Nested.run"] == 2
    assert found["conditional"] == 2


def test_function_lines_are_zero_based_def_lines() -> None:
    source = textwrap.dedent(
        """\
        import x

        @decorator
        def f():
            pass

        class C:
            async def g(self):
                pass
        """
    )

    lines = {f.name: f.line for f in measure(source).functions}

    assert lines == {"f": 3, "C.g": 7}


def test_logical_lines_count_statements_not_physical_lines() -> None:
    source = '''
        """Module docstring."""
        # a comment

        x = (
            1,
            2,
        )
        if x:  # one statement, plus the one in its body
            y = 1; z = 2
        elif y:
            pass
        '''

    metrics = measure(textwrap.dedent(source))

    assert metrics == CodeMetrics(logical_lines=6, functions=())


def test_docstrings_are_excluded_only_where_they_are_docstrings() -> None:
    source = '''
        def f():
            """Docstring."""
            "not a docstring: an expression statement"
            return 1

        class C:
            """Docstring."""
        '''

    metrics = measure(textwrap.dedent(source))

    assert only_function(source).logical_lines == 2
    assert metrics.logical_lines == 4


def test_function_logical_lines_include_nested_bodies() -> None:
    source = """
        def f(xs):
            for x in xs:
                try:
                    g(x)
                except ValueError:
                    continue
            def h():
                return 1
            return h
        """

    function = measure(textwrap.dedent(source)).functions[0]

    assert function.name == "f"
    assert function.logical_lines == 7


def test_empty_and_comment_only_sources_have_no_lines() -> None:
    assert measure("") == CodeMetrics(logical_lines=0, functions=())
    assert measure("# only a comment\n\n   \n") == CodeMetrics(logical_lines=0, functions=())


def test_unparsable_source_raises() -> None:
    with pytest.raises(SyntaxError):
        measure("def f(:\n    pass\n")
    with pytest.raises((SyntaxError, ValueError)):
        measure("x = 1\0\n")


def test_describe_syntax_error_gives_a_one_based_line() -> None:
    with pytest.raises(SyntaxError) as caught:
        measure("x = 1\ny = (\n")

    assert describe_syntax_error(caught.value).startswith("line 2: ")
    assert describe_syntax_error(ValueError("null bytes")) == "null bytes"

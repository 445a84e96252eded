"""Turn the line and column numbers in mypy's JSON output into code-point spans.

mypy reports 1-based lines and 0-based, end-exclusive columns. On a line that is
pure ASCII those columns are code points. On other lines they are not:

* The native parser (mypy 2.4's default, the Rust `ast_serialize` extension) takes
  ruff's 1-based code-point column, reads it as a UTF-8 byte count into the line,
  counts the code points wholly inside those bytes and subtracts one. So a node
  boundary at code point `cp` is reported as `whole_code_points(utf8[:cp + 1]) - 1`,
  starts and ends alike (an end on its own line). This loses information: several
  code points can share a column, and code point 0 of a line that starts with a
  non-ASCII character is reported as column -1.
* The legacy parser (`--no-native-parser`) reports UTF-8 byte offsets.
* Errors from either parser's own parse carry a 1-based code-point column. Other
  "syntax" errors, found on the tree afterwards, point at nodes like the rest.
* `Errors.report` widens an end that is not after the start to `column + 1`, and
  marks a missing column as -1.

The native convention is inverted with the help of the file's own syntax tree: the
node whose start and end both convert to mypy's numbers is the one mypy meant.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from dataclasses import dataclass

from tapps_lsp.analyzers import pyast
from tapps_lsp.analyzers.findings import Span

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# ast.parse raises these on input it cannot take, besides SyntaxError.
_PARSE_FAILURES = (SyntaxError, ValueError, RecursionError, MemoryError)


@dataclass(frozen=True, slots=True)
class _NodeSpan:
    """A syntax-tree node in code points; lines are 0-based."""

    start: int
    end_line: int
    end: int
    kind: type[ast.AST]


@dataclass(frozen=True, slots=True)
class _RawNode:
    """A syntax-tree node as `ast` gives it: UTF-8 byte columns; lines are 0-based."""

    start_byte: int
    end_line: int
    end_byte: int
    kind: type[ast.AST]


@dataclass(frozen=True, slots=True)
class _Reported:
    """What mypy wrote for one error, with lines made 0-based and kept in the document."""

    line: int
    column: int
    end_line: int
    end_column: int | None
    code: str | None


class _Line:
    """One line's text with the tables needed to convert its columns."""

    __slots__ = ("_native_columns", "_utf8_ends", "length", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.length = len(text)
        self._utf8_ends: list[int] | None = None
        self._native_columns: list[int] | None = None

    def utf8_ends(self) -> list[int]:
        """The UTF-8 byte offset just after each code point."""
        if self._utf8_ends is None:
            ends: list[int] = []
            offset = 0
            for char in self.text:
                offset += len(char.encode("utf-8", "surrogatepass"))
                ends.append(offset)
            self._utf8_ends = ends
        return self._utf8_ends

    def native_columns(self) -> list[int]:
        """mypy's native-parser column for each code-point offset 0..length."""
        if self._native_columns is None:
            if self.text.isascii():
                self._native_columns = list(range(self.length + 1))
            else:
                ends = self.utf8_ends()
                self._native_columns = [
                    bisect.bisect_right(ends, cp + 1) - 1 for cp in range(self.length + 1)
                ]
        return self._native_columns

    def native_column(self, cp: int) -> int:
        return self.native_columns()[min(max(cp, 0), self.length)]

    def code_points_for_native(self, column: int) -> range:
        """Every code-point offset that the native parser reports as `column`."""
        columns = self.native_columns()
        return range(bisect.bisect_left(columns, column), bisect.bisect_right(columns, column))

    def code_point_for_byte(self, byte_offset: int, *, round_up: bool) -> int:
        if self.text.isascii():
            return min(max(byte_offset, 0), self.length)
        ends = self.utf8_ends()
        whole = bisect.bisect_right(ends, max(byte_offset, 0))
        if round_up and whole < self.length:
            start_of_next = ends[whole - 1] if whole else 0
            if start_of_next < byte_offset:
                return whole + 1
        return whole

    def utf8_offset(self, cp: int) -> int:
        cp = self.clamp(cp)
        if self.text.isascii():
            return cp
        return self.utf8_ends()[cp - 1] if cp else 0

    def clamp(self, cp: int) -> int:
        return min(max(cp, 0), self.length)

    def first_non_blank(self) -> int:
        return self.length - len(self.text.lstrip())

    def last_non_blank(self) -> int:
        return len(self.text.rstrip())


class MypyColumnMapper:
    """Converts mypy's reported positions in one document to code-point spans."""

    def __init__(self, source: str, *, native_parser: bool = True) -> None:
        self._source = source
        self._native_parser = native_parser
        self._lines = [_Line(text) for text in _LINE_BREAK.split(source)]
        self._parsed = False
        self._raw_nodes: dict[int, list[_RawNode]] = {}
        self._raw_node_ends: dict[int, list[int]] = {}
        self._nodes: dict[int, list[_NodeSpan]] = {}
        self._node_ends: dict[int, set[int]] = {}
        self._tokens: dict[int, tuple[set[int], set[int]]] = {}

    def span(
        self,
        line: int,
        column: int,
        end_line: int | None,
        end_column: int | None,
        *,
        code: str | None = None,
    ) -> Span:
        """mypy's raw numbers (1-based lines) as a code-point span within the document.

        A line past the end gives the end of the document, a column past its line's end
        gives the line's end. An end column that is None or negative means mypy gave no
        end, and the span covers one code point. A column of -1 means mypy gave none,
        and the span covers the line's text. `code` is the error code from the same JSON
        object: "syntax" errors may have 1-based columns.
        """
        try:
            return self._span(line, column, end_line, end_column, code)
        except Exception:  # a bug here must not lose the finding: fall back to clamping
            start_index = self._line_index(line)
            return self._ordered(start_index, column, start_index, column + 1)

    def _span(
        self,
        line: int,
        column: int,
        end_line: int | None,
        end_column: int | None,
        code: str | None,
    ) -> Span:
        if line > len(self._lines):
            # Only "unexpected EOF" lands past the last line: point at the end of the text.
            last = len(self._lines) - 1
            return Span.point(last, self._lines[last].length)
        start_index = self._line_index(line)
        if end_column is None or end_column < 0:
            end_index, end_column = start_index, None
        else:
            end_index = start_index if end_line is None else self._line_index(end_line)
            end_index = max(end_index, start_index)
        reported = _Reported(start_index, column, end_index, end_column, code)

        if code == "syntax":
            return self._syntax_error_span(reported)
        if column < 0 and not self._may_be_line_start(reported):
            return self._column_unknown(start_index)
        if end_column is None:
            return self._one_code_point(start_index, self._start_code_point(start_index, column))
        return self._full_span(reported, end_column)

    def _may_be_line_start(self, reported: _Reported) -> bool:
        """Whether -1 is the native parser's column for code point 0 rather than "no column"."""
        return (
            self._native_parser
            and reported.end_column is not None
            and reported.column == -1
            and self._lines[reported.line].native_column(0) == -1
        )

    def _start_code_point(self, line_index: int, column: int) -> int:
        line = self._lines[line_index]
        if line.text.isascii():
            return line.clamp(column)
        if not self._native_parser:
            return line.code_point_for_byte(column, round_up=False)
        return self._pick_start(line_index, column)

    def _full_span(self, reported: _Reported, end_column: int) -> Span:
        start_index, column, end_index = reported.line, reported.column, reported.end_line
        start_line, end_line = self._lines[start_index], self._lines[end_index]
        if start_line.text.isascii() and end_line.text.isascii():
            return self._ordered(start_index, column, end_index, end_column)
        if not self._native_parser:
            start = start_line.code_point_for_byte(column, round_up=False)
            end = end_line.code_point_for_byte(end_column, round_up=True)
            return self._ordered(start_index, start, end_index, end)
        matched = self._exact_node(reported, end_column)
        if matched is not None:
            return matched
        if end_index == start_index and end_column == column + 1:
            # mypy writes column + 1 when it had no end, or none after the start.
            if column < 0:
                return self._column_unknown(start_index)
            return self._one_code_point(start_index, self._pick_start(start_index, column))
        start = self._pick_start(start_index, column)
        end = self._pick_end(start_index, start, end_index, end_column)
        return self._ordered(start_index, start, end_index, end)

    def _exact_node(self, reported: _Reported, end_column: int) -> Span | None:
        """The node whose position, written the way this mypy writes it, is what it wrote."""
        start_index, end_index = reported.line, reported.end_line
        matches: list[_NodeSpan] = []
        for node in self._nodes_starting_on(start_index):
            if node.end_line != end_index:
                continue
            reported_start = self._reported_column(start_index, node.start)
            if reported_start != reported.column:
                continue
            reported_end = self._reported_column(end_index, node.end)
            if end_index == start_index and reported_end <= reported_start:
                reported_end = reported_start + 1
            if reported_end == end_column:
                matches.append(node)
        if not matches:
            return None
        # Nested nodes can look the same in mypy's numbers. Prefer the kind of node the
        # error code blames, then the innermost (a name rather than its unary operator).
        blamed = _BLAMED_NODES.get(reported.code or "", ())
        best = min(matches, key=lambda node: (node.kind not in blamed, -node.start, node.end))
        return Span(start_index, best.start, best.end_line, best.end)

    def _reported_column(self, line_index: int, cp: int) -> int:
        line = self._lines[line_index]
        return line.native_column(cp) if self._native_parser else line.utf8_offset(cp)

    def _pick_start(self, line_index: int, column: int) -> int:
        """A code point the native parser reports as `column`, preferring node starts."""
        line = self._lines[line_index]
        candidates = line.code_points_for_native(column)
        if not candidates:
            return 0 if column < line.native_column(0) else line.length
        node_starts = {node.start for node in self._nodes_starting_on(line_index)}
        for boundaries in (node_starts, self._tokens_on(line_index)[0]):
            for cp in candidates:
                if cp in boundaries:
                    return cp
        return candidates[0]

    def _pick_end(self, start_index: int, start: int, end_index: int, end_column: int) -> int:
        """A code point the native parser reports as `end_column`, preferring node ends."""
        line = self._lines[end_index]
        candidates = line.code_points_for_native(end_column)
        if end_index == start_index:
            candidates = range(max(candidates.start, start + 1), candidates.stop)
        if not candidates:
            past_line_end = end_column > line.native_column(line.length)
            return line.length if past_line_end else line.clamp(candidates.start)
        for boundaries in (self._node_ends_on(end_index), self._tokens_on(end_index)[1]):
            for cp in candidates:
                if cp in boundaries:
                    return cp
        return candidates[0]

    def _syntax_error_span(self, reported: _Reported) -> Span:
        """Parse errors have 1-based columns; errors found after parsing point at nodes."""
        if reported.column < 0:
            return self._column_unknown(reported.line)
        if reported.end_column is not None:
            matched = self._exact_node(reported, reported.end_column)
            if matched is not None:
                return matched
        # Python's parser rejects a file with a parse error, leaving no nodes to find;
        # a check that runs after parsing (a Python version check) points at a node.
        node_starts = [
            node.start
            for node in self._nodes_starting_on(reported.line)
            if self._reported_column(reported.line, node.start) == reported.column
        ]
        if node_starts:
            return self._one_code_point(reported.line, min(node_starts))
        return self._one_code_point(reported.line, reported.column - 1)

    def _one_code_point(self, line_index: int, start: int) -> Span:
        line = self._lines[line_index]
        start = line.clamp(start)
        return Span(line_index, start, line_index, min(start + 1, line.length))

    def _column_unknown(self, line_index: int) -> Span:
        line = self._lines[line_index]
        first = line.first_non_blank()
        return Span(line_index, first, line_index, max(first, line.last_non_blank()))

    def _ordered(self, start_index: int, start: int, end_index: int, end: int) -> Span:
        start = self._lines[start_index].clamp(start)
        end = self._lines[end_index].clamp(end)
        if end_index == start_index:
            end = max(end, start)
        return Span(start_index, start, end_index, end)

    def _line_index(self, line: int) -> int:
        return min(max(line - 1, 0), len(self._lines) - 1)

    def _nodes_starting_on(self, line_index: int) -> list[_NodeSpan]:
        if line_index not in self._nodes:
            self._parse()
            start_line = self._lines[line_index]
            self._nodes[line_index] = [
                _NodeSpan(
                    start_line.code_point_for_byte(raw.start_byte, round_up=False),
                    raw.end_line,
                    self._lines[raw.end_line].code_point_for_byte(raw.end_byte, round_up=True),
                    raw.kind,
                )
                for raw in self._raw_nodes.get(line_index, [])
            ]
        return self._nodes[line_index]

    def _node_ends_on(self, line_index: int) -> set[int]:
        if line_index not in self._node_ends:
            self._parse()
            line = self._lines[line_index]
            self._node_ends[line_index] = {
                line.code_point_for_byte(end_byte, round_up=True)
                for end_byte in self._raw_node_ends.get(line_index, [])
            }
        return self._node_ends[line_index]

    def _parse(self) -> None:
        """Index the file's `ast` nodes by line, once; columns are converted per line later."""
        if self._parsed:
            return
        self._parsed = True
        try:
            tree = pyast.parse(self._source)
        except _PARSE_FAILURES:
            return
        for node in _nodes_mypy_may_report(tree):
            lineno = getattr(node, "lineno", None)
            end_lineno = getattr(node, "end_lineno", None)
            if lineno is None or end_lineno is None:
                continue
            start_index, end_index = lineno - 1, end_lineno - 1
            if not 0 <= start_index <= end_index < len(self._lines):
                continue
            end_byte = getattr(node, "end_col_offset", None) or 0
            raw = _RawNode(getattr(node, "col_offset", 0), end_index, end_byte, type(node))
            self._raw_nodes.setdefault(start_index, []).append(raw)
            self._raw_node_ends.setdefault(end_index, []).append(end_byte)

    def _tokens_on(self, line_index: int) -> tuple[set[int], set[int]]:
        """Token starts and ends, for mypy nodes that no `ast` node shares.

        The line is tokenized alone: this only ranks candidates, and a line inside a
        multi-line string giving odd tokens costs less than tokenizing the whole file.
        """
        if line_index not in self._tokens:
            starts: set[int] = set()
            ends: set[int] = set()
            readline = io.StringIO(self._lines[line_index].text).readline
            try:
                for token in tokenize.generate_tokens(readline):
                    if token.type not in _LAYOUT_TOKENS and token.start[0] == 1:
                        starts.add(token.start[1])
                        ends.add(token.end[1])
            except (tokenize.TokenError, SyntaxError):
                pass  # keep the tokens found before the error
            self._tokens[line_index] = (starts, ends)
        return self._tokens[line_index]


def _nodes_mypy_may_report(tree: ast.AST) -> list[ast.AST]:
    """Every node except those mypy's tree has no counterpart for.

    mypy keeps a call's keyword and `*` arguments as bare expressions, so the `ast`
    wrappers around them would otherwise tie with the expression inside.
    """
    nodes = list(ast.walk(tree))
    wrappers: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.Call):
            wrappers.update(id(arg) for arg in node.args if isinstance(arg, ast.Starred))
            wrappers.update(id(keyword) for keyword in node.keywords)
    return [node for node in nodes if id(node) not in wrappers]


# The node kinds that errors with these codes point at, for telling nested nodes apart.
_BLAMED_NODES: dict[str, tuple[type[ast.AST], ...]] = {
    "name-defined": (ast.Name,),
    "attr-defined": (ast.Attribute,),
    "union-attr": (ast.Attribute,),
    "call-arg": (ast.Call,),
    "call-overload": (ast.Call,),
    "operator": (ast.BinOp, ast.UnaryOp, ast.Compare),
    "index": (ast.Slice, ast.Subscript),
}

_LAYOUT_TOKENS = frozenset(
    {
        tokenize.NEWLINE,
        tokenize.NL,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.COMMENT,
        tokenize.ENDMARKER,
    }
)

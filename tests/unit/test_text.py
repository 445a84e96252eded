"""Source text as the tools see it: line splitting and decoding."""

from __future__ import annotations

import codecs

import pytest

from tapps_lsp.analyzers.text import UndecodableSource, decode_source, split_lines


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [""]),
        ("a", ["a"]),
        ("a\n", ["a", ""]),
        ("a\nb", ["a", "b"]),
        ("a\r\nb\r\n", ["a", "b", ""]),
        ("a\rb\r", ["a", "b", ""]),
        ("a\r\n\r\nb", ["a", "", "b"]),
        ("a\n\rb", ["a", "", "b"]),  # \n then \r: two breaks, not one
        ("a\r\r\nb", ["a", "", "b"]),
        ("mixed\r\nends\rhere\nnow", ["mixed", "ends", "here", "now"]),
    ],
)
def test_split_lines_breaks_at_lf_crlf_and_cr(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines


@pytest.mark.parametrize(
    "separator", ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_split_lines_keeps_separators_str_splitlines_would_break_at(separator: str) -> None:
    text = f"a{separator}b\nc"
    # str.splitlines() breaks here, which would shift every later row by one.
    assert len(text.splitlines()) == 3
    assert split_lines(text) == [f"a{separator}b", "c"]


def test_split_lines_round_trips_with_the_breaks() -> None:
    text = "x = 1\r\ny = 2\rz = 3\n\fw = 4"
    lines = split_lines(text)
    assert "".join(lines) == text.replace("\r\n", "").replace("\r", "").replace("\n", "")
    assert lines[3] == "\fw = 4"


def test_decode_plain_utf8() -> None:
    assert decode_source("é = '日本😀'\n".encode()) == "é = '日本😀'\n"


def test_decode_strips_one_bom_only() -> None:
    assert decode_source(codecs.BOM_UTF8 + b"x = 1\n") == "x = 1\n"
    # A second BOM is content (ruff and mypy would complain about it, not us).
    assert decode_source(codecs.BOM_UTF8 * 2 + b"x") == "\ufeffx"


def test_decode_keeps_line_endings() -> None:
    assert decode_source(b"a\r\nb\rc\n") == "a\r\nb\rc\n"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"\xff", 1),
        (b"a = 1\nb = '\xe9'\n", 2),  # latin-1
        (b"a\r\nb\r\nc = '\xff'", 3),
        (b"a\rb\rc\rd = '\xff'", 4),  # classic Mac line ends count too
        (codecs.BOM_UTF8 + b"a\n\xff", 2),  # the BOM does not shift the count
        (codecs.BOM_UTF8 + b"a\nb\n\xff", 3),
        (b"ok = '\xc3\xa9'\n\xc3", 2),  # truncated sequence at the very end
    ],
)
def test_invalid_utf8_names_the_line(data: bytes, line: int) -> None:
    with pytest.raises(UndecodableSource, match=rf"not valid UTF-8 \(line {line}\)$"):
        decode_source(data)


def test_undecodable_source_is_a_value_error() -> None:
    with pytest.raises(ValueError):  # the subclass relation is the point
        decode_source(b"\xfe")

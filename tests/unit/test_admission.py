"""One admission rule: what is not reviewed, and the one way it says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapps_lsp.analyzers.admission import read_for_review, refusal_of_open_text

BINARY = "not reviewed: the file looks binary (it contains NUL bytes)"


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "mod.py"
    path.write_bytes(data)
    return path


def test_a_plain_file_is_reviewed(tmp_path: Path) -> None:
    path = write(tmp_path, "é = 1\n".encode())
    assert read_for_review(path, 1000) == ("é = 1\n", None)
    assert refusal_of_open_text(path, "é = 1\n", 1000) is None


@pytest.mark.parametrize(
    "data",
    [b"\x00", b"x = 1\n\x00\x01\x02", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"],
)
def test_nul_bytes_mean_binary(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data)
    assert read_for_review(path, 1000) == (None, BINARY)
    assert refusal_of_open_text(path, data.decode("latin-1"), 1000) == BINARY


def test_a_nul_byte_past_the_first_block_counts_too(tmp_path: Path) -> None:
    """One rule for the server and for batches: once only the first 8 KiB was looked at."""
    data = b"x = 1\n" * 2000 + b"\x00"
    path = write(tmp_path, data)
    assert read_for_review(path, len(data)) == (None, BINARY)
    assert refusal_of_open_text(path, "x = 1\n", len(data)) == BINARY


def test_over_the_limit_reads_the_same_everywhere(tmp_path: Path) -> None:
    path = write(tmp_path, b"x = 1\n" * 3)
    reason = "not reviewed: the file is 18 bytes, over the 10 bytes limit (setting maxFileSize)"
    assert read_for_review(path, 10) == (None, reason)
    assert refusal_of_open_text(path, "x = 1\n" * 3, 10) == reason
    big = "x" * 2_500_000
    assert refusal_of_open_text(path, big, 1_000_000) == (
        "not reviewed: the file is 2.5 MB, over the 1.0 MB limit (setting maxFileSize)"
    )


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, b"x = 1\ny = '\xe9'\n")
    assert read_for_review(path, 1000) == (
        None,
        "not reviewed: the file is not valid UTF-8 (line 2)",
    )
    # The editor decoded it its own way; the tools read the bytes on disk.
    assert refusal_of_open_text(path, "x = 1\ny = 'é'\n", 1000) == (
        "not reviewed: the file is not valid UTF-8 (line 2)"
    )


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    text, reason = read_for_review(tmp_path / "gone.py", 1000)
    assert text is None and reason == "not reviewed: No such file or directory"
    assert refusal_of_open_text(tmp_path / "gone.py", "x = 1\n", 1000) is None

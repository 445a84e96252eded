"""Which files are reviewed: one rule for the server, `check` and every batch.

A file is not reviewed when it is over the size limit (setting `maxFileSize`), looks
binary (a NUL byte anywhere) or is not UTF-8 text. The reason reads the same wherever it
shows: "not reviewed: <why>", and `not_reviewed_report` is the report that carries it.
"""

from __future__ import annotations

from pathlib import Path

from tapps_lsp.analyzers.findings import FileReport, Finding, Severity, Source, Span, ToolResult
from tapps_lsp.analyzers.text import UndecodableSource, decode_source

NOT_REVIEWED = "not reviewed"
_BINARY = "the file looks binary (it contains NUL bytes)"


def not_reviewed(reason: str) -> str:
    return f"{NOT_REVIEWED}: {reason}"


def not_reviewed_report(path: Path, message: str) -> FileReport:
    """A complete report whose one finding, at the top of the file, is `message`."""
    notice = Finding(Source.TAPPS, "not-reviewed", message, Severity.WARNING, Span.point(0))
    return FileReport(
        str(path),
        "",
        ToolResult(Source.TAPPS, (notice,)),
        None,
        None,
        complete=True,
        result_id="refused",
    )


def read_for_review(path: Path, limit: int) -> tuple[str | None, str | None]:
    """The file's text from disk, or None and why it is not reviewed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, not_reviewed(str(exc.strerror or exc))
    if len(data) > limit:
        return None, not_reviewed(_too_big(len(data), limit))
    if b"\x00" in data:
        return None, not_reviewed(_BINARY)
    try:
        return decode_source(data), None
    except UndecodableSource as exc:
        return None, not_reviewed(str(exc))


def refusal_of_open_text(path: Path, text: str, limit: int) -> str | None:
    """Why an open document's text is not reviewed, or None. The editor decoded the text
    itself; the tools read the file from disk too, so its bytes must decode as well."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        return not_reviewed(_too_big(size, limit))
    if "\x00" in text:
        return not_reviewed(_BINARY)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data:
        return not_reviewed(_BINARY)
    try:
        decode_source(data)
    except UndecodableSource as exc:
        return not_reviewed(str(exc))
    return None


def _too_big(size: int, limit: int) -> str:
    return f"the file is {_amount(size)}, over the {_amount(limit)} limit (setting maxFileSize)"


def _amount(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"

"""Files the server does not review (too large, binary, not decodable), and the report
that says so in place of findings."""

from __future__ import annotations

from pathlib import Path

from tapps_lsp.analyzers.findings import FileReport, Finding, Severity, Source, Span, ToolResult
from tapps_lsp.analyzers.text import UndecodableSource, decode_source


def refusal(path: Path, text: str, limit: int) -> str | None:
    """Why `text` (the content of `path`) is not reviewed, or None when it is."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        return (
            f"tapps: not reviewed: the file is {size / 1e6:.1f} MB, over the "
            f"{limit / 1e6:.1f} MB limit (setting maxFileSize)"
        )
    if "\x00" in text:
        return "tapps: not reviewed: the file looks binary (it contains NUL bytes)"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        decode_source(data)
    except UndecodableSource as exc:
        return f"tapps: not reviewed: {exc}"
    return None


def not_reviewed(path: Path, message: str) -> FileReport:
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

"""mypy's `-O json` output, read: one message per line, each a finding of ours.

Columns go through `columns.MypyColumnMapper`, which knows how mypy counts them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.findings import Finding, Severity, Source
from tapps_lsp.analyzers.mypy.columns import MypyColumnMapper

DOCS_URL = "https://mypy.readthedocs.io/en/stable/_refs.html#code-{code}"


_SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, "note": Severity.INFORMATION}


@dataclass(frozen=True, slots=True)
class RawMessage:
    path: Path
    line: int
    column: int
    end_line: int | None
    end_column: int | None
    message: str
    hint: str | None
    code: str | None
    severity: str


def parse_output(stdout: bytes, root: Path) -> list[RawMessage]:
    """mypy's `-O json` lines; anything else on stdout (a plugin's print) is skipped."""
    messages: list[RawMessage] = []
    real_paths: dict[str, Path] = {}
    for output_line in stdout.splitlines():
        stripped = output_line.strip()
        if not stripped.startswith(b"{"):
            continue
        try:
            message = raw_message(json.loads(stripped), root, real_paths)
        except (ValueError, TypeError, AttributeError):
            continue
        if message is not None:
            messages.append(message)
    return messages


def raw_message(
    record: dict[str, Any], root: Path, real_paths: dict[str, Path]
) -> RawMessage | None:
    file, text = record.get("file"), record.get("message")
    if not isinstance(file, str) or not isinstance(text, str):
        return None
    return RawMessage(
        path=_real_path(file, root, real_paths),
        line=int(record.get("line") or 1),
        column=int(record.get("column") or 0),
        end_line=_optional_int(record.get("end_line")),
        end_column=_optional_int(record.get("end_column")),
        message=text,
        hint=record.get("hint"),
        code=record.get("code"),
        severity=str(record.get("severity", "error")),
    )


def _real_path(file: str, root: Path, real_paths: dict[str, Path]) -> Path:
    """The file a message is about, as the reviewer names it (symlinks resolved): mypy names
    a module by the path it found it at, which may run through a symlinked folder."""
    path = real_paths.get(file)
    if path is None:
        path = real_paths[file] = (root / file).resolve()
    return path


def _optional_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and value >= 0 else None


def to_finding(raw: RawMessage, mapper: MypyColumnMapper) -> Finding:
    span = mapper.span(raw.line, raw.column, raw.end_line, raw.end_column, code=raw.code)
    message = raw.message if not raw.hint else f"{raw.message}\n{raw.hint}"
    return Finding(
        source=Source.MYPY,
        code=raw.code,
        message=message,
        severity=_SEVERITIES.get(raw.severity, Severity.ERROR),
        span=span,
        url=DOCS_URL.format(code=raw.code) if raw.code else None,
    )

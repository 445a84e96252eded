"""ruff behind one small async interface: argv, run, parse, findings."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.findings import (
    Edit,
    Finding,
    Fix,
    Severity,
    Source,
    Span,
    ToolFailure,
    ToolResult,
)
from tapps_lsp.analyzers.interpreter import module_command
from tapps_lsp.analyzers.process import ProcessError, run_process
from tapps_lsp.analyzers.settings import ToolSettings
from tapps_lsp.analyzers.text import split_lines

_ERROR_CODES = frozenset({"F821", "F822", "F823", "E999", "invalid-syntax"})
_UNNECESSARY_CODES = frozenset({"F401", "F841", "F811", "RUF100", "F504", "F522", "F523"})


def ruff_command(settings: ToolSettings) -> list[str]:
    if settings.path:
        return [settings.path]
    scripts = Path(sysconfig.get_path("scripts"))
    bundled = scripts / "ruff"
    if bundled.is_file():
        return [str(bundled)]
    found = shutil.which("ruff")
    return [found] if found else list(module_command(sys.executable, "ruff"))


async def ruff_version(settings: ToolSettings, *, cwd: Path | None = None, timeout: float) -> str:
    """`cwd`: where a relative `ruff.path` is found, as for the runs (the project root)."""
    done = await run_process([*ruff_command(settings), "--version"], cwd=cwd, timeout=timeout)
    if done.returncode != 0:
        raise ProcessError("crash", done.stderr.decode(errors="replace").strip())
    return done.stdout.decode().strip().removeprefix("ruff ").strip()


# `check` with JSON output, no fixes, and the config's excludes honoured for named files.
_CHECK = ("check", "--output-format", "json", "--no-fix", "--force-exclude", "--quiet")


def check_argv(settings: ToolSettings, path: Path) -> list[str]:
    return [
        *ruff_command(settings),
        *_CHECK,
        *settings.args,
        "--stdin-filename",
        str(path),
        "-",
    ]


async def run_ruff(
    settings: ToolSettings, path: Path, text: str, *, cwd: Path, timeout: float, version: str
) -> ToolResult:
    started = time.perf_counter()
    try:
        done = await run_process(
            check_argv(settings, path), cwd=cwd, stdin=text.encode("utf-8"), timeout=timeout
        )
    except ProcessError as exc:
        return _failed(exc.kind, exc.message, version, started)
    stderr = done.stderr.decode(errors="replace").strip()
    if done.returncode not in (0, 1):
        return _failed("config" if "toml" in stderr.lower() else "crash", stderr, version, started)
    try:
        records = json.loads(done.stdout or b"[]")
    except ValueError:
        return _failed("crash", f"unreadable output: {done.stdout[:200]!r}", version, started)
    lines = split_lines(text)
    findings = tuple(parse_record(record, lines) for record in records)
    return ToolResult(Source.RUFF, findings, None, version, (time.perf_counter() - started) * 1000)


_BATCH_FILES = 400  # paths per ruff process: far below any argv limit


def batch_argv(settings: ToolSettings, paths: Sequence[Path]) -> list[str]:
    """One ruff over many files on disk; `--no-cache`: our cache is the one that counts."""
    return [
        *ruff_command(settings),
        *_CHECK,
        "--no-cache",
        *settings.args,
        *map(str, paths),
    ]


async def run_ruff_batch(
    settings: ToolSettings,
    texts: Mapping[Path, str],
    *,
    cwd: Path,
    timeout: float,
    version: str,
) -> dict[Path, ToolResult]:
    """ruff over many files at once: one process per few hundred files, not one per file.

    `texts` is each file's content as the caller read it; ruff reads the files itself,
    so a caller must not cache a result if the file changed meanwhile."""
    paths = list(texts)
    results: dict[Path, ToolResult] = {}
    for start in range(0, len(paths), _BATCH_FILES):
        chunk = paths[start : start + _BATCH_FILES]
        results.update(
            await _run_chunk(settings, chunk, texts, cwd=cwd, timeout=timeout, version=version)
        )
    return results


async def _run_chunk(
    settings: ToolSettings,
    chunk: list[Path],
    texts: Mapping[Path, str],
    *,
    cwd: Path,
    timeout: float,
    version: str,
) -> dict[Path, ToolResult]:
    started = time.perf_counter()
    try:
        done = await run_process(batch_argv(settings, chunk), cwd=cwd, timeout=timeout)
    except ProcessError as exc:
        return dict.fromkeys(chunk, _failed(exc.kind, exc.message, version, started))
    stderr = done.stderr.decode(errors="replace").strip()
    if done.returncode not in (0, 1):
        kind = "config" if "toml" in stderr.lower() else "crash"
        return dict.fromkeys(chunk, _failed(kind, stderr, version, started))
    # Thousands of records take tens of milliseconds to read: not on the event loop.
    return await asyncio.to_thread(_chunk_results, done.stdout, chunk, texts, version, started)


def _chunk_results(
    stdout: bytes, chunk: list[Path], texts: Mapping[Path, str], version: str, started: float
) -> dict[Path, ToolResult]:
    try:
        records = json.loads(stdout or b"[]")
    except ValueError:
        failure = _failed("crash", f"unreadable output: {stdout[:200]!r}", version, started)
        return dict.fromkeys(chunk, failure)
    by_path: dict[Path, list[dict[str, Any]]] = {path: [] for path in chunk}
    for record in records:
        filename = record.get("filename")
        if isinstance(filename, str):
            by_path.setdefault(Path(filename), []).append(record)
    share = (time.perf_counter() - started) * 1000 / max(len(chunk), 1)
    results = {}
    for path in chunk:
        lines = split_lines(texts[path])
        findings = tuple(parse_record(record, lines) for record in by_path.get(path, ()))
        results[path] = ToolResult(Source.RUFF, findings, None, version, share)
    return results


def _failed(kind: str, message: str, version: str, started: float) -> ToolResult:
    failure = ToolFailure(Source.RUFF, kind, f"ruff: {message or 'failed'}")
    return ToolResult(Source.RUFF, (), failure, version, (time.perf_counter() - started) * 1000)


def parse_record(record: dict[str, Any], lines: list[str]) -> Finding:
    code = record.get("code")
    message = str(record.get("message", ""))
    span = _span(record.get("location"), record.get("end_location"), lines)
    fix_data = record.get("fix")
    fix = None
    if isinstance(fix_data, dict):
        edits = tuple(
            Edit(
                _span(e.get("location"), e.get("end_location"), lines, clamp_eof=False),
                str(e.get("content", "")),
            )
            for e in fix_data.get("edits", ())
        )
        fix = Fix(str(fix_data.get("message") or ""), str(fix_data.get("applicability", "")), edits)
    return Finding(
        source=Source.RUFF,
        code=code,
        message=message,
        severity=default_severity(code),
        span=span,
        url=record.get("url"),
        unnecessary=code in _UNNECESSARY_CODES,
        fix=fix,
    )


def default_severity(code: str | None) -> Severity:
    """ruff-lsp's convention: syntax errors and undefined names are errors."""
    if code is None or code in _ERROR_CODES:
        return Severity.ERROR
    return Severity.WARNING


def _span(start: Any, end: Any, lines: list[str], *, clamp_eof: bool = True) -> Span:
    """ruff rows are 1-based, columns 1-based code points, end exclusive."""
    start_line, start_col = _point(start)
    end_line, end_col = _point(end) if end else (start_line, start_col)
    if clamp_eof and lines:
        start_line, start_col = _clamp(start_line, start_col, lines)
        end_line, end_col = _clamp(end_line, end_col, lines)
    end_line, end_col = max((end_line, end_col), (start_line, start_col))
    return Span(start_line, start_col, end_line, end_col)


def _point(location: Any) -> tuple[int, int]:
    if not isinstance(location, dict):
        return 0, 0
    return max(int(location.get("row", 1)) - 1, 0), max(int(location.get("column", 1)) - 1, 0)


def _clamp(line: int, col: int, lines: list[str]) -> tuple[int, int]:
    if line >= len(lines):
        return len(lines) - 1, len(lines[-1])
    return line, min(col, len(lines[line]))

"""SARIF 2.1.0, as GitHub code scanning takes it: one run per tool (ruff, mypy, and
tapps for scores below the threshold), paths relative to the working directory under
`%SRCROOT%`, regions in 1-based lines and UTF-16 columns. Every result carries GitHub's
`primaryLocationLineHash` (analyzers.baseline.github_hash); with a baseline, the
baselined findings are results too, `baselineState` telling them (`unchanged`) from the
new ones (`new`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tapps_lsp.analyzers.baseline.github_hash import line_hashes
from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.analyzers.findings import Finding, Severity, Source, Span, ToolResult
from tapps_lsp.analyzers.score import format_score
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.server.cli.formats.common import CheckRun, ordered, score_of

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
_INFORMATION = {
    Source.RUFF: "https://docs.astral.sh/ruff/",
    Source.MYPY: "https://mypy-lang.org/",
}
LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
    Severity.HINT: "note",
}
SCORE_RULE = "score"


def render(run: CheckRun) -> str:
    return json.dumps(sarif_log(run), indent=2, ensure_ascii=False) + "\n"


def sarif_log(run: CheckRun) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [_tool_run(run, Source.RUFF), _tool_run(run, Source.MYPY), _score_run(run)],
    }


@dataclass(slots=True)
class _Rules:
    """The rules a run's results refer to, in order of first use."""

    tool: Source
    index: dict[str, int] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)

    def of(self, finding: Finding) -> tuple[str, int]:
        rule_id = finding.code or "unclassified"
        if rule_id not in self.index:
            self.index[rule_id] = len(self.rules)
            self.rules.append(rule(self.tool, rule_id, finding.url))
        return rule_id, self.index[rule_id]


def rule(tool: Source, rule_id: str, url: str | None) -> dict[str, Any]:
    """The rule `rule_id` of `tool`, with a link to its docs when there is one."""
    name = url.rstrip("/").rsplit("/", 1)[-1] if tool is Source.RUFF and url else None
    title = f"{tool.value} {rule_id}" + (f" ({name})" if name else "")
    rule: dict[str, Any] = {"id": rule_id}
    if name:
        rule["name"] = name
    rule["shortDescription"] = {"text": title}
    rule["fullDescription"] = {"text": f"{title}: see the tool's documentation of the rule."}
    if url:
        rule["helpUri"] = url
        rule["help"] = {"text": f"{title}: {url}", "markdown": f"[{title}]({url})"}
    return rule


def _tool_run(run: CheckRun, tool: Source) -> dict[str, Any]:
    rules = _Rules(tool)
    results: list[dict[str, Any]] = []
    for item in run.files:
        if item.report is None:
            continue
        baselined = [f for f in run.baselined.get(item.path, ()) if f.source is tool]
        new = [f for f in item.report.findings if f.source is tool]
        if not new and not baselined:
            continue
        lines = split_lines(item.text)
        hashes = line_hashes(item.text)
        unchanged = {id(finding) for finding in baselined}
        for finding in ordered([*new, *baselined]):
            rule_id, index = rules.of(finding)
            result = {
                "ruleId": rule_id,
                "ruleIndex": index,
                "level": LEVEL[finding.severity],
                "message": {"text": finding.message},
                "locations": [location(item.path, run.cwd, region(finding.span, lines))],
                "partialFingerprints": fingerprints(finding.span, hashes),
            }
            if run.baseline_present:
                result["baselineState"] = "unchanged" if id(finding) in unchanged else "new"
            results.append(result)
    described = driver(tool.value, _version(run, tool), _INFORMATION[tool])
    described["rules"] = rules.rules
    return tool_run(run.cwd, described, results, _notifications(run, tool))


def fingerprints(span: Span, hashes: list[str]) -> dict[str, str]:
    """`partialFingerprints`: GitHub's hash of the result's start line."""
    row = min(max(span.start_line, 0), len(hashes) - 1)
    return {"primaryLocationLineHash": hashes[row]}


def _score_run(run: CheckRun) -> dict[str, Any]:
    """A warning for each file whose quality score is below its folder's threshold."""
    results: list[dict[str, Any]] = []
    for item in run.files:
        total = score_of(item)
        if item.report is None or item.report.score is None or total is None:
            continue
        threshold = run.threshold(item.path)
        if total < threshold:
            text = f"{format_score(item.report.score)} (below the threshold {threshold})"
            results.append(
                {
                    "ruleId": SCORE_RULE,
                    "ruleIndex": 0,
                    "level": "warning",
                    "message": {"text": text},
                    "locations": [location(item.path, run.cwd, {"startLine": 1})],
                    "properties": {"score": total, "threshold": threshold},
                }
            )
    described = driver("tapps", own_version(), None)
    described["rules"] = [
        {
            "id": SCORE_RULE,
            "name": "quality-score",
            "shortDescription": {"text": "Quality score below the threshold"},
            "fullDescription": {
                "text": "The file's 0-100 quality score (types, lint, complexity, security)"
                " is below the scoreThreshold setting."
            },
        }
    ]
    return tool_run(run.cwd, described, results, [])


def tool_run(
    cwd: Path,
    described: dict[str, Any],
    results: list[dict[str, Any]],
    notifications: list[dict[str, Any]],
) -> dict[str, Any]:
    """One SARIF run of the tool `described` (its driver), paths under `cwd`."""
    failed = any(n["level"] == "error" for n in notifications)
    invocation: dict[str, Any] = {"executionSuccessful": not failed}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "tool": {"driver": described},
        "originalUriBaseIds": {SRCROOT: {"uri": cwd.as_uri().rstrip("/") + "/"}},
        "columnKind": "utf16CodeUnits",
        "invocations": [invocation],
        "results": results,
    }


def driver(name: str, version: str | None, information: str | None) -> dict[str, Any]:
    described: dict[str, Any] = {"name": name}
    if version:
        described["version"] = version
    if information:
        described["informationUri"] = information
    return described


def _notifications(run: CheckRun, tool: Source) -> list[dict[str, Any]]:
    """What kept the tool from an answer, per file (a missing tool, a crash, a timeout)."""
    found: list[dict[str, Any]] = []
    for item in run.files:
        if item.report is None:
            continue
        for failure in item.report.failures:
            if failure.tool is tool:
                found.append(
                    {
                        "level": "warning" if failure.kind == "warning" else "error",
                        "message": {"text": failure.message},
                        "locations": [location(item.path, run.cwd, None)],
                    }
                )
    return found


def _version(run: CheckRun, tool: Source) -> str | None:
    for item in run.files:
        result = _result_of(item, tool)
        if result is not None and result.version:
            return result.version.split()[0]
    return None


def _result_of(item: BatchFile, tool: Source) -> ToolResult | None:
    if item.report is None:
        return None
    return item.report.ruff if tool is Source.RUFF else item.report.mypy


def own_version() -> str | None:
    try:
        return metadata.version("tapps-lsp")
    except metadata.PackageNotFoundError:
        return None


def location(path: Path, cwd: Path, area: dict[str, int] | None) -> dict[str, Any]:
    """Relative to `cwd` under %SRCROOT% when it is below it, else an absolute file URI."""
    artifact: dict[str, str]
    try:
        relative = path.relative_to(cwd).as_posix()
        artifact = {"uri": quote(relative), "uriBaseId": SRCROOT}
    except ValueError:
        artifact = {"uri": path.as_uri()}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if area is not None:
        physical["region"] = area
    return {"physicalLocation": physical}


def region(span: Span, lines: list[str]) -> dict[str, int]:
    """A span (0-based lines, 0-based code-point columns, end exclusive) as a SARIF region
    (1-based lines, 1-based UTF-16 columns, endColumn one past the last character)."""
    start = utf16_column(lines, span.start_line, span.start_col)
    end = utf16_column(lines, span.end_line, span.end_col)
    if (span.end_line, end) < (span.start_line, start):
        end_line, end = span.start_line, start
    else:
        end_line = span.end_line
    return {
        "startLine": span.start_line + 1,
        "startColumn": start + 1,
        "endLine": end_line + 1,
        "endColumn": end + 1,
    }


def utf16_column(lines: list[str], line: int, column: int) -> int:
    """How many UTF-16 code units the first `column` code points of a line take; columns
    past the end of the line (or of the file) count one each."""
    text = lines[line] if 0 <= line < len(lines) else ""
    prefix = text[:column]
    wide = sum(1 for char in prefix if ord(char) > 0xFFFF)
    return column + wide

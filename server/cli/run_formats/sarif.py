"""SARIF 2.1.0 for a workflow run: one run of the tool `tapps-lsp` whose results are every
step's findings (each with GitHub's `primaryLocationLineHash`), with rules by source and
code (`ruff/F401`, `tapps-security/S105`), and a failed, cancelled or skipped step as a
tool notification. Built from the check format's pieces (regions in UTF-16 columns,
paths under `%SRCROOT%`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.baseline.github_hash import line_hashes
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.analyzers.workflows.run_view import CANCELLED, FAILED, SKIPPED
from tapps_lsp.server.cli.formats.sarif import (
    LEVEL,
    SCHEMA,
    driver,
    fingerprints,
    location,
    own_version,
    region,
    rule,
    tool_run,
)
from tapps_lsp.server.cli.run_formats.common import FinishedRun

TOOL = "tapps-lsp"


def render(run: FinishedRun) -> str:
    return json.dumps(sarif_log(run), indent=2, ensure_ascii=False) + "\n"


def sarif_log(run: FinishedRun) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    lines: dict[Path, list[str]] = {}
    hashes: dict[Path, list[str]] = {}
    for item in run.findings():
        finding = item.finding
        rule_id = f"{finding.source.value}/{finding.code or 'unclassified'}"
        if rule_id not in index:
            index[rule_id] = len(rules)
            rules.append(
                {**rule(finding.source, finding.code or "unclassified", finding.url), "id": rule_id}
            )
        if item.path not in lines:
            text = _text(item.path)
            lines[item.path], hashes[item.path] = split_lines(text), line_hashes(text)
        results.append(
            {
                "ruleId": rule_id,
                "ruleIndex": index[rule_id],
                "level": LEVEL[finding.severity],
                "message": {"text": finding.message},
                "locations": [location(item.path, run.cwd, region(finding.span, lines[item.path]))],
                "partialFingerprints": fingerprints(finding.span, hashes[item.path]),
                "properties": {"step": item.step},
            }
        )
    described = driver(TOOL, own_version(), None)
    described["rules"] = rules
    document = tool_run(run.cwd, described, results, _notifications(run))
    document["automationDetails"] = {"id": f"{run.view.workflow.name}/{run.view.run_id}"}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [document]}


def _notifications(run: FinishedRun) -> list[dict[str, Any]]:
    """A failed or cancelled step is an error (the run did not do all it was asked),
    a skipped one a warning."""
    found = []
    for step in run.view.steps.values():
        if step.state in (FAILED, CANCELLED, SKIPPED):
            level = "warning" if step.state == SKIPPED else "error"
            text = f"step `{step.id}` ({step.uses}) {step.state}: {step.error or 'no reason given'}"
            found.append({"level": level, "message": {"text": text}})
    return found


def _text(path: Path) -> str:
    """The file as it is now, for UTF-16 columns and line hashes (a file gone since: empty,
    columns as code points)."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""

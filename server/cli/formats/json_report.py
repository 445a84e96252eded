"""The JSON format: every file's full report, and the run's summary."""

from __future__ import annotations

import json
from typing import Any

from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.analyzers.serialize import report_to_json
from tapps_lsp.server.cli.formats.common import CheckRun


def render(run: CheckRun) -> str:
    summary = run.summary.as_json(run.cwd)
    if run.baseline_present:
        summary["baselined"] = run.baselined_count()
    document = {"files": [_entry(item, run) for item in run.files], "summary": summary}
    return json.dumps(document, indent=2) + "\n"


def _entry(item: BatchFile, run: CheckRun) -> dict[str, Any]:
    data: dict[str, Any] = {"path": run.shown(item.path)}
    if item.report is None:
        data["problem"] = item.problem
    else:
        data["report"] = report_to_json(item.report)
    return data

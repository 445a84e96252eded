"""The JSON format of `tapps-lsp run`: the run as `tapps.runStatus` answers it (run id,
state, times, every step, the report with every finding)."""

from __future__ import annotations

import json

from tapps_lsp.server.cli.run_formats.common import FinishedRun


def render(run: FinishedRun) -> str:
    return json.dumps(run.view.as_json(), indent=2) + "\n"

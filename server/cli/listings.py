"""`tapps-lsp runs` (the project's recent runs, from its run log) and `tapps-lsp run
--list` (its workflows and their steps), as text or as the JSON that `tapps.listRuns` and
`tapps.listWorkflows` answer with."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tapps_lsp.analyzers.workflows.run_log import RunLog
from tapps_lsp.analyzers.workflows.spec import WorkflowSpec
from tapps_lsp.analyzers.workspace import cache_folder, project_root, project_settings
from tapps_lsp.server.cli.check import EXIT_CLEAN
from tapps_lsp.server.cli.run_formats.common import table


@dataclass(slots=True)
class RunsOptions:
    project: Path | None = None
    output_format: str = "text"
    limit: int = 20
    # Whose log: a trusted project keeps it in its own cache folder, an untrusted one in
    # the user's (analyzers.workspace.cache_folder), as `run --trust` and `run` write it.
    trust: bool = False


def list_runs(options: RunsOptions, out: TextIO = sys.stdout) -> int:
    """The newest runs first; runs of a process that is gone are marked `interrupted`."""
    root = project_root((options.project or Path.cwd()).resolve())
    settings, _ = project_settings(root, {"trustedWorkspace": options.trust})
    log = RunLog(cache_folder(root, settings))
    try:
        log.sweep_interrupted()
        rows = log.rows(options.limit)
    finally:
        log.close()
    if options.output_format == "json":
        out.write(json.dumps({"runs": [row.as_json() for row in rows]}, indent=2) + "\n")
    else:
        out.write(
            table(
                ("run", "workflow", "state", "started", "finished"),
                [(r.run_id, r.workflow, r.state, r.started_at, r.finished_at or "-") for r in rows],
            )
        )
    return EXIT_CLEAN


def workflows_text(workflows: list[WorkflowSpec]) -> str:
    """A workflow a line: its name, where it is declared, its steps (and their needs)."""
    rows = []
    for spec in workflows:
        steps = [
            step.id
            + (f" (needs {', '.join(step.needs)})" if step.needs else "")
            + ("" if step.uses == step.id else f" [{step.uses}]")
            for step in spec.steps
        ]
        rows.append((spec.name, spec.origin, "; ".join(steps)))
    return table(("workflow", "from", "steps"), rows)


def workflows_json(workflows: list[WorkflowSpec]) -> str:
    """`{workflows: [{name, preset, steps: [{id, uses, needs}]}]}`."""
    shown = [
        {
            "name": spec.name,
            "preset": spec.preset,
            "steps": [
                {"id": step.id, "uses": step.uses, "needs": list(step.needs)} for step in spec.steps
            ],
        }
        for spec in workflows
    ]
    return json.dumps({"workflows": shown}, indent=2) + "\n"

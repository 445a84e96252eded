"""Workflow results in the editor, and problems in the workflows' declarations.

A finished run's findings for each file it covered are kept per workflow (the next run
of the same workflow replaces them) with the digest of the content they were found in,
and shown beside the file's own review: `delivery.diagnostics_for` adds the findings
whose content is the one shown (a save makes them go away until the workflow runs
again), leaving out those the review shows already (ruff's and mypy's). A file with
no review of its own is published with the workflow's findings alone.

Problems in `[tool.tapps.workflows]` are diagnostics on pyproject.toml, at their lines;
those in the client's settings are shown once with `window/showMessage`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from lsprotocol import types

from tapps_lsp.analyzers.admission import read_for_review
from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.findings import FileReport, Finding, Span
from tapps_lsp.analyzers.text import split_lines
from tapps_lsp.analyzers.workflows.load import WorkflowProblem
from tapps_lsp.analyzers.workflows.step import StepOutput
from tapps_lsp.server.lsp.batch_publish import WorkspaceReport
from tapps_lsp.server.lsp.convert import PositionMapper
from tapps_lsp.server.lsp.delivery import deliver, diagnostics_for, refresh_soon
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.session import Folder
from tapps_lsp.server.lsp.workflow_layers import WorkflowFindings

PROBLEM_SOURCE = "tapps-workflows"


def publish_run(
    ls: TappsServer, workflow: str, files: Iterable[Path], outputs: Mapping[str, StepOutput]
) -> None:
    """Replace `workflow`'s findings on every file the run covered, and show them."""
    by_path: dict[str, list[Finding]] = {}
    for output in outputs.values():
        for name, found in output.findings.items():
            by_path.setdefault(name, []).extend(found)
    for path in files:
        findings = tuple(dict.fromkeys(by_path.get(str(path), ())))
        layers = ls.session.workflow_findings.setdefault(str(path), {})
        if not findings and workflow not in layers:
            continue
        # The steps read the file from disk: their findings are about that content.
        limit = ls.session.folder_for(path).settings.max_file_size
        text = read_for_review(path, limit)[0]
        if text is None:
            continue
        layer = WorkflowFindings(content_hash(text), findings)
        if layers.get(workflow) == layer:
            continue  # the same run's findings again: what the editor shows stands
        layers[workflow] = layer
        _show(ls, path, text)


def _show(ls: TappsServer, path: Path, text: str) -> None:
    uri = path.as_uri()
    threshold = ls.session.folder_for(path).settings.score_threshold
    state = ls.session.documents.get(uri)
    if uri in ls.workspace.text_documents:
        if state is not None and state.report is not None:
            deliver(
                ls,
                uri,
                state,
                state.report,
                text=state.report_text,
                version=state.report_version,
                threshold=threshold,
            )
        return
    shown = ls.session.workspace_reports.get(uri)
    if shown is None or shown.report.content_hash != content_hash(text):
        shown = WorkspaceReport(_bare_report(path, text), text)
        ls.session.workspace_reports[uri] = shown
    ls.session.workspace_changed()
    if ls.client.pulls:
        refresh_soon(ls)
        return
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(
            uri=uri, diagnostics=diagnostics_for(ls, shown.report, shown.text, threshold)
        )
    )


def _bare_report(path: Path, text: str) -> FileReport:
    digest = content_hash(text)
    return FileReport(
        str(path), digest, None, None, None, complete=True, result_id=f"workflows:{digest}"
    )


def publish_problems(ls: TappsServer, folder: Folder) -> None:
    """The folder's workflow problems: on pyproject.toml (always published, so fixed
    ones go away), and those of the client's settings as a message, once each."""
    if folder.workflows is None:
        return
    problems = folder.workflows.problems
    pyproject = folder.root / "pyproject.toml"
    placed = [p for p in problems if p.path == pyproject]
    if placed or pyproject.as_uri() in ls.session.shown_messages:
        ls.session.shown_messages.add(pyproject.as_uri())
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=pyproject.as_uri(),
                diagnostics=_problem_diagnostics(ls, pyproject, placed),
            )
        )
    for problem in problems:
        if problem.path is None:
            key = f"workflows:{folder.root}:{problem}"
            if key not in ls.session.shown_messages:
                ls.session.shown_messages.add(key)
                ls.window_show_message(
                    types.ShowMessageParams(
                        type=types.MessageType.Warning, message=f"tapps-lsp settings: {problem}"
                    )
                )


def _problem_diagnostics(
    ls: TappsServer, pyproject: Path, problems: list[WorkflowProblem]
) -> list[types.Diagnostic]:
    try:
        lines = split_lines(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        lines = []
    mapper = PositionMapper(lines, ls.client.position_encoding)
    diagnostics = []
    for problem in problems:
        line = lines[problem.line] if problem.line < len(lines) else ""
        start = len(line) - len(line.lstrip())
        diagnostics.append(
            types.Diagnostic(
                range=mapper.range(Span(problem.line, start, problem.line, len(line))),
                message=str(problem),
                severity=types.DiagnosticSeverity.Error,
                source=PROBLEM_SOURCE,
            )
        )
    return diagnostics

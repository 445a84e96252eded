"""Each file's findings from the last run of each workflow, and those of them a
diagnostics answer adds to the file's own review (server.lsp.workflow_publish keeps
them; server.lsp.delivery shows them)."""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.findings import FileReport, Finding
from tapps_lsp.server.lsp.convert import PositionMapper, finding_to_diagnostic
from tapps_lsp.server.lsp.language_server import TappsServer


@dataclass(frozen=True, slots=True)
class WorkflowFindings:
    """One workflow's findings on one file, and the digest of the content they are about."""

    content_hash: str
    findings: tuple[Finding, ...]


def layer_findings(ls: TappsServer, report: FileReport) -> tuple[list[Finding], str]:
    """The workflows' findings for the content `report` reviewed that it does not show
    itself, and a token of them for pull result ids ('' when there are none)."""
    layers = ls.session.workflow_findings.get(report.path)
    if not layers:
        return [], ""
    # One finding per place: a security step's `S` finding is ruff's own when the
    # project selects `S` itself, and two workflows' ruff steps find the same.
    seen = {_same_place(f) for f in report.findings}
    found: list[Finding] = []
    names = []
    for name, layer in sorted(layers.items()):
        if layer.content_hash != report.content_hash or not layer.findings:
            continue
        names.append(name)
        for finding in layer.findings:
            place = _same_place(finding)
            if place not in seen:
                seen.add(place)
                found.append(finding)
    if not found:
        return [], ""
    token = content_hash("\n".join(names) + repr(found))[:12]
    return found, token


def layer_diagnostics(
    ls: TappsServer, report: FileReport, mapper: PositionMapper
) -> list[types.Diagnostic]:
    found, _token = layer_findings(ls, report)
    return [finding_to_diagnostic(finding, mapper) for finding in found]


def _same_place(finding: Finding) -> tuple[object, ...]:
    return (finding.code, finding.span, finding.message)

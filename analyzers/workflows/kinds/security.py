"""The `security` step: ruff's `S` rules (flake8-bandit) on top of the project's own selection.

ruff runs with the project's configuration plus `--extend-select` of the step's `select`
(`S` by default), and only the findings of the selected rules are kept, as
`tapps-security`. A rule selected on the command line outranks the config's `ignore`, so
what the project's ruff config ignores inside the selection (`S101`, `S3`) is ignored
again on the command line: the project's word on one rule stands. An ignore as wide as a
selector (`S` itself) is not repeated: it says only that the project does not run those
rules on every save, which is what this step is for. `per-file-ignores` and `# noqa`
apply as ever.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.cache.keys import KeyBuilder
from tapps_lsp.analyzers.configs import read_text, read_toml, ruff_config_files, tool_table
from tapps_lsp.analyzers.findings import Finding, Source
from tapps_lsp.analyzers.ruff import run_ruff_batch
from tapps_lsp.analyzers.workflows.kinds.analysis import AnalysisKind
from tapps_lsp.analyzers.workflows.kinds.options import Option
from tapps_lsp.analyzers.workflows.sources import read_sources
from tapps_lsp.analyzers.workflows.step import StepFailed, StepInput, StepOutput

# Bumped when what the step keeps or ignores changes: part of its version.
_RULES = "security-1"
_TRANSIENT = ("crash", "timeout")
_SELECTOR = re.compile(r"[A-Z]{1,5}[0-9]{0,4}")


def _selectors(value: object) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(code, str) and _SELECTOR.fullmatch(code) and code != "ALL" for code in value
    )


_SCHEMA = (
    Option(
        "select",
        'a non-empty list of ruff rule codes or prefixes, such as ["S"] or ["S", "B"]',
        lambda value: _selectors(value) and bool(value),
        ("S",),
    ),
    Option("ignore", 'a list of ruff rule codes or prefixes, such as ["S101"]', _selectors, ()),
)


def selects(selector: str, code: str) -> bool:
    """Whether ruff's `selector` covers the rule `code` (or the narrower selector): a
    prefix that ends inside the linter's letters does not (`S` is flake8-bandit, not
    flake8-simplify's `SIM`), except `PL`, pylint's `PLC`, `PLE`, `PLR` and `PLW`."""
    if not code.startswith(selector):
        return False
    rest = code[len(selector) :]
    return not rest or selector[-1].isdigit() or rest[0].isdigit() or selector == "PL"


@dataclass(frozen=True, slots=True)
class SecurityKind(AnalysisKind):
    async def version(self, step: StepInput) -> str:
        """ruff's version, the step's rules, our ruff settings and the ruff configs the
        files are under: the executor keys a step on its files' content and options only."""
        ruff = (await step.reviewer.versions()).ruff or ""
        settings_key = step.settings.tool_key("ruff")
        configs = await asyncio.to_thread(_configs_digest, step.files, settings_key)
        return f"ruff {ruff}; {_RULES}; configs {configs}"

    async def run(self, step: StepInput) -> StepOutput:
        settings = step.settings
        if not settings.ruff.enabled:
            return StepOutput({}, {"files": 0, "note": "ruff is turned off in the settings"})
        versions = await step.reviewer.versions()
        if versions.ruff is None:
            failure = versions.ruff_failure
            message = failure.message if failure is not None else "ruff: no version"
            transient = failure is not None and failure.kind in _TRANSIENT
            raise StepFailed(message, transient=transient)
        read = self.options_of(step)
        select, ignore = tuple(read["select"]), tuple(read["ignore"])
        sources = await read_sources(step.files, settings.max_file_size)
        groups = await asyncio.to_thread(_by_project_ignores, sources.texts, select)
        findings: dict[str, tuple[Finding, ...]] = {}
        for project_ignores, texts in groups.items():
            flags = _flags(select, (*project_ignores, *ignore))
            ruff = replace(settings.ruff, args=(*settings.ruff.args, *flags))
            results = await run_ruff_batch(
                ruff, texts, cwd=step.root, timeout=step.timeout, version=versions.ruff
            )
            for path, result in results.items():
                if result.failure is not None:
                    transient = result.failure.kind in _TRANSIENT
                    raise StepFailed(result.failure.message, transient=transient)
                kept = _kept(result.findings, select)
                if kept:
                    findings[str(path)] = kept
        return StepOutput(findings, _summary(findings, len(sources.texts), len(sources.refused)))


def _flags(select: Sequence[str], ignore: Sequence[str]) -> list[str]:
    flags = ["--extend-select", ",".join(select)]
    if ignore:
        flags += ["--ignore", ",".join(dict.fromkeys(ignore))]
    return flags


def _kept(found: Iterable[Finding], select: Sequence[str]) -> tuple[Finding, ...]:
    return tuple(
        replace(finding, source=Source.SECURITY)
        for finding in found
        if finding.code and any(selects(selector, finding.code) for selector in select)
    )


def _summary(
    findings: Mapping[str, tuple[Finding, ...]], files: int, refused: int
) -> dict[str, Any]:
    rules: dict[str, int] = {}
    for found in findings.values():
        for finding in found:
            code = finding.code or ""
            rules[code] = rules.get(code, 0) + 1
    summary: dict[str, Any] = {
        "files": files,
        "findings": sum(rules.values()),
        "filesWithFindings": len(findings),
        "rules": dict(sorted(rules.items())),
    }
    if refused:
        summary["notReviewed"] = refused
    return summary


def _by_project_ignores(
    texts: Mapping[Path, str], select: Sequence[str]
) -> dict[tuple[str, ...], dict[Path, str]]:
    """The files grouped by what their ruff configs ignore inside the selection: one ruff
    run per group (one in almost every project)."""
    by_folder: dict[Path, tuple[str, ...]] = {}
    groups: dict[tuple[str, ...], dict[Path, str]] = {}
    for path, text in texts.items():
        if path.parent not in by_folder:
            by_folder[path.parent] = _narrower_ignores(ruff_config_files(path), select)
        groups.setdefault(by_folder[path.parent], {})[path] = text
    return groups


def _narrower_ignores(configs: Iterable[Path], select: Sequence[str]) -> tuple[str, ...]:
    """The configs' ignores inside a selector and narrower than it. Every config that can
    shape the path counts, also one further up than the nearest (ruff reads that one only):
    that rare excess only ever leaves out a rule the user ignores elsewhere."""
    found: list[str] = []
    for config in configs:
        section = read_toml(config)
        if config.name == "pyproject.toml":
            section = tool_table(section, "ruff")
        lint = section.get("lint")
        for table in (section, lint if isinstance(lint, dict) else {}):
            for key in ("ignore", "extend-ignore"):
                codes = table.get(key)
                if isinstance(codes, list):
                    found.extend(code for code in codes if isinstance(code, str))
    return tuple(
        dict.fromkeys(
            code
            for code in found
            if any(selects(selector, code) and code != selector for selector in select)
        )
    )


def _configs_digest(files: Sequence[Path], settings_key: str) -> str:
    one_per_folder = {path.parent: path for path in files}.values()
    configs = {config for path in one_per_folder for config in ruff_config_files(path)}
    key = KeyBuilder().add("settings", settings_key)
    for config in sorted(configs):
        key.add("config", f"{config}\n{read_text(config)}")
    return key.digest()


SECURITY = SecurityKind(name="security", tool="ruff", schema=_SCHEMA)

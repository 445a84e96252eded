"""Every cache key's recipe: what each stored result depends on, from plain values.

A result read back under a key must be the result a run would give now, so a recipe
names everything that can change it. Nothing here reads a file or runs a tool: the
callers gather the values (config texts, digests, versions) and the recipes combine them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tapps_lsp.analyzers.cache.keys import KeyBuilder

LAST_KNOWN_PREFIX = "lastmypy:v1:"
METRICS_PREFIX = "metrics:v1:"


def generation(ruff_version: str | None, mypy_version: str | None, formula: int) -> str:
    """The store's generation for results of these tools: entries of any other are pruned."""
    return f"ruff={ruff_version};mypy={mypy_version};formula={formula}"


def ruff_key(
    path: Path,
    content: str,
    *,
    version: str,
    configs: Iterable[tuple[Path, str]],
    settings_key: str,
) -> str:
    """ruff's result for one file: its content, its path (per-file rules), ruff's version,
    every config file that applies to the path (with its text) and our ruff settings."""
    key = KeyBuilder().add("tool", "ruff").add("version", version).add("path", str(path))
    for config, text in configs:
        key.add("config", f"{config}\n{text}")
    return key.add("settings", settings_key).add("content", content).digest()


@dataclass(frozen=True, slots=True)
class MypyKeyContext:
    """What every file's mypy key shares within one project and one moment."""

    version: str
    config_text: str
    settings_key: str
    targets: str
    environment: str


def mypy_key(path: Path, content: str, imports: str, context: MypyKeyContext) -> str:
    """mypy's result for one file: its content, the digest of every project module it
    imports directly or not (`imports`), and the project's context."""
    return (
        KeyBuilder()
        .add("tool", "mypy")
        .add("version", context.version)
        .add("config", context.config_text)
        .add("settings", context.settings_key)
        .add("targets", context.targets)
        .add("environment", context.environment)
        .add("file", str(path))
        .add("content", content)
        .add("imports", imports)
        .digest()
    )


def last_known_key(path: Path, content: str) -> str:
    """Points at the newest stored mypy result for this content of this file."""
    return (
        f"{LAST_KNOWN_PREFIX}{KeyBuilder().add('path', str(path)).add('content', content).digest()}"
    )


def metrics_key(content: str) -> str:
    """A content's code metrics depend on the content alone."""
    return f"{METRICS_PREFIX}{content}"


def run_key(root: Path, targets: Iterable[str], sources: str | None) -> str:
    """Two reviews share a project run only if they saw the same sources."""
    key = KeyBuilder().add("root", str(root)).add("targets", "\0".join(targets))
    if sources is not None:
        key.add("sources", sources)
    return key.digest()


def result_id(
    ruff: str | None,
    mypy: str | None,
    *,
    blocked: bool,
    formula: int,
    severity: Mapping[str, object],
) -> str:
    """Two reports with one id say the same: the same keys, and both blocked or not."""
    return (
        KeyBuilder()
        .add("ruff", ruff)
        .add("mypy", mypy)
        .add("blocked", blocked)
        .add("formula", formula)
        .add("severity", repr(sorted(severity.items())))
        .digest()
    )


def workflow_step_key(
    kind: str,
    *,
    version: str,
    options: str,
    files: Iterable[tuple[str, str]],
    configs: Iterable[tuple[str, str]],
) -> str:
    """A workflow step's output (analyzers.workflows): its kind and the version of what
    it runs, its options (canonical JSON), every covered file (workspace-relative path and
    content digest) and every config file that applies to them (path and text digest)."""
    key = KeyBuilder().add("tool", f"workflow-step:{kind}").add("version", version)
    key.add("options", options)
    key.add_many("file", files)
    return key.add_many("config", configs).digest()


# The store's generation of workflow step outputs (kept by every prune).
WORKFLOW_STEPS_GENERATION = "workflow-steps=1"

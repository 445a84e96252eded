"""The output formats of `tapps-lsp run`, the same five as `check`'s, each written once
the run has ended."""

from __future__ import annotations

from collections.abc import Callable

from tapps_lsp.server.cli.run_formats import html, json_report, markdown, sarif, text
from tapps_lsp.server.cli.run_formats.common import FinishedRun

RUN_RENDERERS: dict[str, Callable[[FinishedRun], str]] = {
    "text": text.render,
    "json": json_report.render,
    "markdown": markdown.render,
    "html": html.render,
    "sarif": sarif.render,
}

__all__ = ["RUN_RENDERERS", "FinishedRun"]

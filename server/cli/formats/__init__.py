"""The output formats of `tapps-lsp check`. Plain modules: none of them imports pygls."""

from __future__ import annotations

from collections.abc import Callable

from tapps_lsp.server.cli.formats import html, json_report, markdown, sarif
from tapps_lsp.server.cli.formats.common import CheckRun

FORMATS = ("text", "json", "markdown", "html", "sarif")

# The formats written once every file is done; `text` streams (see server.cli.formats.text).
RENDERERS: dict[str, Callable[[CheckRun], str]] = {
    "json": json_report.render,
    "markdown": markdown.render,
    "html": html.render,
    "sarif": sarif.render,
}

__all__ = ["FORMATS", "RENDERERS", "CheckRun"]

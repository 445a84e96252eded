"""`tapps-lsp recommend [PATH...] [--since REV]`: which preset the change deserves
(analyzers.recommend), from the files given or from what changed since a git revision."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tapps_lsp.analyzers.changes import ChangesError, changes_since
from tapps_lsp.analyzers.files import discover, python_files
from tapps_lsp.analyzers.recommend import recommend
from tapps_lsp.analyzers.workspace import make_reviewer, open_store, project_root, project_settings

EXIT_CLEAN, EXIT_ERROR = 0, 2


@dataclass(slots=True)
class RecommendOptions:
    paths: list[Path]
    since: str | None = None
    project: Path | None = None
    output_format: str = "text"
    trust: bool = False
    programs: dict[str, Any] = field(default_factory=dict)


def run_recommend(
    options: RecommendOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    if options.paths and options.since:
        err.write("tapps-lsp recommend: give PATHs or --since REV, not both\n")
        return EXIT_ERROR
    missing = [p for p in options.paths if not p.exists()]
    if missing:
        err.write("".join(f"tapps-lsp: no such file or folder: {p}\n" for p in missing))
        return EXIT_ERROR
    try:
        answer = asyncio.run(_recommend(options))
    except ChangesError as exc:
        err.write(f"tapps-lsp recommend: {exc}\n")
        return EXIT_ERROR
    if options.output_format == "json":
        out.write(json.dumps(answer, indent=2) + "\n")
    else:
        out.write(f"{answer['preset']} (confidence {answer['confidence']:.1f})\n")
        out.write("".join(f"  - {reason}\n" for reason in answer["reasons"]))
    return EXIT_CLEAN


async def _recommend(options: RecommendOptions) -> dict[str, Any]:
    start = options.project or (options.paths[0] if options.paths else Path.cwd())
    root = project_root(start.resolve())
    layer = {**options.programs, "trustedWorkspace": options.trust}
    settings, _problems = project_settings(root, layer)
    reviewer = make_reviewer(root, settings, open_store(root, settings))
    try:
        if options.since is not None:
            files = await asyncio.to_thread(lambda: list(discover(root, exclude=settings.exclude)))
            changed = (await changes_since(root, options.since, files)).lines
        else:
            given = [p.resolve() for p in options.paths] or [root]
            found = python_files(given, exclude=settings.exclude, base=root)
            changed = dict.fromkeys(found)
        return (await recommend(reviewer, changed)).as_json(root)
    finally:
        await reviewer.close()
        reviewer.store.close()

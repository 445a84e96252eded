"""`tapps.writeBaseline {paths?}` and `tapps.baselineStatus`: the project's
`.tapps/baseline.json` recorded from a review of the files, and how much of it still
matches.

`writeBaseline` reviews `paths` (files or folders; by default every workspace folder),
records their findings in their project's baseline (other files' entries are kept),
and shows every reviewed file again under the new baseline. `baselineStatus` reviews the
files the baselines name (cache hits when nothing changed) and counts entries that
still match a finding and those that are fixed (stale): a file gone counts all its
entries fixed.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

from tapps_lsp.analyzers.baseline import store
from tapps_lsp.analyzers.baseline.project import Reviewed, recorded, reviewed_of, status
from tapps_lsp.analyzers.batch import BatchFile
from tapps_lsp.analyzers.files import python_files
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.workspace import project_root
from tapps_lsp.server.lsp.arguments import Arguments, invalid, workspace_path
from tapps_lsp.server.lsp.batch_publish import publish_batch_file
from tapps_lsp.server.lsp.language_server import TappsServer
from tapps_lsp.server.lsp.review_commands import CommandContext, new_batch

WRITE_BASELINE = "tapps.writeBaseline"
BASELINE_STATUS = "tapps.baselineStatus"


def parse_write_baseline(ls: TappsServer, args: Arguments) -> list[Path]:
    given = args.strings("paths")
    args.done()
    if not given:
        return list(ls.session.folders)
    paths = [workspace_path(ls, args.command, value, "paths") for value in dict.fromkeys(given)]
    for path, value in zip(paths, given, strict=False):
        if not path.exists():
            raise invalid(args.command, f"no such file or folder: {value}")
    return paths


def parse_baseline_status(ls: TappsServer, args: Arguments) -> None:
    args.done()


async def write_baseline(context: CommandContext, paths: list[Path]) -> dict[str, Any]:
    ls = context.ls
    files = await asyncio.to_thread(_files_under, ls, paths)
    done = await _review(context, files)
    by_root: dict[Path, list[Reviewed]] = defaultdict(list)
    for item in done:
        if item.report is not None:
            by_root[project_root(item.path)].append(reviewed_of(item))
    written: list[dict[str, Any]] = []
    for root, reviewed in by_root.items():
        baseline = store.write(root, recorded(ls.session.baselines.get(root), reviewed))
        ls.session.baselines.forget(root)
        written.append({"path": str(store.baseline_path(root)), "entries": baseline.count()})
    for item in done:
        publish_batch_file(ls, item)
    return {"files": len(done), "baselines": written}


async def baseline_status(context: CommandContext, request: None) -> dict[str, Any]:
    ls = context.ls
    roots = {project_root(folder) for folder in ls.session.folders}
    baselines = {root: ls.session.baselines.get(root) for root in roots}
    named = {
        root / relative: root
        for root, baseline in baselines.items()
        for relative in baseline.files
        if (root / relative).is_file()
    }
    files = [(_reviewer(ls, path), path) for path in named]
    done = await _review(context, files) if files else []
    reviewed: dict[Path, list[Reviewed]] = defaultdict(list)
    for item in done:
        if item.report is not None:
            reviewed[named[item.path]].append(reviewed_of(item))
    entries = matching = fixed = 0
    for root, baseline in baselines.items():
        counted = status(baseline, reviewed[root])
        seen = sum(len(baseline.entries(store.relative_path(root, r.path))) for r in reviewed[root])
        entries += counted.entries
        matching += counted.matching
        # Entries of files gone or not reviewed (not Python any more) are fixed too.
        fixed += counted.fixed + counted.entries - seen
    return {"entries": entries, "matching": matching, "fixed": fixed}


def _files_under(ls: TappsServer, paths: list[Path]) -> list[tuple[Reviewer, Path]]:
    """The Python files under `paths` (blocking: walks), without what `exclude` names."""
    found: dict[Path, None] = {}
    for path in paths:
        exclude = ls.session.folder_for(path).settings.exclude
        found.update(dict.fromkeys(python_files([path], exclude=exclude, base=project_root(path))))
    return [(_reviewer(ls, path), path) for path in found]


async def _review(context: CommandContext, files: list[tuple[Reviewer, Path]]) -> list[BatchFile]:
    done: list[BatchFile] = []
    batch = new_batch(
        context.ls, files, on_file=done.append, progress=context.progress, relative_to=None
    )
    await batch.run()
    return done


def _reviewer(ls: TappsServer, path: Path) -> Reviewer:
    reviewer = ls.session.folder_for(path).reviewer
    assert reviewer is not None, "every folder has a reviewer once configured"
    return reviewer

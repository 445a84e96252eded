"""Baseline benchmark: rich's ruff findings baselined, then 3 lines inserted at the top of
10 files with findings (0 new findings expected), then an unused import injected at the
top of one of them (reported: its F401, and I001 for the import block it joins).

Runs the real CLI (`python -m tapps_lsp.server check`) on a working copy of the rich
15.0.0 corpus (bench/corpus.py) with mypy turned off in the copy's `[tool.tapps]`, so the
figures are about ruff's findings and the matching alone.

Command line: ``python bench/baseline.py [--corpus DIR] [--output FILE]``; prints the
figures as JSON and writes them to ``--output``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from corpus import prepare_rich, working_copy

HERE = Path(__file__).resolve().parent
INSERTED = "# inserted by bench/baseline.py\n# a second line\n# a third line\n"
INJECTED = "import zipimport\n"
FILES_EDITED = 10


def check(root: Path, *flags: str) -> tuple[dict[str, Any], float]:
    """`check rich --format json` in `root`: the JSON document and the wall time (s)."""
    command = [sys.executable, "-m", "tapps_lsp.server", "check", "rich", "--format", "json"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, *flags], cwd=root, capture_output=True, text=True, timeout=600, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode == 2:
        raise SystemExit(f"check failed: {done.stderr}")
    document: dict[str, Any] = json.loads(done.stdout)
    return document, elapsed


def files_with_findings(document: dict[str, Any], root: Path) -> list[Path]:
    found = [
        root / entry["path"]
        for entry in document["files"]
        if entry.get("report") and entry["report"]["ruff"]["findings"]
    ]
    return sorted(found)


def run(corpus_dir: Path) -> dict[str, Any]:
    corpus = prepare_rich(corpus_dir, Path(sys.executable), install_deps=False)
    with tempfile.TemporaryDirectory(prefix="tapps-bench-baseline-") as scratch:
        work = working_copy(corpus, Path(scratch))
        pyproject = work.root / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + "\n[tool.tapps.mypy]\nenabled = false\n")
        full, full_s = check(work.root, "--no-baseline")
        findings = full["summary"]["findings"]["total"]
        written, write_s = check(work.root, "--write-baseline")
        edited = files_with_findings(full, work.root)[:FILES_EDITED]
        for path in edited:
            path.write_text(INSERTED + path.read_text())
        moved, moved_s = check(work.root)
        edited[0].write_text(INJECTED + edited[0].read_text())
        injected, _ = check(work.root)
        new_files = [
            e for e in injected["files"] if e.get("report", {}).get("ruff", {}).get("findings")
        ]
        entries = json.loads((work.root / ".tapps" / "baseline.json").read_text())["files"]
        return {
            "ruffFindings": findings,
            "baselineEntries": sum(len(v) for v in entries.values()),
            "filesEdited": len(edited),
            "newAfterInsert": moved["summary"]["findings"]["total"],
            "baselinedAfterInsert": moved["summary"]["baselined"],
            "newAfterInject": injected["summary"]["findings"]["total"],
            "injectedReported": [
                (e["path"], f["code"]) for e in new_files for f in e["report"]["ruff"]["findings"]
            ],
            "checkNoBaselineS": round(full_s, 2),
            "writeBaselineS": round(write_s, 2),
            "checkWithBaselineS": round(moved_s, 2),
            "writtenSummaryBaselined": written["summary"]["baselined"],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=HERE / ".corpus")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "baseline.json")
    args = parser.parse_args(argv)
    figures = run(args.corpus)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    injected_codes = {code for _path, code in figures["injectedReported"]}
    ok = figures["newAfterInsert"] == 0 and "F401" in injected_codes
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

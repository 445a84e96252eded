"""`tapps-lsp check` with a baseline: writing it, lines inserted and duplicated, pruning,
`--no-baseline`, and SARIF's fingerprints and `baselineState`, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import run_check

INSERTED = "# one\n# two\n# three\n"


def insert_above(path: Path, text: str = INSERTED) -> None:
    path.write_text(text + path.read_text())


def summary_of(stdout: str) -> str:
    return stdout.splitlines()[-1]


def test_round_trip_with_lines_inserted_and_a_line_duplicated(basic_project: Path) -> None:
    written = run_check("app", "--write-baseline", cwd=basic_project)
    assert written.returncode == 0, written.stderr
    assert "wrote 6 entries" in written.stderr
    assert ", 0 new findings (0 errors, 0 warnings), 6 baselined," in summary_of(written.stdout)
    baseline = basic_project / ".tapps" / "baseline.json"
    first = baseline.read_text()
    for name in ("lint.py", "typeerr.py", "unicode.py"):
        insert_above(basic_project / "app" / name)
    moved = run_check("app", cwd=basic_project)
    assert moved.returncode == 0, moved.stdout
    assert ", 0 new findings (0 errors, 0 warnings), 6 baselined," in summary_of(moved.stdout)
    assert baseline.read_text() == first, "check alone never rewrites the baseline"

    lint = basic_project / "app" / "lint.py"
    lint.write_text(lint.read_text().replace("import os\n", "import os\nimport os\n"))
    doubled = run_check("app", "--fail-on", "warning", cwd=basic_project)
    assert doubled.returncode == 1
    new = [line for line in doubled.stdout.splitlines() if line.startswith("app/lint.py:")]
    assert new and all(line.startswith("app/lint.py:5:") for line in new), new
    everything = run_check("app", "--no-baseline", cwd=basic_project)
    assert "6 baselined" not in everything.stdout
    assert "app/typeerr.py:4:14: assignment" in everything.stdout


def test_pruning_removes_fixed_entries_only(basic_project: Path) -> None:
    assert run_check("app", "--write-baseline", cwd=basic_project).returncode == 0
    lint = basic_project / "app" / "lint.py"
    lint.write_text(lint.read_text().replace("import os\n", ""))
    pruned = run_check("app/lint.py", "--prune-baseline", cwd=basic_project)
    assert "pruned 1 fixed entries" in pruned.stderr
    files = json.loads((basic_project / ".tapps" / "baseline.json").read_text())["files"]
    assert "app/lint.py" not in files and len(files["app/unicode.py"]) == 4
    status = run_check("app", "--format", "json", cwd=basic_project)
    assert json.loads(status.stdout)["summary"]["baselined"] == 5


def results(stdout: str) -> list[dict[str, Any]]:
    runs = json.loads(stdout)["runs"]
    return [result for run in runs for result in run["results"] if result["ruleId"] != "score"]


def identities(found: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["ruleId"],
            r["partialFingerprints"]["primaryLocationLineHash"],
        )
        for r in found
    }


def test_sarif_fingerprints_are_stable_with_lines_inserted(basic_project: Path) -> None:
    before = results(run_check("app", "--format", "sarif", cwd=basic_project).stdout)
    assert len(before) == 6 and all("baselineState" not in r for r in before)
    for name in ("lint.py", "typeerr.py", "unicode.py"):
        insert_above(basic_project / "app" / name)
    after = results(run_check("app", "--format", "sarif", cwd=basic_project).stdout)
    assert identities(after) == identities(before)
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after} != {
        r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in before
    }
    assert run_check("app", "--write-baseline", cwd=basic_project).returncode == 0
    lint = basic_project / "app" / "lint.py"
    insert_above(lint, "import sys\n")
    states = results(run_check("app", "--format", "sarif", cwd=basic_project).stdout)
    new = [r for r in states if r["baselineState"] == "new"]
    assert len(states) == 7 and [r["ruleId"] for r in new] == ["F401"]

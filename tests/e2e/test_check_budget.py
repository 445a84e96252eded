"""`tapps-lsp check --min-severity` (every format, and the exit code) and
`check --format json --max-tokens N` (compact JSON within N tokens, every level), and
the same flags on `tapps-lsp run`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import run_check


def budgeted(root: Path, max_tokens: int, *more: str) -> dict[str, Any]:
    done = run_check(".", "--format", "json", "--max-tokens", str(max_tokens), *more, cwd=root)
    assert done.returncode == 1, done.stderr  # basic has errors
    text = done.stdout
    answer = json.loads(text)
    assert text.endswith("\n") and "\n" not in text[:-1], "one compact line"
    assert answer["budget"]["estimatedTokens"] == math.ceil((len(text) - 1) / 4)
    assert len(text) - 1 <= 4 * max_tokens
    return answer


def test_max_tokens_fits_gives_the_levels_and_counts_what_is_left_out(basic_project: Path) -> None:
    full = budgeted(basic_project, 100_000)["budget"]
    assert full["level"] == "green" and full["omitted"]["total"] == 0
    levels = {
        share: budgeted(basic_project, int(full["fullTokens"] / share))
        for share in (0.6, 0.8, 0.95, 1.15)
    }
    assert [answer["budget"]["level"] for answer in levels.values()] == [
        "yellow",
        "orange",
        "red",
        "red",
    ]
    cut = levels[1.15]
    kept = cut["findings"]["list"]
    assert len(kept) + cut["budget"]["omitted"]["total"] == cut["findings"]["total"] == 6
    assert "--min-severity" in cut["budget"]["hint"] and "fewer PATHs" in cut["budget"]["hint"]
    assert all(not Path(f["path"]).is_absolute() for f in kept), "relative to the cwd"

    errors_only = budgeted(basic_project, 500, "--min-severity", "error")
    assert errors_only["findings"]["total"] == 3
    assert {f["severity"] for f in errors_only["findings"]["list"]} == {"error"}


def test_min_severity_applies_to_every_format_and_the_exit_code(basic_project: Path) -> None:
    text = run_check(".", "--min-severity", "error", cwd=basic_project)
    assert "[ruff]" not in text.stdout and "[mypy]" in text.stdout
    assert "app/lint.py" in text.stdout and "0 errors/0 warnings" in text.stdout
    assert text.returncode == 1

    report = json.loads(
        run_check(".", "--format", "json", "--min-severity", "error", cwd=basic_project).stdout
    )
    assert report["summary"]["findings"]["bySeverity"] == {"error": 3}
    findings = [f for entry in report["files"] for f in entry["report"]["ruff"]["findings"]]
    assert findings == []

    sarif = run_check(".", "--format", "sarif", "--min-severity", "error", cwd=basic_project)
    assert '"F401"' not in sarif.stdout.split('"results"', 1)[1]

    lint = run_check("app/lint.py", "--fail-on", "warning", cwd=basic_project)
    assert lint.returncode == 1
    floored = run_check(
        "app/lint.py", "--fail-on", "warning", "--min-severity", "error", cwd=basic_project
    )
    assert floored.returncode == 0, "a finding below the floor does not fail the check"


def test_max_tokens_needs_json_and_a_positive_number(basic_project: Path) -> None:
    assert run_check(".", "--max-tokens", "500", cwd=basic_project).returncode == 2
    assert (
        "--max-tokens needs --format json"
        in run_check(".", "--max-tokens", "5", cwd=basic_project).stderr
    )
    bad = run_check(".", "--format", "json", "--max-tokens", "0", cwd=basic_project)
    assert bad.returncode == 2 and "--max-tokens" in bad.stderr
    bad = run_check(".", "--min-severity", "fatal", cwd=basic_project)
    assert bad.returncode == 2 and "--min-severity" in bad.stderr


def test_run_takes_the_same_floor_and_budget(basic_project: Path) -> None:
    run = [sys.executable, "-m", "tapps_lsp.server", "run"]

    def ran(*more: str, paths: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*run, "standard", *paths, *more],
            cwd=basic_project,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    text = ran("--min-severity", "error")
    assert "[ruff]" not in text.stdout and " ruff " not in text.stdout.split("\n\n")[0]
    assert "3 findings (3 errors, 0 warnings)" in text.stdout and text.returncode == 1
    assert (
        ran("--fail-on", "warning", "--min-severity", "error", paths=("app/lint.py",)).returncode
        == 0
    )

    done = ran("--format", "json", "--max-tokens", "300")
    answer = json.loads(done.stdout)
    budget = answer["budget"]
    assert budget["estimatedTokens"] == math.ceil((len(done.stdout) - 1) / 4) <= 300
    kept = sum(len(step["findings"]) for step in answer["report"]["steps"])
    assert kept + budget["omitted"]["total"] == answer["report"]["findings"]["total"] == 6
    assert ran("--max-tokens", "300").returncode == 2, "--max-tokens needs --format json"


def test_the_baseline_sees_every_finding_whatever_the_floor(basic_project: Path) -> None:
    written = run_check(".", "--write-baseline", "--min-severity", "error", cwd=basic_project)
    assert written.returncode in (0, 1), written.stderr
    entries = json.loads((basic_project / ".tapps" / "baseline.json").read_text())
    assert "F401" in json.dumps(entries), "the warnings below the floor are baselined too"
    pruned = run_check(".", "--prune-baseline", "--min-severity", "error", cwd=basic_project)
    assert pruned.returncode == 0, pruned.stderr
    assert "F401" in (basic_project / ".tapps" / "baseline.json").read_text(), "not pruned"
    assert run_check(".", "--fail-on", "warning", cwd=basic_project).returncode == 0

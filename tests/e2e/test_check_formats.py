"""`tapps-lsp check --format markdown|html|sarif`, `--stats` and streamed lines, with real
ruff and mypy runs on copies of the fixtures."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema

from tests.e2e.conftest import FIXTURES, copy_fixture
from tests.e2e.test_cli import CHECK, run_check

# The official SARIF 2.1.0 schema; where it comes from: tests/fixtures/README.md.
SARIF_SCHEMA = FIXTURES / "sarif-schema-2.1.0.json"


def with_less_than(project: Path) -> Path:
    """A file whose mypy message holds `<`, `(` and quotes."""
    path = project / "app" / "compare.py"
    path.write_text('ok = 1 < "a"\n')
    return path


def test_markdown_lists_the_worst_file_first(basic_project: Path) -> None:
    done = run_check("app", "--format", "markdown", cwd=basic_project)
    assert done.returncode == 1, done.stderr
    text = done.stdout
    assert text.startswith("## tapps-lsp check\n")
    assert "| 6 | 0 | 6 | 3 | 3 | 94.8 | 80 |" in text
    files = text.split("### Files, worst first")[1].split("### Findings")[0]
    rows = [line for line in files.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows[:3]] == [
        "app/unicode.py",
        "app/typeerr.py",
        "app/lint.py",
    ]
    assert rows[0].startswith("| `app/unicode.py` | 80 | 2 | 2 |")
    assert "<details><summary><code>app/lint.py</code> · 1 finding</summary>" in text
    assert (
        "| 1:8 | warning | [`F401`](https://docs.astral.sh/ruff/rules/unused-import)"
        " | `os` imported but unused | ruff |" in text
    )


def test_html_is_one_self_contained_page_with_escaped_messages(basic_project: Path) -> None:
    with_less_than(basic_project)
    done = run_check("app", "--format", "html", cwd=basic_project)
    assert done.returncode == 1, done.stderr
    page = done.stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "Unsupported operand types for &lt; (&quot;int&quot; and &quot;str&quot;)" in page
    assert "for < (" not in page
    for external in ("<script", "<link", " src=", "@import", "url("):
        assert external not in page
    assert "<svg" in page and "90&ndash;100: 6 files" in page and "80&ndash;89: 1 file<" in page
    listed = re.findall(r"<tr><td>(?:<a href='#file-\d+'>)?<code>([^<]+)</code>", page)
    assert listed[0] == "app/unicode.py" and listed[-3:] == [
        "app/__init__.py",
        "app/a.py",
        "app/b.py",
    ]


def sarif_of(project: Path, *paths: str) -> dict[str, Any]:
    done = run_check(*paths, "--format", "sarif", cwd=project)
    assert done.returncode == 1, done.stderr
    log: dict[str, Any] = json.loads(done.stdout)
    return log


def test_sarif_validates_against_the_schema(basic_project: Path) -> None:
    log = sarif_of(basic_project, "app")
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)
    assert log["version"] == "2.1.0"
    runs = {run["tool"]["driver"]["name"]: run for run in log["runs"]}
    assert set(runs) == {"ruff", "mypy", "tapps"}
    for name in ("ruff", "mypy"):
        driver = runs[name]["tool"]["driver"]
        assert driver["version"] and driver["informationUri"].startswith("https://")
        assert all(rule["helpUri"].startswith("https://") for rule in driver["rules"])
        root = runs[name]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        assert root == basic_project.resolve().as_uri() + "/"
    assert [r["ruleId"] for r in runs["ruff"]["results"]] == ["F401", "E702", "E702"]
    assert {r["level"] for r in runs["mypy"]["results"]} == {"error"}
    assert runs["tapps"]["results"] == []  # every score is above the threshold (70)


def test_sarif_regions_count_utf16_code_units(basic_project: Path) -> None:
    log = sarif_of(basic_project, "app/unicode.py", "app/lint.py")
    [mypy] = [run for run in log["runs"] if run["tool"]["driver"]["name"] == "mypy"]
    second = mypy["results"][1]
    assert second["ruleId"] == "arg-type"
    location = second["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "app/unicode.py", "uriBaseId": "%SRCROOT%"}
    # Line 5 is `emoji = "😀😀"; f(a="é😀")`: the finding is the argument `"é😀"`. Each
    # emoji is two UTF-16 code units, so the columns are not the code-point ones.
    line = (basic_project / "app" / "unicode.py").read_text().splitlines()[4]
    start = line.index('"é😀"')
    end = start + len('"é😀"')
    assert location["region"] == {
        "startLine": 5,
        "startColumn": len(line[:start].encode("utf-16-le")) // 2 + 1,
        "endLine": 5,
        "endColumn": len(line[:end].encode("utf-16-le")) // 2 + 1,
    }
    assert location["region"]["startColumn"] == start + 3
    [ruff] = [run for run in log["runs"] if run["tool"]["driver"]["name"] == "ruff"]
    [unused] = [r for r in ruff["results"] if r["ruleId"] == "F401"]
    assert unused["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1,
        "startColumn": 8,
        "endLine": 1,
        "endColumn": 10,
    }


def test_sarif_reports_a_score_below_the_threshold(basic_project: Path) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.tapps]\nscore-threshold = 95\n")
    log = sarif_of(basic_project, "app")
    [tapps] = [run for run in log["runs"] if run["tool"]["driver"]["name"] == "tapps"]
    low = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r
        for r in tapps["results"]
    }
    assert set(low) == {"app/unicode.py", "app/typeerr.py"}
    assert low["app/unicode.py"]["properties"] == {"score": 80, "threshold": 95}
    assert low["app/unicode.py"]["message"]["text"].startswith("Quality 80/100")
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text()))


def slow_project(root: Path, modules: int = 150) -> Path:
    """A project whose cold mypy run takes a second or more: modules of small classes,
    each module importing the one before."""
    package = root / "chain"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for n in range(modules):
        parts = [f"from chain.m{n - 1} import Last{n - 1}\n" if n else ""]
        for k in range(30):
            name = f"C{n}_{k}"
            parts.append(
                f"class {name}:\n    def __init__(self, v: int) -> None:\n        self.v = v\n\n"
                f"    def add(self, o: {name}) -> {name}:\n        return {name}(self.v + o.v)\n"
            )
        parts.append(f"class Last{n}:\n    x: int = 1\n")
        (package / f"m{n}.py").write_text("from __future__ import annotations\n" + "\n".join(parts))
    (root / "pyproject.toml").write_text('[tool.mypy]\nfiles = ["chain"]\n')
    return root


def test_a_project_s_lines_arrive_while_another_project_s_run_goes_on(tmp_path: Path) -> None:
    """The two projects' mypy runs go on at once; the small one's files are printed as
    soon as its run ends, while the big one's still runs."""
    copy_fixture("basic", tmp_path)
    slow_project(tmp_path / "big")
    started = time.monotonic()
    with subprocess.Popen(
        [*CHECK, "big/chain", "basic/app", "--no-cache", "--fail-on", "none"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        first_at = time.monotonic() - started
        still_running = process.poll() is None
        rest = process.stdout.read()
        process.wait(timeout=300)
        ended_at = time.monotonic() - started
    assert process.returncode == 0, process.stderr
    assert re.fullmatch(r"basic/app/\w+\.py +\d+  \d+ errors/\d+ warnings\n", first), first
    # A report written at the end would leave next to no gap.
    assert still_running and ended_at - first_at > 0.2, (first_at, ended_at)
    lines = [first, *rest.splitlines(keepends=True)]
    assert sum("errors/" in line for line in lines) == 6 + 151
    assert lines[-1].startswith("157 files, ")


def test_stats_go_to_stderr(basic_project: Path) -> None:
    cold = run_check("app", "--stats", "--format", "json", cwd=basic_project)
    warm = run_check("app", "--stats", "--format", "json", cwd=basic_project)
    assert json.loads(warm.stdout)["summary"]["cache"]["hits"] == 6
    assert "files     6 (6 reviewed, 0 skipped)" in cold.stderr
    assert "cache     0 hits, 6 misses, hit rate 0%" in cold.stderr
    assert "cache     6 hits, 0 misses, hit rate 100%" in warm.stderr
    stages = cold.stderr.split("stages", 1)[1]
    assert re.search(r"\d+\.\d+ s  mypy on basic", stages), cold.stderr
    assert "duration  " in warm.stderr
    assert "files" not in run_check("app", cwd=basic_project).stderr


def test_every_format_keeps_the_exit_codes(basic_project: Path) -> None:
    for output in ("text", "json", "markdown", "html", "sarif"):
        assert run_check("app/b.py", "--format", output, cwd=basic_project).returncode == 0
        assert run_check("app/typeerr.py", "--format", output, cwd=basic_project).returncode == 1


def test_the_exclude_setting_is_relative_to_the_project(basic_project: Path) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.tapps]\nexclude = ["app/lint.py"]\n')
    for given in (".", "app"):
        done = run_check(given, "--fail-on", "none", cwd=basic_project)
        files = [line.split()[0] for line in done.stdout.splitlines() if "errors/" in line]
        assert "app/lint.py" not in files and "app/b.py" in files, (given, done.stdout)
    direct = run_check("app/lint.py", "--fail-on", "none", cwd=basic_project)
    assert "app/lint.py" in direct.stdout

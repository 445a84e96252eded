"""Cache keys end to end: the Reviewer with the real ruff and mypy on a small project.

A hit must be exactly as good as a fresh run, so every test here checks both
directions: what must be served from the cache is, and what must run again does.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.analyzers.cache.store import MemoryStore
from tapps_lsp.analyzers.findings import FileReport
from tapps_lsp.analyzers.review import Reviewer
from tapps_lsp.analyzers.ruff import ruff_command
from tapps_lsp.analyzers.settings import ToolSettings, build_settings, merge_layers
from tapps_lsp.analyzers.workspace import make_reviewer

RUFF = " ".join(shlex.quote(part) for part in ruff_command(ToolSettings()))

PROJECT = {
    "pyproject.toml": '[project]\nname = "demo"\n\n[tool.mypy]\nwarn_unused_ignores = true\n',
    "ruff.toml": '[lint]\nselect = ["F"]\n',
    "app/__init__.py": "",
    "app/models.py": "def make() -> int:\n    return 1\n",
    "app/main.py": "import os\n\nfrom app.models import make\n\nvalue: int = make()\n",
    "app/other.py": "x = 1\n",
}


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache folder for the whole module: typeshed is analysed once."""
    return tmp_path_factory.mktemp("tapps_cache")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    for name, text in PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def reviewer_for(root: Path, cache: Path, **layer: Any) -> Reviewer:
    settings, problems = build_settings(merge_layers({"cache": {"dir": str(cache)}}, layer))
    assert problems == []
    return make_reviewer(root, settings, MemoryStore())


async def review(reviewer: Reviewer, path: Path, text: str | None = None) -> FileReport:
    """The complete report; the partial one (ruff only) may come first."""
    reports = [r async for r in reviewer.review(path, path.read_text() if text is None else text)]
    assert reports[-1].complete
    assert all(not r.complete for r in reports[:-1])
    return reports[-1]


def codes(report: FileReport, tool: str) -> list[str | None]:
    result = report.ruff if tool == "ruff" else report.mypy
    assert result is not None
    assert result.failure is None, result.failure
    return sorted((f.code for f in result.findings), key=str)


def cached(report: FileReport) -> tuple[bool, bool]:
    assert report.ruff is not None
    assert report.mypy is not None
    return report.ruff.cached, report.mypy.cached


async def test_the_same_content_twice_is_a_hit(project: Path, mypy_cache: Path) -> None:
    reviewer = reviewer_for(project, mypy_cache)
    main = project / "app" / "main.py"
    first = await review(reviewer, main)
    assert cached(first) == (False, False)
    assert codes(first, "ruff") == ["F401"]
    assert codes(first, "mypy") == []
    second = await review(reviewer, main)
    assert cached(second) == (True, True)
    assert second.findings == first.findings
    assert second.result_id == first.result_id
    assert (reviewer.hits, reviewer.misses) == (1, 1)


async def test_an_edited_import_makes_mypy_miss_and_ruff_hit(
    project: Path, mypy_cache: Path
) -> None:
    reviewer = reviewer_for(project, mypy_cache)
    main = project / "app" / "main.py"
    await review(reviewer, main)
    assert cached(await review(reviewer, main)) == (True, True)
    # main.py is unchanged, but what it imports now returns a str.
    (project / "app" / "models.py").write_text("def make() -> str:\n    return ''\n")
    after = await review(reviewer, main)
    assert cached(after) == (True, False)
    assert codes(after, "mypy") == ["assignment"]
    assert cached(await review(reviewer, main)) == (True, True)


async def test_a_transitive_import_counts_too(project: Path, mypy_cache: Path) -> None:
    (project / "app" / "models.py").write_text(
        "from app.base import Base\n\ndef make() -> Base:\n    return 1\n"
    )
    (project / "app" / "base.py").write_text("Base = int\n")
    reviewer = reviewer_for(project, mypy_cache)
    main = project / "app" / "main.py"
    assert codes(await review(reviewer, main), "mypy") == []
    (project / "app" / "base.py").write_text("Base = bytes\n")
    after = await review(reviewer, main)
    assert cached(after) == (True, False)
    assert codes(after, "mypy") == ["assignment"]


async def test_an_import_from_a_namespace_package_counts(project: Path, mypy_cache: Path) -> None:
    """tools/ has no __init__.py, yet mypy follows `tools.helpers` to tools/helpers.py."""
    (project / "tools").mkdir()
    (project / "tools" / "helpers.py").write_text("def size() -> int:\n    return 1\n")
    main = project / "app" / "main.py"
    main.write_text("from tools.helpers import size\n\nvalue: int = size()\n")
    reviewer = reviewer_for(project, mypy_cache)
    assert codes(await review(reviewer, main), "mypy") == []
    (project / "tools" / "helpers.py").write_text("def size() -> str:\n    return ''\n")
    after = await review(reviewer, main)
    assert cached(after) == (True, False)
    assert codes(after, "mypy") == ["assignment"]


async def test_an_unrelated_edit_keeps_the_hit(project: Path, mypy_cache: Path) -> None:
    reviewer = reviewer_for(project, mypy_cache)
    main = project / "app" / "main.py"
    first = await review(reviewer, main)
    (project / "app" / "other.py").write_text("x: int = 'not an int'\n")
    after = await review(reviewer, main)
    assert cached(after) == (True, True)
    assert after.findings == first.findings
    # ...and the edited module itself is checked afresh.
    other = await review(reviewer, project / "app" / "other.py")
    assert other.mypy is not None
    assert not other.mypy.cached
    assert codes(other, "mypy") == ["assignment"]


async def test_a_changed_ruff_config_makes_ruff_miss(project: Path, mypy_cache: Path) -> None:
    reviewer = reviewer_for(project, mypy_cache)
    main = project / "app" / "main.py"
    await review(reviewer, main)
    (project / "ruff.toml").write_text('[lint]\nselect = ["F", "I"]\nignore = ["F401"]\n')
    after = await review(reviewer, main)
    assert cached(after) == (False, True)  # mypy does not read ruff.toml
    assert codes(after, "ruff") == []
    assert cached(await review(reviewer, main)) == (True, True)


async def test_requires_python_makes_ruff_miss(tmp_path: Path, mypy_cache: Path) -> None:
    """ruff infers its target version from a pyproject.toml that has no [tool.ruff]."""
    root = tmp_path / "proj"
    root.mkdir()
    pyproject = root / "pyproject.toml"
    pyproject.write_text('[project]\nname = "p"\nrequires-python = ">=3.8"\n')
    target = root / "mod.py"
    target.write_text("from typing import Optional\n\nx: Optional[int] = None\n")
    reviewer = reviewer_for(
        root, mypy_cache, ruff={"args": ["--select", "UP045"]}, mypy={"enabled": False}
    )
    first = await review(reviewer, target)
    assert first.ruff is not None
    assert codes(first, "ruff") == []
    pyproject.write_text('[project]\nname = "p"\nrequires-python = ">=3.12"\n')
    after = await review(reviewer, target)
    assert after.ruff is not None
    assert not after.ruff.cached
    assert codes(after, "ruff") == ["UP045"]


async def test_changed_settings_make_only_that_tool_miss(project: Path, mypy_cache: Path) -> None:
    store = MemoryStore()
    main = project / "app" / "main.py"

    def reviewer(**layer: Any) -> Reviewer:
        settings, problems = build_settings({"cache": {"dir": str(mypy_cache)}, **layer})
        assert problems == []
        return make_reviewer(project, settings, store)

    assert cached(await review(reviewer(), main)) == (False, False)
    assert cached(await review(reviewer(), main)) == (True, True)
    # The same targets mypy would pick anyway, but spelled out: a different setting.
    assert cached(await review(reviewer(mypy={"targets": ["app"]}), main)) == (True, False)
    after = await review(reviewer(ruff={"args": ["--ignore", "F401"]}), main)
    assert cached(after) == (False, True)
    assert codes(after, "ruff") == []


@pytest.fixture
def counting_ruff(tmp_path: Path) -> tuple[Path, Path]:
    """A ruff that logs each run and then is the real ruff: a real run, only counted."""
    log = tmp_path / "ruff-runs.log"
    script = tmp_path / "counting-ruff"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> "{log}"\n'
        'case "$1" in check) sleep 0.2 ;; esac\n'  # long enough for both reviews to overlap
        f'exec {RUFF} "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def check_runs(log: Path) -> int:
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if line.startswith("check"))


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for ruff")
async def test_two_concurrent_reviews_share_one_ruff_run(
    project: Path, mypy_cache: Path, counting_ruff: tuple[Path, Path]
) -> None:
    script, log = counting_ruff
    reviewer = reviewer_for(
        project, mypy_cache, ruff={"path": str(script)}, mypy={"enabled": False}
    )
    main = project / "app" / "main.py"
    text = "import sys\n\nprint(undefined_name)\n"
    one, two = await asyncio.gather(review(reviewer, main, text), review(reviewer, main, text))
    assert check_runs(log) == 1
    # Both waited for that one run: neither was served from the cache.
    for report in (one, two):
        assert report.ruff is not None
        assert not report.ruff.cached
        assert codes(report, "ruff") == ["F401", "F821"]
    assert one.findings == two.findings
    # The run was stored: a third review is a hit and runs nothing.
    third = await review(reviewer, main, text)
    assert third.ruff is not None
    assert third.ruff.cached
    assert check_runs(log) == 1
    # Different content is a different run.
    await review(reviewer, main, text + "\n")
    assert check_runs(log) == 2


async def _collect(iterator: AsyncIterator[FileReport]) -> list[FileReport]:
    return [report async for report in iterator]


async def test_an_unsaved_edit_is_reviewed_as_its_text(project: Path, mypy_cache: Path) -> None:
    reviewer = reviewer_for(project, mypy_cache)
    main = project / "app" / "main.py"
    saved = await review(reviewer, main)
    unsaved = "from app.models import make\n\nvalue: str = make()\n"
    edited = (await _collect(reviewer.review(main, unsaved)))[-1]
    assert cached(edited) == (False, False)
    assert codes(edited, "mypy") == ["assignment"]
    assert codes(edited, "ruff") == []
    # The saved text is still the saved text: served from the cache as before.
    again = await review(reviewer, main)
    assert cached(again) == (True, True)
    assert again.findings == saved.findings


async def test_moving_a_ruff_config_makes_ruff_miss(project: Path, mypy_cache: Path) -> None:
    (project / "ruff.toml").write_text(
        '[lint]\nselect = ["F"]\nper-file-ignores = {"app/*" = ["F401"]}\n'
    )
    reviewer = reviewer_for(project, mypy_cache)
    main = project / "app" / "main.py"
    assert codes(await review(reviewer, main), "ruff") == []
    (project / "ruff.toml").rename(project / "app" / "ruff.toml")
    moved = await review(reviewer, main)
    assert moved.ruff is not None and not moved.ruff.cached
    assert codes(moved, "ruff") == ["F401"]


async def test_a_failed_run_is_not_the_answer_once_its_config_changed(
    project: Path, mypy_cache: Path
) -> None:
    """Within a batch a failed project run answers for the same sources; a config fixed
    meanwhile (not a source) must be tried, not answered with the old failure."""
    config = project / "pyproject.toml"
    good = config.read_text()
    config.write_text(good.replace("warn_unused_ignores = true", "python_version = 2.7"))
    reviewer = reviewer_for(project, mypy_cache, mypy={"engine": False})
    with reviewer.batch():
        broken = await review(reviewer, project / "app" / "main.py")
        assert broken.mypy is not None and broken.mypy.failure is not None
        again = await review(reviewer, project / "app" / "models.py")
        assert again.mypy is not None and again.mypy.failure == broken.mypy.failure
        config.write_text(good)
        fixed = await review(reviewer, project / "app" / "other.py")
    assert codes(fixed, "mypy") == []

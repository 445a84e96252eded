"""Open and save: ruff first, then mypy and the score, for the version reviewed."""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types

from tests.e2e.conftest import Session, start_session, stop_session


async def test_open_publishes_ruff_first_then_mypy_and_score(basic: Session) -> None:
    uri = basic.uri("app/lint.py")
    mark = basic.open("app/lint.py")
    first = await basic.wait_for(lambda p: p.uri == uri, after=mark)
    assert first.sources == {"ruff"}
    assert first.version == 1
    assert [d.code for d in first.diagnostics] == ["F401"]
    complete = await basic.wait_complete("app/lint.py", after=mark)
    assert complete.version == 1
    score = complete.by_source("tapps")
    assert len(score) == 1 and score[0].code == "score"
    assert score[0].range.start.line == 0
    assert score[0].message.startswith("Quality ")
    assert isinstance(score[0].data, dict) and 0 <= score[0].data["score"]["total"] <= 100


async def test_save_publishes_new_mypy_findings(basic: Session) -> None:
    mark = basic.open("app/typeerr.py")
    opened = await basic.wait_complete("app/typeerr.py", after=mark)
    [error] = opened.by_source("mypy")
    assert error.code == "assignment"
    assert error.severity == types.DiagnosticSeverity.Error
    assert error.range == types.Range(types.Position(0, 13), types.Position(0, 19))
    assert error.code_description is not None and "assignment" in error.code_description.href

    mark = basic.save("app/typeerr.py", "count: int = 0\n")
    saved = await basic.wait_complete("app/typeerr.py", after=mark)
    assert saved.version == 2
    assert saved.by_source("mypy") == []


async def test_dependency_edit_changes_another_files_result(basic: Session) -> None:
    mark = basic.open("app/a.py")
    assert (await basic.wait_complete("app/a.py", after=mark)).by_source("mypy") == []
    basic.close("app/a.py")

    mark = basic.open("app/b.py")
    await basic.wait_complete("app/b.py", after=mark)
    new_b = basic.text("app/b.py").replace("def value() -> int:", "def value() -> str:")
    new_b = new_b.replace("return ONE", "return str(ONE)")
    mark = basic.save("app/b.py", new_b)
    assert (await basic.wait_complete("app/b.py", after=mark)).by_source("mypy") == []

    mark = basic.open("app/a.py")
    reopened = await basic.wait_complete("app/a.py", after=mark)
    [error] = reopened.by_source("mypy")
    assert error.code == "return-value"
    assert 'got "str"' in error.message


async def test_same_size_edit_within_the_same_second(basic: Session) -> None:
    """mypy trusts (size, whole-second mtime): the server must force the recheck."""
    path = basic.root / "app/b.py"
    second = int(path.stat().st_mtime)
    os.utime(path, ns=(second * 10**9 + 100_000_000,) * 2)
    mark = basic.open("app/b.py")
    assert (await basic.wait_complete("app/b.py", after=mark)).by_source("mypy") == []

    old = path.read_text()
    new = old.replace("return ONE", 'return "a"')
    assert len(new) == len(old)
    mark = basic.save("app/b.py", new)
    os.utime(path, ns=(second * 10**9 + 200_000_000,) * 2)
    saved = await basic.wait_complete("app/b.py", after=mark)
    [error] = saved.by_source("mypy")
    assert error.code == "return-value"


async def test_syntax_error_in_an_imported_module_keeps_stale_findings(basic: Session) -> None:
    a_text = basic.text("app/a.py") + '\n\nbroken: int = "x"\n'
    (basic.root / "app/a.py").write_text(a_text)
    mark = basic.open("app/a.py")
    before = await basic.wait_complete("app/a.py", after=mark)
    assert [d.code for d in before.by_source("mypy")] == ["assignment"]

    mark = basic.open("app/b.py")
    await basic.wait_complete("app/b.py", after=mark)
    mark = basic.save("app/b.py", basic.text("app/b.py") + "\ndef broken(:\n")
    b_result = await basic.wait_complete("app/b.py", after=mark)
    assert any(d.code == "syntax" for d in b_result.by_source("mypy"))
    assert any(
        d.source == "ruff" and d.severity == types.DiagnosticSeverity.Error
        for d in b_result.diagnostics
    )
    score = b_result.by_source("tapps")[0]
    assert "syntax error" in score.message and score.data["score"]["total"] is None

    mark = basic.save("app/a.py", a_text)
    after = await basic.wait_complete("app/a.py", after=mark)
    mypy = after.by_source("mypy")
    blocked = [d for d in mypy if d.code == "blocked"]
    stale = [d for d in mypy if d.code == "assignment"]
    assert len(blocked) == 1 and "app/b.py" in blocked[0].message
    assert blocked[0].related_information
    assert len(stale) == 1 and "[stale]" in stale[0].message


async def test_config_file_change_re_reviews_open_files(basic: Session) -> None:
    mark = basic.open("app/lint.py")
    before = await basic.wait_complete("app/lint.py", after=mark)
    assert [d.code for d in before.by_source("ruff")] == ["F401"]

    pyproject = basic.root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'select = ["E", "F", "S"]', 'select = ["E", "F", "S"]\nignore = ["F401"]'
        )
    )
    mark = len(basic.publishes)
    basic.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    after = await basic.wait_complete("app/lint.py", after=mark)
    assert after.by_source("ruff") == []


async def test_only_the_newest_version_is_published(basic: Session) -> None:
    uri = basic.uri("app/typeerr.py")
    mark = basic.open("app/typeerr.py")
    await basic.wait_complete("app/typeerr.py", after=mark)
    mark = basic.save("app/typeerr.py", 'first: int = "one"\n')
    basic.save("app/typeerr.py", "second: str = 2\n")
    final = await basic.wait_for(
        lambda p: p.uri == uri and p.complete and p.version == 3, after=mark
    )
    [error] = final.by_source("mypy")
    assert "int" in error.message and error.range.start.character == 14
    late = [p for p in basic.publishes[mark:] if p.uri == uri and p.version == 2 and p.complete]
    assert late == []


async def test_cache_hit_after_restart_publishes_everything_at_once(basic_project: Path) -> None:
    session = await start_session(basic_project)
    try:
        mark = session.open("app/typeerr.py")
        await session.wait_complete("app/typeerr.py", after=mark)
    finally:
        await stop_session(session)

    restarted = await start_session(basic_project)
    try:
        mark = restarted.open("app/typeerr.py")
        first = await restarted.wait_for(
            lambda p: p.uri == restarted.uri("app/typeerr.py"), after=mark
        )
        assert first.complete, "a cache hit publishes ruff, mypy and the score together"
        assert [d.code for d in first.by_source("mypy")] == ["assignment"]
        info = await restarted.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="tapps.printDebugInformation")
        )
        assert info["folders"][0]["cache"]["hits"] >= 1
    finally:
        await stop_session(restarted)

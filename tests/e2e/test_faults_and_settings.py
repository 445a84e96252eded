"""Bad input and faults get a clear message and lose nothing; settings apply live."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, make_test_lsp_client

from tapps_lsp.analyzers.workspace import user_cache_folder
from tests.e2e.conftest import Session, copy_fixture, start_session, stop_session


def _fake_tool(folder: Path, name: str, body: str) -> Path:
    """A stand-in executable for faults no real mypy can be made to produce on demand."""
    script = folder / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


async def test_a_hung_mypy_times_out_once_and_ruff_still_arrives(
    basic_project: Path, tmp_path: Path
) -> None:
    # Fault injection: a real mypy cannot be made to hang on demand, so a script that
    # sleeps stands in for it.
    hung = _fake_tool(tmp_path, "mypy", "sleep 30")
    options = {"mypy": {"path": str(hung)}, "timeout": 1}
    session = await start_session(basic_project, initialization_options=options)
    try:
        mark = session.open("app/lint.py")
        opened = await session.wait_complete("app/lint.py", after=mark)
        assert [d.code for d in opened.by_source("ruff")] == ["F401"]
        assert opened.by_source("tapps")[0].message.startswith("Quality ")
        mark = session.save("app/lint.py", session.text("app/lint.py"))
        await session.wait_complete("app/lint.py", after=mark)
        timeouts = [m for m in session.client.messages if "timed out" in m.message]
        assert len(timeouts) == 1
    finally:
        await stop_session(session)


async def test_a_mypy_config_error_is_shown_once(basic_project: Path) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "warn_unreachable = 'maybe'\n")
    session = await start_session(basic_project)
    try:
        for name in ("app/typeerr.py", "app/lint.py"):
            mark = session.open(name)
            await session.wait_complete(name, after=mark)
        shown = [m for m in session.client.messages if "warn_unreachable" in m.message]
        assert len(shown) == 1
        assert shown[0].type == types.MessageType.Warning
    finally:
        await stop_session(session)


async def test_a_corrupt_cache_database_is_rebuilt(basic_project: Path) -> None:
    cache = user_cache_folder(basic_project)  # an untrusted workspace's cache
    cache.mkdir(parents=True)
    (cache / "results.sqlite3").write_bytes(b"this is not a database" * 100)
    session = await start_session(basic_project)
    try:
        mark = session.open("app/typeerr.py")
        publish = await session.wait_complete("app/typeerr.py", after=mark)
        assert [d.code for d in publish.by_source("mypy")] == ["assignment"]
    finally:
        await stop_session(session)
    assert (cache / "results.sqlite3.corrupt").exists()


async def test_non_utf8_binary_and_huge_files_get_a_clear_diagnostic(
    basic_project: Path,
) -> None:
    (basic_project / "app/latin1.py").write_bytes('name = "café"\n'.encode("latin-1"))
    (basic_project / "app/huge.py").write_text("x = 1\n" * 50)
    options = {"maxFileSize": 200}
    session = await start_session(basic_project, initialization_options=options)
    try:
        mark = session.open("app/latin1.py", text='name = "café"\n')
        latin = await session.wait_complete("app/latin1.py", after=mark)
        mark = session.open("app/huge.py")
        huge = await session.wait_complete("app/huge.py", after=mark)
        mark = session.open("app/binary.py", text="x = 1\x00\n")
        binary = await session.wait_complete("app/binary.py", after=mark)
    finally:
        await stop_session(session)
    assert "not valid UTF-8" in latin.diagnostics[0].message
    assert (
        "over the" in huge.diagnostics[0].message and "maxFileSize" in huge.diagnostics[0].message
    )
    assert "binary" in binary.diagnostics[0].message


async def test_settings_change_applies_without_restart(basic: Session) -> None:
    mark = basic.open("app/lint.py")
    before = await basic.wait_complete("app/lint.py", after=mark)
    assert before.by_source("ruff")
    mark = len(basic.publishes)
    basic.client.set_configuration({"ruff": {"enabled": False}}, section="tapps")
    basic.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    after = await basic.wait_complete("app/lint.py", after=mark)
    assert after.by_source("ruff") == []


async def test_score_below_threshold_is_a_warning_and_severity_overrides_apply(
    basic_project: Path,
) -> None:
    options = {"scoreThreshold": 101, "severity": {"F401": "error", "mypy:assignment": "hint"}}
    session = await start_session(basic_project, initialization_options=options)
    try:
        mark = session.open("app/lint.py")
        lint = await session.wait_complete("app/lint.py", after=mark)
        mark = session.open("app/typeerr.py")
        typeerr = await session.wait_complete("app/typeerr.py", after=mark)
    finally:
        await stop_session(session)
    assert lint.by_source("tapps")[0].severity == types.DiagnosticSeverity.Warning
    assert lint.by_source("ruff")[0].severity == types.DiagnosticSeverity.Error
    assert typeerr.by_source("mypy")[0].severity == types.DiagnosticSeverity.Hint


async def test_pyproject_tool_tapps_settings_and_bad_keys(basic_project: Path) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + "\n[tool.tapps]\nscore-threshold = 101\nno-such-key = 1\n"
    )
    session = await start_session(basic_project)
    try:
        mark = session.open("app/b.py")
        publish = await session.wait_complete("app/b.py", after=mark)
    finally:
        await stop_session(session)
    assert publish.by_source("tapps")[0].severity == types.DiagnosticSeverity.Warning
    assert any("no_such_key" in m.message for m in session.client.messages)


async def test_multi_root_folders_keep_their_own_settings(tmp_path: Path) -> None:
    first = copy_fixture("basic", tmp_path / "one")
    second = copy_fixture("basic", tmp_path / "two")
    (second / "pyproject.toml").write_text(
        (second / "pyproject.toml").read_text() + "\n[tool.tapps.ruff]\nenabled = false\n"
    )
    session = await start_session(first)
    try:
        session.client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                event=types.WorkspaceFoldersChangeEvent(
                    added=[types.WorkspaceFolder(uri=second.as_uri(), name="two")], removed=[]
                )
            )
        )
        await asyncio.sleep(0.5)
        mark = session.open("app/lint.py")
        in_first = await session.wait_complete("app/lint.py", after=mark)
        other = Session(session.client, second, session.publishes, session._arrived)
        mark = other.open("app/lint.py")
        in_second = await other.wait_complete("app/lint.py", after=mark)
    finally:
        await stop_session(session)
    assert in_first.by_source("ruff") and in_second.by_source("ruff") == []


async def test_stdio_flag_is_accepted_and_tcp_serves(basic_project: Path) -> None:
    session = await start_session(basic_project, env={})
    await stop_session(session)
    port = 20000 + os.getpid() % 20000
    server = subprocess.Popen(
        [sys.executable, "-m", "tapps_lsp.server", "serve", "--tcp", "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )
    client: LanguageClient = make_test_lsp_client()
    try:
        for _ in range(100):
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=types.ClientCapabilities(), root_uri=basic_project.as_uri()
                )
            ),
            30,
        )
        assert result.server_info is not None and result.server_info.name == "tapps-lsp"
        await asyncio.wait_for(client.shutdown_session(), 30)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
        await client.stop()


@pytest.mark.parametrize("flag", [["--stdio"], []])
def test_console_script_accepts_stdio_flag(flag: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tapps_lsp.server", *flag],
        input=b"",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


async def test_a_file_outside_the_workspace_is_reviewed_without_writing_beside_it(
    basic_project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "loose.py").write_text('count: int = "zero"\n')
    cache_home = tmp_path / "xdg-cache"
    session = await start_session(basic_project, env={"XDG_CACHE_HOME": str(cache_home)})
    try:
        loose = Session(session.client, outside, session.publishes, session._arrived)
        mark = loose.open("loose.py")
        publish = await loose.wait_complete("loose.py", after=mark)
    finally:
        await stop_session(session)
    assert [d.code for d in publish.by_source("mypy")] == ["assignment"]
    assert not (outside / ".tapps_cache").exists()
    assert list((cache_home / "tapps-lsp").iterdir())


async def test_a_ruff_config_error_is_shown_once_and_mypy_still_arrives(
    basic_project: Path,
) -> None:
    pyproject = basic_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('select = ["E", "F", "S"]', "select = 7"))
    session = await start_session(basic_project)
    try:
        for name in ("app/typeerr.py", "app/lint.py"):
            mark = session.open(name)
            publish = await session.wait_complete(name, after=mark)
        assert publish.by_source("ruff") == []
        typeerr = [p for p in session.publishes if p.uri.endswith("typeerr.py") and p.complete]
        assert [d.code for d in typeerr[-1].by_source("mypy")] == ["assignment"]
        assert "lint n/a" in typeerr[-1].by_source("tapps")[0].message
        shown = [m for m in session.client.messages if m.message.startswith("ruff:")]
        assert len(shown) == 1 and shown[0].type == types.MessageType.Error
    finally:
        await stop_session(session)


async def test_a_crashing_mypy_is_reported_and_ruff_still_arrives(
    basic_project: Path, tmp_path: Path
) -> None:
    # Fault injection: a real mypy cannot be made to crash on demand; this stand-in
    # prints a traceback and exits 2 the way mypy's internal errors do.
    crash = _fake_tool(
        tmp_path,
        "mypy",
        'case "$1" in --version) echo "mypy 9.9.9";; *) echo "Traceback (most recent call'
        ' last):" >&2; echo "INTERNAL ERROR: boom" >&2; exit 2;; esac',
    )
    session = await start_session(
        basic_project, initialization_options={"mypy": {"path": str(crash)}}
    )
    try:
        mark = session.open("app/lint.py")
        publish = await session.wait_complete("app/lint.py", after=mark)
        assert [d.code for d in publish.by_source("ruff")] == ["F401"]
        crashes = [m for m in session.client.messages if "INTERNAL ERROR" in m.message]
        assert len(crashes) == 1 and crashes[0].type == types.MessageType.Error
    finally:
        await stop_session(session)


async def test_severity_overrides_do_not_change_the_score(basic_project: Path) -> None:
    """`severity` changes how findings are shown, not what the tools found."""
    totals = []
    for options in ({}, {"severity": {"mypy:assignment": "hint", "F401": "error"}}):
        session = await start_session(basic_project, initialization_options=options)
        try:
            for name in ("app/typeerr.py", "app/lint.py"):
                mark = session.open(name)
                publish = await session.wait_complete(name, after=mark)
                data = publish.by_source("tapps")[0].data
                assert isinstance(data, dict)
                totals.append((name, data["score"]["total"]))
        finally:
            await stop_session(session)
    assert totals[:2] == totals[2:]
    assert totals[0][1] < 100 and totals[1][1] < 100


async def test_a_save_reviews_the_synced_text_not_the_text_sent_with_it(
    basic: Session,
) -> None:
    """ALE 3.3 sends a save's text with literal `\\n` between lines."""
    basic.open("app/lint.py")
    fixed = "x = 1\n"
    uri = basic.uri("app/lint.py")
    mark = len(basic.publishes)
    (basic.root / "app/lint.py").write_text(fixed)
    basic.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    basic.client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri), text="x = 1\\n\\ny =")
    )
    publish = await basic.wait_complete("app/lint.py", after=mark)
    assert publish.by_source("ruff") == [] and publish.by_source("mypy") == []


async def test_flat_settings_pushed_by_a_client_that_cannot_be_asked(basic_project: Path) -> None:
    """ALE and others push settings in didChangeConfiguration, with no "tapps" key and no
    workspace/configuration to answer; they apply as initializationOptions do."""
    capabilities = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True)
        )
    )
    session = await start_session(basic_project, capabilities=capabilities)
    try:
        mark = session.open("app/b.py")
        before = await session.wait_complete("app/b.py", after=mark)
        assert before.by_source("tapps")[0].severity == types.DiagnosticSeverity.Information
        mark = len(session.publishes)
        session.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"scoreThreshold": 101})
        )
        after = await session.wait_complete("app/b.py", after=mark)
        assert after.by_source("tapps")[0].severity == types.DiagnosticSeverity.Warning
    finally:
        await stop_session(session)

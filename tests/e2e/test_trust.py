"""Opening a repository never runs its programs, unless the client says it is trusted.

Over real stdio and through `check`, the hostile repository of tests/hostile.py tries
every way in; each program it names writes a marker file if it runs."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.e2e.conftest import WAIT_S, Session, start_session, stop_session
from tests.hostile import hostile_repo, markers


async def debug_folder(session: Session) -> dict[str, Any]:
    info = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="tapps.printDebugInformation")
    )
    folder: dict[str, Any] = info["folders"][0]
    return folder


def shown(session: Session, text: str) -> list[str]:
    return [m.message for m in session.client.messages if text in m.message]


async def wait_shown(session: Session, text: str) -> list[str]:
    async with asyncio.timeout(WAIT_S):
        while not shown(session, text):
            await asyncio.sleep(0.05)
    return shown(session, text)


async def test_an_untrusted_repository_runs_nothing_of_its_own(tmp_path: Path) -> None:
    root = hostile_repo(tmp_path / "repo")
    session = await start_session(root)
    try:
        mark = session.open("pkg/mod.py")
        done = await session.wait_complete("pkg/mod.py", after=mark)
        assert [d.code for d in done.by_source("ruff")] == ["F401"], "our own ruff ran"
        assert done.by_source("mypy") == [], "the config loads a plugin: mypy did not run"
        assert [d.code for d in done.by_source("tapps")], "the score still runs"
        [ignored] = shown(session, "[tool.tapps]")
        for key in ("ruff.path", "mypy.path", "interpreter", "mypy.args"):
            assert f"`{key}`" in ignored
        assert "trustedWorkspace" in ignored
        [refused] = await wait_shown(session, "mypy: not run")
        assert "evil_plugin.py" in refused and "trustedWorkspace" in refused
        folder = await debug_folder(session)
        assert folder["trust"]["trusted"] is False
        assert "ruff.path" in folder["trust"]["ignoredSettings"]
        assert folder["trust"]["interpretersNotRun"] == [str(root / ".venv" / "bin" / "python")]
        assert "evil_plugin.py" in folder["mypyProjects"][0]["notRun"]
        assert folder["pythonEnvironment"]["python"] == sys.executable
    finally:
        await stop_session(session)
    assert markers(root) == []


async def test_mypy_without_plugins_runs_with_our_own_python(tmp_path: Path) -> None:
    root = hostile_repo(tmp_path / "repo", plugin=False)
    session = await start_session(root)
    try:
        mark = session.open("pkg/mod.py")
        done = await session.wait_complete("pkg/mod.py", after=mark)
        assert [d.code for d in done.by_source("mypy")] == ["assignment"]
        [venv] = await wait_shown(session, "is not run")
        assert str(root / ".venv" / "bin" / "python") in venv
    finally:
        await stop_session(session)
    assert markers(root) == []


async def test_the_client_trusts_and_the_repository_chooses(tmp_path: Path) -> None:
    root = hostile_repo(tmp_path / "repo")
    session = await start_session(root, initialization_options={"trustedWorkspace": True})
    try:
        mark = session.open("pkg/mod.py")
        await session.wait_complete("pkg/mod.py", after=mark)
        folder = await debug_folder(session)
        assert folder["trust"]["trusted"] is True
    finally:
        await stop_session(session)
    assert markers(root) == ["mypy", "ruff"], "the configured ruff.path and mypy.path ran"


async def test_trust_from_workspace_configuration_is_not_taken(tmp_path: Path) -> None:
    """workspace/configuration can carry a workspace's own files (Eglot reads
    `eglot-workspace-configuration` from `.dir-locals.el`): trust comes only with
    initializationOptions."""
    root = hostile_repo(tmp_path / "repo", mypy_path=False)
    session = await start_session(root)
    try:
        session.client.set_configuration({"trustedWorkspace": True}, section="tapps")
        session.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None)
        )
        [said] = await wait_shown(session, "initializationOptions only")
        assert "trustedWorkspace" in said
        mark = session.open("pkg/mod.py")
        await session.wait_complete("pkg/mod.py", after=mark)
        assert (await debug_folder(session))["trust"]["trusted"] is False
    finally:
        await stop_session(session)
    assert markers(root) == []


async def test_a_trusted_workspace_runs_its_interpreter_and_plugin(tmp_path: Path) -> None:
    root = hostile_repo(tmp_path / "repo", mypy_path=False)
    session = await start_session(root, initialization_options={"trustedWorkspace": True})
    try:
        mark = session.open("pkg/mod.py")
        await session.wait_complete("pkg/mod.py", after=mark)
    finally:
        await stop_session(session)
    assert {"interpreter", "plugin", "python-executable", "ruff"} <= set(markers(root))
    assert "venv" not in markers(root), "the `interpreter` setting comes before `.venv`"


def run_check(root: Path, *extra: str, target: str = "pkg") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tapps_lsp.server", "check", "--format", "json", *extra, target],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_check_runs_nothing_of_the_repository_without_trust(tmp_path: Path) -> None:
    root = hostile_repo(tmp_path / "repo")
    done = run_check(root)
    assert markers(root) == []
    assert "`ruff.path`" in done.stderr and "--trust" in done.stderr
    assert done.stderr.count("[tool.tapps]") == 1, "said once"
    files = {entry["path"]: entry for entry in json.loads(done.stdout)["files"]}
    report = files["pkg/mod.py"]["report"]
    assert [f["code"] for f in report["ruff"]["findings"]] == ["F401"]
    assert report["mypy"]["failure"]["kind"] == "untrusted"
    assert done.returncode == 2, "mypy could not run: the check is not a clean bill"


def test_check_trust_runs_what_the_repository_names(tmp_path: Path) -> None:
    root = hostile_repo(tmp_path / "repo")
    run_check(root, "--trust")
    assert markers(root) == ["mypy", "ruff"]


def test_check_without_trust_still_runs_programs_named_on_its_command_line(
    tmp_path: Path,
) -> None:
    root = hostile_repo(tmp_path / "repo", plugin=False)
    outside = tmp_path / "mine" / "python"
    outside.parent.mkdir()
    outside.write_text(
        f'#!/bin/sh\n: > "{tmp_path / "MARKER-mine"}"\nexec "{sys.executable}" "$@"\n'
    )
    outside.chmod(0o755)
    done = run_check(root, "--interpreter", str(outside))
    assert (tmp_path / "MARKER-mine").exists(), done.stderr
    assert markers(root) == []
    files = {entry["path"]: entry for entry in json.loads(done.stdout)["files"]}
    assert [f["code"] for f in files["pkg/mod.py"]["report"]["mypy"]["findings"]] == ["assignment"]


def test_tcp_binds_to_loopback_unless_a_host_is_given(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "tapps_lsp.server", "serve", "--tcp", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        addresses: set[str] = set()
        for _ in range(200):
            addresses = listening(port)
            if addresses:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert addresses == {"127.0.0.1"}
    finally:
        server.kill()
        server.wait()


def listening(port: int) -> set[str]:
    """The local IPv4 addresses with a socket listening on `port` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def marker_script(path: Path, marker: Path) -> None:
    path.write_text(f"open({str(marker)!r}, 'w').close()\n")


def test_check_never_lets_mypy_find_a_config_or_install_by_itself(tmp_path: Path) -> None:
    """Two ways past the screen, both closed: a `sub/.hg` that stops our config search
    while mypy's own finds the root config and its plugin; and `install_types` with
    `non_interactive`, which has mypy run `python -m pip` in the root (a `pip.py` there)."""
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / ".hg").write_text("")
    (root / "sub" / "x.py").write_text("import yaml\n\nCOUNT: int = 'many'\n")
    (root / "mypy.ini").write_text(
        "[mypy]\nplugins = evil_plugin.py\ninstall_types = True\nnon_interactive = True\n"
    )
    marker_script(root / "evil_plugin.py", root / "MARKER-plugin")
    marker_script(root / "pip.py", root / "MARKER-pip")
    for target in ("sub/x.py", "."):
        done = run_check(root, target=target)
        assert markers(root) == [], done.stdout[-2000:]


async def test_program_settings_from_workspace_configuration_are_screened(
    tmp_path: Path,
) -> None:
    root = hostile_repo(tmp_path / "repo", plugin=False)
    (root / "check").write_text(f": > {root / 'MARKER-bash'}\n")
    session = await start_session(root)
    try:
        session.client.set_configuration(
            {
                "ruff": {"path": "/bin/bash"},
                "mypy": {"args": ["--python-exec", "tools/fake-python"]},
            },
            section="tapps",
        )
        session.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None)
        )
        [said] = await wait_shown(session, "from workspace/configuration ignored")
        assert "`ruff.path`" in said and "`mypy.args`" in said
        mark = session.open("pkg/mod.py")
        done = await session.wait_complete("pkg/mod.py", after=mark)
        assert [d.code for d in done.by_source("ruff")] == ["F401"], "our own ruff"
    finally:
        await stop_session(session)
    assert markers(root) == []


async def test_a_file_outside_the_trusted_folders_is_not_trusted(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    (mine / "pkg").mkdir(parents=True)
    (mine / "pyproject.toml").write_text("[tool.mypy]\n")
    hostile = hostile_repo(tmp_path / "elsewhere", mypy_path=False)
    session = await start_session(mine, initialization_options={"trustedWorkspace": True})
    try:
        session.root = hostile
        mark = session.open("pkg/mod.py")
        await session.wait_complete("pkg/mod.py", after=mark)
    finally:
        await stop_session(session)
    assert markers(hostile) == []


def test_a_folder_name_is_never_read_as_a_mypy_option(tmp_path: Path) -> None:
    """The top-level folder becomes mypy's target: one named `@argsfile` or
    `--config-file=x.ini` must stay a path (mypy expands `@file` arguments)."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.ruff]\n")
    (root / "argsfile").write_text("--python-executable=tools/evil\nok.py\n")
    (root / "ok.py").write_text("")
    (root / "tools").mkdir()
    (root / "tools" / "evil").write_text(f'#!/bin/sh\n: > "{root / "MARKER-exec"}"\n')
    (root / "tools" / "evil").chmod(0o755)
    (root / "x.ini").write_text("[mypy]\nplugins = evil_plugin.py\n")
    marker_script(root / "evil_plugin.py", root / "MARKER-plugin")
    for folder in ("@argsfile", "--config-file=x.ini"):
        (root / folder).mkdir()
        (root / folder / "mod.py").write_text("COUNT: int = 'many'\n")
    for target in ("@argsfile/mod.py", "."):
        run_check(root, target=f"./{target}" if target.startswith("@") else target)
    assert markers(root) == []


def test_untrusted_mypy_starts_no_worker_that_imports_the_root(tmp_path: Path) -> None:
    """`num_workers` has mypy start `python -m mypy.build_worker` in the root, and
    `install_types` with `non_interactive` is refused by mypy once we say
    `--no-install-types` unless we also say `--interactive`."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text("COUNT: int = 'many'\n")
    (root / "mypy.ini").write_text(
        "[mypy]\nnum_workers = 2\ninstall_types = True\nnon_interactive = True\n"
    )
    (root / "mypy").mkdir()
    marker_script(root / "mypy" / "__init__.py", root / "MARKER-mypy-package")
    done = run_check(root)
    assert markers(root) == []
    files = {entry["path"]: entry for entry in json.loads(done.stdout)["files"]}
    mypy = files["pkg/mod.py"]["report"]["mypy"]
    assert [f["code"] for f in mypy["findings"]] == ["assignment"], mypy

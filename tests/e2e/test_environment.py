"""mypy checks against the project's own environment: its packages resolve the imports,
and its mypy (when it has one) runs the CLI and the engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.e2e.conftest import start_session, stop_session, wait_engine
from tests.environments import install_typed_package, make_venv

USE = 'import fancylib\n\nTOTAL: int = fancylib.VALUE + "x"\n'
FANCYLIB = "VALUE: int = 3\n"
# The workspace's own .venv runs only in a trusted workspace.
CHECK_TRUSTED = [
    sys.executable,
    "-m",
    "tapps_lsp.server",
    "check",
    "--format=json",
    "--no-cache",
    "--trust",
]


def project_with_venv(root: Path, *, with_mypy: bool) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "use.py").write_text(USE)
    (root / "pyproject.toml").write_text('[tool.mypy]\nfiles = ["pkg"]\n')
    python = make_venv(root / ".venv", with_our_mypy=with_mypy)
    install_typed_package(python, "fancylib", FANCYLIB)
    return python


def test_check_resolves_imports_from_the_folder_venv(tmp_path: Path) -> None:
    python = project_with_venv(tmp_path, with_mypy=False)
    done = subprocess.run(
        [*CHECK_TRUSTED, "pkg/use.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    [entry] = report["files"]
    codes = [f["code"] for f in entry["report"]["mypy"]["findings"]]
    assert codes == ["operator"], done.stdout
    direct = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-executable", str(python), "pkg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "[operator]" in direct.stdout and "import-not-found" not in direct.stdout


async def environment_info(session: Any) -> dict[str, Any]:
    info = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="tapps.printDebugInformation")
    )
    folder: dict[str, Any] = info["folders"][0]
    return folder


async def test_the_engine_runs_in_the_project_environment(tmp_path: Path) -> None:
    python = project_with_venv(tmp_path, with_mypy=True)
    session = await start_session(tmp_path, initialization_options={"trustedWorkspace": True})
    try:
        mark = session.open("pkg/use.py")
        first = await session.wait_complete("pkg/use.py", after=mark)
        assert [d.code for d in first.by_source("mypy")] == ["operator"]
        engine = await wait_engine(session)
        assert engine["python"] == str(python)
        folder = await environment_info(session)
        assert folder["pythonEnvironment"]["origin"] == "workspace `.venv`"
        assert folder["pythonEnvironment"]["mypy"] == f"{python} -m mypy"

        mark = session.save("pkg/use.py", USE.replace('+ "x"', "+ 1"))
        fixed = await session.wait_complete("pkg/use.py", after=mark)
        assert fixed.by_source("mypy") == []
        assert (await wait_engine(session))["checks"] >= 1, "the save went to the engine"
    finally:
        await stop_session(session)

"""tapps-lsp in real VS Code: code-server (VS Code 1.100.3) in headless Chromium.

The test builds the extension's .vsix from editors/vscode (`npm run package`), installs it
into a fresh code-server (temp HOME and XDG dirs, `--log trace`), points `tapps.path` at
this checkout's server (`sys.executable -m tapps_lsp.server`), opens a copy of tests/fixtures/basic
and runs `vscode_e2e.js` (playwright-core) under `timeout`. The harness checks the
Problems panel (ruff, mypy, the score), the status bar, the palette commands (Run
Workflow… from the pick, from a keybinding's args, and cancelled) and a saved fix, and
writes JSON; this test then stops code-server and reads the client's trace log for the
`$/progress` of Review Workspace and Run Workflow.

What it needs comes from `.ci/install-vscode-test.sh` (Debian chromium, code-server and
playwright-core under .ci/.cache/vscode-test, `npm ci` in editors/vscode). Without it the
test fails and says so, unless TAPPS_SKIP_EDITORS=1. Screenshots and logs go to
$TAPPS_ARTIFACTS (default tests/editors/artifacts/); with TAPPS_UPDATE_SCREENSHOT=1 the
Problems panel screenshot also replaces docs/vscode-problems.png, the README's (a test
run does not change tracked files otherwise).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import hostile_repo, markers

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
EXTENSION = REPO / "editors" / "vscode"
FIXTURE = REPO / "tests" / "fixtures" / "basic"
HARNESS = HERE / "vscode_e2e.js"
RESTRICTED_HARNESS = HERE / "vscode_restricted_e2e.js"
TOOLS = REPO / ".ci" / ".cache" / "vscode-test" / "node_modules"
CODE_SERVER = TOOLS / ".bin" / "code-server"
PLAYWRIGHT = TOOLS / "playwright-core"
EXTENSION_ID = "tapps.tapps-lsp"
INSTALLER = ".ci/install-vscode-test.sh"
HARNESS_LIMIT_S = 170  # the browser part; it usually takes 20-30 s

pytestmark = pytest.mark.editor

DEPENDENCY = '''"""Big typed dependencies: a cold mypy run of this package takes a second or two."""

import cattrs
from lsprotocol import types
from pygls.lsp.server import LanguageServer

SEVERITY = types.DiagnosticSeverity.Error
SERVER = LanguageServer
CONVERTER = cattrs.Converter
'''

# A workflow that runs until cancelled (the workspace is trusted: its command steps run).
SLOW_WORKFLOW = f"""
[tool.tapps.workflows.slow.steps.wait]
uses = "command"
with = {{ argv = [{json.dumps(sys.executable)}, "-c", "import time; time.sleep(120)"] }}
"""
# Run Workflow with the workflow in `args`, as a user's keybinding would.
KEYBINDINGS = [
    {"key": "ctrl+alt+shift+f9", "command": "tapps-lsp.runWorkflow", "args": "comprehensive"},
]

HARNESS_CHECKS = {
    "palette: Tapps: Review Workspace finished",
    "review: progress notification and status bar spinner",
    "problems: ruff F401 in lint.py",
    "problems: mypy assignment in typeerr.py",
    "problems: score (source tapps)",
    "status bar: score of the active file",
    "status bar click: score breakdown",
    "palette: Tapps: Run Server Command… (tapps.metrics)",
    "settings: a change reaches the server (Show Debug Information)",
    "palette: Tapps: Clear Cache",
    "save: lint.py written without the import",
    "save: the F401 row is gone, mypy's stays",
    "palette: Tapps: Restart Server, the score comes back",
    "workflow: the pick lists the presets and pyproject.toml's",
    "workflow: minimal ends with its summary, Show Problems opens the panel",
    "workflow: comprehensive from a keybinding, its tapps-* rows in Problems",
    "workflow: cancelling its progress cancels the run",
}


def toolchain_problem() -> str | None:
    missing = []
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if not (EXTENSION / "node_modules" / ".bin" / "vsce").exists():
        missing.append("editors/vscode/node_modules (npm ci)")
    if not CODE_SERVER.exists():
        missing.append(f"code-server ({CODE_SERVER.relative_to(REPO)})")
    if not (PLAYWRIGHT / "package.json").is_file():
        missing.append("playwright-core")
    if chromium() is None:
        missing.append("chromium")
    if not missing:
        return None
    return f"missing {', '.join(missing)}: run {INSTALLER}"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("TAPPS_ARTIFACTS") or HERE / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    if folder == HERE / "artifacts":
        (folder / ".gitignore").write_text("*\n", "utf-8")
    return folder


def build_vsix() -> tuple[Path, float]:
    started = time.monotonic()
    proc = subprocess.run(
        ["npm", "run", "package", "--silent"],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, (
        f"npm run package failed\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    version = json.loads((EXTENSION / "package.json").read_text("utf-8"))["version"]
    vsix = EXTENSION / f"tapps-lsp-{version}.vsix"
    assert vsix.is_file(), f"no {vsix.name} after npm run package"
    return vsix, time.monotonic() - started


def isolated_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = str(tmp / "home")
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        folder = tmp / "xdg" / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[f"XDG_{name}_HOME"] = str(folder)
    (tmp / "home").mkdir(exist_ok=True)
    # code-server must not think it runs inside another VS Code.
    for key in list(env):
        if key.startswith(("VSCODE_", "ELECTRON_")):
            del env[key]
    return env


def user_settings() -> dict[str, Any]:
    return {
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "extensions.ignoreRecommendations": True,
        "security.workspace.trust.enabled": False,
        "update.mode": "none",
        "files.autoSave": "off",
        "editor.minimap.enabled": False,
        "window.commandCenter": False,
        # The extension host does not see the test's PATH: an absolute command that
        # runs this checkout's server.
        "tapps.path": [sys.executable, "-P", "-m", "tapps_lsp.server"],
        # Every LSP message in the trace channel (code-server runs with --log trace).
        "tapps.trace.server": "verbose",
    }


def stop(proc: subprocess.Popen[bytes]) -> None:
    """code-server and what it started (extension host, our server): its process group."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def trace_log(user_data: Path) -> tuple[Path | None, str]:
    found = sorted(user_data.glob(f"logs/*/exthost*/{EXTENSION_ID}/*Trace*.log"))
    if not found:
        return None, ""
    return found[-1], "\n".join(path.read_text("utf-8", "replace") for path in found)


# The client's answer to workspace/configuration once `tapps.mypy.engine` is off.
CONFIGURATION_ENGINE_OFF = (
    r"Sending response 'workspace/configuration[^\n]*\nResult: \[[^\]]*?\"engine\": false"
)


def progress_in_trace(trace: str, command: str = "tapps.reviewWorkspace") -> dict[str, Any]:
    """The `$/progress` of the last `command` request, as the client logged it."""
    token = None
    for block in re.finditer(
        r"Sending request 'workspace/executeCommand - \(\d+\)'\.\s*Params: (\{.*?\n\})",
        trace,
        re.DOTALL,
    ):
        with contextlib.suppress(ValueError):
            params = json.loads(block.group(1))
            if params.get("command") == command:
                token = params.get("workDoneToken")
    kinds: list[str] = []
    messages: list[str] = []
    for block in re.finditer(
        r"Received notification '\$/progress'\.\s*Params: (\{.*?\n\})", trace, re.DOTALL
    ):
        try:
            params = json.loads(block.group(1))
        except ValueError:
            continue
        if token is None or params.get("token") != token:
            continue
        value = params.get("value", {})
        kinds.append(value.get("kind"))
        if value.get("message"):
            messages.append(value["message"])
    return {
        "token": token,
        "kinds": kinds,
        "messages": messages if len(messages) <= 6 else [*messages[:3], "...", *messages[-3:]],
        "executeCommand": trace.count("Sending request 'workspace/executeCommand"),
        "didSave": trace.count("Sending notification 'textDocument/didSave'"),
        "pullDiagnostic": trace.count("Sending request 'textDocument/diagnostic"),
        "configuration": trace.count("Received request 'workspace/configuration"),
        "initialize": trace.count("Sending request 'initialize"),
        "progressCancel": trace.count("Sending notification 'window/workDoneProgress/cancel"),
        "configurationWithEngineOff": len(re.findall(CONFIGURATION_ENGINE_OFF, trace)),
    }


@dataclass
class VscodeRun:
    """What one code-server session with a harness left: its checks and the client's trace."""

    result: dict[str, Any]
    trace: str
    harness: subprocess.CompletedProcess[str]
    build_s: float


def drive_vscode(
    tmp_path: Path, workspace: Path, harness_js: Path, *, trust: bool, name: str
) -> VscodeRun:
    """Install the extension into a fresh code-server, open `workspace` and run the
    playwright harness `harness_js`. Without `trust`, workspace trust is on and the
    folder is not trusted (Restricted Mode, with no startup prompt). Artifacts are named
    `vscode-{name}-*` (`vscode-*` for the main run)."""
    problem = toolchain_problem()
    if problem is not None:
        if os.environ.get("TAPPS_SKIP_EDITORS") == "1":
            pytest.skip(problem)
        pytest.fail(problem)
    vsix, build_s = build_vsix()

    env = isolated_env(tmp_path)
    user_data = tmp_path / "user-data"
    extensions = tmp_path / "extensions"
    (user_data / "User").mkdir(parents=True)
    settings = user_settings()
    if not trust:
        settings["security.workspace.trust.enabled"] = True
        settings["security.workspace.trust.startupPrompt"] = "never"
        settings["security.workspace.trust.emptyWindow"] = False
    (user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2), "utf-8")
    (user_data / "User" / "keybindings.json").write_text(json.dumps(KEYBINDINGS), "utf-8")
    common = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    install = subprocess.run(
        [str(CODE_SERVER), *common, "--install-extension", str(vsix)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert install.returncode == 0 and "successfully installed" in install.stdout, (
        f"--install-extension failed\n{install.stdout[-2000:]}\n{install.stderr[-2000:]}"
    )
    prefix = "vscode" if name == "main" else f"vscode-{name}"
    artifacts = artifacts_dir()
    port = free_port()
    server_log = tmp_path / "code-server.log"
    trust_flags = ["--disable-workspace-trust"] if trust else []
    with server_log.open("wb") as log_file:
        code_server = subprocess.Popen(
            [
                str(CODE_SERVER),
                *common,
                "--auth", "none",
                "--bind-addr", f"127.0.0.1:{port}",
                *trust_flags,
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-getting-started-override",
                "--disable-proxy",
                "--log", "trace",
                str(workspace),
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    result_json = tmp_path / f"{prefix}-e2e.json"
    harness: subprocess.CompletedProcess[str] | None = None
    try:
        deadline = time.monotonic() + 60
        while "HTTP server listening" not in server_log.read_text("utf-8", "replace"):
            assert code_server.poll() is None, (
                f"code-server exited\n{server_log.read_text()[-3000:]}"
            )
            assert time.monotonic() < deadline, (
                f"code-server did not start\n{server_log.read_text()[-3000:]}"
            )
            time.sleep(0.1)
        argv = ["node", str(harness_js)]
        if shutil.which("timeout"):
            argv = ["timeout", "-k", "5", str(HARNESS_LIMIT_S), *argv]
        harness = subprocess.run(
            argv,
            env={
                **env,
                "VSCODE_URL": f"http://127.0.0.1:{port}/?folder={workspace}",
                "WORKSPACE": str(workspace),
                "CHROMIUM": chromium() or "chromium",
                "BROWSER_HOME": str(tmp_path / "browser"),
                "PLAYWRIGHT_CORE": str(PLAYWRIGHT),
                "RESULT_JSON": str(result_json),
                "USER_SETTINGS": str(user_data / "User" / "settings.json"),
                "SCREENSHOT": str(artifacts / f"{prefix}-problems.png"),
                "FINAL_SCREENSHOT": str(artifacts / f"{prefix}-final.png"),
            },
            capture_output=True,
            text=True,
            timeout=HARNESS_LIMIT_S + 30,
            check=False,
        )
    finally:
        stop(code_server)  # also flushes the client's trace log
        trace_file, trace = trace_log(user_data)
        for source, artifact in [
            (server_log, f"{prefix}-code-server.log"),
            (result_json, f"{prefix}-e2e.json"),
            (trace_file, f"{prefix}-client-trace.log"),
        ]:
            if source is not None and source.is_file():
                shutil.copyfile(source, artifacts / artifact)
        for log in user_data.glob(f"logs/*/exthost*/{EXTENSION_ID}/*.log"):
            shutil.copyfile(log, artifacts / f"{prefix}-{log.name.replace(' ', '-')}")
    assert harness is not None
    assert result_json.is_file(), (
        f"the harness wrote no result (exit {harness.returncode}; 124 is timeout)\n"
        f"{harness.stdout[-3000:]}\n{harness.stderr[-3000:]}"
    )
    return VscodeRun(json.loads(result_json.read_text("utf-8")), trace, harness, build_s)


def report_checks(
    run: VscodeRun, checks: dict[str, dict[str, Any]], title: str, started: float, capsys: Any
) -> dict[str, dict[str, Any]]:
    """Print every check, keep the result as an artifact; returns the failed ones."""
    elapsed = time.monotonic() - started
    result = {**run.result, "checks": checks}
    result["buildSeconds"] = round(run.build_s, 1)
    result["testSeconds"] = round(elapsed, 1)
    artifacts = artifacts_dir()
    name = "vscode-e2e.json" if title == "main" else f"vscode-{title}-e2e.json"
    (artifacts / name).write_text(json.dumps(result, indent=2), "utf-8")
    failed = {name: check for name, check in checks.items() if not check["ok"]}
    with capsys.disabled():
        print(
            f"\nVS Code e2e, {title} (code-server): {elapsed:.1f} s "
            f"(vsix build {run.build_s:.1f} s), artifacts {artifacts}"
        )
        for check_name, check in checks.items():
            print(f"  {'ok  ' if check['ok'] else 'FAIL'} {check_name}")
        print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return failed


def failure_text(run: VscodeRun, failed: dict[str, dict[str, Any]]) -> str:
    return (
        json.dumps(failed, indent=1, ensure_ascii=False)
        + f"\nharness stdout:\n{run.harness.stdout[-4000:]}\nstderr:\n{run.harness.stderr[-2000:]}"
    )


def test_vscode_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    workspace = tmp_path / "basic"
    shutil.copytree(FIXTURE, workspace)
    # A module with big typed dependencies, so that a cold mypy run of Review Workspace
    # lasts long enough (a second or two) for the server to report progress.
    (workspace / "app" / "dependency.py").write_text(DEPENDENCY, "utf-8")
    with (workspace / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write(SLOW_WORKFLOW)
    run = drive_vscode(tmp_path, workspace, HARNESS, trust=True, name="main")
    checks: dict[str, dict[str, Any]] = run.result["checks"]

    progress = progress_in_trace(run.trace)
    kinds = progress["kinds"]
    checks["trace: Review Workspace $/progress begin, report, end"] = {
        "ok": bool(kinds) and kinds[0] == "begin" and "report" in kinds and kinds[-1] == "end",
        "detail": progress,
    }
    # The last Run Workflow is the cancelled one: its steps in the messages, one cancel.
    run_progress = progress_in_trace(run.trace, "tapps.runWorkflow")
    checks["trace: Run Workflow $/progress with its steps, and its cancel"] = {
        "ok": run_progress["kinds"][:1] == ["begin"]
        and run_progress["kinds"][-1:] == ["end"]
        and any("running: wait" in message for message in run_progress["messages"])
        and run_progress["progressCancel"] == 1,
        "detail": run_progress,
    }
    checks["trace: workspace/configuration answered with the changed setting"] = {
        "ok": progress["configurationWithEngineOff"] > 0,
        "detail": {k: progress[k] for k in ("configuration", "configurationWithEngineOff")},
    }
    checks["trace: a second initialize after Restart Server"] = {
        "ok": progress["initialize"] == 2,
        "detail": progress["initialize"],
    }
    failed = report_checks(run, checks, "main", started, capsys)
    screenshot = artifacts_dir() / "vscode-problems.png"
    if not failed and screenshot.is_file() and os.environ.get("TAPPS_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(screenshot, REPO / "docs" / "vscode-problems.png")

    assert not failed, failure_text(run, failed)
    assert set(checks) >= HARNESS_CHECKS, f"checks that did not run: {HARNESS_CHECKS - set(checks)}"
    assert run.harness.returncode == 0, (
        f"harness exit {run.harness.returncode}\n{run.harness.stderr[-2000:]}"
    )


RESTRICTED_CHECKS = {
    "restricted mode: the window does not trust the folder",
    "problems: ruff F401 in mod.py, from our own ruff",
    "problems: the score",
    "problems: no mypy row (its config loads a plugin)",
    "notification: why the workspace chose nothing",
    "markers: no program of the repository ran before trust",
    "trust granted: Restricted Mode ends",
}


def initialize_options(trace: str) -> list[dict[str, Any]]:
    """The initializationOptions of every initialize request in the client's trace."""
    found = []
    for block in re.finditer(
        r"Sending request 'initialize - \(\d+\)'\.\s*Params: (\{.*?\n\})", trace, re.DOTALL
    ):
        with contextlib.suppress(ValueError):
            found.append(json.loads(block.group(1)).get("initializationOptions") or {})
    return found


def test_vscode_restricted_mode_runs_nothing_of_the_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Restricted Mode window on the hostile repository: the extension starts and
    reviews with its own ruff, and none of the repository's programs runs (not its
    `.venv` interpreter, nor what its `[tool.tapps]` or `.vscode/settings.json` name)."""
    started = time.monotonic()
    workspace = hostile_repo(tmp_path / "hostile")
    run = drive_vscode(tmp_path, workspace, RESTRICTED_HARNESS, trust=False, name="restricted")
    checks: dict[str, dict[str, Any]] = run.result["checks"]
    sent = [o.get("tapps", {}).get("trustedWorkspace") for o in initialize_options(run.trace)]
    checks["trace: untrusted, then trusted once the user granted it (a restart)"] = {
        "ok": sent == [False, True],
        "detail": sent,
    }
    # Only after the grant: .vscode/settings.json names tools/fake-ruff as tapps.ruff.path.
    checks["markers: the repository's programs ran only once trusted"] = {
        "ok": "ruff" in markers(workspace) and "venv" not in markers(workspace),
        "detail": markers(workspace),
    }
    failed = report_checks(run, checks, "restricted", started, capsys)
    assert not failed, failure_text(run, failed)
    assert set(checks) >= RESTRICTED_CHECKS, f"did not run: {RESTRICTED_CHECKS - set(checks)}"

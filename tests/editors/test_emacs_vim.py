"""tapps-lsp in real Emacs + Eglot and Vim + ALE, headless, through our editors/ configs.

The editors come from Debian (`emacs-nox elpa-eglot vim vim-ale`), installed by
`.ci/install-editors.sh`. Each harness (`eglot_e2e.el`, `ale_e2e.vim`) loads our
configuration from editors/, opens files of a fresh copy of tests/fixtures/basic,
edits and saves, and writes its checks as JSON; this test runs it under `timeout`
and asserts every check. A missing editor fails the test, unless TAPPS_SKIP_EDITORS=1.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.editors.harness import run_editor

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "basic"
LIMIT_S = 60  # the whole editor run; it usually takes 3-6 s
WAIT_S = 20  # each wait inside a harness

pytestmark = pytest.mark.editor


@dataclass(frozen=True)
class Editor:
    name: str
    binary: str
    plugin: Path  # the Debian package's files: Eglot or ALE
    harness: Path
    config: Path
    expected: frozenset[str]

    def argv(self) -> list[str]:
        if self.binary == "emacs":
            return ["emacs", "--batch", "-Q", "-l", str(self.harness)]
        return ["vim", "-N", "-u", "NONE", "-i", "NONE", "-n", "-es", "-S", str(self.harness)]


COMMON_CHECKS = {
    "workspace_root_is_project",
    "typeerr_mypy_on_open",
    "typeerr_score_on_open",
    "lint_ruff_on_open",
    "lint_score_on_open",
    "lint_ruff_gone_after_save",
    "lint_score_after_save",
    "lint_clean_after_save",
}

EGLOT = Editor(
    name="eglot",
    binary="emacs",
    plugin=Path("/usr/share/emacs/site-lisp/elpa"),
    harness=HERE / "eglot_e2e.el",
    config=REPO / "editors" / "emacs" / "tapps-lsp.el",
    expected=frozenset(
        COMMON_CHECKS
        | {
            "python_mode",
            "attached",
            "lint_managed",
            "score_file_command",
            "review_workspace_command",
            "init_options_delivered",
            "workspace_configuration_delivered",
        }
    ),
)
ALE = Editor(
    name="ale",
    binary="vim",
    plugin=Path("/usr/share/vim-ale"),
    harness=HERE / "ale_e2e.vim",
    config=REPO / "editors" / "vim" / "tapps.vim",
    expected=frozenset(
        COMMON_CHECKS
        | {
            "vim_has_jobs",
            "python_filetype",
            "save_text_off",
            "init_options_delivered",
            "config_delivered",
        }
    ),
)


def missing(editor: Editor) -> str | None:
    if shutil.which(editor.binary) is None:
        return f"`{editor.binary}` is not on PATH"
    if editor.binary == "emacs":
        if not any(editor.plugin.glob("eglot-*")):
            return f"Eglot is not in {editor.plugin} (Debian package elpa-eglot)"
    elif not (editor.plugin / "plugin" / "ale.vim").is_file():
        return f"ALE is not in {editor.plugin} (Debian package vim-ale)"
    return None


def editor_env(tmp: Path) -> dict[str, str]:
    """Our environment, with HOME and the XDG folders in tmp: no user config is read."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIMINIT", "MYVIMRC", "EMACSLOADPATH", "EMACSDATA")
    }
    home = tmp / "home"
    home.mkdir()
    env["HOME"] = str(home)
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        folder = tmp / "xdg" / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[f"XDG_{name}_HOME"] = str(folder)
    return env


@pytest.mark.parametrize("editor", [EGLOT, ALE], ids=lambda e: e.name)
def test_editor_end_to_end(
    editor: Editor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    why = missing(editor)
    if why is not None:
        if os.environ.get("TAPPS_SKIP_EDITORS") == "1":
            pytest.skip(f"{why} (TAPPS_SKIP_EDITORS=1)")
        pytest.fail(f"{why}: run `.ci/install-editors.sh` (or set TAPPS_SKIP_EDITORS=1 to skip)")
    workspace = tmp_path / "basic"
    shutil.copytree(FIXTURE, workspace, ignore=shutil.ignore_patterns(".*_cache", "__pycache__"))
    out = tmp_path / f"{editor.name}-result.json"
    env = editor_env(tmp_path)
    env.update(
        TAPPS_E2E_CONFIG=str(editor.config),
        # the absolute interpreter: an editor's PATH is not to be trusted
        TAPPS_E2E_PYTHON=sys.executable,
        TAPPS_E2E_ROOT=str(workspace),
        TAPPS_E2E_OUT=str(out),
        TAPPS_E2E_WAIT_S=str(WAIT_S),
    )
    run = run_editor(
        editor.argv(),
        cwd=workspace,
        env=env,
        out=out,
        limit_s=LIMIT_S,
        label=f"{editor.name} e2e ({editor.binary})",
        capsys=capsys,
    )
    result, checks, failed = run.result, run.checks, run.failed

    errors = [s["data"] for s in result.get("steps", []) if s["name"] == "ERROR"]
    assert not errors, f"the harness failed: {errors[0]}"
    assert not failed, (
        json.dumps(failed, indent=1, ensure_ascii=False)
        + "\n"
        + json.dumps(result.get("steps"), indent=1, ensure_ascii=False)[-6000:]
    )
    assert editor.expected <= {c["name"] for c in checks}, "a check did not run"
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr[-2000:]}"

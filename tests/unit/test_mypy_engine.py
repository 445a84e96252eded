"""The fine-grained mypy engine against the real mypy CLI, on small projects.

The truth is the project-level run: `mypy -O json --show-absolute-path` from the config
root over the same targets. Every engine answer is compared with it as a set of records.
The CLI runs without a cache: mypy shows some import notes once per run, and a warm-cache
run shows them again for each module it rechecks, so only a run from scratch is a fixed
point to compare with.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.analyzers.mypy.engine import EngineError, MypyEngine
from tests.mypy_direct import run_mypy_json

TARGETS = ["pkg"]

A_PY = """\
from pkg import b


def fa(x: int) -> int:
    return b.fb(x)
"""
B_PY = """\
from pkg import a


def fb(x: int) -> int:
    return x + 1


def g() -> int:
    return a.fa(1)
"""
C_PY = """\
from helpers.util import helper
from pkg.a import fa

Y: int = fa(1)
Z: str = helper()
"""
M_PY = """\
import nonexistent_mod_xyz
import yaml
"""
N_PY = """\
import another_missing_mod
"""
UTIL_PY = """\
def helper() -> int:
    return "no"
"""


def make_project(root: Path, *, mypy_config: str = "strict = true\n") -> Path:
    """pkg.a and pkg.b import each other; pkg.c uses both and a module outside pkg."""
    files = {
        "pyproject.toml": "[tool.mypy]\n" + mypy_config,
        "pkg/__init__.py": "",
        "pkg/a.py": A_PY,
        "pkg/b.py": B_PY,
        "pkg/c.py": C_PY,
        "pkg/m.py": M_PY,
        "pkg/n.py": N_PY,
        "helpers/__init__.py": "",
        "helpers/util.py": UTIL_PY,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def cli_records(root: Path) -> set[str]:
    done = run_mypy_json(root, *TARGETS, cache_dir=os.devnull)
    assert done.returncode in (0, 1, 2), done.stderr
    return {_key(json.loads(line)) for line in done.stdout.splitlines() if line.startswith("{")}


def _key(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True)


def engine_records(messages: list[dict[str, Any]]) -> set[str]:
    keys = [_key(m) for m in messages]
    assert len(keys) == len(set(keys)), "the engine repeated a message"
    return set(keys)


def errors_in(records: set[str], name: str) -> list[str]:
    return sorted(r for r in records if json.loads(r)["file"].endswith(name))


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


@pytest.fixture
async def engine(project: Path) -> AsyncIterator[MypyEngine]:
    engine = MypyEngine(python=sys.executable, root=project, argv=TARGETS, timeout=30)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.close()


async def check_matches_cli(
    engine: MypyEngine, root: Path, changed: list[Path] | None = None, *, incremental: bool = False
) -> set[str]:
    """The engine's answer after `changed`, asserted equal to the CLI's; with
    `incremental`, also asserted to come from a fine-grained update, not a rebuild."""
    result = await engine.check(changed or [])
    got = engine_records(result.messages)
    assert got == cli_records(root)
    assert not (incremental and result.rebuilt)
    return got


async def test_matches_cli_through_edits_of_a_cycle(engine: MypyEngine, project: Path) -> None:
    first = await check_matches_cli(engine, project)
    assert errors_in(first, "pkg/b.py") == []
    assert len(errors_in(first, "pkg/m.py")) == 2

    # An edit of a.py changes the errors of b.py and c.py, which were not edited.
    replace_in(project / "pkg/a.py", "-> int:\n    return b.fb(x)", "-> str:\n    return 'x'")
    after = await check_matches_cli(engine, project, [project / "pkg/a.py"], incremental=True)
    assert errors_in(after, "pkg/b.py")
    assert errors_in(after, "pkg/c.py") != errors_in(first, "pkg/c.py")

    # mypy shows some import notes once per run, at the first import error: a recheck
    # of n.py alone must not show them there again.
    replace_in(project / "pkg/n.py", "another_missing_mod", "another_missing_md")
    await check_matches_cli(engine, project, [project / "pkg/n.py"], incremental=True)

    # helpers.util is outside the targets: mypy follows it from pkg.c.
    util = project / "helpers/util.py"
    replace_in(util, "-> int:", "-> str:")
    followed = await check_matches_cli(engine, project, [util], incremental=True)
    assert errors_in(followed, "helpers/util.py") != errors_in(first, "helpers/util.py")
    replace_in(project / "pkg/a.py", "return 'x'", "return str(x)")
    await check_matches_cli(engine, project, [project / "pkg/a.py"], incremental=True)


async def test_same_size_edit_in_the_same_second_is_seen(engine: MypyEngine, project: Path) -> None:
    path = project / "pkg/b.py"
    second = int(time.time()) - 5
    os.utime(path, (second, second))
    before = await check_matches_cli(engine, project, [path])
    replace_in(path, "def g() -> int:", "def g() -> str:")
    os.utime(path, (second, second))
    after = await check_matches_cli(engine, project, [path], incremental=True)
    assert errors_in(after, "pkg/b.py") != errors_in(before, "pkg/b.py")


async def test_syntax_error_blocks_then_repair_recovers(engine: MypyEngine, project: Path) -> None:
    full = await check_matches_cli(engine, project)
    path = project / "pkg/b.py"
    replace_in(path, "def fb(x: int) -> int:", "def fb(x: int) -> int")
    result = await engine.check([path])
    assert result.blocking
    assert engine_records(result.messages) == cli_records(project)
    assert [m["file"] for m in result.messages] == [str(path)]

    replace_in(path, "def fb(x: int) -> int", "def fb(x: int) -> int:")
    repaired = await engine.check([path])
    assert not repaired.blocking
    assert engine_records(repaired.messages) == full


@pytest.mark.parametrize("follow", ["silent", "skip"])
async def test_other_follow_imports_modes_match_cli(tmp_path: Path, follow: str) -> None:
    root = make_project(tmp_path / "proj", mypy_config=f'follow_imports = "{follow}"\n')
    util = root / "helpers/util.py"
    engine = MypyEngine(python=sys.executable, root=root, argv=TARGETS, timeout=30)
    try:
        await engine.start()
        await check_matches_cli(engine, root)
        util.write_text("def helper() -> str:\n    return 1\n", encoding="utf-8")
        await check_matches_cli(engine, root, [util])
        util.unlink()
        result = await engine.check(removed=[util])
        assert engine_records(result.messages) == cli_records(root)
    finally:
        await engine.close()


async def test_refuses_local_partial_types_off(tmp_path: Path) -> None:
    # Fine-grained mode forces local partial types on, which changes inferred types
    # (`x = []` filled in a function body): it cannot give this config's results.
    root = make_project(tmp_path / "proj", mypy_config="local_partial_types = false\n")
    engine = MypyEngine(python=sys.executable, root=root, argv=TARGETS, timeout=30)
    with pytest.raises(EngineError) as caught:
        await engine.start()
    assert caught.value.kind == "unsupported"
    assert engine.pid is None
    await engine.close()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


async def test_killed_worker_fails_once_then_recovers(engine: MypyEngine, project: Path) -> None:
    expected = await check_matches_cli(engine, project)
    pid = engine.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(EngineError) as caught:
        await engine.check()
    assert caught.value.kind == "crash"
    assert wait_gone(pid, 2)

    result = await engine.check()
    assert result.rebuilt
    assert engine_records(result.messages) == expected
    assert engine.pid not in (None, pid)
    assert engine.state == "ready"


async def test_timeout_kills_the_worker(project: Path) -> None:
    engine = MypyEngine(
        python=sys.executable, root=project, argv=TARGETS, timeout=0.001, start_timeout=30
    )
    await engine.start()
    pid = engine.pid
    assert pid is not None
    touched = project / "pkg/a.py"
    touched.write_text(A_PY + "\nQ: int = 1\n", encoding="utf-8")
    with pytest.raises(EngineError) as caught:
        await engine.check([touched])
    assert caught.value.kind == "timeout"
    assert wait_gone(pid, 2)
    await engine.close()


async def test_circuit_opens_after_repeated_crashes(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    broken.chmod(0o755)
    engine = MypyEngine(
        python=str(broken),
        root=tmp_path,
        argv=TARGETS,
        timeout=5,
        failure_limit=2,
        backoff_base=0.01,
        cooldown=60,
    )
    kinds = []
    for _ in range(3):
        with pytest.raises(EngineError) as caught:
            await engine.check()
        kinds.append(caught.value.kind)
    assert kinds == ["crash", "crash", "circuit-open"]
    assert "exited with 3" in str(engine.last_error)
    assert engine.breaker.as_json()["state"] == "open"
    assert engine.breaker.as_json()["trips"] == 1
    await engine.close()


async def test_rss_ceiling_restarts_the_worker(project: Path) -> None:
    engine = MypyEngine(python=sys.executable, root=project, argv=TARGETS, timeout=30, max_rss_mb=1)
    try:
        await engine.start()
        first = engine.pid
        before = await engine.check()
        assert engine.state == "restarting"
        assert first is not None and wait_gone(first, 2)
        after = await engine.check()
        assert engine_records(after.messages) == engine_records(before.messages)
        assert engine.restarts + int(after.rebuilt) >= 1
    finally:
        await engine.close()


async def test_a_check_of_many_files_is_followed_by_a_collection(
    engine: MypyEngine, project: Path
) -> None:
    """Each rechecked file's previous tree is garbage: a catch-up of many files must not
    wait for an idle pause (which a busy client never leaves) or for 25 more checks."""
    await engine.check()
    one = await engine.stats()
    changed = [*sorted((project / "pkg").glob("*.py")), project / "helpers" / "util.py"]
    assert len(changed) >= 5
    await check_matches_cli(engine, project, changed, incremental=True)
    many = await engine.stats()
    assert many["gc_runs"] == one["gc_runs"] + 1, "collected before the next request"


PARENT_SCRIPT = """\
import asyncio, sys
from pathlib import Path
from tapps_lsp.analyzers.mypy.engine import MypyEngine

async def main() -> None:
    engine = MypyEngine(python=sys.executable, root=Path(sys.argv[1]), argv=["pkg"], timeout=30)
    await engine.start()
    print(engine.pid, flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


@pytest.fixture
def parent_process(project: Path) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENT_SCRIPT), str(project)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_worker_dies_with_its_parent(parent_process: subprocess.Popen[str]) -> None:
    assert parent_process.stdout is not None
    worker = int(parent_process.stdout.readline())
    assert alive(worker)
    parent_process.send_signal(signal.SIGKILL)
    parent_process.wait()
    assert wait_gone(worker, 5)


async def test_close_ends_the_worker(engine: MypyEngine) -> None:
    pid = engine.pid
    assert pid is not None
    await engine.close()
    assert wait_gone(pid, 2)
    assert engine.state == "stopped"
    with pytest.raises(EngineError):
        await asyncio.wait_for(engine.check(), 5)


def test_worker_protocol_and_exit_at_end_of_input(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    requests = [{"id": 1, "cmd": "stats"}, {"id": 2, "cmd": "check"}, {"id": 3, "cmd": "bogus"}]
    done = subprocess.run(
        [sys.executable, "-m", "tapps_lsp.analyzers.mypy.worker"],
        input="".join(json.dumps(r) + "\n" for r in requests),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in replies] == [1, 2, 3]
    assert replies[0]["ok"] and replies[0]["rss_mb"] > 0 and replies[0]["checks"] == 0
    assert [(r["ok"], r["kind"]) for r in replies[1:]] == [(False, "protocol")] * 2


async def test_an_engine_refused_at_launch_starts_no_worker(tmp_path: Path) -> None:
    """Every start and restart asks first: a config that gained plugins since the last
    start (no file watcher told us) must not be loaded by a restarted worker."""
    engine = MypyEngine(
        python=sys.executable,
        root=tmp_path,
        argv=["."],
        timeout=30,
        launch_refusal=lambda: "its mypy config sets `plugins`",
    )
    with pytest.raises(EngineError) as raised:
        await engine.check([], [])
    assert raised.value.kind == "untrusted"
    assert engine.pid is None
    await engine.close()

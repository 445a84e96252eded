"""Memory of a whole-folder review over a synthetic 1,000-file project.

Writes a package of N modules (each imports two earlier ones, has typed functions, and
every tenth has a type error and an unused import), then, each from empty caches:

- `tapps-lsp serve` + `workspace/executeCommand tapps.reviewWorkspace {}`;
- `ruff check --no-cache .` and `mypy synth` run directly, one after the other.

The peak of the summed VmRSS over each side's process tree (the server with its mypy
engine, ruff and any mypy process; or the tool running) is sampled every 20 ms.

    python bench/batch_memory.py --python /tmp/venv/bin/python [--modules 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from cli_tools import Runner, _PeakRss
from lsp_client import LspClient, memory_tree
from onsave import tapps_server

BENCH = Path(__file__).resolve().parent
MB = 1024 * 1024

MODULE = '''"""Synthetic module {n}."""

from __future__ import annotations

{imports}


class Item{n}:
    def __init__(self, size: int) -> None:
        self.size = size

    def grow(self, by: int) -> int:
        return self.size + by


def total_{n}(items: list[Item{n}]) -> int:
    return sum(item.grow(1) for item in items){uses}


def describe_{n}(value: int) -> str:
    if value > {n}:
        return "big"
    return "small"
{extra}'''


def module_text(n: int) -> str:
    deps = [d for d in (n - 1, n // 2) if d >= 0 and d != n]
    imports = "\n".join(f"from synth.m{d:04d} import total_{d}" for d in sorted(set(deps)))
    uses = "".join(f" + total_{d}([])" for d in sorted(set(deps)))
    extra = ""
    if n % 10 == 0:
        imports += "\nimport os"
        extra = f'\n\nWRONG_{n}: int = "not an int"\n'
    return MODULE.format(n=n, imports=imports or "", uses=uses, extra=extra)


def write_project(root: Path, modules: int) -> None:
    package = root / "synth"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for n in range(modules):
        (package / f"m{n:04d}.py").write_text(module_text(n))
    (root / "pyproject.toml").write_text('[tool.mypy]\nfiles = ["synth"]\nstrict = true\n')


async def server_peak(root: Path, python: Path, timeout: float) -> dict[str, object]:
    tapps = python.parent / "tapps-lsp"
    server = tapps_server([str(tapps), "serve"], python, {})
    log_path = BENCH / "results" / "logs" / "batch-memory.stderr.log"
    client = LspClient(argv=server.argv, cwd=root, env=server.env, stderr_path=log_path)
    await client.start()
    try:
        await client.initialize(root, {}, timeout=timeout)
        pid = client.pid
        assert pid is not None
        with _PeakRss(lambda: memory_tree(pid)) as peak:
            started = time.perf_counter()
            params = {"command": "tapps.reviewWorkspace", "arguments": [{}]}
            result = await client.request("workspace/executeCommand", params, timeout=timeout)
            seconds = time.perf_counter() - started
        shares = {process_name(p, pid): rss / MB for p, rss in peak.at_peak.items() if rss}
        return {
            "peak_mb": peak.peak / MB,
            "at_peak_mb": shares,
            "seconds": seconds,
            "summary": result,
        }
    finally:
        await client.stop(timeout=20.0)


def process_name(pid: int, server: int) -> str:
    """A short name for one process of the server's tree: ``server``, ``mypy engine``, ..."""
    if pid == server:
        return "server"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    if any(a.endswith(b"mypy/worker.py") for a in argv):
        return "mypy engine"
    words = [Path(a.decode(errors="replace")).name for a in argv if a]
    if "mypy_worker.py" in words:  # tapps-lsp before issue 13
        return "mypy engine"
    return f"{' '.join(words[:3])} ({pid})"


def direct_peak(root: Path, python: Path, timeout: float) -> dict[str, object]:
    runner = Runner(root, timeout)
    ruff = runner.run([str(python.parent / "ruff"), "check", "--no-cache", "."])
    ruff_peak = runner.peak_bytes
    runner.peak_bytes = 0
    mypy = runner.run([str(python), "-m", "mypy", "--cache-dir", str(root / ".direct-cache")])
    return {
        "ruff_peak_mb": ruff_peak / MB,
        "mypy_peak_mb": runner.peak_bytes / MB,
        "seconds": ruff.seconds + mypy.seconds,
        "mypy_exit": mypy.returncode,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "batch_memory.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tapps-bench-memory-"))
    try:
        served, direct = work / "served", work / "direct"
        write_project(served, args.modules)
        write_project(direct, args.modules)
        server = await server_peak(served, args.python, args.timeout)
        tools = direct_peak(direct, args.python, args.timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = server["summary"]
    files = summary.get("files") if isinstance(summary, dict) else None
    tools_peak = max(float(str(tools["ruff_peak_mb"])), float(str(tools["mypy_peak_mb"])))
    rows = [
        ("files reviewed", str(files), "—"),
        ("peak RSS, process tree (MB)", f"{server['peak_mb']:.0f}", f"{tools_peak:.0f}"),
        ("duration, cold (s)", f"{server['seconds']:.1f}", f"{tools['seconds']:.1f}"),
    ]
    print(f"| figure ({args.modules} modules) | tapps-lsp server | ruff + mypy |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    shares = server["at_peak_mb"]
    assert isinstance(shares, dict)
    parts = ", ".join(f"{name} {mb:.0f}" for name, mb in sorted(shares.items()))
    print(f"\nserver tree at its peak (MB): {parts}")
    ratio = float(str(server["peak_mb"])) / tools_peak if tools_peak else 0.0
    print(f"\npeak RSS ratio server / direct mypy: {ratio:.2f} (target: server <= 300 MB)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    record = {"modules": args.modules, "server": server, "direct": tools}
    args.output.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

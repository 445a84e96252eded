"""The same review through MCP and over LSP, repeated on unchanged files (issue 15).

One ``tapps-lsp serve`` (bench/batch.py's ``serving``) and one ``tapps-lsp mcp`` (the
official SDK's own client over stdio), each on a fresh copy of rich 15.0.0 with a fresh
``XDG_CACHE_HOME`` (untrusted: the caches go there). Each reviews every Python file once
(cold), then ``--repeats`` times with nothing changed, the two interleaved: LSP
``tapps.reviewFiles {uris}`` against MCP ``review_files {paths}`` over the same files.
Each request is timed from the client: sent -> answer. Target: MCP repeated <= 1.2x LSP
repeated (medians). The MCP answers also say whether they were cache hits.

    python bench/mcp_vs_lsp.py [--python PY] [--repeats 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from batch import ServerSetup, review, server_arguments, serving, tapps_executable, temporary_copies
from corpus import prepare_rich
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from model import log


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "rich").rglob("*.py") if "__pycache__" not in p.parts)


async def mcp_call(client: Client, files: list[str]) -> tuple[float, dict[str, Any]]:
    sent = time.perf_counter()
    result = await client.call_tool("review_files", {"paths": files})
    elapsed = (time.perf_counter() - sent) * 1000
    if result.is_error:
        raise SystemExit(f"MCP review_files failed: {result.content}")
    answer: dict[str, Any] = json.loads(result.content[0].text)  # type: ignore[union-attr]
    return elapsed, answer


async def run(args: argparse.Namespace, setup: ServerSetup) -> dict[str, Any]:
    shared = prepare_rich(args.corpus, args.python)
    with temporary_copies(shared, args.work_dir.absolute()) as copies:
        lsp_copy, mcp_copy = copies.fresh("lsp"), copies.fresh("mcp")
        lsp_cache = Path(tempfile.mkdtemp(dir=copies.root))
        mcp_cache = Path(tempfile.mkdtemp(dir=copies.root))
        uris = [path.as_uri() for path in python_files(lsp_copy.root)]
        relative = [p.relative_to(mcp_copy.root).as_posix() for p in python_files(mcp_copy.root)]
        mcp_server = StdioServerParameters(
            command=setup.tapps[0],
            args=[*setup.tapps[1:], "mcp", "--project", str(mcp_copy.root)],
            env={**os.environ, "XDG_CACHE_HOME": str(mcp_cache)},
        )
        env = {"XDG_CACHE_HOME": str(lsp_cache)}
        lsp_times: list[float] = []
        mcp_times: list[float] = []
        hits: list[bool] = []
        async with (
            serving(lsp_copy.root, setup, "lsp", env=env, log_prefix="mcp") as lsp,
            Client(mcp_server) as agent,
        ):
            arguments = {"uris": uris}
            lsp_cold = (await review(lsp, setup.timeout, "tapps.reviewFiles", arguments)).total_ms
            mcp_cold, first = await mcp_call(agent, relative)
            log(f"  cold: LSP {lsp_cold:.0f} ms, MCP {mcp_cold:.0f} ms ({first['files']} files)")
            for round_number in range(args.repeats):
                order = ("lsp", "mcp") if round_number % 2 == 0 else ("mcp", "lsp")
                for side in order:
                    await asyncio.sleep(args.settle)
                    if side == "lsp":
                        timed = await review(lsp, setup.timeout, "tapps.reviewFiles", arguments)
                        lsp_times.append(timed.total_ms)
                    else:
                        ms, answer = await mcp_call(agent, relative)
                        mcp_times.append(ms)
                        hits.append(bool(answer["cached"]))
        lsp_p50, mcp_p50 = statistics.median(lsp_times), statistics.median(mcp_times)
        return {
            "files": len(uris),
            "cold_ms": {"lsp": round(lsp_cold), "mcp": round(mcp_cold)},
            "repeated_ms": {
                "lsp": [round(t) for t in lsp_times],
                "mcp": [round(t) for t in mcp_times],
            },
            "p50_ms": {"lsp": round(lsp_p50), "mcp": round(mcp_p50)},
            "ratio": round(mcp_p50 / lsp_p50, 2),
            "mcp_cache_hits": f"{sum(hits)}/{len(hits)}",
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    server_arguments(parser, "mcp_vs_lsp.json")
    parser.add_argument("--repeats", type=int, default=10, help="repeated requests each (10)")
    parser.add_argument("--settle", type=float, default=0.5, help="seconds between requests")
    args = parser.parse_args(argv)
    args.python = Path(os.path.abspath(args.python))
    results = Path(__file__).parent / "results"
    setup = ServerSetup(
        python=args.python,
        tapps=tapps_executable(args),
        timeout=args.timeout,
        logs=results / "logs",
    )
    load_start = os.getloadavg()
    figures = asyncio.run(run(args, setup))
    figures["load_average"] = {"start": load_start, "end": os.getloadavg()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    met = "yes" if figures["ratio"] <= 1.2 else "no"
    print(f"load average {load_start} at the start, {figures['load_average']['end']} at the end")
    print("| figure | measured | compared with | ratio | target | met? |")
    print("|---|---|---|---|---|---|")
    print(
        f"| MCP `review_files`, {figures['files']} files, unchanged, p50 of {args.repeats} "
        f"| {figures['p50_ms']['mcp']} ms (cache hits {figures['mcp_cache_hits']}) "
        f"| LSP `tapps.reviewFiles`, same files: {figures['p50_ms']['lsp']} ms "
        f"| {figures['ratio']}x | <= 1.2x | {met} |"
    )
    print(f"cold: LSP {figures['cold_ms']['lsp']} ms, MCP {figures['cold_ms']['mcp']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

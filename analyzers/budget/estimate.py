"""The token estimator: 4 characters of compact JSON text per token, rounded up.

Measured against cl100k_base on our own corpora (bench/README.md): a JSON answer of
findings has about 3.4 characters per token, so the estimate is low by about 15 %."""

from __future__ import annotations

import json
import math
from typing import Any

CHARS_PER_TOKEN = 4


def compact(value: Any) -> str:
    """The JSON text the estimate counts, and the one a budgeted answer is printed as."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def estimate_tokens(value: Any) -> int:
    return math.ceil(len(compact(value)) / CHARS_PER_TOKEN)

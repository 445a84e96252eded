"""The covered files' text, read from disk once per step, as reviews read it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tapps_lsp.analyzers.admission import read_for_review
from tapps_lsp.analyzers.cache.keys import content_hash


@dataclass(frozen=True, slots=True)
class Sources:
    texts: dict[Path, str] = field(default_factory=dict)
    # Files not reviewed (too large, binary, unreadable) and why.
    refused: dict[Path, str] = field(default_factory=dict)

    def digests(self) -> dict[Path, str]:
        return {path: content_hash(text) for path, text in self.texts.items()}


async def read_sources(files: Sequence[Path], limit: int) -> Sources:
    return await asyncio.to_thread(_read, files, limit)


def _read(files: Sequence[Path], limit: int) -> Sources:
    sources = Sources()
    for path in files:
        text, problem = read_for_review(path, limit)
        if text is None:
            sources.refused[path] = problem or "not reviewed"
        else:
            sources.texts[path] = text
    return sources

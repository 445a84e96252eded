"""`BaselineFiles`: each project's baseline as last read, read again when its file changes.

The file's (mtime, size, inode) decides whether to read it again, and the digest of its
content is what result ids carry, so a rewritten baseline never serves old answers.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from tapps_lsp.analyzers.baseline import store

_LOG = logging.getLogger(__name__)
_Stamp = tuple[int, int, int] | None


@dataclass(slots=True)
class BaselineFiles:
    """The baselines of the roots asked about so far."""

    known: dict[Path, tuple[_Stamp, store.Baseline]] = field(default_factory=dict)

    def get(self, root: Path) -> store.Baseline:
        """The root's baseline now; an empty one when there is none or it cannot be read
        (logged, once per content)."""
        stamp = _stamp(store.baseline_path(root))
        cached = self.known.get(root)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            baseline = store.load(root) if stamp is not None else store.Baseline(root)
        except store.BaselineError as error:
            _LOG.warning("%s", error)
            baseline = store.Baseline(root)
        self.known[root] = (stamp, baseline)
        return baseline

    def forget(self, root: Path) -> None:
        self.known.pop(root, None)


def _stamp(path: Path) -> _Stamp:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

"""Which findings a baseline covers: each entry is used up by at most one finding."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tapps_lsp.analyzers.baseline.fingerprint import BaselineKey, FileFingerprints
from tapps_lsp.analyzers.findings import Finding


@dataclass(frozen=True, slots=True)
class FileMatch:
    """One file's findings split against the baseline, and its entries nothing matched."""

    new: tuple[Finding, ...]
    baselined: tuple[Finding, ...]
    stale: tuple[BaselineKey, ...]


def match_file(
    entries: Iterable[BaselineKey], findings: Sequence[Finding], prints: FileFingerprints
) -> FileMatch:
    """Split `findings` (of the file `prints` describes) by the baseline's `entries` for
    that file. A finding is baselined when an unused entry has its exact key."""
    left = Counter(entries)
    new: list[Finding] = []
    baselined: list[Finding] = []
    for finding in findings:
        key = prints.key(finding)
        if left[key] > 0:
            left[key] -= 1
            baselined.append(finding)
        else:
            new.append(finding)
    stale = tuple(sorted(left.elements()))
    return FileMatch(tuple(new), tuple(baselined), stale)


def keys_of(findings: Iterable[Finding], prints: FileFingerprints) -> list[BaselineKey]:
    """The entries that record `findings`."""
    return [prints.key(finding) for finding in findings]

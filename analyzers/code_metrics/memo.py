"""Metrics remembered by content: a small in-memory LRU in front of the result store.

A review asks for its file's metrics as soon as it starts (`soon`), so measuring runs in
a thread while the tools run in their own processes; a batch measures ahead (`prefetch`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from tapps_lsp.analyzers.cache.keys import content_hash
from tapps_lsp.analyzers.cache.recipes import metrics_key
from tapps_lsp.analyzers.cache.store import ResultStore, put_all
from tapps_lsp.analyzers.code_metrics.measure import CodeMetrics, describe_syntax_error, measure
from tapps_lsp.analyzers.serialize import METRICS_GENERATION, dump_metrics, load_metrics

_MEMO_SIZE = 512
_GROUP = 8  # files measured per thread hop

# A file's metrics, or why there are none (its syntax error).
Measured = CodeMetrics | str
# Runs `_measure_group` over (digest, text) pairs somewhere: a thread, or a process.
MeasuredGroup = list[tuple[str, Measured]]
GroupRunner = Callable[
    [Callable[[list[tuple[str, str]]], MeasuredGroup], list[tuple[str, str]]],
    Awaitable[MeasuredGroup],
]


@dataclass(slots=True)
class MetricsMemo:
    store: ResultStore
    _memo: OrderedDict[str, Measured] = field(default_factory=OrderedDict)

    def soon(self, digest: str, text: str) -> asyncio.Future[Measured]:
        """The content's metrics: remembered (in memory or in the store), else measured
        in a thread and stored."""
        found = self._memo.get(digest)
        if found is not None:
            self._memo.move_to_end(digest)
        else:
            found = load_metrics(self.store.get(metrics_key(digest)))
        if found is not None:
            done: asyncio.Future[Measured] = asyncio.get_running_loop().create_future()
            done.set_result(found)
            return done
        return asyncio.ensure_future(self._measure_and_store(digest, text))

    async def of(self, digest: str, pending: asyncio.Future[Measured]) -> Measured:
        """What `soon` gave, once ready; remembered in memory from then on."""
        found = await pending
        self._remember(digest, found)
        return found

    async def prefetch(self, texts: Iterable[str], *, run: GroupRunner | None = None) -> None:
        """Measure contents ahead, while a slow tool runs in its own process: a batch's
        reviews then find their metrics remembered. `run` runs the measuring (a worker
        thread by default; the workflows' analysis process, analyzers.workflows.kinds.aside)."""
        todo = {content_hash(text): text for text in texts}
        pending = [
            (digest, text)
            for digest, text in todo.items()
            if digest not in self._memo and self.store.get(metrics_key(digest)) is None
        ]
        for start in range(0, len(pending), _GROUP):
            measured = await (run or _in_thread)(_measure_group, pending[start : start + _GROUP])
            for digest, found in measured:
                self._remember(digest, found)
            await asyncio.to_thread(self._put_all, measured)

    async def _measure_and_store(self, digest: str, text: str) -> Measured:
        found = await asyncio.to_thread(measure_or_reason, text, digest)
        await asyncio.to_thread(self._put_all, [(digest, found)])
        return found

    def _remember(self, digest: str, found: Measured) -> None:
        self._memo[digest] = found
        if len(self._memo) > _MEMO_SIZE:
            self._memo.popitem(last=False)

    def _put_all(self, measured: list[tuple[str, Measured]]) -> None:
        entries = [(metrics_key(digest), dump_metrics(found)) for digest, found in measured]
        put_all(self.store, entries, METRICS_GENERATION)


async def _in_thread(
    measure: Callable[[list[tuple[str, str]]], MeasuredGroup], group: list[tuple[str, str]]
) -> MeasuredGroup:
    return await asyncio.to_thread(measure, group)


def measure_or_reason(text: str, digest: str | None = None) -> Measured:
    """Metrics, or why there are none (the syntax error)."""
    try:
        return measure(text, digest=digest)
    except (SyntaxError, ValueError) as exc:
        return describe_syntax_error(exc)


def _measure_group(group: list[tuple[str, str]]) -> list[tuple[str, Measured]]:
    return [(digest, measure_or_reason(text, digest)) for digest, text in group]

"""A batch's progress while the tools run: no file finishes for a while, so the share
done comes from the time the tools should take, and it only ever rises."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tapps_lsp.analyzers.batch import BatchFile, BatchProgress, BatchReview, ToolEstimate
from tapps_lsp.analyzers.workspace import make_reviewer, open_store, project_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_the_estimate_rises_with_time_and_holds_short_of_done() -> None:
    estimate = ToolEstimate(files=10, size=1_000_000, seconds_per_byte=1e-6, started=100.0)
    assert estimate.expected_s == pytest.approx(1.2)  # the floor, plus a second of source
    shares = [estimate.share_done(100.0 + t) for t in (0.0, 0.3, 0.6, 1.2, 5.0)]
    assert shares == sorted(shares) and shares[0] == 0.0
    assert shares[2] == pytest.approx(0.5)
    assert shares[-1] == shares[-2] < 1.0, "never done before the tools are"
    assert estimate.eta_s(100.3) == pytest.approx(0.9)
    assert estimate.eta_s(101.5) is None, "late: no guess rather than a wrong one"


def test_a_batch_with_enough_source_measures_the_rate_for_the_next() -> None:
    big = ToolEstimate(files=50, size=400_000, seconds_per_byte=1e-6, started=0.0)
    big.finish(now=1.0)
    assert big.finished and big.seconds_per_byte == pytest.approx(0.8 / 400_000)
    small = ToolEstimate(files=1, size=5_000, seconds_per_byte=1e-6, started=0.0)
    small.finish(now=0.3)
    assert small.seconds_per_byte == 1e-6, "one file's time is mostly fixed cost"


async def test_a_cold_batch_reports_a_rising_share_before_any_file_is_done(
    tmp_path: Path,
) -> None:
    root = tmp_path / "basic"
    shutil.copytree(FIXTURES / "basic", root)
    settings, problems = project_settings(root)
    assert problems == []
    reviewer = make_reviewer(root, settings, open_store(root, settings))
    files = sorted((root / "app").glob("*.py"))
    reports: list[BatchProgress] = []
    done: list[BatchFile] = []
    batch = BatchReview(
        [(reviewer, path) for path in files],
        2,
        on_file=done.append,
        on_progress=reports.append,
        tick_s=0.02,
    )
    try:
        summary = await batch.run()
    finally:
        await reviewer.close()
        reviewer.store.close()

    assert summary.files == len(files) == len(done)
    fractions = [report.fraction for report in reports]
    assert fractions == sorted(fractions), "the share never goes down"
    assert fractions[-1] == 1.0
    waiting = [r for r in reports if r.done == 0 and r.stage.startswith("mypy")]
    assert len(waiting) >= 2, "the ticker reports while mypy runs"
    assert 0 < waiting[-1].fraction < 1 and waiting[-1].fraction > waiting[0].fraction
    assert reviewer.batch_tool_rate is None, "six small files tell no rate"

"""``Accumulator.evict_closed``: closed window instances are returned once, with the values a
state that never evicts reports for them, and their panes are folded away so memory stays
bounded, without changing the overall and per-segment results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

import scoreboard as sb
from plans import make_plan
from scoreboard.engine import Accumulator

START = datetime(2026, 3, 1, tzinfo=UTC)
Key = tuple[Any, ...]


def stream(days: int = 20, per_day: int = 300, seed: int = 0) -> list[pd.DataFrame]:
    """Hour-sized batches in time order (a little disorder inside each batch)."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    seconds = np.sort(rng.integers(0, days * 86_400, n)) + rng.integers(-600, 600, n)
    frame = pd.DataFrame(
        {
            "ts": pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s"),
            "region": rng.choice(["eu", "us", "apac"], n),
            "y": rng.integers(0, 2, n),
            "p": rng.random(n),
        }
    )
    hour = (seconds // 3600).astype(int)
    return [frame[hour == h] for h in np.unique(hour)]


def plan(windows: list[dict[str, Any]] | None = None) -> sb.Plan:
    return make_plan(
        "binary",
        ["count", "accuracy", "f1"],
        columns={"y_true": "y", "y_score": "p", "timestamp": "ts"},
        windows=windows
        or [
            {"name": "daily", "tumbling": "1d"},
            {"name": "three_days", "sliding": {"size": "3d", "step": "1d"}},
        ],
        segments=["region"],
    )


def by_group(results: sb.Results) -> dict[Key, float | None]:
    return {
        (r.window, r.window_index, tuple(sorted(r.segment.items())), r.metric): r.value
        for r in results
    }


def test_evicted_instances_are_returned_once_with_unchanged_values() -> None:
    p = plan()
    evicting, keeping = Accumulator(p, allowed_lateness=600), Accumulator(p, allowed_lateness=600)
    returned: dict[Key, float | None] = {}
    most_cells = 0
    for batch in stream():
        evicting.update(batch)
        keeping.update(batch)
        for key, value in by_group(evicting.evict_closed()).items():
            assert key not in returned, key
            returned[key] = value
        most_cells = max(most_cells, len(evicting._executor.cell_keys()))
    reference = by_group(keeping.results())
    closed = by_group(keeping.results(closed_only=True))
    # Every closed instance came back once, with the value of the state that kept everything.
    assert returned.keys() == closed.keys() and len(closed) > 0
    for key, value in returned.items():
        assert value == pytest.approx(reference[key], rel=1e-12), key
    # Overall and per-segment results still count every row.
    now = by_group(evicting.results())
    for key, value in reference.items():
        if key[0] is None:
            assert now[key] == pytest.approx(value, rel=1e-12), key
    # What results() still lists: the open instances, with their full values.
    open_keys = {k for k in now if k[0] is not None}
    assert open_keys == {k for k in reference if k[0] is not None} - closed.keys()
    for key in open_keys:
        assert now[key] == pytest.approx(reference[key], rel=1e-12), key
    # Memory: a few open panes x 3 regions (+ one remainder per region), not 20 days of them.
    assert most_cells <= 4 * 3 + 3
    assert len(keeping._executor.cell_keys()) >= 20 * 3


def test_eviction_survives_serialisation_and_merges() -> None:
    p = plan()
    acc = Accumulator(p, allowed_lateness=0)
    batches = stream(days=6)
    for batch in batches[: len(batches) // 2]:
        acc.update(batch)
    first = by_group(acc.evict_closed())
    assert first
    back = p.accumulator_from_bytes(acc.to_bytes())
    assert by_group(back.results()) == by_group(acc.results())
    assert len(back.evict_closed()) == 0  # nothing newly closed, nothing returned twice
    for batch in batches[len(batches) // 2 :]:
        back.update(batch)
    second = by_group(back.evict_closed())
    assert second and not (first.keys() & second.keys())


def test_eviction_needs_a_watermark_and_keeps_rows_windows() -> None:
    p = plan([{"name": "daily", "tumbling": "1d"}, {"name": "every_500", "rows": 500}])
    with pytest.raises(ValueError, match="allowed_lateness"):
        Accumulator(p).evict_closed()
    acc = Accumulator(p, allowed_lateness=0)
    for batch in stream(days=4):
        acc.update(batch)
    returned = acc.evict_closed()
    assert {r.window for r in returned} == {"daily"}  # rows windows never close
    rows_windows = [r for r in acc.results() if r.window == "every_500" and r.metric == "count"]
    assert sum(r.value or 0 for r in rows_windows if not r.segment) == acc.rows

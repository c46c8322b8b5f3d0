"""history(): each filter, their combination, the order, and ``limit`` = the latest points."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_factories import DAY, T0, TickingClock, make_points, make_run

from scoreboard.store import MetricPoint, SQLiteStore


@pytest.fixture
def filled(store: SQLiteStore) -> SQLiteStore:
    """Two models; fraud-detector has v1 (days 0-2) and v2 (days 3-4); scorer has v1."""
    store.record_run(make_run(version="v1"), make_points(days=3, base=0.9))
    v2_points = [
        MetricPoint(
            p.metric,
            p.value,
            p.n,
            p.window,
            p.window_start + 3 * DAY,
            p.window_end + 3 * DAY,
            p.segment,
        )
        if p.window_start is not None and p.window_end is not None
        else p
        for p in make_points(days=2, base=0.8)
    ]
    store.record_run(make_run(version="v2"), v2_points)
    store.record_run(make_run("scorer"), make_points(days=1, metrics=("mae",), countries=()))
    return store


def test_filters_by_model_version_metric_window_and_segment(filled: SQLiteStore) -> None:
    assert {p.model for p in filled.history(model="scorer")} == {"scorer"}
    assert len(filled.history(model="scorer")) == 2
    assert {p.model_version for p in filled.history(model_version="v2")} == {"v2"}
    assert {p.metric for p in filled.history(metric="recall")} == {"recall"}
    daily = filled.history(window="daily")
    assert daily and all(p.window == "daily" for p in daily)
    fr = filled.history(segment={"country": "FR"})
    assert fr and all(p.segment == {"country": "FR"} for p in fr)
    overall = filled.history(segment={})
    assert overall and all(p.segment == {} for p in overall)
    combined = filled.history(
        model="fraud-detector",
        model_version="v1",
        metric="f1",
        window="daily",
        segment={"country": "DE"},
    )
    assert [p.window_start for p in combined] == [T0, T0 + DAY, T0 + 2 * DAY]
    assert filled.history(model="nope") == []


def test_order_is_model_metric_window_start_recorded_at(filled: SQLiteStore) -> None:
    points = filled.history()
    keys = [
        (p.model, p.metric, p.window_start is not None, p.window_start or T0, p.recorded_at)
        for p in points
    ]
    assert keys == sorted(keys)
    f1_daily_fr = filled.history(
        model="fraud-detector", metric="f1", window="daily", segment={"country": "FR"}
    )
    assert [p.model_version for p in f1_daily_fr] == ["v1"] * 3 + ["v2"] * 2  # spans versions
    assert [p.window_start for p in f1_daily_fr] == [T0 + d * DAY for d in range(5)]


def test_since_keeps_windows_starting_at_or_after_it(
    filled: SQLiteStore, clock: TickingClock
) -> None:
    since = T0 + 2 * DAY
    windowed = [p for p in filled.history(since=since) if p.window is not None]
    assert windowed and all(
        p.window_start is not None and p.window_start >= since for p in windowed
    )
    assert len(filled.history(metric="f1", window="daily", segment={}, since=since)) == 3
    # overall points are dated by their recording time
    overall = [p for p in filled.history(since=since) if p.window is None]
    assert len(overall) == len([p for p in filled.history() if p.window is None]) == 13
    assert [
        p for p in filled.history(since=clock.now + timedelta(days=1)) if p.window is None
    ] == []


def test_limit_keeps_the_latest_points_in_ascending_order(filled: SQLiteStore) -> None:
    series = filled.history(metric="f1", window="daily", segment={})
    last3 = filled.history(metric="f1", window="daily", segment={}, limit=3)
    assert last3 == series[-3:]
    assert [p.window_start for p in last3] == [T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY]
    assert filled.history(limit=0) == []
    assert filled.history(metric="f1", window="daily", segment={}, limit=100) == series
    with pytest.raises(ValueError, match="limit must be >= 0"):
        filled.history(limit=-1)

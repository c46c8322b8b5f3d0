"""Round trips: what goes into the store comes back equal (runs, points, segments, states)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from store_factories import DAY, T0, TickingClock, make_points, make_run

from scoreboard.exceptions import StorageError
from scoreboard.store import (
    MetricPoint,
    SQLiteStore,
    StateKey,
    StoredPoint,
    derive_run_id,
    iso_utc,
    schema,
    segment_hash,
    segment_json,
)


def _as_point(stored: StoredPoint) -> MetricPoint:
    return MetricPoint(
        stored.metric,
        stored.value,
        stored.n,
        stored.window,
        stored.window_start,
        stored.window_end,
        stored.segment,
        stored.reason,
        stored.ci_low,
        stored.ci_high,
    )


def _key(point: MetricPoint) -> tuple[object, ...]:
    """The natural key, sortable even when window and start are None."""
    start = point.window_start
    return (
        point.metric,
        point.window or "",
        start is not None,
        start or T0,
        segment_json(point.segment),
    )


def test_points_round_trip_with_segments_and_windows(store: SQLiteStore) -> None:
    run = make_run()
    points = make_points()
    assert store.record_run(run, points) == run.run_id
    back = store.history()
    assert len(back) == len(points) == 2 * 4 * 3
    assert sorted(map(_as_point, back), key=_key) == sorted(points, key=_key)
    assert {p.run_id for p in back} == {run.run_id}
    assert {(p.model, p.model_version) for p in back} == {("fraud-detector", "v1")}
    daily = [p for p in back if p.window == "daily"]
    assert all(p.window_start is not None and p.window_start.tzinfo is not None for p in daily)
    assert {p.segment.get("country") for p in back} == {None, "FR", "DE"}


def test_undefined_values_keep_their_reason_and_never_become_zero(store: SQLiteStore) -> None:
    points = [
        MetricPoint("roc_auc", None, 10, reason="single_class"),
        MetricPoint("precision", math.nan, 0, reason="no_predicted_positives"),
        MetricPoint("recall", math.nan, 0),
        MetricPoint("mae", None, 0),
    ]
    store.record_run(make_run(), points)
    back = {p.metric: p for p in store.history()}
    assert back["roc_auc"].value is None and back["roc_auc"].reason == "single_class"
    assert back["precision"].value is None
    assert back["precision"].reason == "no_predicted_positives"
    assert back["recall"].value is None and back["recall"].reason == "undefined"
    assert back["mae"].reason == "undefined"


def test_confidence_intervals_counts_and_infinities_round_trip(store: SQLiteStore) -> None:
    points = [
        MetricPoint("f1", 0.93, 1_000_000, ci_low=0.92, ci_high=0.94),
        MetricPoint("auc", 0.81, 10, error_bound=3e-6),
        MetricPoint("ratio", math.inf, 5),
        MetricPoint("gap", 0.5, 7, ci_low=math.nan, ci_high=None, reason="note"),
    ]
    store.record_run(make_run(), points)
    back = {p.metric: p for p in store.history()}
    assert (back["f1"].value, back["f1"].n, back["f1"].ci_low, back["f1"].ci_high) == (
        0.93,
        1_000_000,
        0.92,
        0.94,
    )
    assert back["auc"].error_bound == 3e-6 and back["f1"].error_bound is None
    assert back["ratio"].value == math.inf
    assert back["gap"].ci_low is None and back["gap"].reason == "note"


def test_timestamps_are_stored_as_utc_whatever_the_input_zone(store: SQLiteStore) -> None:
    paris = timezone(timedelta(hours=2))
    start = datetime(2024, 5, 1, 2, 0, tzinfo=paris)  # == 2024-05-01T00:00Z
    naive = datetime(2024, 5, 2)  # naive is taken as UTC
    store.record_run(
        make_run(),
        [
            MetricPoint("f1", 0.5, 1, window="daily", window_start=start, window_end=naive),
        ],
    )
    (point,) = store.history()
    assert point.window_start == datetime(2024, 5, 1, tzinfo=UTC)
    assert point.window_end == datetime(2024, 5, 2, tzinfo=UTC)
    assert point.window_start.utcoffset() == timedelta(0)
    assert iso_utc(start) == "2024-05-01T00:00:00.000000Z"


def test_runs_round_trip_and_are_ordered(store: SQLiteStore, clock: TickingClock) -> None:
    later = make_run("b-model", data="d2", finished=T0 + DAY)
    first = make_run("a-model", "v2")
    store.record_run(later, [])
    store.record_run(first, [])
    runs = store.runs()
    assert [r.model for r in runs] == ["a-model", "b-model"]
    assert runs[1].run_id == later.run_id
    assert runs[1].finished_at == later.finished_at and runs[1].rows == later.rows
    assert runs[1].spec_fingerprint == "spec-1" and runs[1].data_fingerprint == "d2"
    assert runs[0].recorded_at > runs[1].recorded_at  # recorded second
    assert [r.model for r in store.runs(model="b-model")] == ["b-model"]
    assert store.runs(model="nope") == []


def test_run_id_is_deterministic_and_covers_identity_fields() -> None:
    run = make_run()
    assert (
        run.run_id == make_run().run_id == derive_run_id("fraud-detector", "v1", "plan-1", "data-1")
    )
    assert len(run.run_id) == 16 and int(run.run_id, 16) >= 0
    others = {
        make_run("x").run_id,
        make_run(version="v2").run_id,
        make_run(plan="p2").run_id,
        make_run(data="d2").run_id,
    }
    assert run.run_id not in others and len(others) == 4
    # a different spec fingerprint, times or row count do not change the identity
    assert make_run(rows=5, finished=T0 + DAY).run_id == run.run_id
    # fields are encoded unambiguously
    assert derive_run_id("a b", "c", "p", "d") != derive_run_id("a", "b c", "p", "d")


def test_segment_encoding_is_canonical() -> None:
    assert segment_json({"b": "2", "a": "1"}) == '{"a":"1","b":"2"}'
    assert segment_hash({"b": "2", "a": "1"}) == segment_hash({"a": "1", "b": "2"})
    assert segment_hash({}) != segment_hash({"a": "1"})
    with pytest.raises(TypeError, match="segment keys and values must be strings"):
        segment_json({"country": 3})  # type: ignore[dict-item]


def test_model_versions_in_first_recorded_order(store: SQLiteStore) -> None:
    for version in ("v10", "v2", "v3"):
        store.record_run(make_run(version=version), [])
    store.record_run(make_run(version="v2", data="again"), [])
    store.record_run(make_run("other", "v1"), [])
    assert store.model_versions("fraud-detector") == ["v10", "v2", "v3"]
    assert store.model_versions("missing") == []


def test_states_round_trip_replace_and_keep(store: SQLiteStore) -> None:
    run = make_run()
    fr = segment_hash({"country": "FR"})
    states = {
        (None, None, segment_hash({})): b"\x00overall",
        ("daily", "2024-05-01T02:00:00+02:00", fr): b"day-1",
    }
    store.record_run(run, make_points(), states=states)
    assert store.states(run.run_id) == {
        (None, None, segment_hash({})): b"\x00overall",
        ("daily", "2024-05-01T00:00:00.000000Z", fr): b"day-1",
    }
    store.record_run(run, make_points())  # states=None keeps the stored states
    assert len(store.states(run.run_id)) == 2
    replacement: dict[StateKey, bytes] = {("daily", None, fr): bytearray(b"new")}  # type: ignore[dict-item]
    store.record_run(run, make_points(), states=replacement)
    assert store.states(run.run_id) == {("daily", None, fr): b"new"}
    assert store.states("unknown") == {}


def test_state_keys_that_collide_after_normalisation_are_refused(store: SQLiteStore) -> None:
    states: dict[StateKey, bytes] = {
        ("daily", "2024-05-01T00:00:00Z", "s"): b"a",
        ("daily", "2024-05-01T02:00:00+02:00", "s"): b"b",
    }
    with pytest.raises(ValueError, match="given twice"):
        store.record_run(make_run(), [], states=states)
    with pytest.raises(ValueError, match="not an ISO 8601"):
        store.record_run(make_run(), [], states={("daily", "yesterday", "s"): b"a"})
    with pytest.raises(TypeError, match="bytes"):
        store.record_run(make_run(), [], states={(None, None, "s"): "text"})  # type: ignore[dict-item]
    assert store.runs() == []


def test_schema_version_and_reopen_keep_data(db_path: Path) -> None:
    with SQLiteStore(db_path) as first:
        first.record_run(make_run(), make_points(days=1))
        assert first.schema_version() == len(schema.MIGRATIONS)
    with SQLiteStore(db_path) as again:
        assert again.schema_version() == len(schema.MIGRATIONS)
        assert len(again.history()) == len(make_points(days=1))


def test_closed_store_raises_storage_error(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        store.history()
    assert "closed" in repr(store)


def test_in_memory_store_for_embedding() -> None:
    with SQLiteStore(":memory:") as store:
        store.record_run(make_run(), make_points(days=1))
        assert len(store.history(metric="f1")) == 3 * 2
        assert store.path == ":memory:"


_names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
_values = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))
_points = st.lists(
    st.builds(
        MetricPoint,
        metric=_names,
        value=_values,
        n=st.integers(0, 2**62),
        window=st.one_of(st.none(), _names),
        window_start=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
        segment=st.dictionaries(_names, _names, max_size=3),
        reason=st.one_of(st.none(), _names),
    ),
    max_size=20,
    unique_by=lambda p: (p.metric, p.window, p.window_start, segment_json(p.segment)),
)


@given(points=_points)
def test_any_valid_points_round_trip(points: list[MetricPoint]) -> None:
    with SQLiteStore(":memory:") as store:
        store.record_run(make_run(), points)
        back = store.history()
    assert len(back) == len(points)
    by_key = {_key(p): p for p in back}
    for point in points:
        stored = by_key[_key(point)]
        expected_value = None if point.value is None or math.isnan(point.value) else point.value
        assert stored.value == expected_value
        assert stored.n == point.n and dict(stored.segment) == dict(point.segment)
        assert stored.reason == (point.reason or ("undefined" if expected_value is None else None))
        if point.window_start is not None:
            assert stored.window_start == point.window_start

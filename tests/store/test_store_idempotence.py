"""S1 / P3: re-recording a run replaces it, never double counts; bad input writes nothing."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from store_factories import DAY, T0, dump, make_points, make_run, table_counts

from scoreboard.store import MetricPoint, SQLiteStore


def test_recording_the_same_run_twice_replaces_it(store: SQLiteStore, db_path: Path) -> None:
    run = make_run()
    store.record_run(run, make_points(base=0.9))
    first = store.runs()[0]
    counts = table_counts(db_path)

    rerun = make_run(rows=2000, finished=T0 + DAY)  # same identity, new timing and row count
    assert store.record_run(rerun, make_points(base=0.7)) == run.run_id

    assert table_counts(db_path) == counts  # 0 new rows
    (stored_run,) = store.runs()
    assert stored_run.rows == 2000 and stored_run.finished_at == T0 + DAY
    assert stored_run.first_recorded_at == first.first_recorded_at
    assert stored_run.recorded_at > first.recorded_at
    overall_f1 = store.history(metric="f1", segment={})
    assert [p.value for p in overall_f1 if p.window is None] == [pytest.approx(0.7)]
    assert all(p.recorded_at == stored_run.recorded_at for p in store.history())


def test_rerecording_with_fewer_points_drops_the_missing_ones(store: SQLiteStore) -> None:
    run = make_run()
    store.record_run(run, make_points(days=3))
    store.record_run(run, make_points(days=1))
    assert len(store.history()) == len(make_points(days=1))


def test_a_different_data_fingerprint_is_a_new_run(store: SQLiteStore) -> None:
    store.record_run(make_run(data="monday"), make_points(days=1))
    store.record_run(make_run(data="tuesday"), make_points(days=1))
    assert len(store.runs()) == 2
    assert len(store.history()) == 2 * len(make_points(days=1))


def test_a_natural_key_twice_in_one_call_is_refused(store: SQLiteStore, db_path: Path) -> None:
    store.record_run(make_run(), make_points(days=1))
    before = dump(db_path)
    twice = [
        MetricPoint("f1", 0.5, 1, segment={"c": "FR"}),
        MetricPoint("f1", 0.6, 1, segment={"c": "FR"}),
    ]
    with pytest.raises(ValueError, match="repeats metric 'f1'"):
        store.record_run(make_run(), twice)
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("point", "error", "message"),
    [
        (MetricPoint("f1", "0.5", 1), TypeError, r"points\[1\]\.value must be a real number"),  # type: ignore[arg-type]
        (MetricPoint("f1", object(), 1), TypeError, "value must be a real number"),  # type: ignore[arg-type]
        (MetricPoint("f1", True, 1), TypeError, "value must be a real number"),
        (MetricPoint("f1", 0.5, 1.5), TypeError, "n must be an integer"),  # type: ignore[arg-type]
        (MetricPoint("f1", 0.5, -1), ValueError, "n must be >= 0"),
        (MetricPoint("", 0.5, 1), ValueError, "metric must be a non-empty string"),
        (MetricPoint("f1", 0.5, 1, window=""), ValueError, "window must be a non-empty"),
        (MetricPoint("f\udc80", 0.5, 1), ValueError, "not valid Unicode"),
        (MetricPoint("f1", 0.5, 1, window_start="2024-05-01"), TypeError, "expected a datetime"),  # type: ignore[arg-type]
        (MetricPoint("f1", 0.5, 1, segment={"c": 1}), TypeError, "segment keys and values"),  # type: ignore[dict-item]
        (MetricPoint("f1", 0.5, 1, ci_low="x"), TypeError, "ci_low must be a real number"),  # type: ignore[arg-type]
        ("f1", TypeError, "must be a MetricPoint"),
    ],
)
def test_invalid_points_are_refused_before_anything_is_written(
    store: SQLiteStore, db_path: Path, point: object, error: type[Exception], message: str
) -> None:
    store.record_run(make_run(), make_points(days=1))
    before = dump(db_path)
    good = MetricPoint("recall", 0.5, 1)
    with pytest.raises(error, match=message):
        store.record_run(make_run(data="other"), [good, point])  # type: ignore[list-item]
    assert dump(db_path) == before


def test_invalid_runs_are_refused(store: SQLiteStore) -> None:
    with pytest.raises(ValueError, match=r"run\.model must be a non-empty string"):
        store.record_run(make_run(model=""), [])
    with pytest.raises(ValueError, match=r"run\.rows must be >= 0"):
        store.record_run(make_run(rows=-1), [])
    assert store.runs() == []


def test_numpy_scalars_are_accepted(store: SQLiteStore) -> None:
    store.record_run(
        make_run(),
        [
            MetricPoint("f1", np.float32(0.5), np.int64(7)),  # type: ignore[arg-type]
            MetricPoint("auc", np.float64(math.nan), np.uint32(0)),  # type: ignore[arg-type]
        ],
    )
    back = {p.metric: p for p in store.history()}
    assert back["f1"].value == 0.5 and back["f1"].n == 7 and isinstance(back["f1"].n, int)
    assert back["auc"].value is None and back["auc"].reason == "undefined"

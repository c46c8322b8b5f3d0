"""Late data across runs: a time window's value merges the states of every run of the same model
version and plan; re-running the same data replaces, never double counts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plans import make_plan
from scoreboard import engine
from scoreboard.recording import record_evaluation
from scoreboard.store import open_store

STARTED = datetime(2026, 1, 1, tzinfo=UTC)


def days(first: int, last: int, seed: int) -> pd.DataFrame:
    """Rows from day ``first`` 00:00 to day ``last`` 23:59 (inclusive), March 2026."""
    rng = np.random.default_rng(seed)
    n = (last - first + 1) * 200
    start = pd.Timestamp(f"2026-03-{first:02d}", tz="UTC")
    ts = start + pd.to_timedelta(rng.integers(0, (last - first + 1) * 86_400, n), unit="s")
    return pd.DataFrame(
        {
            "ts": ts,
            "region": rng.choice(["eu", "us"], n),
            "y": rng.integers(0, 2, n),
            "p": rng.random(n),
        }
    )


def record(tmp: Path, frame: pd.DataFrame, name: str, store: str) -> dict[tuple, float | None]:
    plan = make_plan(
        "binary",
        ["f1", "count"],
        columns={"y_true": "y", "y_score": "p", "timestamp": "ts"},
        windows=[{"name": "daily", "tumbling": "1d"}],
        segments=["region"],
    )
    path = tmp / f"{name}.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    acc, fingerprint = engine.stream(plan, str(path))
    with open_store(store) as db:
        out = record_evaluation(
            db, plan, acc, model_version="v1", data_fingerprint=fingerprint, started=STARTED
        )
    return {
        (r.window, r.window_start, tuple(r.segment.items()), r.metric): r.value for r in out.results
    }


def test_split_runs_equal_one_run(tmp_path: Path) -> None:
    first, second = days(1, 10, seed=1), days(10, 20, seed=2)
    # Day 10 has rows in both runs: it must come out as if evaluated together.
    store = str(tmp_path / "split.db")
    record(tmp_path, first, "first", store)
    late = record(tmp_path, second, "second", store)
    whole = record(tmp_path, pd.concat([first, second]), "whole", str(tmp_path / "one.db"))
    day10 = datetime(2026, 3, 10, tzinfo=UTC)
    for key, value in whole.items():
        if key[0] == "daily" and key[1] == day10:
            assert late[key] == pytest.approx(value, rel=1e-12), key

    with open_store(store) as db:
        history = db.history(model="m", window="daily", latest_windows=True)
    shown = {(p.window_start, tuple(p.segment.items()), p.metric): p.value for p in history}
    for (window, start, segment, metric), value in whole.items():
        if window == "daily":
            assert shown[(start, segment, metric)] == pytest.approx(value, rel=1e-12)


def test_rerunning_the_same_data_does_not_double_count(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    data = days(1, 3, seed=3)
    once = record(tmp_path, data, "a", store)
    again = record(tmp_path, data, "a", store)
    assert again == once
    with open_store(store) as db:
        assert len(db.runs()) == 1
        counts = [
            p.value
            for p in db.history(metric="count", window="daily", latest_windows=True)
            if not p.segment
        ]
    assert sum(c for c in counts if c is not None) == len(data)


def test_history_cli_shows_each_window_once_with_late_data_merged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from scoreboard.cli import run

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\nmodel: m\ntask: binary\n"
        "columns: {y_true: y, y_score: p, timestamp: ts}\n"
        "windows: [{name: daily, tumbling: 1d}]\nmetrics: [count, f1]\n"
    )
    store = str(tmp_path / "cli.db")
    for name, frame in (("a", days(1, 10, seed=1)), ("b", days(10, 20, seed=2))):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        assert (
            run(
                [
                    "evaluate",
                    str(spec),
                    str(path),
                    "--store",
                    store,
                    "--no-progress",
                    "--format",
                    "json",
                ]
            )
            == 0
        )
    capsys.readouterr()
    assert run(["history", "--store", store, "--metric", "count", "--format", "json"]) == 0
    points = json.loads(capsys.readouterr().out)
    daily = [p for p in points if p["window"] == "daily"]
    starts = [p["window_start"] for p in daily]
    assert len(starts) == len(set(starts)) == 20
    day10 = next(p for p in daily if p["window_start"].startswith("2026-03-10"))
    both = pd.concat([days(1, 10, seed=1), days(10, 20, seed=2)])
    assert day10["value"] == int((both.ts.dt.day == 10).sum())

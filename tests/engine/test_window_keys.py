"""Cell keys computed by the core (fixed-width UTC panes from raw timestamps, segments from
dictionary indices) against the keys computed in numpy (the path of calendar months and
timezones), and against a brute-force count per window instance and segment value."""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from typing import Any
from unittest.mock import patch

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoreboard as sb
from plans import make_plan
from scoreboard import _core
from scoreboard.engine import Accumulator

UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
HOUR_NS = 3600 * 10**9
WINDOWS = [
    {"name": "hourly", "tumbling": "1h"},
    {"name": "daily", "tumbling": "1d"},
    {"name": "weekly", "tumbling": "1w"},
    {"name": "two_hours", "sliding": {"size": "2h", "step": "1h"}},
]


def plan(**extra: Any) -> sb.Plan:
    return make_plan(
        "binary",
        ["count", "accuracy"],
        columns={"y_true": "y", "y_score": "p", "timestamp": "ts"},
        windows=WINDOWS,
        segments=["region"],
        **extra,
    )


def by_group(results: sb.Results) -> dict[tuple[Any, ...], float | None]:
    return {
        (r.window, r.window_index, tuple(sorted(r.segment.items())), r.metric): r.value
        for r in results
    }


def evaluate(p: sb.Plan, table: pa.Table, chunk_rows: int, *, fused: bool) -> sb.Results:
    acc = p.accumulator()
    # The numpy path computes every pane itself (as for months and timezones).
    slow = patch.object(Accumulator, "_fast", staticmethod(lambda pane, unit_ns: False))
    with nullcontext() if fused else slow:
        for batch in table.to_batches(max_chunksize=chunk_rows):
            acc.update(batch)
    return acc.results()


@st.composite
def tables(draw: st.DrawFn) -> tuple[pa.Table, str]:
    n = draw(st.integers(0, 300))
    unit = draw(st.sampled_from(sorted(UNITS)))
    scale = UNITS[unit]
    # Around the epoch (negative stamps included), with stamps right at pane starts.
    base = draw(st.integers(-20 * 86_400, 20 * 86_400)) * 10**9 // scale
    spread = draw(st.sampled_from([1, 3600, 86_400, 30 * 86_400])) * 10**9 // scale
    offsets = draw(st.lists(st.integers(-spread, spread), min_size=n, max_size=n))
    on_edges = draw(st.lists(st.integers(-48, 48), min_size=n, max_size=n))
    edge = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    stamps = [
        (e * HOUR_NS) // scale + d if at else base + o
        for o, e, at, d in zip(offsets, on_edges, edge, [0, -1, 1] * n, strict=False)
    ]
    region = draw(st.lists(st.sampled_from(["eu", "us", "apac", None]), min_size=n, max_size=n))
    rng = np.random.default_rng(n)
    indices = pa.array(
        [None if r is None else ["eu", "us", "apac"].index(r) for r in region], pa.int8()
    )
    regions = pa.DictionaryArray.from_arrays(indices, pa.array(["eu", "us", "apac"]))
    kind = draw(st.sampled_from(["timestamp", "integer"]))
    ts = (
        pa.array(stamps, pa.timestamp(unit, tz="UTC"))
        if kind == "timestamp"
        else pa.array(stamps, pa.int64())
    )
    table = pa.table(
        {
            "ts": ts,
            "region": regions if draw(st.booleans()) else regions.dictionary_decode(),
            "y": rng.integers(0, 2, n).astype(np.int8),
            "p": rng.random(n),
        }
    )
    return table, unit


@settings(max_examples=40, deadline=None)
@given(data=tables(), chunk_rows=st.sampled_from([1, 7, 97, 1000]))
def test_core_keys_equal_numpy_keys_and_brute_force(
    data: tuple[pa.Table, str], chunk_rows: int
) -> None:
    table, unit = data
    p = plan(**({"timestamp_unit": unit} if pa.types.is_integer(table["ts"].type) else {}))
    fused = by_group(evaluate(p, table, chunk_rows, fused=True))
    assert fused == by_group(evaluate(p, table, table.num_rows or 1, fused=False))
    # Brute force: rows per (hour, region) from exact integer division.
    scale = UNITS[unit]
    hours = [(t * scale) // HOUR_NS for t in table["ts"].cast(pa.int64()).to_pylist()]
    regions = [r if r is not None else "(null)" for r in table["region"].to_pylist()]
    counted = Counter(zip(hours, regions, strict=True))
    got = {
        (w, seg[0][1]): v
        for (w_name, w, seg, metric), v in fused.items()
        if w_name == "hourly" and metric == "count" and seg
    }
    assert got == {k: float(v) for k, v in counted.items()}


def test_timestamps_past_the_nanosecond_range_are_data_errors() -> None:
    stamps = pa.array([0, 32_503_680_000], pa.timestamp("s", tz="UTC"))  # 1970, 3000
    table = pa.table({"ts": stamps, "region": ["a", "b"], "y": [0, 1], "p": [0.1, 0.9]})
    for fused in (True, False):
        with pytest.raises(sb.DataError) as info:
            evaluate(plan(), table, 2, fused=fused)
        assert info.value.column == "ts"
        assert "out of range" in str(info.value)


def test_a_rejected_batch_adds_no_cell() -> None:
    p = plan()
    acc = Accumulator(p)
    good = pa.table(
        {
            "ts": pa.array([0, 3_600], pa.timestamp("s", tz="UTC")),
            "region": ["a", "b"],
            "y": [0, 1],
            "p": [0.2, 0.8],
        }
    )
    acc.update(good)
    cells = acc._executor.cell_keys()
    bad = good.set_column(3, "p", pa.array([0.5, float("nan")]))
    bad = bad.set_column(0, "ts", pa.array([7_200, 90_000], pa.timestamp("s", tz="UTC")))
    with pytest.raises(sb.DataError):
        acc.update(bad)
    assert acc._executor.cell_keys() == cells
    assert acc.rows == 2


@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=50))
def test_core_extent_is_numpy_min_and_max(values: list[int]) -> None:
    stamps = np.array(values, dtype=np.int64)
    assert _core.extent(stamps) == (int(stamps.min()), int(stamps.max()))
    assert _core.extent(stamps[::2]) == (int(stamps[::2].min()), int(stamps[::2].max()))


def test_core_extent_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        _core.extent(np.zeros(0, np.int64))

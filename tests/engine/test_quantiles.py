"""Quantiles of any numeric column: the sketch is within 1% (relative) of numpy, bounded in
memory and independent of chunking and merge order; ``exact: true`` equals numpy's linear
quantile."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from plans import make_plan
from scoreboard.exceptions import DataError, SpecError

LEVELS = [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0]


def plan_for(exact: bool) -> Any:
    metrics = [
        {"kind": "quantile", "column": "latency_ms", "q": q, "exact": exact, "name": f"q{q}"}
        for q in LEVELS
    ]
    columns = {"y_true": "y", "y_pred": "p", "latency_ms": "lat"}
    return make_plan("regression", metrics, columns=columns)


def evaluate(plan: Any, lat: np.ndarray, chunk_rows: int = 1 << 20) -> dict[float, float | None]:
    zeros = np.zeros(len(lat))
    res = plan.evaluate({"y": zeros, "p": zeros, "lat": lat}, chunk_rows=chunk_rows)
    return {q: res.value(f"q{q}") for q in LEVELS}


def within_one_percent(got: float, lat: np.ndarray, q: float) -> bool:
    """Within 1% of the two order statistics numpy interpolates between. Magnitudes more than 64
    binades below the largest share the sketch's lowest bucket (bounded memory), so they are only
    resolved to that bucket's size."""
    s = np.sort(lat)
    rank = q * (len(s) - 1)
    lo, hi = s[int(np.floor(rank))], s[int(np.ceil(rank))]
    folded = float(np.max(np.abs(s))) * 2.0**-62
    tol = 0.01 * max(abs(lo), abs(hi)) + folded
    return bool(min(lo, hi) - tol <= got <= max(lo, hi) + tol)


finite = st.floats(-1e12, 1e12, allow_nan=False) | st.sampled_from([0.0, 1.0, -2.0, 1e-3])
samples = st.integers(1, 3000).flatmap(lambda n: hnp.arrays(np.float64, n, elements=finite))


@given(lat=samples)
def test_exact_equals_numpy_and_sketch_is_within_one_percent(lat: np.ndarray) -> None:
    exact = evaluate(plan_for(True), lat)
    sketch = evaluate(plan_for(False), lat)
    for q in LEVELS:
        assert exact[q] == pytest.approx(np.quantile(lat, q), rel=1e-15, abs=0), q
        assert sketch[q] is not None and within_one_percent(sketch[q], lat, q), (q, sketch[q])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint16])
def test_latency_like_data_every_dtype(dtype: Any) -> None:
    rng = np.random.default_rng(1)
    lat = (rng.lognormal(3, 1.2, 200_000) * 10).astype(dtype)
    sketch = evaluate(plan_for(False), lat)
    exact = evaluate(plan_for(True), lat)
    for q in LEVELS:
        assert exact[q] == pytest.approx(np.quantile(lat.astype(np.float64), q), rel=1e-15)
        assert within_one_percent(sketch[q], lat.astype(np.float64), q), q  # type: ignore[arg-type]


def test_sketch_is_independent_of_chunking_and_merging() -> None:
    rng = np.random.default_rng(2)
    lat = rng.standard_cauchy(100_000)
    plan = plan_for(False)
    whole = evaluate(plan, lat)
    assert evaluate(plan, lat, chunk_rows=3_333) == whole
    merged = plan.accumulator()
    zeros = np.zeros(len(lat))
    for lo in reversed(range(0, len(lat), 9_999)):
        part = plan.accumulator()
        part.update(
            {"y": zeros[lo : lo + 9_999], "p": zeros[lo : lo + 9_999], "lat": lat[lo : lo + 9_999]}
        )
        merged.merge(plan.accumulator_from_bytes(part.to_bytes()))
    assert {q: merged.results().value(f"q{q}") for q in LEVELS} == whole
    assert len(merged.to_bytes()) < 100_000  # bounded, whatever the row count


def test_bad_input_and_empty() -> None:
    plan = plan_for(False)
    with pytest.raises(DataError) as info:
        evaluate(plan, np.array([1.0, 2.0, np.nan]))
    assert (info.value.column, info.value.row) == ("lat", 2)
    assert all(v is None for v in evaluate(plan, np.zeros(0)).values())
    for bad in ({"kind": "quantile", "column": "x", "q": 1.5}, {"kind": "quantile", "q": 0.5}):
        with pytest.raises(SpecError):
            make_plan("regression", [bad])

"""Regression extras (msle, median_absolute_error, mean_pinball_loss, d2_absolute_error) against
scikit-learn, and column statistics (mean, min, max, sum) of any numeric column against numpy and
math.fsum: hypothesis inputs, chunked == whole == merged, bad input located."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

from plans import make_plan
from scoreboard.exceptions import DataError, SpecError

METRICS: list[Any] = [
    "msle",
    "median_absolute_error",
    "d2_absolute_error",
    {"kind": "mean_pinball_loss", "name": "pinball_50"},
    {"kind": "mean_pinball_loss", "alpha": 0.1, "name": "pinball_10"},
    {"kind": "mean_pinball_loss", "alpha": 0.9, "name": "pinball_90"},
]


def reference(name: str, y: np.ndarray, p: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(
            {
                "msle": lambda: skm.mean_squared_log_error(y, p),
                "median_absolute_error": lambda: skm.median_absolute_error(y, p),
                "d2_absolute_error": lambda: skm.d2_absolute_error_score(y, p),
                "pinball_50": lambda: skm.mean_pinball_loss(y, p, alpha=0.5),
                "pinball_10": lambda: skm.mean_pinball_loss(y, p, alpha=0.1),
                "pinball_90": lambda: skm.mean_pinball_loss(y, p, alpha=0.9),
            }[name]()
        )


def check(y: np.ndarray, p: np.ndarray, chunk_rows: int = 1 << 20) -> None:
    # scikit-learn computes float32 inputs in float32; we compute in float64.
    rel = 1e-6 if y.dtype == np.float32 else 1e-12
    res = make_plan("regression", METRICS).evaluate({"y": y, "p": p}, chunk_rows=chunk_rows)
    for r in res:
        want = reference(r.metric, y, p)
        if math.isnan(want):
            assert r.value is None and r.reason == "insufficient_data", r
        else:
            assert r.value == pytest.approx(want, rel=rel, abs=1e-12), (r.metric, want)


values = st.floats(0, 1e6, allow_nan=False) | st.sampled_from([0.0, 1.0, 2.5])
pairs = st.integers(min_value=1, max_value=3000).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.float64, n, elements=values), hnp.arrays(np.float64, n, elements=values)
    )
)


@given(data=pairs, chunk_rows=st.sampled_from([1 << 20, 7, 1000]))
def test_matches_sklearn(data: tuple[np.ndarray, np.ndarray], chunk_rows: int) -> None:
    check(*data, chunk_rows=chunk_rows)


@pytest.mark.parametrize("case", ["one_row", "constant_target", "perfect", "float32", "negative"])
def test_edge_cases(case: str) -> None:
    y, p = {
        "one_row": (np.array([2.0]), np.array([3.0])),
        "constant_target": (np.full(10, 3.0), np.linspace(0, 5, 10)),
        "perfect": (np.full(10, 3.0), np.full(10, 3.0)),
        "float32": (
            np.linspace(0, 9, 50, dtype=np.float32),
            np.linspace(1, 7, 50, dtype=np.float32),
        ),
        "negative": (np.linspace(-0.9, 9, 50), np.linspace(5, -0.5, 50)),
    }[case]
    check(y, p)


def test_msle_rejects_values_at_or_below_minus_one() -> None:
    plan = make_plan("regression", ["msle", "mse"])
    with pytest.raises(DataError) as info:
        plan.evaluate({"y": np.array([0.0, 1.0, -1.0]), "p": np.array([0.0, 1.0, 2.0])})
    assert (info.value.column, info.value.row) == ("y", 2)
    # Without msle, the same data is fine for the other extras.
    res = make_plan("regression", ["mean_pinball_loss"]).evaluate(
        {"y": np.array([0.0, -1.0]), "p": np.array([0.0, 2.0])}
    )
    assert res.value("mean_pinball_loss") == pytest.approx(1.5 / 2)


def test_empty_input() -> None:
    res = make_plan("regression", METRICS).evaluate({"y": np.array([]), "p": np.array([])})
    assert all(r.value is None and r.reason == "insufficient_data" for r in res)


def test_column_statistics_of_any_column() -> None:
    rng = np.random.default_rng(4)
    n = 50_000
    latency = rng.lognormal(3, 1, n)
    data = {"y": rng.integers(0, 2, n), "p": rng.random(n), "lat": latency, "raw": latency * 2}
    metrics: list[Any] = [
        {"kind": "mean", "column": "latency_ms", "name": "mean_latency"},
        {"kind": "max", "column": "latency_ms", "name": "max_latency"},
        {"kind": "min", "column": "raw", "name": "min_raw"},
        {"kind": "sum", "column": "y_score", "name": "score_sum"},
        "roc_auc",
    ]
    plan = make_plan(
        "binary", metrics, columns={"y_true": "y", "y_score": "p", "latency_ms": "lat"}
    )
    assert [a["kind"] for a in plan.accumulators].count("column_stats") == 3
    for chunk_rows in (1 << 20, 999):
        res = plan.evaluate(data, chunk_rows=chunk_rows)
        assert res.value("mean_latency") == pytest.approx(math.fsum(latency) / n, rel=1e-14)
        assert res.value("max_latency") == latency.max()
        assert res.value("min_raw") == (latency * 2).min()
        assert res.value("score_sum") == pytest.approx(math.fsum(data["p"]), rel=1e-14)


def test_sums_are_compensated() -> None:
    n = 1_000_000
    tenths = np.full(n, 0.1)
    alternating = np.where(np.arange(n) % 2 == 0, 1e8, -1e8 + 0.1)
    plan = make_plan(
        "regression",
        [{"kind": "sum", "column": "a", "name": "a"}, {"kind": "sum", "column": "b", "name": "b"}],
    )
    res = plan.evaluate(
        {"y": tenths, "p": tenths, "a": tenths, "b": alternating}, chunk_rows=77_777
    )
    assert res.value("a") == pytest.approx(math.fsum(tenths), rel=1e-15)
    assert res.value("b") == pytest.approx(math.fsum(alternating), rel=1e-12)


def test_column_statistics_bad_input() -> None:
    plan = make_plan("regression", [{"kind": "mean", "column": "lat"}])
    with pytest.raises(DataError) as info:
        plan.evaluate({"y": np.zeros(3), "p": np.zeros(3), "lat": np.array([1.0, np.inf, 2.0])})
    assert (info.value.column, info.value.row) == ("lat", 1)
    with pytest.raises(DataError):
        plan.evaluate({"y": np.zeros(2), "p": np.zeros(2), "lat": np.array(["a", "b"])})
    empty = plan.evaluate({"y": np.zeros(0), "p": np.zeros(0), "lat": np.zeros(0)})
    assert empty.get("mean").reason == "insufficient_data"
    res = make_plan("regression", [{"kind": "sum", "column": "lat"}]).evaluate(
        {"y": np.zeros(0), "p": np.zeros(0), "lat": np.zeros(0)}
    )
    assert res.value("sum") == 0.0


def test_spec_checks() -> None:
    for task, bad in [
        ("binary", "msle"),
        ("regression", {"kind": "mean_pinball_loss", "alpha": 1.0}),
        ("regression", {"kind": "mean"}),
        ("multiclass", "median_absolute_error"),
    ]:
        with pytest.raises(SpecError):
            make_plan(task, [bad])

"""Regression metrics against scikit-learn, including the numerically hostile cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

from plans import make_plan

KINDS = [
    "mse",
    "rmse",
    "mae",
    "mape",
    "r2",
    "explained_variance",
    "max_error",
    "mean_error",
    "count",
]


def reference(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "mse": skm.mean_squared_error(y, p),
            "rmse": skm.root_mean_squared_error(y, p),
            "mae": skm.mean_absolute_error(y, p),
            "mape": skm.mean_absolute_percentage_error(y, p),
            "r2": skm.r2_score(y, p),
            "explained_variance": skm.explained_variance_score(y, p),
            "max_error": skm.max_error(y, p),
            "mean_error": float(np.mean(p - y)),
            "count": float(len(y)),
        }


def check(y: np.ndarray, p: np.ndarray, rel: float = 1e-9) -> None:
    res = make_plan("regression", KINDS).evaluate({"y": y, "p": p})
    want_all = reference(y.astype(np.float64), p.astype(np.float64))
    error = p.astype(np.float64) - y.astype(np.float64)
    target = y.astype(np.float64)
    if len(y) and (np.ptp(target) == 0 or np.var(target) == 0):
        # A constant target (or one whose spread underflows): Var(y) is 0, so scikit-learn's
        # force_finite answer is 1 for a zero numerator and 0 otherwise. Its mean of a repeated
        # value can round, leaving a tiny denominator (r2 of -1e31) or numerator (explained
        # variance 0 for a constant error); the exact answers are asserted instead.
        want_all["r2"] = 1.0 if not np.any(error**2) else 0.0  # as squared: may underflow
        flat = np.ptp(error) == 0 or np.var(error) == 0  # constant, or a spread that underflows
        want_all["explained_variance"] = 1.0 if flat else 0.0
    elif np.ptp(y) < 1e-6 * float(np.max(np.abs(error))):
        # y varies by less than float64 resolves next to the error (y = [2e-146, 0, 0, 0, 0],
        # p = 2467.5: p - y rounds to a constant), so Var(y - p) is lost to rounding in any
        # float64 algorithm: scikit-learn answers -2e269 for explained variance, the exact value
        # is 0; nothing to compare. (r2 reads sums of y and of squared errors: still compared.)
        # Hypothesis draws constants from the loaded modules, so which examples it tries depends
        # on what else the test session imports.
        del want_all["explained_variance"]
    for kind, want in want_all.items():
        got = res.value(kind)
        if math.isnan(want):
            assert got is None, kind
            continue
        assert got is not None, kind
        if kind == "explained_variance" and np.ptp(y) == 0 and np.ptp(p - y) == 0:
            # 0/0 (constant target and error): scikit-learn's rounding of the error's mean
            # decides 0.0 or 1.0; ours is exact (a zero numerator: 1.0).
            continue
        # r2 and explained variance near 0 are differences of near-equal numbers: absolute too.
        assert got == pytest.approx(want, rel=rel, abs=1e-12), kind


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
pairs = st.integers(2, 3000).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.float64, n, elements=finite), hnp.arrays(np.float64, n, elements=finite)
    )
)


@given(data=pairs)
def test_matches_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    check(*data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint16])
def test_every_dtype(dtype: type) -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(4000) * 100).astype(dtype)
    p = (rng.random(4000) * 100).astype(dtype)
    check(y, p)


def test_values_offset_by_1e9_keep_their_variance() -> None:
    rng = np.random.default_rng(1)
    y = 1e9 + rng.random(100_000)
    p = y + rng.normal(0, 0.1, y.size)
    check(y, p)


def test_constant_target_and_perfect_fit() -> None:
    y = np.full(100, 3.0)
    check(y, y.copy())  # r2 = 1 for a perfect fit of a constant
    check(y, y + np.linspace(-1, 1, 100))  # r2 = 0 otherwise (force_finite)


def test_one_sample_r2_is_undefined() -> None:
    res = make_plan("regression", ["r2", "mse"]).evaluate(
        {"y": np.array([1.0]), "p": np.array([2.0])}
    )
    assert (res.value("r2"), res.get("r2").reason) == (None, "insufficient_data")
    assert res.value("mse") == 1.0


def test_sum_of_a_million_tenths_is_exact() -> None:
    y = np.zeros(1_000_000)
    p = np.full(1_000_000, 0.1)
    res = make_plan("regression", ["mae", "mean_error"]).evaluate({"y": y, "p": p})
    assert res.value("mae") == pytest.approx(0.1, rel=1e-14)


def test_nan_is_rejected_with_column_and_row() -> None:
    from scoreboard import DataError

    with pytest.raises(DataError) as info:
        make_plan("regression", ["mse"]).evaluate(
            {"y": np.array([1.0, 2.0, 3.0]), "p": np.array([1.0, 2.0, np.inf])}
        )
    assert (info.value.column, info.value.row) == ("p", 2)


def test_real_model_predictions_diabetes() -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True)
    pred = Ridge(alpha=0.5).fit(x[:200], y[:200]).predict(x[200:])
    check(y[200:], pred, rel=1e-12)

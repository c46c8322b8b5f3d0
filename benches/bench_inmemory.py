"""In-memory arrays: scoreboard's accumulator against scikit-learn and the best plain numpy, on
the same arrays. Each group times one metric set; after timing, each anchor's values are checked
against scoreboard's (to 1e-12, outside the timed function)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import scoreboard as sb
from benchlib import (
    BINARY_METRICS,
    MULTICLASS_METRICS,
    REGRESSION_METRICS,
    THRESHOLD,
    BinaryData,
    PairData,
    Values,
    assert_agree,
    make_plan,
    numpy_binary,
    numpy_multiclass,
    numpy_regression,
    run,
    sklearn_binary,
    sklearn_multiclass,
    sklearn_regression,
    values,
)

IMPLS = ["scoreboard", "numpy", "sklearn"]
Fn = Callable[[], Values]


def scoreboard_fn(plan: sb.Plan, y: np.ndarray, pred: np.ndarray) -> Fn:
    """What a service does: a fresh accumulator, one update with the arrays, the results."""

    def evaluate() -> Values:
        acc = plan.accumulator()
        acc.update({"y": y, "p": pred})
        return values(acc.results())

    return evaluate


def measure(benchmark: Any, impl: str, fns: dict[str, Fn], *, group: str, rows: int) -> None:
    result = run(benchmark, fns[impl], group=group, impl=impl, rows=rows, slow=impl == "sklearn")
    if impl != "scoreboard":
        assert_agree(fns["scoreboard"](), result)


# --------------------------------------------------------------------------------------------
# Binary: accuracy, precision, recall, f1, mcc


@pytest.mark.parametrize("impl", IMPLS)
def test_binary_scores(benchmark: Any, impl: str, binary: BinaryData) -> None:
    """int8 labels and float64 scores; every implementation thresholds at 0.5 itself."""
    plan = make_plan("binary", BINARY_METRICS, {"y_true": "y", "y_score": "p"})
    y, score = binary.y, binary.score
    fns: dict[str, Fn] = {
        "scoreboard": scoreboard_fn(plan, y, score),
        "numpy": lambda: numpy_binary(y, score >= THRESHOLD),
        "sklearn": lambda: sklearn_binary(y, score >= THRESHOLD),
    }
    measure(benchmark, impl, fns, group="binary scores, in-memory", rows=binary.rows)


@pytest.mark.parametrize("impl", IMPLS)
def test_binary_labels(benchmark: Any, impl: str, binary: BinaryData) -> None:
    """int8 labels and bool hard predictions (``y_pred``)."""
    plan = make_plan("binary", BINARY_METRICS, {"y_true": "y", "y_pred": "p"})
    y, pred = binary.y, binary.pred
    fns: dict[str, Fn] = {
        "scoreboard": scoreboard_fn(plan, y, pred),
        "numpy": lambda: numpy_binary(y, pred),
        "sklearn": lambda: sklearn_binary(y, pred),
    }
    measure(benchmark, impl, fns, group="binary labels, in-memory", rows=binary.rows)


# --------------------------------------------------------------------------------------------
# Multiclass (K=10, int64 labels): accuracy, f1 macro, mcc


@pytest.mark.parametrize("impl", IMPLS)
def test_multiclass(benchmark: Any, impl: str, multiclass: PairData) -> None:
    plan = make_plan("multiclass", MULTICLASS_METRICS, {"y_true": "y", "y_pred": "p"})
    y, pred = multiclass.y, multiclass.pred
    fns: dict[str, Fn] = {
        "scoreboard": scoreboard_fn(plan, y, pred),
        "numpy": lambda: numpy_multiclass(y, pred),
        "sklearn": lambda: sklearn_multiclass(y, pred),
    }
    measure(benchmark, impl, fns, group="multiclass K=10, in-memory", rows=multiclass.rows)


# --------------------------------------------------------------------------------------------
# Regression (float64): mse, rmse, mae, r2


@pytest.mark.parametrize("impl", IMPLS)
def test_regression(benchmark: Any, impl: str, regression: PairData) -> None:
    plan = make_plan("regression", REGRESSION_METRICS, {"y_true": "y", "y_pred": "p"})
    y, pred = regression.y, regression.pred
    fns: dict[str, Fn] = {
        "scoreboard": scoreboard_fn(plan, y, pred),
        "numpy": lambda: numpy_regression(y, pred),
        "sklearn": lambda: sklearn_regression(y, pred),
    }
    measure(benchmark, impl, fns, group="regression, in-memory", rows=regression.rows)

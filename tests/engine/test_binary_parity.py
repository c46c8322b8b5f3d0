"""Binary metrics against scikit-learn: random and adversarial inputs, every dtype, every
zero_division mode, chunked vs whole vs merged."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

from plans import make_plan

ZERO_DIVISIONS: list[Any] = ["warn", "nan", 0, 1]
KINDS = [
    "accuracy",
    "precision",
    "recall",
    "f1",
    "specificity",
    "npv",
    "fpr",
    "fnr",
    "balanced_accuracy",
    "mcc",
    "cohen_kappa",
    "jaccard",
    "prevalence",
    "predicted_positive_rate",
    "count",
]


def zd_value(zd: Any) -> float:
    return {"warn": 0.0, "nan": math.nan}.get(zd, zd) if isinstance(zd, str) else float(zd)


def confusion(y: np.ndarray, p: np.ndarray) -> tuple[int, int, int, int]:
    tp = int(np.sum((y == 1) & (p == 1)))
    fp = int(np.sum((y == 0) & (p == 1)))
    fn = int(np.sum((y == 1) & (p == 0)))
    tn = int(np.sum((y == 0) & (p == 0)))
    return tp, fp, fn, tn


def ratio(num: float, den: float, zd: Any) -> float:
    return num / den if den else zd_value(zd)


def reference(kind: str, y: np.ndarray, p: np.ndarray, zd: Any, beta: float = 2.0) -> float:
    """scikit-learn's value, or the confusion-matrix formula where sklearn has no function."""
    skzd = np.nan if zd == "nan" else zd
    tp, fp, fn, tn = confusion(y, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table: dict[str, Callable[[], float]] = {
            "accuracy": lambda: skm.accuracy_score(y, p),
            "precision": lambda: skm.precision_score(y, p, zero_division=skzd),
            "recall": lambda: skm.recall_score(y, p, zero_division=skzd),
            "f1": lambda: skm.f1_score(y, p, zero_division=skzd),
            "fbeta": lambda: skm.fbeta_score(y, p, beta=beta, zero_division=skzd),
            # sklearn's jaccard_score takes no nan zero_division: use its formula there.
            "jaccard": lambda: (
                ratio(tp, tp + fp + fn, zd)
                if zd == "nan"
                else skm.jaccard_score(y, p, zero_division=skzd)
            ),
            "specificity": lambda: skm.recall_score(
                y, p, pos_label=0, labels=[0, 1], zero_division=skzd
            ),
            "npv": lambda: skm.precision_score(
                y, p, pos_label=0, labels=[0, 1], zero_division=skzd
            ),
            "fpr": lambda: ratio(fp, fp + tn, zd),
            "fnr": lambda: ratio(fn, fn + tp, zd),
            "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, p),
            "mcc": lambda: mcc_reference(y, p, zd),
            "cohen_kappa": lambda: skm.cohen_kappa_score(
                y, p, replace_undefined_by=np.nan if isinstance(zd, str) else float(zd)
            ),
            "prevalence": lambda: (tp + fn) / len(y),
            "predicted_positive_rate": lambda: (tp + fp) / len(y),
            "count": lambda: float(len(y)),
        }
        return float(table[kind]())


def mcc_reference(y: np.ndarray, p: np.ndarray, zd: Any) -> float:
    """sklearn returns 0.0 where MCC is undefined; we route that case through zero_division."""
    value = float(skm.matthews_corrcoef(y, p))
    t, q = np.bincount(y, minlength=2), np.bincount(p, minlength=2)
    n = len(y)
    undefined = (n * n - q @ q) == 0 or (n * n - t @ t) == 0
    return zd_value(zd) if undefined else value


def assert_close(got: float | None, want: float, what: str) -> None:
    if math.isnan(want):
        assert got is None, f"{what}: expected undefined, got {got}"
    else:
        assert got is not None, f"{what}: expected {want}, got undefined"
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15), what


def check_all(
    y: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    zd: Any,
    y_cast: Any = np.int64,
    s_cast: Any = np.float64,
) -> None:
    metrics = [*KINDS, {"kind": "fbeta", "beta": 2, "name": "fbeta"}]
    plan = make_plan("binary", metrics, threshold=threshold, zero_division=zd)
    res = plan.evaluate({"y": y.astype(y_cast), "p": scores.astype(s_cast)})
    pred = (scores.astype(s_cast).astype(np.float64) >= threshold).astype(np.int64)
    for kind in [*KINDS, "fbeta"]:
        assert_close(res.value(kind), reference(kind, y, pred, zd), f"{kind} zd={zd}")


# Scores mix a few tie-heavy values (exactly the threshold, 0, 1) with arbitrary floats.
labels_and_scores = st.integers(min_value=1, max_value=3000).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.int64, n, elements=st.integers(0, 1)),
        hnp.arrays(
            np.float64,
            n,
            elements=st.sampled_from([0.0, 0.5, 0.75, 1.0]) | st.floats(0, 1, allow_nan=False),
        ),
    )
)


@given(
    data=labels_and_scores,
    zd=st.sampled_from(ZERO_DIVISIONS),
    threshold=st.sampled_from([0.0, 0.5, 0.75, 1.0]),
)
def test_every_metric_matches_sklearn(
    data: tuple[np.ndarray, np.ndarray], zd: Any, threshold: float
) -> None:
    check_all(data[0], data[1], threshold, zd)


@pytest.mark.parametrize(
    "y_cast",
    [
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.float32,
        np.float64,
        bool,
    ],
)
@pytest.mark.parametrize("s_cast", [np.float32, np.float64])
def test_every_dtype(y_cast: Any, s_cast: Any) -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(5000) < 0.3).astype(np.int64)
    s = rng.random(5000)
    check_all(y, s, 0.3, "warn", y_cast=y_cast, s_cast=s_cast)


@pytest.mark.parametrize(
    "case", ["all_negative", "all_positive", "one_row", "never_predicted", "always_predicted"]
)
@pytest.mark.parametrize("zd", ZERO_DIVISIONS)
def test_degenerate_inputs(case: str, zd: Any) -> None:
    y, s = {
        "all_negative": (np.zeros(50, int), np.linspace(0, 1, 50)),
        "all_positive": (np.ones(50, int), np.linspace(0, 1, 50)),
        "one_row": (np.array([1]), np.array([0.9])),
        "never_predicted": (np.array([0, 1, 1, 0]), np.zeros(4)),
        "always_predicted": (np.array([0, 1, 1, 0]), np.ones(4)),
    }[case]
    check_all(y, s, 0.5, zd)


def test_hard_labels_and_string_labels() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 2000)
    p = rng.integers(0, 2, 2000)
    names = np.array(["legit", "fraud"])
    plan = make_plan(
        "binary",
        ["f1", "mcc", "precision"],
        columns={"y_true": "y", "y_pred": "p"},
        labels=["legit", "fraud"],
        positive_label="fraud",
    )
    res = plan.evaluate({"y": names[y], "p": names[p]})
    assert res.value("f1") == pytest.approx(skm.f1_score(y, p), rel=1e-12)
    assert res.value("mcc") == pytest.approx(skm.matthews_corrcoef(y, p), rel=1e-12)
    assert res.value("precision") == pytest.approx(skm.precision_score(y, p), rel=1e-12)


def test_empty_input_is_undefined_not_zero() -> None:
    plan = make_plan("binary", KINDS)
    res = plan.evaluate({"y": np.array([], np.int64), "p": np.array([], np.float64)})
    for r in res:
        if r.metric == "count":
            assert r.value == 0
        else:
            assert r.value is None and r.reason == "insufficient_data", r


def test_zero_division_is_reported_with_a_reason() -> None:
    plan = make_plan("binary", ["precision"])
    res = plan.evaluate({"y": np.array([0, 1]), "p": np.array([0.1, 0.2])})
    r = res.get("precision")
    assert (r.value, r.reason) == (0.0, "zero_division")


def test_real_model_predictions_breast_cancer() -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.5, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(xtr, ytr)
    scores = model.predict_proba(xte)[:, 1]
    for threshold in (0.2, 0.5, 0.9):
        check_all(yte, scores, threshold, "warn")


def test_per_metric_thresholds_share_one_accumulator() -> None:
    rng = np.random.default_rng(8)
    y = (rng.random(4000) < 0.4).astype(np.int64)
    s = np.round(rng.random(4000), 2)  # scores exactly at the thresholds occur
    metrics: list[Any] = [
        "f1",
        {"kind": "f1", "threshold": 0.3, "name": "f1_at_03"},
        {"kind": "precision", "threshold": 0.3, "name": "precision_at_03"},
        {"kind": "fbeta", "beta": 2, "threshold": 0.75, "name": "f2_at_075"},
        {"kind": "mcc", "threshold": 0.0, "name": "mcc_at_0"},
        {"kind": "recall", "threshold": 1.0, "name": "recall_at_1"},
    ]
    plan = make_plan("binary", metrics)
    kinds = [a["kind"] for a in plan.accumulators]
    assert sorted(kinds) == ["binary_confusion", "threshold_confusion"]
    res = plan.evaluate({"y": y, "p": s}, chunk_rows=999)
    for name, kind, t in [
        ("f1", "f1", 0.5),
        ("f1_at_03", "f1", 0.3),
        ("precision_at_03", "precision", 0.3),
        ("f2_at_075", "fbeta", 0.75),
        ("mcc_at_0", "mcc", 0.0),
        ("recall_at_1", "recall", 1.0),
    ]:
        pred = (s >= t).astype(np.int64)
        assert_close(res.value(name), reference(kind, y, pred, "warn"), name)


def test_threshold_only_where_it_applies() -> None:
    from scoreboard.exceptions import SpecError

    cases: list[tuple[str, list[Any], dict[str, Any]]] = [
        ("binary", [{"kind": "f1", "threshold": 0.3}], {"columns": {"y_true": "y", "y_pred": "p"}}),
        ("binary", [{"kind": "log_loss", "threshold": 0.3}], {}),
        ("regression", [{"kind": "mse", "threshold": 0.3}], {}),
        ("multiclass", [{"kind": "accuracy", "threshold": 0.3}], {}),
    ]
    for task, metrics, fields in cases:
        with pytest.raises(SpecError) as info:
            make_plan(task, metrics, **fields)
        assert info.value.problems[0].type == "threshold_not_applicable", (task, metrics)

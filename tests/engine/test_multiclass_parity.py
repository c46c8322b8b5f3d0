"""Multiclass metrics against scikit-learn: int and string labels, every average, classes that
appear only in y_true or only in y_pred, declared label sets."""

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

AVERAGES = ["micro", "macro", "weighted", "none"]
SCORES = {
    "precision": skm.precision_score,
    "recall": skm.recall_score,
    "f1": skm.f1_score,
    "jaccard": skm.jaccard_score,
}


def averaged_metrics() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for kind in [*SCORES, "fbeta"]:
        for avg in AVERAGES:
            entry: dict[str, Any] = {"kind": kind, "average": avg, "name": f"{kind}_{avg}"}
            if kind == "fbeta":
                entry["beta"] = 0.5
            out.append(entry)
    return out


PLAIN = ["accuracy", "balanced_accuracy", "mcc", "cohen_kappa", "count"]


def sk_averaged(
    kind: str, y: np.ndarray, p: np.ndarray, avg: str, zd: Any, labels: list[Any] | None
) -> Any:
    skzd = np.nan if zd == "nan" else zd
    average = None if avg == "none" else avg
    if kind == "fbeta":
        return skm.fbeta_score(y, p, beta=0.5, average=average, zero_division=skzd, labels=labels)
    if kind == "jaccard" and zd == "nan":
        return jaccard_nan_reference(y, p, average, labels)
    return SCORES[kind](y, p, average=average, zero_division=skzd, labels=labels)


def jaccard_nan_reference(
    y: np.ndarray, p: np.ndarray, average: str | None, labels: list[Any] | None
) -> Any:
    """sklearn's jaccard_score takes no nan zero_division; this is its formula with nan."""
    classes = labels if labels is not None else sorted(set(y) | set(p))
    tp = np.array([np.sum((y == c) & (p == c)) for c in classes], float)
    fp = np.array([np.sum((y != c) & (p == c)) for c in classes], float)
    fn = np.array([np.sum((y == c) & (p != c)) for c in classes], float)
    if average == "micro":
        den = (tp + fp + fn).sum()
        return tp.sum() / den if den else math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(tp + fp + fn > 0, tp / (tp + fp + fn), np.nan)
    if average is None:
        return per
    weights = np.ones_like(per) if average == "macro" else tp + fn
    keep = ~np.isnan(per)
    return (
        float(np.average(per[keep], weights=weights[keep]))
        if keep.any() and weights[keep].sum()
        else math.nan
    )


def check(y: np.ndarray, p: np.ndarray, zd: Any = "warn", labels: list[Any] | None = None) -> None:
    metrics = [*PLAIN, *averaged_metrics()]
    extra: dict[str, Any] = {"zero_division": zd}
    if labels is not None:
        extra["labels"] = labels
    plan = make_plan("multiclass", metrics, **extra)
    res = plan.evaluate({"y": y, "p": p})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expect_plain = {
            "accuracy": skm.accuracy_score(y, p),
            "balanced_accuracy": skm.balanced_accuracy_score(y, p),
            "mcc": skm.matthews_corrcoef(y, p),
            "cohen_kappa": skm.cohen_kappa_score(
                y, p, labels=labels, replace_undefined_by=np.nan if isinstance(zd, str) else zd
            ),
            "count": float(len(y)),
        }
        for name, want in expect_plain.items():
            got = res.value(name)
            if name == "mcc":
                want = mcc_undefined_by_zero_division(y, p, float(want), zd)
            assert_close(got, float(want), name)
        for m in averaged_metrics():
            want = sk_averaged(m["kind"], y, p, m["average"], zd, labels)
            if m["average"] == "none":
                classes = (
                    labels if labels is not None else sorted(set(y.tolist()) | set(p.tolist()))
                )
                got_per_class = {r.segment["class"]: r.value for r in res if r.metric == m["name"]}
                assert list(got_per_class) == [str(c) for c in classes], m["name"]
                for c, w in zip(classes, np.atleast_1d(want), strict=True):
                    assert_close(got_per_class[str(c)], float(w), f"{m['name']}[{c}]")
            else:
                assert_close(res.value(m["name"]), float(want), m["name"])


def mcc_undefined_by_zero_division(y: np.ndarray, p: np.ndarray, value: float, zd: Any) -> float:
    """sklearn returns 0.0 where MCC is undefined; we route that case through zero_division."""
    n = len(y)
    _, t = np.unique(y, return_counts=True)
    _, q = np.unique(p, return_counts=True)
    if n * n - t @ t and n * n - q @ q:
        return value
    return {"warn": 0.0, "nan": math.nan}.get(zd, zd) if isinstance(zd, str) else float(zd)


def assert_close(got: float | None, want: float, what: str) -> None:
    if math.isnan(want):
        assert got is None, f"{what}: expected undefined, got {got}"
    else:
        assert got is not None, f"{what}: expected {want}, got undefined"
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15), what


pairs = st.integers(1, 2000).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.int64, n, elements=st.integers(0, 5)),
        hnp.arrays(np.int64, n, elements=st.integers(0, 6)),
    )
)


@given(data=pairs, zd=st.sampled_from(["warn", "nan", 0, 1]))
def test_int_labels_match_sklearn(data: tuple[np.ndarray, np.ndarray], zd: Any) -> None:
    check(data[0], data[1], zd)


@given(data=pairs)
def test_string_labels_match_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    names = np.array(["ant", "bee", "cat", "dog", "eel", "fox", "gnu"])
    check(names[data[0]], names[data[1]])


def test_declared_labels_include_absent_classes() -> None:
    rng = np.random.default_rng(2)
    y, p = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    check(y, p, labels=[0, 1, 2, 3, 4])


def test_undeclared_label_is_an_error_naming_column_and_row() -> None:
    plan = make_plan("multiclass", ["accuracy"], labels=[0, 1, 2])
    with pytest.raises(Exception) as info:
        plan.evaluate({"y": np.array([0, 1, 2, 7, 1]), "p": np.array([0, 1, 2, 1, 1])})
    err = info.value
    assert (getattr(err, "column", None), getattr(err, "row", None)) == ("y", 3)


def test_real_model_predictions_digits() -> None:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = LogisticRegression(max_iter=200).fit(xtr / 16, ytr).predict(xte / 16)
    check(yte, pred)


def test_weighted_average_when_defined_classes_weigh_nothing() -> None:
    """y=[0], p=[1], zero_division nan: class 0's precision is undefined (left out), class 1's is 0
    with weight 0; scikit-learn's _nanaverage then takes the plain mean of what is left: 0.0."""
    plan = make_plan(
        "multiclass",
        [{"kind": "precision", "average": "weighted", "name": "pw"}],
        zero_division="nan",
    )
    res = plan.evaluate({"y": np.array([0]), "p": np.array([1])})
    assert res.value("pw") == 0.0

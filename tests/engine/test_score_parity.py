"""Threshold-free binary metrics (roc_auc, pr_auc, log_loss, brier, ece, recall_at_precision,
precision_at_recall) against scikit-learn: random and tie-heavy inputs, one class, empty input,
float32/float64, a real model's predictions, chunked vs whole vs merged, state round trip, and the
binned variants' error bounds."""

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

RECALL_FLOOR = 0.6
PRECISION_FLOOR = 0.7
METRICS: list[Any] = [
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    {"kind": "ece", "n_bins": 7},
    {"kind": "recall_at_precision", "precision": PRECISION_FLOOR},
    {"kind": "precision_at_recall", "recall": RECALL_FLOOR},
]
NAMES = [m if isinstance(m, str) else m["kind"] for m in METRICS]


def ece_reference(y: np.ndarray, s: np.ndarray, n_bins: int) -> float:
    """ECE with scikit-learn's calibration_curve binning (searchsorted over the inner edges)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], s)
    total = np.bincount(ids, minlength=n_bins)
    true = np.bincount(ids, weights=y, minlength=n_bins)
    pred = np.bincount(ids, weights=s, minlength=n_bins)
    keep = total > 0
    value = float(
        np.sum(total[keep] / len(y) * np.abs(true[keep] / total[keep] - pred[keep] / total[keep]))
    )
    if 0 < y.sum() < len(y):
        from sklearn.calibration import calibration_curve

        prob_true, prob_pred = calibration_curve(y, s, n_bins=n_bins)
        assert value == pytest.approx(
            float(np.sum(total[keep] / len(y) * np.abs(prob_true - prob_pred))),
            rel=1e-12,
            abs=1e-15,
        )
    return value


def operating_points(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at each distinct score (scikit-learn's curve minus its end point)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision, recall, _ = skm.precision_recall_curve(y, s)
    return precision[:-1], recall[:-1]


def reference(kind: str, y: np.ndarray, s: np.ndarray) -> float:
    one_class = y.min() == y.max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "roc_auc":
            return math.nan if one_class else float(skm.roc_auc_score(y, s))
        if kind == "pr_auc":
            return float(skm.average_precision_score(y, s))
        if kind == "log_loss":
            return float(skm.log_loss(y, s, labels=[0, 1]))
        if kind == "brier":
            return float(skm.brier_score_loss(y, s, pos_label=1))
        if kind == "ece":
            return ece_reference(y, s.astype(np.float64), 7)
        precision, recall = operating_points(y, s)
        if y.sum() == 0:
            return 0.0  # zero_division "warn": recall is undefined without positives
        if kind == "recall_at_precision":
            ok = precision >= PRECISION_FLOOR
            return float(recall[ok].max()) if ok.any() else math.nan
        ok = recall >= RECALL_FLOOR
        return float(precision[ok].max())


def assert_close(got: float | None, want: float, what: str, rel: float = 1e-12) -> None:
    if math.isnan(want):
        assert got is None, f"{what}: expected undefined, got {got}"
    else:
        assert got is not None, f"{what}: expected {want}, got undefined"
        assert got == pytest.approx(want, rel=rel, abs=1e-14), what


def check(y: np.ndarray, s: np.ndarray) -> None:
    plan = make_plan("binary", METRICS)
    res = plan.evaluate({"y": y, "p": s})
    # scikit-learn computes float32 log losses in float32; we sum in float64.
    loose = 1e-5 if s.dtype == np.float32 else 1e-12
    for kind in NAMES:
        rel = loose if kind in ("log_loss", "brier", "ece") else 1e-12
        assert_close(res.value(kind), reference(kind, y, s), kind, rel)


# Scores mix tie-heavy values (0, 1, 0.5) with arbitrary floats.
def labels_and_scores(dtype: Any) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    width = 32 if dtype == np.float32 else 64
    return st.integers(min_value=1, max_value=3000).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.int64, n, elements=st.integers(0, 1)),
            hnp.arrays(
                dtype,
                n,
                elements=st.sampled_from([0.0, 0.5, 0.25, 1.0])
                | st.floats(0, 1, allow_nan=False, width=width),
            ),
        )
    )


@given(data=labels_and_scores(np.float64))
def test_float64_scores_match_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    check(*data)


@given(data=labels_and_scores(np.float32))
def test_float32_scores_match_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    check(*data)


@pytest.mark.parametrize("case", ["all_negative", "all_positive", "one_row", "one_score"])
def test_degenerate_inputs(case: str) -> None:
    y, s = {
        "all_negative": (np.zeros(50, int), np.linspace(0, 1, 50)),
        "all_positive": (np.ones(50, int), np.linspace(0, 1, 50)),
        "one_row": (np.array([1]), np.array([0.9])),
        "one_score": (np.array([0, 1, 1, 0]), np.full(4, 0.3)),
    }[case]
    check(y, s)


def test_undefined_values_carry_reasons() -> None:
    plan = make_plan("binary", [*METRICS, {"kind": "pr_auc", "zero_division": "nan", "name": "ap"}])
    res = plan.evaluate({"y": np.zeros(10, int), "p": np.linspace(0, 1, 10)})
    assert (res.get("roc_auc").value, res.get("roc_auc").reason) == (None, "single_class")
    assert (res.get("pr_auc").value, res.get("pr_auc").reason) == (0.0, "zero_division")
    assert (res.get("ap").value, res.get("ap").reason) == (None, "zero_division")
    res = plan.evaluate({"y": np.array([0, 1]), "p": np.array([0.9, 0.1])})
    assert res.get("recall_at_precision").reason == "unattainable"
    empty = plan.evaluate({"y": np.array([], np.int64), "p": np.array([], np.float64)})
    assert all(r.value is None and r.reason == "insufficient_data" for r in empty)


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
    check(yte, scores)
    check(yte, scores.astype(np.float32))
    # decision_function scores (any real number) are fine for the curve metrics.
    logits = model.decision_function(xte)
    res = make_plan("binary", ["roc_auc", "pr_auc"]).evaluate({"y": yte, "p": logits})
    assert res.value("roc_auc") == pytest.approx(skm.roc_auc_score(yte, logits), rel=1e-12)
    assert res.value("pr_auc") == pytest.approx(skm.average_precision_score(yte, logits), rel=1e-12)


def test_chunked_merged_and_round_tripped_states_agree() -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    y = (rng.random(n) < 0.2).astype(np.int8)
    s = np.round(rng.random(n), 3)  # many ties across chunks
    plan = make_plan("binary", [*METRICS, {"kind": "roc_auc", "bins": 64, "name": "auc64"}])
    whole = plan.evaluate({"y": y, "p": s})
    chunked = plan.evaluate({"y": y, "p": s}, chunk_rows=777)
    merged = plan.accumulator()
    for lo in range(0, n, 3001):
        part = plan.accumulator()
        part.update({"y": y[lo : lo + 3001], "p": s[lo : lo + 3001]})
        merged.merge(plan.accumulator_from_bytes(part.to_bytes()))
    for other in (chunked, merged.results()):
        for a, b in zip(whole, other, strict=True):
            assert (a.metric, a.n, a.reason) == (b.metric, b.n, b.reason)
            if a.value is None:
                assert b.value is None, a.metric
            else:
                assert a.value == pytest.approx(b.value, rel=1e-12), a.metric
    assert whole.value("roc_auc") == pytest.approx(skm.roc_auc_score(y, s), rel=1e-12)


def test_scores_shared_by_one_state_per_column_pair() -> None:
    plan = make_plan("binary", [*METRICS, "f1", {"kind": "pr_auc", "bins": 10, "name": "ap10"}])
    kinds = [a["kind"] for a in plan.accumulators]
    assert sorted(kinds) == ["binary_confusion", "score_histogram", "score_runs"]


@pytest.mark.parametrize("bins", [2, 16, 1000, 65536])
def test_binned_values_lie_within_their_bound(bins: int) -> None:
    rng = np.random.default_rng(bins)
    n = 5000
    y = (rng.random(n) < 0.3).astype(int)
    s = np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1)
    plan = make_plan(
        "binary",
        [{"kind": "roc_auc", "bins": bins}, {"kind": "pr_auc", "bins": bins}],
    )
    res = plan.evaluate({"y": y, "p": s})
    for kind, exact in [
        ("roc_auc", skm.roc_auc_score(y, s)),
        ("pr_auc", skm.average_precision_score(y, s)),
    ]:
        r = res.get(kind)
        assert r.error_bound is not None and r.value is not None
        assert abs(r.value - exact) <= r.error_bound + 1e-12, (kind, r, exact)
        assert r.to_dict()["error_bound"] == r.error_bound
    # Scores already on the bin grid: the binned value is exact.
    grid = np.minimum(np.floor(s * 64), 63) / 64  # 1.0 shares the last bin
    res = make_plan("binary", [{"kind": "roc_auc", "bins": 64}]).evaluate({"y": y, "p": grid})
    assert res.value("roc_auc") == pytest.approx(skm.roc_auc_score(y, grid), rel=1e-12)


def test_scores_outside_unit_interval_are_data_errors_where_probabilities_are_read() -> None:
    y, s = np.array([0, 1, 1]), np.array([0.2, 1.5, -1.0])
    for metrics in (["log_loss"], [{"kind": "roc_auc", "bins": 10}], ["brier", "roc_auc"]):
        with pytest.raises(DataError) as info:
            make_plan("binary", metrics).evaluate({"y": y, "p": s})
        assert info.value.column == "p" and info.value.row == 1
    assert make_plan("binary", ["roc_auc"]).evaluate({"y": y, "p": s}).value("roc_auc") == 0.5
    with pytest.raises(DataError):
        make_plan("binary", ["roc_auc"]).evaluate({"y": y, "p": np.array([0.1, np.nan, 0.3])})
    with pytest.raises(DataError) as info:
        make_plan("binary", ["roc_auc"]).evaluate({"y": np.array([0, 2, 1]), "p": s})
    assert info.value.column == "y"


def test_spec_checks() -> None:
    with pytest.raises(SpecError) as info:
        make_plan("binary", ["roc_auc"], columns={"y_true": "y", "y_pred": "p"})
    assert info.value.problems[0].type == "metric_needs_scores"
    with pytest.raises(SpecError):
        make_plan("regression", ["roc_auc"])
    for bad in (
        {"kind": "roc_auc", "bins": 1},
        {"kind": "ece", "n_bins": 0},
        {"kind": "recall_at_precision"},
        {"kind": "recall_at_precision", "precision": 1.5},
        {"kind": "precision_at_recall", "recall": 0},
        {"kind": "log_loss", "bins": 10},
    ):
        with pytest.raises(SpecError):
            make_plan("binary", [bad])


def test_every_catalogue_kind_is_documented() -> None:
    from pathlib import Path

    from scoreboard.plan.catalogue import CATALOGUE
    from scoreboard.spec.models import METRIC_KINDS

    doc = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text()
    assert set(CATALOGUE) == set(METRIC_KINDS)
    for kind, info in CATALOGUE.items():
        assert f"| `{kind}` |" in doc, kind
        assert info.summary, kind

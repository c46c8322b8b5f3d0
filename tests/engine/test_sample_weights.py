"""Sample weights (``columns: {weight: w}``) against scikit-learn's ``sample_weight``: binary
threshold and score metrics (exact and binned), multiclass label and class-score metrics,
regression metrics incl. the weighted-percentile ones; zero weights; chunked == whole == merged
(also over windows x segments); bad weights located; one-vs-one ROC AUC refused."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

import scoreboard as sb
from plans import make_plan
from scoreboard.exceptions import DataError, SpecError
from scoreboard.spec import load_spec

BINARY = [
    "accuracy",
    "precision",
    "recall",
    "f1",
    "balanced_accuracy",
    "mcc",
    "jaccard",
    "cohen_kappa",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "count",
]
REGRESSION = ["mse", "rmse", "mae", "mape", "r2", "explained_variance", "max_error", "count"]
WEIGHTED_COLUMNS = {"y_true": "y", "y_score": "p", "weight": "w"}


def binary_reference(kind: str, y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    pred = (s >= 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table: dict[str, Any] = {
            "accuracy": lambda: skm.accuracy_score(y, pred, sample_weight=w),
            "precision": lambda: skm.precision_score(y, pred, sample_weight=w, zero_division=0),
            "recall": lambda: skm.recall_score(y, pred, sample_weight=w, zero_division=0),
            "f1": lambda: skm.f1_score(y, pred, sample_weight=w, zero_division=0),
            "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred, sample_weight=w),
            "mcc": lambda: skm.matthews_corrcoef(y, pred, sample_weight=w),
            "jaccard": lambda: skm.jaccard_score(y, pred, sample_weight=w, zero_division=0),
            "cohen_kappa": lambda: skm.cohen_kappa_score(y, pred, sample_weight=w),
            "roc_auc": lambda: (
                skm.roc_auc_score(y, s, sample_weight=w) if len(set(y[w > 0])) == 2 else math.nan
            ),
            "pr_auc": lambda: skm.average_precision_score(y, s, sample_weight=w),
            "log_loss": lambda: skm.log_loss(y, s, sample_weight=w, labels=[0, 1]),
            "brier": lambda: skm.brier_score_loss(y, s, sample_weight=w),
            "count": lambda: float(len(y)),
        }
        return float(table[kind]())


def close(got: float | None, want: float, what: str, rel: float = 1e-10) -> None:
    if math.isnan(want):
        assert got is None, (what, got)
    else:
        assert got is not None and got == pytest.approx(want, rel=rel, abs=1e-12), (what, got, want)


weighted_binary = st.integers(2, 2000).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.int64, n, elements=st.integers(0, 1)),
        hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0, 1)),
        hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0, 2.5]) | st.floats(0, 10)),
    )
)


@given(data=weighted_binary)
def test_binary_metrics_match_sklearn(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y, s, w = data
    if w.sum() == 0 or len(set(y[w > 0])) < 2 or len(set((s >= 0.5)[w > 0])) < 2:
        w = w + 1.0  # keep sklearn's reference defined (degenerate cases are tested below)
    res = make_plan("binary", BINARY, columns=WEIGHTED_COLUMNS).evaluate({"y": y, "p": s, "w": w})
    for kind in BINARY:
        close(res.value(kind), binary_reference(kind, y, s, w), kind)


def test_integer_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(5)
    y, s = rng.integers(0, 2, 500), np.round(rng.random(500), 2)
    w = rng.integers(0, 4, 500)
    weighted = make_plan("binary", BINARY, columns=WEIGHTED_COLUMNS).evaluate(
        {"y": y, "p": s, "w": w}, chunk_rows=77
    )
    repeated = make_plan("binary", BINARY).evaluate({"y": np.repeat(y, w), "p": np.repeat(s, w)})
    for kind in BINARY:
        if kind != "count":
            close(weighted.value(kind), repeated.value(kind), kind)  # type: ignore[arg-type]
    assert weighted.value("count") == 500


@given(
    data=st.integers(2, 2000).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, n, elements=st.floats(-1e3, 1e3)),
            hnp.arrays(np.float64, n, elements=st.floats(-1e3, 1e3)),
            hnp.arrays(np.float64, n, elements=st.floats(0.01, 10)),
        )
    )
)
def test_regression_metrics_match_sklearn(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y, p, w = data
    plan = make_plan(
        "regression", REGRESSION, columns={"y_true": "y", "y_pred": "p", "weight": "w"}
    )
    res = plan.evaluate({"y": y, "p": p, "w": w}, chunk_rows=333)
    ref = {
        "mse": skm.mean_squared_error(y, p, sample_weight=w),
        "rmse": skm.root_mean_squared_error(y, p, sample_weight=w),
        "mae": skm.mean_absolute_error(y, p, sample_weight=w),
        "mape": skm.mean_absolute_percentage_error(y, p, sample_weight=w),
        "r2": skm.r2_score(y, p, sample_weight=w),
        "explained_variance": skm.explained_variance_score(y, p, sample_weight=w),
        "max_error": skm.max_error(y, p),
        "count": len(y),
    }
    # A constant target or error makes R² and explained variance 0/0 decided by rounding noise
    # (scikit-learn's and ours differ); the unweighted parity tests pin that case.
    degenerate = np.ptp(y) == 0 or np.ptp(p - y) == 0
    for kind in REGRESSION:
        if degenerate and kind in ("r2", "explained_variance"):
            continue
        close(res.value(kind), float(ref[kind]), kind, rel=1e-9)


def test_merged_and_round_tripped_weighted_states_agree() -> None:
    rng = np.random.default_rng(9)
    n = 30_000
    data = {"y": rng.integers(0, 2, n), "p": np.round(rng.random(n), 3), "w": rng.random(n) * 3}
    plan = make_plan("binary", BINARY, columns=WEIGHTED_COLUMNS)
    whole = plan.evaluate(data)
    merged = plan.accumulator()
    for lo in range(0, n, 7_001):
        part = plan.accumulator()
        part.update({k: v[lo : lo + 7_001] for k, v in data.items()})
        merged.merge(plan.accumulator_from_bytes(part.to_bytes()))
    for a, b in zip(whole, merged.results(), strict=True):
        close(b.value, a.value if a.value is not None else math.nan, a.metric, rel=1e-12)


def test_bad_weights_are_located() -> None:
    plan = make_plan("binary", ["f1", "roc_auc"], columns=WEIGHTED_COLUMNS)
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(DataError) as info:
            plan.evaluate(
                {
                    "y": np.array([0, 1, 1]),
                    "p": np.array([0.1, 0.2, 0.9]),
                    "w": np.array([1.0, bad, 1.0]),
                }
            )
        assert (info.value.column, info.value.row) == ("w", 1)
    # All weights zero: nothing to average; undefined, never 0.
    res = plan.evaluate({"y": np.array([0, 1]), "p": np.array([0.1, 0.9]), "w": np.zeros(2)})
    assert res.value("roc_auc") is None


def test_one_vs_one_roc_auc_is_refused_with_sklearns_reason() -> None:
    with pytest.raises(SpecError) as info:
        make_plan(
            "multiclass",
            [{"kind": "roc_auc", "multi_class": "ovo"}],
            columns={"y_true": "y", "y_score": "p", "weight": "w"},
            labels=[0, 1, 2],
        )
    problem = info.value.problems[0]
    assert problem.type == "weights_not_supported"
    assert "one-vs-one" in problem.message
    # scikit-learn refuses it too: the message is its reason.
    with pytest.raises(ValueError, match="one-vs-one"):
        skm.roc_auc_score(
            [0, 1, 2], np.eye(3), multi_class="ovo", labels=[0, 1, 2], sample_weight=[1, 1, 1]
        )


def test_one_vs_one_refusal_points_at_multi_class(tmp_path: Path) -> None:
    # FILE:LINE:COL of the `multi_class` entry (its value, as every spec problem), in block and
    # flow style, not of the metric's `kind`.
    path = tmp_path / "weighted.yaml"
    path.write_text(
        "version: 1\n"
        "model: m\n"
        "task: multiclass\n"
        "columns: {y_true: y, y_score: p, weight: w}\n"
        "labels: [0, 1, 2]\n"
        "metrics:\n"
        "  - roc_auc\n"
        "  - kind: roc_auc\n"
        "    name: ovo\n"
        "    multi_class:   ovo\n"
        "  - {kind: roc_auc, name: flow, average: weighted, multi_class: ovo}\n"
    )
    with pytest.raises(SpecError) as info:
        sb.compile(load_spec(path))
    got = [(p.file, p.line, p.column, p.type, p.path) for p in info.value.problems]
    assert got == [
        (str(path), 10, 20, "weights_not_supported", "metrics[1].multi_class"),
        (str(path), 11, 65, "weights_not_supported", "metrics[2].multi_class"),
    ]
    assert str(info.value).startswith(f"{path}:10:20: ")


def test_weighted_thresholds_and_error_sums() -> None:
    rng = np.random.default_rng(12)
    n = 3000
    y, s, w = rng.integers(0, 2, n), np.round(rng.random(n), 2), rng.random(n) * 4
    metrics: list[Any] = [
        {"kind": "f1", "threshold": 0.3, "name": "f1_03"},
        {"kind": "mcc", "threshold": 0.7, "name": "mcc_07"},
        {"kind": "accuracy", "threshold": 0.5, "name": "acc_05"},
    ]
    res = make_plan("binary", metrics, columns=WEIGHTED_COLUMNS).evaluate(
        {"y": y, "p": s, "w": w}, chunk_rows=500
    )
    close(res.value("f1_03"), skm.f1_score(y, s >= 0.3, sample_weight=w), "f1_03")
    close(res.value("mcc_07"), skm.matthews_corrcoef(y, s >= 0.7, sample_weight=w), "mcc_07")
    close(res.value("acc_05"), skm.accuracy_score(y, s >= 0.5, sample_weight=w), "acc_05")
    yr, pr = rng.random(n) * 10, rng.random(n) * 10
    plan = make_plan(
        "regression",
        ["msle", {"kind": "mean_pinball_loss", "alpha": 0.9}],
        columns={"y_true": "y", "y_pred": "p", "weight": "w"},
    )
    res = plan.evaluate({"y": yr, "p": pr, "w": w}, chunk_rows=700)
    close(res.value("msle"), skm.mean_squared_log_error(yr, pr, sample_weight=w), "msle")
    close(
        res.value("mean_pinball_loss"),
        skm.mean_pinball_loss(yr, pr, alpha=0.9, sample_weight=w),
        "pinball",
    )


def test_confidence_intervals_with_weights() -> None:
    """Weighted proportions get Wilson at their effective sample size (with unit weights: the
    unweighted interval); weighted exact roc_auc gets the weighted DeLong interval, the other
    weighted exact score metrics the weighted bootstrap (tests/engine/test_weighted_ci.py)."""
    data = {"y": np.array([0, 1, 1, 0, 1]), "p": np.array([0.1, 0.8, 0.6, 0.7, 0.2])}
    plan = make_plan("binary", ["accuracy", "roc_auc"], columns=WEIGHTED_COLUMNS, ci={})
    res = plan.evaluate({**data, "w": np.ones(5)})
    plain = make_plan("binary", ["accuracy"], ci={}).evaluate(data).get("accuracy")
    got = res.get("accuracy")
    assert (got.ci_low, got.ci_high) == pytest.approx((plain.ci_low, plain.ci_high), rel=1e-12)
    auc = res.get("roc_auc")
    assert auc.ci_low is not None and auc.ci_high is not None and auc.value is not None
    assert auc.ci_low <= auc.value <= auc.ci_high
    ap = make_plan("binary", [{"kind": "pr_auc", "ci": {}}], columns=WEIGHTED_COLUMNS)
    assert ap.metrics[0]["ci"]["method"] == "bootstrap"
    regression = {"y_true": "y", "y_pred": "p", "weight": "w"}
    ratios = make_plan(
        "regression", ["r2", "explained_variance", "mape"], columns=regression, ci={}
    )
    assert [m["ci"]["method"] for m in ratios.metrics] == ["normal"] * 3
    # The weighted multiclass matrix and histogram: the weighted bootstrap (Wilson for accuracy,
    # weighted DeLong for binned roc_auc).
    mcc = make_plan("multiclass", [{"kind": "mcc", "ci": {}}], columns=regression)
    assert mcc.metrics[0]["ci"]["method"] == "bootstrap"
    binned = make_plan(
        "binary", [{"kind": "roc_auc", "bins": 10, "ci": {}}], columns=WEIGHTED_COLUMNS
    )
    assert binned.metrics[0]["ci"]["method"] == "delong"
    # Weighted exact values: weighted percentiles and the weighted delta method (coverage in
    # tests/engine/test_ci_methods.py).
    exact = make_plan(
        "regression", ["median_absolute_error", "d2_absolute_error"], columns=regression, ci={}
    )
    assert [m["ci"]["method"] for m in exact.metrics] == ["order_statistic", "normal"]
    rng = np.random.default_rng(0)
    y = rng.random(50)
    for r in exact.evaluate({"y": y, "p": y + rng.normal(0, 0.1, 50), "w": rng.random(50)}):
        assert r.ci_low is not None and r.ci_high is not None and r.value is not None
        assert r.ci_low <= r.value <= r.ci_high


# --- multiclass ----------------------------------------------------------------------------

MULTICLASS_AVERAGED = [
    {
        "kind": kind,
        "average": avg,
        "name": f"{kind}_{avg}",
        **({"beta": 0.5} if kind == "fbeta" else {}),
    }
    for kind in ("precision", "recall", "f1", "fbeta", "jaccard")
    for avg in ("micro", "macro", "weighted", "none")
]
MULTICLASS_PLAIN = ["accuracy", "balanced_accuracy", "mcc", "cohen_kappa", "count"]


def multiclass_reference(name: str, y: np.ndarray, p: np.ndarray, w: np.ndarray) -> Any:
    labels = sorted(set(y.tolist()) | set(p.tolist()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "count":
            return float(len(y))
        if name == "accuracy":
            return skm.accuracy_score(y, p, sample_weight=w)
        if name == "balanced_accuracy":
            return skm.balanced_accuracy_score(y, p, sample_weight=w)
        if name == "mcc":
            return skm.matthews_corrcoef(y, p, sample_weight=w)
        if name == "cohen_kappa":
            return skm.cohen_kappa_score(y, p, sample_weight=w)
        kind, avg = name.split("_")
        average = None if avg == "none" else avg
        extra: dict[str, Any] = {"beta": 0.5} if kind == "fbeta" else {}
        fn = {
            "precision": skm.precision_score,
            "recall": skm.recall_score,
            "f1": skm.f1_score,
            "fbeta": skm.fbeta_score,
            "jaccard": skm.jaccard_score,
        }[kind]
        out = fn(y, p, average=average, sample_weight=w, zero_division=0, labels=labels, **extra)
        return (
            dict(zip(map(str, labels), np.atleast_1d(out).tolist(), strict=True))
            if average is None
            else out
        )


def check_multiclass_labels(y: np.ndarray, p: np.ndarray, w: np.ndarray, **kw: Any) -> None:
    plan = make_plan(
        "multiclass",
        [*MULTICLASS_PLAIN, *MULTICLASS_AVERAGED],
        columns={"y_true": "y", "y_pred": "p", "weight": "w"},
    )
    res = plan.evaluate({"y": y, "p": p, "w": w}, **kw)
    per_class: dict[str, dict[Any, float | None]] = {}
    for r in res:
        if r.segment.get("class") is not None:
            per_class.setdefault(r.metric, {})[r.segment["class"]] = r.value
            continue
        close(r.value, float(multiclass_reference(r.metric, y, p, w)), r.metric, rel=1e-9)
    for name, got in per_class.items():
        want = multiclass_reference(name, y, p, w)
        assert set(got) == set(want), name
        for c, v in want.items():
            close(got[c], float(v), f"{name}[{c}]", rel=1e-9)


@st.composite
def weighted_multiclass(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 400))
    k = draw(st.integers(1, 5))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))
    p = draw(hnp.arrays(np.int64, n, elements=st.integers(0, k)))  # class k: only predicted
    w = draw(
        hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0, 3.0]) | st.floats(0.001, 10))
    )
    return y, p, w


@given(data=weighted_multiclass(), chunk_rows=st.sampled_from([1 << 20, 37]))
def test_multiclass_label_metrics_match_sklearn(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], chunk_rows: int
) -> None:
    y, p, w = data
    if w.sum() == 0:
        w = w + 1.0  # all-zero weights: tested below (sklearn divides by zero)
    check_multiclass_labels(y, p, w, chunk_rows=chunk_rows)


def test_multiclass_zero_weights_and_zero_weight_classes() -> None:
    y, p = np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 1, 1])
    # Class 0 has rows but no weight: still a reported class (as scikit-learn's labels).
    check_multiclass_labels(y, p, np.array([0.0, 1.0, 2.0, 0.5, 1.5]))
    plan = make_plan(
        "multiclass", ["accuracy", "mcc"], columns={"y_true": "y", "y_pred": "p", "weight": "w"}
    )
    res = plan.evaluate({"y": y, "p": p, "w": np.zeros(5)})
    assert res.value("accuracy") is None and res.value("mcc") is None


def class_score_reference(name: str, y: np.ndarray, s: np.ndarray, w: np.ndarray, k: int) -> float:
    labels = list(range(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "log_loss":
            return float(skm.log_loss(y, s, labels=labels, sample_weight=w))
        if name.startswith("top"):
            kk = int(name[-1])
            return float(skm.top_k_accuracy_score(y, s, k=kk, labels=labels, sample_weight=w))
        average = name.split("_")[1]
        if len(set(y.tolist())) < 2:
            return math.nan  # sklearn raises on one class; we report single_class
        return float(
            skm.roc_auc_score(
                y, s, multi_class="ovr", average=average, labels=labels, sample_weight=w
            )
        )


CLASS_SCORE_METRICS: list[Any] = [
    "log_loss",
    {"kind": "top_k_accuracy", "k": 1, "name": "top1"},
    {"kind": "top_k_accuracy", "k": 2, "name": "top2"},
    {"kind": "roc_auc", "name": "ovr_macro"},
    {"kind": "roc_auc", "average": "weighted", "name": "ovr_weighted"},
]


def check_class_scores(y: np.ndarray, s: np.ndarray, w: np.ndarray, **kw: Any) -> None:
    k = s.shape[1]
    plan = make_plan(
        "multiclass",
        CLASS_SCORE_METRICS,
        columns={"y_true": "y", "y_score": "s", "weight": "w"},
        labels=list(range(k)),
    )
    res = plan.evaluate({"y": y, "s": s, "w": w}, **kw)
    for r in res:
        close(r.value, class_score_reference(r.metric, y, s, w, k), r.metric, rel=1e-9)


@st.composite
def weighted_class_scores(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = draw(st.integers(3, 5))
    n = draw(st.integers(2, 1500))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s = rng.dirichlet(np.ones(k), n)
    if draw(st.booleans()):
        s = np.round(s, 1) + 0.1  # heavy ties
        s = s / s.sum(axis=1, keepdims=True)
    y = rng.integers(0, k, n)
    w = rng.choice([0.0, 1.0, 2.0], n) if draw(st.booleans()) else rng.random(n) * 5
    return y, s, w


@given(data=weighted_class_scores(), chunk_rows=st.sampled_from([1 << 20, 97]))
def test_multiclass_class_score_metrics_match_sklearn(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], chunk_rows: int
) -> None:
    y, s, w = data
    if w.sum() == 0:
        w = w + 1.0
    check_class_scores(y, s, w, chunk_rows=chunk_rows)


def test_weighted_ovr_auc_when_a_class_weighs_nothing() -> None:
    """sklearn's weighted average gives a zero-weight class score 0 (weight 0); macro is
    undefined (that class's AUC is)."""
    rng = np.random.default_rng(4)
    n = 300
    s = rng.dirichlet(np.ones(3), n)
    y = rng.integers(0, 3, n)
    w = np.where(y == 2, 0.0, rng.random(n) + 0.5)
    plan = make_plan(
        "multiclass",
        CLASS_SCORE_METRICS,
        columns={"y_true": "y", "y_score": "s", "weight": "w"},
        labels=[0, 1, 2],
    )
    res = plan.evaluate({"y": y, "s": s, "w": w})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = skm.roc_auc_score(y, s, multi_class="ovr", average="weighted", sample_weight=w)
    close(res.value("ovr_weighted"), float(want), "ovr_weighted")
    assert res.value("ovr_macro") is None


def test_real_model_digits_with_random_weights() -> None:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=200).fit(x[::2], y[::2])
    xt, yt = x[1::2], y[1::2]
    proba, pred = model.predict_proba(xt), model.predict(xt)
    w = np.random.default_rng(0).gamma(2.0, 1.0, len(yt))
    check_class_scores(yt, proba, w, chunk_rows=100)
    check_multiclass_labels(yt, pred, w, chunk_rows=100)


# --- binned binary curves ------------------------------------------------------------------


@given(data=weighted_binary, bins=st.sampled_from([2, 10, 1000]))
def test_binned_curves_are_weighted_histograms_within_their_bound(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], bins: int
) -> None:
    y, s, w = data
    if w.sum() == 0 or len(set(y[w > 0])) < 2:
        w = w + 1.0
    plan = make_plan(
        "binary",
        [
            {"kind": "roc_auc", "bins": bins, "name": "auc"},
            {"kind": "pr_auc", "bins": bins, "name": "ap"},
        ],
        columns=WEIGHTED_COLUMNS,
    )
    res = plan.evaluate({"y": y, "p": s, "w": w}, chunk_rows=500)
    # The binned value is sklearn's on scores moved to their bin (each bin one tied score) ...
    binned = np.minimum(np.floor(s * bins), bins - 1) / bins
    exact = {
        "auc": binary_reference("roc_auc", y, s, w),
        "ap": binary_reference("pr_auc", y, s, w),
    }
    for name, kind in (("auc", "roc_auc"), ("ap", "pr_auc")):
        r = next(r for r in res if r.metric == name)
        close(r.value, binary_reference(kind, y, binned, w), name, rel=1e-9)
        # ... and the exact (unbinned) value lies within the stated bound.
        if r.reason is None:  # not a zero_division stand-in
            assert r.value is not None and r.error_bound is not None
            assert abs(exact[name] - r.value) <= r.error_bound + 1e-9, (name, r)


# --- weighted percentile: median_absolute_error, d2_absolute_error --------------------------


def percentile_reference(kind: str, y: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "median_absolute_error":
            return float(skm.median_absolute_error(y, p, sample_weight=w))
        return float(skm.d2_absolute_error_score(y, p, sample_weight=w))


@given(
    data=st.integers(1, 300).flatmap(
        lambda n: st.tuples(
            # Small integer values: many ties, and cumulative weights landing exactly on 50%.
            hnp.arrays(
                np.float64, n, elements=st.integers(-5, 5).map(float) | st.floats(-1e3, 1e3)
            ),
            hnp.arrays(
                np.float64, n, elements=st.integers(-5, 5).map(float) | st.floats(-1e3, 1e3)
            ),
            hnp.arrays(np.float64, n, elements=st.integers(0, 4).map(float) | st.floats(0, 10)),
        )
    ),
    chunk_rows=st.sampled_from([1 << 20, 7]),
)
def test_weighted_percentile_metrics_match_sklearn(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], chunk_rows: int
) -> None:
    y, p, w = data
    if w.sum() == 0:
        w = w + 1.0
    kinds = ["median_absolute_error", "d2_absolute_error"]
    plan = make_plan("regression", kinds, columns={"y_true": "y", "y_pred": "p", "weight": "w"})
    res = plan.evaluate({"y": y, "p": p, "w": w}, chunk_rows=chunk_rows)
    for kind in kinds:
        close(res.value(kind), percentile_reference(kind, y, p, w), kind, rel=1e-9)


def test_weighted_median_averages_on_exact_halves_and_skips_zero_weights() -> None:
    plan = make_plan(
        "regression",
        ["median_absolute_error", "d2_absolute_error"],
        columns={"y_true": "y", "y_pred": "p", "weight": "w"},
    )
    cases = [
        # Half the weight exactly at error 1: the average of 1 and the next error (3).
        (np.zeros(4), np.array([1.0, 3.0, 5.0, 7.0]), np.array([1.0, 0.0, 1.0, 0.0])),
        (np.zeros(4), np.array([1.0, 3.0, 5.0, 7.0]), np.array([2.0, 1.0, 1.0, 0.0])),
        (np.zeros(4), np.array([1.0, 1.0, 5.0, 5.0]), np.array([1.0, 1.0, 1.0, 1.0])),
        (np.array([0.0, 1, 2, 3, 4]), np.array([1.0, 1, 3, 1, 4]), np.array([0.0, 2, 1, 1, 0])),
    ]
    for y, p, w in cases:
        res = plan.evaluate({"y": y, "p": p, "w": w})
        for kind in ("median_absolute_error", "d2_absolute_error"):
            close(res.value(kind), percentile_reference(kind, y, p, w), kind, rel=1e-12)
    assert (
        plan.evaluate({"y": np.zeros(3), "p": np.ones(3), "w": np.zeros(3)}).value(
            "median_absolute_error"
        )
        is None
    )


# --- integer weights, windows x segments, merges, round trips --------------------------------


def test_integer_weights_equal_repeated_rows_for_the_new_weighted_states() -> None:
    rng = np.random.default_rng(21)
    n = 600
    y, pred = rng.integers(0, 4, n), rng.integers(0, 4, n)
    s = rng.dirichlet(np.ones(4), n)
    w = rng.integers(0, 4, n)
    metrics: list[Any] = [*MULTICLASS_PLAIN[:-1], *MULTICLASS_AVERAGED[:8], *CLASS_SCORE_METRICS]
    cols = {"y_true": "y", "y_pred": "p", "y_score": "s"}
    weighted = make_plan(
        "multiclass", metrics, columns={**cols, "weight": "w"}, labels=[0, 1, 2, 3]
    )
    plain = make_plan("multiclass", metrics, columns=cols, labels=[0, 1, 2, 3])
    a = weighted.evaluate({"y": y, "p": pred, "s": s, "w": w}, chunk_rows=101)
    b = plain.evaluate(
        {"y": np.repeat(y, w), "p": np.repeat(pred, w), "s": np.repeat(s, w, axis=0)}
    )
    for x, z in zip(a, b, strict=True):
        assert (x.metric, x.segment) == (z.metric, z.segment)
        close(x.value, z.value if z.value is not None else math.nan, x.metric, rel=1e-9)
    reg = ["median_absolute_error", "d2_absolute_error"]
    yr, pr = np.round(rng.normal(size=n), 1), np.round(rng.normal(size=n), 1)
    wa = make_plan("regression", reg, columns={"y_true": "y", "y_pred": "p", "weight": "w"})
    ra = wa.evaluate({"y": yr, "p": pr, "w": w}, chunk_rows=50)
    rb = make_plan("regression", reg).evaluate({"y": np.repeat(yr, w), "p": np.repeat(pr, w)})
    for kind in reg:
        close(
            ra.value(kind),
            rb.value(kind) if rb.value(kind) is not None else math.nan,
            kind,
            rel=1e-9,
        )


def new_weighted_plans() -> list[tuple[Any, dict[str, np.ndarray]]]:
    rng = np.random.default_rng(33)
    n = 4000
    day = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 3 * 86400, n).astype(
        "timedelta64[s]"
    )
    common: dict[str, Any] = {
        "segments": ["seg"],
        "windows": [{"name": "daily", "tumbling": "1d"}],
    }
    seg = rng.choice(np.array(["a", "b", "c"]), n)
    w = rng.random(n) * 3
    w[rng.random(n) < 0.1] = 0.0
    k = 3
    mc = make_plan(
        "multiclass",
        [*MULTICLASS_PLAIN, *MULTICLASS_AVERAGED, *CLASS_SCORE_METRICS],
        # One score column per class (Accumulator.update takes 1-D columns only).
        columns={
            "y_true": "y",
            "y_pred": "p",
            "y_score": ["s0", "s1", "s2"],
            "weight": "w",
            "timestamp": "t",
        },
        labels=list(range(k)),
        **common,
    )
    s = rng.dirichlet(np.ones(k), n)
    mc_data = {
        "y": rng.integers(0, k, n),
        "p": rng.integers(0, k, n),
        **{f"s{c}": s[:, c] for c in range(k)},
        "w": w,
        "t": day,
        "seg": seg,
    }
    binned = make_plan(
        "binary",
        [
            {"kind": "roc_auc", "bins": 50, "name": "auc"},
            {"kind": "pr_auc", "bins": 50, "name": "ap"},
        ],
        columns={**WEIGHTED_COLUMNS, "timestamp": "t"},
        **common,
    )
    b_data = {
        "y": rng.integers(0, 2, n),
        "p": np.round(rng.random(n), 3),
        "w": w,
        "t": day,
        "seg": seg,
    }
    reg = make_plan(
        "regression",
        ["median_absolute_error", "d2_absolute_error"],
        columns={"y_true": "y", "y_pred": "p", "weight": "w", "timestamp": "t"},
        **common,
    )
    r_data = {
        "y": np.round(rng.normal(size=n), 1),
        "p": np.round(rng.normal(size=n), 1),
        "w": w,
        "t": day,
        "seg": seg,
    }
    return [(mc, mc_data), (binned, b_data), (reg, r_data)]


def test_new_weighted_states_chunk_merge_round_trip_over_windows_and_segments() -> None:
    for plan, data in new_weighted_plans():
        n = len(data["y"])
        whole = plan.evaluate(data)
        merged = plan.accumulator()
        for lo in range(0, n, 1_301):
            part = plan.accumulator()
            part.update({k: v[lo : lo + 1_301] for k, v in data.items()})
            merged.merge(plan.accumulator_from_bytes(part.to_bytes()))
        results = list(merged.results())
        assert len(results) == len(list(whole)) > 20
        for a, b in zip(whole, results, strict=True):
            assert (a.metric, a.window_start, a.segment) == (b.metric, b.window_start, b.segment)
            close(b.value, a.value if a.value is not None else math.nan, a.metric, rel=1e-10)
        # One window x segment cell against scikit-learn directly.
        cell = (data["seg"] == "b") & (data["t"] < np.datetime64("2024-01-02"))
        y, w = data["y"][cell], data["w"][cell]
        for r in whole:
            if r.segment != {"seg": "b"} or r.window_start is None or r.window_start.day != 1:
                continue
            if "s0" in data and r.metric in ("accuracy", "mcc", "log_loss", "ovr_weighted"):
                scores = np.column_stack([data[f"s{c}"][cell] for c in range(3)])
                want = (
                    class_score_reference(r.metric, y, scores, w, 3)
                    if r.metric in ("log_loss", "ovr_weighted")
                    else multiclass_reference(r.metric, y, data["p"][cell], w)
                )
                close(r.value, float(want), r.metric, rel=1e-9)
            if r.metric in ("median_absolute_error", "d2_absolute_error"):
                close(
                    r.value,
                    percentile_reference(r.metric, y, data["p"][cell], w),
                    r.metric,
                    rel=1e-9,
                )


def test_bad_weights_are_located_in_the_new_weighted_states() -> None:
    for plan, data in new_weighted_plans():
        bad = {k: v[:5].copy() for k, v in data.items()}
        bad["w"] = np.array([1.0, 1.0, 1.0, -2.0, 1.0])
        with pytest.raises(DataError) as info:
            plan.evaluate(bad)
        assert (info.value.column, info.value.row) == ("w", 3)


def test_tiny_weights_do_not_underflow() -> None:
    """Products of weights (p * n, a * b) underflow for subnormal weights; rates do not."""
    y, s = np.array([0, 1, 0, 1]), np.array([0.0, 0.25, 0.75, 0.9])
    w = np.full(4, 6e-294)
    plan = make_plan(
        "binary",
        [
            "roc_auc",
            "pr_auc",
            {"kind": "roc_auc", "bins": 2, "name": "auc2"},
            {"kind": "pr_auc", "bins": 2, "name": "ap2"},
        ],
        columns=WEIGHTED_COLUMNS,
    )
    res = plan.evaluate({"y": y, "p": s, "w": w})
    close(res.value("roc_auc"), skm.roc_auc_score(y, s, sample_weight=w), "roc_auc")
    close(res.value("pr_auc"), skm.average_precision_score(y, s, sample_weight=w), "pr_auc")
    binned = np.minimum(np.floor(s * 2), 1) / 2
    for name, fn in (("auc2", skm.roc_auc_score), ("ap2", skm.average_precision_score)):
        r = next(r for r in res if r.metric == name)
        close(r.value, fn(y, binned, sample_weight=w), name)
        assert r.error_bound is not None and r.error_bound > 0

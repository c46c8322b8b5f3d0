"""Confidence intervals beyond binary confusion counts: multiclass tables, binary score metrics
(exact runs and histograms), regression and column means, quantiles, sample weights and
multiclass class scores. Each method's coverage is checked honestly: 400 simulated samples from a
known distribution, 95% intervals contain the true value 93-97% of the time. Intervals do not
depend on chunking or merging, follow the level, and an undefined value has none."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import expit
from scipy.stats import norm
from sklearn import metrics as skm

from plans import assert_intervals_do_not_depend_on_chunking, make_plan
from scoreboard import _core
from scoreboard.exceptions import PlanError, SpecError

SIMULATIONS = 400


def coverage(
    plan: Any,
    sample: Callable[[np.random.Generator], dict[str, np.ndarray]],
    truth: dict[str, float],
    seed: int = 1,
    simulations: int = SIMULATIONS,
) -> dict[str, float]:
    """The fraction of `simulations` samples whose interval contains the truth, per metric.
    Where a simulation is cheap it runs 1,000 (the estimate's sd drops from 1.1 to 0.7 points:
    several correlated metrics per test all stay in the band)."""
    rng = np.random.default_rng(seed)
    covered = dict.fromkeys(truth, 0)
    for _ in range(simulations):
        acc = plan.accumulator()
        acc.update(sample(rng))
        for r in acc.results():
            assert r.ci_low is not None and r.ci_high is not None, r
            assert r.ci_low <= r.value + 1e-12 and r.value <= r.ci_high + 1e-12, r
            covered[r.metric] += r.ci_low <= truth[r.metric] <= r.ci_high
    return {m: hits / simulations for m, hits in covered.items()}


def assert_covers(rates: dict[str, float]) -> None:
    for metric, rate in rates.items():
        assert 0.93 <= rate <= 0.97, (metric, rate)


# Multiclass: 3 classes with priors PI; a prediction is right with probability HIT, else one of
# the other two classes at random. The population confusion matrix weights the 9 (true, pred)
# pairs, so scikit-learn itself computes every true value (with sample_weight).
PI = np.array([0.5, 0.3, 0.2])
HIT = 0.7
MULTICLASS_METRICS: list[Any] = [
    "accuracy",
    {"kind": "accuracy", "name": "accuracy_boot", "ci": {"method": "bootstrap"}},
    {"kind": "f1", "average": "macro", "name": "f1_macro"},
    {"kind": "precision", "average": "weighted", "name": "precision_weighted"},
    {"kind": "recall", "average": "micro", "name": "recall_micro"},
    "balanced_accuracy",
    "mcc",
    "cohen_kappa",
]


def multiclass_truth() -> dict[str, float]:
    t, p = np.meshgrid(range(3), range(3), indexing="ij")
    w = PI[t] * np.where(t == p, HIT, (1 - HIT) / 2)
    t, p, w = t.ravel(), p.ravel(), w.ravel()
    return {
        "accuracy": skm.accuracy_score(t, p, sample_weight=w),
        "accuracy_boot": skm.accuracy_score(t, p, sample_weight=w),
        "f1_macro": skm.f1_score(t, p, average="macro", sample_weight=w),
        "precision_weighted": skm.precision_score(t, p, average="weighted", sample_weight=w),
        "recall_micro": skm.recall_score(t, p, average="micro", sample_weight=w),
        "balanced_accuracy": skm.balanced_accuracy_score(t, p, sample_weight=w),
        "mcc": skm.matthews_corrcoef(t, p, sample_weight=w),
        "cohen_kappa": skm.cohen_kappa_score(t, p, sample_weight=w),
    }


def multiclass_sample(rng: np.random.Generator, rows: int = 1000) -> dict[str, np.ndarray]:
    y = rng.choice(3, rows, p=PI)
    other = (y + rng.integers(1, 3, rows)) % 3
    return {"y": y, "p": np.where(rng.random(rows) < HIT, y, other)}


def test_multiclass_coverage() -> None:
    plan = make_plan("multiclass", MULTICLASS_METRICS, ci={"resamples": 400})
    methods = {m["name"]: m["ci"]["method"] for m in plan.metrics}
    assert methods["accuracy"] == "wilson" and methods["mcc"] == "bootstrap"
    assert_covers(coverage(plan, multiclass_sample, multiclass_truth(), simulations=1000))


# Binary scores: y ~ Bernoulli(0.4); the score is sigmoid(2y - 1 + N(0, 1.5)) binned to 0.04
# (ties, and at most 25 distinct scores keep 800 x 500 resamples fast; with 200 resamples the
# percentile tails are too noisy and coverage drops to ~93%). True values come from one
# large sample (their Monte Carlo error is ~1% of an interval's half-width).
def score_sample(rng: np.random.Generator, rows: int = 3000) -> dict[str, np.ndarray]:
    y = (rng.random(rows) < 0.4).astype(np.int8)
    # Bin centres 0.02 ... 0.98: no score of exactly 0 or 1 (a clipped log loss of 36 would
    # dominate a sample's mean).
    s = expit(2.0 * y - 1.0 + rng.normal(0, 1.5, rows))
    return {"y": y, "p": (np.minimum(np.floor(s * 25), 24) + 0.5) / 25}


SCORE_METRICS: list[Any] = [
    "log_loss",
    "brier",
    {"kind": "log_loss", "name": "log_loss_boot", "ci": {"method": "bootstrap", "resamples": 500}},
    "pr_auc",
    {"kind": "pr_auc", "bins": 20, "name": "pr_auc_binned"},
]


def large_sample_values(
    metrics: list[Any], task: str, sample: Any, **fields: Any
) -> dict[str, Any]:
    plan = make_plan(task, metrics, **fields)
    big = sample(np.random.default_rng(12345), 2_000_000)
    return {r.metric: r.value for r in plan.evaluate(big)}


@pytest.mark.slow
def test_binary_score_coverage() -> None:
    plan = make_plan("binary", SCORE_METRICS, ci={"resamples": 500})
    methods = {m["name"]: m["ci"]["method"] for m in plan.metrics}
    assert methods["log_loss"] == "normal" and methods["pr_auc"] == "bootstrap"
    assert methods["pr_auc_binned"] == "bootstrap"
    truth = large_sample_values(SCORE_METRICS, "binary", score_sample)
    assert_covers(coverage(plan, score_sample, truth, simulations=800))


# Regression: y ~ N(0, 1), y_pred = y + e with e ~ N(0.3, 1); a latency column ~ Exp(mean 2).
MU = 0.3


def regression_sample(rng: np.random.Generator, rows: int = 2000) -> dict[str, np.ndarray]:
    y = rng.normal(0, 1, rows)
    return {"y": y, "p": y + rng.normal(MU, 1, rows), "lat": rng.exponential(2.0, rows)}


REGRESSION_METRICS: list[Any] = [
    "mse",
    "rmse",
    "mae",
    "mean_error",
    "median_absolute_error",
    {"kind": "mean", "column": "lat", "name": "lat_mean"},
    {"kind": "quantile", "column": "lat", "q": 0.9, "exact": True, "name": "lat_p90"},
    {"kind": "quantile", "column": "lat", "q": 0.5, "name": "lat_p50_sketch"},
]


def regression_truth() -> dict[str, float]:
    mae = math.sqrt(2 / math.pi) * math.exp(-(MU**2) / 2) + MU * (1 - 2 * norm.cdf(-MU))
    median_abs = brentq(lambda m: norm.cdf(m - MU) - norm.cdf(-m - MU) - 0.5, 0, 5)
    return {
        "mse": 1 + MU**2,
        "rmse": math.sqrt(1 + MU**2),
        "mae": mae,
        "mean_error": MU,
        "median_absolute_error": median_abs,
        "lat_mean": 2.0,
        "lat_p90": 2.0 * math.log(10),
        "lat_p50_sketch": 2.0 * math.log(2),
    }


def test_regression_coverage() -> None:
    plan = make_plan("regression", REGRESSION_METRICS, ci={})
    methods = {m["name"]: m["ci"]["method"] for m in plan.metrics}
    assert methods["mse"] == "normal" and methods["lat_p90"] == "order_statistic"
    assert_covers(coverage(plan, regression_sample, regression_truth(), simulations=1000))


def positive_sample(rng: np.random.Generator, rows: int = 2000) -> dict[str, np.ndarray]:
    y = rng.exponential(2.0, rows)
    return {"y": y, "p": y * rng.lognormal(0.1, 0.3, rows)}


def test_error_sums_coverage() -> None:
    metrics: list[Any] = ["msle", {"kind": "mean_pinball_loss", "alpha": 0.9, "name": "pin90"}]
    plan = make_plan("regression", metrics, ci={})
    assert [m["ci"]["method"] for m in plan.metrics] == ["normal", "normal"]
    truth = large_sample_values(metrics, "regression", positive_sample)
    assert_covers(coverage(plan, positive_sample, truth, simulations=1000))


# R² and explained variance (delta method from the joint moments of error and target): a skewed
# target (kurtosis 9, so the fourth moments matter) y ~ Exp(1), y_pred = 0.8 y + N(0.3, 0.6):
# e = -0.2 y + N(0.3, 0.6) has mean 0.1 and variance 0.4, so R² = 1 - 0.41 and EV = 1 - 0.4.
def ratio_sample(rng: np.random.Generator, rows: int = 2000) -> dict[str, np.ndarray]:
    y = rng.exponential(1.0, rows)
    return {"y": y, "p": 0.8 * y + rng.normal(0.3, 0.6, rows)}


def test_r2_and_explained_variance_coverage() -> None:
    plan = make_plan("regression", ["r2", "explained_variance"], ci={})
    assert [m["ci"]["method"] for m in plan.metrics] == ["normal", "normal"]
    truth = {"r2": 1 - 0.41, "explained_variance": 1 - 0.4}
    assert_covers(coverage(plan, ratio_sample, truth, simulations=1000))


def test_d2_absolute_error_coverage() -> None:
    plan = make_plan("regression", ["d2_absolute_error"], ci={})
    assert plan.metrics[0]["ci"]["method"] == "normal"
    truth = large_sample_values(["d2_absolute_error"], "regression", ratio_sample)
    assert_covers(coverage(plan, ratio_sample, truth, simulations=1000))


# Weighted exact values: d2_absolute_error (delta method, weighted median and means) and the
# median absolute error (weighted percentiles at the effective sample size); weights double above
# the target's median. Coverage 94.5-95.4% over three seeds.
WEIGHTED_EXACT_METRICS = ["d2_absolute_error", "median_absolute_error"]
WEIGHTED_PAIR_COLUMNS = {"y_true": "y", "y_pred": "p", "weight": "w"}


def weighted_ratio_sample(rng: np.random.Generator, rows: int = 2000) -> dict[str, Any]:
    data = ratio_sample(rng, rows)
    data["w"] = (1.0 + (data["y"] > math.log(2))) * rng.uniform(0.2, 1.8, rows)
    return data


def test_weighted_d2_and_median_absolute_error_coverage() -> None:
    columns = WEIGHTED_PAIR_COLUMNS
    plan = make_plan("regression", WEIGHTED_EXACT_METRICS, columns=columns, ci={})
    assert [m["ci"]["method"] for m in plan.metrics] == ["normal", "order_statistic"]
    truth = large_sample_values(
        WEIGHTED_EXACT_METRICS, "regression", weighted_ratio_sample, columns=columns
    )
    unweighted = large_sample_values(WEIGHTED_EXACT_METRICS, "regression", ratio_sample)
    # The weights matter (less to the median absolute error: |e| hardly depends on y here).
    assert abs(truth["d2_absolute_error"] - unweighted["d2_absolute_error"]) > 0.05
    assert_covers(coverage(plan, weighted_ratio_sample, truth, simulations=1000))


def test_weighted_r2_explained_variance_and_mape_coverage() -> None:
    """The delta method with weighted moments and the linearised variance Σ w² g² / (Σ w)²."""
    columns = WEIGHTED_PAIR_COLUMNS
    ratios = ["r2", "explained_variance"]
    plan = make_plan("regression", ratios, columns=columns, ci={})
    assert [m["ci"]["method"] for m in plan.metrics] == ["normal", "normal"]
    truth = large_sample_values(ratios, "regression", weighted_ratio_sample, columns=columns)
    unweighted = {"r2": 1 - 0.41, "explained_variance": 1 - 0.4}
    assert all(abs(truth[m] - unweighted[m]) > 0.02 for m in ratios)  # the weights matter
    assert_covers(coverage(plan, weighted_ratio_sample, truth, simulations=1000))
    plan = make_plan("regression", ["mape"], columns=columns, ci={})
    truth = large_sample_values(["mape"], "regression", weighted_positive_sample, columns=columns)
    assert_covers(coverage(plan, weighted_positive_sample, truth, simulations=1000))


def test_unit_weights_give_about_the_unweighted_ratio_intervals() -> None:
    """Equal weights: the unweighted delta-method intervals, up to their n / (n - 1)."""
    data = ratio_sample(np.random.default_rng(4), 500)
    metrics = ["r2", "explained_variance", "mape"]
    plain = make_plan("regression", metrics, ci={}).evaluate(data)
    weighted = make_plan("regression", metrics, columns=WEIGHTED_PAIR_COLUMNS, ci={}).evaluate(
        {**data, "w": np.full(500, 3.0)}
    )
    for r in plain:
        w = weighted.get(r.metric)
        assert w.value == pytest.approx(r.value, rel=1e-12)
        assert r.ci_low is not None and r.ci_high is not None
        assert w.ci_low is not None and w.ci_high is not None
        width, plain_width = w.ci_high - w.ci_low, r.ci_high - r.ci_low
        assert width == pytest.approx(plain_width * math.sqrt(499 / 500), rel=1e-9)


def test_mape_coverage() -> None:
    plan = make_plan("regression", ["mape"], ci={})
    assert plan.metrics[0]["ci"]["method"] == "normal"
    truth = large_sample_values(["mape"], "regression", positive_sample)
    assert_covers(coverage(plan, positive_sample, truth, simulations=1000))


def test_ratio_scores_match_the_influence_function_variance() -> None:
    """The delta-method half-width equals z x sd(influence values) / sqrt(n), computed here
    directly from the rows, and R² / EV values equal scikit-learn's."""
    data = ratio_sample(np.random.default_rng(21), 3000)
    y, p = data["y"], data["p"]
    e = p - y
    n = len(y)
    ye, ee = y - y.mean(), e - e.mean()
    var_y = np.mean(ye**2)
    mse, var_e = np.mean(e**2), np.mean(ee**2)
    influence = {
        "r2": -(e**2 - mse) / var_y + mse / var_y**2 * (ye**2 - var_y),
        "explained_variance": -(ee**2 - var_e) / var_y + var_e / var_y**2 * (ye**2 - var_y),
    }
    res = make_plan("regression", ["r2", "explained_variance"], ci={}).evaluate(data)
    z = norm.ppf(0.975)
    for kind, g in influence.items():
        r = res.get(kind)
        assert r.value is not None and r.ci_low is not None and r.ci_high is not None
        half = z * np.std(g, ddof=1) / math.sqrt(n)
        assert (r.ci_low, r.ci_high) == pytest.approx((r.value - half, r.value + half), rel=1e-9)
    assert res.get("r2").value == pytest.approx(skm.r2_score(y, p), rel=1e-9)
    assert res.get("explained_variance").value == pytest.approx(
        skm.explained_variance_score(y, p), rel=1e-9
    )


# Sample weights: positives weigh twice as much on average. Binary: scores N(y, 1), threshold
# 0.5; weighted proportions' true values follow from the weighted population counts.
def weighted_binary_sample(rng: np.random.Generator, rows: int = 500) -> dict[str, np.ndarray]:
    y = (rng.random(rows) < 0.4).astype(np.int8)
    w = (1.0 + y) * rng.uniform(0.2, 1.8, rows)
    return {"y": y, "p": rng.normal(y.astype(float), 1.0), "w": w}


def weighted_binary_truth() -> dict[str, float]:
    tpr, fpr = 1 - norm.cdf(-0.5), 1 - norm.cdf(0.5)
    pos, neg = 0.4 * 2.0, 0.6 * 1.0  # prevalence times mean weight
    return {
        "accuracy": (pos * tpr + neg * (1 - fpr)) / (pos + neg),
        "precision": pos * tpr / (pos * tpr + neg * fpr),
        "recall": tpr,
        "prevalence": pos / (pos + neg),
    }


def test_weighted_coverage() -> None:
    binary = make_plan(
        "binary",
        list(weighted_binary_truth()),
        columns={"y_true": "y", "y_score": "p", "weight": "w"},
        ci={},
    )
    assert {m["ci"]["method"] for m in binary.metrics} == {"wilson"}
    truth = weighted_binary_truth()
    assert_covers(coverage(binary, weighted_binary_sample, truth, simulations=1000))

    def sample(rng: np.random.Generator) -> dict[str, np.ndarray]:
        data = regression_sample(rng)
        data["w"] = (1.0 + (data["y"] > 0)) * rng.uniform(0.2, 1.8, len(data["y"]))
        return data

    truth = regression_truth()
    regression = make_plan(
        "regression",
        ["mse", "rmse", "mae", "mean_error"],
        columns={"y_true": "y", "y_pred": "p", "weight": "w"},
        ci={},
    )
    means = ("mse", "rmse", "mae", "mean_error")
    assert_covers(coverage(regression, sample, {k: truth[k] for k in means}, simulations=1000))


# Weighted multiclass accuracy (Wilson at the effective sample size) and weighted msle / pinball
# (normal, linearised variance of a weighted mean): weights grow with the class or the target.
CLASS_HIT = np.array([0.8, 0.6, 0.5])


def weighted_multiclass_sample(rng: np.random.Generator, rows: int = 800) -> dict[str, Any]:
    y = rng.choice(3, rows, p=PI)
    other = (y + rng.integers(1, 3, rows)) % 3
    p = np.where(rng.random(rows) < CLASS_HIT[y], y, other)
    return {"y": y, "p": p, "w": (1.0 + y) * rng.uniform(0.2, 1.8, rows)}


def weighted_positive_sample(rng: np.random.Generator, rows: int = 2000) -> dict[str, Any]:
    data = positive_sample(rng, rows)
    data["w"] = (1.0 + (data["y"] > 2.0)) * rng.uniform(0.2, 1.8, rows)
    return data


WEIGHTED_ERROR_METRICS: list[Any] = [
    "msle",
    {"kind": "mean_pinball_loss", "alpha": 0.9, "name": "pin90"},
]


def test_weighted_multiclass_accuracy_and_error_sums_coverage() -> None:
    plan = make_plan(
        "multiclass", ["accuracy"], columns={"y_true": "y", "y_pred": "p", "weight": "w"}, ci={}
    )
    assert plan.metrics[0]["ci"]["method"] == "wilson"
    mass = PI * np.arange(1, 4)  # prior times mean weight
    truth = {"accuracy": float(mass @ CLASS_HIT / mass.sum())}
    assert_covers(coverage(plan, weighted_multiclass_sample, truth, simulations=1000))

    columns = {"y_true": "y", "y_pred": "p", "weight": "w"}
    plan = make_plan("regression", WEIGHTED_ERROR_METRICS, columns=columns, ci={})
    assert [m["ci"]["method"] for m in plan.metrics] == ["normal", "normal"]
    truth = large_sample_values(
        WEIGHTED_ERROR_METRICS, "regression", weighted_positive_sample, columns=columns
    )
    assert_covers(coverage(plan, weighted_positive_sample, truth, simulations=1000))


# Weighted binary scores: weighted DeLong for roc_auc, weighted normal for log_loss and brier.
WEIGHTED_SCORE_METRICS = ["roc_auc", "log_loss", "brier"]
WEIGHTED_SCORE_COLUMNS = {"y_true": "y", "y_score": "p", "weight": "w"}


def weighted_score_sample(rng: np.random.Generator, rows: int = 1000) -> dict[str, Any]:
    data = score_sample(rng, rows)
    data["w"] = (1.0 + data["y"]) * rng.uniform(0.2, 1.8, rows)
    return data


def test_weighted_score_coverage() -> None:
    plan = make_plan("binary", WEIGHTED_SCORE_METRICS, columns=WEIGHTED_SCORE_COLUMNS, ci={})
    assert [m["ci"]["method"] for m in plan.metrics] == ["delong", "normal", "normal"]
    truth = large_sample_values(
        WEIGHTED_SCORE_METRICS, "binary", weighted_score_sample, columns=WEIGHTED_SCORE_COLUMNS
    )
    # 3,000 simulations (cheap here): three correlated metrics, each estimate's sd 0.4 points.
    assert_covers(coverage(plan, weighted_score_sample, truth, simulations=3000))


def test_unit_weights_give_the_unweighted_intervals() -> None:
    rng = np.random.default_rng(4)
    pred = {"y_true": "y", "y_pred": "p", "weight": "w"}
    cases: list[tuple[str, list[Any], dict[str, Any], dict[str, Any]]] = [
        ("regression", WEIGHTED_ERROR_METRICS, weighted_positive_sample(rng, 500), pred),
        ("multiclass", ["accuracy"], weighted_multiclass_sample(rng, 500), pred),
        ("binary", WEIGHTED_SCORE_METRICS, weighted_score_sample(rng, 500), WEIGHTED_SCORE_COLUMNS),
        (
            "multiclass",
            CLASS_SCORE_METRICS,
            weighted_class_score_sample(rng, 500),
            CLASS_SCORE_FIELDS["columns"],
        ),
    ]
    for task, metrics, sample, columns in cases:
        sample = {**sample, "w": np.ones(len(sample["y"]))}
        plain_columns = {k: v for k, v in columns.items() if k != "weight"}
        labels = {"labels": [0, 1, 2]} if "y_score" in columns and task == "multiclass" else {}
        plain = make_plan(task, metrics, columns=plain_columns, ci={}, **labels).evaluate(sample)
        weighted = make_plan(task, metrics, columns=columns, ci={}, **labels).evaluate(sample)
        for r in plain:
            w = weighted.get(r.metric)
            assert r.ci_low is not None and w.ci_low is not None
            # Wilson is the same; the weighted normal and DeLong intervals have no n / (n - 1).
            exact = r.metric in ("accuracy", "top2")
            rel = 1e-12 if exact else 5e-3
            assert (w.ci_low, w.ci_high) == pytest.approx((r.ci_low, r.ci_high), rel=rel)


# Multiclass class scores: 3 classes, scores softmax(1.5 * onehot(y) + N(0, 1)).
def class_score_sample(rng: np.random.Generator, rows: int = 500) -> dict[str, np.ndarray]:
    y = rng.choice(3, rows, p=PI)
    logits = 1.5 * np.eye(3)[y] + rng.normal(0, 1, (rows, 3))
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return {"y": y, "p": p}


def test_class_score_coverage() -> None:
    metrics: list[Any] = ["log_loss", {"kind": "top_k_accuracy", "k": 2, "name": "top2"}]
    fields: dict[str, Any] = {"columns": {"y_true": "y", "y_score": "p"}, "labels": [0, 1, 2]}
    plan = make_plan("multiclass", metrics, ci={}, **fields)
    assert [m["ci"]["method"] for m in plan.metrics] == ["normal", "wilson"]
    truth = large_sample_values(metrics, "multiclass", class_score_sample, **fields)
    assert_covers(coverage(plan, class_score_sample, truth, simulations=1000))


MULTICLASS_AUC_METRICS: list[Any] = [
    {"kind": "roc_auc", "multi_class": multi, "average": average, "name": f"{multi}_{average}"}
    for multi in ("ovr", "ovo")
    for average in ("macro", "weighted")
]
CLASS_SCORE_COLUMNS: dict[str, Any] = {
    "columns": {"y_true": "y", "y_score": "p"},
    "labels": [0, 1, 2],
}


def test_multiclass_roc_auc_coverage() -> None:
    """Grouped DeLong: each row's influence on the averaged AUC, summed over 32 row groups."""
    plan = make_plan("multiclass", MULTICLASS_AUC_METRICS, ci={}, **CLASS_SCORE_COLUMNS)
    assert {m["ci"]["method"] for m in plan.metrics} == {"delong"}
    truth = large_sample_values(
        MULTICLASS_AUC_METRICS, "multiclass", class_score_sample, **CLASS_SCORE_COLUMNS
    )
    assert_covers(coverage(plan, class_score_sample, truth, simulations=1000))


def test_multiclass_roc_auc_interval_keeps_the_value_and_matches_row_level_delong() -> None:
    """Keeping groups changes no value; the interval's variance is close to the row-level DeLong
    variance of the averaged AUC (each row's influence summed over the AUCs it enters)."""
    data = class_score_sample(np.random.default_rng(5), 20_000)
    plain = make_plan("multiclass", MULTICLASS_AUC_METRICS, **CLASS_SCORE_COLUMNS)
    with_ci = make_plan("multiclass", MULTICLASS_AUC_METRICS, ci={}, **CLASS_SCORE_COLUMNS)
    values = {r.metric: r.value for r in plain.evaluate(data)}
    y, p = data["y"], data["p"]
    support = np.bincount(y, minlength=3)
    for r in with_ci.evaluate(data):
        assert r.value == values[r.metric]
        multi, average = r.metric.split("_")
        assert r.value == pytest.approx(
            skm.roc_auc_score(y, p, multi_class=multi, average=average), rel=1e-12
        )
        # Row-level influences: per binary AUC (positives of class a in column a against the
        # negatives), (placement - AUC) / m for a positive, (placement - AUC) / n for a negative.
        if multi == "ovr":
            terms = [(a, [b for b in range(3) if b != a]) for a in range(3)]
            weights = support / support.sum() if average == "weighted" else np.full(3, 1 / 3)
        else:
            pairs = [(0, 1), (0, 2), (1, 2)]
            pair_weights = np.array([support[a] + support[b] for a, b in pairs], float)
            pair_weights = (
                pair_weights / pair_weights.sum() if average == "weighted" else np.full(3, 1 / 3)
            )
            terms = [t for a, b in pairs for t in ((a, [b]), (b, [a]))]
            weights = np.repeat(pair_weights / 2, 2)
        influence = np.zeros(len(y))
        for weight, (a, negatives) in zip(weights, terms, strict=True):
            pos = np.flatnonzero(y == a)
            neg = np.flatnonzero(np.isin(y, negatives))
            s_pos, s_neg = np.sort(p[pos, a]), np.sort(p[neg, a])
            below = np.searchsorted(s_neg, p[pos, a], "left")
            tied = np.searchsorted(s_neg, p[pos, a], "right") - below
            place_pos = (below + tied / 2) / len(neg)
            above = len(pos) - np.searchsorted(s_pos, p[neg, a], "right")
            tied = np.searchsorted(s_pos, p[neg, a], "right") - np.searchsorted(
                s_pos, p[neg, a], "left"
            )
            place_neg = (above + tied / 2) / len(pos)
            auc = place_pos.mean()
            influence[pos] += weight * (place_pos - auc) / len(pos)
            influence[neg] += weight * (place_neg - auc) / len(neg)
        half_width = norm.ppf(0.975) * math.sqrt(np.sum(influence**2))
        assert r.ci_low is not None and r.ci_high is not None
        # 31 degrees of freedom: the group estimate of the half-width has a sd of ~13% about the
        # row-level one (here within 6%); a wrong factor such as sqrt(2) or 1/K would fail.
        assert (r.ci_high - r.ci_low) / 2 == pytest.approx(half_width, rel=0.3)


OVR_AUC_METRICS = MULTICLASS_AUC_METRICS[:2]  # scikit-learn weights one-vs-rest only
WEIGHTED_CLASS_COLUMNS: dict[str, Any] = {
    "columns": {"y_true": "y", "y_score": "p", "weight": "w"},
    "labels": [0, 1, 2],
}


def weighted_class_auc_sample(rng: np.random.Generator, rows: int = 1000) -> dict[str, Any]:
    data = class_score_sample(rng, rows)
    # Weights grow with the true class and with the score of class 0, so they move the AUCs.
    data["w"] = (1.0 + data["y"]) * (0.5 + data["p"][:, 0]) * rng.uniform(0.2, 1.8, rows)
    return data


def test_weighted_multiclass_roc_auc_coverage() -> None:
    plan = make_plan("multiclass", OVR_AUC_METRICS, ci={}, **WEIGHTED_CLASS_COLUMNS)
    assert {m["ci"]["method"] for m in plan.metrics} == {"delong"}
    truth = large_sample_values(
        OVR_AUC_METRICS, "multiclass", weighted_class_auc_sample, **WEIGHTED_CLASS_COLUMNS
    )
    # The weighted intervals cover about 94% here (a delta method at 1,000 rows of skewed
    # weights): 4,000 simulations (sd 0.34 points) keep that clear of the band's edge, where
    # 1,000 (sd 0.7) would fall below 93% about one run in ten.
    assert_covers(coverage(plan, weighted_class_auc_sample, truth, simulations=4000))


def test_a_plan_with_too_many_interval_groups_is_refused() -> None:
    """The core checks the field itself (a plan may come from elsewhere than this compiler)."""
    plan = make_plan("multiclass", OVR_AUC_METRICS, ci={}, **CLASS_SCORE_COLUMNS)
    body = json.loads(plan.to_json())
    assert body["accumulators"][0]["interval_groups"] == 32
    body["accumulators"][0]["interval_groups"] = 65
    with pytest.raises(PlanError, match="at most 64 interval groups, not 65"):
        _core.Executor(json.dumps(body))


def test_unit_weights_give_the_unweighted_multiclass_roc_auc_interval() -> None:
    data = class_score_sample(np.random.default_rng(6), 3000)
    plain = make_plan("multiclass", OVR_AUC_METRICS, ci={}, **CLASS_SCORE_COLUMNS)
    weighted = make_plan("multiclass", OVR_AUC_METRICS, ci={}, **WEIGHTED_CLASS_COLUMNS)
    got = weighted.evaluate({**data, "w": np.full(3000, 2.0)})
    for r in plain.evaluate(data):
        w = got.get(r.metric)
        assert w.value == pytest.approx(r.value, rel=1e-12)
        assert (w.ci_low, w.ci_high) == pytest.approx((r.ci_low, r.ci_high), rel=1e-9)


# Weighted class scores: weights grow with the class.
CLASS_SCORE_FIELDS: dict[str, Any] = {
    "columns": {"y_true": "y", "y_score": "p", "weight": "w"},
    "labels": [0, 1, 2],
}
CLASS_SCORE_METRICS: list[Any] = ["log_loss", {"kind": "top_k_accuracy", "k": 2, "name": "top2"}]


def weighted_class_score_sample(rng: np.random.Generator, rows: int = 500) -> dict[str, Any]:
    data = class_score_sample(rng, rows)
    data["w"] = (1.0 + data["y"]) * rng.uniform(0.2, 1.8, rows)
    return data


def test_weighted_class_score_coverage() -> None:
    plan = make_plan("multiclass", CLASS_SCORE_METRICS, ci={}, **CLASS_SCORE_FIELDS)
    assert [m["ci"]["method"] for m in plan.metrics] == ["normal", "wilson"]
    truth = large_sample_values(
        CLASS_SCORE_METRICS, "multiclass", weighted_class_score_sample, **CLASS_SCORE_FIELDS
    )
    assert_covers(coverage(plan, weighted_class_score_sample, truth, simulations=1000))


@pytest.mark.parametrize(
    ("task", "metrics", "sample", "fields"),
    [
        ("multiclass", MULTICLASS_METRICS, multiclass_sample, {}),
        ("binary", SCORE_METRICS, score_sample, {}),
        ("regression", REGRESSION_METRICS, regression_sample, {}),
        ("multiclass", CLASS_SCORE_METRICS, weighted_class_score_sample, CLASS_SCORE_FIELDS),
        (
            "regression",
            ["r2", "explained_variance", "mape", "d2_absolute_error"],
            positive_sample,
            {},
        ),
        ("multiclass", MULTICLASS_AUC_METRICS, class_score_sample, CLASS_SCORE_COLUMNS),
        ("multiclass", OVR_AUC_METRICS, weighted_class_auc_sample, WEIGHTED_CLASS_COLUMNS),
        (
            "regression",
            [*WEIGHTED_EXACT_METRICS, "r2", "explained_variance", "mape"],
            weighted_ratio_sample,
            {"columns": WEIGHTED_PAIR_COLUMNS},
        ),
        (
            "regression",
            WEIGHTED_ERROR_METRICS,
            weighted_positive_sample,
            {"columns": {"y_true": "y", "y_pred": "p", "weight": "w"}},
        ),
        (
            "multiclass",
            ["accuracy"],
            weighted_multiclass_sample,
            {"columns": {"y_true": "y", "y_pred": "p", "weight": "w"}},
        ),
        (
            "binary",
            WEIGHTED_SCORE_METRICS,
            weighted_score_sample,
            {"columns": WEIGHTED_SCORE_COLUMNS},
        ),
        (
            "binary",
            ["accuracy", "precision"],
            weighted_binary_sample,
            {"columns": {"y_true": "y", "y_score": "p", "weight": "w"}},
        ),
    ],
)
def test_intervals_do_not_depend_on_chunking_or_merging(
    task: str, metrics: list[Any], sample: Any, fields: dict[str, Any]
) -> None:
    plan = make_plan(task, metrics, ci={}, **fields)
    # Multiclass roc_auc groups rows by their position in each state: a merge of states started
    # apart groups them otherwise (an interval as valid, not the same one).
    grouped = metrics is MULTICLASS_AUC_METRICS or metrics is OVR_AUC_METRICS
    assert_intervals_do_not_depend_on_chunking(
        plan, sample(np.random.default_rng(7), 3000), merged_rel=0.1 if grouped else 1e-9
    )


@pytest.mark.parametrize(
    ("task", "metric", "sample"),
    [
        ("multiclass", {"kind": "f1", "average": "macro"}, multiclass_sample),
        ("multiclass", "accuracy", multiclass_sample),
        ("binary", "pr_auc", score_sample),
        ("binary", "log_loss", score_sample),
        ("regression", "mse", regression_sample),
        ("regression", "rmse", regression_sample),
        ("regression", "median_absolute_error", regression_sample),
        ("regression", "r2", ratio_sample),
        ("regression", "mape", positive_sample),
    ],
)
def test_level_is_respected(task: str, metric: Any, sample: Any) -> None:
    data = sample(np.random.default_rng(3), 300)

    def width(level: float) -> tuple[float, float]:
        entry = {"kind": metric} if isinstance(metric, str) else metric
        r = next(iter(make_plan(task, [{**entry, "ci": {"level": level}}]).evaluate(data)))
        assert r.ci_low is not None and r.ci_high is not None
        return r.ci_low, r.ci_high

    (lo80, hi80), (lo99, hi99) = width(0.8), width(0.99)
    assert lo99 <= lo80 < hi80 <= hi99 and (lo99, hi99) != (lo80, hi80)


def test_undefined_values_have_no_interval() -> None:
    mc = make_plan("multiclass", ["accuracy", "mcc"], ci={})
    for r in mc.evaluate({"y": np.zeros(0, int), "p": np.zeros(0, int)}):
        assert r.value is None and r.ci_low is None and r.ci_high is None
    reg = make_plan("regression", ["mse", "mae"], ci={})
    one = list(reg.evaluate({"y": np.array([1.0]), "p": np.array([2.0])}))
    assert all(r.value is not None and r.ci_low is None for r in one)  # one row: no variance
    ratios = make_plan(
        "regression", ["r2", "explained_variance", "mape", "d2_absolute_error"], ci={}
    )
    for r in ratios.evaluate({"y": np.array([1.0]), "p": np.array([2.0])}):
        assert r.ci_low is None and r.ci_high is None
    # A constant target: R² and EV are 0 or 1 by convention, not estimates.
    constant = ratios.evaluate({"y": np.full(50, 2.0), "p": np.linspace(1, 3, 50)})
    for kind in ("r2", "explained_variance", "d2_absolute_error"):
        assert constant.get(kind).value == 0.0 and constant.get(kind).ci_low is None
    assert constant.get("mape").ci_low is not None
    scores = make_plan("binary", ["pr_auc", "log_loss"], ci={})
    for r in scores.evaluate({"y": np.zeros(0, int), "p": np.zeros(0)}):
        assert r.ci_low is None


def test_many_distinct_scores_are_pooled_around_the_exact_value() -> None:
    """Above 1,024 distinct scores the bootstrap resamples pooled groups; the interval stays
    around the exact value and as wide as a direct bootstrap of the rows."""
    rng = np.random.default_rng(5)
    rows = 20_000
    y = (rng.random(rows) < 0.4).astype(np.int8)
    data = {"y": y, "p": expit(2.0 * y - 1.0 + rng.normal(0, 1.5, rows))}
    r = make_plan("binary", [{"kind": "pr_auc", "ci": {}}]).evaluate(data).get("pr_auc")
    assert r.ci_low is not None and r.ci_high is not None and r.value is not None
    assert r.ci_low < r.value < r.ci_high
    # The bootstrap sd of AP at n rows, checked against a direct resampling of rows.
    widths = []
    for _ in range(200):
        idx = rng.integers(0, rows, rows)
        widths.append(skm.average_precision_score(data["y"][idx], data["p"][idx]))
    lo, hi = np.percentile(widths, [2.5, 97.5])
    assert (r.ci_high - r.ci_low) == pytest.approx(hi - lo, rel=0.25)


@pytest.mark.parametrize(
    ("task", "metric"),
    [
        ("regression", {"kind": "max_error", "ci": {}}),
        ("regression", {"kind": "min", "column": "y", "ci": {}}),
        ("regression", {"kind": "mse", "ci": {"method": "bootstrap"}}),
        ("multiclass", {"kind": "f1", "average": "none", "ci": {}}),
        ("binary", {"kind": "f1", "ci": {"method": "normal"}}),
    ],
)
def test_unsupported_intervals_are_refused(task: str, metric: Any) -> None:
    with pytest.raises(SpecError) as err:
        make_plan(task, [metric])
    assert "ci_not_supported" in {p.type for p in err.value.problems}


def test_schema_lists_the_methods() -> None:
    from scoreboard.spec.models import CiConfig

    methods = CiConfig.model_json_schema()["properties"]["method"]["enum"]
    assert {"normal", "order_statistic", "bootstrap", "wilson", "delong", "auto"} == set(methods)


def test_intervals_do_not_change_values() -> None:
    """ROC AUC with DeLong is computed in one pass with its interval: the same exact value."""
    rng = np.random.default_rng(11)
    data = score_sample(rng, 5000)
    data["p"] = np.where(rng.random(5000) < 0.5, data["p"], rng.random(5000))
    kinds = ["roc_auc", "pr_auc", "log_loss", "brier"]
    plain = make_plan("binary", kinds).evaluate(data)
    with_ci = make_plan("binary", kinds, ci={}).evaluate(data)
    for kind in kinds:
        assert with_ci.get(kind).value == plain.get(kind).value
        assert with_ci.get(kind).ci_low is not None
    want = skm.roc_auc_score(data["y"], data["p"])
    assert plain.get("roc_auc").value == pytest.approx(want, rel=1e-12)

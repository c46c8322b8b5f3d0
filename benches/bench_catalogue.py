"""Threshold-free metrics: scoreboard vs numpy and scikit-learn on the same data, in the same run.

    SCOREBOARD_BENCH_ROWS=20000000 pytest benches/bench_catalogue.py --benchmark-only

Rows: ``SCOREBOARD_BENCH_ROWS`` (20M by default). Scores are float64 draws, distinct but for the
clipped ends: the worst case for the exact state (it keeps every distinct score). Every
contender's result is checked against scikit-learn's once before timing, and the binned values
against the numpy histogram's.

The group "multiclass K=10 roc_auc ovr macro" is capped at MULTICLASS_ROWS (2M) rows whatever
SCOREBOARD_BENCH_ROWS says: scikit-learn takes about 6 s per round at 2M rows (one-vs-rest re-sorts
every class column), a minute at 20M. `python benches/report.py` prints its ratio.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from benchlib import ROWS, class_score_data, run
from scoreboard.plan import compile_spec
from scoreboard.spec import spec_from_mapping
from scoreboard.spec.source import SourceMap


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    y = (rng.random(ROWS) < 0.3).astype(np.int8)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.0, 1.0)
    return {"y": y, "p": s}


@pytest.fixture(scope="module")
def reference(data: dict[str, np.ndarray]) -> tuple[float, float]:
    return (
        float(skm.roc_auc_score(data["y"], data["p"])),
        float(skm.average_precision_score(data["y"], data["p"])),
    )


def plan(metrics: list[Any]) -> Any:
    doc = {
        "version": 1,
        "model": "bench",
        "task": "binary",
        "columns": {"y_true": "y", "y_score": "p"},
        "metrics": metrics,
    }
    return compile_spec(spec_from_mapping(doc, SourceMap("<bench>")))


def scoreboard_auc_ap(compiled: Any, data: dict[str, np.ndarray]) -> tuple[float, float]:
    acc = compiled.accumulator()
    acc.update(data)
    res = acc.results()
    return res[0].value, res[1].value  # type: ignore[return-value]


def numpy_auc_ap(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """The best exact numpy: ONE sort of packed (score bits, label) keys, then cumulative sums.
    Scores in [0, 1] have bit patterns below 2^62, so (bits << 1) | label fits an int64."""
    packed = (s.view(np.int64) << 1) | y.astype(np.int64)
    packed.sort()
    packed = packed[::-1]  # descending score
    labels = packed & 1
    score_bits = packed >> 1
    last = np.flatnonzero(np.diff(score_bits)) if len(packed) > 1 else np.array([], np.int64)
    ends = np.r_[last, len(packed) - 1]
    tps = np.cumsum(labels)[ends].astype(np.float64)
    return curve_auc_ap(tps, (ends + 1) - tps)


def curve_auc_ap(tps: np.ndarray, fps: np.ndarray) -> tuple[float, float]:
    """ROC AUC (trapezoids) and average precision from the cumulative true and false positives
    at each distinct score, highest first."""
    p, n = tps[-1], fps[-1]
    tpr, fpr = np.r_[0.0, tps / p], np.r_[0.0, fps / n]
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    ap = float(np.sum(np.diff(np.r_[0.0, tps / p]) * (tps / (tps + fps))))
    return auc, ap


EXACT_GROUP = "exact roc_auc + pr_auc"
BINNED_GROUP = "binned roc_auc + pr_auc (65,536 bins)"
BINS = 65_536


def test_exact_scoreboard(benchmark: Any, data: dict[str, np.ndarray], reference: Any) -> None:
    compiled = plan(["roc_auc", "pr_auc"])
    got = run(
        benchmark,
        lambda: scoreboard_auc_ap(compiled, data),
        group=EXACT_GROUP,
        impl="scoreboard",
        rows=ROWS,
    )
    assert got == pytest.approx(reference, rel=1e-9)


def test_exact_scoreboard_chunked(
    benchmark: Any, data: dict[str, np.ndarray], reference: Any
) -> None:
    """Through plan.evaluate with the default 1M-row chunks (the state's run stack at work)."""
    p = plan(["roc_auc", "pr_auc"])

    def evaluate() -> tuple[float, float]:
        res = p.evaluate(data)
        return res[0].value, res[1].value  # type: ignore[return-value]

    got = run(benchmark, evaluate, group=EXACT_GROUP, impl="scoreboard, 1M chunks", rows=ROWS)
    assert got == pytest.approx(reference, rel=1e-9)


def test_exact_numpy(benchmark: Any, data: dict[str, np.ndarray], reference: Any) -> None:
    got = run(
        benchmark,
        lambda: numpy_auc_ap(data["y"], data["p"]),
        group=EXACT_GROUP,
        impl="numpy packed sort",
        rows=ROWS,
    )
    assert got == pytest.approx(reference, rel=1e-9)


def test_exact_sklearn(benchmark: Any, data: dict[str, np.ndarray], reference: Any) -> None:
    def sklearn() -> tuple[float, float]:
        return (
            float(skm.roc_auc_score(data["y"], data["p"])),
            float(skm.average_precision_score(data["y"], data["p"])),
        )

    got = run(benchmark, sklearn, group=EXACT_GROUP, impl="sklearn", rows=ROWS, slow=True)
    assert got == pytest.approx(reference, rel=1e-12)


def numpy_binned_auc_ap(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """The numpy histogram: one bincount of (bin, label) pairs, then each bin as one tied score
    (what scoreboard's binned mode reports, so the two values agree to rounding)."""
    bins = np.minimum((s * BINS).astype(np.int64), BINS - 1)
    counts = np.bincount(bins * 2 + y, minlength=2 * BINS).reshape(BINS, 2)[::-1]
    counts = counts[counts.sum(axis=1) > 0]  # descending score, empty bins dropped
    tps = np.cumsum(counts[:, 1]).astype(np.float64)
    return curve_auc_ap(tps, np.cumsum(counts[:, 0]).astype(np.float64))


def test_binned_scoreboard(benchmark: Any, data: dict[str, np.ndarray], reference: Any) -> None:
    compiled = plan([{"kind": "roc_auc", "bins": BINS}, {"kind": "pr_auc", "bins": BINS}])
    got = run(
        benchmark,
        lambda: scoreboard_auc_ap(compiled, data),
        group=BINNED_GROUP,
        impl="scoreboard",
        rows=ROWS,
    )
    assert got == pytest.approx(reference, abs=1e-3)
    assert got == pytest.approx(numpy_binned_auc_ap(data["y"], data["p"]), rel=1e-12)


def test_binned_numpy(benchmark: Any, data: dict[str, np.ndarray], reference: Any) -> None:
    got = run(
        benchmark,
        lambda: numpy_binned_auc_ap(data["y"], data["p"]),
        group=BINNED_GROUP,
        impl="numpy bincount",
        rows=ROWS,
    )
    assert got == pytest.approx(reference, abs=1e-3)


@pytest.fixture(scope="module")
def latency() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    lat = rng.lognormal(3, 1, ROWS)
    return {"lat": lat}


def quantile_plan(exact: bool) -> Any:
    doc = {
        "version": 1,
        "model": "bench",
        "task": "regression",
        "columns": {"y_true": "lat", "y_pred": "lat"},
        "metrics": [{"kind": "quantile", "column": "lat", "q": 0.99, "exact": exact}],
    }
    return compile_spec(spec_from_mapping(doc, SourceMap("<bench>")))


QUANTILE_GROUP = "quantile p99"


def test_quantile_sketch(benchmark: Any, latency: dict[str, np.ndarray]) -> None:
    compiled = quantile_plan(False)
    lat = latency["lat"]

    def sketch() -> tuple[float, int]:
        acc = compiled.accumulator()
        acc.update({"lat": lat})
        return acc.results()[0].value, len(acc.to_bytes())  # type: ignore[return-value]

    value, state_bytes = run(benchmark, sketch, group=QUANTILE_GROUP, impl="scoreboard", rows=ROWS)
    assert value == pytest.approx(np.percentile(lat, 99), rel=0.01)
    assert state_bytes < 64_000  # flat: independent of ROWS


def test_quantile_numpy(benchmark: Any, latency: dict[str, np.ndarray]) -> None:
    lat = latency["lat"]
    got = run(
        benchmark,
        lambda: float(np.percentile(lat, 99)),
        group=QUANTILE_GROUP,
        impl="np.percentile",
        rows=ROWS,
    )
    assert got > 0


# --------------------------------------------------------------------------------------------
# Multiclass ROC AUC, one-vs-rest macro, K = 10 (rows capped: scikit-learn is slow here)

MULTICLASS_K = 10
MULTICLASS_ROWS = min(ROWS, 2_000_000)
MULTICLASS_GROUP = "multiclass K=10 roc_auc ovr macro"


@pytest.fixture(scope="module")
def class_scores() -> dict[str, np.ndarray]:
    return class_score_data(MULTICLASS_ROWS, MULTICLASS_K)


@pytest.fixture(scope="module")
def class_reference(class_scores: dict[str, np.ndarray]) -> float:
    return float(skm.roc_auc_score(class_scores["y"], class_scores["p"], multi_class="ovr"))


def test_multiclass_ovr_auc_scoreboard(
    benchmark: Any, class_scores: dict[str, np.ndarray], class_reference: float
) -> None:
    doc = {
        "version": 1,
        "model": "bench",
        "task": "multiclass",
        "columns": {"y_true": "y", "y_score": "p"},
        "labels": list(range(MULTICLASS_K)),
        "metrics": [{"kind": "roc_auc", "multi_class": "ovr", "average": "macro"}],
    }
    compiled = compile_spec(spec_from_mapping(doc, SourceMap("<bench>")))

    def evaluate() -> float:
        acc = compiled.accumulator()
        acc.update(class_scores)
        return acc.results()[0].value  # type: ignore[return-value]

    got = run(benchmark, evaluate, group=MULTICLASS_GROUP, impl="scoreboard", rows=MULTICLASS_ROWS)
    assert got == pytest.approx(class_reference, rel=1e-9)


def test_multiclass_ovr_auc_sklearn(
    benchmark: Any, class_scores: dict[str, np.ndarray], class_reference: float
) -> None:
    def evaluate() -> float:
        return float(skm.roc_auc_score(class_scores["y"], class_scores["p"], multi_class="ovr"))

    got = run(
        benchmark, evaluate, group=MULTICLASS_GROUP, impl="sklearn", rows=MULTICLASS_ROWS, slow=True
    )
    assert got == pytest.approx(class_reference, rel=1e-12)

"""Threshold-free metrics: scoreboard vs numpy and scikit-learn on the same data, in the same run.

    SCOREBOARD_BENCH_ROWS=20000000 pytest benches/bench_catalogue.py --benchmark-only

Rows default to 1M (development). Scores are float64 draws, all distinct: the worst case for the
exact state (it keeps every distinct score). Every contender's result is checked against
scikit-learn's once before timing.

The group "multiclass K=10 roc_auc ovr macro" is capped at MULTICLASS_ROWS (2M) rows whatever
SCOREBOARD_BENCH_ROWS says: scikit-learn takes about 6 s per round at 2M rows (one-vs-rest re-sorts
every class column), a minute at 20M. `python benches/report.py` prints its ratio.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from benchlib import class_score_data, run
from scoreboard.plan import compile_spec
from scoreboard.spec import spec_from_mapping
from scoreboard.spec.source import SourceMap

ROWS = int(os.environ.get("SCOREBOARD_BENCH_ROWS", 1_000_000))


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
    fps = (ends + 1) - tps
    p, n = tps[-1], fps[-1]
    tpr, fpr = np.r_[0.0, tps / p], np.r_[0.0, fps / n]
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    recall = np.r_[0.0, tps / p]
    ap = float(np.sum(np.diff(recall) * (tps / (tps + fps))))
    return auc, ap


def test_exact_scoreboard(benchmark: Any, data: dict[str, np.ndarray], reference: Any) -> None:
    got = benchmark(scoreboard_auc_ap, plan(["roc_auc", "pr_auc"]), data)
    assert got == pytest.approx(reference, rel=1e-9)


def test_exact_scoreboard_chunked(
    benchmark: Any, data: dict[str, np.ndarray], reference: Any
) -> None:
    """Through plan.evaluate with the default 1M-row chunks (the state's run stack at work)."""
    p = plan(["roc_auc", "pr_auc"])

    def run() -> tuple[float, float]:
        res = p.evaluate(data)
        return res[0].value, res[1].value  # type: ignore[return-value]

    assert benchmark(run) == pytest.approx(reference, rel=1e-9)


def test_binned_scoreboard(benchmark: Any, data: dict[str, np.ndarray], reference: Any) -> None:
    metrics = [{"kind": "roc_auc", "bins": 65536}, {"kind": "pr_auc", "bins": 65536}]
    got = benchmark(scoreboard_auc_ap, plan(metrics), data)
    assert got == pytest.approx(reference, abs=1e-3)


def test_exact_numpy(benchmark: Any, data: dict[str, np.ndarray], reference: Any) -> None:
    got = benchmark(numpy_auc_ap, data["y"], data["p"])
    assert got == pytest.approx(reference, rel=1e-9)


def test_exact_sklearn(benchmark: Any, data: dict[str, np.ndarray], reference: Any) -> None:
    def run() -> tuple[float, float]:
        return (
            float(skm.roc_auc_score(data["y"], data["p"])),
            float(skm.average_precision_score(data["y"], data["p"])),
        )

    got = benchmark.pedantic(run, rounds=3, iterations=1)
    assert got == pytest.approx(reference, rel=1e-12)


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


def test_quantile_sketch(benchmark: Any, latency: dict[str, np.ndarray]) -> None:
    compiled = quantile_plan(False)
    lat = latency["lat"]

    def run() -> tuple[float, int]:
        acc = compiled.accumulator()
        acc.update({"lat": lat})
        return acc.results()[0].value, len(acc.to_bytes())  # type: ignore[return-value]

    value, state_bytes = benchmark(run)
    assert value == pytest.approx(np.percentile(lat, 99), rel=0.01)
    assert state_bytes < 64_000  # flat: independent of ROWS


def test_quantile_numpy(benchmark: Any, latency: dict[str, np.ndarray]) -> None:
    lat = latency["lat"]
    got = benchmark(np.percentile, lat, 99)
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

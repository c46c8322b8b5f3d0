"""Shared pieces of the benchmark suites: sizes, deterministic data, plans, reference formulas and
the timing helper. Imported by ``conftest.py`` and the ``bench_*.py`` modules (pytest puts this
folder on ``sys.path``)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn import metrics as skm

import scoreboard as sb
from scoreboard.spec import spec_from_mapping

T = TypeVar("T")
Values = dict[str, float]


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").replace("_", "")
    return int(raw) if raw else default


ROWS = _env_int("SCOREBOARD_BENCH_ROWS", 20_000_000)
"""Rows of every in-memory and end-to-end data set (``SCOREBOARD_BENCH_ROWS``)."""
ROUNDS = _env_int("SCOREBOARD_BENCH_ROUNDS", 5)
"""Timed rounds of the fast implementations (scoreboard, numpy, pyarrow), after one warm-up."""
SLOW_ROUNDS = _env_int("SCOREBOARD_BENCH_SLOW_ROUNDS", 1)
"""Timed rounds of scikit-learn (seconds per round at 20M rows), without warm-up."""
ROW_GROUP = 1_000_000
"""Rows per Parquet row group in every file the benchmarks write."""
SEED = 20_240_601
K = 10
"""Classes of the multiclass suite."""
THRESHOLD = 0.5
TOLERANCE = 1e-12
"""Anchors must agree with scoreboard to this (absolute and relative) tolerance."""

BINARY_METRICS = ["accuracy", "precision", "recall", "f1", "mcc"]
MULTICLASS_METRICS: list[Any] = [
    "accuracy",
    {"kind": "f1", "average": "macro", "name": "f1_macro"},
    "mcc",
]
REGRESSION_METRICS = ["mse", "rmse", "mae", "r2"]


# --------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class BinaryData:
    y: np.ndarray  # int8 labels in {0, 1}
    score: np.ndarray  # float64 probability of the positive class
    pred: np.ndarray  # bool hard labels: score >= THRESHOLD

    @property
    def rows(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class PairData:
    """Ground truth and prediction of one size and dtype (multiclass labels, regression values)."""

    y: np.ndarray
    pred: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.y)


def binary_arrays(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 labels (30% positive) and float64 scores: a noisy sigmoid of the label."""
    y = (rng.random(rows) < 0.3).astype(np.int8)
    logit = rng.standard_normal(rows)
    logit += np.where(y == 1, 1.5, -1.5)
    score = 1.0 / (1.0 + np.exp(-logit))
    return y, score


def binary_data(rows: int, seed: int = SEED) -> BinaryData:
    y, score = binary_arrays(np.random.default_rng(seed), rows)
    return BinaryData(y, score, score >= THRESHOLD)


def multiclass_data(rows: int, seed: int = SEED + 1) -> PairData:
    """int64 labels 0..K-1; the prediction is right 70% of the time, else uniform."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, rows, dtype=np.int64)
    pred = np.where(rng.random(rows) < 0.7, y, rng.integers(0, K, rows, dtype=np.int64))
    return PairData(y, pred)


def regression_data(rows: int, seed: int = SEED + 2) -> PairData:
    """float64 targets around 30 and predictions with Gaussian error."""
    rng = np.random.default_rng(seed)
    y = rng.normal(30.0, 10.0, rows)
    pred = y + rng.normal(0.5, 3.0, rows)
    return PairData(y, pred)


BINARY_SCHEMA = pa.schema([("label", pa.int8()), ("score", pa.float64())])


def write_binary_parquet(path: Path, y: np.ndarray, score: np.ndarray) -> Path:
    """Writes in-memory binary data as one Parquet file with ROW_GROUP-row groups."""
    table = pa.table({"label": y, "score": score}, schema=BINARY_SCHEMA)
    pq.write_table(table, path, row_group_size=ROW_GROUP)
    return path


def write_binary_parquet_streaming(path: Path, rows: int, seed: int = SEED + 3) -> Path:
    """Writes ``rows`` rows of binary data one row group at a time (memory: one row group)."""
    with pq.ParquetWriter(path, BINARY_SCHEMA) as writer:
        for index, start in enumerate(range(0, rows, ROW_GROUP)):
            rng = np.random.default_rng([seed, index])
            y, score = binary_arrays(rng, min(ROW_GROUP, rows - start))
            writer.write_table(pa.table({"label": y, "score": score}, schema=BINARY_SCHEMA))
    return path


# --------------------------------------------------------------------------------------------
# Plans and results


def make_plan(task: str, metrics: list[Any], columns: Mapping[str, str], **fields: Any) -> sb.Plan:
    doc = {
        "version": 1,
        "model": f"bench-{task}",
        "task": task,
        "columns": dict(columns),
        "metrics": metrics,
        **fields,
    }
    if task == "binary":
        doc["threshold"] = THRESHOLD
    return sb.compile(spec_from_mapping(doc))


def spec_yaml(task: str, metrics: list[str], columns: Mapping[str, str]) -> str:
    """The YAML text of a flat spec (for the CLI); metrics must be bare kinds."""
    lines = [
        "version: 1",
        f"model: bench-{task}",
        f"task: {task}",
        "columns:",
        *(f"  {role}: {column}" for role, column in columns.items()),
        f"metrics: [{', '.join(metrics)}]",
    ]
    return "\n".join(lines) + "\n"


def values(results: sb.Results) -> Values:
    """The overall value of every metric, by name (undefined values are NaN)."""
    return {r.metric: math.nan if r.value is None else r.value for r in results}


def assert_agree(got: Values, expected: Values, *, tolerance: float = TOLERANCE) -> None:
    """Every metric of ``expected`` is in ``got`` within ``tolerance`` (absolute or relative)."""
    assert got.keys() == expected.keys(), f"metrics differ: {sorted(got)} vs {sorted(expected)}"
    bad = {
        name: (got[name], value)
        for name, value in expected.items()
        if not math.isclose(got[name], value, rel_tol=tolerance, abs_tol=tolerance)
    }
    assert not bad, f"values differ beyond {tolerance}: {bad}"


# --------------------------------------------------------------------------------------------
# The best numpy formulas (from counts), shared by the in-memory and end-to-end suites


def binary_counts(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of 0/1 labels and boolean predictions, in three counting passes."""
    positive = y == 1
    tp = int(np.count_nonzero(positive & pred))
    actual = int(np.count_nonzero(positive))
    predicted = int(np.count_nonzero(pred))
    fp = predicted - tp
    fn = actual - tp
    return tp, fp, fn, len(y) - tp - fp - fn


def binary_formulas(tp: int, fp: int, fn: int, tn: int) -> Values:
    n = tp + fp + fn + tn
    denominator = math.sqrt(float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
    return {
        "accuracy": (tp + tn) / n,
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
        "mcc": (tp * tn - fp * fn) / denominator,
    }


def numpy_binary(y: np.ndarray, pred: np.ndarray) -> Values:
    return binary_formulas(*binary_counts(y, pred))


def numpy_multiclass(y: np.ndarray, pred: np.ndarray) -> Values:
    """One bincount of y*K+pred gives the confusion matrix; the rest is K-sized."""
    matrix = np.bincount(y * K + pred, minlength=K * K).reshape(K, K).astype(np.float64)
    n = float(len(y))
    correct = float(np.trace(matrix))
    actual = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    present = (actual + predicted) > 0
    f1 = 2 * np.diag(matrix)[present] / (actual + predicted)[present]
    covariance = correct * n - float(actual @ predicted)
    spread = (n * n - float(actual @ actual)) * (n * n - float(predicted @ predicted))
    return {
        "accuracy": correct / n,
        "f1_macro": float(f1.mean()),
        "mcc": covariance / math.sqrt(spread),
    }


def numpy_regression(y: np.ndarray, pred: np.ndarray) -> Values:
    error = pred - y
    sse = float((error * error).sum())
    mae = float(np.abs(error).mean())
    deviation = y - y.mean()
    mse = sse / len(y)
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": mae,
        "r2": 1.0 - sse / float((deviation * deviation).sum()),
    }


# --------------------------------------------------------------------------------------------
# scikit-learn, one function per metric, as a user would call it


def sklearn_binary(y: np.ndarray, pred: np.ndarray) -> Values:
    return {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": float(skm.precision_score(y, pred)),
        "recall": float(skm.recall_score(y, pred)),
        "f1": float(skm.f1_score(y, pred)),
        "mcc": float(skm.matthews_corrcoef(y, pred)),
    }


def sklearn_multiclass(y: np.ndarray, pred: np.ndarray) -> Values:
    return {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "f1_macro": float(skm.f1_score(y, pred, average="macro")),
        "mcc": float(skm.matthews_corrcoef(y, pred)),
    }


def sklearn_regression(y: np.ndarray, pred: np.ndarray) -> Values:
    return {
        "mse": float(skm.mean_squared_error(y, pred)),
        "rmse": float(skm.root_mean_squared_error(y, pred)),
        "mae": float(skm.mean_absolute_error(y, pred)),
        "r2": float(skm.r2_score(y, pred)),
    }


# --------------------------------------------------------------------------------------------
# Timing


def run(
    benchmark: Any,
    fn: Callable[[], T],
    *,
    group: str,
    impl: str,
    rows: int,
    slow: bool = False,
    rounds: int | None = None,
) -> T:
    """Times ``fn`` (one call per round) and returns its result.

    ROUNDS rounds after one warm-up; ``slow`` implementations (scikit-learn) get SLOW_ROUNDS
    rounds and no warm-up, as does an explicit number of ``rounds``. The group, implementation,
    rows and rows/s (from the median) go into the JSON report's ``extra_info``.
    """
    benchmark.group = group
    benchmark.extra_info.update(impl=impl, rows=rows)
    if rounds is not None:
        warmup = 0
    else:
        rounds, warmup = (SLOW_ROUNDS, 0) if slow else (ROUNDS, 1)
    result: T = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=warmup)
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.median > 0:
        benchmark.extra_info["rows_per_s"] = rows / stats.stats.median
    return result


def human_rows(rows: int) -> str:
    """1000000 -> '1M', 20000000 -> '20M', 1500 -> '1500'."""
    for scale, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if rows >= scale and rows % scale == 0:
            return f"{rows // scale}{suffix}"
    return str(rows)


def class_score_data(rows: int, k: int, seed: int = 2) -> dict[str, np.ndarray]:
    """int64 labels and an (n, k) float64 matrix of distinct probabilities that lean towards the
    true class (rows sum to 1, as scikit-learn requires of multiclass scores)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, rows)
    p = rng.random((rows, k))
    p[np.arange(rows), y] += 0.5
    p /= p.sum(axis=1, keepdims=True)
    return {"y": y, "p": p}

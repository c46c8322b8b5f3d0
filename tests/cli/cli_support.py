"""Helpers for the CLI tests: specs, small data files, scikit-learn references, processes.

Plain functions (importable by the test modules); ``conftest.py`` wraps the stateful ones in
fixtures. Every data file is a few hundred rows, so the whole suite stays fast.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sklearn import metrics as skm

import scoreboard as sb

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCOREBOARD = Path(sys.executable).parent / "scoreboard"

ANSI = re.compile(r"\x1b\[")
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S")
REL = 1e-12


@dataclass(frozen=True)
class Outcome:
    """What one CLI invocation did."""

    code: int
    out: str
    err: str

    def __str__(self) -> str:  # shown by pytest when an assertion on it fails
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


Invoke = Callable[..., Outcome]


# --------------------------------------------------------------------------------------------
# Specs (written to tmp_path; the examples/ specs are validated separately)

BINARY_SPEC = """\
version: 1
model: fraud-detector
task: binary
columns:
  y_true: is_fraud
  y_score: fraud_score
positive_label: 1
threshold: 0.3
metrics:
  - accuracy
  - precision
  - recall
  - f1
  - {kind: fbeta, beta: 2, name: f2}
  - jaccard
  - specificity
  - npv
  - fpr
  - fnr
  - balanced_accuracy
  - mcc
  - cohen_kappa
  - prevalence
  - predicted_positive_rate
  - count
"""

MULTICLASS_SPEC = """\
version: 1
model: species-classifier
task: multiclass
columns:
  y_true: species
  y_pred: predicted_species
metrics:
  - accuracy
  - balanced_accuracy
  - {kind: f1, average: macro, name: f1_macro}
  - {kind: f1, average: weighted, name: f1_weighted}
  - {kind: precision, average: micro, name: precision_micro}
  - {kind: recall, average: none, name: recall_per_class}
  - {kind: fbeta, beta: 0.5, average: macro, name: f05_macro}
  - {kind: jaccard, average: weighted, name: jaccard_weighted}
  - mcc
  - cohen_kappa
  - count
"""

REGRESSION_SPEC = """\
version: 1
model: delivery-eta
task: regression
columns:
  y_true: minutes
  y_pred: predicted_minutes
metrics: [mse, rmse, mae, mape, r2, explained_variance, max_error, mean_error, count]
"""

MAX_CLASSES_SPEC = """\
version: 1
model: species-classifier
task: multiclass
columns: {y_true: species, y_pred: predicted_species}
max_classes: 5
metrics: [accuracy]
"""

# A metric that does not fit the task: `mse` (line 7, its kind at col 23) and `r2` (8:5).
MISFIT_SPEC = """\
version: 1
model: m
task: binary
columns: {y_true: is_fraud, y_score: fraud_score}
metrics:
  - accuracy
  - {name: err, kind: mse}
  - r2
"""

# Two schema problems: a string threshold (5:12) and an unknown metric kind (6:15).
BROKEN_SPEC = """\
version: 1
model: m
task: binary
columns: {y_true: is_fraud, y_score: fraud_score}
threshold: high
metrics: [f1, nope]
"""

# Daily windows over an integer epoch column (milliseconds).
DAILY_EPOCH_SPEC = """\
version: 1
model: fraud-detector
task: binary
threshold: 0.3
columns: {y_true: is_fraud, y_score: fraud_score, timestamp: event_ms}
timestamp_unit: ms
windows: [{name: daily, tumbling: 1d}]
metrics: [accuracy]
"""

# A multiclass spec with sample weights.
WEIGHTED_MULTICLASS_SPEC = """\
version: 1
model: species-classifier
task: multiclass
columns: {y_true: species, y_pred: predicted_species, weight: w}
metrics: [accuracy, {kind: f1, average: macro}]
"""

# One-vs-one roc_auc with sample weights, refused as scikit-learn refuses it: the problem points
# at `multi_class`'s value (line 7, col 64).
WEIGHTED_OVO_SPEC = """\
version: 1
model: m
task: multiclass
columns: {y_true: is_fraud, y_score: [s0, s1], weight: w}
labels: [0, 1]
metrics:
  - {kind: roc_auc, name: ovo, average: weighted, multi_class: ovo}
"""

SPECS: dict[str, str] = {
    "binary": BINARY_SPEC,
    "multiclass": MULTICLASS_SPEC,
    "regression": REGRESSION_SPEC,
    "max_classes": MAX_CLASSES_SPEC,
    "misfit": MISFIT_SPEC,
    "broken": BROKEN_SPEC,
    "daily_epoch": DAILY_EPOCH_SPEC,
    "weighted_multiclass": WEIGHTED_MULTICLASS_SPEC,
    "weighted_ovo": WEIGHTED_OVO_SPEC,
}

# --------------------------------------------------------------------------------------------
# Data

SPECIES = np.array(["cat", "dog", "fox", "owl"])


def binary_table(rows: int = 400, seed: int = 0) -> pa.Table:
    """Labels 0/1 and a score that is informative but imperfect around the 0.3 threshold."""
    rng = np.random.default_rng(seed)
    label = (rng.random(rows) < 0.35).astype(np.int64)
    score = np.clip(0.25 * label + rng.random(rows) * 0.75, 0.0, 1.0)
    return pa.table({"is_fraud": label, "fraud_score": score})


def multiclass_table(rows: int = 400, seed: int = 1, classes: int = 4) -> pa.Table:
    """String labels; the prediction is right about 70 % of the time."""
    rng = np.random.default_rng(seed)
    names = SPECIES if classes <= len(SPECIES) else np.array([f"c{i}" for i in range(classes)])
    names = names[:classes]
    truth = rng.integers(0, classes, rows)
    wrong = rng.random(rows) < 0.3
    predicted = np.where(wrong, rng.integers(0, classes, rows), truth)
    return pa.table({"species": names[truth], "predicted_species": names[predicted]})


def regression_table(rows: int = 400, seed: int = 2) -> pa.Table:
    rng = np.random.default_rng(seed)
    minutes = 45.0 + rng.normal(0.0, 12.0, rows)
    predicted = minutes + rng.normal(0.5, 4.0, rows)
    return pa.table({"minutes": minutes, "predicted_minutes": predicted})


TABLES: dict[str, Callable[[], pa.Table]] = {
    "binary": binary_table,
    "multiclass": multiclass_table,
    "regression": regression_table,
}


def write_parquet(path: Path, data: pa.Table | Mapping[str, Any], **options: Any) -> Path:
    table = data if isinstance(data, pa.Table) else pa.table(dict(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **options)
    return path


def write_csv(path: Path, table: pa.Table) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pa_csv.write_csv(table, path)
    return path


def write_text(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def split_parquet(table: pa.Table, folder: Path, parts: int, stem: str = "part") -> list[Path]:
    """``table`` as ``parts`` parquet files ``folder/stem-000.parquet``... in row order."""
    step = -(-table.num_rows // parts)
    return [
        write_parquet(folder / f"{stem}-{i:03d}.parquet", table.slice(i * step, step))
        for i in range(parts)
    ]


def with_value(table: pa.Table, column: str, row: int, value: Any) -> pa.Table:
    """A copy of ``table`` whose ``column`` holds ``value`` at ``row`` (None gives a null)."""
    values = table[column].to_pylist()
    values[row] = value
    index = table.schema.get_field_index(column)
    return table.set_column(index, column, pa.array(values, table.schema.field(column).type))


# --------------------------------------------------------------------------------------------
# scikit-learn references, derived from the compiled plan (so they follow the spec's metrics)

Key = tuple[str, str | None]  # (metric name, class of a per-class result)


def sklearn_reference(plan: sb.Plan, table: pa.Table) -> dict[Key, float]:
    """What scikit-learn (or the confusion matrix, where it has no function) gives for every
    metric of ``plan`` over ``table``."""
    acc = plan.accumulators[0]
    y = np.asarray(table[acc["y_true"]].to_numpy(zero_copy_only=False))
    p = np.asarray(table[acc["y_pred"]].to_numpy(zero_copy_only=False))
    out: dict[Key, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's overflow / undefined-metric notes
        for metric in plan.metrics:
            name = metric["name"]
            if acc["kind"] == "binary_confusion":
                out[(name, None)] = _binary(metric, acc, y, p)
            elif acc["kind"] == "multiclass_confusion":
                out.update(_multiclass(metric, y, p))
            else:
                out[(name, None)] = _regression(metric["kind"], y, p)
    return out


def _binary(metric: Mapping[str, Any], acc: Mapping[str, Any], y: Any, p: Any) -> float:
    pos, neg = acc["positive"], acc["negative"]
    pred = np.where(p >= acc["threshold"], pos, neg) if acc["threshold"] is not None else p
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[neg, pos]).ravel()
    kind = metric["kind"]
    simple: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(y, pred),
        "precision": lambda: skm.precision_score(y, pred, pos_label=pos),
        "recall": lambda: skm.recall_score(y, pred, pos_label=pos),
        "f1": lambda: skm.f1_score(y, pred, pos_label=pos),
        "fbeta": lambda: skm.fbeta_score(y, pred, beta=metric["beta"], pos_label=pos),
        "jaccard": lambda: skm.jaccard_score(y, pred, pos_label=pos),
        "specificity": lambda: skm.recall_score(y, pred, pos_label=neg),
        "npv": lambda: skm.precision_score(y, pred, pos_label=neg),
        "fpr": lambda: fp / (fp + tn),
        "fnr": lambda: fn / (fn + tp),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred),
        "mcc": lambda: skm.matthews_corrcoef(y, pred),
        "cohen_kappa": lambda: skm.cohen_kappa_score(y, pred),
        "prevalence": lambda: float(np.mean(y == pos)),
        "predicted_positive_rate": lambda: float(np.mean(pred == pos)),
        "count": lambda: float(len(y)),
    }
    return float(simple[kind]())


def _multiclass(metric: Mapping[str, Any], y: Any, p: Any) -> dict[Key, float]:
    name, kind, average = metric["name"], metric["kind"], metric.get("average")
    labels = sorted(set(y.tolist()) | set(p.tolist()))
    averaged: dict[str, Callable[..., Any]] = {
        "precision": skm.precision_score,
        "recall": skm.recall_score,
        "f1": skm.f1_score,
        "jaccard": skm.jaccard_score,
        "fbeta": lambda *a, **k: skm.fbeta_score(*a, beta=metric["beta"], **k),
    }
    if kind in averaged:
        sk_average = None if average == "none" else average
        value = averaged[kind](y, p, labels=labels, average=sk_average, zero_division=0)
        if sk_average is None:
            return {(name, str(c)): float(v) for c, v in zip(labels, value, strict=True)}
        return {(name, None): float(value)}
    simple: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(y, p),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, p),
        "mcc": lambda: skm.matthews_corrcoef(y, p),
        "cohen_kappa": lambda: skm.cohen_kappa_score(y, p),
        "count": lambda: float(len(y)),
    }
    return {(name, None): float(simple[kind]())}


def _regression(kind: str, y: Any, p: Any) -> float:
    simple: dict[str, Callable[[], float]] = {
        "mse": lambda: skm.mean_squared_error(y, p),
        "rmse": lambda: skm.root_mean_squared_error(y, p),
        "mae": lambda: skm.mean_absolute_error(y, p),
        "mape": lambda: skm.mean_absolute_percentage_error(y, p),
        "r2": lambda: skm.r2_score(y, p),
        "explained_variance": lambda: skm.explained_variance_score(y, p),
        "max_error": lambda: skm.max_error(y, p),
        "mean_error": lambda: float(np.mean(p - y)),
        "count": lambda: float(len(y)),
    }
    return float(simple[kind]())


def values_by_key(results: Sequence[Mapping[str, Any]]) -> dict[Key, float | None]:
    """``--format json`` results (overall, no window) keyed like ``sklearn_reference``."""
    out: dict[Key, float | None] = {}
    for r in results:
        assert r["window"] is None
        key = (r["metric"], r["segment"].get("class"))
        assert key not in out, f"result {key} reported twice"
        out[key] = r["value"]
    return out


# --------------------------------------------------------------------------------------------
# Processes


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child ``scoreboard``: no inherited colour, CI or store settings."""
    dropped = {"NO_COLOR", "FORCE_COLOR", "CI", "TERM", "RUST_BACKTRACE", "COLUMNS"}
    env = {
        k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("SCOREBOARD_")
    }
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


def run_console(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Runs the real console script (stdout and stderr are pipes, so not terminals)."""
    return subprocess.run(
        [str(SCOREBOARD), *map(os.fspath, args)],
        cwd=cwd,
        env=dict(env) if env is not None else child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_python(
    code: str, args: Sequence[str | os.PathLike[str]], *, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a child interpreter with ``sys.argv[1:] == args``."""
    return subprocess.run(
        [sys.executable, "-c", code, *map(os.fspath, args)],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until_open(process: subprocess.Popen[bytes], path: Path, timeout: float = 30) -> None:
    """Blocks until ``process`` holds ``path`` open (Linux /proc): it is streaming that file."""
    target = str(path.resolve())
    deadline = time.monotonic() + timeout
    fd_dir = Path(f"/proc/{process.pid}/fd")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process ended (code {process.returncode}) before reading")
        try:
            links = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
        except OSError:  # a descriptor closed while listing
            links = []
        if target in links:
            return
        time.sleep(0.01)
    process.kill()
    raise AssertionError(f"the process never opened {path}")


def interrupt(process: subprocess.Popen[bytes], sig: signal.Signals) -> tuple[str, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    return out.decode(), err.decode()


def sqlite_integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()

"""A small, realistic scenario for gate, compare, report and export tests.

A binary classifier scored over 6 days in two countries; ``degrade`` flips a share of its
predictions so that a candidate is clearly worse than its baseline. Files are small (a few
thousand rows) so that every CLI test runs in well under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from scoreboard.cli import run

ROWS = 6000
START = np.datetime64("2024-03-01T00:00:00", "ms")


def predictions(seed: int = 0, degrade: float = 0.0, rows: int = ROWS) -> pa.Table:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.3).astype(np.int8)
    score = np.clip(0.35 * y + 0.65 * rng.random(rows), 0, 1)  # a good, imperfect model
    if degrade:
        flip = rng.random(rows) < degrade
        score = np.where(flip, 1.0 - score, score)
    minutes = np.sort(rng.integers(0, 6 * 24 * 60, rows))
    return pa.table(
        {
            "label": y,
            "score": score,
            "event_time": pa.array(START + minutes.astype("timedelta64[m]"), pa.timestamp("ms")),
            "country": rng.choice(["FR", "DE"], rows),
            "latency_ms": rng.gamma(2.0, 40.0, rows),
        }
    )


def spec_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "model": "fraud",
        "task": "binary",
        "columns": {"y_true": "label", "y_score": "score", "timestamp": "event_time"},
        "segments": ["country"],
        "windows": [{"name": "daily", "tumbling": "1d"}],
        "metrics": ["accuracy", "f1", "recall", "fpr"],
        "gates": [
            {"metric": "f1", "min": 0.3},
            {"metric": "f1", "max_drop": 0.01},
            {"metric": "fpr", "max_drop": 0.05, "relative": True},
        ],
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def write_spec(path: Path, **overrides: Any) -> Path:
    path.write_text(yaml.safe_dump(spec_doc(**overrides), sort_keys=False))
    return path


def write_data(path: Path, **kwargs: Any) -> Path:
    pq.write_table(predictions(**kwargs), path)
    return path


def cli(*args: object) -> int:
    return run([str(a) for a in args])


def populated_store(tmp: Path) -> Path:
    """A store with fraud v1 (good) and v2 (degraded), windows and segments."""
    store = tmp / "store.db"
    spec = write_spec(tmp / "spec.yaml")
    good = write_data(tmp / "good.parquet", seed=1)
    bad = write_data(tmp / "bad.parquet", seed=2, degrade=0.3)
    quiet = ("--format", "json", "--output", tmp / "evaluate.json")
    assert cli("evaluate", spec, good, "--store", store, "--model-version", "v1", *quiet) == 0
    assert cli("evaluate", spec, bad, "--store", store, "--model-version", "v2", *quiet) == 0
    return store

"""Generates example prediction files made by real (scikit-learn) models.

Each data set is a model trained on a small sample and scored on many rows, so the metrics are
those of a real classifier or regressor, not of random numbers:

    python examples/generate.py --rows 3000000 --out examples/data

writes ``fraud/part-*.parquet`` (binary scores), ``species/part-*.parquet`` (multiclass, string
labels) and ``delivery/part-*.parquet`` (regression), each split into several files, and
``drift/part-*.parquet``: 20 days of scored events in 4 regions, where the model degrades in one
region (``south``) on days 8-12 and recovers (examples/drift.yaml alerts on it).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge

SPECIES = np.array(["cat", "dog", "fox", "owl"])
TRAIN_ROWS = 20_000


def fraud(rows: int, seed: int) -> pa.Table:
    x, y = make_classification(
        n_samples=rows + TRAIN_ROWS,
        n_features=12,
        n_informative=6,
        weights=[0.92],
        flip_y=0.01,
        class_sep=1.2,
        n_clusters_per_class=1,
        random_state=seed,
    )
    model = LogisticRegression(max_iter=500).fit(x[:TRAIN_ROWS], y[:TRAIN_ROWS])
    score = model.predict_proba(x[TRAIN_ROWS:])[:, 1]
    return pa.table({"is_fraud": y[TRAIN_ROWS:].astype(np.int8), "fraud_score": score})


def species(rows: int, seed: int) -> pa.Table:
    x, y = make_classification(
        n_samples=rows + TRAIN_ROWS,
        n_features=10,
        n_informative=5,
        n_classes=4,
        n_clusters_per_class=1,
        flip_y=0.05,
        random_state=seed,
    )
    model = LogisticRegression(max_iter=500).fit(x[:TRAIN_ROWS], y[:TRAIN_ROWS])
    predicted = model.predict(x[TRAIN_ROWS:])
    return pa.table({"species": SPECIES[y[TRAIN_ROWS:]], "predicted_species": SPECIES[predicted]})


def delivery(rows: int, seed: int) -> pa.Table:
    x, y = make_regression(
        n_samples=rows + TRAIN_ROWS, n_features=8, n_informative=5, noise=12.0, random_state=seed
    )
    minutes = 45.0 + y / 4.0
    model = Ridge().fit(x[:TRAIN_ROWS], minutes[:TRAIN_ROWS])
    return pa.table(
        {"minutes": minutes[TRAIN_ROWS:], "predicted_minutes": model.predict(x[TRAIN_ROWS:])}
    )


REGIONS = np.array(["north", "south", "east", "west"])
DRIFT_START = datetime(2026, 3, 1, tzinfo=UTC)
DRIFT_DAYS = 20
DEGRADED_REGION = "south"
DEGRADED_DAYS = range(8, 13)  # days 8-12 (1-based)


def drift(rows_per_day: int, seed: int) -> pa.Table:
    """Daily events per region with a model that fails in one region for five days.

    A healthy model scores positives around 0.75 and negatives around 0.25 (recall about 0.9 at
    threshold 0.5); while degraded, it scores both alike (recall about 0.5).
    """
    rng = np.random.default_rng(seed)
    n = rows_per_day * DRIFT_DAYS
    day = np.repeat(np.arange(DRIFT_DAYS), rows_per_day)
    seconds = day * 86_400 + rng.integers(0, 86_400, n)
    start_s = int(DRIFT_START.timestamp())
    region = REGIONS[rng.integers(0, len(REGIONS), n)]
    label = (rng.random(n) < 0.3).astype(np.int8)
    healthy = np.where(label == 1, rng.beta(5, 2, n), rng.beta(2, 5, n))
    degraded_days = np.isin(day + 1, list(DEGRADED_DAYS)) & (region == DEGRADED_REGION)
    score = np.where(degraded_days, rng.beta(2, 2, n), healthy)
    timestamps = pa.array((start_s + seconds) * 1_000_000, pa.timestamp("us", tz="UTC"))
    return pa.table(
        {"event_time": timestamps, "region": region, "churned": label, "churn_score": score}
    )


def write_parts(table: pa.Table, folder: Path, parts: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    step = -(-table.num_rows // parts)
    for i in range(parts):
        pq.write_table(
            table.slice(i * step, step), folder / f"part-{i:03d}.parquet", row_group_size=1 << 18
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000, help="rows of the binary set")
    parser.add_argument("--out", type=Path, default=Path("examples/data"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write_parts(fraud(args.rows, args.seed), args.out / "fraud", parts=6)
    write_parts(species(max(args.rows // 3, 1000), args.seed), args.out / "species", parts=3)
    write_parts(delivery(max(args.rows // 3, 1000), args.seed), args.out / "delivery", parts=3)
    write_parts(drift(max(args.rows // 300, 2000), args.seed), args.out / "drift", parts=4)
    print(f"wrote example predictions under {args.out}/ (fraud, species, delivery, drift)")


if __name__ == "__main__":
    main()

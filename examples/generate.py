"""Generates example prediction files made by real (scikit-learn) models.

Each data set is a model trained on a small sample and scored on many rows, so the metrics are
those of a real classifier or regressor, not of random numbers:

    python examples/generate.py --rows 3000000 --out examples/data

writes ``fraud/part-*.parquet`` (binary scores), ``species/part-*.parquet`` (multiclass, string
labels) and ``delivery/part-*.parquet`` (regression), each split into several files.
"""

from __future__ import annotations

import argparse
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
    print(f"wrote example predictions under {args.out}/ (fraud, species, delivery)")


if __name__ == "__main__":
    main()

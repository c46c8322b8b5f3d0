"""The history as a Parquet or CSV file (pyarrow), one row per point."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from scoreboard.store import StoredPoint

from .history import atomic_write_bytes

_TIME = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        ("recorded_at", _TIME),
        ("run_id", pa.string()),
        ("model", pa.string()),
        ("model_version", pa.string()),
        ("metric", pa.string()),
        ("window", pa.string()),
        ("window_index", pa.int64()),
        ("window_start", _TIME),
        ("window_end", _TIME),
        ("segment", pa.string()),
        ("value", pa.float64()),
        ("n", pa.int64()),
        ("reason", pa.string()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("error_bound", pa.float64()),
    ]
)


def history_table(points: Sequence[StoredPoint]) -> pa.Table:
    rows = {
        "recorded_at": [p.recorded_at for p in points],
        "run_id": [p.run_id for p in points],
        "model": [p.model for p in points],
        "model_version": [p.model_version for p in points],
        "metric": [p.metric for p in points],
        "window": [p.window for p in points],
        "window_index": [p.window_index for p in points],
        "window_start": [p.window_start for p in points],
        "window_end": [p.window_end for p in points],
        "segment": [json.dumps(dict(p.segment), sort_keys=True) for p in points],
        "value": [p.value for p in points],
        "n": [p.n for p in points],
        "reason": [p.reason for p in points],
        "ci_low": [p.ci_low for p in points],
        "ci_high": [p.ci_high for p in points],
        "error_bound": [p.error_bound for p in points],
    }
    return pa.table(rows, schema=SCHEMA)


def write(path: str, points: Sequence[StoredPoint], fmt: str) -> int:
    table = history_table(points)
    buffer = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, buffer)
    else:
        pacsv.write_csv(table, buffer)
    atomic_write_bytes(path, buffer.getvalue(), f"{fmt} export")
    return int(table.num_rows)

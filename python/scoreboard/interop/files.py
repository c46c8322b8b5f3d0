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
    """One row per point, one column per ``SCHEMA`` field (read off the point by name)."""
    rows = {name: [getattr(p, name) for p in points] for name in SCHEMA.names}
    rows["segment"] = [json.dumps(dict(p.segment), sort_keys=True) for p in points]
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

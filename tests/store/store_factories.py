"""Builders shared by the store tests and by the worker subprocesses (store_worker.py)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scoreboard.store import MetricPoint, RunRecord

T0 = datetime(2024, 5, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def make_run(
    model: str = "fraud-detector",
    version: str = "v1",
    *,
    data: str = "data-1",
    plan: str = "plan-1",
    rows: int = 1000,
    finished: datetime | None = None,
) -> RunRecord:
    """A run; (model, version, plan, data) decide its run id."""
    return RunRecord(
        model=model,
        model_version=version,
        spec_fingerprint="spec-1",
        plan_hash=plan,
        data_fingerprint=data,
        started_at=T0,
        finished_at=finished or T0 + timedelta(minutes=5),
        rows=rows,
    )


def make_points(
    days: int = 3,
    *,
    base: float = 0.9,
    countries: tuple[str, ...] = ("FR", "DE"),
    metrics: tuple[str, ...] = ("f1", "recall"),
) -> list[MetricPoint]:
    """Overall and daily points, overall and per country: len = metrics*(1+days)*(1+countries)."""
    points: list[MetricPoint] = []
    segments: list[dict[str, str]] = [{}] + [{"country": c} for c in countries]
    for m, metric in enumerate(metrics):
        for s, segment in enumerate(segments):
            value = base - 0.01 * m - 0.001 * s
            points.append(MetricPoint(metric, value, 1000, segment=segment))
            for d in range(days):
                start = T0 + d * DAY
                points.append(
                    MetricPoint(
                        metric,
                        value + 0.0001 * d,
                        100,
                        window="daily",
                        window_start=start,
                        window_end=start + DAY,
                        segment=segment,
                    )
                )
    return points


def table_counts(path: Path) -> dict[str, int]:
    """Row count of every table, read with a plain connection (independent of the store)."""
    conn = sqlite3.connect(path)
    try:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("runs", "points", "states", "schema_migrations")
        }
    finally:
        conn.close()


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the store's data tables, to compare a database before and after a fault."""
    conn = sqlite3.connect(path)
    try:
        return {
            "runs": conn.execute("SELECT * FROM runs ORDER BY run_id").fetchall(),
            "points": conn.execute("SELECT * FROM points ORDER BY point_id").fetchall(),
            "states": conn.execute(
                "SELECT * FROM states ORDER BY run_id, window_name, window_start, segment_hash"
            ).fetchall(),
        }
    finally:
        conn.close()


class TickingClock:
    """A clock that advances one second per reading, so recorded_at is distinct and known."""

    def __init__(self, start: datetime = T0 + 30 * DAY) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

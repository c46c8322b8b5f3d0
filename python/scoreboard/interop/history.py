"""Reading the history to export: the points, each time-window point once (late data merged)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import suppress

from scoreboard.exceptions import ScoreboardError
from scoreboard.store import MetricStore, StoredPoint, segment_json


def export_points(
    store: MetricStore,
    *,
    model: str | None = None,
    model_version: str | None = None,
    metric: str | None = None,
) -> list[StoredPoint]:
    return store.history(
        model=model, model_version=model_version, metric=metric, latest_windows=True
    )


def segment_label(segment: Mapping[str, str]) -> str:
    """``country=FR,device=ios``; ``""`` for the overall series (as the live collector,
    ``scoreboard.prometheus``, labels it)."""
    return ",".join(f"{k}={v}" for k, v in sorted(segment.items()))


def latest_per_series(points: list[StoredPoint]) -> list[StoredPoint]:
    """The latest point of each (model, version, metric, window, segment) series: the latest
    window start for windowed series, the latest recording for overall ones."""
    latest: dict[tuple[str, str, str, str, str], StoredPoint] = {}
    for p in points:
        key = (p.model, p.model_version, p.metric, p.window or "", segment_json(p.segment))
        old = latest.get(key)
        if old is None or _order(p) >= _order(old):
            latest[key] = p
    return list(latest.values())


def _order(p: StoredPoint) -> tuple[str, str]:
    start = p.window_start.isoformat() if p.window_start else ""
    return (start, p.recorded_at.isoformat())


def atomic_write_bytes(path: str, data: bytes, what: str) -> None:
    """Writes ``data`` to a temp file beside ``path`` and renames it over ``path``."""
    target = os.path.abspath(path)
    tmp = f"{target}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(tmp)
        raise ScoreboardError(f"cannot write the {what} to {path}: {exc.strerror}") from None

"""Prometheus: the latest value of every series, as a node_exporter textfile or a Pushgateway push.

Gauges ``scoreboard_metric_value``, ``scoreboard_metric_samples`` and
``scoreboard_metric_timestamp_seconds`` (the window end, or the recording time of an overall
value), labelled ``model``, ``model_version``, ``metric``, ``window`` (``all`` for the value over
all rows) and ``segment`` (``""`` overall, or ``country=FR``), as the live collector of a service
labels them. An undefined value is NaN. The textfile is
written by ``prometheus_client.write_to_textfile`` (a temp file renamed: atomic).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from urllib.error import URLError

from prometheus_client import CollectorRegistry, push_to_gateway, write_to_textfile
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from scoreboard.exceptions import ScoreboardError
from scoreboard.store import StoredPoint

from .history import latest_per_series, segment_label

LABELS = ["model", "model_version", "metric", "window", "segment"]
PUSH_JOB = "scoreboard"


class PointsCollector(Collector):
    def __init__(self, points: Sequence[StoredPoint]) -> None:
        self.points = latest_per_series(list(points))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        value = GaugeMetricFamily(
            "scoreboard_metric_value", "Latest value of a scoreboard metric series.", labels=LABELS
        )
        samples = GaugeMetricFamily(
            "scoreboard_metric_samples", "Rows behind the latest value.", labels=LABELS
        )
        stamp = GaugeMetricFamily(
            "scoreboard_metric_timestamp_seconds",
            "End of the latest window (or recording time of an overall value), Unix seconds.",
            labels=LABELS,
        )
        for p in self.points:
            labels = [
                p.model,
                p.model_version,
                p.metric,
                p.window or "all",
                segment_label(p.segment),
            ]
            value.add_metric(labels, math.nan if p.value is None else p.value)
            samples.add_metric(labels, p.n)
            stamp.add_metric(labels, (p.window_end or p.recorded_at).timestamp())
        yield value
        yield samples
        yield stamp


def registry_for(points: Sequence[StoredPoint]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PointsCollector(points))
    return registry


def write_textfile(path: str, points: Sequence[StoredPoint]) -> int:
    registry = registry_for(points)
    try:
        write_to_textfile(path, registry)
    except OSError as exc:
        raise ScoreboardError(
            f"cannot write the Prometheus textfile {path}: {exc.strerror or exc}"
        ) from None
    return len(latest_per_series(list(points)))


def push(
    url: str, points: Sequence[StoredPoint], *, job: str = PUSH_JOB, timeout: float = 10
) -> int:
    """One PUT per model to the Pushgateway, grouped by ``{job, model}``: a PUT replaces its
    group, so exporting one model never deletes another model's series."""
    by_model: dict[str, list[StoredPoint]] = {}
    for p in points:
        by_model.setdefault(p.model, []).append(p)
    series = 0
    for model, model_points in sorted(by_model.items()):
        try:
            push_to_gateway(
                url,
                job=job,
                registry=registry_for(model_points),
                grouping_key={"model": model},
                timeout=timeout,
            )
        except (URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ScoreboardError(f"cannot push to the Pushgateway at {url}: {reason}") from None
        series += len(latest_per_series(model_points))
    return series

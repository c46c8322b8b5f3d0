"""Prometheus export of a live accumulator: a ``prometheus_client`` custom collector.

A service feeds an :class:`~scoreboard.engine.Accumulator` and registers
:class:`ScoreboardCollector`; every scrape reads the accumulator's results at that moment, so
nothing is copied into ``prometheus_client`` metric objects between scrapes and the exported
values are exactly what ``acc.results()`` says.

Exported families (every one labelled with ``model``):

- ``scoreboard_metric_value{model, metric, window, segment}``: the value over all rows
  (``window="all"``) and over the *current* (most recent) instance of each declared window.
  ``segment`` is ``""`` overall, else ``k=v`` pairs sorted by key and joined with ``,`` (a
  per-class result carries ``class=...``). An undefined value is NaN, never 0.
- ``scoreboard_metric_samples{...}``: the rows behind each value (the same series).
- ``scoreboard_rows_total``, ``scoreboard_late_rows_total``, ``scoreboard_dropped_rows_total``:
  rows folded in, rows dropped as too late, rows dropped for a null timestamp.
- ``scoreboard_watermark_seconds``: the latest event time seen (only with an allowed lateness).
- ``scoreboard_window_start_seconds{model, window}``: the start of each current instance, so a
  dashboard can tell which minute or day a window's values belong to.
- ``scoreboard_series_dropped``: series left out by the cardinality cap in this scrape.

Cardinality is bounded: at most ``max_series`` series per family. Segments are admitted in order
of first appearance in the data (the accumulator's stable segment codes), a whole segment at a
time, so the exported set is a stable prefix instead of series that come and go between scrapes.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

try:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "scoreboard.prometheus needs prometheus_client: pip install 'scoreboard[service]'"
    ) from exc

if TYPE_CHECKING:
    from scoreboard.engine import Accumulator
    from scoreboard.results import MetricResult

ALL_WINDOW = "all"
"""The ``window`` label of values over all rows (a declared window named "all" would share it)."""
VALUE_LABELS = ["model", "metric", "window", "segment"]


@dataclass(frozen=True)
class Series:
    """One exported (metric, window, segment) series: its value (NaN if undefined) and rows."""

    metric: str
    window: str
    segment: str
    value: float
    n: int


@dataclass(frozen=True)
class Selection:
    """The series a scrape exports, the current instance start of each window (epoch seconds,
    None for rows windows) and how many series the cap left out."""

    series: list[Series]
    window_starts: dict[str, float | None]
    dropped: int


def segment_label(segment: Mapping[str, str]) -> str:
    """``{"region": "eu", "class": "a"}`` -> ``"class=a,region=eu"``: sorted by key so the label
    never depends on dict order; ``\\``, ``,`` and ``=`` are backslash-escaped so the text reads
    back unambiguously."""
    return ",".join(f"{_escape(k)}={_escape(segment[k])}" for k in sorted(segment))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def select_series(results: Iterable[MetricResult], max_series: int) -> Selection:
    """The overall results and those of each window's most recent instance, capped at
    ``max_series`` series.

    Groups of series (one window label and one segment) are admitted whole, segment by segment
    in order of first appearance (overall first), each segment over "all" then over each window;
    admission stops at the first group that does not fit, so a scrape never shows half a
    segment and the kept segments are always the same prefix."""
    items = list(results)
    current: dict[str, int] = {}
    starts: dict[str, float | None] = {}
    for r in items:
        if r.window is None or r.window_index is None:
            continue
        if r.window_index >= current.get(r.window, r.window_index):
            current[r.window] = r.window_index
            starts[r.window] = None if r.window_start is None else r.window_start.timestamp()
    groups: dict[tuple[str, str], list[Series]] = {}
    segments: dict[str, None] = {}
    windows: dict[str, None] = {ALL_WINDOW: None}
    for r in items:
        if r.window is None:
            window = ALL_WINDOW
        elif r.window_index is not None and r.window_index == current.get(r.window):
            window = r.window
        else:
            continue
        segment = segment_label(r.segment)
        segments.setdefault(segment, None)
        windows.setdefault(window, None)
        value = math.nan if r.value is None else float(r.value)
        groups.setdefault((window, segment), []).append(
            Series(r.metric, window, segment, value, r.n)
        )
    kept: list[Series] = []
    total = sum(len(g) for g in groups.values())
    full = False
    for segment in segments:
        for window in windows:
            group = groups.get((window, segment), [])
            if full or len(kept) + len(group) > max_series:
                full = True
                continue
            kept.extend(group)
    return Selection(kept, starts, total - len(kept))


class ScoreboardCollector(Collector):
    """Exports a live accumulator's metrics at each scrape.

    ``lock`` is the lock the service holds around ``acc.update``: holding it while reading gives
    a snapshot in which the values, the row counters and the watermark agree. ``plan_name`` is
    the ``model`` label (default: the plan's model). ``max_series`` caps each family.
    """

    def __init__(
        self,
        accumulator: Accumulator,
        *,
        plan_name: str | None = None,
        max_series: int = 500,
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        if max_series < 1:
            raise ValueError("max_series must be at least 1")
        self.accumulator = accumulator
        self.model = plan_name if plan_name is not None else accumulator.plan.model
        self.max_series = max_series
        self._lock: AbstractContextManager[object] = (
            lock if lock is not None else contextlib.nullcontext()
        )

    def describe(self) -> Iterator[Metric]:
        """The families without samples: lets a registry check names without computing
        results."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        acc = self.accumulator
        with self._lock:
            results = acc.results()
            rows, late, dropped_rows = acc.rows, acc.late_rows, acc.dropped_rows
            watermark_ns = acc.watermark_ns
        selection = select_series(results, self.max_series)
        (
            value,
            samples,
            rows_total,
            late_total,
            dropped_total,
            watermark,
            window_start,
            series_dropped,
        ) = self._families()
        for s in selection.series:
            labels = [self.model, s.metric, s.window, s.segment]
            value.add_metric(labels, s.value)
            samples.add_metric(labels, float(s.n))
        rows_total.add_metric([self.model], float(rows))
        late_total.add_metric([self.model], float(late))
        dropped_total.add_metric([self.model], float(dropped_rows))
        if watermark_ns is not None:
            watermark.add_metric([self.model], watermark_ns / 1e9)
        for name, start in selection.window_starts.items():
            if start is not None:
                window_start.add_metric([self.model, name], start)
        series_dropped.add_metric([self.model], float(selection.dropped))
        yield value
        yield samples
        yield rows_total
        yield late_total
        yield dropped_total
        yield watermark
        yield window_start
        yield series_dropped

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily,
        GaugeMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
    ]:
        model = ["model"]
        return (
            GaugeMetricFamily(
                "scoreboard_metric_value",
                "Metric value over all rows (window=all) or the current window instance; "
                "NaN when undefined.",
                labels=VALUE_LABELS,
            ),
            GaugeMetricFamily(
                "scoreboard_metric_samples",
                "Rows behind each scoreboard_metric_value series.",
                labels=VALUE_LABELS,
            ),
            CounterMetricFamily(
                "scoreboard_rows", "Rows folded into the accumulator.", labels=model
            ),
            CounterMetricFamily(
                "scoreboard_late_rows",
                "Rows dropped as older than the watermark minus the allowed lateness.",
                labels=model,
            ),
            CounterMetricFamily(
                "scoreboard_dropped_rows",
                "Rows dropped for a null timestamp (null_timestamps: drop).",
                labels=model,
            ),
            GaugeMetricFamily(
                "scoreboard_watermark_seconds",
                "Latest event time seen (Unix seconds); absent without an allowed lateness.",
                labels=model,
            ),
            GaugeMetricFamily(
                "scoreboard_window_start_seconds",
                "Start of the current instance of each time window (Unix seconds).",
                labels=["model", "window"],
            ),
            GaugeMetricFamily(
                "scoreboard_series_dropped",
                "Series per family left out of this scrape by the max_series cap.",
                labels=model,
            ),
        )

"""Evaluation results: one record per (metric, window instance, segment), in the JSON contract."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload


@dataclass(frozen=True)
class MetricResult:
    """One metric value. ``value`` is ``None`` when undefined, and ``reason`` then says why
    (``insufficient_data``, ``zero_division``, ``single_class``, ``unattainable``); ``reason`` is
    also set when scikit-learn's ``zero_division`` replaced an undefined value. ``error_bound`` is
    set on approximate values (binned ``roc_auc``/``pr_auc``): the exact value lies within
    ``value ± error_bound``."""

    metric: str
    value: float | None
    n: int
    reason: str | None = None
    window: str | None = None
    window_index: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    segment: Mapping[str, str] = field(default_factory=dict)
    ci_low: float | None = None
    ci_high: float | None = None
    # Approximate values (binned roc_auc / pr_auc): the exact value lies in value ± error_bound.
    error_bound: float | None = None

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat().replace("+00:00", "Z")

        return {
            "metric": self.metric,
            "window": self.window,
            "window_index": self.window_index,
            "window_start": iso(self.window_start),
            "window_end": iso(self.window_end),
            "segment": dict(self.segment),
            "value": self.value,
            "n": self.n,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "reason": self.reason,
            "error_bound": self.error_bound,
        }


def from_core(
    raw: Sequence[Mapping[str, Any]],
    *,
    window: str | None = None,
    window_index: int | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    segment: Mapping[str, str] | None = None,
) -> list[MetricResult]:
    """Converts the core's ``{name, class, value, n, reason, error_bound, ci_low, ci_high}``
    dicts of one reported group."""
    out = []
    for r in raw:
        value: float | None = r["value"]
        reason: str | None = r["reason"]
        if value is not None and not math.isfinite(value):
            # JSON has no inf; scikit-learn would say inf here (an overflowing sum).
            reason = reason or ("overflow" if math.isinf(value) else "undefined")
            value = None
        group = dict(segment or {})
        if r["class"] is not None:
            group["class"] = str(r["class"])
        out.append(
            MetricResult(
                r["name"],
                value,
                int(r["n"]),
                reason,
                window=window,
                window_index=window_index,
                window_start=window_start,
                window_end=window_end,
                segment=group,
                ci_low=r.get("ci_low"),
                ci_high=r.get("ci_high"),
                error_bound=r.get("error_bound"),
            )
        )
    return out


class Results(Sequence[MetricResult]):
    """The results of one evaluation (or of an accumulator at one moment)."""

    def __init__(
        self,
        items: Sequence[MetricResult],
        *,
        model: str,
        rows: int,
        plan_hash: str,
        data_fingerprint: str | None = None,
        dropped_rows: int = 0,
    ) -> None:
        self._items = list(items)
        self.dropped_rows = dropped_rows
        self.model = model
        self.rows = rows
        self.plan_hash = plan_hash
        self.data_fingerprint = data_fingerprint

    @overload
    def __getitem__(self, index: int) -> MetricResult: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[MetricResult]: ...
    def __getitem__(self, index: int | slice) -> MetricResult | Sequence[MetricResult]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[MetricResult]:
        return iter(self._items)

    def __repr__(self) -> str:
        shown = ", ".join(f"{r.metric}={r.value}" for r in self._items[:6])
        more = ", ..." if len(self._items) > 6 else ""
        return f"<Results {self.model} rows={self.rows}: {shown}{more}>"

    def get(self, metric: str, segment: Mapping[str, str] | None = None) -> MetricResult:
        """The overall result (all rows, no window) of ``metric`` for ``segment``."""
        wanted = dict(segment or {})
        for r in self._items:
            if r.metric == metric and r.window is None and dict(r.segment) == wanted:
                return r
        raise KeyError(f"no result for metric {metric!r} segment {wanted}")

    def value(self, metric: str, segment: Mapping[str, str] | None = None) -> float | None:
        return self.get(metric, segment).value

    def to_list(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self._items]

    def to_json(self) -> str:
        return json.dumps(self.to_list())

"""Two stored model versions side by side: every overall metric, overall and per segment.

Direction (better / worse) follows the catalogue's ``higher_is_better`` of the metric's kind. The
store keeps metric names, not kinds: a name is looked up as a kind (``f1``, ``mae``...) unless the
spec that named it is given, and a name that is neither gets an unknown direction. A p-value is
given where the two-proportion z-test applies (metrics that are a proportion of the rows in n).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from scoreboard.gate import PROPORTION_OF_ROWS, load_baseline, two_proportion_p_value
from scoreboard.plan.catalogue import CATALOGUE
from scoreboard.store import MetricStore, StoredPoint

Direction = Literal["better", "worse", "same", "unknown", "n/a"]


@dataclass(frozen=True)
class Comparison:
    metric: str
    segment: Mapping[str, str]
    old: float | None
    new: float | None
    old_n: int | None
    new_n: int | None
    delta: float | None
    direction: Direction
    p_value: float | None

    def to_dict(self, old_version: str, new_version: str) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "segment": dict(self.segment),
            old_version: self.old,
            new_version: self.new,
            "n": {old_version: self.old_n, new_version: self.new_n},
            "delta": self.delta,
            "direction": self.direction,
            "p_value": self.p_value,
        }


def compare_versions(
    store: MetricStore,
    model: str,
    old_version: str,
    new_version: str,
    *,
    kinds: Mapping[str, str] | None = None,
) -> list[Comparison]:
    """Latest overall points of both versions; ``kinds`` maps metric names to kinds."""
    old = load_baseline(store, model, old_version, role="")
    new = load_baseline(store, model, new_version, role="")
    keys = sorted(set(old.points) | set(new.points), key=lambda k: (k[0], k[1] != "{}", k[1]))
    out = []
    for key in keys:
        a, b = old.points.get(key), new.points.get(key)
        point = a or b
        assert point is not None
        kind = (kinds or {}).get(key[0], key[0])
        out.append(_compare(point.metric, dict(point.segment), kind, a, b))
    return out


def _compare(
    metric: str,
    segment: dict[str, str],
    kind: str,
    a: StoredPoint | None,
    b: StoredPoint | None,
) -> Comparison:
    old = a.value if a else None
    new = b.value if b else None
    delta = None if old is None or new is None else new - old
    info = CATALOGUE.get(kind)
    direction: Direction
    if delta is None:
        direction = "n/a"
    elif delta == 0:
        direction = "same"
    elif info is None or kind == "count":
        direction = "unknown"
    else:
        direction = "better" if (delta > 0) == info.higher_is_better else "worse"
    p_value = None
    if (
        kind in PROPORTION_OF_ROWS
        and a is not None
        and b is not None
        and old is not None
        and new is not None
        and a.n > 0
        and b.n > 0
    ):
        p_value = two_proportion_p_value(new, b.n, old, a.n)
    return Comparison(
        metric,
        segment,
        old,
        new,
        a.n if a else None,
        b.n if b else None,
        delta,
        direction,
        p_value,
    )

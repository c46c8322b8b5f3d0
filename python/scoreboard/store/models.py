"""The records a metric store keeps, and the canonical encodings every backend shares.

The encodings live here, not in a backend, so that SQLite and PostgreSQL derive the same run ids,
segment hashes and timestamps: a store can then be migrated from one backend to the other and the
natural keys (RELIABILITY P3) still match.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

#: Reason stored with an undefined value when the caller gave none (P8: undefined is never 0).
DEFAULT_UNDEFINED_REASON = "undefined"

#: Key of one accumulator state blob: (window name, window start as ISO text, segment hash).
#: ``None`` window and start mean "over all rows".
StateKey = tuple[str | None, str | None, str]


@dataclass(frozen=True)
class RunRecord:
    """One evaluation of one model version over one data set with one plan.

    ``run_id`` is derived from what identifies the evaluation (model, version, plan hash, data
    fingerprint), so re-running the same evaluation lands on the same id and replaces its results
    instead of double counting them (DESIGN step 5). ``spec_fingerprint`` is kept for display; the
    plan hash already covers everything in the spec that changes results.
    """

    model: str
    model_version: str
    spec_fingerprint: str
    plan_hash: str
    data_fingerprint: str
    started_at: datetime
    finished_at: datetime
    rows: int

    @property
    def run_id(self) -> str:
        """16 hex digits of sha256 over the identifying fields (JSON-encoded: unambiguous)."""
        return derive_run_id(self.model, self.model_version, self.plan_hash, self.data_fingerprint)


@dataclass(frozen=True, kw_only=True)
class StoredRun(RunRecord):
    """A run as read back: ``first_recorded_at`` is the first store, ``recorded_at`` the latest."""

    first_recorded_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class MetricPoint:
    """One metric value over one window instance and one segment.

    ``window`` is ``None`` for the value over all rows. ``segment`` is ``{}`` overall, or e.g.
    ``{"country": "FR"}`` / ``{"class": "cat"}``. An undefined value is ``None`` (or NaN, stored as
    ``None``) with a ``reason``.
    """

    metric: str
    value: float | None
    n: int
    window: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    segment: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    #: The window instance number (row-count windows have no start time; time windows do too).
    window_index: int | None = None
    #: Approximate values (binned roc_auc / pr_auc): the exact value lies in value ± error_bound.
    error_bound: float | None = None


@dataclass(frozen=True, kw_only=True)
class StoredPoint(MetricPoint):
    """A point as read back, with the run it belongs to and when it was recorded."""

    run_id: str
    model: str
    model_version: str
    recorded_at: datetime


def derive_run_id(model: str, model_version: str, plan_hash: str, data_fingerprint: str) -> str:
    """The deterministic run id: JSON list encoding, so ``("a b", "c")`` != ``("a", "b c")``."""
    payload = json.dumps([model, model_version, plan_hash, data_fingerprint], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def segment_json(segment: Mapping[str, str]) -> str:
    """Canonical JSON of a segment (sorted keys, no spaces), so equal segments store equally."""
    for key, value in segment.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                f"segment keys and values must be strings, got {key!r}: {value!r}; "
                "convert segment values with str() before storing"
            )
    return json.dumps(dict(segment), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def segment_hash(segment: Mapping[str, str]) -> str:
    """sha256 (hex) of :func:`segment_json`: a fixed-size key for indexes and state blobs."""
    return hashlib.sha256(segment_json(segment).encode("utf-8")).hexdigest()


def iso_utc(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC text (``2024-05-01T00:00:00.000000Z``).

    Fixed width makes text order equal time order, which the ``ORDER BY`` and ``since`` filters
    rely on. A naive datetime is taken as UTC, the convention of pyarrow and pandas for tz-naive
    timestamps.
    """
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}: {moment!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    naive_utc = moment.astimezone(UTC).replace(tzinfo=None)
    return naive_utc.isoformat(timespec="microseconds") + "Z"


def canonical_iso(text: str) -> str:
    """Re-encode an ISO 8601 string in the :func:`iso_utc` form (so state keys always match)."""
    try:
        return iso_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}") from exc


def parse_iso(text: str) -> datetime:
    """Inverse of :func:`iso_utc`: an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def as_optional_float(value: object, what: str) -> float | None:
    """A real number as ``float``; NaN and ``None`` become ``None``.

    Checked here, before any transaction starts, so a bad value is a ``TypeError`` naming the
    field rather than a database error half-way through a write.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a real number or None, got {type(value).__name__}")
    number = float(value)
    return None if math.isnan(number) else number


def as_count(value: object, what: str) -> int:
    """A non-negative integer count (numpy integers accepted, bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}")
    count = int(value)
    if count < 0:
        raise ValueError(f"{what} must be >= 0, got {count}")
    return count


@dataclass(frozen=True)
class AlertStateRecord:
    """The current state of one alert rule for one segment of one model version.

    ``detail`` is the state machine's full state (``AlertState.to_json``) plus what the last
    evaluation saw; ``window_key`` names the last window instance evaluated.
    """

    model: str
    model_version: str
    rule: str
    segment: Mapping[str, str]
    state: str
    window: str | None = None
    value: float | None = None
    window_start: datetime | None = None
    window_key: str | None = None
    since: str | None = None
    detail: Mapping[str, object] = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass(frozen=True)
class OutboxEntry:
    """A notification for one receiver, written with the results that caused it (P4)."""

    dedup_key: str
    receiver: str
    model: str
    model_version: str
    rule: str
    transition: str
    payload: Mapping[str, object]


@dataclass(frozen=True, kw_only=True)
class StoredOutboxEntry(OutboxEntry):
    outbox_id: int
    status: str  # pending | sent | dead
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None

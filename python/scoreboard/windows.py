"""Windows and segments as cell keys.

The Rust executor folds every row into one *cell*, keyed by a few integers. This module computes
those integers for a chunk (one *component* per distinct pane size and per segment column) and,
at finalize time, says which cells make up each reported group: a window instance (a tumbling
pane, or a sliding run of panes), a segment value, or both.

- A time pane is ``floor((t - origin) / size)`` on the local wall clock of the window's timezone
  (so a day is a calendar day there, DST included); calendar months are ``year * 12 + month - 1``.
- A rows pane is ``row_number // n``, counting rows in the order they arrive.
- A sliding window of size ``k`` steps is the merge of ``k`` consecutive step-sized panes, so one
  streaming pass serves every window, and panes are shared by windows of the same step.
- A segment value gets a small code in order of first appearance; null is its own value.

Fixed-width UTC panes and segment codes are not computed here: the core receives the raw
timestamps (with the unit, origin and width) and the dictionary indices (with a code per entry)
and derives them in the pass that assigns cells. Once every instance covering a pane is closed and
returned (``Accumulator.evict_closed``), the pane's cells are folded into one keyed
``EVICTED_PANE``, which counts towards overall and segment groups but no window instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scoreboard.exceptions import DataError
from scoreboard.sources import numeric_view, text_dictionary

NULL_SEGMENT = "(null)"
EVICTED_PANE = -(2**63)  # the pane key of cells folded together once their windows closed
OTHER_SEGMENT = "(other)"
_EPOCH = datetime(1970, 1, 1)
# ISO weeks start on Monday; 1970-01-05 was the first Monday after the epoch.
_WEEK_ORIGIN_NS = 4 * 86_400 * 10**9
TIMESTAMP_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_UNIT_NS = {
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86_400 * 10**9,
    "w": 7 * 86_400 * 10**9,
}


@dataclass(frozen=True)
class PaneSpec:
    """One cell-key component computed from time or row numbers."""

    kind: str  # "time" | "month" | "rows"
    size: int  # ns (time), months (month) or rows (rows)
    timezone: str = "UTC"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "size": self.size, "timezone": self.timezone}

    @classmethod
    def parse(cls, duration: str, timezone: str) -> PaneSpec:
        match = re.fullmatch(r"([1-9][0-9]*)(s|m|h|d|w|mo)", duration)
        if match is None:
            raise ValueError(f"bad duration {duration!r}")
        count, unit = int(match.group(1)), match.group(2)
        if unit == "mo":
            return cls("month", count, timezone)
        return cls("time", count * _UNIT_NS[unit], timezone)

    @property
    def fixed_utc(self) -> bool:
        """Fixed-width panes on the UTC clock: the core divides raw timestamps itself."""
        return self.kind == "time" and self.timezone == "UTC"

    def origin_ns(self) -> int:
        weekly = self.size % _UNIT_NS["w"] == 0
        return _WEEK_ORIGIN_NS if weekly else 0

    def panes(self, local_ns: np.ndarray, months: np.ndarray | None) -> np.ndarray:
        """Pane id of each row from local wall-clock nanoseconds (or month numbers)."""
        if self.kind == "month":
            assert months is not None
            return months // self.size
        return (local_ns - self.origin_ns()) // self.size

    def bounds(self, pane: int) -> tuple[datetime, datetime]:
        """UTC start and end of a pane (end exclusive)."""
        zone = ZoneInfo(self.timezone)
        if self.kind == "month":
            first = pane * self.size
            start = datetime(first // 12, first % 12 + 1, 1)
            last = first + self.size
            end = datetime(last // 12, last % 12 + 1, 1)
        else:
            origin = self.origin_ns()
            start = _EPOCH + timedelta(microseconds=(origin + pane * self.size) // 1000)
            end = _EPOCH + timedelta(microseconds=(origin + (pane + 1) * self.size) // 1000)
        return (
            start.replace(tzinfo=zone).astimezone(UTC),
            end.replace(tzinfo=zone).astimezone(UTC),
        )


@dataclass(frozen=True)
class WindowSpec:
    """A declared window: which component it reads and how many panes make one instance."""

    name: str
    component: int
    span: int  # panes per instance: 1 for tumbling and rows windows, size/step for sliding
    pane: PaneSpec

    def instances(self, panes: Iterable[int]) -> dict[int, list[int]]:
        """Instance id (its last pane) -> the panes it covers, for every instance with data."""
        present = set(panes)
        out: dict[int, list[int]] = {}
        for p in sorted(present):
            for end in range(p, p + self.span):
                out.setdefault(end, []).append(p)
        return (
            {end: covered for end, covered in sorted(out.items()) if end <= max(present)}
            if present
            else {}
        )

    def bounds(self, instance: int) -> tuple[datetime | None, datetime | None]:
        if self.pane.kind == "rows":
            return None, None
        start, _ = self.pane.bounds(instance - self.span + 1)
        _, end = self.pane.bounds(instance)
        return start, end


@dataclass
class SegmentCoder:
    """Stable small codes for the values of one segment column (first-seen order)."""

    column: str
    limit: int
    values: list[str] = field(default_factory=list)
    _codes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._codes = {v: i for i, v in enumerate(self.values)}

    def code(self, value: str) -> int:
        found = self._codes.get(value)
        if found is not None:
            return found
        if len(self.values) >= self.limit:
            raise DataError(
                f"more than max_series={self.limit} distinct values; segment by a column with "
                "fewer values, use top_k, or raise max_series",
                column=self.column,
            )
        self._codes[value] = len(self.values)
        self.values.append(value)
        return len(self.values) - 1

    def truncate(self, count: int) -> None:
        """Forgets the values coded after the first ``count``."""
        for value in self.values[count:]:
            del self._codes[value]
        del self.values[count:]

    def codes(self, values: pa.Array | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dictionary indices of every row (int32, no nulls) and the code of each dictionary
        entry: the core looks the codes up itself (pyarrow hashes; Python only sees the
        distinct values). Numpy text is hashed by the core; other small batches (a service's)
        are coded by dict lookups, with their codes as the indices of an identity dictionary:
        hashing 100 values in Arrow costs more than looking them up."""
        if isinstance(values, np.ndarray) and values.ndim != 1:
            raise DataError(f"expected a 1-D column, got shape {values.shape}", column=self.column)
        if isinstance(values, np.ndarray) and values.dtype.kind == "U":
            dictionary, text_indices = text_dictionary(values)
            return text_indices, np.array(self._lookup(dictionary), dtype=np.int64)
        if len(values) <= _LOOKUP_ROWS and not (
            isinstance(values, pa.Array) and pa.types.is_dictionary(values.type)
        ):
            items = values.tolist() if isinstance(values, np.ndarray) else values.to_pylist()
            lookup_indices = np.array(self._lookup(items), dtype=np.int32)
            return lookup_indices, np.arange(len(self.values), dtype=np.int64)
        if isinstance(values, np.ndarray):
            values = pa.array(values)
        encoded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
        dictionary = [_segment_text(v) for v in encoded.dictionary.to_pylist()]
        codes = [self.code(v) for v in dictionary]
        indices = encoded.indices
        if indices.null_count:
            codes.append(self.code(NULL_SEGMENT))  # nulls point past the dictionary
            indices = pc.fill_null(indices, len(dictionary))
        if indices.type != pa.int32():
            indices = indices.cast(pa.int32())
        return numeric_view(indices), np.array(codes, dtype=np.int64)

    def _lookup(self, values: list[Any]) -> list[int]:
        try:  # the common case: text values seen before
            return list(map(self._codes.__getitem__, values))
        except (KeyError, TypeError):
            return [self.code(_segment_text(v)) for v in values]


_LOOKUP_ROWS = 4096
"""Numpy segment columns up to this many rows are coded by dict lookups rather than Arrow."""


def _segment_text(value: Any) -> str:
    if value is None:
        return NULL_SEGMENT
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Layout:
    """How a plan's rows map to cell keys, and how cells add up to reported groups."""

    timestamp: str | None
    timestamp_unit: str | None
    null_timestamps: str
    panes: tuple[PaneSpec, ...]
    windows: tuple[WindowSpec, ...]
    segment_columns: tuple[str, ...]
    segments: tuple[tuple[tuple[str, ...], int | None], ...]  # (columns, top_k)
    max_series: int

    @property
    def width(self) -> int:
        return len(self.panes) + len(self.segment_columns)

    @property
    def needs_keys(self) -> bool:
        return self.width > 0

    @property
    def columns(self) -> list[str]:
        """Data columns the keys are computed from."""
        out = [self.timestamp] if self.timestamp and self._has_time_panes() else []
        return out + [c for c in self.segment_columns if c not in out]

    def _has_time_panes(self) -> bool:
        return any(p.kind != "rows" for p in self.panes)

    def to_json(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "timestamp_unit": self.timestamp_unit,
            "null_timestamps": self.null_timestamps,
            "panes": [p.to_json() for p in self.panes],
            "windows": [
                {"name": w.name, "component": w.component, "span": w.span} for w in self.windows
            ],
            "segment_columns": list(self.segment_columns),
            "segments": [{"columns": list(c), "top_k": k} for c, k in self.segments],
            "max_series": self.max_series,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Layout:
        data = data or {}
        panes = tuple(PaneSpec(p["kind"], p["size"], p["timezone"]) for p in data.get("panes", []))
        windows = tuple(
            WindowSpec(w["name"], w["component"], w["span"], panes[w["component"]])
            for w in data.get("windows", [])
        )
        return cls(
            timestamp=data.get("timestamp"),
            timestamp_unit=data.get("timestamp_unit"),
            null_timestamps=data.get("null_timestamps", "error"),
            panes=panes,
            windows=windows,
            segment_columns=tuple(data.get("segment_columns", [])),
            segments=tuple((tuple(s["columns"]), s.get("top_k")) for s in data.get("segments", [])),
            max_series=data.get("max_series", 1000),
        )


def build_layout(spec: Any) -> Layout:
    """The cell layout of a validated spec: pane components shared by windows of equal step."""
    panes: list[PaneSpec] = []
    windows: list[WindowSpec] = []
    for w in spec.windows:
        if w.rows is not None:
            pane, span = PaneSpec("rows", w.rows), 1
        elif w.tumbling is not None:
            pane, span = PaneSpec.parse(w.tumbling, w.timezone), 1
        else:
            step = PaneSpec.parse(w.sliding.step, w.timezone)
            size = PaneSpec.parse(w.sliding.size, w.timezone)
            pane, span = step, size.size // step.size
        if pane not in panes:
            panes.append(pane)
        windows.append(WindowSpec(w.name, panes.index(pane), span, pane))
    columns: list[str] = []
    for seg in spec.segments:
        columns.extend(c for c in seg.columns if c not in columns)
    return Layout(
        timestamp=spec.columns.timestamp,
        timestamp_unit=spec.timestamp_unit,
        null_timestamps=spec.null_timestamps,
        panes=tuple(panes),
        windows=tuple(windows),
        segment_columns=tuple(columns),
        segments=tuple((tuple(s.columns), s.top_k) for s in spec.segments),
        max_series=spec.max_series,
    )


def timestamps_ns(array: pa.Array, column: str, unit: str | None) -> np.ndarray:
    """UTC epoch nanoseconds of a timestamp column (Arrow timestamp or date, integer epoch with a
    declared unit, or ISO 8601 strings). Nulls must have been handled by the caller."""
    raw, unit_ns = raw_timestamps(array, column, unit)
    return scaled_timestamps(raw, unit_ns, column)


_INTEGER_UNIT = "is an integer timestamp: declare its unit with timestamp_unit: s | ms | us | ns"


def raw_timestamps(
    array: pa.Array | np.ndarray, column: str, unit: str | None
) -> tuple[np.ndarray, int]:
    """UTC epoch timestamps as stored and their unit in nanoseconds: the int64 values of an
    Arrow timestamp or integer epoch column (no copy for int64 storage, no scaling), or
    nanoseconds (unit 1) parsed from dates and ISO 8601 text. Nulls must have been handled by the
    caller."""
    if isinstance(array, np.ndarray):  # integers or datetime64 without NaT (see the engine)
        if array.dtype.kind == "M":
            return array.view(np.int64), TIMESTAMP_UNIT_NS[np.datetime_data(array.dtype)[0]]
        if unit is None:
            raise DataError(_INTEGER_UNIT, column=column)
        stamps = array if array.dtype == np.int64 else array.astype(np.int64)
        return stamps, TIMESTAMP_UNIT_NS[unit]
    kind = array.type
    try:
        if pa.types.is_timestamp(kind):
            return _int64_values(array), TIMESTAMP_UNIT_NS[kind.unit]
        if pa.types.is_date(kind):
            return _as_int64(array.cast(pa.timestamp("ns"))), 1
        if pa.types.is_integer(kind):
            if unit is None:
                raise DataError(_INTEGER_UNIT, column=column)
            return _int64_values(array), TIMESTAMP_UNIT_NS[unit]
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return _parse_iso(array, column), 1
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise DataError(f"cannot read timestamps: {exc}", column=column) from None
    raise DataError(
        f"has type {kind}; expected a timestamp, an integer epoch or ISO 8601 text", column=column
    )


def _int64_values(array: pa.Array) -> np.ndarray:
    """The values of a null-free integer-backed array as int64, a view of its buffer when it is
    stored as 64-bit integers."""
    if array.type.bit_width != 64 or pa.types.is_unsigned_integer(array.type):
        array = array.cast(pa.int64())
    data = array.buffers()[1]
    if data is None:
        return np.zeros(0, np.int64)
    return np.frombuffer(data, dtype=np.int64, count=len(array), offset=array.offset * 8)


def scaled_timestamps(raw: np.ndarray, unit_ns: int, column: str) -> np.ndarray:
    """Raw timestamps in nanoseconds; out of the int64 range is an error, not a wrap-around."""
    if unit_ns == 1:
        return raw
    limit = np.iinfo(np.int64).max // unit_ns
    if len(raw) and (raw.min() < -limit or raw.max() > limit):
        raise DataError(
            "cannot read timestamps: timestamp out of range (nanoseconds since 1970 must fit in "
            "64 bits: years 1677 to 2262)",
            column=column,
        )
    return raw * unit_ns


def _parse_iso(array: pa.Array, column: str) -> np.ndarray:
    # Text with an offset ("Z", "+02:00") parses as UTC; text without one is read as UTC.
    try:
        return _as_int64(array.cast(pa.timestamp("ns", tz="UTC")))
    except pa.ArrowInvalid:
        pass
    try:
        return _as_int64(array.cast(pa.timestamp("ns")))
    except pa.ArrowInvalid as exc:
        raise DataError(f"cannot parse ISO 8601 timestamps: {exc}", column=column) from None


def _as_int64(array: pa.Array) -> np.ndarray:
    return np.asarray(array.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def local_time(
    utc_ns: np.ndarray, timezone: str, *, months: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Local wall-clock nanoseconds in ``timezone``, and (when ``months``) month numbers
    (year * 12 + month - 1)."""
    if timezone == "UTC" and not months:
        return utc_ns, None
    stamps = pa.array(utc_ns, pa.timestamp("ns", tz="UTC"))
    if timezone != "UTC":
        stamps = pc.local_timestamp(stamps.cast(pa.timestamp("ns", tz=timezone)))
    local = _as_int64(stamps)
    if not months:
        return local, None
    month_numbers = (
        np.asarray(pc.year(stamps), dtype=np.int64) * 12
        + np.asarray(pc.month(stamps), dtype=np.int64)
        - 1
    )
    return local, month_numbers


def group_cells(
    layout: Layout,
    keys: Sequence[Sequence[int]],
    coders: Mapping[str, SegmentCoder],
    cell_rows: Sequence[int],
    *,
    after: Mapping[str, int] | None = None,
) -> list[tuple[str | None, int | None, dict[str, str], list[int]]]:
    """Every reported group as (window name, instance, segment, cell ids), in report order:
    overall first, then each segment, then each window instance with its segments. Instances
    at or before ``after[window]`` (already returned and evicted) and panes keyed
    ``EVICTED_PANE`` are not window instances."""
    all_cells = list(range(len(keys)))
    groups: list[tuple[str | None, int | None, dict[str, str], list[int]]] = []

    def by_segment(window: str | None, instance: int | None, cells: list[int]) -> None:
        groups.append((window, instance, {}, cells))
        for columns, top_k in layout.segments:
            offsets = [len(layout.panes) + layout.segment_columns.index(c) for c in columns]
            buckets: dict[tuple[int, ...], list[int]] = {}
            for cell in cells:
                buckets.setdefault(tuple(keys[cell][o] for o in offsets), []).append(cell)
            kept = _top_k(buckets, top_k, cell_rows, layout, keys, offsets)
            for codes, members in kept:
                segment = {
                    col: (OTHER_SEGMENT if code is None else coders[col].values[code])
                    for col, code in zip(columns, codes, strict=True)
                }
                groups.append((window, instance, segment, members))

    by_segment(None, None, all_cells)
    for window in layout.windows:
        panes: dict[int, list[int]] = {}
        for cell in all_cells:
            pane = keys[cell][window.component]
            if pane != EVICTED_PANE:
                panes.setdefault(pane, []).append(cell)
        last = (after or {}).get(window.name)
        for instance, covered in window.instances(panes).items():
            if last is None or instance > last:
                by_segment(window.name, instance, [c for p in covered for c in panes[p]])
    return groups


def _top_k(
    buckets: dict[tuple[int, ...], list[int]],
    top_k: int | None,
    cell_rows: Sequence[int],
    layout: Layout,
    keys: Sequence[Sequence[int]],
    offsets: list[int],
) -> list[tuple[tuple[int | None, ...], list[int]]]:
    ordered = sorted(buckets.items())
    if top_k is None or len(ordered) <= top_k:
        return [(k, v) for k, v in ordered]
    # Rank values by rows over all the data (not per window), so a window's "other" bucket holds
    # the same values everywhere.
    totals: dict[tuple[int, ...], int] = {}
    for cell, key in enumerate(keys):
        value = tuple(key[o] for o in offsets)
        totals[value] = totals.get(value, 0) + cell_rows[cell]
    top = set(sorted(totals, key=lambda v: (-totals[v], v))[:top_k])
    kept: list[tuple[tuple[int | None, ...], list[int]]] = [(k, v) for k, v in ordered if k in top]
    rest = [c for k, v in ordered if k not in top for c in v]
    if rest:
        kept.append((tuple(None for _ in offsets), rest))
    return kept

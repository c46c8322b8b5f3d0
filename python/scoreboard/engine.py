"""The engine: feeds chunks of data to the Rust executor and locates its errors in the input.

Columns reach the core as numpy views of the Arrow buffers (no copy for numeric columns without
nulls); string label columns are dictionary-encoded by pyarrow and sent as (dictionary, indices),
so the core never handles Python objects row by row.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import struct
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scoreboard import _core, sources
from scoreboard.exceptions import DataError, IncompatibleStateError
from scoreboard.results import MetricResult, Results, from_core
from scoreboard.windows import (
    EVICTED_PANE,
    TIMESTAMP_UNIT_NS,
    PaneSpec,
    SegmentCoder,
    group_cells,
    local_time,
    raw_timestamps,
    scaled_timestamps,
)

if TYPE_CHECKING:
    import pandas as pd

    from scoreboard.plan.plan import Plan

DataInput = Union[
    str,
    "os.PathLike[str]",
    Sequence[Union[str, "os.PathLike[str]"]],
    pa.Table,
    pa.RecordBatch,
    Mapping[str, Any],
    "pd.DataFrame",
]
KernelColumn = np.ndarray | tuple[list[str], np.ndarray]
# A cell key component for the core: its values, ("panes", raw timestamps, unit_ns, origin_ns,
# width_ns, column), ("codes", int32 dictionary indices, int64 code per entry) or ("constant",
# the key of every row).
CellKey = np.ndarray | tuple[Any, ...]
InputArray: TypeAlias = np.ndarray | pa.Array
Progress = Callable[[int], None]


class Accumulator:
    """Streaming state of a plan: ``update`` batches in, ``results`` at any time, ``merge`` and
    ``to_bytes`` to combine states built elsewhere (threads, processes, workers).

    Thread-safe for ``update`` and ``merge`` from several threads. Without windows or segments
    the core serialises updates with the GIL released; with them, updates also share segment
    dictionaries, the row counter of rows windows, the watermark and the late-row count, so an
    internal lock serialises keyed updates and merges (a ``+=`` on a counter loses updates when
    the GIL switches threads inside it). With windows or segments ``results`` and
    ``group_states`` take that lock too (``evict_closed`` renumbers cells, and a read must not
    mix two numberings); a service that wants a snapshot consistent with its counters still
    holds its own lock around updates and reads.

    ``allowed_lateness`` (seconds) turns on event-time bookkeeping for services: the watermark is
    the latest timestamp seen, rows older than ``watermark - allowed_lateness`` are dropped and
    counted in ``late_rows``, and ``results(closed_only=True)`` reports only window instances
    that can no longer change. ``evict_closed()`` returns those instances once and drops their
    panes, so a long-running service's memory stays bounded.
    """

    __slots__ = (
        "_coders",
        "_executor",
        "_fast_panes",
        "_input_columns",
        "_kernel_columns",
        "_layout",
        "_lists",
        "_lock",
        "_numeric_columns",
        "_reported",
        "_row_base",
        "_timed",
        "allowed_lateness_ns",
        "dropped_rows",
        "late_rows",
        "plan",
        "watermark_ns",
    )

    def __init__(
        self,
        plan: Plan,
        executor: _core.Executor | None = None,
        *,
        allowed_lateness: float | None = None,
    ) -> None:
        self.plan = plan
        self._kernel_columns = plan.kernel_columns
        self._input_columns = plan.input_columns
        self._numeric_columns = plan.numeric_columns
        self._lists = plan.list_columns
        self._layout = plan.layout
        self._timed = any(p.kind != "rows" for p in self._layout.panes)
        # Per timestamp unit (ns), which panes the core computes from raw timestamps.
        self._fast_panes: dict[int, tuple[bool, ...]] = {}
        self._executor = executor if executor is not None else _core.Executor(plan.to_json())
        self._coders = {
            c: SegmentCoder(c, self._layout.max_series) for c in self._layout.segment_columns
        }
        self._row_base = 0
        self._reported: dict[str, int] = {}  # per window, the last instance evict_closed returned
        self._lock = threading.Lock()  # keyed updates and merges; never serialised
        self.dropped_rows = 0  # null timestamps under `null_timestamps: drop`
        self.late_rows = 0
        self.watermark_ns: int | None = None
        self.allowed_lateness_ns = None if allowed_lateness is None else int(allowed_lateness * 1e9)

    @property
    def rows(self) -> int:
        return self._executor.rows

    def update(self, batch: pa.RecordBatch | pa.Table | Mapping[str, Any] | pd.DataFrame) -> None:
        """Folds one batch in: a pyarrow RecordBatch or Table, a dict of arrays, or a DataFrame.
        All or nothing: a rejected batch leaves the state unchanged."""
        if not self._layout.needs_keys:
            if type(batch) is dict or isinstance(batch, Mapping):
                # The service fast path: numpy arrays go straight to the core.
                self._executor.update(self._kernel_inputs(batch))
                return
            table = _as_table(batch)
            self._executor.update(self._kernel_inputs(table), None)
            self._row_base += table.num_rows
            return
        prepared = _Prepared(_input_arrays(batch, self._input_columns))
        with self._lock:
            known = [len(coder.values) for coder in self._coders.values()]
            try:
                self._cell_keys(prepared)
                self._executor.update(self._kernel_inputs(prepared.columns), prepared.keys)
            except BaseException as exc:
                # A rejected batch leaves no trace: not even the segment values it introduced.
                for coder, count in zip(self._coders.values(), known, strict=True):
                    coder.truncate(count)
                if isinstance(exc, DataError):
                    raise prepared.locate(exc) from None
                raise
            # Only a batch the core accepted moves the watermark and the counters.
            self._row_base += prepared.num_rows
            self.dropped_rows += prepared.dropped
            self.late_rows += prepared.late
            self.watermark_ns = prepared.watermark_ns

    def _kernel_inputs(self, batch: Any) -> dict[str, KernelColumn]:
        """The accumulators' columns of a batch (a dict of arrays or an Arrow table), in kernel
        form; a list column of per-class scores becomes one column per class."""
        columns: dict[str, KernelColumn] = {}
        mapping = isinstance(batch, Mapping)
        for name in self._kernel_columns:
            numeric = name in self._numeric_columns
            if name in self._lists:
                values = _mapping_values(batch, name) if mapping else _column(batch, name)
                columns.update(_split_list(values, name, self._lists[name]))
            elif mapping:
                columns[name] = _mapping_column(batch, name, numeric=numeric)
            else:
                columns[name] = _arrow_column(batch, name, numeric=numeric)
        return columns

    def _cell_keys(self, prepared: _Prepared) -> None:
        """The cell key components of a batch. Fixed-width UTC panes go to the core as raw
        timestamps and segments as dictionary indices with a code per entry: the core divides
        and looks up in the pass that assigns cells. Calendar months, other timezones and rows
        windows are computed here."""
        layout = self._layout
        prepared.watermark_ns = self.watermark_ns
        raw, unit_ns, constant = _NO_STAMPS, 1, False
        if layout.timestamp is not None and self._timed:
            raw, unit_ns, constant = self._timestamps(prepared, layout.timestamp)
        fast = self._fast_panes.get(unit_ns)
        if fast is None:
            fast = self._fast_panes[unit_ns] = tuple(self._fast(p, unit_ns) for p in layout.panes)
        local: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for pane, in_core in zip(layout.panes, fast, strict=True):
            if pane.kind == "rows":
                rows = self._row_base + np.arange(prepared.num_rows, dtype=np.int64)
                prepared.keys.append(rows // pane.size)
            elif in_core and not constant:
                origin = pane.origin_ns()
                prepared.keys.append(("panes", raw, unit_ns, origin, pane.size, layout.timestamp))
            else:
                # Calendar months and other timezones (and the one pane of a constant timestamp):
                # local wall-clock time, once per zone.
                if pane.timezone not in local:
                    utc = scaled_timestamps(raw, unit_ns, str(layout.timestamp))
                    monthly = any(
                        q.kind == "month" and q.timezone == pane.timezone for q in layout.panes
                    )
                    local[pane.timezone] = local_time(utc, pane.timezone, months=monthly)
                panes = pane.panes(*local[pane.timezone])
                prepared.keys.append(("constant", int(panes[0])) if constant else panes)
        for column in layout.segment_columns:
            indices, codes = self._coders[column].codes(prepared.column(column))
            prepared.keys.append(("codes", indices, codes))

    @staticmethod
    def _fast(pane: PaneSpec, unit_ns: int) -> bool:
        """Whether the core computes this pane from raw timestamps of unit ``unit_ns``."""
        return pane.fixed_utc and pane.size % unit_ns == 0 and pane.origin_ns() % unit_ns == 0

    def _timestamps(self, prepared: _Prepared, column: str) -> tuple[np.ndarray, int, bool]:
        """The batch's UTC timestamps as stored, their unit in nanoseconds, and whether they
        are one timestamp standing for every row (a run-end encoded column of one run, as the
        Parquet reader gives a row group's timestamps that it did not decode). Drops rows with
        a null timestamp (under ``null_timestamps: drop``) and late rows (with
        ``allowed_lateness``), noting them in ``prepared`` rather than in the accumulator until
        the batch is accepted."""
        values = prepared.column(column)
        constant = False
        if isinstance(values, pa.Array) and pa.types.is_run_end_encoded(values.type):
            runs = values.values
            if (
                len(values)
                and len(runs) == 1
                and runs.null_count == 0
                and self.allowed_lateness_ns is None
            ):
                values, constant = runs, True
            else:
                values = pc.run_end_decode(values)
        if isinstance(values, np.ndarray) and not _plain_epochs(values):
            values = _single_array(sources.column_array(column, values, None))
        if not isinstance(values, np.ndarray) and values.null_count:
            if self._layout.null_timestamps == "error":
                raise DataError(
                    f"null timestamp ({values.null_count} in this chunk); set "
                    "null_timestamps: drop to count and skip such rows",
                    column=column,
                    row=sources.first_null_row(values),
                )
            keep = pc.is_valid(values).to_numpy(zero_copy_only=False)
            prepared.dropped += values.null_count
            prepared.keep(keep)
            values = values.filter(pa.array(keep))
        raw, unit_ns = raw_timestamps(values, column, self._layout.timestamp_unit)
        if self.allowed_lateness_ns is not None and len(raw):
            earliest, latest = _core.extent(raw)
            if prepared.watermark_ns is not None:
                # t * unit >= watermark - lateness, in the raw unit: t >= ceil(that / unit).
                oldest = -(-(prepared.watermark_ns - self.allowed_lateness_ns) // unit_ns)
                if earliest < oldest:
                    on_time = raw >= oldest
                    prepared.late += int((~on_time).sum())
                    prepared.keep(on_time)
                    raw = raw[on_time]
            if len(raw):
                latest_ns = latest * unit_ns
                prepared.watermark_ns = max(latest_ns, prepared.watermark_ns or latest_ns)
        return raw, unit_ns, constant

    def merge(self, other: Accumulator) -> None:
        """Folds ``other`` (a state of the same plan) into this one."""
        if not self._layout.needs_keys:
            self._merge(other)
            return
        with self._lock:
            self._merge(other)

    def _merge(self, other: Accumulator) -> None:
        maps: list[list[int]] = [[] for _ in self._layout.panes]
        for column in self._layout.segment_columns:
            mine = self._coders[column]
            maps.append([mine.code(v) for v in other._coders[column].values])
        self._executor.merge(other._executor, maps if self._layout.needs_keys else None)
        self.dropped_rows += other.dropped_rows
        self.late_rows += other.late_rows
        self._row_base += other._row_base
        for window, instance in other._reported.items():
            self._reported[window] = max(instance, self._reported.get(window, instance))

    def copy(self) -> Accumulator:
        return Accumulator.from_bytes(self.plan, self.to_bytes())

    def to_bytes(self) -> bytes:
        """The state as bytes: a small JSON header (segment dictionaries, counters) and the
        core's versioned state (which carries the plan hash)."""
        meta = json.dumps(
            {
                "segments": {c: coder.values for c, coder in self._coders.items()},
                "row_base": self._row_base,
                "dropped_rows": self.dropped_rows,
                "late_rows": self.late_rows,
                "watermark_ns": self.watermark_ns,
                "allowed_lateness_ns": self.allowed_lateness_ns,
                "reported": self._reported,
            }
        ).encode()
        return _ENVELOPE + struct.pack("<I", len(meta)) + meta + self._executor.to_bytes()

    @classmethod
    def from_bytes(cls, plan: Plan, blob: bytes) -> Accumulator:
        if not blob.startswith(_ENVELOPE) or len(blob) < len(_ENVELOPE) + 4:
            raise IncompatibleStateError("not a scoreboard accumulator state")
        (size,) = struct.unpack_from("<I", blob, len(_ENVELOPE))
        start = len(_ENVELOPE) + 4
        try:
            meta = json.loads(blob[start : start + size])
            core = _core.Executor.from_bytes(plan.to_json(), blob[start + size :])
            acc = cls(plan, core)
            for column, values in meta["segments"].items():
                acc._coders[column] = SegmentCoder(column, acc._layout.max_series, list(values))
            acc._row_base = int(meta["row_base"])
            acc.dropped_rows = int(meta["dropped_rows"])
            acc.late_rows = int(meta["late_rows"])
            acc.watermark_ns = meta["watermark_ns"]
            acc.allowed_lateness_ns = meta["allowed_lateness_ns"]
            acc._reported = {str(w): int(i) for w, i in meta.get("reported", {}).items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise IncompatibleStateError(f"corrupt accumulator state: {exc}") from None
        return acc

    def _groups(self) -> list[tuple[str | None, int | None, dict[str, str], list[int]]]:
        keys = self._executor.cell_keys()
        if not self._layout.needs_keys:
            return [(None, None, {}, list(range(len(keys))))]
        return group_cells(
            self._layout, keys, self._coders, self._executor.cell_rows(), after=self._reported
        )

    def results(self, *, data_fingerprint: str | None = None, closed_only: bool = False) -> Results:
        """Every metric over all rows and over every window instance and segment (but the
        instances ``evict_closed`` returned).

        ``closed_only`` keeps only window instances whose end plus the allowed lateness is at or
        before the watermark (instances that can no longer change)."""
        with self._read_lock():
            return self._results(data_fingerprint, overall=not closed_only, closed=closed_only)

    def _read_lock(self) -> AbstractContextManager[Any]:
        """The lock reads take: the keyed one (cell ids change under ``evict_closed``)."""
        return self._lock if self._layout.needs_keys else nullcontext()

    def evict_closed(self, *, data_fingerprint: str | None = None) -> Results:
        """Returns the results of the window instances closed by the watermark (end plus the
        allowed lateness at or before it) that no earlier call returned, then folds the panes
        no open instance covers into one remainder cell per segment value: overall and segment
        results still count their rows, ``results()`` no longer lists those instances, and
        memory stays bounded however long a service runs. Rows windows never close.

        Needs event-time bookkeeping (``allowed_lateness``, 0 is fine): without a watermark
        nothing is closed."""
        if self.allowed_lateness_ns is None:
            raise ValueError(
                "evict_closed needs a watermark: create the accumulator with allowed_lateness"
            )
        with self._lock:
            results = self._results(data_fingerprint, overall=False, closed=True)
            for result in results:
                if result.window is not None and result.window_index is not None:
                    last = self._reported.get(result.window, result.window_index)
                    self._reported[result.window] = max(last, result.window_index)
            self._evict_panes()
        return results

    def _evict_panes(self) -> None:
        """Collapses every pane whose instances (in every window reading it) are all closed."""
        keys = self._executor.cell_keys()
        for component, pane in enumerate(self._layout.panes):
            windows = [w for w in self._layout.windows if w.component == component]
            if pane.kind == "rows" or not windows:
                continue
            present = {key[component] for key in keys} - {EVICTED_PANE}
            done = [
                p
                for p in sorted(present)
                if all(self._closed(w.bounds(p + w.span - 1)[1]) for w in windows)
            ]
            if done:
                self._executor.collapse(component, done, EVICTED_PANE)
                keys = self._executor.cell_keys()

    def _results(self, data_fingerprint: str | None, *, overall: bool, closed: bool) -> Results:
        # Fine windows x segments make results by the hundred thousand, none in a reference
        # cycle: the cyclic collector's passes over them would cost more than building them.
        with _collector_paused():
            return self._build_results(data_fingerprint, overall=overall, closed=closed)

    def _build_results(
        self, data_fingerprint: str | None, *, overall: bool, closed: bool
    ) -> Results:
        items: list[MetricResult] = []
        windows = {w.name: w for w in self._layout.windows}
        bounds: dict[tuple[str, int], tuple[datetime | None, datetime | None]] = {}
        for window, instance, segment, cells in self._groups():
            start = end = None
            if window is not None and instance is not None:
                if (window, instance) not in bounds:  # once per instance, not per segment
                    bounds[window, instance] = windows[window].bounds(instance)
                start, end = bounds[window, instance]
                if closed and not self._closed(end):
                    continue
            elif not overall:
                continue
            items.extend(
                from_core(
                    self._executor.results_for(cells),
                    window=window,
                    window_index=instance,
                    window_start=start,
                    window_end=end,
                    segment=segment,
                )
            )
        return Results(
            items,
            model=self.plan.model,
            rows=self.rows,
            plan_hash=self.plan.plan_hash,
            data_fingerprint=data_fingerprint,
            dropped_rows=self.dropped_rows + self.late_rows,
        )

    def _closed(self, end: datetime | None) -> bool:
        if end is None or self.watermark_ns is None:
            return False
        lateness = self.allowed_lateness_ns or 0
        return int(end.timestamp() * 1e9) + lateness <= self.watermark_ns

    def group_states(self) -> dict[tuple[str | None, int | None, str], bytes]:
        """The state of every reported group, keyed by (window, instance, segment JSON), for
        merging the same group across runs (late data)."""
        with self._read_lock():
            return self._group_states()

    def _group_states(self) -> dict[tuple[str | None, int | None, str], bytes]:
        out: dict[tuple[str | None, int | None, str], bytes] = {}
        for window, instance, segment, cells in self._groups():
            key = (window, instance, json.dumps(segment, sort_keys=True))
            out[key] = self._executor.subset(cells).to_bytes()
        return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector (if it runs) for the block."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


_ENVELOPE = b"SBAC\x01"
_NO_STAMPS = np.zeros(0, np.int64)


class _Prepared:
    """A batch on its way into the core, as the plan's columns: rows kept (after null and late
    timestamps are dropped), their cell keys, and the counter changes to apply once the core
    accepts the batch."""

    __slots__ = ("columns", "dropped", "keys", "late", "num_rows", "rows", "watermark_ns")

    def __init__(self, columns: dict[str, InputArray]) -> None:
        self.columns = columns
        self.num_rows = len(next(iter(columns.values()), ()))
        self.keys: list[CellKey] = []
        self.rows: np.ndarray | None = None  # original row of each kept row, when any dropped
        self.dropped = 0
        self.late = 0
        self.watermark_ns: int | None = None

    def column(self, name: str) -> InputArray:
        return self.columns[name]

    def keep(self, mask: np.ndarray) -> None:
        original = np.arange(self.num_rows) if self.rows is None else self.rows
        self.rows = original[mask]
        self.num_rows = len(self.rows)
        arrow_mask = pa.array(mask)
        self.columns = {
            name: values[mask] if isinstance(values, np.ndarray) else values.filter(arrow_mask)
            for name, values in self.columns.items()
        }

    def locate(self, exc: DataError) -> DataError:
        """The error with its row counted in the batch as given, not in the kept rows."""
        if self.rows is None or exc.row is None or exc.row >= len(self.rows):
            return exc
        return DataError(exc.message, file=exc.file, column=exc.column, row=int(self.rows[exc.row]))


def _input_arrays(batch: Any, names: list[str]) -> dict[str, InputArray]:
    """The plan's columns of a batch, each a numpy array or a single Arrow array. A dict of
    arrays (a service's batch) is not built into an Arrow table: at 100 rows that costs more
    than the rest of the update. Columns of unequal length are a DataError."""
    columns: dict[str, InputArray] = {}
    if type(batch) is dict or isinstance(batch, Mapping):
        for name in names:
            values = _mapping_values(batch, name)
            if not isinstance(values, np.ndarray) or values.ndim not in (1, 2):
                # Anything else goes through Arrow (which names what it cannot convert).
                values = _single_array(sources.column_array(name, values, None))
            columns[name] = values
    else:
        table = _as_table(batch)
        columns = {name: _column(table, name) for name in names}
    rows = -1
    for name, values in columns.items():
        if rows < 0:
            first, rows = name, len(values)
        elif len(values) != rows:
            raise DataError(f"has {len(values)} rows but column {first!r} has {rows}", column=name)
    return columns


def _plain_epochs(values: np.ndarray) -> bool:
    """Whether a numpy timestamp column needs no Arrow: 1-D integers that fit int64, or
    datetime64 in s/ms/us/ns without NaT (nulls)."""
    kind = values.dtype.kind
    if values.ndim != 1:
        return False
    if kind == "i" or (kind == "u" and values.dtype.itemsize < 8):
        return True
    if kind == "M" and np.datetime_data(values.dtype)[0] in ("s", "ms", "us", "ns"):
        return not np.isnat(values).any()
    return False


def _as_table(batch: Any) -> pa.Table | pa.RecordBatch:
    if isinstance(batch, pa.RecordBatch | pa.Table):
        return batch
    if isinstance(batch, Mapping):
        # As `evaluate` reads a dict: a 2-D array becomes a fixed-size list column (per-class
        # scores), and a column Arrow cannot convert is a DataError naming it.
        return pa.table({k: sources.column_array(k, v, None) for k, v in batch.items()})
    return _from_pandas(batch)


def evaluate(
    plan: Plan, data: DataInput, *, chunk_rows: int = 1 << 20, progress: Progress | None = None
) -> Results:
    """Streams ``data`` through ``plan``. Errors name the file, row and column at fault."""
    acc, fingerprint = stream(plan, data, chunk_rows=chunk_rows, progress=progress)
    return acc.results(data_fingerprint=fingerprint)


def stream(
    plan: Plan, data: DataInput, *, chunk_rows: int = 1 << 20, progress: Progress | None = None
) -> tuple[Accumulator, str | None]:
    """Streams ``data`` into a new accumulator; returns it with the files' fingerprint (``None``
    for data in memory: see ``state_fingerprint``)."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    acc = plan.accumulator()
    columns = plan.input_columns
    if _is_in_memory(data):
        chunks = sources.iter_table_chunks(data, columns, chunk_rows=chunk_rows)
        fingerprint = None
    else:
        paths = sources.resolve_paths(data)  # type: ignore[arg-type]
        # The next chunk is read and decoded while the core works on this one.
        constant = _timestamps_within_one_pane(plan)
        chunks = sources.prefetch(
            sources.iter_chunks(paths, columns, chunk_rows=chunk_rows, constant=constant)
        )
        fingerprint = sources.data_fingerprint(paths)
    for chunk in chunks:
        try:
            acc.update(chunk.batch)
        except DataError as exc:
            raise exc.located(file=chunk.file, row_offset=chunk.row_offset) from None
        if progress is not None:
            progress(chunk.batch.num_rows)
    return acc, fingerprint


def _timestamps_within_one_pane(plan: Plan) -> sources.ConstantColumn | None:
    """Parquet row groups whose timestamps (by their statistics: minimum, maximum, no nulls) all
    fall in one pane of every window give every row the same cell key: their timestamp column
    is not decoded (decoding it costs more than the rest of a windowed evaluation). Fixed-width
    UTC panes only (a pane is then a monotonic function of time); never for a plan that reads
    timestamps for anything else."""
    layout = plan.layout
    panes = [p for p in layout.panes if p.kind != "rows"]
    if layout.timestamp is None or not panes or not all(p.fixed_utc for p in panes):
        return None
    if layout.timestamp in plan.kernel_columns:  # a metric reads the timestamps themselves
        return None
    declared = layout.timestamp_unit

    def one_pane(kind: pa.DataType, low: int, high: int) -> bool:
        if pa.types.is_timestamp(kind):
            unit_ns = TIMESTAMP_UNIT_NS[kind.unit]
        elif declared is not None:
            unit_ns = TIMESTAMP_UNIT_NS[declared]
        else:
            return False
        # Stamps the core would reject (past the nanosecond range) are decoded, so that the
        # error names their row.
        if max(abs(low), abs(high)) * unit_ns >= 2**62:
            return False
        stamps = np.array([low, high], dtype=np.int64) * unit_ns
        return all(len(set(p.panes(stamps, None).tolist())) == 1 for p in panes)

    return sources.ConstantColumn(layout.timestamp, one_pane)


def state_fingerprint(acc: Accumulator) -> str:
    """An identity for data that has no files (an in-memory table): the hash of what was
    counted. It serialises the whole state, so it is computed only where a run id needs it."""
    return "state:" + hashlib.sha256(acc.to_bytes()).hexdigest()[:32]


def _is_in_memory(data: object) -> bool:
    """Paths, globs and folders are read from disk; anything else is data already in memory."""
    if isinstance(data, str | os.PathLike):
        return False
    return not (isinstance(data, Sequence) and all(isinstance(d, str | os.PathLike) for d in data))


def _split_list(values: Any, name: str, width: int) -> dict[str, KernelColumn]:
    """A column of per-class score lists (Arrow list / fixed-size list, or a 2-D array) -> one
    contiguous column per class, named ``name[i]``."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if isinstance(values, pa.Array):
        kind = values.type
        if not (
            pa.types.is_list(kind)
            or pa.types.is_large_list(kind)
            or pa.types.is_fixed_size_list(kind)
        ):
            raise DataError(f"has type {kind}; expected a list of per-class scores", column=name)
        if values.null_count:
            raise DataError("null score list", column=name, row=sources.first_null_row(values))
        lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(lengths != width)
        if len(bad):
            raise DataError(
                f"score list of length {lengths[bad[0]]}; expected {width} (one per label)",
                column=name,
                row=int(bad[0]),
            )
        flat = values.flatten()
        if flat.null_count:
            raise DataError("null score in a score list", column=name)
        matrix = flat.to_numpy(zero_copy_only=False).reshape(len(values), width)
    else:
        matrix = np.asarray(values)
        if matrix.ndim != 2 or matrix.shape[1] != width:
            raise DataError(
                f"expected per-class scores of shape (rows, {width}), got {matrix.shape}",
                column=name,
            )
    if matrix.dtype.kind not in "biuf":
        raise DataError(f"scores of dtype {matrix.dtype}; expected numbers", column=name)
    # One transposing copy: its rows are the class columns, contiguous (copying each column
    # on its own reads the whole matrix once per class).
    by_class = np.ascontiguousarray(matrix.T)
    return {f"{name}[{i}]": by_class[i] for i in range(width)}


def _from_pandas(frame: Any) -> pa.Table:
    if not hasattr(frame, "columns") or not hasattr(frame, "iloc"):
        raise TypeError(
            f"cannot read {type(frame).__name__}: expected a pyarrow Table or RecordBatch, "
            "a dict of arrays or a pandas DataFrame"
        )
    return pa.Table.from_pandas(frame, preserve_index=False)


def _mapping_column(batch: Mapping[str, Any], name: str, *, numeric: bool = False) -> KernelColumn:
    values = _mapping_values(batch, name)
    if (
        type(values) is np.ndarray
        and values.ndim == 1
        and values.dtype.kind in "biuf"
        and values.dtype.char != "e"  # float16 is widened below
        and values.flags.c_contiguous
    ):
        return values  # a service's usual column, as it is
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return _arrow_array(values, name, numeric=numeric)
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"expected a 1-D column, got shape {array.shape}", column=name)
    if array.dtype.kind in "biuf":
        if array.dtype == np.float16:
            array = array.astype(np.float32)
        return np.ascontiguousarray(array)
    if array.dtype.kind == "U" and not numeric:
        return sources.text_dictionary(array)
    return _arrow_array(pa.array(array, from_pandas=True), name, numeric=numeric)


def _mapping_values(batch: Mapping[str, Any], name: str) -> Any:
    """A dict batch's column; a missing one is a DataError listing the others."""
    if name not in batch:
        raise DataError(f"missing column; the batch has {sorted(map(str, batch))}", column=name)
    return batch[name]


def _column(table: pa.RecordBatch | pa.Table, name: str) -> pa.Array:
    """One column as a single Arrow array; a missing column is a DataError listing the others."""
    index = table.schema.get_field_index(name)
    if index < 0:
        raise DataError(f"missing column; the data has {table.schema.names}", column=name)
    return _single_array(table.column(index))


def _single_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def _arrow_column(
    table: pa.RecordBatch | pa.Table, name: str, *, numeric: bool = False
) -> KernelColumn:
    return _arrow_array(_column(table, name), name, numeric=numeric)


def _arrow_array(
    values: pa.Array | pa.ChunkedArray, name: str, *, numeric: bool = False
) -> KernelColumn:
    """The kernel form of one column: a numpy view, or (dictionary, indices) for strings.

    ``numeric`` columns (scores, regression values) that arrive as text (a CSV column with one
    stray word) are parsed as numbers, and the first value that is not one is named by its row.
    """
    values = _single_array(values)
    if values.null_count:
        first = sources.first_null_row(values)
        raise DataError(
            f"null value ({values.null_count} in this chunk); labels, predictions and scores "
            "must not be null",
            column=name,
            row=first,
        )
    kind = values.type
    if numeric and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return sources.numeric_view(_parse_numbers(values, name))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return sources.numeric_view(values)
    if pa.types.is_dictionary(kind):
        dictionary = values.dictionary
        if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
            return _arrow_array(values.dictionary_decode(), name, numeric=numeric)
        if numeric:
            return _arrow_array(values.dictionary_decode(), name, numeric=numeric)
        indices = sources.numeric_view(values.indices.cast(pa.int32()))
        return (dictionary.to_pylist(), indices)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _arrow_array(pc.dictionary_encode(values), name)
    raise DataError(f"has type {kind}; expected numbers, booleans or string labels", column=name)


def _parse_numbers(values: pa.Array, name: str) -> pa.Array:
    try:
        return values.cast(pa.float64())
    except pa.ArrowInvalid:
        pass
    numeric = pc.match_substring_regex(
        pc.utf8_trim_whitespace(values),
        r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|Inf|INF|nan|NaN|NAN)$",
    )
    bad = pc.invert(numeric)
    first = pc.index(bad, True).as_py()
    text = values[first].as_py() if first is not None and first >= 0 else "?"
    raise DataError(
        f"value {text!r} is not a number (the column holds text)",
        column=name,
        row=first if first is not None and first >= 0 else None,
    )

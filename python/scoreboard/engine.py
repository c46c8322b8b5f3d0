"""The engine: feeds chunks of data to the Rust executor and locates its errors in the input.

Columns reach the core as numpy views of the Arrow buffers (no copy for numeric columns without
nulls); string label columns are dictionary-encoded by pyarrow and sent as (dictionary, indices),
so the core never handles Python objects row by row.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scoreboard import _core, sources
from scoreboard.exceptions import DataError
from scoreboard.results import Results, from_core

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
Progress = Callable[[int], None]


class Accumulator:
    """Streaming state of a plan: ``update`` batches in, ``results`` at any time, ``merge`` and
    ``to_bytes`` to combine states built elsewhere (threads, processes, workers).

    Thread-safe: concurrent ``update`` calls serialise inside the core with the GIL released.
    """

    __slots__ = ("_columns", "_executor", "_lists", "plan")

    def __init__(self, plan: Plan, executor: _core.Executor | None = None) -> None:
        self.plan = plan
        self._columns = plan.input_columns
        self._lists = plan.list_columns
        self._executor = executor if executor is not None else _core.Executor(plan.to_json())

    @classmethod
    def from_bytes(cls, plan: Plan, blob: bytes) -> Accumulator:
        return cls(plan, _core.Executor.from_bytes(plan.to_json(), blob))

    @property
    def rows(self) -> int:
        return self._executor.rows

    def update(self, batch: pa.RecordBatch | pa.Table | Mapping[str, Any] | pd.DataFrame) -> None:
        """Folds one batch in: a pyarrow RecordBatch or Table, a dict of arrays, or a DataFrame.
        All or nothing: a rejected batch leaves the state unchanged."""
        columns: dict[str, KernelColumn] = {}
        if isinstance(batch, Mapping):
            for name in self._columns:
                if name in self._lists:
                    if name not in batch:
                        raise DataError(
                            f"missing column; the batch has {sorted(batch)}", column=name
                        )
                    columns.update(_split_list(batch[name], name, self._lists[name]))
                else:
                    columns[name] = _mapping_column(batch, name)
        else:
            table = batch if isinstance(batch, pa.RecordBatch | pa.Table) else _from_pandas(batch)
            for name in self._columns:
                if name in self._lists:
                    index = table.schema.get_field_index(name)
                    if index < 0:
                        raise DataError(
                            f"missing column; the data has {table.schema.names}", column=name
                        )
                    columns.update(_split_list(table.column(index), name, self._lists[name]))
                else:
                    columns[name] = _arrow_column(table, name)
        self._executor.update(columns)

    def merge(self, other: Accumulator) -> None:
        """Folds ``other`` (a state of the same plan) into this one."""
        self._executor.merge(other._executor)

    def copy(self) -> Accumulator:
        return Accumulator(self.plan, self._executor.copy())

    def to_bytes(self) -> bytes:
        return self._executor.to_bytes()

    def results(self, *, data_fingerprint: str | None = None) -> Results:
        return Results(
            from_core(self._executor.results()),
            model=self.plan.model,
            rows=self.rows,
            plan_hash=self.plan.plan_hash,
            data_fingerprint=data_fingerprint,
        )


def evaluate(
    plan: Plan, data: DataInput, *, chunk_rows: int = 1 << 20, progress: Progress | None = None
) -> Results:
    """Streams ``data`` through ``plan``. Errors name the file, row and column at fault."""
    acc, fingerprint = stream(plan, data, chunk_rows=chunk_rows, progress=progress)
    return acc.results(data_fingerprint=fingerprint)


def stream(
    plan: Plan, data: DataInput, *, chunk_rows: int = 1 << 20, progress: Progress | None = None
) -> tuple[Accumulator, str]:
    """Streams ``data`` into a new accumulator; returns it with the data's fingerprint."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    acc = plan.accumulator()
    columns = plan.input_columns
    if _is_in_memory(data):
        chunks = sources.iter_table_chunks(data, columns, chunk_rows=chunk_rows)
        fingerprint = None
    else:
        paths = sources.resolve_paths(data)  # type: ignore[arg-type]
        chunks = sources.iter_chunks(paths, columns, chunk_rows=chunk_rows)
        fingerprint = sources.data_fingerprint(paths)
    for chunk in chunks:
        try:
            acc.update(chunk.batch)
        except DataError as exc:
            raise exc.located(file=chunk.file, row_offset=chunk.row_offset) from None
        if progress is not None:
            progress(chunk.batch.num_rows)
    if fingerprint is None:
        # In-memory data has no file identity; the final state identifies what was counted.
        fingerprint = "state:" + hashlib.sha256(acc.to_bytes()).hexdigest()[:32]
    return acc, fingerprint


def _is_in_memory(data: object) -> bool:
    """Paths, globs and folders are read from disk; anything else is data already in memory."""
    if isinstance(data, str | os.PathLike):
        return False
    return not (
        isinstance(data, Sequence) and all(isinstance(d, str | os.PathLike) for d in data)
    )


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
    return {f"{name}[{i}]": np.ascontiguousarray(matrix[:, i]) for i in range(width)}


def _from_pandas(frame: Any) -> pa.Table:
    if not hasattr(frame, "columns") or not hasattr(frame, "iloc"):
        raise TypeError(
            f"cannot read {type(frame).__name__}: expected a pyarrow Table or RecordBatch, "
            "a dict of arrays or a pandas DataFrame"
        )
    return pa.Table.from_pandas(frame, preserve_index=False)


def _mapping_column(batch: Mapping[str, Any], name: str) -> KernelColumn:
    if name not in batch:
        raise DataError(f"missing column; the batch has {sorted(map(str, batch))}", column=name)
    values = batch[name]
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return _arrow_array(values, name)
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"expected a 1-D column, got shape {array.shape}", column=name)
    if array.dtype.kind in "biuf":
        if array.dtype == np.float16:
            array = array.astype(np.float32)
        return np.ascontiguousarray(array)
    return _arrow_array(pa.array(array, from_pandas=True), name)


def _arrow_column(table: pa.RecordBatch | pa.Table, name: str) -> KernelColumn:
    index = table.schema.get_field_index(name)
    if index < 0:
        raise DataError(f"missing column; the data has {table.schema.names}", column=name)
    return _arrow_array(table.column(index), name)


def _arrow_array(values: pa.Array | pa.ChunkedArray, name: str) -> KernelColumn:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if values.null_count:
        first = sources.first_null_row(values)
        raise DataError(
            f"null value ({values.null_count} in this chunk); labels, predictions and scores "
            "must not be null",
            column=name,
            row=first,
        )
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        if pa.types.is_float16(kind):
            values = values.cast(pa.float32())
        array: np.ndarray = values.to_numpy(zero_copy_only=False)
        return array
    if pa.types.is_dictionary(kind):
        dictionary = values.dictionary
        if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
            values = values.dictionary_decode()
            return _arrow_array(values, name)
        indices = values.indices.cast(pa.int32()).to_numpy(zero_copy_only=False)
        return (dictionary.to_pylist(), indices)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        encoded = pc.dictionary_encode(values)
        return _arrow_array(encoded, name)
    raise DataError(f"has type {kind}; expected numbers, booleans or string labels", column=name)

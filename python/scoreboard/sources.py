"""Streaming readers: prediction files (or in-memory data) to Arrow record batches in chunks.

Every input ends up as a sequence of :class:`Chunk` objects: a ``pyarrow.RecordBatch`` holding only
the requested columns, in the requested order, with at most ``chunk_rows`` rows, plus the file it
came from and the index of its first row within that file. The engine updates its accumulators one
chunk at a time, so memory is bounded by ``chunk_rows`` (and by the reader's block or row-group
buffer), never by the size of a file or of the whole input.

Inputs
    :func:`resolve_paths` turns files, globs (``preds/*.parquet``, ``**`` recursive) and folders
    (every supported file inside, recursively) into a sorted, de-duplicated list. Inside a folder,
    names starting with ``.`` or ``_`` are ignored (``_SUCCESS``, ``.part.crc``), as pyarrow's
    dataset API does. Several inputs keep the order they were given in; each one expands sorted.

Formats (by extension, or forced with ``format=``; one reader function per format)
    * ``.parquet`` / ``.pq``: only the requested columns are read; page checksums are verified
      when present. A row group of a quarter chunk to 4 chunks is decoded whole (about a third
      less CPU than pyarrow's batch iterator on the same pages); runs of smaller groups, and any
      larger group, stream through ``ParquetFile.iter_batches`` page by page.
      A :class:`ConstantColumn` (the engine's timestamp column under fixed-width windows) is not
      decoded in a row group of 65,536 rows or more whose statistics (minimum, maximum, no
      nulls) pass its test: it is filled with the group's minimum, as query engines trust
      those statistics to skip data (one run-end encoded run, not a copy per row).
    * ``.csv`` / ``.tsv`` (optionally ``.gz`` / ``.bz2`` / ``.zst``): pyarrow's streaming CSV reader
      with ``include_columns``; the block size is estimated from the first 64 KiB so a block holds
      about ``chunk_rows`` rows (clamped to 1-64 MiB). Quoted values may contain newlines.
    * ``.arrow`` / ``.feather`` / ``.ipc``: Arrow IPC file or stream format, memory-mapped, reading
      only the requested fields.
    * ``.jsonl`` / ``.ndjson`` (optionally compressed): pyarrow's streaming JSON reader. Types are
      inferred from the first block, then the file is read with that schema restricted to the
      requested columns, so other fields are ignored wherever they appear.

Schemas
    Every file must give each requested column the same Arrow type as the first file that had it.
    Nullability may differ (Parquet writers disagree on it); nothing else may (int32 vs int64,
    int64 vs string, timestamp units or time zones, dictionary vs plain strings all fail). The one
    exception is a column of Arrow type ``null`` (what CSV/JSON inference gives a column with no
    value in its first block, e.g. a header-only CSV file): it matches any type. A mismatch is a
    :class:`~scoreboard.exceptions.DataError` raised before any chunk of the later file is yielded,
    naming both files and both types. All chunks of one call share one schema (fields nullable,
    no metadata; a ``null`` column is cast to the type the column has elsewhere). CSV and JSON
    types are inferred from the first block of each file: a later value that does not fit (``1.5``
    in a column inferred as int64) is an error with the file and, where pyarrow reports it, the row.

Nulls (CSV)
    pyarrow's defaults are kept: in a numeric or boolean column the strings ``""``, ``NA``, ``N/A``,
    ``n/a``, ``NaN``, ``nan``, ``-NaN``, ``-nan``, ``NULL``, ``null``, ``#N/A``, ``#N/A N/A``,
    ``#NA``, ``1.#IND``, ``-1.#IND``, ``1.#QNAN``, ``-1.#QNAN`` become **null** (not NaN), while
    ``inf`` / ``-inf`` become infinities. String columns never hold nulls (``NA`` stays the text
    ``"NA"``). The engine rejects nulls in label and score columns with the file and row; use
    :func:`first_null_row` to locate them.

Nulls (in-memory)
    NumPy arrays and lists keep NaN as NaN; pandas objects follow pandas' convention (NaN, None and
    NaT are missing values and become null), as ``pyarrow.Table.from_pandas`` does.

Errors
    Every data problem is a :class:`~scoreboard.exceptions.DataError` carrying ``file`` and, when
    known, ``column`` and ``row`` (0-based within the file). No pyarrow exception escapes: opening
    and reading (including mid-stream) are wrapped.
"""

from __future__ import annotations

import difflib
import functools
import glob
import hashlib
import operator
import os
import queue
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from scoreboard import _core
from scoreboard.exceptions import DataError

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "MEMORY_FILE",
    "SUPPORTED_EXTENSIONS",
    "TABLE_FILE",
    "Chunk",
    "data_fingerprint",
    "first_null_row",
    "iter_chunks",
    "iter_table_chunks",
    "prefetch",
    "resolve_paths",
    "schema_fingerprint",
    "table_fingerprint",
]

DEFAULT_CHUNK_ROWS = 1_048_576
TABLE_FILE = "<table>"  # Chunk.file for a pyarrow Table / RecordBatch or a pandas DataFrame
MEMORY_FILE = "<memory>"  # Chunk.file for a dict of arrays

PathInput: TypeAlias = str | os.PathLike[str]
Inputs: TypeAlias = PathInput | Sequence[PathInput]

# What pyarrow raises for unreadable data (UnicodeDecodeError: a column name that is not UTF-8).
_ARROW_ERRORS: tuple[type[BaseException], ...] = (pa.ArrowException, OSError, UnicodeDecodeError)
_GLOB_MAGIC = re.compile(r"[*?\[]")
_IGNORED_PREFIXES = (".", "_")
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst")
_SAMPLE_BYTES = 64 * 1024
_MIN_BLOCK_BYTES = 1 << 20
_MAX_BLOCK_BYTES = 64 << 20
_HEADER_PROBE_BYTES = 1 << 20
_PARQUET_BUFFER_BYTES = 1 << 20
# A row group read on its own (to fill its timestamps) is a batch of its own, some 0.5 ms of reader
# and engine overhead: the time to decode about 25,000 timestamps. Smaller groups are decoded.
_MIN_FILLED_ROWS = 65_536
# The largest row group decoded at once, in chunks (larger ones stream through the batch iterator).
_WHOLE_GROUP_CHUNKS = 4
_FINGERPRINT_ROWS = 65_536
_MAX_LISTED_COLUMNS = 30


@dataclass(frozen=True)
class Chunk:
    """One slice of input: at most ``chunk_rows`` rows of the requested columns, in order."""

    file: str
    row_offset: int
    batch: pa.RecordBatch

    @property
    def num_rows(self) -> int:
        return int(self.batch.num_rows)


# --------------------------------------------------------------------------------------------
# Paths


def resolve_paths(inputs: Inputs) -> list[Path]:
    """Expand files, globs and folders into a de-duplicated list of files.

    Each input expands sorted; inputs keep the order they were given in. A path that matches
    nothing, or a folder holding no supported file, is a :class:`DataError`.
    """
    items = _input_list(inputs)
    if not items:
        raise DataError("no input file given")
    seen: set[Path] = set()
    resolved: list[Path] = []
    for item in items:
        for path in _expand(item):
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                resolved.append(path)
    return resolved


def _input_list(inputs: Inputs) -> list[str]:
    if isinstance(inputs, str | os.PathLike):
        return [os.fspath(inputs)]
    return [os.fspath(item) for item in inputs]


def _expand(item: str) -> list[Path]:
    path = Path(os.path.expanduser(item))
    if path.is_dir():
        return _folder_files(path)
    if path.exists():
        return [path]
    if not _GLOB_MAGIC.search(item):
        raise DataError("file not found", file=item)
    files: list[Path] = []
    for match in glob.glob(os.path.expanduser(item), recursive=True):
        candidate = Path(match)
        if candidate.is_dir():
            files.extend(_folder_files(candidate, required=False))
        elif candidate.is_file():
            files.append(candidate)
    if not files:
        raise DataError(f"no file matches the pattern {item!r}", file=item)
    return sorted(set(files), key=str)


def _folder_files(folder: Path, *, required: bool = True) -> list[Path]:
    files: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(_IGNORED_PREFIXES)]
        for name in names:
            if not name.startswith(_IGNORED_PREFIXES) and _lookup_extension(name) is not None:
                files.append(Path(root) / name)
    if required and not files:
        raise DataError(
            f"folder holds no supported data file ({', '.join(SUPPORTED_EXTENSIONS)})",
            file=str(folder),
        )
    return sorted(files, key=str)


# --------------------------------------------------------------------------------------------
# Readers: each opens one file eagerly (so the schema is known before any batch is read) and
# returns its batches lazily.


@dataclass
class _Opened:
    schema: pa.Schema  # the requested columns, in the requested order
    batches: Iterator[pa.RecordBatch]
    close: Callable[[], None]


_Reader: TypeAlias = Callable[[Path, list[str], int], _Opened]


@dataclass(frozen=True)
class ConstantColumn:
    """A column a Parquet row group need not decode when its statistics say every row may read
    the same value: ``test(type, min, max)`` (raw physical minimum and maximum, no nulls) says
    so, and the column is then filled with the minimum instead (the engine: a timestamp column
    whose row group lies within one pane of every window)."""

    column: str
    test: Callable[[pa.DataType, int, int], bool]


@dataclass(frozen=True)
class _Format:
    label: str
    reader: _Reader
    compressible: bool


def _open_parquet(
    path: Path, columns: list[str], chunk_rows: int, *, constant: ConstantColumn | None = None
) -> _Opened:
    present = set(pq.read_schema(str(path)).names)
    parquet = pq.ParquetFile(
        str(path),
        pre_buffer=False,
        buffer_size=_PARQUET_BUFFER_BYTES,
        page_checksum_verification=True,
        # Text columns (labels, segments) stay dictionary-encoded as Parquet stores them: no
        # string is materialised, and the engine uses the dictionary as it is.
        read_dictionary=[c for c in columns if c in present],
    )
    try:
        schema = _project_schema(parquet.schema_arrow, columns, str(path))
    except BaseException:
        parquet.close()
        raise
    constants = _constant_row_groups(parquet, constant, columns)
    batches = _parquet_batches(parquet, columns, chunk_rows, str(path), constants)
    return _Opened(schema, batches, parquet.close)


def _constant_row_groups(
    parquet: pq.ParquetFile, constant: ConstantColumn | None, columns: list[str]
) -> dict[int, tuple[pa.Field, int]]:
    """Row groups whose ``constant.column`` need not be decoded: index -> (field, value)."""
    if constant is None or constant.column not in parquet.schema_arrow.names:
        return {}
    if not any(c != constant.column for c in columns):  # a batch needs another column's rows
        return {}
    field = parquet.schema_arrow.field(constant.column)
    kind = field.type
    if not (pa.types.is_timestamp(kind) or pa.types.is_signed_integer(kind)):
        return {}
    metadata = parquet.metadata
    out: dict[int, tuple[pa.Field, int]] = {}
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        if group.num_rows < _MIN_FILLED_ROWS:
            continue
        chunk = next(
            (
                group.column(j)
                for j in range(group.num_columns)
                if group.column(j).path_in_schema == constant.column
            ),
            None,
        )
        stats = None if chunk is None else chunk.statistics
        if (
            stats is None
            or chunk is None
            or chunk.physical_type not in ("INT32", "INT64")
            or not stats.has_min_max
            or not stats.has_null_count
            or stats.null_count != 0
        ):
            continue
        low, high = int(stats.min_raw), int(stats.max_raw)
        if constant.test(field.type, low, high):
            out[index] = (field, low)
    return out


def _parquet_batches(
    parquet: pq.ParquetFile,
    columns: list[str],
    chunk_rows: int,
    file: str,
    constants: dict[int, tuple[pa.Field, int]],
) -> Iterator[pa.RecordBatch]:
    offset = 0
    for group_read in _row_group_reads(parquet.metadata, chunk_rows, constants):
        fill = group_read.fill
        read = columns if fill is None else [c for c in columns if c != fill[0].name]
        batches = (
            _whole_row_group(parquet, group_read.groups[0], read, chunk_rows)
            if group_read.whole
            else parquet.iter_batches(
                batch_size=chunk_rows, columns=read, row_groups=group_read.groups
            )
        )
        while True:
            try:
                batch = next(batches, None)
            except _ARROW_ERRORS as exc:
                group = _row_group_of(parquet.metadata, offset)
                raise DataError(
                    f"cannot read Parquet data from row {offset} on (row group {group}): "
                    f"{_arrow_message(exc)}",
                    file=file,
                ) from exc
            if batch is None:
                break
            if fill is not None:
                filled = _filled(fill[0].type, fill[1], batch.num_rows)
                batch = batch.append_column(pa.field(fill[0].name, filled.type), filled)
            offset += batch.num_rows
            yield batch


@dataclass(frozen=True)
class _GroupRead:
    """Row groups read in one go: through the batch iterator, or (``whole``) one group decoded
    at once; ``fill`` is the constant column not decoded and its value."""

    groups: list[int]
    whole: bool = False
    fill: tuple[pa.Field, int] | None = None


def _row_group_reads(
    metadata: pq.FileMetaData, chunk_rows: int, constants: dict[int, tuple[pa.Field, int]]
) -> Iterator[_GroupRead]:
    """The row groups in order, as reads. A group of a quarter chunk to _WHOLE_GROUP_CHUNKS
    chunks is decoded whole (pyarrow's batch iterator spends about a third more CPU on the same
    pages); a group whose constant column is filled is read on its own (whole if its size
    allows). Runs of the other groups go through the batch iterator, which joins small groups
    into full chunks and bounds a huge group's memory by the chunk."""
    run: list[int] = []
    for index in range(metadata.num_row_groups):
        rows = metadata.row_group(index).num_rows
        whole = chunk_rows // 4 <= rows <= _WHOLE_GROUP_CHUNKS * chunk_rows
        fill = constants.get(index)
        if whole or fill is not None:
            if run:
                yield _GroupRead(run)
                run = []
            yield _GroupRead([index], whole, fill)
        else:
            run.append(index)
    if run:
        yield _GroupRead(run)


def _whole_row_group(
    parquet: pq.ParquetFile, index: int, columns: list[str], chunk_rows: int
) -> Iterator[pa.RecordBatch]:
    """One row group decoded at once, as chunks of at most ``chunk_rows`` rows."""
    yield from parquet.read_row_group(index, columns=columns).to_batches(max_chunksize=chunk_rows)


def _filled(kind: pa.DataType, value: int, rows: int) -> pa.RunEndEncodedArray:
    """``rows`` copies of a raw integer value of ``kind`` (integer or timestamp), run-end
    encoded: one run, whatever the number of rows (the engine keys every row by that one
    value, and a column of copies would cost more to write than the rest of the row group)."""
    storage = pa.int64() if pa.types.is_timestamp(kind) else kind
    one = pa.array([value], type=storage)
    return pa.RunEndEncodedArray.from_arrays(
        pa.array([rows], pa.int64()), one if storage == kind else one.view(kind)
    )


def _row_group_of(metadata: pq.FileMetaData, row: int) -> int:
    start = 0
    for index in range(metadata.num_row_groups):
        start += metadata.row_group(index).num_rows
        if row < start:
            return index
    return max(int(metadata.num_row_groups) - 1, 0)


def _open_csv(path: Path, columns: list[str], chunk_rows: int) -> _Opened:
    return _open_delimited(path, columns, chunk_rows, delimiter=",")


def _open_tsv(path: Path, columns: list[str], chunk_rows: int) -> _Opened:
    return _open_delimited(path, columns, chunk_rows, delimiter="\t")


def _open_delimited(path: Path, columns: list[str], chunk_rows: int, *, delimiter: str) -> _Opened:
    file = str(path)
    parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    header = _csv_header(path, parse)
    if header is not None:
        _check_columns(header, columns, file)
    read = pa_csv.ReadOptions(use_threads=False, block_size=_block_size(path, chunk_rows))
    convert = pa_csv.ConvertOptions(include_columns=columns)
    stream = _open_text(path)
    try:
        reader = pa_csv.open_csv(
            stream, read_options=read, parse_options=parse, convert_options=convert
        )
    except _ARROW_ERRORS as exc:
        stream.close()
        raise _csv_error(exc, file, header) from exc

    def close() -> None:
        reader.close()
        stream.close()

    return _Opened(reader.schema, _csv_batches(reader, file, header), close)


def _csv_header(path: Path, parse: pa_csv.ParseOptions) -> list[str] | None:
    """Column names of a CSV file, or None when the start of the file cannot be parsed."""
    read = pa_csv.ReadOptions(use_threads=False, block_size=_HEADER_PROBE_BYTES)
    try:
        with _open_text(path) as stream:
            reader = pa_csv.open_csv(stream, read_options=read, parse_options=parse)
            names = list(reader.schema.names)
            reader.close()
            return names
    except _ARROW_ERRORS:
        return None


def _csv_batches(
    reader: pa_csv.CSVStreamingReader, file: str, header: list[str] | None
) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except _ARROW_ERRORS as exc:
            raise _csv_error(exc, file, header) from exc
        yield batch


_CSV_ROW = re.compile(r"Row #(\d+): ")
_CSV_COLUMN = re.compile(r"In CSV column #(\d+): ")


def _csv_error(exc: BaseException, file: str, header: list[str] | None) -> DataError:
    """A pyarrow CSV error as a DataError; "Row #N" counts the header as row 1."""
    message = _arrow_message(exc)
    row_match = _CSV_ROW.search(message)
    row = int(row_match.group(1)) - 2 if row_match else None
    column_match = _CSV_COLUMN.search(message)
    column = None
    if column_match and header is not None and int(column_match.group(1)) < len(header):
        column = header[int(column_match.group(1))]
    message = _CSV_COLUMN.sub("", _CSV_ROW.sub("", message))
    hint = ""
    if "conversion error" in message:
        hint = " (CSV column types are inferred from the first block of each file)"
    return DataError(
        f"cannot read CSV file: {message}{hint}",
        file=file,
        column=column,
        row=row if row is not None and row >= 0 else None,
    )


def _open_jsonl(path: Path, columns: list[str], chunk_rows: int) -> _Opened:
    file = str(path)
    read = pa_json.ReadOptions(use_threads=False, block_size=_block_size(path, chunk_rows))
    with _open_text(path) as probe:
        try:
            inferred = pa_json.open_json(probe, read_options=read).schema
        except _ARROW_ERRORS as exc:
            raise _json_error(exc, file, rows_before=0) from exc
    schema = _project_schema(inferred, columns, file)
    parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    stream = _open_text(path)
    try:
        reader = pa_json.open_json(stream, read_options=read, parse_options=parse)
    except _ARROW_ERRORS as exc:
        stream.close()
        raise _json_error(exc, file, rows_before=0) from exc

    def close() -> None:
        reader.close()
        stream.close()

    return _Opened(schema, _json_batches(reader, file), close)


def _json_batches(reader: pa_json.JSONStreamingReader, file: str) -> Iterator[pa.RecordBatch]:
    rows = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except _ARROW_ERRORS as exc:
            raise _json_error(exc, file, rows_before=rows) from exc
        rows += batch.num_rows
        yield batch


_JSON_ROW = re.compile(r"\s*in row (\d+)$")
_JSON_COLUMN = re.compile(r"Column\(/([^)/]*)\)")


def _json_error(exc: BaseException, file: str, *, rows_before: int) -> DataError:
    """A pyarrow JSON error; its "in row N" counts from the start of the failing block."""
    message = _arrow_message(exc)
    match = _JSON_ROW.search(message)
    row = rows_before + int(match.group(1)) if match else None
    column = _JSON_COLUMN.search(message)
    return DataError(
        f"cannot read JSON lines file: {_JSON_ROW.sub('', message)}",
        file=file,
        row=row,
        column=column.group(1) if column else None,
    )


def _open_ipc(path: Path, columns: list[str], chunk_rows: int) -> _Opened:
    source = pa.memory_map(str(path), "r")
    try:
        full, is_file_format = _ipc_schema(source, str(path))
        schema = _project_schema(full, columns, str(path))
        fields = sorted(full.get_field_index(name) for name in columns)
        options = pa_ipc.IpcReadOptions(included_fields=fields)
        source.seek(0)
        if is_file_format:
            reader = pa_ipc.open_file(source, options=options)
            batches = _ipc_file_batches(reader)
        else:
            reader = pa_ipc.open_stream(source, options=options)
            batches = _ipc_stream_batches(reader)
    except BaseException:
        source.close()
        raise
    return _Opened(schema, batches, source.close)


def _ipc_schema(source: pa.MemoryMappedFile, file: str) -> tuple[pa.Schema, bool]:
    """The schema of an Arrow IPC file, and whether it is the file (not the stream) format."""
    try:
        return pa_ipc.open_file(source).schema, True
    except pa.ArrowInvalid:
        source.seek(0)
    try:
        return pa_ipc.open_stream(source).schema, False
    except pa.ArrowInvalid as exc:
        raise DataError(
            f"not an Arrow IPC file or stream (Feather v1 is not supported): {exc}", file=file
        ) from exc


def _ipc_file_batches(reader: pa_ipc.RecordBatchFileReader) -> Iterator[pa.RecordBatch]:
    for index in range(reader.num_record_batches):
        yield reader.get_batch(index)


def _ipc_stream_batches(reader: pa_ipc.RecordBatchStreamReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return


_FORMATS: dict[str, _Format] = {
    ".parquet": _Format("Parquet", _open_parquet, compressible=False),
    ".pq": _Format("Parquet", _open_parquet, compressible=False),
    ".csv": _Format("CSV", _open_csv, compressible=True),
    ".tsv": _Format("TSV", _open_tsv, compressible=True),
    ".arrow": _Format("Arrow IPC", _open_ipc, compressible=False),
    ".feather": _Format("Arrow IPC", _open_ipc, compressible=False),
    ".ipc": _Format("Arrow IPC", _open_ipc, compressible=False),
    ".jsonl": _Format("JSON lines", _open_jsonl, compressible=True),
    ".ndjson": _Format("JSON lines", _open_jsonl, compressible=True),
}
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(_FORMATS)


def _lookup_extension(name: str) -> _Format | None:
    lowered = name.lower()
    compressed = lowered.endswith(_COMPRESSION_SUFFIXES)
    if compressed:
        lowered = os.path.splitext(lowered)[0]
    fmt = _FORMATS.get(os.path.splitext(lowered)[1])
    if fmt is None or (compressed and not fmt.compressible):
        return None
    return fmt


def _format_for(path: Path, override: str | None) -> _Format:
    if override is not None:
        fmt = _FORMATS.get("." + override.lower().lstrip("."))
        if fmt is None:
            known = ", ".join(ext.lstrip(".") for ext in SUPPORTED_EXTENSIONS)
            raise DataError(f"unknown format {override!r}; known formats: {known}")
        return fmt
    fmt = _lookup_extension(path.name)
    if fmt is None:
        raise DataError(
            f"unsupported file type; supported: {', '.join(SUPPORTED_EXTENSIONS)} "
            "(CSV, TSV and JSON lines may be .gz/.bz2/.zst); pass format= to force one",
            file=str(path),
        )
    return fmt


# --------------------------------------------------------------------------------------------
# Streaming


def iter_chunks(
    inputs: Inputs,
    columns: Sequence[str],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    format: str | None = None,
    constant: ConstantColumn | None = None,
) -> Iterator[Chunk]:
    """Stream the requested columns of every input file, in order, in chunks of ≤ chunk_rows rows.

    Paths, formats and file sizes are checked now (errors raise here, before any data is read);
    files are opened one at a time as the iterator advances, and each file's schema is checked
    before any of its chunks is yielded. ``constant`` names a column that Parquet row groups
    whose statistics pass its test fill with their minimum rather than decode.
    """
    wanted = _normalize_columns(columns)
    rows = _check_chunk_rows(chunk_rows)
    plan = [(path, _format_for(path, format)) for path in resolve_paths(inputs)]
    for path, _ in plan:
        _check_readable(path)
    return _stream_files(plan, wanted, rows, constant)


def prefetch(chunks: Iterator[Chunk], depth: int = 1) -> Iterator[Chunk]:
    """``chunks``, read ahead by a background thread: up to ``depth`` chunks wait while the
    caller works on the current one, so reading and decoding (which release the GIL) overlap
    the caller's computation. Same chunks, same order; an error of the reader is raised where
    the chunk it stopped at would have been yielded. Leaving early (an error or ``close()``)
    stops the thread, which closes ``chunks`` itself."""
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not offer(("chunk", chunk)):
                    return
            offer(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            offer(("error", exc))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="scoreboard-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = handoff.get()
            if kind == "chunk":
                yield item
            elif kind == "error":
                raise item
            else:
                return
    finally:
        stop.set()
        worker.join()


def _stream_files(
    plan: list[tuple[Path, _Format]],
    columns: list[str],
    chunk_rows: int,
    constant: ConstantColumn | None = None,
) -> Iterator[Chunk]:
    guard = _SchemaGuard()
    for path, fmt in plan:
        reader = fmt.reader
        if constant is not None and reader is _open_parquet:
            reader = functools.partial(_open_parquet, constant=constant)
        yield from _stream_file(path, fmt.label, reader, columns, chunk_rows, guard)


def _stream_file(
    path: Path,
    label: str,
    reader: _Reader,
    columns: list[str],
    chunk_rows: int,
    guard: _SchemaGuard,
) -> Iterator[Chunk]:
    file = str(path)
    _check_readable(path)
    with _wrap_arrow_errors(file, f"cannot open {label} file"):
        opened = reader(path, columns, chunk_rows)
    try:
        guard.check(opened.schema, file)
        offset = 0
        batches = _pull(
            opened.batches,
            lambda batch: guard.conform(_project(batch, columns)),
            file,
            f"cannot read {label} file",
        )
        for batch in batches:
            for piece in _slices(batch, chunk_rows):
                yield Chunk(file, offset, piece)
                offset += piece.num_rows
    finally:
        with suppress(*_ARROW_ERRORS):
            opened.close()


def _check_readable(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError("file not found", file=str(path)) from None
    except OSError as exc:
        raise DataError(f"cannot access file: {exc.strerror or exc}", file=str(path)) from exc
    if size == 0:
        raise DataError("file is empty (0 bytes)", file=str(path))


@contextmanager
def _wrap_arrow_errors(file: str, what: str) -> Iterator[None]:
    try:
        yield
    except _ARROW_ERRORS as exc:
        raise DataError(f"{what}: {_arrow_message(exc)}", file=file) from exc


def _pull(
    batches: Iterator[pa.RecordBatch],
    prepare: Callable[[pa.RecordBatch], pa.RecordBatch],
    file: str,
    what: str,
) -> Iterator[pa.RecordBatch]:
    """The batches, prepared; a pyarrow error while producing one is a DataError."""
    while True:
        with _wrap_arrow_errors(file, what):
            batch = next(batches, None)
            if batch is None:
                return
            batch = prepare(batch)
        yield batch


def _slices(batch: pa.RecordBatch, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Zero-copy slices of at most chunk_rows rows; empty batches are dropped."""
    if 0 < batch.num_rows <= chunk_rows:
        yield batch
    elif batch.num_rows > chunk_rows:
        for start in range(0, batch.num_rows, chunk_rows):
            yield batch.slice(start, chunk_rows)


def _project(batch: pa.RecordBatch, columns: list[str]) -> pa.RecordBatch:
    return batch if batch.schema.names == columns else batch.select(columns)


class _SchemaGuard:
    """Remembers each column's type from the first file that had one; rejects later differences.

    It also gives every batch the same schema: all fields nullable, no metadata, and a ``null``
    column cast to the column's known type.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[pa.DataType, str]] = {}
        self._target = pa.schema([])

    def check(self, schema: pa.Schema, file: str) -> None:
        problems: list[tuple[str, str]] = []
        for field in schema:
            kind = _logical_type(field.type)
            seen = self._seen.get(field.name)
            if seen is None or pa.types.is_null(seen[0]):
                self._seen[field.name] = (kind, file)
            elif not (pa.types.is_null(kind) or kind.equals(seen[0])):
                message = f"{field.name!r} is {kind} in {file} but {seen[0]} in {seen[1]}"
                problems.append((field.name, message))
        if problems:
            raise DataError(
                "column types differ between files: "
                + "; ".join(text for _, text in problems)
                + " (every file must give a column the same type; only nullability may differ)",
                file=file,
                column=problems[0][0],
            )
        self._target = pa.schema([pa.field(name, self._seen[name][0]) for name in schema.names])

    def conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if batch.schema.equals(self._target):
            return batch
        arrays = [
            pa.nulls(len(column), field.type)
            if pa.types.is_null(column.type) and not pa.types.is_null(field.type)
            else column
            for column, field in zip(batch.columns, self._target, strict=True)
        ]
        # A dictionary or run-end encoded column keeps its encoding (its logical type was
        # checked).
        schema = pa.schema(
            [
                pa.field(
                    field.name,
                    array.type if _logical_type(array.type).equals(field.type) else field.type,
                )
                for array, field in zip(arrays, self._target, strict=True)
            ]
        )
        return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _logical_type(kind: pa.DataType) -> pa.DataType:
    """The type a column's values have, whether or not they are dictionary or run-end encoded."""
    encoded = pa.types.is_dictionary(kind) or pa.types.is_run_end_encoded(kind)
    return kind.value_type if encoded else kind


# --------------------------------------------------------------------------------------------
# Columns


def _normalize_columns(columns: Sequence[str]) -> list[str]:
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise TypeError("columns must be a sequence of column names (str)")
    wanted = list(dict.fromkeys(columns))
    if not wanted:
        raise ValueError("at least one column must be requested")
    return wanted


def _check_chunk_rows(chunk_rows: int) -> int:
    try:
        rows = operator.index(chunk_rows)
    except TypeError:
        raise TypeError(f"chunk_rows must be an integer, got {chunk_rows!r}") from None
    if rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {rows}")
    return rows


def _check_columns(available: Sequence[str], columns: Sequence[str], file: str) -> None:
    """Raise a DataError for the first requested column that is missing or ambiguous."""
    counts = Counter(available)
    for name in columns:
        if counts[name] == 0:
            raise DataError(_missing_message(name, available), file=file, column=name)
        if counts[name] > 1:
            raise DataError(
                f"column name appears {counts[name]} times; it must be unique",
                file=file,
                column=name,
            )


def _missing_message(name: str, available: Sequence[str]) -> str:
    listed = ", ".join(repr(c) for c in available[:_MAX_LISTED_COLUMNS])
    if len(available) > _MAX_LISTED_COLUMNS:
        listed += f", ... ({len(available) - _MAX_LISTED_COLUMNS} more)"
    message = f"column not found; available columns: {listed or '(none)'}"
    close = difflib.get_close_matches(name, list(available), n=1, cutoff=0.6)
    if not close:
        close = [c for c in available if c.lower() == name.lower()][:1]
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return message


def _project_schema(schema: pa.Schema, columns: Sequence[str], file: str) -> pa.Schema:
    _check_columns(schema.names, columns, file)
    return pa.schema([schema.field(name) for name in columns])


# --------------------------------------------------------------------------------------------
# Text files (CSV, JSON lines)


def _open_text(path: Path) -> pa.NativeFile:
    """An input stream, decompressed according to the extension (.gz, .bz2, .zst)."""
    return pa.input_stream(str(path), compression="detect")


def _block_size(path: Path, chunk_rows: int) -> int:
    """A reader block size (bytes) for about chunk_rows rows, estimated from the first 64 KiB."""
    with _open_text(path) as stream:
        sample = stream.read(_SAMPLE_BYTES)
    lines = sample.count(b"\n")
    per_row = len(sample) / lines if lines else float(_SAMPLE_BYTES)
    return int(min(max(per_row * chunk_rows * 1.1, _MIN_BLOCK_BYTES), _MAX_BLOCK_BYTES))


def _arrow_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, pa.ArrowException):
        return str(exc.strerror)
    return str(exc).strip() or type(exc).__name__


# --------------------------------------------------------------------------------------------
# In-memory data


def iter_table_chunks(
    data: Any, columns: Sequence[str], *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[Chunk]:
    """Chunks of in-memory data: a pyarrow Table or RecordBatch, a pandas DataFrame, or a mapping
    of column name to NumPy array, list, pandas Series or pyarrow Array.

    Columns are checked and converted now (errors raise here); chunks are zero-copy slices.
    ``Chunk.file`` is ``"<table>"`` for tables and data frames, ``"<memory>"`` for a mapping.
    """
    wanted = _normalize_columns(columns)
    rows = _check_chunk_rows(chunk_rows)
    table, name = _to_table(data, wanted)
    return _table_chunks(table, name, rows)


def _table_chunks(table: pa.Table, name: str, chunk_rows: int) -> Iterator[Chunk]:
    offset = 0
    for batch in table.to_batches(max_chunksize=chunk_rows):
        if batch.num_rows:
            yield Chunk(name, offset, batch)
            offset += batch.num_rows


def _to_table(data: Any, columns: list[str]) -> tuple[pa.Table, str]:
    if isinstance(data, pa.Table | pa.RecordBatch):
        _check_columns(data.schema.names, columns, TABLE_FILE)
        selected = data.select(columns)
        if isinstance(selected, pa.RecordBatch):
            selected = pa.Table.from_batches([selected])
        return selected, TABLE_FILE
    if _is_pandas(data, "DataFrame"):
        names = [c for c in data.columns if isinstance(c, str)]
        _check_columns(names, columns, TABLE_FILE)
        arrays = [column_array(name, data[name], TABLE_FILE) for name in columns]
        return pa.Table.from_arrays(arrays, names=columns), TABLE_FILE
    if isinstance(data, Mapping):
        return _mapping_table(data, columns), MEMORY_FILE
    raise TypeError(
        "expected file paths, a pyarrow Table or RecordBatch, a pandas DataFrame or a mapping of "
        f"column name to array; got {type(data).__name__}"
    )


def _mapping_table(data: Mapping[Any, Any], columns: list[str]) -> pa.Table:
    _check_columns([k for k in data if isinstance(k, str)], columns, MEMORY_FILE)
    first: tuple[str, int] | None = None
    for name in columns:
        length = _column_length(name, data[name])
        if first is None:
            first = (name, length)
        elif length != first[1]:
            raise DataError(
                f"length mismatch: column {name!r} has {length} rows but column "
                f"{first[0]!r} has {first[1]} rows",
                file=MEMORY_FILE,
                column=name,
            )
    arrays = [column_array(name, data[name], MEMORY_FILE) for name in columns]
    return pa.Table.from_arrays(arrays, names=columns)


def _column_length(name: str, values: Any) -> int:
    try:
        return len(values)
    except TypeError:
        raise DataError(
            f"expected an array, got {type(values).__name__}", file=MEMORY_FILE, column=name
        ) from None


def column_array(name: str, values: Any, file: str | None) -> pa.Array | pa.ChunkedArray:
    """One column as Arrow (zero-copy for numeric NumPy arrays); 2-D NumPy -> fixed-size lists."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    try:
        if isinstance(values, np.ndarray):
            return numpy_array(name, values, file)
        return pa.array(values, from_pandas=_is_pandas(values, "Series"))
    except (pa.ArrowException, TypeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot convert to an Arrow array: {exc}", file=file, column=name) from exc


def numpy_array(name: str, values: np.ndarray[Any, Any], file: str | None) -> pa.Array:
    if values.ndim == 1:
        return pa.array(values)
    if values.ndim == 2:
        flat = pa.array(np.ascontiguousarray(values).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    raise DataError(
        f"expected a 1-D or 2-D array, got shape {values.shape}", file=file, column=name
    )


def numeric_view(values: pa.Array) -> np.ndarray:
    """A numpy view of a null-free numeric or boolean Arrow array, straight from its buffers.

    (``Array.to_numpy`` may import pandas the first time it runs, and pyarrow swallows every
    exception of that import, a Ctrl-C included.)"""
    kind = values.type
    data = values.buffers()[1]
    if pa.types.is_boolean(kind):
        bits = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        unpacked = np.unpackbits(bits, bitorder="little")
        result: np.ndarray = unpacked[values.offset : values.offset + len(values)].view(np.bool_)
        return result
    if pa.types.is_float16(kind):
        return numeric_view(values.cast(pa.float32()))
    dtype = np.dtype(kind.to_pandas_dtype())
    if data is None:
        return np.zeros(0, dtype)
    return np.frombuffer(
        data, dtype=dtype, count=len(values), offset=values.offset * dtype.itemsize
    )


def text_dictionary(values: np.ndarray[Any, Any]) -> tuple[list[str], np.ndarray]:
    """Dictionary encoding of a 1-D numpy ``U`` (fixed-width text) array, hashed by the core:
    the distinct values in first-seen order and each row's int32 index into them."""
    if values.dtype.itemsize == 0:  # <U0: every row is ""
        return ([""] if len(values) else []), np.zeros(len(values), np.int32)
    units = (values if values.flags.c_contiguous else np.ascontiguousarray(values)).view(np.uint32)
    if values.dtype.byteorder == ">":  # the core reads native-order code units
        units = units.byteswap()
    indices, dictionary = _core.encode_text(units, values.dtype.itemsize // 4)
    return dictionary, indices


def _is_pandas(value: Any, kind: str) -> bool:
    """isinstance(value, pandas.<kind>) without importing pandas (if unloaded, it cannot be)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, getattr(pandas, kind))


# --------------------------------------------------------------------------------------------
# Nulls and fingerprints


def first_null_row(array: pa.Array | pa.ChunkedArray) -> int | None:
    """Index of the first null in an Arrow array or chunked array, or None if it has none."""
    if array.null_count == 0:
        return None
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    offset = 0
    for chunk in chunks:
        if chunk.null_count:
            index = int(pc.index(pc.is_null(chunk), True).as_py())
            if index >= 0:
                return offset + index
        offset += len(chunk)
    return None


_SAMPLE_BYTES = 1 << 20


def data_fingerprint(paths: Iterable[PathInput]) -> str:
    """SHA-256 over each file's name, size, and first and last MiB of content.

    Content, not modification time: the same data written again (or copied elsewhere) is the same
    data, so re-evaluating it replaces its stored run instead of counting it twice. Sampling the
    ends keeps this cheap for big files; Parquet and Arrow files end with a footer that describes
    every row group, so a change anywhere shows there. The order of ``paths`` and duplicates do
    not matter.
    """
    entries: set[bytes] = set()
    for path in paths:
        resolved = Path(path).resolve()
        try:
            size = resolved.stat().st_size
            with open(resolved, "rb") as fh:
                head = fh.read(_SAMPLE_BYTES)
                fh.seek(max(size - _SAMPLE_BYTES, 0))
                tail = fh.read(_SAMPLE_BYTES)
        except OSError as exc:
            raise DataError(f"cannot access file: {exc.strerror or exc}", file=str(path)) from exc
        sample = hashlib.sha256(head + b"\0" + tail).hexdigest().encode()
        entries.add(b"\0".join([os.fsencode(resolved.name), b"%d" % size, sample]))
    digest = hashlib.sha256(b"scoreboard-data-v2\n")
    for entry in sorted(entries):
        digest.update(entry + b"\n")
    return digest.hexdigest()


def schema_fingerprint(schema: pa.Schema) -> str:
    """SHA-256 over the column names and types, in order (nullability and metadata ignored)."""
    digest = hashlib.sha256(b"scoreboard-schema-v1\n")
    for field in schema:
        digest.update(f"{field.name}\0{field.type}\n".encode())
    return digest.hexdigest()


def table_fingerprint(data: Any, columns: Sequence[str] | None = None) -> str:
    """SHA-256 over the Arrow IPC serialization of in-memory data (all columns, or ``columns``).

    The data is hashed in fixed windows of rows, so the same values give the same fingerprint
    whatever the chunking of the table; memory stays bounded by one window.
    """
    names = _column_names(data) if columns is None else _normalize_columns(columns)
    table, _ = _to_table(data, names)
    digest = hashlib.sha256(b"scoreboard-table-v1\n")
    digest.update(schema_fingerprint(table.schema).encode())
    digest.update(b"%d\n" % table.num_rows)
    for start in range(0, table.num_rows, _FINGERPRINT_ROWS):
        window = table.slice(start, _FINGERPRINT_ROWS).combine_chunks()
        for batch in window.to_batches():
            digest.update(batch.serialize())
    return digest.hexdigest()


def _column_names(data: Any) -> list[str]:
    if isinstance(data, pa.Table | pa.RecordBatch):
        return list(data.schema.names)
    if _is_pandas(data, "DataFrame") or isinstance(data, Mapping):
        keys = data.columns if _is_pandas(data, "DataFrame") else data.keys()
        return [k for k in keys if isinstance(k, str)]
    raise TypeError(f"cannot fingerprint {type(data).__name__}")

"""scoreboard.sources: every format, chunking, path expansion, in-memory input and every DataError.

Errors are checked on their attributes (``file``, ``column``, ``row``), not only on their wording.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.feather as feather
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoreboard import sources
from scoreboard.exceptions import DataError
from scoreboard.sources import (
    MEMORY_FILE,
    TABLE_FILE,
    Chunk,
    data_fingerprint,
    first_null_row,
    iter_chunks,
    iter_table_chunks,
    resolve_paths,
    schema_fingerprint,
    table_fingerprint,
)

N_ROWS = 2_500
COLUMNS = ["score", "label"]  # deliberately not in file order


def make_table(n: int = N_ROWS, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "label": rng.integers(0, 3, n),
            "score": rng.random(n),
            "country": rng.choice(["FR", "DE", "US"], n),
        }
    )


# --------------------------------------------------------------------------------------------
# Writers: one per format, all fed the same table.


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, row_group_size=1_000)


def write_csv(table: pa.Table, path: Path) -> None:
    pa_csv.write_csv(table, path)


def write_csv_gz(table: pa.Table, path: Path) -> None:
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer)
    path.write_bytes(gzip.compress(buffer.getvalue()))


def write_tsv(table: pa.Table, path: Path) -> None:
    pa_csv.write_csv(table, path, write_options=pa_csv.WriteOptions(delimiter="\t"))


def write_arrow_file(table: pa.Table, path: Path) -> None:
    with pa_ipc.new_file(path, table.schema) as writer:
        writer.write_table(table, max_chunksize=600)


def write_arrow_stream(table: pa.Table, path: Path) -> None:
    with pa_ipc.new_stream(path, table.schema) as writer:
        writer.write_table(table, max_chunksize=600)


def write_feather(table: pa.Table, path: Path) -> None:
    feather.write_feather(table, path, chunksize=700)  # Feather v2: IPC file, lz4-compressed


def json_lines(table: pa.Table) -> str:
    return "".join(json.dumps(row) + "\n" for row in table.to_pylist())


def write_jsonl(table: pa.Table, path: Path) -> None:
    path.write_text(json_lines(table))


def write_ndjson_gz(table: pa.Table, path: Path) -> None:
    path.write_bytes(gzip.compress(json_lines(table).encode()))


Writer = Callable[[pa.Table, Path], None]
FORMATS: dict[str, tuple[str, Writer]] = {
    "parquet": (".parquet", write_parquet),
    "pq": (".pq", write_parquet),
    "csv": (".csv", write_csv),
    "csv.gz": (".csv.gz", write_csv_gz),
    "tsv": (".tsv", write_tsv),
    "arrow-file": (".arrow", write_arrow_file),
    "arrow-stream": (".arrow", write_arrow_stream),
    "feather": (".feather", write_feather),
    "jsonl": (".jsonl", write_jsonl),
    "ndjson.gz": (".ndjson.gz", write_ndjson_gz),
}
MAIN_FORMATS = ["parquet", "csv", "arrow-file", "arrow-stream", "jsonl"]


def write(fmt: str, table: pa.Table, folder: Path, stem: str = "data") -> Path:
    suffix, writer = FORMATS[fmt]
    path = folder / f"{stem}{suffix}"
    writer(table, path)
    return path


def concat(chunks: Iterable[Chunk]) -> pa.Table:
    return pa.Table.from_batches([chunk.batch for chunk in chunks])


def check_chunking(chunks: list[Chunk], chunk_rows: int) -> None:
    """Each chunk fits chunk_rows and row offsets run on without gaps within each file."""
    offsets: dict[str, int] = {}
    for chunk in chunks:
        assert 0 < chunk.num_rows <= chunk_rows
        assert chunk.row_offset == offsets.get(chunk.file, 0)
        offsets[chunk.file] = chunk.row_offset + chunk.num_rows


def raises_data_error(call: Callable[[], Any]) -> DataError:
    with pytest.raises(DataError) as info:
        call()
    return info.value


def drain(inputs: Any, columns: list[str] = COLUMNS, **kwargs: Any) -> list[Chunk]:
    return list(iter_chunks(inputs, columns, **kwargs))


# --------------------------------------------------------------------------------------------
# Formats and chunking


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_round_trips_the_same_values(tmp_path: Path, fmt: str) -> None:
    table = make_table()
    path = write(fmt, table, tmp_path)
    chunks = drain(path)
    assert {chunk.file for chunk in chunks} == {str(path)}
    got = concat(chunks)
    assert got.schema.names == COLUMNS
    assert got.equals(table.select(COLUMNS))


@pytest.mark.parametrize("fmt", MAIN_FORMATS)
@pytest.mark.parametrize("chunk_rows", [1, 7, 1_000])
def test_chunk_size_does_not_change_the_data(tmp_path: Path, fmt: str, chunk_rows: int) -> None:
    table = make_table()
    path = write(fmt, table, tmp_path)
    chunks = drain(path, chunk_rows=chunk_rows)
    check_chunking(chunks, chunk_rows)
    assert concat(chunks).equals(table.select(COLUMNS))


def test_parquet_chunks_span_small_row_groups_and_offsets_restart_per_file(
    tmp_path: Path,
) -> None:
    # 1,000-row groups, under a quarter of a 4,100-row chunk: the batch iterator joins them.
    first, second = make_table(n=5_000, seed=1), make_table(n=4_234, seed=2)
    a = write("parquet", first, tmp_path, "a")
    b = write("parquet", second, tmp_path, "b")
    chunks = drain([a, b], chunk_rows=4_100)
    check_chunking(chunks, 4_100)
    assert [c.row_offset for c in chunks if c.file == str(b)] == [0, 4_100]
    assert concat(chunks).equals(pa.concat_tables([first, second]).select(COLUMNS))


def test_parquet_row_groups_of_about_a_chunk_are_decoded_whole_in_chunks(tmp_path: Path) -> None:
    # 1,000-row groups and 999-row chunks: each group is read at once, then cut in chunks.
    table = make_table(n=2_500, seed=3)
    path = write("parquet", table, tmp_path)
    chunks = drain([path], chunk_rows=999)
    check_chunking(chunks, 999)
    assert [c.num_rows for c in chunks] == [999, 1, 999, 1, 500]
    assert concat(chunks).equals(table.select(COLUMNS))


@pytest.mark.parametrize("fmt", [*MAIN_FORMATS, "feather", "tsv"])
def test_only_the_requested_columns_come_back_in_the_requested_order(
    tmp_path: Path, fmt: str
) -> None:
    path = write(fmt, make_table(), tmp_path)
    for columns in (["country", "label"], ["score"], ["label", "score", "country"]):
        for chunk in iter_chunks(path, columns, chunk_rows=500):
            assert chunk.batch.schema.names == columns


def test_parquet_never_reads_the_pages_of_unrequested_columns(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(make_table(), path, write_page_checksum=True, use_dictionary=False)
    column = pq.ParquetFile(path).metadata.row_group(0).column(2)  # country
    assert column.path_in_schema == "country"
    corrupt(path, column.data_page_offset + column.total_compressed_size // 2)
    assert concat(drain(path)).num_rows == N_ROWS  # country is never decoded
    error = raises_data_error(lambda: drain(path, ["country"]))
    assert error.file == str(path)


def test_duplicate_requested_columns_are_read_once(tmp_path: Path) -> None:
    path = write("parquet", make_table(), tmp_path)
    chunks = drain(path, ["label", "score", "label"])
    assert chunks[0].batch.schema.names == ["label", "score"]


def test_format_can_be_forced_for_an_unknown_extension(tmp_path: Path) -> None:
    table = make_table()
    path = tmp_path / "export.txt"
    write_csv(table, path)
    assert concat(drain(path, format="csv")).equals(table.select(COLUMNS))
    error = raises_data_error(lambda: drain(path))
    assert error.file == str(path)
    assert "format=" in error.message
    error = raises_data_error(lambda: drain(path, format="xlsx"))
    assert "xlsx" in error.message


def test_arguments_are_checked(tmp_path: Path) -> None:
    path = write("parquet", make_table(), tmp_path)
    with pytest.raises(ValueError, match="chunk_rows"):
        iter_chunks(path, COLUMNS, chunk_rows=0)
    with pytest.raises(TypeError, match="chunk_rows"):
        iter_chunks(path, COLUMNS, chunk_rows=1.5)  # type: ignore[arg-type]
    assert len(drain(path, chunk_rows=np.int64(1_000))) == 3
    with pytest.raises(TypeError):
        iter_chunks(path, "label")
    with pytest.raises(ValueError, match="column"):
        iter_chunks(path, [])


# --------------------------------------------------------------------------------------------
# Paths


def touch_parquet(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_parquet(make_table(n=10), path)


def test_glob_expands_sorted(tmp_path: Path) -> None:
    touch_parquet(tmp_path / "c.parquet", tmp_path / "a.parquet", tmp_path / "b.parquet")
    (tmp_path / "notes.txt").write_text("not data")
    assert resolve_paths(str(tmp_path / "*.parquet")) == [
        tmp_path / "a.parquet",
        tmp_path / "b.parquet",
        tmp_path / "c.parquet",
    ]


def test_recursive_glob(tmp_path: Path) -> None:
    touch_parquet(tmp_path / "x" / "y" / "deep.parquet", tmp_path / "top.parquet")
    assert resolve_paths(str(tmp_path / "**" / "*.parquet")) == [
        tmp_path / "top.parquet",
        tmp_path / "x" / "y" / "deep.parquet",
    ]


def test_folder_lists_supported_files_recursively_sorted(tmp_path: Path) -> None:
    touch_parquet(tmp_path / "b" / "part-1.parquet", tmp_path / "a.parquet")
    write_csv(make_table(n=5), tmp_path / "b" / "part-0.csv")
    touch_parquet(tmp_path / ".hidden.parquet", tmp_path / "_temporary" / "part-9.parquet")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / "README.md").write_text("docs")
    assert resolve_paths(tmp_path) == [
        tmp_path / "a.parquet",
        tmp_path / "b" / "part-0.csv",
        tmp_path / "b" / "part-1.parquet",
    ]
    assert [c.file for c in drain(tmp_path, chunk_rows=100)] == [
        str(tmp_path / "a.parquet"),
        str(tmp_path / "b" / "part-0.csv"),
        str(tmp_path / "b" / "part-1.parquet"),
    ]


def test_several_inputs_keep_their_order_and_are_deduplicated(tmp_path: Path) -> None:
    a, b, c = (tmp_path / f"{name}.parquet" for name in "abc")
    touch_parquet(a, b, c)
    inputs = [b, str(a), b, str(tmp_path / "*.parquet"), tmp_path / "." / "c.parquet"]
    assert resolve_paths(inputs) == [b, a, c]


def test_unmatched_inputs_are_data_errors(tmp_path: Path) -> None:
    pattern = str(tmp_path / "*.parquet")
    error = raises_data_error(lambda: resolve_paths(pattern))
    assert error.file == pattern
    assert "no file matches" in error.message
    missing = str(tmp_path / "missing.parquet")
    error = raises_data_error(lambda: drain(missing))
    assert error.file == missing
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no data here")
    error = raises_data_error(lambda: resolve_paths(tmp_path / "empty"))
    assert error.file == str(tmp_path / "empty")
    assert ".parquet" in error.message
    with pytest.raises(DataError):
        resolve_paths([])


# --------------------------------------------------------------------------------------------
# Unreadable files


def corrupt(path: Path, offset: int, length: int = 64) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + length] = b"\xff" * length
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".arrow", ".jsonl", ".csv.gz"])
def test_empty_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    error = raises_data_error(lambda: drain(path))
    assert error.file == str(path)
    assert "empty" in error.message


def test_empty_file_fails_before_any_chunk(tmp_path: Path) -> None:
    good = write("parquet", make_table(), tmp_path, "a")
    empty = tmp_path / "b.parquet"
    empty.write_bytes(b"")
    error = raises_data_error(lambda: iter_chunks([good, empty], COLUMNS))  # not even started
    assert error.file == str(empty)


def test_file_deleted_after_resolution(tmp_path: Path) -> None:
    path = write("parquet", make_table(), tmp_path)
    chunks = iter_chunks(path, COLUMNS)
    path.unlink()
    error = raises_data_error(lambda: list(chunks))
    assert error.file == str(path)


def test_truncated_parquet(tmp_path: Path) -> None:
    path = write("parquet", make_table(), tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    error = raises_data_error(lambda: drain(path))
    assert error.file == str(path)
    assert "magic bytes" in error.message


@pytest.mark.parametrize("suffix", [".parquet", ".arrow", ".feather"])
def test_text_file_with_a_binary_extension(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_text("label,score\n1,0.5\n")
    error = raises_data_error(lambda: drain(path))
    assert error.file == str(path)
    assert error.row is None


def test_parquet_corruption_mid_stream_is_a_data_error_after_good_chunks(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    table = make_table(n=20_000)
    pq.write_table(
        table, path, row_group_size=10_000, use_dictionary=False, write_page_checksum=True
    )
    score = pq.ParquetFile(path).metadata.row_group(1).column(1)
    corrupt(path, score.data_page_offset + score.total_compressed_size // 2)
    good: list[Chunk] = []
    with pytest.raises(DataError) as info:
        good.extend(iter_chunks(path, COLUMNS, chunk_rows=1_000))
    assert info.value.file == str(path)
    assert "row group 1" in info.value.message
    assert [c.row_offset for c in good] == list(range(0, 10_000, 1_000))


@pytest.mark.parametrize("fmt", ["parquet", "csv", "arrow-file", "jsonl"])
def test_damaged_files_raise_only_data_errors(tmp_path: Path, fmt: str) -> None:
    """Truncated, bit-flipped and overwritten files: a DataError or data, never a pyarrow error."""
    path = write(fmt, make_table(n=300), tmp_path)
    original = path.read_bytes()
    rng = random.Random(f"sources-{fmt}")
    for _ in range(60):
        damaged = bytearray(original)
        kind = rng.choice(["truncate", "flip", "overwrite"])
        if kind == "truncate":
            damaged = damaged[: rng.randrange(1, len(damaged))]
        elif kind == "flip":
            for _ in range(rng.randint(1, 20)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        else:
            start = rng.randrange(len(damaged))
            damaged[start : start + 50] = rng.randbytes(50)
        path.write_bytes(bytes(damaged))
        try:
            drain(path, ["score", "label", "country"], chunk_rows=64)
        except DataError as error:
            assert error.file == str(path)


# --------------------------------------------------------------------------------------------
# Columns and schemas


@pytest.mark.parametrize("fmt", [*MAIN_FORMATS, "tsv", "feather"])
def test_missing_column_names_file_column_and_suggestion(tmp_path: Path, fmt: str) -> None:
    path = write(fmt, make_table(), tmp_path)
    error = raises_data_error(lambda: drain(path, ["score", "lable"]))
    assert (error.file, error.column, error.row) == (str(path), "lable", None)
    assert "did you mean 'label'" in error.message
    assert "'country'" in error.message  # the available columns are listed


def test_duplicate_column_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("label,score,label\n1,0.5,2\n")
    error = raises_data_error(lambda: drain(path))
    assert (error.file, error.column) == (str(path), "label")


def test_schema_change_between_files_stops_before_the_second_file(tmp_path: Path) -> None:
    table = make_table()
    a = write("parquet", table, tmp_path, "a")
    as_text = table.set_column(0, "label", table.column("label").cast(pa.string()))
    b = write("parquet", as_text, tmp_path, "b")
    seen: list[Chunk] = []
    with pytest.raises(DataError) as info:
        seen.extend(iter_chunks([a, b], COLUMNS, chunk_rows=500))
    error = info.value
    assert (error.file, error.column) == (str(b), "label")
    assert str(a) in error.message and str(b) in error.message
    assert "int64" in error.message and "string" in error.message
    assert seen and {c.file for c in seen} == {str(a)}


def test_schema_check_spans_formats(tmp_path: Path) -> None:
    a = write("parquet", make_table(), tmp_path, "a")
    b = tmp_path / "b.csv"
    b.write_text("label,score\ncat,0.5\n")
    error = raises_data_error(lambda: drain([a, b]))
    assert (error.file, error.column) == (str(b), "label")


def test_integer_width_must_match(tmp_path: Path) -> None:
    table = make_table()
    a = write("parquet", table, tmp_path, "a")
    narrow = table.set_column(0, "label", table.column("label").cast(pa.int32()))
    b = write("parquet", narrow, tmp_path, "b")
    error = raises_data_error(lambda: drain([a, b]))
    assert (error.file, error.column) == (str(b), "label")
    assert "int32" in error.message


def test_nullability_may_differ_between_files(tmp_path: Path) -> None:
    table = make_table()
    a = write("parquet", table, tmp_path, "a")
    strict = pa.schema([pa.field(f.name, f.type, nullable=False) for f in table.schema])
    b = write("parquet", table.cast(strict), tmp_path, "b")
    assert pq.read_schema(b).field("label").nullable is False
    assert concat(drain([a, b])).num_rows == 2 * N_ROWS


def test_header_only_csv_matches_any_type(tmp_path: Path) -> None:
    a = write("csv", make_table(), tmp_path, "a")
    b = tmp_path / "b.csv"
    b.write_text("label,score,country\n")
    c = write("csv", make_table(seed=3), tmp_path, "c")
    chunks = drain([b, a, c])
    assert {chunk.file for chunk in chunks} == {str(a), str(c)}


def test_all_empty_csv_column_takes_the_type_it_has_elsewhere(tmp_path: Path) -> None:
    a = write("parquet", make_table(), tmp_path, "a")
    b = tmp_path / "b.csv"
    b.write_text("label,score\n,0.5\n,0.25\n")
    chunks = drain([a, b])
    assert len({chunk.batch.schema for chunk in chunks}) == 1  # one schema for every chunk
    late = concat(c for c in chunks if c.file == str(b))
    assert late.column("label").type == pa.int64()
    assert first_null_row(late.column("label")) == 0


# --------------------------------------------------------------------------------------------
# CSV and JSON content errors


def big_csv(path: Path, rows: int, bad_row: int, bad_line: str) -> None:
    """A CSV file well over one reader block (1 MiB) with one bad line at data row bad_row."""
    lines = ["label,score\n"] + ["1,0.25\n"] * rows
    lines[bad_row + 1] = bad_line
    path.write_text("".join(lines))
    assert len("".join(lines[: bad_row + 1])) > 2 << 20  # past the first blocks


def test_csv_ragged_row_in_the_first_block(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("label,score\n1,0.5\n0,0.25\n1,0.5,7\n0,0.5\n")
    error = raises_data_error(lambda: drain(path))
    assert (error.file, error.row, error.column) == (str(path), 2, None)
    assert "Expected 2 columns, got 3" in error.message


def test_csv_ragged_row_mid_stream(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    big_csv(path, rows=400_000, bad_row=350_000, bad_line="1,0.5,7\n")
    good: list[Chunk] = []
    with pytest.raises(DataError) as info:
        good.extend(iter_chunks(path, COLUMNS, chunk_rows=50_000))
    assert (info.value.file, info.value.row) == (str(path), 350_000)
    assert "Expected 2 columns, got 3" in info.value.message
    assert good  # rows before the fault were streamed


def test_csv_non_numeric_value_mid_stream(tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    big_csv(path, rows=400_000, bad_row=350_001, bad_line="abc,0.5\n")
    error = raises_data_error(lambda: drain(path, chunk_rows=50_000))
    assert (error.file, error.column, error.row) == (str(path), "label", 350_001)
    assert "invalid value 'abc'" in error.message


def test_csv_rows_are_records_not_lines(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('label,note\n1,"two\nlines"\n0,plain\n1,x,extra\n')
    error = raises_data_error(lambda: drain(path, ["label", "note"]))
    assert error.row == 2


def test_csv_null_policy(tmp_path: Path) -> None:
    path = tmp_path / "nulls.csv"
    values = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "inf", "-inf", "0.5"]
    path.write_text("score,tag\n" + "".join(f"{v},{v or 'x'}\n" for v in values))
    got = concat(drain(path, ["score", "tag"]))
    assert got.column("score").to_pylist() == [None] * 7 + [float("inf"), float("-inf"), 0.5]
    assert first_null_row(got.column("score")) == 0
    assert got.column("tag").to_pylist()[1] == "NA"  # strings are never null
    assert got.column("tag").null_count == 0


def test_jsonl_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"label": 1, "score": 0.5}\n' * 3 + "not json\n")
    error = raises_data_error(lambda: drain(path))
    assert (error.file, error.row) == (str(path), 3)


def big_jsonl(path: Path, rows: int, line: Callable[[int], dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line(i)) + "\n" for i in range(rows)))
    assert path.stat().st_size > 2 << 20


def test_jsonl_type_change_mid_stream(tmp_path: Path) -> None:
    path = tmp_path / "typed.jsonl"
    big_jsonl(path, 80_000, lambda i: {"label": "x" if i == 70_000 else 1, "score": 0.5})
    error = raises_data_error(lambda: drain(path, chunk_rows=10_000))
    assert (error.file, error.column, error.row) == (str(path), "label", 70_000)


def test_jsonl_fields_appearing_late_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "late.jsonl"
    big_jsonl(
        path, 80_000, lambda i: {"label": 1, "score": 0.5, **({"debug": "x"} if i > 70_000 else {})}
    )
    assert concat(drain(path, chunk_rows=10_000)).num_rows == 80_000


# --------------------------------------------------------------------------------------------
# In-memory input


def test_dict_of_numpy_arrays_and_lists() -> None:
    data = {"label": np.arange(10) % 2, "score": np.linspace(0, 1, 10), "extra": list("abcdefghij")}
    chunks = list(iter_table_chunks(data, ["score", "extra"], chunk_rows=3))
    check_chunking(chunks, 3)
    assert {c.file for c in chunks} == {MEMORY_FILE}
    got = concat(chunks)
    assert got.schema.names == ["score", "extra"]
    assert got.column("score").to_pylist() == list(np.linspace(0, 1, 10))
    assert got.column("extra").to_pylist() == list("abcdefghij")


def test_table_and_record_batch() -> None:
    table = pa.concat_tables([make_table(n=5), make_table(n=20, seed=1)])
    chunks = list(iter_table_chunks(table, COLUMNS, chunk_rows=7))
    check_chunking(chunks, 7)
    assert {c.file for c in chunks} == {TABLE_FILE}
    assert concat(chunks).equals(table.select(COLUMNS))
    batch = make_table(n=30).to_batches()[0]
    assert concat(iter_table_chunks(batch, COLUMNS, chunk_rows=8)).num_rows == 30


def test_dataframe_missing_values_become_null_but_numpy_nan_stays_nan() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"label": [1, 0, 1], "score": [0.5, np.nan, 0.25]})
    got = concat(iter_table_chunks(frame, COLUMNS, chunk_rows=2))
    assert got.column("label").to_pylist() == [1, 0, 1]
    assert first_null_row(got.column("score")) == 1
    arrays = {"label": np.array([1, 0, 1]), "score": np.array([0.5, np.nan, 0.25])}
    got = concat(iter_table_chunks(arrays, COLUMNS))
    assert first_null_row(got.column("score")) is None
    assert np.isnan(got.column("score").to_numpy()[1])


def test_two_dimensional_array_becomes_fixed_size_lists() -> None:
    probabilities = np.arange(12, dtype=np.float64).reshape(4, 3)
    got = concat(iter_table_chunks({"proba": probabilities}, ["proba"], chunk_rows=3))
    assert got.column("proba").type == pa.list_(pa.float64(), 3)
    assert got.column("proba").to_pylist()[1] == [3.0, 4.0, 5.0]
    error = raises_data_error(lambda: iter_table_chunks({"x": np.zeros((2, 2, 2))}, ["x"]))
    assert (error.file, error.column) == (MEMORY_FILE, "x")


@pytest.mark.parametrize("kind", ["dict", "table", "dataframe"])
def test_in_memory_missing_column(kind: str) -> None:
    data: Any = {"label": [1, 0], "score": [0.5, 0.5]}
    if kind == "table":
        data = pa.table(data)
    elif kind == "dataframe":
        data = pytest.importorskip("pandas").DataFrame(data)
    error = raises_data_error(lambda: iter_table_chunks(data, ["label", "scroe"]))
    assert error.file == (MEMORY_FILE if kind == "dict" else TABLE_FILE)
    assert error.column == "scroe"
    assert "did you mean 'score'" in error.message


def test_in_memory_length_mismatch_names_both_columns() -> None:
    data = {"label": np.zeros(4), "score": np.zeros(3)}
    error = raises_data_error(lambda: iter_table_chunks(data, COLUMNS))
    assert (error.file, error.column) == (MEMORY_FILE, "label")
    assert "'score' has 3 rows" in error.message and "'label' has 4 rows" in error.message


def test_in_memory_bad_values() -> None:
    error = raises_data_error(lambda: iter_table_chunks({"label": 3}, ["label"]))
    assert error.column == "label"
    error = raises_data_error(lambda: iter_table_chunks({"label": [1, "a", 2.5]}, ["label"]))
    assert error.column == "label"
    with pytest.raises(TypeError):
        iter_table_chunks(object(), ["label"])


# --------------------------------------------------------------------------------------------
# Nulls and fingerprints


def test_first_null_row() -> None:
    assert first_null_row(pa.array([1.0, float("nan"), 2.0])) is None
    assert first_null_row(pa.array([1, 2, None, None])) == 2
    chunked = pa.chunked_array([[1, 2], [], [3, None], [None]])
    assert first_null_row(chunked) == 3
    assert first_null_row(pa.array([None, 1, None]).slice(1)) == 1
    assert first_null_row(pa.nulls(3)) == 0
    big = pa.array(np.arange(1_000_000, dtype=np.float64))
    assert first_null_row(pa.concat_arrays([big, pa.array([None], pa.float64())])) == 1_000_000


def test_data_fingerprint_tracks_content_not_order_or_mtime(tmp_path: Path) -> None:
    a = write("parquet", make_table(), tmp_path, "a")
    b = write("csv", make_table(), tmp_path, "b")
    before = data_fingerprint([a, b])
    assert before == data_fingerprint([b, a, b])
    assert before != data_fingerprint([a])
    stat = b.stat()
    os.utime(b, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert data_fingerprint([a, b]) == before  # touched, same content: same data
    write("csv", make_table(n=7), tmp_path, "b")
    assert data_fingerprint([a, b]) != before
    error = raises_data_error(lambda: data_fingerprint([tmp_path / "gone.parquet"]))
    assert error.file == str(tmp_path / "gone.parquet")


def test_table_fingerprint_depends_on_values_not_chunking() -> None:
    table = make_table(n=200_000)
    rechunked = pa.concat_tables([table.slice(0, 3), table.slice(3, 70_000), table.slice(70_003)])
    assert rechunked.column("label").num_chunks == 3
    assert table_fingerprint(table) == table_fingerprint(rechunked)
    assert table_fingerprint(table) != table_fingerprint(table.slice(1))
    assert table_fingerprint(table, ["label"]) != table_fingerprint(table)
    as_dict = {name: table.column(name).to_numpy() for name in ["label", "score"]}
    assert table_fingerprint(as_dict) == table_fingerprint(table, ["label", "score"])


def test_schema_fingerprint_ignores_nullability_and_metadata() -> None:
    schema = pa.schema([("label", pa.int64()), ("score", pa.float64())])
    strict = pa.schema(
        [pa.field("label", pa.int64(), nullable=False), ("score", pa.float64())],
        metadata={"pandas": "{}"},
    )
    assert schema_fingerprint(schema) == schema_fingerprint(strict)
    narrow = pa.schema([("label", pa.int32()), ("score", pa.float64())])
    assert schema_fingerprint(schema) != schema_fingerprint(narrow)


# --------------------------------------------------------------------------------------------
# Memory


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import pyarrow.compute as pc
    from scoreboard.sources import iter_chunks

    def peak_mb():
        # VmHWM: ru_maxrss also counts the RSS of the parent (pytest) at fork time, on Linux.
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    baseline = peak_mb()
    rows = biggest = 0
    total = 0.0
    for chunk in iter_chunks(sys.argv[1], ["label", "score", "x"], chunk_rows=65536):
        rows += chunk.num_rows
        biggest = max(biggest, chunk.num_rows)
        total += pc.sum(chunk.batch.column("x")).as_py()
    print(json.dumps({"baseline": baseline, "peak": peak_mb(), "rows": rows, "biggest": biggest}))
    """
)


@pytest.mark.slow
def test_streaming_memory_is_bounded_by_chunk_size_not_file_size(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    piece_rows, pieces = 1 << 20, 8
    schema = pa.schema([("label", pa.int64()), ("score", pa.float64()), ("x", pa.float64())])
    rng = np.random.default_rng(0)
    with pq.ParquetWriter(path, schema, compression="none", use_dictionary=False) as writer:
        for _ in range(pieces):
            columns = [
                rng.integers(0, 2, piece_rows),
                rng.random(piece_rows),
                rng.random(piece_rows),
            ]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    decompressed_mb = pieces * piece_rows * 24 / 2**20
    assert path.stat().st_size > 190 * 2**20
    package_root = Path(sources.__file__).parent.parent  # the same scoreboard as this process
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    grown = report["peak"] - report["baseline"]
    print(f"peak RSS {report['peak']:.0f} MB, +{grown:.0f} MB over {report['baseline']:.0f} MB")
    assert report["rows"] == pieces * piece_rows
    assert report["biggest"] == 65_536
    assert grown < 150 < decompressed_mb


# --------------------------------------------------------------------------------------------
# Dictionary encoding of numpy text (the core hashes it)


@given(
    st.lists(st.sampled_from(["", "a", "ab", "b", "é", "日本", "a\x00b", "x" * 9]), max_size=60),
    st.sampled_from(["<U", ">U"]),
)
def test_text_dictionary_is_a_first_seen_encoding(values: list[str], order: str) -> None:
    array = np.array(values, dtype=f"{order}{max(map(len, values), default=1) or 1}")
    dictionary, indices = sources.text_dictionary(array)
    expected: dict[str, int] = {}
    for v in array.tolist():  # numpy's own reading (trailing NULs dropped)
        expected.setdefault(v, len(expected))
    assert dictionary == list(expected)
    assert indices.dtype == np.int32
    assert indices.tolist() == [expected[v] for v in array.tolist()]


def test_text_dictionary_of_strided_and_empty_text() -> None:
    array = np.array(["FR", "US", "FR", "DE", "US", "FR"])[::2]  # not contiguous
    dictionary, indices = sources.text_dictionary(array)
    assert (dictionary, indices.tolist()) == (["FR", "US"], [0, 0, 1])  # FR, FR, US
    empty = np.zeros(3, dtype="<U0")
    dictionary, indices = sources.text_dictionary(empty)
    assert (dictionary, indices.tolist()) == ([""], [0, 0, 0])

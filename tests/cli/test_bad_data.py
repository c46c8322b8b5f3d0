"""Bad data: every case exits 2 with one ``scoreboard: error:`` line that names the file, and the
column and row (0-based within the file) where they apply. Nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from cli_support import (
    Invoke,
    binary_table,
    multiclass_table,
    regression_table,
    with_value,
    write_csv,
    write_parquet,
    write_text,
)


@dataclass(frozen=True)
class Case:
    """One bad input: the spec, the DATA arguments, and where the error must point."""

    spec: str
    data: list[Path | str]
    file: Path | str  # the file the message names
    column: str | None = None
    row: int | None = None
    words: list[str] = field(default_factory=list)  # also in the message
    extra: list[str] = field(default_factory=list)  # more CLI arguments


Builder = Callable[[Path], Case]


def missing_column(tmp: Path) -> Case:
    table = binary_table().rename_columns(["is_fraud", "score"])
    path = write_parquet(tmp / "renamed.parquet", table)
    return Case("binary", [path], path, "fraud_score", words=["not found", "did you mean 'score'"])


def label_2_across_chunks(tmp: Path) -> Case:
    table = with_value(binary_table(2000), "is_fraud", 1234, 2)
    path = write_parquet(tmp / "labels.parquet", table, row_group_size=500)
    return Case(
        "binary",
        [path],
        path,
        "is_fraud",
        1234,
        ["neither the positive label 1 nor the negative label 0"],
        ["--chunk-rows", "100"],
    )


def label_2_in_second_file(tmp: Path) -> Case:
    """The row counts within the file at fault, not across the whole input."""
    first = write_parquet(tmp / "a.parquet", binary_table(300, seed=3))
    second = write_parquet(tmp / "b.parquet", with_value(binary_table(300), "is_fraud", 34, 2))
    return Case("binary", [first, second], second, "is_fraud", 34, extra=["--chunk-rows", "64"])


def nan_score(tmp: Path) -> Case:
    table = with_value(binary_table(), "fraud_score", 77, float("nan"))
    path = write_parquet(tmp / "nan.parquet", table)
    return Case("binary", [path], path, "fraud_score", 77, ["NaN"])


def null_label(tmp: Path) -> Case:
    table = with_value(binary_table(), "is_fraud", 55, None)
    path = write_parquet(tmp / "null.parquet", table)
    return Case("binary", [path], path, "is_fraud", 55, ["null"])


def null_string_prediction(tmp: Path) -> Case:
    table = with_value(multiclass_table(), "predicted_species", 321, None)
    path = write_parquet(tmp / "null.parquet", table)
    return Case("multiclass", [path], path, "predicted_species", 321, ["null"])


def infinite_regression_prediction(tmp: Path) -> Case:
    table = with_value(regression_table(), "predicted_minutes", 42, float("inf"))
    path = write_parquet(tmp / "inf.parquet", table)
    return Case("regression", [path], path, "predicted_minutes", 42, ["infinite"])


def nan_regression_truth_in_csv(tmp: Path) -> Case:
    path = write_csv(tmp / "nan.csv", with_value(regression_table(), "minutes", 250, float("nan")))
    return Case("regression", [path], path, "minutes", 250)


def truncated_parquet(tmp: Path) -> Case:
    whole = write_parquet(tmp / "whole.parquet", binary_table()).read_bytes()
    path = write_text(tmp / "truncated.parquet", whole[: len(whole) // 2])
    return Case("binary", [path], path, words=["Parquet", "magic bytes"])


def corrupt_parquet_page(tmp: Path) -> Case:
    """Flipped bytes inside a data page; the page checksum gives it away."""
    table = binary_table(3000)
    whole = write_parquet(
        tmp / "whole.parquet",
        table,
        row_group_size=1000,
        compression="none",
        write_page_checksum=True,
    ).read_bytes()
    damaged = bytearray(whole)
    for i in range(10_000, 10_500):
        damaged[i] ^= 0xFF
    path = write_text(tmp / "corrupt.parquet", bytes(damaged))
    return Case("binary", [path], path, words=["row group", "checksum"])


def empty_file(tmp: Path) -> Case:
    path = write_text(tmp / "empty.parquet", b"")
    return Case("binary", [path], path, words=["empty (0 bytes)"])


def not_parquet(tmp: Path) -> Case:
    path = write_text(tmp / "notes.parquet", "is_fraud,fraud_score\n1,0.5\n")
    return Case("binary", [path], path, words=["Parquet"])


def schemas_differ(tmp: Path) -> Case:
    ints = write_parquet(tmp / "a.parquet", binary_table(100))
    strings = binary_table(100).set_column(
        0, "is_fraud", pa.array(np.array(["0", "1"])[binary_table(100)["is_fraud"].to_numpy()])
    )
    later = write_parquet(tmp / "b.parquet", strings)
    return Case(
        "binary",
        [ints, later],
        later,
        "is_fraud",
        words=["types differ", "string", "int64", str(ints)],
    )


def ragged_csv(tmp: Path) -> Case:
    path = write_text(tmp / "ragged.csv", "is_fraud,fraud_score\n1,0.5\n0,0.2,9\n1,0.3\n")
    return Case("binary", [path], path, row=1, words=["Expected 2 columns, got 3"])


def late_non_numeric_csv(tmp: Path) -> Case:
    """'abc' after the first 1 MiB block, whose values made the column float64."""
    rng = np.random.default_rng(4)
    lines = [
        "is_fraud,fraud_score",
        *(f"{i % 2},{v:.15f}" for i, v in enumerate(rng.random(80_000))),
    ]
    lines[1 + 70_000] = "1,abc"
    path = write_text(tmp / "late.csv", "\n".join(lines) + "\n")
    return Case("binary", [path], path, "fraud_score", 70_000, ["'abc'"], ["--chunk-rows", "1000"])


def no_glob_match(tmp: Path) -> Case:
    pattern = str(tmp / "nothing-*.parquet")
    return Case("binary", [pattern], pattern, words=["no file matches"])


def missing_file(tmp: Path) -> Case:
    path = tmp / "absent.parquet"
    return Case("binary", [path], path, words=["file not found"])


def folder_without_data(tmp: Path) -> Case:
    folder = tmp / "nothing"
    write_text(folder / "readme.txt", "no data here")
    return Case("binary", [folder], folder, words=["no supported data file"])


def unsupported_extension(tmp: Path) -> Case:
    path = write_text(tmp / "preds.xlsx", "PK")
    return Case("binary", [path], path, words=["unsupported file type"])


def too_many_classes(tmp: Path) -> Case:
    path = write_parquet(tmp / "ten.parquet", multiclass_table(300, classes=10))
    return Case("max_classes", [path], path, "species", words=["more than 5 distinct labels"])


def timestamp_out_of_range(tmp: Path) -> Case:
    """An epoch in milliseconds past year 2262 does not fit nanoseconds: an error, no wrap."""
    table = binary_table(300)
    stamps = np.full(300, 1_700_000_000_000, dtype=np.int64)
    stamps[17] = 10**17  # about year 3,170,000
    path = write_parquet(tmp / "epochs.parquet", table.append_column("event_ms", pa.array(stamps)))
    return Case("daily_epoch", [path], path, "event_ms", 17, ["years 1677 to 2262"])


def negative_weight(tmp: Path) -> Case:
    table = multiclass_table(300)
    weights = np.ones(300)
    weights[123] = -1.0
    path = write_parquet(tmp / "weights.parquet", table.append_column("w", pa.array(weights)))
    return Case("weighted_multiclass", [path], path, "w", 123)


CASES: dict[str, Builder] = {
    "missing-column": missing_column,
    "label-2-row-1234-across-chunks": label_2_across_chunks,
    "label-2-in-second-file": label_2_in_second_file,
    "nan-score": nan_score,
    "null-label": null_label,
    "null-string-prediction": null_string_prediction,
    "inf-regression-prediction": infinite_regression_prediction,
    "nan-regression-truth-csv": nan_regression_truth_in_csv,
    "truncated-parquet": truncated_parquet,
    "corrupt-parquet-page": corrupt_parquet_page,
    "zero-byte-file": empty_file,
    "not-parquet": not_parquet,
    "schemas-differ": schemas_differ,
    "ragged-csv": ragged_csv,
    "non-numeric-after-first-block": late_non_numeric_csv,
    "no-glob-match": no_glob_match,
    "missing-file": missing_file,
    "folder-without-data": folder_without_data,
    "unsupported-extension": unsupported_extension,
    "too-many-classes": too_many_classes,
    "timestamp-out-of-range": timestamp_out_of_range,
    "negative-weight": negative_weight,
}


def assert_located(err: str, case: Case) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    message = lines[0]
    assert message.startswith(f"scoreboard: error: {case.file}"), message
    if case.column is not None:
        assert f"column '{case.column}'" in message, message
    if case.row is not None:
        assert f", row {case.row}," in message or f", row {case.row}:" in message, message
    else:
        assert ", row " not in message, message
    for word in case.words:
        assert word in message, message
    assert "Traceback" not in err


@pytest.mark.parametrize("name", list(CASES))
def test_bad_data_exits_2_naming_file_column_row(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, store: Path, name: str
) -> None:
    case = CASES[name](tmp_path / "data")
    result = invoke("evaluate", spec(case.spec), *case.data, "--store", store, *case.extra)
    assert result.code == 2, result
    assert result.out == ""
    assert_located(result.err, case)
    assert not store.exists(), "a failed evaluation must not create the store"


@pytest.mark.parametrize("name", ["nan-score", "schemas-differ", "ragged-csv"])
def test_bad_data_with_json_format_prints_nothing_on_stdout(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, name: str
) -> None:
    case = CASES[name](tmp_path / "data")
    result = invoke("evaluate", spec(case.spec), *case.data, "--no-store", "--format", "json")
    assert result.code == 2, result
    assert result.out == ""


# --- a non-numeric string in a numeric CSV column, inside the first block -------------------
# The column is then inferred as strings and the core refuses it: the file and the column are
# named, but the row is not the row of the offending value.

NON_NUMERIC = {
    "binary": ("is_fraud,fraud_score", "fraud_score", lambda i: f"{i % 2},0.{i % 10}5"),
    "regression": ("minutes,predicted_minutes", "predicted_minutes", lambda i: f"{i}.5,{i}.25"),
}


def _non_numeric_csv(tmp: Path, task: str) -> tuple[Path, str]:
    header, column, line = NON_NUMERIC[task]
    lines = [header, *(line(i) for i in range(300))]
    lines[1 + 123] = lines[1 + 123].rsplit(",", 1)[0] + ",abc"
    return write_text(tmp / "abc.csv", "\n".join(lines) + "\n"), column


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_non_numeric_csv_value_names_file_and_column(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, task: str
) -> None:
    path, column = _non_numeric_csv(tmp_path, task)
    result = invoke("evaluate", spec(task), path, "--no-store", "--chunk-rows", "100")
    assert result.code == 2, result
    assert result.err.startswith(f"scoreboard: error: {path}"), result
    assert column in result.err
    assert "is not a number" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "task",
    [
        "binary",
        "regression",
    ],
)
def test_non_numeric_csv_value_names_its_row(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, task: str
) -> None:
    path, column = _non_numeric_csv(tmp_path, task)
    result = invoke("evaluate", spec(task), path, "--no-store", "--chunk-rows", "100")
    assert result.code == 2, result
    assert f"{path}, row 123, column '{column}'" in result.err, result


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_infinite_binary_score_is_refused(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, value: float
) -> None:
    path = write_parquet(
        tmp_path / "inf.parquet", with_value(binary_table(), "fraud_score", 9, value)
    )
    result = invoke("evaluate", spec("binary"), path, "--no-store")
    assert result.code == 2, result
    assert f"{path}, row 9, column 'fraud_score'" in result.err

"""``evaluate`` on good data: every input layout, every format, values equal scikit-learn's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from cli_support import (
    REL,
    TABLES,
    Invoke,
    sklearn_reference,
    split_parquet,
    values_by_key,
    write_csv,
    write_parquet,
)

import scoreboard as sb

RESULT_FIELDS = {
    "metric",
    "window",
    "window_start",
    "window_end",
    "segment",
    "value",
    "n",
    "ci_low",
    "ci_high",
}
TOP_FIELDS = {"run_id", "model", "model_version", "rows", "results", "alerts", "gates"}

# How the same rows reach the CLI: (layout id, writer returning the DATA arguments).
Layout = Callable[[pa.Table, Path], list[str]]


def _one_parquet(table: pa.Table, folder: Path) -> list[str]:
    return [str(write_parquet(folder / "preds.parquet", table, row_group_size=97))]


def _one_csv(table: pa.Table, folder: Path) -> list[str]:
    return [str(write_csv(folder / "preds.csv", table))]


def _glob(table: pa.Table, folder: Path) -> list[str]:
    split_parquet(table, folder / "parts", 3)
    return [str(folder / "parts" / "part-*.parquet")]


def _folder(table: pa.Table, folder: Path) -> list[str]:
    split_parquet(table, folder / "parts", 4)
    (folder / "parts" / "_SUCCESS").write_text("")  # ignored, as pyarrow's datasets do
    return [str(folder / "parts")]


def _several_files(table: pa.Table, folder: Path) -> list[str]:
    return [str(p) for p in split_parquet(table, folder / "parts", 3)]


def _mixed_formats(table: pa.Table, folder: Path) -> list[str]:
    half = table.num_rows // 2
    first = write_parquet(folder / "a.parquet", table.slice(0, half))
    second = write_csv(folder / "b.csv", table.slice(half))
    return [str(first), str(second)]


LAYOUTS: dict[str, Layout] = {
    "parquet": _one_parquet,
    "csv": _one_csv,
    "glob": _glob,
    "folder": _folder,
    "several-files": _several_files,
    "parquet+csv": _mixed_formats,
}


def evaluate_json(invoke: Invoke, spec_path: Path, data: list[str], *extra: str) -> Any:
    result = invoke("evaluate", spec_path, *data, "--format", "json", *extra)
    assert result.code == 0, result
    assert result.err == ""
    return json.loads(result.out)


def assert_matches_sklearn(payload: Any, spec_path: Path, table: pa.Table) -> None:
    expected = sklearn_reference(sb.compile(sb.load_spec(spec_path)), table)
    got = values_by_key(payload["results"])
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=REL, abs=REL), key


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_values_equal_sklearn(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, task: str, layout: str
) -> None:
    table = TABLES[task]()
    data = LAYOUTS[layout](table, tmp_path / "data")
    payload = evaluate_json(invoke, spec(task), data, "--no-store")
    assert payload["rows"] == table.num_rows
    assert_matches_sklearn(payload, spec(task), table)


def test_json_payload_follows_the_contract(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path
) -> None:
    table = TABLES["multiclass"]()
    data = str(write_parquet(tmp_path / "p.parquet", table))
    result = invoke(
        "evaluate", spec("multiclass"), data, "--format", "json", "--model-version", "v7"
    )
    assert result.code == 0, result
    payload = json.loads(result.out)  # the whole of stdout is one JSON document
    assert isinstance(payload, dict)
    assert set(payload) >= TOP_FIELDS
    assert payload["model"] == "species-classifier"
    assert payload["model_version"] == "v7"
    assert payload["rows"] == table.num_rows
    assert isinstance(payload["run_id"], str) and payload["run_id"]
    assert payload["alerts"] == [] and payload["gates"] == []
    for item in payload["results"]:
        assert set(item) >= RESULT_FIELDS, item
        assert item["window"] is None and item["window_start"] is None
        assert item["window_end"] is None
        assert item["ci_low"] is None and item["ci_high"] is None
        assert item["n"] == table.num_rows
    per_class = [r for r in payload["results"] if r["metric"] == "recall_per_class"]
    assert sorted(r["segment"]["class"] for r in per_class) == ["cat", "dog", "fox", "owl"]
    assert all(r["segment"] == {} for r in payload["results"] if r not in per_class)


def test_run_id_is_the_same_for_every_spelling_of_the_same_files(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path
) -> None:
    files = split_parquet(TABLES["binary"](), tmp_path / "parts", 3)
    spellings = [
        [str(tmp_path / "parts")],
        [str(tmp_path / "parts" / "*.parquet")],
        [str(p) for p in files],
        [str(p) for p in reversed(files)],
    ]
    ids = {evaluate_json(invoke, spec("binary"), s, "--no-store")["run_id"] for s in spellings}
    assert len(ids) == 1


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_chunk_rows_does_not_change_values(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, task: str
) -> None:
    data = LAYOUTS["several-files"](TABLES[task](), tmp_path)
    default = evaluate_json(invoke, spec(task), data, "--no-store")
    small = evaluate_json(invoke, spec(task), data, "--no-store", "--chunk-rows", "7")
    assert small["run_id"] == default["run_id"]
    expected = values_by_key(default["results"])
    got = values_by_key(small["results"])
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=REL, abs=REL), key


def test_markdown_table(invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path) -> None:
    data = write_parquet(tmp_path / "p.parquet", TABLES["binary"]())
    result = invoke("evaluate", spec("binary"), data, "--no-store", "--format", "markdown")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0] == "### fraud-detector unversioned (400 rows)"
    assert lines[1] == ""

    def cells(line: str) -> list[str]:
        assert line.startswith("| ") and line.endswith(" |"), line
        return [c.strip() for c in line[1:-1].split(" | ")]

    header = cells(lines[2])
    assert {"metric", "segment", "value", "n", "reason"} <= set(header)
    assert lines[3] == "|" + "|".join("---" for _ in header) + "|"
    rows = [dict(zip(header, cells(line), strict=True)) for line in lines[4:]]
    assert [r["metric"] for r in rows][:4] == ["accuracy", "precision", "recall", "f1"]
    assert len(rows) == 16
    assert all(r["segment"] == "all" and r["n"] == "400" for r in rows)
    assert 0 < float(rows[0]["value"]) < 1


def test_table_format_lists_every_metric(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path
) -> None:
    data = write_parquet(tmp_path / "p.parquet", TABLES["regression"]())
    result = invoke("evaluate", spec("regression"), data, "--no-store")
    assert result.code == 0, result
    for metric in ("mse", "rmse", "mae", "mape", "r2", "max_error", "mean_error", "count"):
        assert f" {metric} " in result.out
    assert "\x1b[" not in result.out


@pytest.mark.parametrize("fmt", ["json", "markdown", "table"])
def test_output_file(invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, fmt: str) -> None:
    data = write_parquet(tmp_path / "p.parquet", TABLES["binary"]())
    target = tmp_path / f"report.{fmt}"
    result = invoke("evaluate", spec("binary"), data, "--no-store", "--format", fmt, "-o", target)
    assert result.code == 0, result
    assert result.out == ""
    text = target.read_text(encoding="utf-8")
    assert "\x1b[" not in text
    if fmt == "json":
        assert json.loads(text)["rows"] == 400
    else:
        assert "accuracy" in text


def test_output_into_missing_directory_is_a_user_error(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path
) -> None:
    data = write_parquet(tmp_path / "p.parquet", TABLES["binary"]())
    target = tmp_path / "missing" / "out.json"
    result = invoke(
        "evaluate", spec("binary"), data, "--no-store", "--format", "json", "-o", target
    )
    assert result.code == 2, result
    assert "internal error" not in result.err


def test_no_store_writes_no_database(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, store: Path
) -> None:
    data = write_parquet(tmp_path / "p.parquet", TABLES["binary"]())
    assert invoke("evaluate", spec("binary"), data, "--no-store").code == 0
    assert invoke("evaluate", spec("binary"), data, "--no-store", "--store", store).code == 0
    assert not (tmp_path / "scoreboard.db").exists()
    assert list(store.parent.iterdir()) == []


def test_default_store_is_scoreboard_db_in_the_working_directory(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path
) -> None:
    data = write_parquet(tmp_path / "p.parquet", TABLES["binary"]())
    assert invoke("evaluate", spec("binary"), data).code == 0
    assert (tmp_path / "scoreboard.db").is_file()


def test_zero_row_file_gives_undefined_values_not_zero(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path
) -> None:
    """D2: a zero-row input makes metrics undefined (null plus a reason), and the count 0."""
    empty = TABLES["regression"]().slice(0, 0)
    data = str(write_parquet(tmp_path / "empty.parquet", empty))
    payload = evaluate_json(invoke, spec("regression"), [data], "--no-store")
    assert payload["rows"] == 0
    for item in payload["results"]:
        if item["metric"] == "count":
            assert item["value"] == 0
        else:
            assert item["value"] is None and item["reason"] == "insufficient_data", item


def test_overflowing_regression_values_carry_a_reason(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path
) -> None:
    truth = np.full(10, 1e200)
    data = write_parquet(tmp_path / "big.parquet", {"minutes": truth, "predicted_minutes": -truth})
    payload = evaluate_json(invoke, spec("regression"), [str(data)], "--no-store")
    undefined = [r for r in payload["results"] if r["value"] is None]
    assert undefined, "mse overflows"
    assert all(r["reason"] for r in undefined), undefined

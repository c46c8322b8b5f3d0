"""The store through the CLI: idempotent runs, all-or-nothing failures, ``history`` filters,
``--store`` / ``SCOREBOARD_STORE``, and storage faults that exit 2 with a remedy."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import (
    Invoke,
    binary_table,
    regression_table,
    sqlite_integrity,
    with_value,
    write_parquet,
    write_text,
)

History = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_parquet(tmp_path / "data" / "good.parquet", binary_table())


def evaluate(invoke: Invoke, spec_path: Path, *args: str | Path) -> None:
    result = invoke("evaluate", spec_path, *args)
    assert result.code == 0, result


def test_same_evaluation_twice_stores_no_duplicates(
    invoke: Invoke, spec: Callable[[str], Path], good: Path, store: Path, history: History
) -> None:
    evaluate(invoke, spec("binary"), good, "--store", store)
    first = history(store)
    assert len(first) == 16
    evaluate(invoke, spec("binary"), good, "--store", store)
    evaluate(invoke, spec("binary"), good, "--store", store, "--chunk-rows", "7")
    again = history(store)
    assert len(again) == len(first)
    assert {p["run_id"] for p in again} == {p["run_id"] for p in first}
    assert [(p["metric"], p["value"]) for p in again] == [(p["metric"], p["value"]) for p in first]


def test_failed_evaluation_stores_nothing(
    invoke: Invoke,
    spec: Callable[[str], Path],
    good: Path,
    store: Path,
    history: History,
    tmp_path: Path,
) -> None:
    evaluate(invoke, spec("binary"), good, "--store", store, "--model-version", "v1")
    before = history(store)
    bad = write_parquet(
        tmp_path / "data" / "bad.parquet", with_value(binary_table(), "is_fraud", 5, 7)
    )
    for version in ("v1", "v2"):
        result = invoke(
            "evaluate", spec("binary"), good, bad, "--store", store, "--model-version", version
        )
        assert result.code == 2, result
        assert str(bad) in result.err
    assert history(store) == before
    assert sqlite_integrity(store) == "ok"


def test_model_versions_add_runs_and_history_filters(
    invoke: Invoke,
    spec: Callable[[str], Path],
    good: Path,
    store: Path,
    history: History,
    tmp_path: Path,
) -> None:
    evaluate(invoke, spec("binary"), good, "--store", store, "--model-version", "v1")
    evaluate(invoke, spec("binary"), good, "--store", store, "--model-version", "v2")
    minutes = write_parquet(tmp_path / "data" / "minutes.parquet", regression_table())
    evaluate(invoke, spec("regression"), minutes, "--store", store, "--model-version", "v1")

    everything = history(store)
    assert len(everything) == 16 * 2 + 9
    assert len({p["run_id"] for p in everything}) == 3

    cases: list[tuple[list[str], Callable[[dict[str, Any]], bool], int]] = [
        (["--model", "fraud-detector"], lambda p: p["model"] == "fraud-detector", 32),
        (["--model", "delivery-eta"], lambda p: p["model"] == "delivery-eta", 9),
        (["--model-version", "v2"], lambda p: p["model_version"] == "v2", 16),
        (["--metric", "f1"], lambda p: p["metric"] == "f1", 2),
        (
            ["--model", "fraud-detector", "--model-version", "v1", "--metric", "recall"],
            lambda p: (p["model_version"], p["metric"]) == ("v1", "recall"),
            1,
        ),
        (["--model", "nobody"], lambda p: False, 0),
        (["--metric", "count", "--limit", "1"], lambda p: p["metric"] == "count", 1),
    ]
    for filters, keep, count in cases:
        points = history(store, *filters)
        assert len(points) == count, filters
        assert all(keep(p) for p in points), filters
        if "--limit" not in filters:
            assert points == [p for p in everything if keep(p)], filters


def test_history_point_fields(
    invoke: Invoke, spec: Callable[[str], Path], good: Path, store: Path, history: History
) -> None:
    result = invoke("evaluate", spec("binary"), good, "--store", store, "--format", "json")
    assert result.code == 0, result
    payload = json.loads(result.out)
    points = history(store)
    assert {p["run_id"] for p in points} == {payload["run_id"]}
    stored = {p["metric"]: p["value"] for p in points}
    reported = {r["metric"]: r["value"] for r in payload["results"]}
    assert stored == reported
    for p in points:
        assert p["recorded_at"].endswith("Z")
        assert p["segment"] == {} and p["window"] is None and p["n"] == 400


@pytest.mark.parametrize("fmt", ["json", "table", "markdown"])
def test_history_without_a_store_is_a_note_not_an_error(invoke: Invoke, fmt: str) -> None:
    result = invoke("history", "--store", "never-created.db", "--format", fmt)
    assert result.code == 0, result
    assert "no store at never-created.db yet" in result.err
    if fmt == "json":
        assert json.loads(result.out) == []
    assert not Path("never-created.db").exists()


def test_history_defaults_to_scoreboard_db(
    invoke: Invoke, spec: Callable[[str], Path], good: Path
) -> None:
    evaluate(invoke, spec("binary"), good)
    result = invoke("history", "--format", "json")
    assert result.code == 0, result
    assert len(json.loads(result.out)) == 16


def test_scoreboard_store_environment_variable(
    invoke: Invoke,
    spec: Callable[[str], Path],
    good: Path,
    store: Path,
    history: History,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCOREBOARD_STORE", str(store))
    evaluate(invoke, spec("binary"), good)
    assert store.is_file()
    assert not (tmp_path / "scoreboard.db").exists()
    result = invoke("history", "--format", "json")
    assert result.code == 0, result
    assert len(json.loads(result.out)) == 16
    # --store wins over the environment
    other = tmp_path / "other.db"
    evaluate(invoke, spec("binary"), good, "--store", other)
    assert len(history(other)) == 16


# (store argument, words of the message): each exits 2, with a remedy, and writes nothing.
STORE_FAULTS: dict[str, tuple[Callable[[Path], str], list[str]]] = {
    "missing-directory": (
        lambda tmp: str(tmp / "no" / "such" / "dir" / "m.db"),
        ["does not exist", "mkdir -p"],
    ),
    "store-is-a-directory": (lambda tmp: str(tmp), ["is a directory", "pass a file path"]),
    "not-a-database": (
        lambda tmp: str(write_text(tmp / "notes.db", "just text, not SQLite\n" * 50)),
        ["not a SQLite database"],
    ),
    "postgres-url": (
        lambda tmp: "postgresql://scoreboard:SENTINEL-SECRET@db.example/metrics",
        ["PostgreSQL support is not available yet"],
    ),
    "unknown-scheme": (lambda tmp: "mysql://u:SENTINEL-SECRET@h/db", ["unsupported store URL"]),
    "sqlite-url-without-path": (lambda tmp: "sqlite://", ["needs a path"]),
}


@pytest.mark.parametrize("name", list(STORE_FAULTS))
def test_store_faults_exit_2_with_a_remedy(
    invoke: Invoke, spec: Callable[[str], Path], good: Path, tmp_path: Path, name: str
) -> None:
    make, words = STORE_FAULTS[name]
    (tmp_path / "faults").mkdir(exist_ok=True)
    location = make(tmp_path / "faults")
    before = sorted(p.name for p in (tmp_path / "faults").iterdir())
    result = invoke("evaluate", spec("binary"), good, "--store", location, "--format", "json")
    assert result.code == 2, result
    assert result.out == ""
    assert result.err.startswith("scoreboard: error: "), result
    for word in words:
        assert word in result.err
    assert "SENTINEL-SECRET" not in result.err
    assert "Traceback" not in result.err
    assert sorted(p.name for p in (tmp_path / "faults").iterdir()) == before


def test_history_of_a_store_in_a_missing_directory_is_a_note(invoke: Invoke) -> None:
    result = invoke("history", "--store", "no/such/dir/m.db")
    assert result.code == 0, result
    assert "no store at no/such/dir/m.db" in result.err


def test_history_of_a_file_that_is_not_a_store(invoke: Invoke, tmp_path: Path) -> None:
    notes = write_text(tmp_path / "notes.db", "not SQLite\n" * 50)
    result = invoke("history", "--store", notes)
    assert result.code == 2, result
    assert "not a SQLite database" in result.err
    assert notes.read_text() == "not SQLite\n" * 50


def test_history_keeps_error_bounds_and_intervals(
    invoke: Invoke, good: Path, store: Path, history: History, tmp_path: Path
) -> None:
    """A binned roc_auc's error bound and an interval are stored and read back as reported."""
    spec_path = write_text(
        tmp_path / "binned.yaml",
        "version: 1\nmodel: m\ntask: binary\nthreshold: 0.3\n"
        "columns: {y_true: is_fraud, y_score: fraud_score}\n"
        "metrics:\n  - {kind: roc_auc, bins: 64}\n"
        "  - {kind: recall, ci: {level: 0.9, method: wilson}}\n",
    )
    result = invoke("evaluate", spec_path, good, "--store", store, "--format", "json")
    assert result.code == 0, result
    reported = {r["metric"]: r for r in json.loads(result.out)["results"]}
    stored = {p["metric"]: p for p in history(store)}
    assert reported["roc_auc"]["error_bound"] > 0
    for metric in ("roc_auc", "recall"):
        for field in ("value", "error_bound", "ci_low", "ci_high"):
            assert stored[metric][field] == reported[metric][field], (metric, field)
    assert stored["recall"]["ci_low"] < stored["recall"]["value"] < stored["recall"]["ci_high"]

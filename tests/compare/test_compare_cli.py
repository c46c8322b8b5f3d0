"""``scoreboard compare --model M V1 V2``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scenario import cli, populated_store, write_data


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return populated_store(tmp_path_factory.mktemp("compare"))


def test_side_by_side_with_direction_and_significance(store: Path, capsys) -> None:
    assert cli("compare", "--model", "fraud", "v1", "v2", "--store", store, "--format", "json") == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["versions"] == ["v1", "v2"]
    rows = {(r["metric"], json.dumps(r["segment"])): r for r in payload["metrics"]}
    assert len(rows) == 4 * 3  # 4 metrics, overall + 2 countries
    acc = rows[("accuracy", "{}")]
    assert acc["delta"] == pytest.approx(acc["v2"] - acc["v1"])
    assert acc["direction"] == "worse" and acc["p_value"] < 1e-6
    assert acc["n"] == {"v1": 6000, "v2": 6000}
    fpr = rows[("fpr", "{}")]
    assert fpr["delta"] > 0 and fpr["direction"] == "worse"  # lower is better
    assert rows[("f1", '{"country": "FR"}')]["p_value"] is None  # not a proportion of rows


def test_reverse_order_is_better(store: Path, capsys) -> None:
    assert cli("compare", "--model", "fraud", "v2", "v1", "--store", store, "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)["metrics"]
    assert {r["direction"] for r in rows} == {"better"}


def test_renamed_metrics_need_the_spec_for_a_direction(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    doc = {
        "version": 1,
        "model": "m",
        "task": "binary",
        "columns": {"y_true": "label", "y_score": "score"},
        "metrics": [{"kind": "fpr", "name": "false_alarms"}],
    }
    spec.write_text(yaml.safe_dump(doc))
    store = tmp_path / "s.db"
    for version, degrade in (("a", 0.0), ("b", 0.3)):
        data = write_data(tmp_path / f"{version}.parquet", seed=3, degrade=degrade)
        assert cli("evaluate", spec, data, "--store", store, "--model-version", version,
                   "--output", tmp_path / "out.txt") == 0  # fmt: skip
    assert cli("compare", "--model", "m", "a", "b", "--store", store, "--format", "json") == 0
    (row,) = json.loads(capsys.readouterr().out)["metrics"]
    assert row["direction"] == "unknown"
    args = ("compare", "--model", "m", "a", "b", "--store", store, "--format", "json")
    assert cli(*args, "--spec", spec) == 0
    (row,) = json.loads(capsys.readouterr().out)["metrics"]
    assert row["direction"] == "worse"


def test_markdown(store: Path, capsys) -> None:
    assert (
        cli("compare", "--model", "fraud", "v1", "v2", "--store", store, "--format", "markdown")
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("### fraud: v1 → v2") and "| accuracy | all |" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "fraud", "v1", "v9"), "unknown version 'v9' of model 'fraud'"),
        (("--model", "nope", "v1", "v2"), "unknown version 'v1' of model 'nope'"),
    ],
)
def test_unknown_version_is_exit_2(store: Path, capsys, args, message) -> None:
    assert cli("compare", *args, "--store", store) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_store_is_exit_2(tmp_path: Path, capsys) -> None:
    assert cli("compare", "--model", "m", "a", "b", "--store", tmp_path / "none.db") == 2
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_same_version_twice_is_exit_2(store: Path, capsys) -> None:
    assert cli("compare", "--model", "fraud", "v1", "v1", "--store", store) == 2
    assert "two different versions" in capsys.readouterr().err


def test_model_is_required(store: Path, capsys) -> None:
    assert cli("compare", "v1", "v2", "--store", store) == 2
    assert "--model" in capsys.readouterr().err

"""``evaluate --mlflow``: metrics logged to a local file-store MLflow, never twice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scenario import cli, write_data, write_spec

mlflow = pytest.importorskip("mlflow")  # skipped only when MLflow cannot be imported


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # MLflow 3 keeps the file store in maintenance mode behind this switch.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return uri


def evaluate(tmp_path: Path, *extra: object) -> int:
    return cli(
        "evaluate", tmp_path / "spec.yaml", tmp_path / "d.parquet", "--store", tmp_path / "s.db",
        "--model-version", "v7", "--mlflow", "--format", "json", "--output", tmp_path / "out.json",
        *extra,
    )  # fmt: skip


def test_metrics_params_and_tag(tmp_path: Path, tracking: str, capsys) -> None:
    import json

    from mlflow.tracking import MlflowClient

    write_spec(tmp_path / "spec.yaml")
    write_data(tmp_path / "d.parquet")
    assert evaluate(tmp_path) == 0
    payload = json.loads((tmp_path / "out.json").read_text())
    client = MlflowClient(tracking_uri=tracking)
    experiment = client.get_experiment_by_name("fraud")
    (run,) = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`scoreboard.run_id` = '{payload['run_id']}'",
    )
    assert run.data.params["model_version"] == "v7"
    assert len(run.data.params["spec_fingerprint"]) == 32
    results = payload["results"]
    f1 = next(r for r in results if r["metric"] == "f1" and not r["window"] and not r["segment"])
    (logged,) = client.get_metric_history(run.info.run_id, "f1")
    assert logged.step == 0 and logged.value == pytest.approx(f1["value"])
    daily = sorted(
        client.get_metric_history(run.info.run_id, "f1.daily.country_FR"), key=lambda m: m.step
    )
    expected = [
        r for r in results if r["metric"] == "f1" and r["window"] == "daily"
        and r["segment"] == {"country": "FR"}
    ]  # fmt: skip
    assert [m.step for m in daily] == [r["window_index"] for r in expected]
    assert [m.value for m in daily] == pytest.approx([r["value"] for r in expected])
    ends = [r["window_end"] for r in expected]
    from datetime import datetime

    assert [m.timestamp for m in daily] == [
        int(datetime.fromisoformat(e.replace("Z", "+00:00")).timestamp() * 1000) for e in ends
    ]
    total = len([r for r in results if r["value"] is not None])
    assert f"{total} metric values logged, 0 already there" in capsys.readouterr().err

    # Re-running the same evaluation finds the MLflow run by its tag and logs nothing twice.
    assert evaluate(tmp_path) == 0
    assert f"0 metric values logged, {total} already there" in capsys.readouterr().err
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    assert len(client.get_metric_history(run.info.run_id, "f1")) == 1
    assert len(client.get_metric_history(run.info.run_id, "f1.daily.country_FR")) == len(expected)


def test_experiment_name(tmp_path: Path, tracking: str) -> None:
    from mlflow.tracking import MlflowClient

    write_spec(tmp_path / "spec.yaml", windows=None, segments=None)
    write_data(tmp_path / "d.parquet")
    assert evaluate(tmp_path, "--mlflow-experiment", "team/fraud") == 0
    client = MlflowClient(tracking_uri=tracking)
    experiment = client.get_experiment_by_name("team/fraud")
    (run,) = client.search_runs([experiment.experiment_id])
    assert set(run.data.metrics) == {"accuracy", "f1", "recall", "fpr"}


def test_mlflow_missing_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    write_spec(tmp_path / "spec.yaml")
    write_data(tmp_path / "d.parquet")
    assert evaluate(tmp_path) == 2
    err = capsys.readouterr().err
    assert "pip install 'scoreboard[mlflow]'" in err and "Traceback" not in err
    assert not (tmp_path / "s.db").exists()  # refused before any work


def test_tracking_refusal_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "unknown-scheme://nowhere")
    write_spec(tmp_path / "spec.yaml")
    write_data(tmp_path / "d.parquet")
    assert evaluate(tmp_path) == 2
    err = capsys.readouterr().err
    assert "MLflow:" in err and "Traceback" not in err

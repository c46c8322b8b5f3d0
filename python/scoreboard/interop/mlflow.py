"""Logging an evaluation to MLflow (``evaluate --mlflow``), with no duplicates on re-runs.

MLflow only appends metric history, so re-logging the same run would double every point. The
MLflow run is found again by its ``scoreboard.run_id`` tag (our run id is deterministic: same
model, version, plan and data), and every (key, step) already logged is skipped. Step is the window
index (0 for overall values); timestamp is the window end in ms (the logging time for overall
values). The tracking URI comes from ``MLFLOW_TRACKING_URI`` as in any MLflow client.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from scoreboard.exceptions import ScoreboardError
from scoreboard.plan.plan import Plan
from scoreboard.results import MetricResult, Results

RUN_ID_TAG = "scoreboard.run_id"
#: MLflow's limit per log_batch call.
BATCH = 1000
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_\-./ ]")


class MlflowError(ScoreboardError):
    """MLflow is missing or the tracking server refused the request."""


@dataclass(frozen=True)
class Logged:
    mlflow_run_id: str
    logged: int
    skipped: int


def require_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise MlflowError(
            "--mlflow needs MLflow: pip install 'scoreboard[mlflow]' (or mlflow-skinny)"
        ) from None
    return mlflow


def metric_key(r: MetricResult) -> str:
    """``f1``, ``f1.daily``, ``f1.daily.country_FR``: a valid MLflow key per series. Not ``/``:
    MLflow's file store keeps ``f1`` as a file, so ``f1/daily`` could not be a folder beside it."""
    parts = [r.metric]
    if r.window is not None:
        parts.append(r.window)
    parts.extend(f"{k}_{v}" for k, v in sorted(r.segment.items()))
    return ".".join(_KEY_UNSAFE.sub("_", p) for p in parts)


def log_evaluation(
    plan: Plan,
    run_id: str,
    model_version: str,
    results: Results,
    *,
    experiment: str | None = None,
) -> Logged:
    """Logs ``results`` to the MLflow run tagged with ``run_id`` (created if none)."""
    require_mlflow()
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient()
        name = experiment or plan.model
        found = client.get_experiment_by_name(name)
        experiment_id = found.experiment_id if found else client.create_experiment(name)
        runs = client.search_runs(
            [experiment_id], filter_string=f"tags.`{RUN_ID_TAG}` = '{run_id}'", max_results=1
        )
        if runs:
            mlflow_run = runs[0]
        else:
            mlflow_run = client.create_run(
                experiment_id,
                run_name=f"{plan.model} {model_version}",
                tags={RUN_ID_TAG: run_id, "scoreboard.model": plan.model},
            )
            client.log_batch(
                mlflow_run.info.run_id,
                params=[
                    Param("model_version", model_version),
                    Param("spec_fingerprint", plan.spec_fingerprint),
                    Param("plan_hash", plan.plan_hash),
                ],
                tags=[RunTag("scoreboard.model_version", model_version)],
            )
        mlflow_id = mlflow_run.info.run_id
        done: set[tuple[str, int]] = set()
        for key in client.get_run(mlflow_id).data.metrics:
            done.update((key, m.step) for m in client.get_metric_history(mlflow_id, key))
        now_ms = int(time.time() * 1000)
        pending: list[Any] = []
        skipped = 0
        for r in results:
            if r.value is None:
                continue  # undefined: MLflow has no null; the reason stays in our store
            key = metric_key(r)
            step = 0 if r.window is None else int(r.window_index or 0)
            if (key, step) in done:
                skipped += 1
                continue
            done.add((key, step))
            stamp = now_ms if r.window_end is None else int(r.window_end.timestamp() * 1000)
            pending.append(Metric(key, float(r.value), stamp, step))
        for start in range(0, len(pending), BATCH):
            client.log_batch(mlflow_id, metrics=pending[start : start + BATCH])
        return Logged(mlflow_id, len(pending), skipped)
    except MlflowException as exc:
        raise MlflowError(f"MLflow: {exc.message}") from None

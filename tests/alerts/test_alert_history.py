"""Rules over the store: state spans runs, replays deterministically, never doubles a
notification, and is written in the same transaction as the results (S1, P4)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scoreboard as sb
from scoreboard.alerts.history import Receiver
from scoreboard.exceptions import StorageError
from scoreboard.recording import Recorded, record_evaluation
from scoreboard.spec import spec_from_mapping
from scoreboard.spec.source import SourceMap
from scoreboard.store import SQLiteStore, schema

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)


def plan_with(*rules: dict[str, Any], metrics: list[Any] | None = None) -> sb.Plan:
    doc = {
        "version": 1,
        "model": "churn",
        "task": "binary",
        "columns": {"y_true": "y", "y_score": "p", "timestamp": "t"},
        "segments": ["region"],
        "windows": [{"name": "daily", "tumbling": "1d"}],
        "metrics": metrics or ["recall", "accuracy", "prevalence"],
        "alerts": list(rules),
    }
    return sb.compile(spec_from_mapping(doc, SourceMap("<test>")))


def day_data(day: int, recall: float, *, region: str = "south", rows: int = 1000) -> dict[str, Any]:
    """``rows`` positives in ``region`` on ``day`` (0-based), of which ``recall`` are caught."""
    caught = round(recall * rows)
    t0 = int((DAY0 + timedelta(days=day, hours=12)).timestamp() * 1e6)
    return {
        "y": np.ones(rows, dtype=np.int8),
        "p": np.r_[np.full(caught, 0.9), np.full(rows - caught, 0.1)],
        "t": np.full(rows, t0, dtype="datetime64[us]"),
        "region": np.full(rows, region),
    }


def concat(*parts: dict[str, Any]) -> dict[str, Any]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "s.db") as opened:
        yield opened


def record(store: SQLiteStore, plan: sb.Plan, data: dict[str, Any], *, version: str = "v1",
           fingerprint: str | None = None) -> Recorded:  # fmt: skip
    acc = plan.accumulator()
    acc.update(data)
    fp = fingerprint or str(
        hash(tuple(data["p"][:50])) + len(data["p"]) + int(data["t"][0].astype(int))
    )
    return record_evaluation(
        store, plan, acc, model_version=version, data_fingerprint=fp, started=DAY0,
        receivers=[Receiver("hook"), Receiver("quiet", send_resolved=False)],
    )  # fmt: skip


def state_of(store: SQLiteStore, rule: str, region: str = "south") -> str:
    (found,) = [
        s for s in store.alert_states() if s.rule == rule and s.segment == {"region": region}
    ]
    return found.state


FOR3 = {"name": "floor", "metric": "recall", "window": "daily", "below": 0.8, "for": 3}


def test_for_3_spans_three_daily_runs_and_notifies_once(store: SQLiteStore) -> None:
    plan = plan_with(FOR3)
    seen = []
    for day in range(3):
        record(store, plan, day_data(day, 0.5))
        seen.append(state_of(store, "floor"))
    assert seen == ["pending", "pending", "firing"]
    south = [r for r in store.outbox() if r.payload["segment"] == {"region": "south"}]
    firing = [r for r in south if r.transition == "firing"]
    assert sorted(r.receiver for r in firing) == ["hook", "quiet"]
    assert firing[0].payload["starts_at"] == "2026-03-01T00:00:00.000000Z"  # the episode began
    assert firing[0].payload["window_start"] == "2026-03-03T00:00:00.000000Z"
    # Re-running any of those evaluations changes nothing (S1).
    before = [(r.dedup_key, r.receiver) for r in store.outbox()]
    for day in range(3):
        again = record(store, plan, day_data(day, 0.5))
    assert [(r.dedup_key, r.receiver) for r in store.outbox()] == before
    assert state_of(store, "floor") == "firing"
    assert [a["state"] for a in again.alerts.to_list() if a["segment"]] == ["firing"]


def test_resolution_goes_to_receivers_that_want_it(store: SQLiteStore) -> None:
    plan = plan_with({**FOR3, "for": 1})
    record(store, plan, day_data(0, 0.5))
    record(store, plan, day_data(1, 0.95))
    rows = sorted((r.transition, r.receiver) for r in store.outbox() if r.payload["segment"])
    assert rows == [("firing", "hook"), ("firing", "quiet"), ("resolved", "hook")]


def test_a_backfill_replays_like_daily_runs(tmp_path: Path) -> None:
    plan = plan_with(FOR3)
    recalls = [0.9, 0.5, 0.5, 0.5, 0.9, 0.5]
    days = [day_data(d, r) for d, r in enumerate(recalls)]
    results = {}
    for name, batches in [("daily", [[d] for d in days]), ("backfill", [days]),
                          ("out-of-order", [days[3:], days[:3]])]:  # fmt: skip
        with SQLiteStore(tmp_path / f"{name}.db") as db:
            for batch in batches:
                record(db, plan, concat(*batch))
            states = [(s.rule, dict(s.segment), s.state, s.window_key) for s in db.alert_states()]
            keys = sorted({(r.dedup_key, r.transition) for r in db.outbox(model="churn")})
            results[name] = (states, keys)
    assert results["daily"] == results["backfill"] == results["out-of-order"]
    states, keys = results["daily"]
    assert sorted(k[1] for k in keys) == ["firing", "firing", "resolved", "resolved"]


def test_notifications_commit_with_the_results_or_not_at_all(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_with({**FOR3, "for": 1})
    monkeypatch.setattr(schema, "INSERT_OUTBOX", "INSERT INTO no_such_table VALUES (?)")
    with pytest.raises(StorageError):
        record(store, plan, day_data(0, 0.5))
    assert (store.runs(), store.history(), store.alert_states(), store.outbox()) == ([], [], [], [])


def test_baseline_previous_version_is_direction_aware(store: SQLiteStore) -> None:
    rule = {"name": "drop", "metric": "recall", "window": "daily", "baseline": "previous",
            "max_drop": 0.1}  # fmt: skip
    plan = plan_with(rule)
    record(store, plan, day_data(0, 0.9), version="v1")
    assert (
        record(store, plan, day_data(0, 0.85), version="v2").alerts.to_list()[-1]["state"]
        == "inactive"
    )
    out = record(store, plan, day_data(0, 0.7), version="v3").alerts.to_list()
    (south,) = [a for a in out if a["segment"] == {"region": "south"}]
    assert (south["state"], south["threshold"]) == ("firing", pytest.approx(0.75))
    # A rise is no drop.
    out = record(store, plan, day_data(0, 0.99), version="v4").alerts.to_list()
    assert [a["state"] for a in out] == ["inactive", "inactive"]


def test_named_baseline_relative_and_missing(store: SQLiteStore) -> None:
    rule = {"name": "vs-v1", "metric": "recall", "window": "daily", "baseline": "v1",
            "max_drop": 0.1, "relative": True}  # fmt: skip
    plan = plan_with(rule)
    out = record(store, plan, day_data(0, 0.5), version="v0").alerts.to_list()
    assert {a["state"] for a in out} == {"insufficient_data"}  # no v1 yet
    record(store, plan, day_data(0, 0.8), version="v1")
    out = record(store, plan, day_data(0, 0.71), version="v2").alerts.to_list()
    assert {a["state"] for a in out} == {"firing"}  # 0.09 > 10% of 0.8


def test_significance_needs_enough_evidence(store: SQLiteStore) -> None:
    rule = {"name": "sig", "metric": "recall", "window": "daily", "below": 0.8,
            "significance": 0.01}  # fmt: skip
    plan = plan_with(rule)
    small = record(store, plan, day_data(0, 0.7, rows=20)).alerts.to_list()
    assert {a["state"] for a in small} == {"inactive"}  # 14/20 is not evidence of < 0.8
    large = record(store, plan, day_data(1, 0.7, rows=2000)).alerts.to_list()
    assert {a["state"] for a in large} == {"firing"}


def test_min_samples_and_undefined_values(store: SQLiteStore) -> None:
    plan = plan_with(
        {"name": "min", "metric": "recall", "window": "daily", "below": 0.8, "min_samples": 100},
        {"name": "undef-ok", "metric": "recall", "window": "daily", "below": 0.8,
         "on_undefined": "ok"},
        {"name": "undef-alert", "metric": "recall", "window": "daily", "below": 0.8,
         "on_undefined": "alerting"},
        {"name": "undef-default", "metric": "recall", "window": "daily", "below": 0.8},
    )  # fmt: skip
    data = day_data(0, 0.5, rows=50)
    data["y"] = np.zeros(50, dtype=np.int8)  # no positives: recall is undefined
    out = {a["rule"]: a for a in record(store, plan, data).alerts.to_list() if a["segment"]}
    assert out["min"]["state"] == "insufficient_data" and out["min"]["reason"] == "min_samples"
    assert out["undef-ok"]["state"] == "inactive"
    assert out["undef-alert"]["state"] == "firing"
    assert out["undef-default"]["state"] == "insufficient_data"


def test_store_migrates_from_schema_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
        with SQLiteStore(path) as old:
            assert old.schema_version() == 2
    with SQLiteStore(path) as new:
        assert new.schema_version() >= 3
        assert new.alert_states() == [] and new.outbox() == []


def test_a_rule_without_window_steps_once_per_run(store: SQLiteStore) -> None:
    plan = plan_with({"name": "per-run", "metric": "recall", "below": 0.8, "for": 2})
    first = record(store, plan, day_data(0, 0.5))
    assert [a["state"] for a in first.alerts.to_list()] == ["pending", "pending"]
    record(store, plan, day_data(1, 0.5))
    assert state_of(store, "per-run") == "firing"
    before = len(store.outbox())
    record(store, plan, day_data(0, 0.5))  # the first run again: no new run, no new step
    assert (state_of(store, "per-run"), len(store.outbox())) == ("firing", before)
    (south,) = [s for s in store.alert_states() if s.segment]
    assert south.window is None and south.window_key is not None
    assert south.window_key.startswith("run:")


def test_a_rule_added_to_a_long_history_pages_once_for_what_fires_now(store: SQLiteStore) -> None:
    quiet = plan_with()  # same plan hash: rules do not fork the history
    recalls = [0.5, 0.9, 0.5, 0.9, 0.5, 0.5]  # past episodes, then firing since day 4
    for day, recall in enumerate(recalls):
        record(store, quiet, day_data(day, recall))
    plan = plan_with({**FOR3, "for": 1})
    assert plan.plan_hash == quiet.plan_hash
    record(store, plan, day_data(6, 0.5))
    south = [r for r in store.outbox() if r.payload["segment"] and r.receiver == "hook"]
    assert [(r.transition, r.payload["window_start"][:10]) for r in south] == [
        ("firing", "2026-03-05")
    ]  # the current episode, once; the two past episodes are not replayed to the receivers
    record(store, plan, day_data(7, 0.9))
    south = [r for r in store.outbox() if r.payload["segment"] and r.receiver == "hook"]
    assert [r.transition for r in south] == ["firing", "resolved"]

"""Crashes between commit and delivery (S3, S4) and the CLI of alerts: evaluate's JSON, the
``alerts`` verb and ``--flush``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alert_helpers import http_receiver

from scoreboard.cli import run
from scoreboard.store import SQLiteStore

HERE = Path(__file__).parent


def crash(spec: Path, data: Path, store: Path, mode: str) -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / "crash_worker.py"), str(spec), str(data), str(store), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 17, done.stderr


def test_a_crash_after_commit_delivers_on_the_next_run(
    tmp_path: Path,
    drift_data: Path,
    drift_spec: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path / "s.db"
    with http_receiver() as rx:
        monkeypatch.setenv("HOOK", rx.url)
        spec = drift_spec(tmp_path, notify=[{"type": "webhook", "url": "${HOOK}"}])
        crash(spec, drift_data, store, "after-commit")
        assert rx.requests == []
        with SQLiteStore(store) as db:
            assert [r.status for r in db.outbox()] == ["pending", "pending"]  # firing, resolved
        assert run(["alerts", "--store", str(store), "--flush", "--spec", str(spec)]) == 0
        assert run(["alerts", "--store", str(store), "--flush", "--spec", str(spec)]) == 0
    assert [r.body["status"] for r in rx.delivered()] == ["firing", "resolved"]
    with SQLiteStore(store) as db:
        assert [r.status for r in db.outbox()] == ["sent", "sent"]


def test_a_crash_after_sending_resends_with_the_same_key(
    tmp_path: Path,
    drift_data: Path,
    drift_spec: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path / "s.db"
    with http_receiver() as rx:
        monkeypatch.setenv("HOOK", rx.url)
        spec = drift_spec(tmp_path, notify=[{"type": "webhook", "url": "${HOOK}"}])
        crash(spec, drift_data, store, "after-send")
        assert len(rx.delivered()) == 2  # both sent, neither marked: the process died first
        assert run(["alerts", "--store", str(store), "--flush", "--spec", str(spec)]) == 0
        assert run(["alerts", "--store", str(store), "--flush", "--spec", str(spec)]) == 0
    keys = [r.headers["idempotency-key"] for r in rx.delivered()]
    assert len(keys) == 4 and keys[:2] == keys[2:]  # at least once; the receiver can dedup
    assert keys[0] != keys[1]
    body = rx.delivered()[0].body
    assert body["version"] == "4" and body["status"] == "firing"
    alert = body["alerts"][0]
    assert alert["labels"]["alertname"] == "recall-floor" and alert["labels"]["region"] == "south"
    assert {"startsAt", "endsAt", "generatorURL", "fingerprint", "annotations"} <= set(alert)
    assert body["groupKey"] and body["commonLabels"]["severity"] == "page"


def test_evaluate_json_lists_alerts_and_keeps_stdout_json(
    tmp_path: Path, drift_data: Path, drift_spec: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    spec = drift_spec(tmp_path, notify=[{"type": "stdout"}])
    store = str(tmp_path / "s.db")
    assert run(["evaluate", str(spec), str(drift_data), "--store", store, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    payload = json.loads(out)  # the stdout notifier wrote to stderr
    assert "[FIRING] recall-floor (page) region=south" in err
    south = next(a for a in payload["alerts"] if a["segment"] == {"region": "south"})
    assert {"rule", "segment", "state", "value", "window", "window_start", "transitions"} <= set(
        south
    )
    assert [t["kind"] for t in south["transitions"]] == ["pending", "firing", "resolved"]
    assert [t["window_start"][:10] for t in south["transitions"]] == [
        "2026-03-08", "2026-03-09", "2026-03-13"
    ]  # fmt: skip
    others = [a for a in payload["alerts"] if a["segment"] not in ({"region": "south"}, {})]
    assert all(not a["transitions"] for a in others)
    assert payload["notifications"] == {"sent": 2, "retried": 0, "dead": 0, "pending": 0,
                                        "failures": {}}  # fmt: skip

    assert run(["alerts", "--store", store, "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["outbox"] == {
        "pending": 0,
        "sent": 2,
        "dead": 0,
        "by_receiver": {"stdout": {"sent": 2}},
    }
    assert {s["segment"].get("region", "all") for s in listing["states"]} == {
        "north", "south", "east", "west", "all"
    }  # fmt: skip


def test_evaluate_without_store_still_reports_alert_states(
    tmp_path: Path, drift_data: Path, drift_spec: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    spec = drift_spec(tmp_path, notify=[{"type": "stdout"}])
    assert run(["evaluate", str(spec), str(drift_data), "--no-store", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    payload = json.loads(out)
    assert payload["notifications"] is None and "FIRING" not in err
    assert any(a["transitions"] for a in payload["alerts"])


def test_flush_needs_a_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["alerts", "--store", str(tmp_path / "s.db"), "--flush"]) == 2
    assert "--flush needs --spec" in capsys.readouterr().err


def test_alerts_on_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["alerts", "--store", str(tmp_path / "none.db")]) == 0
    assert "no store at" in capsys.readouterr().err


def test_alertmanager_gets_refreshes_while_firing_and_repeated_resolutions(
    tmp_path: Path,
    drift_data: Path,
    drift_spec: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = str(tmp_path / "s.db")
    parts = sorted(str(p) for p in drift_data.glob("part-*.parquet"))
    with http_receiver() as am:
        monkeypatch.setenv("AM", am.url)
        spec = str(drift_spec(tmp_path, notify=[{"type": "alertmanager", "url": "${AM}"}]))
        assert run(["evaluate", spec, *parts[:2], "--store", store]) == 0  # days 1-10: firing
        sent, refresh = am.requests
        assert sent.path == refresh.path == "/api/v2/alerts"
        assert sent.headers["idempotency-key"] and "idempotency-key" not in refresh.headers
        assert [a["labels"]["region"] for a in refresh.body] == ["south"]
        assert run(["alerts", "--store", store, "--flush", "--spec", spec]) == 0
        assert [a["labels"]["region"] for a in am.requests[-1].body] == ["south"]  # re-sent
        assert run(["evaluate", spec, *parts, "--store", store]) == 0  # days 1-20: resolved
        resolved = am.requests[-2].body
        assert [a["labels"]["region"] for a in resolved] == ["south"]
        assert resolved[0]["endsAt"] >= resolved[0]["startsAt"]
        repeat = am.requests[-1].body  # the resolution is repeated (for 5 minutes)
        assert [(a["labels"]["region"], a["endsAt"] < a["startsAt"]) for a in repeat] == [
            ("south", False)
        ]


def test_gate_records_alert_states_and_queues_what_evaluate_then_sends(
    tmp_path: Path, drift_data: Path, drift_spec: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    spec = str(drift_spec(tmp_path, notify=[{"type": "stdout"}],
                          gates=[{"metric": "recall", "min": 0.5}]))  # fmt: skip
    store = str(tmp_path / "s.db")
    args = ["--store", store, "--model-version", "v1"]
    assert run(["gate", spec, str(drift_data), *args, "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {a["state"] for a in payload["alerts"]} == {"inactive"}
    with SQLiteStore(store) as db:
        assert [r.status for r in db.outbox()] == ["pending", "pending"]  # no sends from CI
    assert run(["alerts", "--store", store, "--flush", "--spec", spec]) == 0
    assert "[FIRING] recall-floor (page) region=south" in capsys.readouterr().out


def test_evaluate_refreshes_only_the_version_it_evaluated(
    tmp_path: Path,
    drift_data: Path,
    drift_spec: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = str(tmp_path / "s.db")
    parts = sorted(str(p) for p in drift_data.glob("part-*.parquet"))
    with http_receiver() as am:
        monkeypatch.setenv("AM", am.url)
        spec = str(drift_spec(tmp_path, notify=[{"type": "alertmanager", "url": "${AM}"}]))
        assert run(["evaluate", spec, *parts[:2], "--store", store, "--model-version", "v1"]) == 0
        seen = len(am.requests)
        assert run(["evaluate", spec, parts[3], "--store", store, "--model-version", "v2"]) == 0
        later = [a["labels"]["model_version"] for r in am.requests[seen:] for a in r.body]
        assert "v1" not in later  # v1's firing alert lapses in Alertmanager
        assert run(["alerts", "--store", store, "--flush", "--spec", spec]) == 0
        assert [a["labels"]["model_version"] for a in am.requests[-1].body] == ["v1"]

"""Each notifier's output, the statistics behind the rules, and the template substitution."""

from __future__ import annotations

import io
import json
import logging
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alert_helpers import http_receiver, note

from scoreboard.alerts import stats
from scoreboard.alerts.notifiers import (
    FileNotifier,
    LogNotifier,
    SlackNotifier,
    StdoutNotifier,
    WebhookNotifier,
    build_notifiers,
)
from scoreboard.alerts.templates import render, unknown_names
from scoreboard.spec import spec_from_mapping
from scoreboard.spec.source import SourceMap

NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)


def test_stdout_and_log(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    StdoutNotifier("out", stream=stream).send(note(), now=NOW)
    assert stream.getvalue() == (
        "[FIRING] recall-floor (page) region=south: recall = 0.5 daily 2026-03-02T00:00:00Z\n"
    )
    with caplog.at_level(logging.WARNING, logger="scoreboard.alerts"):
        LogNotifier("log").send(note(kind="resolved"), now=NOW)
    assert "[RESOLVED] recall-floor" in caplog.text


def test_file_appends_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "alerts.jsonl"
    notifier = FileNotifier("file", path=str(path))
    notifier.send(note(), now=NOW)
    notifier.send(note(kind="resolved"), now=NOW)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [x["transition"] for x in lines] == ["firing", "resolved"]
    assert lines[0]["sent_at"] == "2026-03-05T12:00:00.000Z" and lines[0]["receiver"] == "file"


def test_slack_and_webhook_bodies() -> None:
    with http_receiver() as rx:
        SlackNotifier("slack", url=rx.url + "/services/x").send(note(), now=NOW)
        WebhookNotifier("hook", url=rx.url, token="t0k").send(note(kind="resolved"), now=NOW)
    slack, hook = rx.requests
    assert slack.body["text"].startswith("[FIRING] recall-floor (page) region=south")
    assert slack.headers["idempotency-key"] == note().dedup_key
    assert hook.headers["authorization"] == "Bearer t0k"
    body = hook.body
    assert set(body) >= {"version", "groupKey", "status", "receiver", "groupLabels",
                         "commonLabels", "commonAnnotations", "externalURL", "alerts"}  # fmt: skip
    (alert,) = body["alerts"]
    assert (body["status"], alert["status"], alert["endsAt"]) == (
        "resolved", "resolved", "2026-03-05T12:00:00.000Z"
    )  # fmt: skip
    assert alert["fingerprint"] == note().fingerprint


def test_build_notifiers_from_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AM", "http://127.0.0.1:1")
    doc = {
        "version": 1, "model": "m", "task": "binary", "columns": {"y_true": "y", "y_score": "p"},
        "metrics": ["f1"],
        "notify": [{"type": "alertmanager", "url": "${AM}", "resend_delay": "2m"},
                   {"type": "stdout", "name": "screen", "send_resolved": False}],
    }  # fmt: skip
    spec = spec_from_mapping(doc, SourceMap("<t>"))
    built = build_notifiers(spec.notify)
    assert sorted(built) == ["alertmanager", "screen"]
    assert built["alertmanager"].where() == "http://127.0.0.1:1/…"
    assert built["screen"].send_resolved is False


def test_z_tests() -> None:
    # recall 0.7 over 100 positives against a floor of 0.8: z = -2.5
    assert stats.one_proportion_p(0.7, 100, 0.8, lower=True) == pytest.approx(0.00621, abs=1e-5)
    assert stats.one_proportion_p(0.79, 100, 0.8, lower=True) > 0.4
    # 0.80 of 1000 against 0.85 of 1000: pooled p 0.825, z = -0.05 / sqrt(0.825·0.175·2/1000)
    p = stats.two_proportion_p(0.80, 1000, 0.85, 1000, lower=True)
    assert p == pytest.approx(stats.normal_sf(0.05 / math.sqrt(0.825 * 0.175 * 0.002)))
    assert stats.two_proportion_p(0.8, 0, 0.9, 10, lower=True) == 1.0
    assert stats.normal_sf(0) == 0.5


def test_bands() -> None:
    center, low, high = stats.mean_std_limits([1.0, 2.0, 3.0], k=2)
    assert (center, low, high) == (2.0, 0.0, 4.0)
    center, low, high = stats.ewma_limits([5.0, 5.0, 5.0], k=3, alpha=0.5)
    assert (center, low, high) == (5.0, 5.0, 5.0)
    center, _, high = stats.ewma_limits([0.0, 1.0], k=1, alpha=0.5)
    assert center == 0.5 and high == pytest.approx(0.5 + math.sqrt(0.25))


def test_templates_are_plain_substitution() -> None:
    values = {"value": 0.71234, "segment": "region=south", "threshold": None, "n": 5}
    text = "{{ value }} {{segment}} [{{ threshold }}] {{ n }} {{ nope }} {{ value.__class__ }}"
    assert render(text, values) == "0.7123 region=south [] 5 {{ nope }} {{ value.__class__ }}"
    assert unknown_names("{{ value }} {{ nope }}") == ["nope"]

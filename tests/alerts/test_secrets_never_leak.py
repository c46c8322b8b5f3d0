"""RELIABILITY C8/C9: a secret set through ${VAR} never appears in any output, log, error, JSON
or stored row, on any path (good runs, failing receivers, dead letters, invalid secrets)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from alert_helpers import SENTINEL, free_port, http_receiver, refused_url

from scoreboard.cli import run


def test_the_sentinel_never_leaks(
    tmp_path: Path,
    drift_data: Path,
    drift_spec: Callable[..., Path],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = str(tmp_path / "s.db")
    with http_receiver(default=500) as failing, http_receiver(default=404) as missing:
        monkeypatch.setenv("HOOK", f"{failing.url}/hooks/{SENTINEL}?token={SENTINEL}")
        monkeypatch.setenv("GONE", f"http://user:{SENTINEL}@127.0.0.1:{missing.port}/{SENTINEL}")
        monkeypatch.setenv("SLACK", f"{refused_url()}/services/{SENTINEL}")
        monkeypatch.setenv("AM", f"{refused_url()}/{SENTINEL}")
        monkeypatch.setenv("TOKEN", SENTINEL)
        monkeypatch.setenv("PASSWORD", SENTINEL)
        spec = str(
            drift_spec(
                tmp_path,
                notify=[
                    {"type": "webhook", "url": "${HOOK}", "token": "${TOKEN}", "timeout": 2},
                    {"type": "webhook", "name": "gone", "url": "${GONE}"},
                    {"type": "slack", "url": "${SLACK}"},
                    {"type": "alertmanager", "url": "${AM}"},
                    {"type": "email", "host": "127.0.0.1", "port": free_port(), "starttls": True,
                     "username": "${TOKEN}", "password": "${PASSWORD}",
                     "from": "a@b.c", "to": ["d@e.f"], "timeout": 2},
                    {"type": "file", "path": str(tmp_path / "alerts.jsonl")},
                    {"type": "log"},
                ],
            )
        )  # fmt: skip
        data = str(drift_data)
        quick = ["--dispatch-timeout", "0"]
        with caplog.at_level(logging.DEBUG):
            assert run(["validate", spec]) == 0
            assert run(["compile", spec]) == 0
            assert run(["evaluate", spec, data, "--store", store, "--format", "json", *quick]) == 0
            assert run(["evaluate", spec, data, "--store", store, *quick]) == 0
            assert run(["alerts", "--store", store, "--format", "json"]) == 0
            assert run(["alerts", "--store", store, "--flush", "--spec", spec, *quick]) == 0
            assert run(["alerts", "--store", store]) == 0
            monkeypatch.setenv("HOOK", SENTINEL)  # an invalid secret: the error hides the value
            assert run(["validate", spec]) == 2
        assert failing.requests and missing.requests  # the receivers were really tried
    out, err = capfd.readouterr()
    assert "dead" in out and "HTTP 404 from http://127.0.0.1" in out
    assert "notify[0].url: must be an http:// or https:// URL" in err
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    written = (tmp_path / "alerts.jsonl").read_text()
    for where, text in [("stdout", out), ("stderr", err), ("logs", caplog.text),
                        ("store", stored.decode("latin-1")), ("file", written)]:  # fmt: skip
        assert SENTINEL not in text, where


def test_a_duplicate_secret_key_does_not_echo_its_value(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "version: 1\nmodel: m\ntask: binary\ncolumns: {y_true: y, y_score: p}\nmetrics: [f1]\n"
        f"notify:\n  - type: slack\n    url: {SENTINEL}\n    url: http://x/{SENTINEL}\n"
    )
    assert run(["validate", str(spec)]) == 2
    out, err = capfd.readouterr()
    assert "9:5: notify[0].url: duplicate key 'url'" in err
    assert SENTINEL not in out + err

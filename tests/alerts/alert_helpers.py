"""Loopback receivers and builders for the alert tests. Every server binds 127.0.0.1 only, every
wait is bounded."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scoreboard.alerts.evaluate import Notification
from scoreboard.store import MetricStore, OutboxEntry, RunRecord

SENTINEL = "SENTINEL-SECRET"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class HttpReceiver:
    """Answers each POST with the next scripted behaviour (then ``default``):
    an int status, ``(429, "7")`` for a status with Retry-After, or ``"hang"``."""

    script: list[Any] = field(default_factory=list)
    default: Any = 200
    hang_s: float = 2.0
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def next(self) -> Any:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def delivered(self) -> list[Request]:
        return [r for r in self.requests if r.headers.get("x-answered") == "2xx"]


@contextmanager
def http_receiver(script: list[Any] | None = None, **kw: Any) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(script=list(script or []), **kw)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            behaviour = receiver.next()
            headers = {k.lower(): v for k, v in self.headers.items()}
            if behaviour == "hang":
                time.sleep(receiver.hang_s)
                behaviour = 200
            retry_after = None
            if isinstance(behaviour, tuple):
                behaviour, retry_after = behaviour
            headers["x-answered"] = "2xx" if 200 <= behaviour < 300 else str(behaviour)
            receiver.requests.append(Request(self.path, headers, json.loads(raw or b"null")))
            try:
                self.send_response(behaviour)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the client gave up (timeout)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def refused_url() -> str:
    """A loopback URL where nothing listens (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeClock:
    """A clock that only moves when ``sleep`` is called (or ``advance``)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert 0 <= seconds <= 3600, seconds
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def note(
    rule: str = "recall-floor", region: str = "south", kind: str = "firing", day: int = 1
) -> Notification:
    start = (T0 + timedelta(days=day)).isoformat().replace("+00:00", "Z")
    labels = {
        "alertname": rule,
        "model": "churn",
        "model_version": "v1",
        "metric": "recall",
        "severity": "page",
        "region": region,
    }
    return Notification(
        dedup_key=f"{rule}-{region}-{day}-{kind}",
        model="churn",
        model_version="v1",
        rule=rule,
        segment={"region": region},
        transition=kind,
        window="daily",
        window_start=start,
        window_end=start,
        value=0.5,
        threshold=0.8,
        severity="page",
        labels=labels,
        annotations={"summary": f"recall 0.5 < 0.8 in region={region}"},
        starts_at=start,
        fingerprint=f"fp-{rule}-{region}",
    )


def queue(store: MetricStore, notes: list[Notification], receivers: list[str]) -> None:
    """Writes ``notes`` to the outbox for ``receivers`` (with a run, as evaluate does)."""
    run = RunRecord("churn", "v1", "spec", "plan", f"data-{len(notes)}", T0, T0, 1)
    entries = [
        OutboxEntry(n.dedup_key, r, n.model, n.model_version, n.rule, n.transition, n.to_json())
        for n in notes
        for r in receivers
    ]
    store.record_run(run, [], outbox=entries)

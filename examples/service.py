"""A minimal live-scoring service: predictions in over HTTP, metrics out to Prometheus.

    scoreboard compile examples/fraud_live.yaml -o plan.json
    python examples/service.py --plan plan.json --port 8000 --allowed-lateness 30

    curl -X POST localhost:8000/predictions -d '{"is_fraud": [0, 1], "fraud_score": [0.1, 0.8],
         "event_time": ["2026-03-01T12:00:00Z", "2026-03-01T12:00:01Z"], "country": ["FR", "US"]}'
    curl localhost:8000/metrics

Routes:

- ``POST /predictions``: a JSON object with one array per input column of the plan, all the same
  length (event times as ISO 8601 text or integer epoch milliseconds, one kind per batch). The
  batch is folded into one accumulator under a lock. A bad batch gets HTTP 400 with
  ``{"error", "message", "column", "row"}`` and changes nothing.
- ``GET /metrics``: Prometheus exposition of :class:`scoreboard.prometheus.ScoreboardCollector`.
- ``GET /healthz``: ``{"status": "ok", ...}``.

The standard library serves HTTP (``ThreadingHTTPServer``): no web framework, and a thread per
request, so scrapes run while batches are being folded (the lock keeps each scrape consistent).
It binds 127.0.0.1 only: put a reverse proxy in front to expose it. SIGTERM and SIGINT stop it
cleanly: requests in flight finish (a silent client is cut off after ``Handler.timeout``), then
the process exits 0.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

import pyarrow as pa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

import scoreboard as sb
from scoreboard.engine import Accumulator
from scoreboard.prometheus import ScoreboardCollector

MAX_BODY = 16 * 1024 * 1024
"""Largest request body accepted (bytes); bigger batches should be split by the client."""


class BadRequest(Exception):
    """A request the client must fix: becomes HTTP 400 (or ``status``) with a JSON body."""

    def __init__(
        self,
        message: str,
        *,
        error: str = "bad_request",
        column: str | None = None,
        row: int | None = None,
        status: HTTPStatus = HTTPStatus.BAD_REQUEST,
    ) -> None:
        super().__init__(message)
        self.body = {"error": error, "message": message, "column": column, "row": row}
        self.status = status


class Scoreboard:
    """The service state: one plan, one accumulator, the lock that guards both, a registry."""

    def __init__(self, plan: sb.Plan, *, allowed_lateness: float | None, max_series: int) -> None:
        self.plan = plan
        self.columns = plan.input_columns
        self.lock = threading.Lock()
        self.accumulator = Accumulator(plan, allowed_lateness=allowed_lateness)
        self.registry = CollectorRegistry()
        self.registry.register(
            ScoreboardCollector(self.accumulator, max_series=max_series, lock=self.lock)
        )

    def batch(self, body: Any) -> tuple[dict[str, pa.Array], int]:
        """The plan's input columns of a decoded request body as Arrow arrays, or BadRequest
        naming the first column at fault."""
        if not isinstance(body, dict):
            raise BadRequest("expected a JSON object with one array per column")
        arrays: dict[str, pa.Array] = {}
        rows: int | None = None
        for column in self.columns:
            if column not in body:
                raise BadRequest(
                    f"missing column; the batch has {sorted(body)}",
                    error="data_error",
                    column=column,
                )
            values = body[column]
            if not isinstance(values, list):
                raise BadRequest("expected an array", error="data_error", column=column)
            if rows is not None and len(values) != rows:
                raise BadRequest(
                    f"has {len(values)} values; the columns before it have {rows}",
                    error="data_error",
                    column=column,
                )
            rows = len(values)
            try:
                arrays[column] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                raise BadRequest(
                    f"cannot read the values: {exc}", error="data_error", column=column
                ) from None
        return arrays, rows or 0

    def update(self, arrays: dict[str, pa.Array], rows: int) -> dict[str, int]:
        """Folds one batch in, then evicts the window instances it closed; returns how many rows
        were taken, too late or dropped, and how many closed results were evicted."""
        acc = self.accumulator
        with self.lock:
            before = (acc.rows, acc.late_rows, acc.dropped_rows, acc.watermark_ns)
            if rows:
                try:
                    acc.update(arrays)
                except sb.DataError as exc:
                    # The engine validates the timestamp column (moving the watermark and the
                    # late and dropped counts) before the label and score columns, so a batch it
                    # rejects may have moved them: put them back, the batch never happened.
                    _, acc.late_rows, acc.dropped_rows, acc.watermark_ns = before
                    raise BadRequest(
                        exc.message, error="data_error", column=exc.column, row=exc.row
                    ) from None
            # Window instances the watermark closed leave memory (a service runs for months);
            # /metrics shows the open ones. A real service would store `closed` first.
            closed = acc.evict_closed() if acc.allowed_lateness_ns is not None else []
            return {
                "rows": acc.rows - before[0],
                "late_rows": acc.late_rows - before[1],
                "dropped_rows": acc.dropped_rows - before[2],
                "closed_results": len(closed),
            }


class Handler(BaseHTTPRequestHandler):
    """Routes requests to the service state held by the server."""

    server: Server
    server_version = "scoreboard-example/1"
    timeout = 10  # seconds a client may stall mid-request (bounds the wait at shutdown)

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self._send(
                HTTPStatus.OK, generate_latest(self.server.state.registry), CONTENT_TYPE_LATEST
            )
        elif self.path == "/healthz":
            state = self.server.state
            self._json(
                HTTPStatus.OK,
                {"status": "ok", "model": state.plan.model, "plan_hash": state.plan.plan_hash},
            )
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": "not_found", "message": self.path})

    def do_POST(self) -> None:
        if self.path != "/predictions":
            self._json(HTTPStatus.NOT_FOUND, {"error": "not_found", "message": self.path})
            return
        try:
            body = self._read_json()
            arrays, rows = self.server.state.batch(body)
            self._json(HTTPStatus.OK, self.server.state.update(arrays, rows))
        except BadRequest as exc:
            self._json(exc.status, exc.body)

    def _read_json(self) -> Any:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise BadRequest(
                "a Content-Length header is required", status=HTTPStatus.LENGTH_REQUIRED
            )
        size = int(length)
        if size > MAX_BODY:
            raise BadRequest(
                f"body over {MAX_BODY} bytes; send smaller batches",
                status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            return json.loads(self.rfile.read(size))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"invalid JSON: {exc}") from None

    def _json(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class Server(ThreadingHTTPServer):
    """A threading HTTP server that carries the service state to its handlers."""

    daemon_threads = False  # server_close() waits for the requests in flight

    def __init__(self, port: int, state: Scoreboard, *, verbose: bool = False) -> None:
        self.state = state
        self.verbose = verbose
        super().__init__(("127.0.0.1", port), Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Live metrics service for a compiled plan.")
    parser.add_argument("--plan", required=True, help="compiled plan JSON (scoreboard compile)")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument(
        "--allowed-lateness",
        type=float,
        default=60.0,
        help="seconds behind the latest event time a row may arrive and still count (default 60)",
    )
    parser.add_argument("--max-series", type=int, default=500, help="series cap per family")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        plan = sb.Plan.load(args.plan)
    except sb.PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = Scoreboard(plan, allowed_lateness=args.allowed_lateness, max_series=args.max_series)
    server = Server(args.port, state, verbose=args.verbose)

    # serve_forever runs in a thread: shutdown() must be called from another thread than the one
    # serving, and the main thread is where signal handlers run.
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serving = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True
    )
    serving.start()
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    # Poll: a signal delivered to another thread (pyarrow's, the core's) only sets a flag that the
    # main thread checks when it runs, so a wait without timeout could sleep through SIGTERM.
    while not stop.wait(0.1):
        pass
    server.shutdown()
    server.server_close()
    serving.join()
    print("stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

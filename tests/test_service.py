"""The live path: examples/service.py over HTTP, and the Prometheus collector on its own.

The service runs in a subprocess on 127.0.0.1 (a free port); its /metrics must equal
``plan.evaluate`` of the same rows for the overall values and the current window, a bad batch
gets HTTP 400 naming the column and changes nothing, and SIGTERM / SIGINT stop it with exit 0.
"""

from __future__ import annotations

import json
import math
import select
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import scoreboard as sb
from plans import make_plan
from scoreboard.engine import Accumulator
from scoreboard.prometheus import ScoreboardCollector, segment_label, select_series

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "examples" / "service.py"
SPEC = ROOT / "examples" / "fraud_live.yaml"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TIMEOUT = 10.0
LATENESS = ["--allowed-lateness", "60"]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


# --------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    sb.compile(sb.load_spec(SPEC)).save(path)
    return path


@dataclass
class Service:
    proc: subprocess.Popen[str]
    url: str
    stderr: Path

    def post(self, body: bytes | dict[str, Any], path: str = "/predictions") -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=TIMEOUT) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def scrape(self) -> Samples:
        status, text = self.get("/metrics")
        assert status == 200
        return parse(text)


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by (sample name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def service(plan_path: Path, tmp_path: Path) -> Iterator[Service]:
    stderr = tmp_path / "stderr.txt"
    with open(stderr, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(SERVICE), "--plan", str(plan_path), "--port", "0", *LATENESS],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 15.0)
        assert ready, f"service did not start: {stderr.read_text()}"
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:"), (line, stderr.read_text())
        yield Service(proc, line.removeprefix("listening on "), stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=TIMEOUT)
        proc.stdout.close()


def batch(seed: int, start: datetime, rows: int, *, epoch_ms: bool = False) -> dict[str, list[Any]]:
    """Predictions within one minute from ``start``: event times as ISO text or epoch ms."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    score = np.clip(np.where(y == 1, 0.6, 0.2) + rng.normal(0, 0.25, rows), 0, 1)
    offsets = np.sort(rng.integers(0, 60_000, rows))
    times = [start + timedelta(milliseconds=int(o)) for o in offsets]
    countries: list[str | None] = [str(c) for c in rng.choice(["FR", "US", "DE"], rows)]
    countries[int(rng.integers(0, rows))] = None
    return {
        "is_fraud": [int(v) for v in y],
        "fraud_score": [float(v) for v in score],
        "event_time": [
            int(t.timestamp() * 1000) if epoch_ms else t.isoformat().replace("+00:00", "Z")
            for t in times
        ],
        "country": countries,
    }


def as_epoch_ms(body: dict[str, list[Any]]) -> dict[str, list[Any]]:
    times = [
        t if isinstance(t, int) else int(datetime.fromisoformat(t).timestamp() * 1000)
        for t in body["event_time"]
    ]
    return {**body, "event_time": times}


def concat(batches: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    ms = [as_epoch_ms(b) for b in batches]
    return {k: [v for b in ms for v in b[k]] for k in ms[0]}


def expected(results: sb.Results, model: str) -> tuple[Samples, datetime]:
    """The value and samples series the collector should export for ``results``."""
    current = max(r.window_index for r in results if r.window == "minute" and r.window_index)
    out: Samples = {}
    start = None
    for r in results:
        if r.window is None:
            window = "all"
        elif r.window_index == current:
            window, start = "minute", r.window_start
        else:
            continue
        labels = (
            ("metric", r.metric),
            ("model", model),
            ("segment", segment_label(r.segment)),
            ("window", window),
        )
        out[("scoreboard_metric_value", labels)] = math.nan if r.value is None else r.value
        out[("scoreboard_metric_samples", labels)] = float(r.n)
    assert start is not None
    return out, start


def assert_close(got: float, want: float, key: object) -> None:
    if math.isnan(want):
        assert math.isnan(got), key
    else:
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), (key, got, want)


def metric_samples(samples: Samples) -> Samples:
    return {k: v for k, v in samples.items() if k[0].startswith("scoreboard_metric_")}


# --------------------------------------------------------------------------------------------
# The service over HTTP


def test_metrics_equal_evaluate_overall_and_current_window(
    service: Service, plan_path: Path
) -> None:
    plan = sb.Plan.load(plan_path)
    batches = [
        batch(1, T0, 150),
        batch(2, T0 + timedelta(minutes=1), 150, epoch_ms=True),
        batch(3, T0 + timedelta(minutes=2), 100),
        batch(4, T0 + timedelta(minutes=2), 3, epoch_ms=True),
    ]
    for body in batches:
        status, reply = service.post(body)
        assert status == 200, reply
        assert reply["rows"] == len(body["is_fraud"]) and reply["late_rows"] == 0

    samples = service.scrape()
    rows = concat(batches)
    want, start = expected(plan.evaluate(rows), plan.model)
    got = metric_samples(samples)
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert_close(got[key], value, key)
    model = (("model", plan.model),)
    assert samples[("scoreboard_rows_total", model)] == len(rows["is_fraud"])
    assert samples[("scoreboard_late_rows_total", model)] == 0
    assert samples[("scoreboard_series_dropped", model)] == 0
    watermark = samples[("scoreboard_watermark_seconds", model)]
    assert watermark == pytest.approx(max(rows["event_time"]) / 1000, abs=1e-6)
    window = (("model", plan.model), ("window", "minute"))
    assert samples[("scoreboard_window_start_seconds", window)] == start.timestamp()
    assert start == T0 + timedelta(minutes=2)

    status, text = service.get("/healthz")
    assert status == 200 and json.loads(text)["status"] == "ok"
    assert service.get("/nope")[0] == 404


def test_bad_batches_get_400_naming_the_column_and_change_nothing(service: Service) -> None:
    good = batch(5, T0, 50)
    assert service.post(good)[0] == 200
    before = service.scrape()
    future = (T0 + timedelta(hours=5)).isoformat()
    late_and_null = {
        **good,
        # Valid timestamps far ahead (they would move the watermark) and a null label.
        "event_time": [future] * 50,
        "is_fraud": [None, *good["is_fraud"][1:]],
    }
    cases: list[tuple[dict[str, Any], str]] = [
        (late_and_null, "is_fraud"),
        ({**good, "fraud_score": [0.5] * 49 + ["high"]}, "fraud_score"),
        ({**good, "fraud_score": good["fraud_score"][:-1]}, "fraud_score"),
        ({k: v for k, v in good.items() if k != "country"}, "country"),
        ({**good, "event_time": ["yesterday"] * 50}, "event_time"),
        ({**good, "event_time": [1.5] * 50}, "event_time"),
        ({**good, "is_fraud": [[0]] * 50}, "is_fraud"),
    ]
    for body, column in cases:
        status, reply = service.post(body)
        assert status == 400, (column, reply)
        assert reply["error"] == "data_error" and reply["column"] == column, reply
        assert service.scrape() == before, column
    status, reply = service.post(b"{not json")
    assert status == 400 and reply["error"] == "bad_request"
    status, reply = service.post(b"[1, 2]")
    assert status == 400 and reply["error"] == "bad_request"
    assert service.scrape() == before

    # A good batch still counts afterwards: the rejected far-future times moved no watermark.
    status, reply = service.post(batch(6, T0 + timedelta(seconds=30), 20))
    assert status == 200 and reply == {
        "rows": 20,
        "late_rows": 0,
        "dropped_rows": 0,
        "closed_results": 0,
    }


def test_late_rows_are_counted_not_folded(service: Service) -> None:
    assert service.post(batch(7, T0 + timedelta(minutes=5), 10))[0] == 200
    late = batch(8, T0, 4)  # five minutes behind, lateness 60 s
    status, reply = service.post(late)
    assert status == 200 and reply == {
        "rows": 0,
        "late_rows": 4,
        "dropped_rows": 0,
        "closed_results": 0,
    }
    samples = service.scrape()
    model = (("model", "fraud-detector"),)
    assert samples[("scoreboard_rows_total", model)] == 10
    assert samples[("scoreboard_late_rows_total", model)] == 4


def test_closed_windows_leave_the_service(service: Service) -> None:
    """Each minute's window closes once the watermark passes its end plus the lateness: the
    service evicts it (its results counted in the reply) and /metrics keeps the open ones."""
    closed = 0
    for minute in range(6):
        status, reply = service.post(batch(20 + minute, T0 + timedelta(minutes=minute), 10))
        assert status == 200, reply
        closed += reply["closed_results"]
    assert closed > 0
    samples = service.scrape()
    model = (("model", "fraud-detector"),)
    assert samples[("scoreboard_rows_total", model)] == 60
    window = (("model", "fraud-detector"), ("window", "minute"))
    assert (
        samples[("scoreboard_window_start_seconds", window)]
        == (T0 + timedelta(minutes=5)).timestamp()
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(service: Service, signum: int) -> None:
    assert service.post(batch(9, T0, 5))[0] == 200
    service.proc.send_signal(signum)
    assert service.proc.wait(timeout=TIMEOUT) == 0
    assert "Traceback" not in service.stderr.read_text()


# --------------------------------------------------------------------------------------------
# The collector alone


def live_plan(**fields: Any) -> sb.Plan:
    return make_plan(
        "binary",
        ["accuracy", "precision", "count"],
        columns={"y_true": "y", "y_score": "p", "timestamp": "ts"},
        windows=[{"name": "minute", "tumbling": "1m"}],
        timestamp_unit="ms",
        **fields,
    )


def rows(n: int, minute: int, countries: list[str], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = int(T0.timestamp() * 1000) + minute * 60_000
    return {
        "y": rng.integers(0, 2, n),
        "p": rng.random(n),
        "ts": base + rng.integers(0, 60_000, n),
        "country": np.array(countries)[np.arange(n) % len(countries)],
    }


def collect(collector: ScoreboardCollector) -> Samples:
    registry = CollectorRegistry()
    registry.register(collector)
    return parse(generate_latest(registry).decode())


def test_segment_labels_are_sorted_escaped_and_carry_the_class() -> None:
    assert segment_label({}) == ""
    assert segment_label({"region": "eu", "class": "a"}) == "class=a,region=eu"
    assert segment_label({"k": "a,b=c\\"}) == "k=a\\,b\\=c\\\\"
    plan = make_plan(
        "multiclass",
        [{"kind": "f1", "average": "none", "name": "f1_per_class"}],
        segments=["region"],
    )
    acc = plan.accumulator()
    acc.update({"y": ["a", "b", "a"], "p": ["a", "a", "a"], "region": ["eu", "us", "us"]})
    segments = {
        dict(labels)["segment"]
        for (name, labels) in collect(ScoreboardCollector(acc))
        if name == "scoreboard_metric_value"
    }
    assert segments == {"class=a", "class=b", "class=a,region=eu", "class=a,region=us"} | {
        "class=b,region=us"
    }


def test_undefined_values_are_nan_with_their_counts() -> None:
    acc = live_plan().accumulator()
    empty = collect(ScoreboardCollector(acc))
    values = {k: v for k, v in empty.items() if k[0] == "scoreboard_metric_value"}
    assert values, "an empty accumulator still exports its overall series"
    for (_, labels), value in values.items():
        if dict(labels)["metric"] == "count":
            assert value == 0
        else:
            assert math.isnan(value)
    # No positive prediction and zero_division: nan -> precision is undefined, not 0.
    acc = live_plan(zero_division="nan").accumulator()
    data = rows(20, 0, ["FR"])
    data["p"] = np.zeros(20)
    acc.update(data)
    got = collect(ScoreboardCollector(acc, plan_name="fraud"))
    key = (("metric", "precision"), ("model", "fraud"), ("segment", ""), ("window", "all"))
    assert math.isnan(got[("scoreboard_metric_value", key)])
    assert got[("scoreboard_metric_samples", key)] == 20
    assert ("scoreboard_watermark_seconds", (("model", "fraud"),)) not in got


def test_only_the_current_window_instance_is_exported() -> None:
    acc = Accumulator(live_plan(segments=["country"]), allowed_lateness=0)
    acc.update(rows(30, 0, ["FR", "US"]))
    acc.update(rows(12, 3, ["DE"], seed=1))
    got = collect(ScoreboardCollector(acc))
    windows = {
        (dict(labels)["window"], dict(labels)["segment"])
        for (name, labels) in got
        if name == "scoreboard_metric_value"
    }
    assert windows == {
        ("all", ""),
        ("all", "country=FR"),
        ("all", "country=US"),
        ("all", "country=DE"),
        ("minute", ""),
        ("minute", "country=DE"),
    }
    start = got[("scoreboard_window_start_seconds", (("model", "m"), ("window", "minute")))]
    assert start == (T0 + timedelta(minutes=3)).timestamp()
    key = (("metric", "count"), ("model", "m"), ("segment", ""), ("window", "minute"))
    assert got[("scoreboard_metric_value", key)] == 12


def test_cardinality_is_capped_by_whole_segments_in_first_seen_order() -> None:
    countries = [f"c{i:02d}" for i in range(40)]
    acc = live_plan(segments=["country"]).accumulator()
    acc.update(rows(400, 0, countries))
    total = len(select_series(acc.results(), 10**6).series)
    assert total == 3 * 2 * 41  # 3 metrics x (all, current minute) x (overall + 40 countries)

    got = collect(ScoreboardCollector(acc, max_series=20))
    for family in ("scoreboard_metric_value", "scoreboard_metric_samples"):
        series = [labels for (name, labels) in got if name == family]
        assert len(series) <= 20
        segments = [dict(labels)["segment"] for labels in series]
        # overall (6) + c00 (6) + c01 (6) = 18; c02 would need 6 more.
        assert sorted(set(segments)) == ["", "country=c00", "country=c01"]
        assert all(segments.count(s) == 6 for s in set(segments))
    assert got[("scoreboard_series_dropped", (("model", "m"),))] == total - 18

    tiny = select_series(acc.results(), 2)  # not even the overall group (3 series) fits
    assert tiny.series == [] and tiny.dropped == total
    with pytest.raises(ValueError):
        ScoreboardCollector(acc, max_series=0)


def test_collect_reads_under_the_given_lock() -> None:
    acc = live_plan().accumulator()
    acc.update(rows(10, 0, ["FR"]))

    class Recorder:
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.entered = 0

        def __enter__(self) -> None:
            self.lock.acquire()
            self.entered += 1

        def __exit__(
            self,
            kind: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None:
            self.lock.release()

    lock = Recorder()
    collector = ScoreboardCollector(acc, lock=lock)
    registry = CollectorRegistry()
    registry.register(collector)  # describe() computes nothing
    assert lock.entered == 0
    generate_latest(registry)
    assert lock.entered == 1 and not lock.lock.locked()

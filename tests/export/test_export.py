"""``scoreboard export``: each format read back by its own tool."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scenario import cli, populated_store, write_spec
from scoreboard.store import open_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return populated_store(tmp_path_factory.mktemp("export"))


def stored(store: Path, **filters: str) -> list:
    with open_store(store, read_only=True) as db:
        return db.history(latest_windows=True, **filters)


def overall(store: Path, version: str, metric: str, segment: dict | None = None) -> float:
    (point,) = [
        p
        for p in stored(store, model_version=version, metric=metric)
        if p.window is None and dict(p.segment) == (segment or {})
    ]
    return point.value


def samples(text: str, name: str) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                labels = s.labels
                key = tuple(labels[k] for k in ("model_version", "metric", "window", "segment"))
                out[key] = s.value
    return out


# -- Prometheus ---------------------------------------------------------------------------------


def test_prometheus_textfile(store: Path, tmp_path: Path) -> None:
    dest = tmp_path / "scoreboard.prom"
    assert cli("export", "prometheus", dest, "--store", store) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["scoreboard.prom"]  # temp file renamed
    text = dest.read_text()
    values = samples(text, "scoreboard_metric_value")
    assert len(values) == 2 * 4 * 2 * 3  # versions x metrics x (all, daily) x segments
    assert values[("v1", "f1", "all", "")] == pytest.approx(overall(store, "v1", "f1"))
    fr = overall(store, "v2", "recall", {"country": "FR"})
    assert values[("v2", "recall", "all", "country=FR")] == pytest.approx(fr)
    last_day = max(
        (p for p in stored(store, model_version="v1", metric="f1") if p.window and not p.segment),
        key=lambda p: p.window_start,
    )
    assert values[("v1", "f1", "daily", "")] == pytest.approx(last_day.value)
    n = samples(text, "scoreboard_metric_samples")
    assert n[("v1", "f1", "all", "")] == 6000
    stamps = samples(text, "scoreboard_metric_timestamp_seconds")
    assert stamps[("v1", "f1", "daily", "")] == last_day.window_end.timestamp()


def test_prometheus_filters(store: Path, tmp_path: Path) -> None:
    dest = tmp_path / "m.prom"
    assert cli("export", "prometheus", dest, "--store", store, "--model-version", "v2",
               "--metric", "fpr") == 0  # fmt: skip
    values = samples(dest.read_text(), "scoreboard_metric_value")
    assert {k[:2] for k in values} == {("v2", "fpr")}


class _Receiver(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str, bytes]]] = []

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.requests.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    do_PUT = do_POST = _record

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list]]:
    _Receiver.requests = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.requests
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def test_pushgateway(store: Path, receiver) -> None:
    url, requests = receiver
    assert cli("export", "prometheus", "--pushgateway", url, "--store", store) == 0
    ((method, path, body),) = requests
    assert method == "PUT" and path == "/metrics/job/scoreboard/model/fraud"
    values = samples(body.decode(), "scoreboard_metric_value")
    assert values[("v1", "f1", "all", "")] == pytest.approx(overall(store, "v1", "f1"))


def test_pushgateway_down_is_exit_2(store: Path, capsys) -> None:
    code = cli("export", "prometheus", "--pushgateway", "http://127.0.0.1:9", "--store", store)
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot push to the Pushgateway at http://127.0.0.1:9" in err
    assert "Traceback" not in err


# -- files ------------------------------------------------------------------------------------


def test_parquet_and_csv(store: Path, tmp_path: Path) -> None:
    points = stored(store)
    assert cli("export", "parquet", tmp_path / "h.parquet", "--store", store) == 0
    assert cli("export", "csv", tmp_path / "h.csv", "--store", store) == 0
    for table in (pq.read_table(tmp_path / "h.parquet"), pacsv.read_csv(tmp_path / "h.csv")):
        assert table.num_rows == len(points)
        rows = table.to_pylist()
        first = rows[0]
        assert first["run_id"] == points[0].run_id and first["metric"] == points[0].metric
        assert [r["value"] for r in rows] == pytest.approx([p.value for p in points])
        assert [json.loads(r["segment"]) for r in rows] == [dict(p.segment) for p in points]
        assert sum(1 for r in rows if r["window"] == "daily") == sum(1 for p in points if p.window)
    parquet = pq.read_table(tmp_path / "h.parquet")
    assert str(parquet.schema.field("window_start").type) == "timestamp[us, tz=UTC]"


# -- TensorBoard ------------------------------------------------------------------------------


def test_tensorboard_read_back_by_event_accumulator(store: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    dest = tmp_path / "tb"
    for _ in range(2):  # exporting again replaces, never doubles
        assert cli("export", "tensorboard", dest, "--store", store) == 0
    run = dest / "fraud" / "v1"
    assert len(list(run.glob("events.out.tfevents.*"))) == 1
    acc = EventAccumulator(str(run))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "f1/all" in tags and "f1/daily" in tags and "recall/daily/country_FR" in tags
    (overall_event,) = acc.Scalars("f1/all")
    assert overall_event.step == 0
    assert overall_event.value == pytest.approx(overall(store, "v1", "f1"), rel=1e-6)
    daily = acc.Scalars("f1/daily")
    windows = sorted(
        (p for p in stored(store, model_version="v1", metric="f1") if p.window and not p.segment),
        key=lambda p: p.window_index,
    )
    assert [e.step for e in daily] == [p.window_index for p in windows]
    assert [e.value for e in daily] == pytest.approx([p.value for p in windows], rel=1e-6)
    assert [e.wall_time for e in daily] == [p.window_end.timestamp() for p in windows]
    assert (dest / "fraud" / "v2").is_dir()


# -- bad destinations and inputs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("prometheus", "{tmp}/no/such/dir/x.prom"), "cannot write the Prometheus textfile"),
        (("parquet", "{tmp}/no/such/dir/h.parquet"), "cannot write the parquet export"),
        (("csv", "{tmp}/no/such/dir/h.csv"), "cannot write the csv export"),
        (("tensorboard", "{tmp}/a-file"), "is a file"),
        (("prometheus",), "give a textfile DEST, --pushgateway URL, or both"),
        (("parquet", "{tmp}"), "is a directory"),
    ],
)
def test_bad_destination_is_exit_2(store: Path, tmp_path: Path, capsys, args, message) -> None:
    (tmp_path / "a-file").write_text("x")
    argv = [a.format(tmp=tmp_path) for a in args]
    assert cli("export", *argv, "--store", store) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_store_is_exit_2(tmp_path: Path, capsys) -> None:
    assert cli("export", "csv", tmp_path / "h.csv", "--store", tmp_path / "none.db") == 2
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "h.csv").exists()


def test_pushgateway_groups_by_model(tmp_path: Path, receiver) -> None:
    url, requests = receiver
    store = populated_store(tmp_path)
    other = write_spec(tmp_path / "other.yaml", model="fraud-b", windows=None, segments=None)
    assert cli("evaluate", other, tmp_path / "good.parquet", "--store", store,
               "--output", tmp_path / "o.txt") == 0  # fmt: skip
    assert cli("export", "prometheus", "--pushgateway", url, "--store", store) == 0
    paths = sorted(path for _, path, _ in requests)
    assert paths == ["/metrics/job/scoreboard/model/fraud", "/metrics/job/scoreboard/model/fraud-b"]
    body = next(b for _, p, b in requests if p.endswith("fraud-b")).decode()
    assert {k[1] for k in samples(body, "scoreboard_metric_value")} == {
        "accuracy", "f1", "recall", "fpr",
    }  # fmt: skip

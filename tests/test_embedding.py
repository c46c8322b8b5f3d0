"""Embedding a compiled plan in a service, in-process: the plan travels as JSON, every batch form
gives the same state, windows close as event time advances, late rows are dropped and counted,
and concurrent updates and merges from threads equal one sequential pass."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import scoreboard as sb
from plans import make_plan
from scoreboard.engine import Accumulator

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)
MINUTE_MS = 60_000
LATENESS_S = 60
METRICS = ["accuracy", "precision", "recall", "f1", "mcc", "count"]

Key = tuple[str, str | None, int | None, tuple[tuple[str, str], ...]]


def live_plan(**fields: Any) -> sb.Plan:
    """The fraud service's shape: minute windows and a country segment."""
    fields.setdefault("windows", [{"name": "minute", "tumbling": "1m"}])
    fields.setdefault("segments", ["country"])
    return make_plan(
        "binary",
        METRICS,
        columns={"y_true": "y", "y_score": "p", "timestamp": "ts"},
        timestamp_unit="ms",
        **fields,
    )


def plain_plan() -> sb.Plan:
    return make_plan("binary", METRICS)


def data(n: int, seed: int, *, start_ms: int = T0_MS, span_ms: int = MINUTE_MS) -> dict[str, Any]:
    """Labels, scores, sorted epoch-ms event times in [start, start + span) and countries."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return {
        "y": y,
        "p": np.clip(np.where(y == 1, 0.65, 0.35) + rng.normal(0, 0.25, n), 0, 1),
        "ts": np.sort(start_ms + rng.integers(0, span_ms, n)),
        "country": rng.choice(["FR", "US", "DE", "BR"], n),
    }


def by_key(results: sb.Results) -> dict[Key, tuple[float | None, int]]:
    """Results keyed independently of report order (segment codes follow arrival order)."""
    out: dict[Key, tuple[float | None, int]] = {}
    for r in results:
        key = (r.metric, r.window, r.window_index, tuple(sorted(r.segment.items())))
        assert key not in out
        out[key] = (r.value, r.n)
    return out


@contextmanager
def busy_switching() -> Iterator[None]:
    """Makes the interpreter switch threads very often, so races show up in a few runs."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_threads(targets: list[Callable[[], None]]) -> None:
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def start(target: Callable[[], None]) -> None:
        barrier.wait()
        try:
            target()
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(t,)) for t in targets]
    with busy_switching():
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


# --------------------------------------------------------------------------------------------
# The plan travels as JSON


def test_plan_from_json_and_load_give_the_same_accumulator(tmp_path: Path) -> None:
    plan = live_plan()
    path = tmp_path / "plan.json"
    plan.save(path)
    copies = [sb.Plan.from_json(plan.to_json()), sb.Plan.load(path)]
    batch = data(500, 1)
    reference = plan.accumulator()
    reference.update(batch)
    for other in copies:
        assert other is not plan and other == plan and other.plan_hash == plan.plan_hash
        acc = other.accumulator()
        acc.update(batch)
        assert acc.to_bytes() == reference.to_bytes()
        # A state built from one copy loads and merges under another.
        loaded = plan.accumulator_from_bytes(acc.to_bytes())
        loaded.merge(reference)
        assert loaded.rows == 1000
    assert by_key(reference.results()) == by_key(plan.evaluate(batch))


@pytest.mark.parametrize("rows", [2000, 6000], ids=["small", "large"])
@pytest.mark.parametrize("make", [live_plan, plain_plan], ids=["windows+segments", "plain"])
def test_numpy_dict_record_batch_and_dataframe_give_the_same_state(
    make: Callable[[], sb.Plan], rows: int
) -> None:
    # 2,000 and 6,000 rows: segment values are looked up one by one up to 4,096 rows of a
    # small batch, and hashed (by pyarrow or the core) above.
    plan = make()
    raw = data(rows, 2)
    stamps = raw["ts"].astype("datetime64[ms]")
    forms: dict[str, Any] = {
        "numpy dict (epoch ms)": raw,
        "numpy dict (datetime64)": {**raw, "ts": stamps},
        "numpy dict (object text)": {**raw, "country": raw["country"].astype(object)},
        "dict of arrow arrays": {k: pa.array(v) for k, v in raw.items()},
        "dict of lists": {k: v.tolist() for k, v in raw.items()},
        "record batch": pa.RecordBatch.from_pydict(
            {
                "y": pa.array(raw["y"], pa.int8()),
                "p": pa.array(raw["p"], pa.float64()),
                "ts": pa.array(stamps).cast(pa.timestamp("us", tz="UTC")),
                "country": pa.array(raw["country"]).dictionary_encode(),
            }
        ),
        "dataframe": pd.DataFrame(
            {
                "y": raw["y"],
                "p": raw["p"],
                "ts": pd.to_datetime(raw["ts"], unit="ms", utc=True),
                "country": raw["country"],
            }
        ),
    }
    states = {}
    for name, batch in forms.items():
        acc = plan.accumulator()
        acc.update(batch)
        states[name] = acc
    first = states["numpy dict (epoch ms)"]
    for name, acc in states.items():
        assert acc.rows == rows, name
        assert by_key(acc.results()) == by_key(first.results()), name
        if plan.layout.needs_keys:
            # Same segment dictionaries and cells, byte for byte. (A plain plan's header counts
            # rows only for Arrow input, so its bytes differ by form; its results do not.)
            assert acc.to_bytes() == first.to_bytes(), name


@pytest.mark.parametrize("rows", [50, 6000], ids=["small", "large"])
def test_segment_values_read_the_same_from_numpy_and_arrow(rows: int) -> None:
    """Nulls, numbers and text as segment values: numpy (looked up or hashed) and Arrow agree."""
    plan = live_plan(segments=["country", "tier", "score_band"])
    raw = data(rows, 3)
    rng = np.random.default_rng(4)
    country = raw["country"].astype(object)
    country[rng.random(rows) < 0.1] = None
    raw.update(
        country=country,
        tier=rng.integers(1, 4, rows),
        score_band=np.round(rng.random(rows) * 2) / 2,  # 0.0, 0.5, 1.0: "0", "0.5", "1"
    )
    arrow = {name: pa.array(values) for name, values in raw.items()}
    from_numpy, from_arrow = plan.accumulator(), plan.accumulator()
    from_numpy.update(raw)
    from_arrow.update(arrow)
    assert by_key(from_numpy.results()) == by_key(from_arrow.results())
    segments = {r.segment.get("country") for r in from_numpy.results()}
    assert "(null)" in segments
    assert {r.segment.get("score_band") for r in from_numpy.results()} >= {"0", "0.5", "1"}


@pytest.mark.parametrize("rows", [0, 300])
def test_numpy_text_labels_equal_arrow_labels(rows: int) -> None:
    plan = make_plan(
        "multiclass", ["accuracy", {"kind": "f1", "average": "macro"}], labels=["cat", "dog", "é"]
    )
    rng = np.random.default_rng(5)
    batch = {
        "y": rng.choice(["cat", "dog", "é"], rows),
        "p": rng.choice(["dog", "cat", "é"], rows),
    }
    from_numpy, from_arrow = plan.accumulator(), plan.accumulator()
    from_numpy.update(batch)
    from_arrow.update(pa.RecordBatch.from_pydict({k: pa.array(v) for k, v in batch.items()}))
    assert by_key(from_numpy.results()) == by_key(from_arrow.results())


def test_columns_of_unequal_length_are_a_data_error_naming_the_column() -> None:
    batch = data(10, 1)
    batch["p"] = batch["p"][:7]
    with pytest.raises(sb.DataError) as caught:
        live_plan().accumulator().update(batch)
    assert caught.value.column == "p"
    assert "7 rows" in str(caught.value)


@pytest.mark.parametrize("column", ["ts", "country", "y"])
@pytest.mark.parametrize("shape", [(), (10, 2), (10, 2, 2)], ids=["0-d", "2-d", "3-d"])
def test_arrays_of_the_wrong_shape_are_data_errors_naming_the_column(
    column: str, shape: tuple[int, ...]
) -> None:
    batch = data(10, 1)
    batch[column] = np.zeros(shape, dtype=batch[column].dtype)
    with pytest.raises(sb.DataError) as caught:
        live_plan().accumulator().update(batch)
    assert caught.value.column == column


def test_a_rejected_batch_adds_no_segment_value() -> None:
    acc = live_plan(max_series=5).accumulator()
    acc.update(data(10, 1))  # FR, US, DE, BR
    before = acc.to_bytes()
    too_many = data(5, 2)
    too_many["country"] = np.array(["NZ", "NZ", "JP", "FR", "KR"])  # NZ fits, JP does not
    null_score = data(3, 3)
    null_score["country"] = np.array(["NZ", "NZ", "NZ"], dtype=object)
    null_score["p"] = np.array([0.1, None, 0.3], dtype=object)  # rejected by the core
    for batch in (too_many, null_score):
        with pytest.raises(sb.DataError):
            acc.update(batch)
        assert acc.to_bytes() == before
    acc.update(data(4, 4))
    assert acc.rows == 14


# --------------------------------------------------------------------------------------------
# Event time: windows close, late rows are dropped


def closed_instances(acc: Accumulator) -> set[int]:
    out = set()
    for r in acc.results(closed_only=True):
        assert r.window == "minute" and r.window_index is not None, r
        out.add(r.window_index)
    return out


def test_windows_close_as_event_time_advances() -> None:
    plan = live_plan()
    acc = Accumulator(plan, allowed_lateness=LATENESS_S)
    assert acc.watermark_ns is None and closed_instances(acc) == set()
    first_minute = T0_MS // MINUTE_MS
    batches = []
    frozen: dict[Key, tuple[float | None, int]] = {}
    for minute in range(6):
        # Two batches per minute, in event-time order: the minute's first 40 s, then the rest.
        for offset, span in ((0, 40_000), (40_000, 20_000)):
            batch = data(300, 10 * minute + offset, start_ms=T0_MS + minute * MINUTE_MS + offset)
            batch["ts"] = T0_MS + minute * MINUTE_MS + offset + (batch["ts"] - T0_MS) % span
            batch["ts"].sort()
            acc.update(batch)
            batches.append(batch)
            watermark = int(max(b["ts"].max() for b in batches)) * 10**6
            assert acc.watermark_ns == watermark
            ends = {
                first_minute + m: (T0_MS + (m + 1) * MINUTE_MS) * 10**6 for m in range(minute + 1)
            }
            expected = {i for i, end in ends.items() if end + LATENESS_S * 10**9 <= watermark}
            assert closed_instances(acc) == expected
            # A closed instance never changes again.
            closed = by_key(acc.results(closed_only=True))
            for key, value in frozen.items():
                assert closed[key] == value
            frozen = closed
    assert acc.late_rows == 0
    # Minute 5 ended at minute 6 and needs a watermark of 6:00 + 60 s: still open.
    assert closed_instances(acc) == {first_minute + m for m in range(4)}
    # The closed values are those of a batch evaluation of the same rows.
    everything = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    reference = by_key(plan.evaluate(everything))
    for key, value in by_key(acc.results(closed_only=True)).items():
        assert reference[key] == value


def test_rows_older_than_watermark_minus_lateness_are_dropped_and_counted() -> None:
    plan = live_plan()
    acc = Accumulator(plan, allowed_lateness=LATENESS_S)
    acc.update(data(200, 1, start_ms=T0_MS, span_ms=5 * MINUTE_MS))
    watermark_ms = acc.watermark_ns // 10**6 if acc.watermark_ns is not None else 0
    limit = watermark_ms - LATENESS_S * 1000
    before = by_key(acc.results(closed_only=True))
    # Two rows exactly at the limit (on time), three just or well before it and one far back.
    late = {
        "y": np.array([1, 0, 1, 0, 1, 0]),
        "p": np.array([0.9, 0.1, 0.9, 0.1, 0.9, 0.1]),
        "ts": np.array([limit, limit, limit - 1, limit - 1000, limit - 61_000, T0_MS - 10**7]),
        "country": np.array(["FR"] * 6),
    }
    acc.update(late)
    assert acc.late_rows == 4
    assert acc.rows == 202
    assert acc.watermark_ns == watermark_ms * 10**6
    results = acc.results()
    assert results.dropped_rows == 4
    assert results.get("count").value == 202
    # Late rows never reach a closed window.
    assert by_key(acc.results(closed_only=True)) == before
    # The counters travel with the state.
    again = plan.accumulator_from_bytes(acc.to_bytes())
    assert (again.late_rows, again.watermark_ns, again.allowed_lateness_ns) == (
        4,
        acc.watermark_ns,
        LATENESS_S * 10**9,
    )


# --------------------------------------------------------------------------------------------
# Threads


def test_concurrent_updates_of_a_plain_plan_equal_one_pass() -> None:
    plan = plain_plan()
    chunks = [{k: v for k, v in data(5000, 100 + i).items() if k in ("y", "p")} for i in range(8)]
    shared = plan.accumulator()
    run_threads([partial(shared.update, c) for c in chunks])
    sequential = plan.accumulator()
    for c in chunks:
        sequential.update(c)
    # Counts are integers: the values derived from them are exactly equal.
    assert by_key(shared.results()) == by_key(sequential.results())
    assert shared.rows == 40_000


def test_concurrent_updates_with_windows_and_segments_equal_one_pass() -> None:
    plan = live_plan(segments=["country", ["country", "device"]])
    chunks = []
    for i in range(8):
        chunk = data(3000, 200 + i, span_ms=10 * MINUTE_MS)
        rng = np.random.default_rng(i)
        # Every thread brings new segment values, so they race to add them to the dictionary.
        chunk["country"] = np.array([f"c{i}-{k}" for k in range(6)] + ["FR"])[
            rng.integers(0, 7, 3000)
        ]
        chunk["device"] = rng.choice(["ios", "android", f"d{i}"], 3000)
        chunks.append(chunk)
    sequential = plan.accumulator()
    for c in chunks:
        sequential.update(c)
    want = by_key(sequential.results())
    for _ in range(3):
        shared = plan.accumulator()
        run_threads([partial(shared.update, c) for c in chunks])
        assert by_key(shared.results()) == want


def test_concurrent_updates_of_rows_windows_keep_each_batch_contiguous() -> None:
    # Rows windows number rows in arrival order: with batches of exactly one window, every
    # instance must hold one whole batch, whatever order the threads ran in.
    plan = live_plan(windows=[{"name": "per_1000", "rows": 1000}])
    chunks = [data(1000, 300 + i) for i in range(8)]
    for _ in range(10):
        shared = plan.accumulator()
        run_threads([partial(shared.update, c) for c in chunks])
        counts = sorted(
            r.n
            for r in shared.results()
            if r.window == "per_1000" and r.metric == "count"
            if not r.segment
        )
        assert counts == [1000] * 8


def test_concurrent_late_row_counts_lose_no_update() -> None:
    plan = live_plan()
    chunks = [data(5000, 400 + i, span_ms=70 * MINUTE_MS) for i in range(8)]
    for _ in range(3):
        shared = Accumulator(plan, allowed_lateness=LATENESS_S)
        shared.update(data(1, 0, start_ms=T0_MS + 60 * MINUTE_MS))  # watermark an hour ahead

        def feed(chunk: dict[str, Any], acc: Accumulator = shared) -> None:
            for _ in range(20):
                acc.update(chunk)

        run_threads([partial(feed, c) for c in chunks])
        assert shared.late_rows > 0
        assert shared.rows + shared.late_rows == 1 + 8 * 20 * 5000


def test_concurrent_merges_equal_one_pass() -> None:
    plan = live_plan()
    chunks = [data(1000, 500 + i, span_ms=3 * MINUTE_MS) for i in range(8)]
    parts = []
    for c in chunks:
        part = plan.accumulator()
        part.update(c)
        parts.append(part)
    shared = plan.accumulator()
    run_threads([partial(shared.merge, p) for p in parts])
    sequential = plan.accumulator()
    for c in chunks:
        sequential.update(c)
    assert by_key(shared.results()) == by_key(sequential.results())


def test_service_pattern_lock_and_collector_snapshot_agree() -> None:
    """Updates under the service's lock and scrapes under the same lock: every snapshot's
    overall count equals the rows counter read with it (no torn reads)."""
    pytest.importorskip("prometheus_client")
    from scoreboard.prometheus import select_series

    plan = live_plan()
    acc = Accumulator(plan, allowed_lateness=LATENESS_S)
    lock = threading.Lock()
    torn: list[tuple[float, int]] = []

    def writer(seed: int) -> None:
        for k in range(15):
            batch = data(200, seed * 100 + k, start_ms=T0_MS + k * 1000)
            with lock:
                acc.update(batch)

    def reader() -> None:
        for _ in range(15):
            with lock:
                results, rows = acc.results(), acc.rows
            for s in select_series(results, 500).series:
                overall = s.metric == "count" and s.window == "all" and s.segment == ""
                if overall and s.value != rows:
                    torn.append((s.value, rows))

    run_threads([*(partial(writer, s) for s in range(4)), reader, reader])
    assert not torn
    assert acc.rows + acc.late_rows == 4 * 15 * 200


def test_iso_text_and_epoch_ms_timestamps_agree() -> None:
    plan = live_plan()
    raw = data(300, 7)
    iso = [
        (T0 + timedelta(milliseconds=int(t) - T0_MS)).isoformat().replace("+00:00", "Z")
        for t in raw["ts"]
    ]
    a, b = plan.accumulator(), plan.accumulator()
    a.update(raw)
    b.update({**raw, "ts": iso})
    assert by_key(a.results()) == by_key(b.results())


# --------------------------------------------------------------------------------------------
# Rejected batches are all or nothing, and errors name the row of the batch as given


def test_a_rejected_batch_moves_no_watermark_and_counts_no_late_rows() -> None:
    acc = Accumulator(live_plan(), allowed_lateness=LATENESS_S)
    acc.update(data(10, 1, start_ms=T0_MS + 10 * MINUTE_MS))
    before = (acc.watermark_ns, acc.late_rows, acc.rows)
    bad = data(3, 2)
    bad["ts"] = np.array([T0_MS, T0_MS + 3_600_000, T0_MS + 3_600_000])  # one late, two ahead
    bad["p"] = np.array([0.1, np.nan, 0.2]).astype(object)
    bad["p"][1] = None  # a null score: the batch is rejected
    with pytest.raises(sb.DataError):
        acc.update(bad)
    assert (acc.watermark_ns, acc.late_rows, acc.rows) == before


def test_a_null_is_located_at_its_row_in_the_batch_when_late_rows_precede_it() -> None:
    acc = Accumulator(live_plan(), allowed_lateness=LATENESS_S)
    acc.update(data(10, 1, start_ms=T0_MS + 10 * MINUTE_MS))
    bad = data(3, 2, start_ms=T0_MS + 10 * MINUTE_MS)
    bad["ts"][0] = T0_MS  # late: filtered before the columns are read
    bad["y"] = np.array([1, None, 0], dtype=object)
    with pytest.raises(sb.DataError) as caught:
        acc.update(bad)
    assert caught.value.column == "y"
    assert caught.value.row == 1

"""Windows and segments against a pandas group-by + scikit-learn computation, and invariance
under chunking, file order and format."""

from __future__ import annotations

import itertools
import warnings
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm

import scoreboard as sb
from plans import make_plan
from scoreboard.engine import Accumulator

DAY_NS = 86_400 * 10**9
START = datetime(2026, 3, 1, tzinfo=UTC)


def frame(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, 30 * 86_400, n), unit="s")
    region = rng.choice(["eu", "us", "apac"], n)
    device = rng.choice(["ios", "android"], n)
    y = rng.integers(0, 2, n)
    # One region degrades: its scores are noise.
    signal = np.where(y == 1, rng.uniform(0.4, 1, n), rng.uniform(0, 0.6, n))
    score = np.where(region == "apac", rng.random(n), signal)
    return pd.DataFrame({"ts": ts, "region": region, "device": device, "y": y, "p": score})


def plan(**extra: Any) -> sb.Plan:
    return make_plan(
        "binary",
        ["accuracy", "f1", "mcc", "count"],
        columns={"y_true": "y", "y_score": "p", "timestamp": "ts"},
        **extra,
    )


def sk(group: pd.DataFrame) -> dict[str, float]:
    pred = (group["p"] >= 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "accuracy": skm.accuracy_score(group["y"], pred),
            "f1": skm.f1_score(group["y"], pred),
            "mcc": skm.matthews_corrcoef(group["y"], pred),
            "count": float(len(group)),
        }


def by_group(results: sb.Results) -> dict[tuple[Any, ...], float | None]:
    return {
        (r.window, r.window_start, tuple(sorted(r.segment.items())), r.metric): r.value
        for r in results
    }


def check(
    results: sb.Results, df: pd.DataFrame, window: str | None, freq: str | None, segment: list[str]
) -> int:
    got = by_group(results)
    keys = ([pd.Grouper(key="ts", freq=freq)] if freq else []) + segment
    groups = df.groupby(keys) if keys else [((), df)]
    checked = 0
    for key, group in groups:
        if len(group) == 0:
            continue
        key = key if isinstance(key, tuple) else (key,)
        start = key[0].to_pydatetime() if freq else None
        seg = tuple(sorted(zip(segment, key[1 if freq else 0 :], strict=True)))
        for metric, want in sk(group).items():
            value = got[(window, start, seg, metric)]
            assert value == pytest.approx(want, rel=1e-9, abs=1e-12), (window, start, seg, metric)
            checked += 1
    return checked


def test_daily_windows_and_segments_equal_pandas_groupby() -> None:
    df = frame()
    p = plan(
        windows=[{"name": "daily", "tumbling": "1d"}], segments=["region", ["region", "device"]]
    )
    res = p.evaluate(pa.Table.from_pandas(df, preserve_index=False), chunk_rows=777)
    assert check(res, df, None, None, []) == 4
    assert check(res, df, None, None, ["region"]) == 12
    assert check(res, df, None, None, ["region", "device"]) == 24
    assert check(res, df, "daily", "1D", []) == 30 * 4
    assert check(res, df, "daily", "1D", ["region"]) == 30 * 3 * 4
    assert check(res, df, "daily", "1D", ["region", "device"]) == 30 * 6 * 4


def test_time_ordered_chunks_equal_pandas_groupby_and_shuffled_rows() -> None:
    """Rows in time order, as a log holds them, fold in the core a run of rows in one pane at a
    time (large chunks only); the values equal the pandas group-by, and those of the same rows
    shuffled (keyed row by row)."""
    df = frame(200_000, seed=5)
    start = pd.Timestamp(START)
    df = df.assign(ts=start + (df.ts - start) * 2 / 15).sort_values("ts", kind="stable")
    assert df.ts.max() < start + pd.Timedelta(days=4)
    p = plan(windows=[{"name": "daily", "tumbling": "1d"}], segments=["region"])
    ordered = p.evaluate(pa.Table.from_pandas(df, preserve_index=False), chunk_rows=len(df))
    assert check(ordered, df, "daily", "1D", ["region"]) == 4 * 3 * 4
    assert check(ordered, df, None, None, []) == 4
    shuffled = df.sample(frac=1, random_state=1)
    rowwise = by_group(p.evaluate(pa.Table.from_pandas(shuffled, preserve_index=False)))
    got = by_group(ordered)
    assert got.keys() == rowwise.keys()
    for key, value in rowwise.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key


def test_sliding_week_is_the_merge_of_seven_days() -> None:
    df = frame()
    p = plan(windows=[{"name": "week", "sliding": {"size": "7d", "step": "1d"}}])
    res = p.evaluate(df)
    weeks = [r for r in res if r.window == "week" and r.metric == "count"]
    assert len(weeks) == 30
    for r in weeks:
        assert r.window_start is not None and r.window_end is not None
        inside = df[(df.ts >= r.window_start) & (df.ts < r.window_end)]
        assert r.value == len(inside)
        assert (r.window_end - r.window_start).days == 7 or r.window_start < START
        got_f1 = res.get("f1").value  # overall exists
        assert got_f1 is not None
        f1 = next(
            x
            for x in res
            if x.window == "week" and x.metric == "f1" and x.window_start == r.window_start
        )
        assert f1.value == pytest.approx(sk(inside)["f1"], rel=1e-9)


def test_calendar_months_and_timezones() -> None:
    rng = np.random.default_rng(3)
    ts = pd.date_range("2026-01-15", "2026-04-20", freq="37min", tz="UTC")
    df = pd.DataFrame({"ts": ts, "y": rng.integers(0, 2, len(ts)), "p": rng.random(len(ts))})
    p = plan(
        windows=[
            {"name": "monthly", "tumbling": "1mo"},
            {"name": "paris_day", "tumbling": "1d", "timezone": "Europe/Paris"},
        ]
    )
    res = p.evaluate(df)
    months = {r.window_start: r.value for r in res if r.window == "monthly" and r.metric == "count"}
    local = df.ts.dt.tz_convert("UTC")
    for start, count in months.items():
        assert start.day == 1
        assert count == int(((local.dt.year == start.year) & (local.dt.month == start.month)).sum())
    paris = df.assign(day=df.ts.dt.tz_convert("Europe/Paris").dt.date)
    days = {r.window_start: r.value for r in res if r.window == "paris_day" and r.metric == "count"}
    for start, count in days.items():
        assert start.astimezone(pd.Timestamp(0, tz="Europe/Paris").tzinfo).hour == 0
        day = start.astimezone(pd.Timestamp(0, tz="Europe/Paris").tzinfo).date()
        assert count == int((paris.day == day).sum())


def test_count_windows_follow_row_order() -> None:
    df = frame(2500)
    p = make_plan("binary", ["count", "accuracy"], windows=[{"name": "every_1k", "rows": 1000}])
    res = p.evaluate(df[["y", "p"]], chunk_rows=333)
    counts = [r.value for r in res if r.window == "every_1k" and r.metric == "count"]
    assert counts == [1000, 1000, 500]
    acc = [r.value for r in res if r.window == "every_1k" and r.metric == "accuracy"]
    assert acc[1] == pytest.approx(sk(df.iloc[1000:2000])["accuracy"])


def test_invariant_to_chunking_file_order_and_format(tmp_path: Any) -> None:
    df = frame(4000)
    table = pa.Table.from_pandas(df, preserve_index=False)
    p = plan(windows=[{"name": "daily", "tumbling": "1d"}], segments=["region"])
    reference = by_group(p.evaluate(table))
    halves = [table.slice(0, 1700), table.slice(1700)]
    for i, half in enumerate(halves):
        pq.write_table(half, tmp_path / f"part{i}.parquet")
        pacsv.write_csv(half, tmp_path / f"part{i}.csv")
    variants = [
        p.evaluate([tmp_path / "part1.parquet", tmp_path / "part0.parquet"], chunk_rows=97),
        p.evaluate(str(tmp_path / "*.csv"), chunk_rows=1),
        p.evaluate(table, chunk_rows=4000),
    ]
    for res in variants:
        got = by_group(res)
        assert got.keys() == reference.keys()
        for key, value in reference.items():
            if value is None:
                assert got[key] is None
            else:
                assert got[key] == pytest.approx(value, rel=1e-12), key


def test_top_k_and_null_segments() -> None:
    df = frame(3000)
    df.loc[::10, "region"] = None
    p = plan(segments=[{"columns": ["region"], "top_k": 2}])
    res = p.evaluate(df)
    counts = {r.segment.get("region"): r.value for r in res if r.metric == "count"}
    assert sum(v for k, v in counts.items() if k is not None) == 3000
    assert len([k for k in counts if k is not None]) == 3  # two kept + "(other)"
    assert "(other)" in counts


def test_max_series_is_a_data_error_naming_the_column() -> None:
    df = frame(500)
    df["user"] = np.arange(500).astype(str)
    p = plan(segments=["user"], max_series=100)
    with pytest.raises(sb.DataError) as info:
        p.evaluate(df)
    assert info.value.column == "user"


def test_null_timestamps_error_or_drop() -> None:
    df = frame(300)
    df.loc[[17, 40], "ts"] = pd.NaT
    strict = plan(windows=[{"name": "daily", "tumbling": "1d"}])
    with pytest.raises(sb.DataError) as info:
        strict.evaluate(df)
    assert (info.value.column, info.value.row) == ("ts", 17)
    lenient = plan(windows=[{"name": "daily", "tumbling": "1d"}], null_timestamps="drop")
    res = lenient.evaluate(df)
    assert res.dropped_rows == 2 and res.value("count") == 298


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_integer_epochs_and_iso_strings(unit: str) -> None:
    df = frame(400)
    epoch = (df.ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, unit=unit)
    iso = df.ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    ref = plan(windows=[{"name": "daily", "tumbling": "1d"}]).evaluate(df)
    for column, extra in ((epoch, {"timestamp_unit": unit}), (iso, {})):
        res = plan(windows=[{"name": "daily", "tumbling": "1d"}], **extra).evaluate(
            df.assign(ts=column)
        )
        assert by_group(res) == by_group(ref)


def test_merged_keyed_states_with_different_segment_codes() -> None:
    df = frame(2000)
    p = plan(windows=[{"name": "daily", "tumbling": "1d"}], segments=["region"])
    a, b = p.accumulator(), p.accumulator()
    a.update(df.iloc[:1000].sort_values("region"))
    b.update(df.iloc[1000:].sort_values("region", ascending=False))
    b2 = p.accumulator_from_bytes(b.to_bytes())
    a.merge(b2)
    assert _same(a.results(), p.evaluate(df))


def _same(x: sb.Results, y: sb.Results) -> bool:
    gx, gy = by_group(x), by_group(y)
    assert gx.keys() == gy.keys()
    for k in gx:
        assert (gx[k] is None) == (gy[k] is None)
        if gx[k] is not None:
            assert gx[k] == pytest.approx(gy[k], rel=1e-12)
    return True


# --------------------------------------------------------------------------------------------
# Row groups inside one pane: their timestamps are not decoded


def write_by_day(df: pd.DataFrame, path: Any, *, ts: pa.DataType | None = None) -> None:
    """One row group per UTC day (sorted by time), the way a daily-rolled log is written; the
    last day's rows are split across two groups, one of them spanning into the next day."""
    df = df.sort_values("ts", kind="stable")
    table = pa.Table.from_pandas(df, preserve_index=False)
    if ts is not None:
        stamps = table["ts"]
        if pa.types.is_integer(ts):  # epoch nanoseconds
            stamps = stamps.cast(pa.timestamp("ns", tz="UTC"))
        table = table.set_column(table.schema.get_field_index("ts"), "ts", stamps.cast(ts))
    day = (df.ts - pd.Timestamp(START)).dt.days.to_numpy()
    with pq.ParquetWriter(path, table.schema) as writer:
        starts = np.flatnonzero(np.diff(day, prepend=-1))
        bounds = [*starts[:-1], starts[-1] - 5, len(df)]  # a group across a day boundary
        for lo, hi in itertools.pairwise(bounds):
            writer.write_table(table.slice(lo, hi - lo))


def spy_fills(monkeypatch: pytest.MonkeyPatch, *, small_groups: bool = True) -> list[int]:
    """Rows of every filled timestamp batch. ``small_groups``: row groups of any size may be
    filled (the test files' groups are far smaller than the real threshold)."""
    from scoreboard import sources

    if small_groups:
        monkeypatch.setattr(sources, "_MIN_FILLED_ROWS", 1)
    filled: list[int] = []
    original = sources._filled

    def counting(kind: pa.DataType, value: int, rows: int) -> pa.Array:
        filled.append(rows)
        return original(kind, value, rows)

    monkeypatch.setattr(sources, "_filled", counting)
    return filled


@pytest.mark.parametrize(
    "ts",
    [None, pa.timestamp("ms", tz="UTC"), pa.timestamp("s"), pa.int64()],
    ids=["ns-utc", "ms-utc", "s-naive", "int64-epoch-ns"],
)
def test_row_groups_inside_one_pane_skip_their_timestamps(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, ts: pa.DataType | None
) -> None:
    df = frame(3000)  # whole seconds
    extra: dict[str, Any] = {"timestamp_unit": "ns"} if ts == pa.int64() else {}
    path = tmp_path / "daily.parquet"
    write_by_day(df, path, ts=ts)
    windows = [{"name": "daily", "tumbling": "1d"}, {"name": "quarter", "tumbling": "6h"}]
    fills = spy_fills(monkeypatch)
    daily = plan(windows=windows[:1], segments=["region"], **extra)
    res = daily.evaluate(path, chunk_rows=64)
    assert sum(fills) > 2500  # every group but the one across midnight, in 64-row chunks
    assert _same(res, daily.evaluate(pq.read_table(path)))
    assert check(res, df, "daily", "1D", ["region"]) == 30 * 3 * 4
    # Six-hour panes: a daily group spans four of them, so its timestamps are decoded.
    fills.clear()
    both = plan(windows=windows, segments=["region"], **extra)
    res = both.evaluate(path)
    assert fills == []
    assert _same(res, both.evaluate(pq.read_table(path)))


def run_end_encoded(stamps: pa.Array, runs: int) -> pa.Array:
    """``stamps`` as a run-end encoded array of ``runs`` runs, each run holding its first row's
    value (the values every row then has)."""
    ends = np.linspace(0, len(stamps), runs + 1).astype(np.int32)[1:]
    firsts = pa.array(np.r_[0, ends[:-1]])
    return pa.RunEndEncodedArray.from_arrays(pa.array(ends), stamps.take(firsts))


@pytest.mark.parametrize("runs", [1, 3])
@pytest.mark.parametrize("lateness", [None, 86_400.0])
def test_run_end_encoded_timestamps_equal_their_decoded_values(
    runs: int, lateness: float | None
) -> None:
    """A run-end encoded timestamp column (what the Parquet reader gives for a row group it did
    not decode, or a caller's own) keys rows as its decoded values do: one run is one pane for
    every row, several runs (or event-time bookkeeping) are decoded."""
    df = frame(900).sort_values("ts", kind="stable")
    table = pa.Table.from_pandas(df, preserve_index=False)
    stamps = table["ts"].combine_chunks()
    encoded = run_end_encoded(stamps, runs)
    decoded = pc.run_end_decode(encoded)
    windowed = plan(windows=[{"name": "daily", "tumbling": "1d"}], segments=["region"])
    states = []
    for column in (encoded, decoded):
        acc = Accumulator(windowed, allowed_lateness=lateness)
        acc.update(table.set_column(table.schema.get_field_index("ts"), "ts", column))
        states.append(acc)
    assert _same(states[0].results(), states[1].results())
    assert states[0].watermark_ns == states[1].watermark_ns
    if runs == 1:  # every row in the first row's day
        assert {r.window_start for r in states[0].results() if r.window} == {
            stamps[0].as_py().replace(hour=0, minute=0, second=0)
        }


def test_small_row_groups_are_decoded_rather_than_filled(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a group on its own costs more than decoding a small group's timestamps."""
    df = frame(3000)
    path = tmp_path / "daily.parquet"
    write_by_day(df, path)  # 100 rows a group
    daily = plan(windows=[{"name": "daily", "tumbling": "1d"}])
    fills = spy_fills(monkeypatch, small_groups=False)
    res = daily.evaluate(path)
    assert fills == []
    assert _same(res, daily.evaluate(pq.read_table(path)))


def test_timestamps_are_decoded_when_a_group_has_nulls_or_a_metric_reads_them(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    df = frame(2000)
    fills = spy_fills(monkeypatch)
    # A metric of the timestamp column itself (integer epoch nanoseconds) sees the true values.
    epoch = tmp_path / "epoch.parquet"
    write_by_day(df, epoch, ts=pa.int64())
    stats = make_plan(
        "binary",
        ["count", {"kind": "max", "column": "ts"}],
        columns={"y_true": "y", "y_score": "p", "timestamp": "ts"},
        windows=[{"name": "daily", "tumbling": "1d"}],
        timestamp_unit="ns",
    )
    newest = pq.read_table(epoch)["ts"].to_numpy().max()
    assert stats.evaluate(epoch).value("max") == float(newest)
    assert fills == []
    # Nulls in a group: decoded (and dropped under null_timestamps: drop).
    with_nulls = df.sort_values("ts").reset_index(drop=True)
    with_nulls.loc[[3, 1500], "ts"] = pd.NaT
    nulls = tmp_path / "nulls.parquet"
    table = pa.Table.from_pandas(with_nulls, preserve_index=False)
    pq.write_table(table, nulls, row_group_size=100)
    lenient = plan(windows=[{"name": "daily", "tumbling": "1d"}], null_timestamps="drop")
    res = lenient.evaluate(nulls)
    assert res.dropped_rows == 2
    assert _same(res, lenient.evaluate(with_nulls))

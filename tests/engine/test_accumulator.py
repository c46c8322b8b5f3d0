"""The accumulator's algebra: chunked == whole == merged, state bytes round-trip, incompatible
states refuse to merge, a rejected chunk changes nothing, panics become ScoreboardInternalError,
and concurrent updates from threads equal one sequential pass."""

from __future__ import annotations

import gc
import itertools
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scoreboard as sb
from plans import make_plan
from scoreboard import _core

PLANS = {
    "binary": lambda: make_plan("binary", ["accuracy", "f1", "mcc", "cohen_kappa", "count"]),
    "multiclass": lambda: make_plan(
        "multiclass", ["accuracy", {"kind": "f1", "average": "none", "name": "f1_per_class"}, "mcc"]
    ),
    "regression": lambda: make_plan(
        "regression", ["mse", "mae", "r2", "explained_variance", "max_error"]
    ),
}


def data_for(task: str, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    if task == "binary":
        return {"y": rng.integers(0, 2, n), "p": rng.random(n)}
    if task == "multiclass":
        names = np.array(["a", "b", "c", "d"])
        return {"y": names[rng.integers(0, 4, n)], "p": names[rng.integers(0, 4, n)]}
    y = 1e6 + rng.normal(0, 10, n)
    return {"y": y, "p": y + rng.normal(0, 1, n)}


def values(results: sb.Results) -> list[tuple[str, dict[str, str], Any, int]]:
    return [(r.metric, dict(r.segment), r.value, r.n) for r in results]


def assert_same(a: sb.Results, b: sb.Results) -> None:
    for x, y in zip(values(a), values(b), strict=True):
        assert x[:2] == y[:2] and x[3] == y[3]
        if x[2] is None or y[2] is None:
            assert x[2] is None and y[2] is None, (x, y)
        else:
            assert x[2] == pytest.approx(y[2], rel=1e-12, abs=1e-13), x


def split(data: dict[str, np.ndarray], cuts: list[int]) -> list[dict[str, np.ndarray]]:
    n = len(next(iter(data.values())))
    edges = [0, *sorted(c % (n + 1) for c in cuts), n]
    return [{k: v[a:b] for k, v in data.items()} for a, b in itertools.pairwise(edges)]


@pytest.mark.parametrize("task", list(PLANS))
@given(cuts=st.lists(st.integers(0, 10_000), max_size=8), n=st.integers(0, 3000))
def test_chunked_equals_whole_equals_merged(task: str, cuts: list[int], n: int) -> None:
    plan = PLANS[task]()
    data = data_for(task, n, seed=n)
    whole = plan.accumulator()
    whole.update(data)

    chunked = plan.accumulator()
    merged = plan.accumulator()
    for part in split(data, cuts):
        chunked.update(part)
        piece = plan.accumulator()
        piece.update(part)
        merged.merge(piece)
    assert chunked.rows == whole.rows == merged.rows == n
    assert_same(chunked.results(), whole.results())
    assert_same(merged.results(), whole.results())


@pytest.mark.parametrize("task", list(PLANS))
def test_merge_is_associative_and_empty_is_identity(task: str) -> None:
    plan = PLANS[task]()
    parts = []
    for seed in range(3):
        acc = plan.accumulator()
        acc.update(data_for(task, 500 + seed, seed))
        parts.append(acc)
    left = parts[0].copy()
    left.merge(parts[1])
    left.merge(parts[2])
    right_tail = parts[1].copy()
    right_tail.merge(parts[2])
    right = parts[0].copy()
    right.merge(right_tail)
    assert_same(left.results(), right.results())
    with_empty = parts[0].copy()
    with_empty.merge(plan.accumulator())
    assert_same(with_empty.results(), parts[0].results())


@pytest.mark.parametrize("task", list(PLANS))
def test_state_bytes_round_trip(task: str) -> None:
    plan = PLANS[task]()
    acc = plan.accumulator()
    acc.update(data_for(task, 1000, 1))
    blob = acc.to_bytes()
    again = plan.accumulator_from_bytes(blob)
    assert again.rows == acc.rows
    assert_same(again.results(), acc.results())
    assert again.to_bytes() == blob


def test_states_of_different_plans_do_not_merge() -> None:
    a = make_plan("binary", ["f1"]).accumulator()
    b = make_plan("binary", ["f1"], threshold=0.7).accumulator()
    with pytest.raises(sb.IncompatibleStateError):
        a.merge(b)
    with pytest.raises(sb.IncompatibleStateError):
        make_plan("binary", ["f1"], threshold=0.7).accumulator_from_bytes(a.to_bytes())


@pytest.mark.parametrize(
    "blob", [b"", b"garbage", b"SBST\x01\x00\x00\x00\xff\xff", b"SBST\x63\x00\x00\x00"]
)
def test_corrupt_or_future_state_is_rejected(blob: bytes) -> None:
    with pytest.raises(sb.IncompatibleStateError):
        make_plan("binary", ["f1"]).accumulator_from_bytes(blob)


def test_declared_label_sets_must_match_to_merge() -> None:
    a = make_plan("multiclass", ["accuracy"], labels=[0, 1, 2])
    acc = a.accumulator()
    acc.update({"y": np.array([0, 1]), "p": np.array([1, 1])})
    other = make_plan("multiclass", ["accuracy"], labels=[0, 1, 2]).accumulator()
    acc.merge(other)  # same plan: fine
    assert acc.rows == 2


def test_rejected_chunk_leaves_state_unchanged() -> None:
    plan = PLANS["binary"]()
    acc = plan.accumulator()
    acc.update({"y": np.array([0, 1, 1]), "p": np.array([0.2, 0.9, 0.1])})
    before = acc.to_bytes()
    with pytest.raises(sb.DataError) as info:
        acc.update({"y": np.array([0, 1, 2]), "p": np.array([0.2, 0.9, 0.1])})
    assert (info.value.column, info.value.row) == ("y", 2)
    assert acc.to_bytes() == before


def test_panic_surfaces_as_internal_error() -> None:
    with pytest.raises(sb.ScoreboardInternalError, match="deliberate panic"):
        _core._panic_for_tests()
    assert issubclass(sb.ScoreboardInternalError, Exception)


def test_concurrent_updates_equal_one_pass() -> None:
    plan = PLANS["binary"]()
    chunks = [data_for("binary", 50_000, seed) for seed in range(16)]
    shared = plan.accumulator()
    threads = [threading.Thread(target=lambda c=c: shared.update(c)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sequential = plan.accumulator()
    for c in chunks:
        sequential.update(c)
    assert shared.to_bytes() == sequential.to_bytes()


def test_plan_json_round_trip_and_tamper_detection() -> None:
    plan = PLANS["multiclass"]()
    again = sb.Plan.from_json(plan.to_json())
    assert again == plan and again.plan_hash == plan.plan_hash
    tampered = plan.to_json().replace('"accuracy"', '"balanced_accuracy"', 1)
    with pytest.raises(sb.PlanError):
        sb.Plan.from_json(tampered)
    with pytest.raises(sb.PlanError):
        sb.Plan.from_json('{"format_version": 99}')


def test_results_leave_the_garbage_collector_as_they_found_it() -> None:
    # Building results pauses the cyclic collector; a caller's setting survives, even when the
    # build fails.
    acc = PLANS["binary"]().accumulator()
    acc.update(data_for("binary", 100, 0))
    assert gc.isenabled()
    assert acc.results().get("accuracy").value is not None
    assert gc.isenabled()
    gc.disable()
    try:
        acc.results()
        assert not gc.isenabled()
    finally:
        gc.enable()
    broken = PLANS["binary"]().accumulator()
    broken.update(data_for("binary", 100, 1))
    broken._executor = None  # type: ignore[assignment]
    with pytest.raises(AttributeError):
        broken.results()
    assert gc.isenabled()

"""Multiclass probabilistic metrics (log_loss, top_k_accuracy, roc_auc ovr/ovo macro/weighted)
against scikit-learn, from a list column (Arrow list, fixed-size list or 2-D array) or one column
per class; ties, float32, string labels, absent classes, chunked == merged, bad input."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as skm

from plans import make_plan
from scoreboard.exceptions import DataError, SpecError

METRICS: list[Any] = [
    "log_loss",
    {"kind": "top_k_accuracy", "k": 1, "name": "top1"},
    {"kind": "top_k_accuracy", "k": 2, "name": "top2"},
    {"kind": "roc_auc", "name": "ovr_macro"},
    {"kind": "roc_auc", "average": "weighted", "name": "ovr_weighted"},
    {"kind": "roc_auc", "multi_class": "ovo", "name": "ovo_macro"},
    {"kind": "roc_auc", "multi_class": "ovo", "average": "weighted", "name": "ovo_weighted"},
]


def reference(name: str, y: np.ndarray, p: np.ndarray, labels: list[Any]) -> float:
    present = len(set(y.tolist())) == len(labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "log_loss":
            return float(skm.log_loss(y, p, labels=labels))
        if name.startswith("top"):
            return float(skm.top_k_accuracy_score(y, p, k=int(name[-1]), labels=labels))
        multi, average = name.split("_")
        if not present and name != "ovr_weighted":
            return math.nan  # (ovr weighted gives an absent class weight 0, and scores the rest)
        if len(set(y.tolist())) < 2:
            return math.nan
        return float(skm.roc_auc_score(y, p, multi_class=multi, average=average, labels=labels))


def check(y: np.ndarray, p: np.ndarray, labels: list[Any], **kw: Any) -> None:
    plan = make_plan("multiclass", METRICS, columns={"y_true": "y", "y_score": "p"}, labels=labels)
    res = plan.evaluate({"y": y, "p": p}, **kw)
    rel = 1e-5 if p.dtype == np.float32 else 1e-12
    for r in res:
        want = reference(r.metric, y, p, labels)
        if math.isnan(want):
            assert r.value is None and r.reason == "single_class", r
        else:
            assert r.value == pytest.approx(want, rel=rel, abs=1e-12), (r.metric, want)


@st.composite
def multiclass_data(draw: Any) -> tuple[np.ndarray, np.ndarray, int]:
    k = draw(st.integers(3, 5))
    n = draw(st.integers(1, 3000))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k), n)
    if draw(st.booleans()):
        p = np.round(p, 1) + 0.1  # heavy ties, kept identical by the renormalisation below
        p = p / p.sum(axis=1, keepdims=True)
    y = rng.integers(0, k, n)
    return y, p, k


@given(data=multiclass_data(), chunk_rows=st.sampled_from([1 << 20, 97]))
def test_matches_sklearn(data: tuple[np.ndarray, np.ndarray, int], chunk_rows: int) -> None:
    y, p, k = data
    check(y, p, list(range(k)), chunk_rows=chunk_rows)


def test_float32_string_labels_and_column_per_class() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    labels = ["bird", "cat", "dog"]
    y = np.array(labels)[rng.integers(0, 3, n)]
    p = rng.dirichlet(np.ones(3), n)
    check(y, p.astype(np.float32), labels)
    columns = {"y_true": "y", "y_score": ["pb", "pc", "pd"]}
    plan = make_plan("multiclass", METRICS, columns=columns, labels=labels)
    res = plan.evaluate({"y": y, "pb": p[:, 0], "pc": p[:, 1], "pd": p[:, 2]})
    assert res.value("ovo_weighted") == pytest.approx(
        skm.roc_auc_score(y, p, multi_class="ovo", average="weighted", labels=labels), rel=1e-12
    )


def test_arrow_list_columns_and_merged_states() -> None:
    rng = np.random.default_rng(4)
    n = 5000
    y = rng.integers(0, 4, n)
    p = np.round(rng.dirichlet(np.ones(4), n), 2)
    plan = make_plan(
        "multiclass", METRICS, columns={"y_true": "y", "y_score": "p"}, labels=[0, 1, 2, 3]
    )
    whole = plan.evaluate({"y": y, "p": p})
    flat = pa.array(p.ravel())
    for arr in (
        pa.FixedSizeListArray.from_arrays(flat, 4),
        pa.ListArray.from_arrays(pa.array(np.arange(0, 4 * n + 1, 4, dtype=np.int32)), flat),
    ):
        table = pa.table({"y": y, "p": arr})
        got = plan.evaluate(table, chunk_rows=777)
        assert [r.value for r in got] == pytest.approx([r.value for r in whole], rel=1e-12)
    merged = plan.accumulator()
    for lo in range(0, n, 1234):
        part = plan.accumulator()
        part.update({"y": y[lo : lo + 1234], "p": p[lo : lo + 1234]})
        merged.merge(plan.accumulator_from_bytes(part.to_bytes()))
    assert [r.value for r in merged.results()] == pytest.approx([r.value for r in whole], rel=1e-12)


@pytest.mark.parametrize("segments", [None, ["g"]])
def test_accumulator_update_takes_what_evaluate_takes(segments: list[str] | None) -> None:
    # A dict batch's per-class scores as a 2-D array, nested lists, an Arrow list or fixed-size
    # list column: with segments the batch goes through Arrow (the keyed path), without it
    # straight to the core; both must read every form as `evaluate` does.
    rng = np.random.default_rng(7)
    n = 400
    y = rng.integers(0, 3, n)
    p = rng.dirichlet(np.ones(3), n)
    g = np.where(rng.random(n) < 0.5, "a", "b")
    extra = {"segments": segments} if segments else {}
    plan = make_plan(
        "multiclass", METRICS, columns={"y_true": "y", "y_score": "p"}, labels=[0, 1, 2], **extra
    )
    want = {
        (r.metric, tuple(r.segment.items())): r.value
        for r in plan.evaluate({"y": y, "p": p, "g": g})
    }
    assert len(want) == len(METRICS) * (3 if segments else 1)  # overall + 2 segments
    flat = pa.array(p.ravel())
    for scores in (
        p,
        p.tolist(),
        pa.FixedSizeListArray.from_arrays(flat, 3),
        pa.ListArray.from_arrays(pa.array(np.arange(0, 3 * n + 1, 3, dtype=np.int32)), flat),
    ):
        acc = plan.accumulator()
        acc.update({"y": y[:150], "p": scores[:150], "g": g[:150]})
        acc.update({"y": y[150:], "p": scores[150:], "g": g[150:]})
        got = {(r.metric, tuple(r.segment.items())): r.value for r in acc.results()}
        assert got == pytest.approx(want, rel=1e-12), type(scores)
    with pytest.raises(DataError) as info:
        plan.accumulator().update({"y": y, "p": p.reshape(n, 3, 1), "g": g})
    assert info.value.column == "p"


def test_bad_input() -> None:
    plan = make_plan(
        "multiclass", ["log_loss"], columns={"y_true": "y", "y_score": "p"}, labels=[0, 1, 2]
    )
    with pytest.raises(DataError) as info:
        plan.evaluate({"y": np.array([0, 1, 5]), "p": np.full((3, 3), 1 / 3)})
    assert (info.value.column, info.value.row) == ("y", 2)
    with pytest.raises(DataError):
        plan.evaluate({"y": np.array([0, 1]), "p": np.full((2, 2), 0.5)})
    ragged = pa.array([[0.2, 0.8, 0.0], [0.5, 0.5]])
    with pytest.raises(DataError) as info:
        plan.evaluate(pa.table({"y": [0, 1], "p": ragged}))
    assert info.value.row == 1
    with pytest.raises(DataError):
        plan.evaluate({"y": np.array([0]), "p": np.array([[0.5, 0.7, -0.2]])})
    empty = plan.evaluate({"y": np.zeros(0, int), "p": np.zeros((0, 3))})
    assert empty.get("log_loss").reason == "insufficient_data"


def test_spec_checks() -> None:
    scored = {"y_true": "y", "y_score": "p"}
    for metrics, fields in [
        (["log_loss"], {"columns": scored}),  # labels missing
        (["accuracy"], {"columns": scored, "labels": [0, 1, 2]}),  # needs y_pred
        ([{"kind": "roc_auc", "bins": 10}], {"columns": scored, "labels": [0, 1, 2]}),
        (["pr_auc"], {"columns": scored, "labels": [0, 1, 2]}),
        (["log_loss"], {"columns": {"y_true": "y", "y_score": ["a", "b"]}, "labels": [0, 1, 2]}),
        ([{"kind": "roc_auc", "multi_class": "ovo"}], {}),
    ]:
        task = "binary" if not fields else "multiclass"
        with pytest.raises(SpecError):
            make_plan(task, metrics, **fields)
    # Labels and scores side by side.
    plan = make_plan(
        "multiclass",
        ["accuracy", "log_loss"],
        columns={"y_true": "y", "y_pred": "q", "y_score": "p"},
        labels=[0, 1],
    )
    res = plan.evaluate(
        {"y": np.array([0, 1]), "q": np.array([0, 0]), "p": np.array([[0.9, 0.1], [0.6, 0.4]])}
    )
    assert res.value("accuracy") == 0.5

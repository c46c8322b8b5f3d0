"""Plans built from in-memory specs, for tests."""

from __future__ import annotations

from typing import Any

import pytest

import scoreboard as sb
from scoreboard.spec import spec_from_mapping
from scoreboard.spec.source import SourceMap


def make_plan(task: str, metrics: list[Any], **fields: Any) -> sb.Plan:
    """A compiled plan for an in-memory spec (columns y / p unless given)."""
    columns = fields.pop("columns", None)
    if columns is None:
        columns = (
            {"y_true": "y", "y_score": "p"} if task == "binary" else {"y_true": "y", "y_pred": "p"}
        )
    doc = {
        "version": 1,
        "model": "m",
        "task": task,
        "columns": columns,
        "metrics": metrics,
        **fields,
    }
    return sb.compile(spec_from_mapping(doc, SourceMap("<test>")))


def assert_intervals_do_not_depend_on_chunking(
    plan: sb.Plan, data: dict[str, Any], *, merged_rel: float = 1e-9
) -> None:
    """The intervals of ``data`` in one update, in 701-row chunks, and as a merge of the chunks'
    states (through bytes) agree to 1e-9 (the merge to ``merged_rel``: intervals that split rows
    into groups by their position in each state's stream group a merge's rows otherwise); every
    metric has one."""
    rows = len(next(iter(data.values())))
    whole = plan.accumulator()
    whole.update(data)
    chunked = plan.accumulator()
    merged = plan.accumulator()
    for start in range(0, rows, 701):
        part = {k: v[start : start + 701] for k, v in data.items()}
        chunked.update(part)
        other = plan.accumulator()
        other.update(part)
        merged.merge(plan.accumulator_from_bytes(other.to_bytes()))
    want = {r.metric: (r.ci_low, r.ci_high) for r in whole.results()}
    assert all(lo is not None for lo, _ in want.values())
    for acc, rel in ((chunked, 1e-9), (merged, merged_rel)):
        for r in acc.results():
            assert (r.ci_low, r.ci_high) == pytest.approx(want[r.metric], rel=rel, abs=1e-12)

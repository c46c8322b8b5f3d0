"""The cost of confidence intervals: the same evaluation with and without ``ci:``, on the same
arrays in the same run (``impl`` "scoreboard" is without, "with_ci" with, so ``report.py`` prints
the ratio with_ci / without per group). Intervals are computed at finalize time from the state, so
their cost does not grow with the rows, except where the value's finalizer also walks the
distinct scores: DeLong shares that pass with the ROC AUC value; the pr_auc bootstrap pools the
runs (one pass) into 1,024 groups, then resamples those.

    SCOREBOARD_BENCH_ROWS=20000000 pytest benches/bench_ci.py --benchmark-only
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchlib import ROWS, BinaryData, PairData, class_score_data, make_plan, run, values

VARIANTS = ["scoreboard", "with_ci"]
GROUPS: dict[str, tuple[str, list[Any]]] = {
    # Wilson (accuracy, precision, recall) and the table bootstrap (f1, mcc).
    "ci binary confusion": ("binary", ["accuracy", "precision", "recall", "f1", "mcc"]),
    # DeLong over the exact runs of float64 scores (about one distinct score per row).
    "ci roc_auc": ("binary", ["roc_auc"]),
    # The bootstrap of the exact runs, pooled to 4,096 groups.
    "ci pr_auc": ("binary", ["pr_auc"]),
    # Normal intervals from the moments.
    "ci regression": ("regression", ["mse", "rmse", "mae", "mean_error"]),
    # Grouped DeLong: the runs count rows per (score, group), the interval walks them once more.
    "ci multiclass roc_auc (K=10, 2M rows)": ("multiclass", ["roc_auc"]),
}
# The multiclass group's rows, capped as benches/bench_catalogue.py caps its multiclass group
# (same data).
MULTICLASS_ROWS = min(ROWS, 2_000_000)
MULTICLASS_K = 10


def evaluate(task: str, metrics: list[Any], with_ci: bool, data: dict[str, np.ndarray]) -> Any:
    columns = (
        {"y_true": "y", "y_pred": "p"} if task == "regression" else {"y_true": "y", "y_score": "p"}
    )
    extra: dict[str, Any] = {"labels": list(range(MULTICLASS_K))} if task == "multiclass" else {}
    plan = make_plan(
        task, [{"kind": m, "ci": {}} if with_ci else m for m in metrics], columns=columns, **extra
    )

    def fn() -> dict[str, float]:
        acc = plan.accumulator()
        acc.update(data)
        results = acc.results()
        if with_ci:
            assert all(r.ci_low is not None for r in results)
        return values(results)

    return fn


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("group", list(GROUPS))
def test_ci_overhead(
    benchmark: Any, group: str, variant: str, binary: BinaryData, regression: PairData
) -> None:
    task, metrics = GROUPS[group]
    rows = MULTICLASS_ROWS if task == "multiclass" else ROWS
    data = {
        "binary": lambda: {"y": binary.y, "p": binary.score},
        "regression": lambda: {"y": regression.y, "p": regression.pred},
        "multiclass": lambda: class_score_data(MULTICLASS_ROWS, MULTICLASS_K),
    }[task]()
    fn = evaluate(task, metrics, variant == "with_ci", data)
    got = run(benchmark, fn, group=group, impl=variant, rows=rows)
    if variant == "with_ci":
        assert got == evaluate(task, metrics, False, data)()  # the values do not change

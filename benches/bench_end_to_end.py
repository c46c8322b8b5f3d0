"""End to end from one Parquet file (columns label int8, score float64; 1M-row groups, warm page
cache): ``plan.evaluate(path)`` against reading the two columns with pyarrow alone, and pyarrow
followed by numpy or scikit-learn. The anchors that compute metrics are checked against
scoreboard's values after timing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchlib import (
    BINARY_METRICS,
    THRESHOLD,
    BinaryData,
    Values,
    assert_agree,
    make_plan,
    numpy_binary,
    run,
    sklearn_binary,
    values,
)

GROUP = "binary, Parquet end-to-end"
COLUMNS = ["label", "score"]


def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Both columns as numpy arrays (one copy each: the row groups are concatenated)."""
    table = pq.read_table(path, columns=COLUMNS)
    return table["label"].to_numpy(), table["score"].to_numpy()


@pytest.mark.parametrize("impl", ["scoreboard", "pyarrow read", "pyarrow+numpy", "pyarrow+sklearn"])
def test_parquet_binary(
    benchmark: Any, impl: str, binary: BinaryData, binary_parquet: Path
) -> None:
    plan = make_plan("binary", BINARY_METRICS, {"y_true": "label", "y_score": "score"})

    def scoreboard() -> Values:
        return values(plan.evaluate(binary_parquet))

    def read_only() -> pa.Table:
        return pq.read_table(binary_parquet, columns=COLUMNS)

    def with_numpy() -> Values:
        y, score = read(binary_parquet)
        return numpy_binary(y, score >= THRESHOLD)

    def with_sklearn() -> Values:
        y, score = read(binary_parquet)
        return sklearn_binary(y, score >= THRESHOLD)

    fns: dict[str, Callable[[], Any]] = {
        "scoreboard": scoreboard,
        "pyarrow read": read_only,
        "pyarrow+numpy": with_numpy,
        "pyarrow+sklearn": with_sklearn,
    }
    slow = impl == "pyarrow+sklearn"
    result = run(benchmark, fns[impl], group=GROUP, impl=impl, rows=binary.rows, slow=slow)
    if isinstance(result, pa.Table):
        assert result.num_rows == binary.rows
    elif impl != "scoreboard":
        assert_agree(scoreboard(), result)
    else:
        # The file holds the in-memory arrays: same values as the in-memory suite.
        assert_agree(result, numpy_binary(binary.y, binary.pred))

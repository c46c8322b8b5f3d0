"""Benchmark fixtures: deterministic data sets, built once per session, and the collection of
``bench_*.py`` modules (the project's ``testpaths`` is ``tests``, so plain ``pytest`` never runs
these; ``pytest benches --benchmark-only`` does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchlib import (
    ROWS,
    BinaryData,
    PairData,
    binary_data,
    multiclass_data,
    regression_data,
    write_binary_parquet,
)

RUN_ORDER = {"bench_inmemory": 0, "bench_end_to_end": 1, "bench_memory": 2}
HERE = Path(__file__).parent


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collects ``bench_*.py`` here (files named on the command line pytest collects itself)."""
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        and not parent.session.isinitpath(file_path)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Runs (and reports) the suites in RUN_ORDER: in-memory, end to end, memory. Items from
    elsewhere keep their places."""
    positions = [i for i, item in enumerate(items) if item.path.parent == HERE]
    ordered = sorted(
        (items[i] for i in positions),
        key=lambda item: RUN_ORDER.get(item.path.stem, len(RUN_ORDER)),
    )
    for position, item in zip(positions, ordered, strict=True):
        items[position] = item


@pytest.fixture(scope="session")
def binary() -> BinaryData:
    """int8 labels, float64 scores and their bool predictions at the 0.5 threshold."""
    return binary_data(ROWS)


@pytest.fixture(scope="session")
def multiclass() -> PairData:
    return multiclass_data(ROWS)


@pytest.fixture(scope="session")
def regression() -> PairData:
    return regression_data(ROWS)


@pytest.fixture(scope="session")
def binary_parquet(tmp_path_factory: pytest.TempPathFactory, binary: BinaryData) -> Path:
    """The in-memory binary data as one Parquet file (columns label, score; 1M-row groups)."""
    path = tmp_path_factory.mktemp("parquet") / "binary.parquet"
    return write_binary_parquet(path, binary.y, binary.score)

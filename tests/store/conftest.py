"""Fixtures for the metric store tests: a fresh SQLite store in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_factories import TickingClock

from scoreboard.store import SQLiteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "scoreboard.db"


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
def store(db_path: Path, clock: TickingClock) -> Iterator[SQLiteStore]:
    with SQLiteStore(db_path, clock=clock) as opened:
        yield opened

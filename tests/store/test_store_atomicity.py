"""All or nothing: a failure or a crash in the middle of record_run leaves the store as before.

S2 (kill -9 mid-transaction) runs a real subprocess that dies with ``os._exit`` after inserting
half of its points; S7 (disk full) uses ``max_page_count``, which makes SQLite fail with the same
SQLITE_FULL error a full disk gives.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from store_factories import dump, integrity, make_points, make_run
from store_worker import CRASH_DAYS

import scoreboard.store
from scoreboard.exceptions import StorageError
from scoreboard.store import SQLiteStore, StateKey, segment_hash

HERE = Path(__file__).parent
PYTHON_SOURCE = Path(scoreboard.store.__file__).parents[2]
STATES: dict[StateKey, bytes] = {(None, None, segment_hash({})): b"state-1"}


def _fail_half_way(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> list[int]:
    """Make the next _insert_points insert half of its rows, then raise ``error``."""
    inserted: list[int] = []
    original = SQLiteStore._insert_points

    def half_then_fail(
        self: SQLiteStore, conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]]
    ) -> None:
        original(self, conn, rows[: len(rows) // 2])
        inserted.append(conn.execute("SELECT COUNT(*) FROM points").fetchone()[0])
        raise error

    monkeypatch.setattr(SQLiteStore, "_insert_points", half_then_fail)
    return inserted


@pytest.mark.parametrize("data", ["data-1", "data-2"], ids=["replace-run", "new-run"])
@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom"), KeyboardInterrupt(), sqlite3.OperationalError("disk I/O error")],
    ids=["exception", "ctrl-c", "driver-error"],
)
def test_an_error_mid_transaction_leaves_the_store_as_before(
    store: SQLiteStore,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    data: str,
    error: BaseException,
) -> None:
    store.record_run(make_run(), make_points(), states=STATES)
    before = dump(db_path)
    inserted = _fail_half_way(monkeypatch, error)
    expected = StorageError if isinstance(error, sqlite3.Error) else type(error)
    with pytest.raises(expected):
        store.record_run(make_run(data=data), make_points(base=5.0), states={})
    assert inserted and inserted[0] > 0  # the failure really happened mid-write
    assert dump(db_path) == before
    monkeypatch.undo()
    store.record_run(make_run(data="data-3"), make_points())  # the store is still usable
    assert len(store.runs()) == 2


def _run_worker(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PYTHON_SOURCE), str(HERE)])}
    return subprocess.run(
        [sys.executable, str(HERE / "store_worker.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("mode", ["new", "replace"])
def test_a_process_killed_mid_transaction_leaves_the_store_as_before(
    db_path: Path, mode: str
) -> None:
    with SQLiteStore(db_path) as store:
        store.record_run(make_run(), make_points(), states=STATES)
    before = dump(db_path)

    result = _run_worker("crash", str(db_path), mode)

    assert result.returncode == 1, result.stderr
    assert "partial=" in result.stdout and "not reached" not in result.stdout
    report = dict(field.split("=") for field in result.stdout.split())
    assert 0 < int(report["partial"]) < len(make_points(days=CRASH_DAYS))
    assert int(report["wal"]) > 0  # uncommitted pages reached the WAL before the crash
    assert integrity(db_path) == "ok"
    assert dump(db_path) == before  # no partial rows; the earlier run is intact
    with SQLiteStore(db_path) as store:  # the next run completes the work
        store.record_run(make_run(data="data-2"), make_points(base=5.0))
        assert len(store.runs()) == 2
        assert len(store.history()) == 2 * len(make_points())
    assert integrity(db_path) == "ok"


def test_a_full_disk_is_a_storage_error_and_writes_nothing(
    store: SQLiteStore, db_path: Path
) -> None:
    store.record_run(make_run(), make_points(days=1))
    before = dump(db_path)
    conn = store._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError) as caught:
        store.record_run(make_run(data="big"), make_points(days=400))
    message = str(caught.value)
    assert "full" in message and str(db_path) in message and "Free space" in message
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert dump(db_path) == before
    conn.execute("PRAGMA max_page_count = 1073741823")
    store.record_run(make_run(data="big"), make_points(days=400))  # space freed: it works
    assert integrity(db_path) == "ok"

"""S5: two processes writing one store both succeed; a lock held too long is a StorageError."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from store_factories import integrity, make_points, make_run

import scoreboard.store
from scoreboard.exceptions import StorageError
from scoreboard.store import SQLiteStore, schema

HERE = Path(__file__).parent
PYTHON_SOURCE = Path(scoreboard.store.__file__).parents[2]
RUNS_PER_WRITER = 25


def _start_writer(db: Path, name: str, go: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PYTHON_SOURCE), str(HERE)])}
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "store_worker.py"),
            "write",
            str(db),
            name,
            str(RUNS_PER_WRITER),
            str(go),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("precreated", [False, True], ids=["racing-create", "existing"])
def test_two_processes_writing_the_same_store_both_succeed(
    tmp_path: Path, db_path: Path, precreated: bool
) -> None:
    if precreated:
        SQLiteStore(db_path).close()
    go = tmp_path / "go"
    writers = [_start_writer(db_path, name, go) for name in ("cli", "service")]
    go.touch()  # both start writing at once (and, unless precreated, both create the schema)
    outputs = [writer.communicate(timeout=120) for writer in writers]
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "locked" not in err and out.endswith("done\n")
    with SQLiteStore(db_path) as store:
        assert len(store.runs(model="cli")) == len(store.runs(model="service")) == RUNS_PER_WRITER
        assert len(store.history()) == 2 * RUNS_PER_WRITER * len(make_points(days=2))
        assert store.schema_version() == len(schema.MIGRATIONS)
    assert integrity(db_path) == "ok"


def test_a_lock_held_past_the_busy_timeout_is_a_storage_error(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with SQLiteStore(db_path, busy_timeout_ms=200) as store:
            started = time.monotonic()
            with pytest.raises(StorageError) as caught:
                store.record_run(make_run(), make_points(days=1))
            waited = time.monotonic() - started
            message = str(caught.value)
            assert "locked" in message and str(db_path) in message and "200 ms" in message
            assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
            assert waited >= 0.15  # it waited for the lock before giving up
            # readers are not blocked by a writer (WAL)
            assert store.history() == []
    finally:
        holder.rollback()
        holder.close()


def test_a_writer_waits_for_a_short_lock_instead_of_failing(db_path: Path) -> None:
    """The busy timeout (default 10 s) absorbs another writer's short transaction."""
    SQLiteStore(db_path).close()
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, holder.rollback)
    try:
        with SQLiteStore(db_path) as store:
            started = time.monotonic()
            release.start()
            store.record_run(make_run(), make_points(days=1))
            assert time.monotonic() - started >= 0.25  # it really waited for the lock
            assert len(store.runs()) == 1
    finally:
        release.join()
        holder.close()

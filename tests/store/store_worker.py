"""Subprocess entry points for the multi-process store tests (S2 crash, S5 concurrent writers).

Run as ``python store_worker.py crash DB MODE`` or
``python store_worker.py write DB NAME COUNT GO``.
A real process is needed: ``os._exit`` and two SQLite writers cannot be simulated in-process.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from store_factories import make_points, make_run

from scoreboard.store import SQLiteStore

#: Days of points the crashing run writes: enough pages to overflow a one-page cache.
CRASH_DAYS = 60


def crash(db: Path, mode: str) -> None:
    """Start record_run, insert half of the points, then die like ``kill -9`` (no cleanup).

    ``mode`` "new" records a new run; "replace" re-records the existing run with new values.
    Before dying it prints how many of its points the open transaction already holds, so the
    test can check that the crash really happened mid-write.
    """
    original = SQLiteStore._insert_points

    def insert_half_then_die(
        self: SQLiteStore, conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]]
    ) -> None:
        original(self, conn, rows[: len(rows) // 2])
        inside = conn.execute("SELECT COUNT(*) FROM points WHERE value > 1").fetchone()[0]
        wal = Path(f"{db}-wal")
        print(f"partial={inside} wal={wal.stat().st_size if wal.exists() else 0}", flush=True)
        os._exit(1)

    SQLiteStore._insert_points = insert_half_then_die  # type: ignore[method-assign]
    store = SQLiteStore(db)
    # A tiny page cache makes SQLite spill uncommitted pages into the WAL before the crash, so
    # the test also covers recovery ignoring uncommitted frames, not just an untouched file.
    assert store._conn is not None
    store._conn.execute("PRAGMA cache_size = 1")
    run = make_run(data="data-2") if mode == "new" else make_run()
    store.record_run(
        run, make_points(days=CRASH_DAYS, base=5.0), states={(None, None, "seg"): b"crash"}
    )
    print("not reached", flush=True)


def write(db: Path, name: str, count: int, go: Path) -> None:
    """Record ``count`` runs of model ``name`` as fast as possible once ``go`` exists."""
    deadline = time.monotonic() + 30
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("go file never appeared")
        time.sleep(0.001)
    with SQLiteStore(db) as store:
        for i in range(count):
            store.record_run(make_run(name, data=f"data-{i}"), make_points(days=2))
    print(f"{name} done", flush=True)


if __name__ == "__main__":
    command, db_arg, *rest = sys.argv[1:]
    if command == "crash":
        crash(Path(db_arg), rest[0])
    else:
        write(Path(db_arg), rest[0], int(rest[1]), Path(rest[2]))

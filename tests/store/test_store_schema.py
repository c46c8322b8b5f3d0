"""P6 connection settings, numbered migrations, and S8: a newer schema is refused unwritten."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path

import pytest
from store_factories import make_points, make_run

from scoreboard.exceptions import StorageError
from scoreboard.store import MetricPoint, SQLiteStore, schema


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {row[0] for row in rows}
    finally:
        conn.close()


def test_connection_follows_the_durability_defaults(store: SQLiteStore) -> None:
    conn = store._conn
    assert conn is not None
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert conn.isolation_level is None


def test_migrations_are_numbered_from_one_and_recorded_once(
    store: SQLiteStore, db_path: Path
) -> None:
    versions = [m.version for m in schema.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT version, description FROM schema_migrations").fetchall()
    finally:
        conn.close()
    assert [row[0] for row in rows] == versions
    assert {"runs", "points", "states", "schema_migrations"} <= _tables(db_path)
    SQLiteStore(db_path).close()  # reopening applies nothing twice
    assert store.schema_version() == len(versions)


def test_deleting_a_run_cascades_to_its_points_and_states(store: SQLiteStore) -> None:
    run = make_run()
    store.record_run(run, make_points(days=1), states={(None, None, "s"): b"x"})
    conn = store._conn
    assert conn is not None
    conn.execute("DELETE FROM runs WHERE run_id = ?", (run.run_id,))
    assert store.history() == [] and store.states(run.run_id) == {}


def test_a_store_from_a_newer_scoreboard_is_refused_without_writes(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        store.record_run(make_run(), make_points(days=1))
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', 'x')")
    conn.commit()
    conn.close()
    before = _sha(db_path)

    with pytest.raises(StorageError) as caught:
        SQLiteStore(db_path)
    message = str(caught.value)
    assert "newer scoreboard" in message and "upgrade" in message and "99" in message
    assert str(db_path) in message
    assert _sha(db_path) == before
    with pytest.raises(StorageError, match="newer scoreboard"):
        SQLiteStore(db_path, read_only=True)
    assert _sha(db_path) == before


def test_an_older_store_is_upgraded_in_place(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteStore(db_path) as store:
        store.record_run(make_run(), make_points(days=1))
    latest = len(schema.MIGRATIONS)
    extra = schema.Migration(latest + 1, "notes", ("CREATE TABLE notes (note TEXT NOT NULL)",))
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, extra))
    with pytest.raises(StorageError, match="open it once read-write"):
        SQLiteStore(db_path, read_only=True)
    with SQLiteStore(db_path) as store:
        assert store.schema_version() == latest + 1
        assert len(store.history()) == len(make_points(days=1))
    assert "notes" in _tables(db_path)


def test_points_stored_before_error_bound_existed_read_back_without_one(db_path: Path) -> None:
    """Migration 4 adds ``points.error_bound``: rows of a version-3 store read back as None after
    the upgrade, and new rows keep theirs."""
    with SQLiteStore(db_path) as store:
        store.record_run(make_run(), make_points(days=1))
    conn = sqlite3.connect(db_path)  # back to the version-3 layout
    with conn:
        conn.execute("ALTER TABLE points DROP COLUMN error_bound")
        conn.execute("DELETE FROM schema_migrations WHERE version = 4")
    conn.close()
    with SQLiteStore(db_path) as store:
        assert store.schema_version() == len(schema.MIGRATIONS)
        assert store.history() and all(p.error_bound is None for p in store.history())
        store.record_run(make_run(data="data-2"), [MetricPoint("auc", 0.8, 9, error_bound=1e-4)])
        assert [p.error_bound for p in store.history(metric="auc")] == [1e-4]


def test_a_failing_migration_changes_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SQLiteStore(db_path).close()
    latest = len(schema.MIGRATIONS)
    broken = schema.Migration(
        latest + 1, "half broken", ("CREATE TABLE half (x INTEGER)", "CREATE TABLE oops (")
    )
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    with pytest.raises(StorageError, match="upgrading the schema"):
        SQLiteStore(db_path)
    monkeypatch.undo()
    with SQLiteStore(db_path) as store:
        assert store.schema_version() == latest
    assert "half" not in _tables(db_path)


def test_a_foreign_sqlite_database_is_not_written_into(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    before = _sha(db_path)
    with pytest.raises(StorageError, match="not a scoreboard metric store"):
        SQLiteStore(db_path)
    assert _sha(db_path) == before and _tables(db_path) == {"customers"}


def test_an_old_sqlite_library_is_refused(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 22, 0))
    with pytest.raises(StorageError, match=r"needs 3\.24\.0 or newer"):
        SQLiteStore(db_path)
    assert not db_path.exists()


def test_a_non_wal_journal_is_warned_about(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(SQLiteStore, "_retry_while_busy", lambda self, attempt: "delete")
    with caplog.at_level(logging.WARNING, logger="scoreboard.store"), SQLiteStore(db_path):
        pass
    assert "not WAL" in caplog.text

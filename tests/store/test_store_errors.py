"""S7: every storage fault is a StorageError naming the path and a remedy; open_store locations."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest
from store_factories import dump, make_points, make_run

from scoreboard.exceptions import StorageError
from scoreboard.store import SQLiteStore, open_store
from scoreboard.store.filesystems import network_filesystem
from scoreboard.store.sqlite import storage_error


def test_a_missing_directory_is_named_with_a_remedy(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "scoreboard.db"
    with pytest.raises(StorageError) as caught:
        open_store(path)
    message = str(caught.value)
    assert str(path.parent) in message and "does not exist" in message and "mkdir -p" in message
    assert not path.parent.exists()


def test_a_directory_as_the_store_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a directory"):
        open_store(tmp_path)


def test_an_unwritable_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, for whom chmod does not bite: fake the permission answer instead.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(StorageError, match="is not writable"):
        open_store(tmp_path / "scoreboard.db")
    assert not (tmp_path / "scoreboard.db").exists()


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "scoreboard.db"
    garbage = b"this is a CSV file, not SQLite\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StorageError) as caught:
        open_store(path)
    message = str(caught.value)
    assert str(path) in message and "not a SQLite database" in message and "--store" in message
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    assert path.read_bytes() == garbage


def test_read_only_store_reads_but_refuses_writes(db_path: Path) -> None:
    with open_store(db_path) as store:
        store.record_run(make_run(), make_points(days=1))
    before = dump(db_path)
    with open_store(db_path, read_only=True) as store:
        assert isinstance(store, SQLiteStore) and store.read_only
        assert len(store.history()) == len(make_points(days=1))
        with pytest.raises(StorageError, match="opened read-only"):
            store.record_run(make_run(data="x"), make_points(days=1))
    assert dump(db_path) == before


def test_sqlite_itself_refuses_writes_to_a_read_only_database(db_path: Path) -> None:
    """Bypass our up-front check: the driver's own refusal must still be a StorageError."""
    SQLiteStore(db_path).close()
    with SQLiteStore(db_path, read_only=True) as store:
        store._read_only = False
        with pytest.raises(StorageError) as caught:
            store.record_run(make_run(), make_points(days=1))
    message = str(caught.value)
    assert "read-only" in message and str(db_path) in message and "permission" in message
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    with SQLiteStore(db_path) as store:
        assert store.runs() == []


def test_read_only_open_of_a_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no metric store at"):
        open_store(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize(
    ("message", "code", "expected"),
    [
        ("database is locked", 5, "is locked"),
        ("database table is locked", 6, "is locked"),
        ("database or disk is full", 13, "disk holding"),
        ("file is not a database", 26, "not a SQLite database"),
        ("attempt to write a readonly database", 8, "read-only"),
        ("unable to open database file", 14, "cannot open"),
        ("disk I/O error", 10, "I/O error"),
        ("database disk image is malformed", 11, "is corrupt"),
        ("something new", 1, "SQLite error on"),
    ],
)
@pytest.mark.parametrize("with_code", [True, False], ids=["errorcode", "message-only"])
def test_every_driver_error_maps_to_a_storage_error_with_a_remedy(
    message: str, code: int, expected: str, with_code: bool
) -> None:
    exc = sqlite3.OperationalError(message)
    if with_code:
        exc.sqlite_errorcode = code
    error = storage_error(exc, "/data/sb.db", "recording run abc", 10_000)
    assert isinstance(error, StorageError)
    assert expected in str(error) and "/data/sb.db" in str(error)
    assert any(word in str(error) for word in ("--store", "Retry", "backup", "report", "fix"))


def test_extended_error_codes_map_by_their_primary_code() -> None:
    exc = sqlite3.OperationalError("disk I/O error")
    exc.sqlite_errorcode = 10 | (3 << 8)  # SQLITE_IOERR_WRITE
    assert "I/O error" in str(storage_error(exc, "/x.db", "writing", 1))


# --- locations ------------------------------------------------------------------------------


def test_default_location_is_the_environment_then_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCOREBOARD_STORE", raising=False)
    with open_store() as store:
        assert isinstance(store, SQLiteStore)
        assert store.path == str(tmp_path / "scoreboard.db")
    monkeypatch.setenv("SCOREBOARD_STORE", str(tmp_path / "from-env.db"))
    with open_store() as store:
        assert isinstance(store, SQLiteStore) and store.path.endswith("from-env.db")


def test_sqlite_urls_follow_sqlalchemy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///relative.db") as store:
        assert isinstance(store, SQLiteStore)
        assert store.path == str(tmp_path / "relative.db")
    absolute = tmp_path / "absolute.db"
    with open_store(f"sqlite:///{absolute}") as store:
        assert isinstance(store, SQLiteStore) and store.path == str(absolute)
    with pytest.raises(StorageError, match="needs a path"):
        open_store("sqlite://")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://scoreboard:SENTINEL-SECRET@db/sb",
        "postgres://u:SENTINEL-SECRET@h/d",
        "postgresql+psycopg://u:SENTINEL-SECRET@h/d",
    ],
)
def test_postgresql_is_not_available_yet_and_the_url_is_not_echoed(url: str) -> None:
    with pytest.raises(StorageError, match="PostgreSQL support is not available yet") as caught:
        open_store(url)
    assert "SENTINEL-SECRET" not in str(caught.value)


def test_unknown_url_schemes_are_refused() -> None:
    with pytest.raises(StorageError, match="unsupported store URL scheme 'mysql'") as caught:
        open_store("mysql://root:SENTINEL-SECRET@localhost/db")
    assert "SENTINEL-SECRET" not in str(caught.value)


# --- network filesystems --------------------------------------------------------------------

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
server:/export /mnt/nfs nfs4 rw,relatime 0 0
//nas/share /mnt/my\\040share cifs rw 0 0
/dev/sdb1 /mnt/nfs/local ext4 rw 0 0
"""


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        ("/home/me", None),
        ("/mnt/nfs", "nfs4"),
        ("/mnt/nfs/project/stores", "nfs4"),
        ("/mnt/nfs/local/stores", None),  # the innermost mount decides
        ("/mnt/nfsother", None),
        ("/mnt/my share/x", "cifs"),
    ],
)
def test_network_filesystems_are_detected(directory: str, expected: str | None) -> None:
    assert network_filesystem(Path(directory), MOUNTS) == expected


def test_a_store_on_a_network_filesystem_is_warned_about(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("scoreboard.store.sqlite.network_filesystem", lambda directory: "nfs4")
    with caplog.at_level(logging.WARNING, logger="scoreboard.store"), open_store(db_path):
        pass
    assert "network filesystem (nfs4)" in caplog.text and str(db_path) in caplog.text


def test_a_local_store_is_not_warned_about(db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="scoreboard.store"), open_store(db_path):
        pass
    assert caplog.text == ""

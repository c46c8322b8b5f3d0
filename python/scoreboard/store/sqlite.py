"""The SQLite metric store: the default, a single file with no server.

Durability and concurrency follow RELIABILITY P6: WAL journal with ``synchronous=FULL`` (a commit
survives power loss on storage that honours fsync), every write in ``BEGIN IMMEDIATE`` (a writer
takes the lock up front, so two writers queue on the busy timeout instead of deadlocking on a lock
upgrade), and autocommit mode in the driver (``isolation_level=None``) so that the transactions
are exactly the ones written here. Every driver error leaves as a ``StorageError`` with a remedy.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from scoreboard.exceptions import StorageError

from . import schema
from .base import MetricStore
from .filesystems import network_filesystem
from .models import (
    DEFAULT_UNDEFINED_REASON,
    AlertStateRecord,
    MetricPoint,
    OutboxEntry,
    RunRecord,
    StateKey,
    StoredOutboxEntry,
    StoredPoint,
    StoredRun,
    as_count,
    as_optional_float,
    canonical_iso,
    iso_utc,
    parse_iso,
    segment_hash,
    segment_json,
)

logger = logging.getLogger("scoreboard.store")

#: How long a writer waits for another writer's lock before failing (P6 asks for >= 5 s).
DEFAULT_BUSY_TIMEOUT_MS = 10_000
#: UPSERT (``ON CONFLICT ... DO UPDATE``) needs SQLite 3.24.
MIN_SQLITE_VERSION = (3, 24, 0)
MEMORY = ":memory:"
#: Pause between attempts when SQLite refuses without waiting (journal mode switch).
_BUSY_RETRY_S = 0.02

Clock = Callable[[], datetime]
Row = tuple[Any, ...]

# Primary SQLite result codes (sqlite3.h), matched to give each fault its remedy.
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SQLiteStore(MetricStore):
    """A metric store in one SQLite file (or ``:memory:``, for tests and embedding).

    One instance owns one connection and must be used from the thread that opened it; open one
    store per thread or process (they coordinate through SQLite's locks).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        clock: Clock | None = None,
    ) -> None:
        self._path = _normalise_path(path)
        self._read_only = read_only
        self._busy_timeout_ms = as_count(busy_timeout_ms, "busy_timeout_ms")
        self._clock = clock or _utc_now
        self._conn: sqlite3.Connection | None = None
        _check_sqlite_version()
        self._check_location()
        self._conn = self._connect()
        try:
            self._open_schema()
        except BaseException:
            self.close()
            raise

    # --- public API ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """Absolute path of the database file (or ``:memory:``)."""
        return self._path

    @property
    def read_only(self) -> bool:
        """True when opened with ``read_only=True``: every write raises ``StorageError``."""
        return self._read_only

    def record_run(
        self,
        run: RunRecord,
        points: Sequence[MetricPoint],
        *,
        states: Mapping[StateKey, bytes] | None = None,
        alert_states: Sequence[AlertStateRecord] | None = None,
        outbox: Sequence[OutboxEntry] = (),
    ) -> str:
        """See :meth:`MetricStore.record_run`. Validates everything before the transaction."""
        run_id = run.run_id
        now = iso_utc(self._clock())
        run_row = _run_row(run, now)
        point_rows = _point_rows(run_id, points, now)
        state_rows = None if states is None else _state_rows(run_id, states)
        alert_rows = None if alert_states is None else [_alert_row(a, now) for a in alert_states]
        outbox_rows = [_outbox_row(entry, now) for entry in outbox]
        self._refuse_if_read_only(f"recording run {run_id}")
        with self._transaction(f"recording run {run_id}") as conn:
            conn.execute(schema.UPSERT_RUN, run_row)
            conn.execute(schema.DELETE_POINTS, (run_id,))
            self._insert_points(conn, point_rows)
            if state_rows is not None:
                self._replace_states(conn, run_id, state_rows)
            if alert_rows is not None:
                conn.execute(schema.DELETE_ALERT_STATES, (run.model, run.model_version))
                conn.executemany(schema.INSERT_ALERT_STATE, alert_rows)
            conn.executemany(schema.INSERT_OUTBOX, outbox_rows)
        return run_id

    def alert_states(
        self, *, model: str | None = None, model_version: str | None = None
    ) -> list[AlertStateRecord]:
        """See :meth:`MetricStore.alert_states`."""
        given = {"model": model, "model_version": model_version}
        where = [(schema.ALERT_STATE_FILTERS[k], v) for k, v in given.items() if v is not None]
        sql = schema.SELECT_ALERT_STATES + _where_clause([c for c, _ in where])
        sql += schema.ALERT_STATE_ORDER
        rows = self._query("reading alert states", sql, [v for _, v in where])
        return [_stored_alert(row) for row in rows]

    def outbox(
        self,
        *,
        status: str | None = None,
        model: str | None = None,
        due_before: datetime | None = None,
        sent_since: datetime | None = None,
    ) -> list[StoredOutboxEntry]:
        """See :meth:`MetricStore.outbox`."""
        given: dict[str, object] = {
            "status": status,
            "model": model,
            "due_before": None if due_before is None else iso_utc(due_before),
            "sent_since": None if sent_since is None else iso_utc(sent_since),
        }
        where = [(schema.OUTBOX_FILTERS[k], v) for k, v in given.items() if v is not None]
        sql = schema.SELECT_OUTBOX + _where_clause([c for c, _ in where]) + schema.OUTBOX_ORDER
        rows = self._query("reading the outbox", sql, [v for _, v in where])
        return [_stored_outbox(row) for row in rows]

    def mark_sent(self, outbox_id: int) -> None:
        """See :meth:`MetricStore.mark_sent`."""
        self._update_outbox(schema.MARK_SENT, (iso_utc(self._clock()), outbox_id))

    def mark_retry(self, outbox_id: int, next_attempt_at: datetime, error: str) -> None:
        """See :meth:`MetricStore.mark_retry`."""
        self._update_outbox(schema.MARK_RETRY, (iso_utc(next_attempt_at), error, outbox_id))

    def mark_dead(self, outbox_id: int, error: str) -> None:
        """See :meth:`MetricStore.mark_dead`."""
        self._update_outbox(schema.MARK_DEAD, (error, outbox_id))

    def _update_outbox(self, sql: str, params: tuple[object, ...]) -> None:
        self._refuse_if_read_only("updating the outbox")
        with self._transaction("updating the outbox") as conn:
            conn.execute(sql, params)

    def history(
        self,
        *,
        model: str | None = None,
        model_version: str | None = None,
        metric: str | None = None,
        window: str | None = None,
        segment: Mapping[str, str] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        latest_windows: bool = False,
    ) -> list[StoredPoint]:
        """See :meth:`MetricStore.history`."""
        filters: dict[str, str | None] = {
            "model": model,
            "model_version": model_version,
            "metric": metric,
            "window": window,
            "segment": None if segment is None else segment_hash(segment),
            "since": None if since is None else iso_utc(since),
        }
        where = [(schema.POINT_FILTERS[name], v) for name, v in filters.items() if v is not None]
        clauses = [clause for clause, _ in where]
        if latest_windows:
            clauses.append(schema.LATEST_WINDOW_POINT)
        sql = schema.SELECT_POINTS + _where_clause(clauses)
        params: list[object] = [value for _, value in where]
        if limit is None:
            sql += schema.POINT_ORDER_ASC
        else:
            sql += f"{schema.POINT_ORDER_DESC} {schema.LIMIT}"
            params.append(as_count(limit, "limit"))
        points = [_stored_point(row) for row in self._query("reading history", sql, params)]
        if limit is not None:
            points.reverse()
        return points

    def runs(self, *, model: str | None = None) -> list[StoredRun]:
        """See :meth:`MetricStore.runs`."""
        sql = schema.SELECT_RUNS
        params: list[object] = []
        if model is not None:
            sql += schema.RUN_FILTER_MODEL + "\n"
            params.append(model)
        sql += schema.RUN_ORDER
        return [_stored_run(row) for row in self._query("reading runs", sql, params)]

    def model_versions(self, model: str) -> list[str]:
        """See :meth:`MetricStore.model_versions`."""
        rows = self._query("reading model versions", schema.SELECT_MODEL_VERSIONS, [model])
        return [str(row[0]) for row in rows]

    def states(self, run_id: str) -> dict[StateKey, bytes]:
        """See :meth:`MetricStore.states`."""
        rows = self._query("reading accumulator states", schema.SELECT_STATES, [run_id])
        return {(row[0], row[1], row[2]): bytes(row[3]) for row in rows}

    def schema_version(self) -> int:
        """See :meth:`MetricStore.schema_version`."""
        rows = self._query("reading the schema version", schema.CURRENT_VERSION, [])
        return int(rows[0][0])

    def close(self) -> None:
        """See :meth:`MetricStore.close`. SQLite checkpoints the WAL when the last one closes."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        mode = "read-only" if self._read_only else "read-write"
        state = "closed" if self._conn is None else mode
        return f"SQLiteStore({self._path!r}, {state})"

    # --- opening ------------------------------------------------------------------------------

    def _check_location(self) -> None:
        """Refuse paths SQLite would reject with a vague "unable to open database file"."""
        if self._path == MEMORY:
            return
        path = Path(self._path)
        parent = path.parent
        if path.is_dir():
            raise StorageError(
                f"the metric store path {path} is a directory; pass a file path such as "
                f"{path / 'scoreboard.db'}"
            )
        if not parent.is_dir():
            raise StorageError(
                f"cannot open the metric store {path}: directory {parent} does not exist; "
                f"create it (mkdir -p {parent}) or pass another --store path"
            )
        if self._read_only and not path.exists():
            raise StorageError(
                f"no metric store at {path}; record a run first (scoreboard evaluate) or pass "
                "the right --store path"
            )
        if not self._read_only and not os.access(parent, os.W_OK):
            raise StorageError(
                f"cannot write the metric store {path}: directory {parent} is not writable "
                "(SQLite creates -wal and -shm files next to the database); fix its "
                "permissions or pass another --store path"
            )
        self._warn_if_network(parent)

    def _warn_if_network(self, directory: Path) -> None:
        fstype = network_filesystem(directory.resolve())
        if fstype is not None:
            logger.warning(
                "the metric store %s is on a network filesystem (%s): SQLite locking is "
                "unreliable there and concurrent writers can corrupt it; use a local disk or "
                "PostgreSQL",
                self._path,
                fstype,
            )

    def _connect(self) -> sqlite3.Connection:
        """Open the connection; read-only stores open with ``mode=ro`` so SQLite enforces it."""
        target, uri = self._path, False
        if self._read_only:
            target, uri = f"file:{quote(self._path)}?mode=ro", True
        with self._translate("opening"):
            return sqlite3.connect(
                target,
                uri=uri,
                timeout=self._busy_timeout_ms / 1000,
                isolation_level=None,
            )

    def _open_schema(self) -> None:
        """Configure the connection, then check the schema version before writing anything (S8)."""
        with self._translate("opening"):
            self._configure_connection()
            version = self._stored_version()
            if self._read_only:
                self._require_current(version)
                return
            self._enable_wal()
            if version < _latest_version():
                self._migrate()

    def _configure_connection(self) -> None:
        conn = self._connection()
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")

    def _enable_wal(self) -> None:
        """WAL lets readers run during a write; the mode is persistent in the file.

        Switching needs an exclusive lock and SQLite returns "database is locked" at once,
        without its busy handler, when another connection holds one (two processes creating
        the same store race here), so the switch is retried until the busy timeout.
        """
        conn = self._connection()
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode != "wal":
            mode = self._retry_while_busy(
                lambda: str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
            )
        if mode != "wal" and self._path != MEMORY:
            logger.warning(
                "the metric store %s runs in %s journal mode, not WAL (is the filesystem "
                "unusual?); durability holds but readers will wait for writers",
                self._path,
                mode,
            )

    def _retry_while_busy(self, attempt: Callable[[], str]) -> str:
        """Call ``attempt`` until it is not refused for a lock, or the busy timeout passes."""
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                remaining = deadline - time.monotonic()
                if _primary_code(exc) not in (_SQLITE_BUSY, _SQLITE_LOCKED) or remaining <= 0:
                    raise
                time.sleep(min(_BUSY_RETRY_S, remaining))

    def _stored_version(self) -> int:
        """Schema version in the file: 0 for an empty file; refuses foreign or newer files."""
        conn = self._connection()
        if conn.execute(schema.HAS_MIGRATIONS_TABLE).fetchone() is None:
            if int(conn.execute(schema.COUNT_USER_TABLES).fetchone()[0]) > 0:
                raise StorageError(
                    f"{self._path} is a SQLite database but not a scoreboard metric store; "
                    "pass another --store path so scoreboard does not write into it"
                )
            return 0
        version = int(conn.execute(schema.CURRENT_VERSION).fetchone()[0])
        if version > _latest_version():
            raise StorageError(
                f"the metric store {self._path} has schema version {version}, created by a "
                f"newer scoreboard (this one knows up to {_latest_version()}); upgrade "
                "scoreboard. Nothing was written"
            )
        return version

    def _require_current(self, version: int) -> None:
        if version < _latest_version():
            raise StorageError(
                f"the metric store {self._path} has schema version {version} but this "
                f"scoreboard needs {_latest_version()}; open it once read-write to upgrade it"
            )

    def _migrate(self) -> None:
        """Apply the missing migrations in one transaction: a failed upgrade changes nothing."""
        with self._transaction("upgrading the schema") as conn:
            current = self._stored_version()  # re-read under the lock: another process may win
            conn.execute(schema.CREATE_MIGRATIONS_TABLE)
            applied_at = iso_utc(self._clock())
            for migration in schema.MIGRATIONS:
                if migration.version <= current:
                    continue
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(
                    schema.RECORD_MIGRATION,
                    (migration.version, migration.description, applied_at),
                )
                logger.info("metric store %s upgraded to schema %d", self._path, migration.version)

    # --- writing ------------------------------------------------------------------------------

    def _insert_points(self, conn: sqlite3.Connection, rows: Sequence[Row]) -> None:
        conn.executemany(schema.INSERT_POINT, rows)

    def _replace_states(self, conn: sqlite3.Connection, run_id: str, rows: Sequence[Row]) -> None:
        conn.execute(schema.DELETE_STATES, (run_id,))
        conn.executemany(schema.INSERT_STATE, rows)

    def _refuse_if_read_only(self, action: str) -> None:
        if self._read_only:
            raise StorageError(
                f"the metric store {self._path} was opened read-only, so {action} is not "
                "possible; open it without read_only to write"
            )

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception (even ``KeyboardInterrupt``) rolls
        back, so a write is all or nothing."""
        conn = self._connection()
        with self._translate(action):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn)
                raise

    def _rollback(self, conn: sqlite3.Connection) -> None:
        """Roll back if SQLite has not already (it does on some errors, e.g. a full disk)."""
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # the journal still undoes it when the file is next opened
            logger.warning("rollback on the metric store %s failed: %s", self._path, exc)

    # --- reading ------------------------------------------------------------------------------

    def _query(self, action: str, sql: str, params: Sequence[object]) -> list[Row]:
        conn = self._connection()
        with self._translate(action):
            return [tuple(row) for row in conn.execute(sql, params).fetchall()]

    # --- plumbing -----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(
                f"the metric store {self._path} is closed; open it again with open_store()"
            )
        return self._conn

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turn any ``sqlite3.Error`` into a ``StorageError`` naming the path and a remedy."""
        try:
            yield
        except sqlite3.Error as exc:
            raise storage_error(exc, self._path, action, self._busy_timeout_ms) from exc


def storage_error(exc: sqlite3.Error, path: str, action: str, timeout_ms: int) -> StorageError:
    """The ``StorageError`` for a driver error: what happened to which file, and what to do."""
    code = _primary_code(exc)
    where = f"the metric store {path}"
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StorageError(
            f"{where} is locked: another process held its write lock for more than "
            f"{timeout_ms} ms while {action}. Retry, or find the process holding it "
            f"(fuser {path}); nothing was written"
        )
    if code == _SQLITE_FULL:
        return StorageError(
            f"the disk holding {where} is full (database or disk is full) while {action}. "
            "Free space on that disk or move the store (--store / SCOREBOARD_STORE); "
            "nothing was written"
        )
    if code == _SQLITE_NOTADB:
        return StorageError(
            f"{path} is not a SQLite database (file is not a database). Pass the path of a "
            "scoreboard store with --store, or move that file away to create a new store"
        )
    if code in (_SQLITE_READONLY, _SQLITE_PERM):
        return StorageError(
            f"{where} is read-only while {action}. Give write permission on the file and its "
            "directory (SQLite writes -wal and -shm files next to it), or pass a writable --store"
        )
    if code == _SQLITE_CANTOPEN:
        return StorageError(
            f"cannot open {where}: check that its directory exists and is writable, or pass "
            "another --store path"
        )
    if code == _SQLITE_IOERR:
        return StorageError(
            f"disk I/O error on {where} while {action} ({exc}). Check the disk and filesystem "
            "(network filesystems are not supported); restore from a backup if it persists"
        )
    if code == _SQLITE_CORRUPT:
        return StorageError(
            f"{where} is corrupt ({exc}). Restore it from a backup, or try "
            f"`sqlite3 {path} .recover`"
        )
    return StorageError(
        f"SQLite error on {where} while {action}: {exc}. Check the store path and disk, and "
        "report a bug if it persists"
    )


def _primary_code(exc: sqlite3.Error) -> int | None:
    """The primary result code; falls back to the message for errors raised without one."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    message = str(exc).lower()
    for fragment, fallback in (
        ("database is locked", _SQLITE_BUSY),
        ("database or disk is full", _SQLITE_FULL),
        ("file is not a database", _SQLITE_NOTADB),
        ("readonly database", _SQLITE_READONLY),
        ("unable to open database file", _SQLITE_CANTOPEN),
        ("disk i/o error", _SQLITE_IOERR),
        ("malformed", _SQLITE_CORRUPT),
    ):
        if fragment in message:
            return fallback
    return None


def _check_sqlite_version() -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        needed = ".".join(str(part) for part in MIN_SQLITE_VERSION)
        raise StorageError(
            f"this Python links SQLite {sqlite3.sqlite_version}, but the metric store needs "
            f"{needed} or newer; use a newer Python build"
        )


def _latest_version() -> int:
    """Read at call time so tests can extend the migration list."""
    return max(migration.version for migration in schema.MIGRATIONS)


def _normalise_path(path: str | os.PathLike[str]) -> str:
    text = os.fspath(path)
    if text == MEMORY:
        return MEMORY
    return str(Path(text).expanduser().absolute())


def _where_clause(clauses: Sequence[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}\n" if clauses else ""


# --- rows in ------------------------------------------------------------------------------------


def _run_row(run: RunRecord, now: str) -> Row:
    for name in ("model", "model_version", "spec_fingerprint", "plan_hash", "data_fingerprint"):
        _require_text(getattr(run, name), f"run.{name}")
    return (
        run.run_id,
        run.model,
        run.model_version,
        run.spec_fingerprint,
        run.plan_hash,
        run.data_fingerprint,
        iso_utc(run.started_at),
        iso_utc(run.finished_at),
        as_count(run.rows, "run.rows"),
        now,
        now,
    )


def _point_rows(run_id: str, points: Sequence[MetricPoint], now: str) -> list[Row]:
    """Validated insert rows; a natural key given twice is a caller bug, refused up front."""
    rows: list[Row] = []
    seen: set[tuple[object, ...]] = set()
    for index, point in enumerate(points):
        row = _point_row(run_id, point, now, f"points[{index}]")
        key = (*row[1:5], row[6], row[13])  # metric, window, start, end, segment hash, index
        if key in seen:
            raise ValueError(
                f"points[{index}] repeats metric {point.metric!r}, window {point.window!r}, "
                f"start {row[3]}, segment {row[5]}: each may appear once per run"
            )
        seen.add(key)
        rows.append(row)
    return rows


def _point_row(run_id: str, point: MetricPoint, now: str, where: str) -> Row:
    if not isinstance(point, MetricPoint):
        raise TypeError(f"{where} must be a MetricPoint, got {type(point).__name__}")
    _require_text(point.metric, f"{where}.metric")
    if point.window is not None:
        _require_text(point.window, f"{where}.window")
    value = as_optional_float(point.value, f"{where}.value")
    reason = point.reason
    if value is None and reason is None:
        reason = DEFAULT_UNDEFINED_REASON
    if reason is not None:
        _require_text(reason, f"{where}.reason")
    return (
        run_id,
        point.metric,
        point.window,
        None if point.window_start is None else iso_utc(point.window_start),
        None if point.window_end is None else iso_utc(point.window_end),
        segment_json(point.segment),
        segment_hash(point.segment),
        value,
        as_count(point.n, f"{where}.n"),
        reason,
        as_optional_float(point.ci_low, f"{where}.ci_low"),
        as_optional_float(point.ci_high, f"{where}.ci_high"),
        now,
        point.window_index,
        as_optional_float(point.error_bound, f"{where}.error_bound"),
    )


def _state_rows(run_id: str, states: Mapping[StateKey, bytes]) -> list[Row]:
    rows: list[Row] = []
    seen: set[StateKey] = set()
    for (window, start, seg_hash), blob in states.items():
        if window is not None:
            _require_text(window, "state window")
        _require_text(seg_hash, "state segment hash")
        start_text = None if start is None else canonical_iso(start)
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise TypeError(f"state blobs must be bytes, got {type(blob).__name__}")
        key = (window, start_text, seg_hash)
        if key in seen:
            raise ValueError(f"state key {key} given twice (the same instant in two spellings)")
        seen.add(key)
        rows.append((run_id, window, start_text, seg_hash, bytes(blob)))
    return rows


def _require_text(value: object, what: str) -> None:
    """Non-empty and encodable, so a bad name fails here and not half-way through a write."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode text: {value!r}") from exc


# --- rows out -----------------------------------------------------------------------------------


def _optional_time(text: str | None) -> datetime | None:
    return None if text is None else parse_iso(text)


def _stored_point(row: Row) -> StoredPoint:
    (
        run_id,
        model,
        version,
        metric,
        value,
        n,
        window,
        start,
        end,
        seg,
        reason,
        low,
        high,
        at,
        index,
        bound,
    ) = row
    return StoredPoint(
        window_index=index,
        error_bound=bound,
        metric=metric,
        value=value,
        n=n,
        window=window,
        window_start=_optional_time(start),
        window_end=_optional_time(end),
        segment=json.loads(seg),
        reason=reason,
        ci_low=low,
        ci_high=high,
        run_id=run_id,
        model=model,
        model_version=version,
        recorded_at=parse_iso(at),
    )


def _stored_run(row: Row) -> StoredRun:
    (model, version, spec, plan, data, started, finished, count, first, last) = row
    return StoredRun(
        model=model,
        model_version=version,
        spec_fingerprint=spec,
        plan_hash=plan,
        data_fingerprint=data,
        started_at=parse_iso(started),
        finished_at=parse_iso(finished),
        rows=count,
        first_recorded_at=parse_iso(first),
        recorded_at=parse_iso(last),
    )


def _alert_row(record: AlertStateRecord, now: str) -> Row:
    if not isinstance(record, AlertStateRecord):
        raise TypeError(f"alert states must be AlertStateRecord, got {type(record).__name__}")
    for name in ("model", "model_version", "rule", "state"):
        _require_text(getattr(record, name), f"alert state {name}")
    return (
        record.model,
        record.model_version,
        record.rule,
        segment_hash(record.segment),
        segment_json(record.segment),
        record.window,
        record.state,
        as_optional_float(record.value, "alert state value"),
        None if record.window_start is None else iso_utc(record.window_start),
        record.window_key,
        record.since,
        json.dumps(dict(record.detail), sort_keys=True, allow_nan=False),
        now,
    )


def _outbox_row(entry: OutboxEntry, now: str) -> Row:
    if not isinstance(entry, OutboxEntry):
        raise TypeError(f"outbox entries must be OutboxEntry, got {type(entry).__name__}")
    for name in ("dedup_key", "receiver", "model", "model_version", "rule", "transition"):
        _require_text(getattr(entry, name), f"outbox {name}")
    payload = json.dumps(dict(entry.payload), sort_keys=True, allow_nan=False)
    return (
        entry.dedup_key,
        entry.receiver,
        entry.model,
        entry.model_version,
        entry.rule,
        entry.transition,
        payload,
        now,
        now,
    )


def _stored_alert(row: Row) -> AlertStateRecord:
    (model, version, rule, seg, window, state, value, start, key, since, detail, at) = row
    return AlertStateRecord(
        model=model,
        model_version=version,
        rule=rule,
        segment=json.loads(seg),
        state=state,
        window=window,
        value=value,
        window_start=_optional_time(start),
        window_key=key,
        since=since,
        detail=json.loads(detail),
        updated_at=parse_iso(at),
    )


def _stored_outbox(row: Row) -> StoredOutboxEntry:
    (oid, key, receiver, model, version, rule, kind, payload, status, attempts, created, due,
     sent, error) = row  # fmt: skip
    return StoredOutboxEntry(
        outbox_id=oid,
        dedup_key=key,
        receiver=receiver,
        model=model,
        model_version=version,
        rule=rule,
        transition=kind,
        payload=json.loads(payload),
        status=status,
        attempts=attempts,
        created_at=parse_iso(created),
        next_attempt_at=parse_iso(due),
        sent_at=_optional_time(sent),
        last_error=error,
    )

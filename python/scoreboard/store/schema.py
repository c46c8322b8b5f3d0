"""Every SQL statement of the SQLite store, and its numbered migrations.

Kept in one module so the schema can be read (and reviewed) in one place, and so a PostgreSQL
backend gets its own sibling module with the same names in its dialect.

Migrations are append-only: a released migration is never edited, a change is a new entry. Each
migration is a tuple of single statements (not a script) because ``sqlite3.executescript`` commits
the open transaction first, and a migration must apply inside the caller's transaction (all or
nothing). Column names avoid SQL keywords (``window``, ``rows``) that PostgreSQL reserves.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step: ``version`` is what the store reports after it is applied."""

    version: int
    description: str
    statements: tuple[str, ...]


#: Created before any migration runs; records which migrations were applied.
CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
)
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="runs, metric points and accumulator states",
        statements=(
            """
            CREATE TABLE runs (
                run_id            TEXT PRIMARY KEY NOT NULL,
                model             TEXT NOT NULL,
                model_version     TEXT NOT NULL,
                spec_fingerprint  TEXT NOT NULL,
                plan_hash         TEXT NOT NULL,
                data_fingerprint  TEXT NOT NULL,
                started_at        TEXT NOT NULL,
                finished_at       TEXT NOT NULL,
                row_count         INTEGER NOT NULL CHECK (row_count >= 0),
                first_recorded_at TEXT NOT NULL,
                recorded_at       TEXT NOT NULL
            )
            """,
            "CREATE INDEX runs_by_model ON runs (model, model_version)",
            """
            CREATE TABLE points (
                point_id     INTEGER PRIMARY KEY,
                run_id       TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
                metric       TEXT NOT NULL,
                window_name  TEXT,
                window_start TEXT,
                window_end   TEXT,
                segment_json TEXT NOT NULL,
                segment_hash TEXT NOT NULL,
                value        REAL,
                n            INTEGER NOT NULL CHECK (n >= 0),
                reason       TEXT,
                ci_low       REAL,
                ci_high      REAL,
                recorded_at  TEXT NOT NULL
            )
            """,
            # The natural key (P3). COALESCE because SQLite treats NULLs as distinct in a unique
            # index, which would let two "overall" rows of the same metric coexist.
            """
            CREATE UNIQUE INDEX points_natural_key ON points (
                run_id, metric, COALESCE(window_name, ''), COALESCE(window_start, ''),
                COALESCE(window_end, ''), segment_hash
            )
            """,
            "CREATE INDEX points_by_metric ON points (metric, window_name, window_start)",
            """
            CREATE TABLE states (
                run_id       TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
                window_name  TEXT,
                window_start TEXT,
                segment_hash TEXT NOT NULL,
                state        BLOB NOT NULL
            )
            """,
            """
            CREATE UNIQUE INDEX states_key ON states (
                run_id, COALESCE(window_name, ''), COALESCE(window_start, ''), segment_hash
            )
            """,
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        version=2,
        description="window_index on points (row-count windows have no start time)",
        statements=(
            "ALTER TABLE points ADD COLUMN window_index INTEGER",
            "DROP INDEX points_natural_key",
            """
            CREATE UNIQUE INDEX points_natural_key ON points (
                run_id, metric, COALESCE(window_name, ''), COALESCE(window_start, ''),
                COALESCE(window_end, ''), COALESCE(window_index, -1), segment_hash
            )
            """,
            "CREATE INDEX runs_by_plan ON runs (model, model_version, plan_hash)",
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        version=3,
        description="alert state per rule and segment; notification outbox",
        statements=(
            """
            CREATE TABLE alert_state (
                model         TEXT NOT NULL,
                model_version TEXT NOT NULL,
                rule          TEXT NOT NULL,
                segment_hash  TEXT NOT NULL,
                segment_json  TEXT NOT NULL,
                window_name   TEXT,
                state         TEXT NOT NULL,
                value         REAL,
                window_start  TEXT,
                window_key    TEXT,
                since         TEXT,
                detail_json   TEXT NOT NULL,
                updated_at    TEXT NOT NULL,
                PRIMARY KEY (model, model_version, rule, segment_hash)
            )
            """,
            """
            CREATE TABLE outbox (
                outbox_id       INTEGER PRIMARY KEY,
                dedup_key       TEXT NOT NULL,
                receiver        TEXT NOT NULL,
                model           TEXT NOT NULL,
                model_version   TEXT NOT NULL,
                rule            TEXT NOT NULL,
                transition      TEXT NOT NULL,
                payload_json    TEXT NOT NULL,
                status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
                attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                created_at      TEXT NOT NULL,
                next_attempt_at TEXT NOT NULL,
                sent_at         TEXT,
                last_error      TEXT
            )
            """,
            # S1: one notification per transition and receiver, however often it is evaluated.
            "CREATE UNIQUE INDEX outbox_dedup ON outbox (dedup_key, receiver)",
            "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
        ),
    ),
)

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        version=4,
        description="error_bound on points (binned roc_auc / pr_auc)",
        statements=("ALTER TABLE points ADD COLUMN error_bound REAL",),
    ),
)

# --- schema inspection ---------------------------------------------------------------------

HAS_MIGRATIONS_TABLE = (
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
)
COUNT_USER_TABLES = (
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
)
CURRENT_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
RECORD_MIGRATION = (
    "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)"
)

# --- writes ----------------------------------------------------------------------------------

UPSERT_RUN = """
INSERT INTO runs (
    run_id, model, model_version, spec_fingerprint, plan_hash, data_fingerprint,
    started_at, finished_at, row_count, first_recorded_at, recorded_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id) DO UPDATE SET
    spec_fingerprint = excluded.spec_fingerprint,
    started_at       = excluded.started_at,
    finished_at      = excluded.finished_at,
    row_count        = excluded.row_count,
    recorded_at      = excluded.recorded_at
"""
DELETE_POINTS = "DELETE FROM points WHERE run_id = ?"
INSERT_POINT = """
INSERT INTO points (
    run_id, metric, window_name, window_start, window_end, segment_json, segment_hash,
    value, n, reason, ci_low, ci_high, recorded_at, window_index, error_bound
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
DELETE_STATES = "DELETE FROM states WHERE run_id = ?"
INSERT_STATE = """
INSERT INTO states (run_id, window_name, window_start, segment_hash, state)
VALUES (?, ?, ?, ?, ?)
"""

# --- reads -----------------------------------------------------------------------------------

SELECT_POINTS = """
SELECT p.run_id, r.model, r.model_version, p.metric, p.value, p.n, p.window_name,
       p.window_start, p.window_end, p.segment_json, p.reason, p.ci_low, p.ci_high,
       p.recorded_at, p.window_index, p.error_bound
FROM points AS p JOIN runs AS r ON r.run_id = p.run_id
"""
#: History filters, keyed by argument name; each takes one bound parameter.
POINT_FILTERS = {
    "model": "r.model = ?",
    "model_version": "r.model_version = ?",
    "metric": "p.metric = ?",
    "window": "p.window_name = ?",
    "segment": "p.segment_hash = ?",
    "since": "COALESCE(p.window_start, p.recorded_at) >= ?",
}

#: Late data: a time-window point recorded by several runs (of one model version and plan) is
#: shown once, as recorded by the latest of them, which holds the merge of every run's state.
LATEST_WINDOW_POINT = """(p.window_start IS NULL OR p.point_id = (
    SELECT p2.point_id FROM points AS p2 JOIN runs AS r2 ON r2.run_id = p2.run_id
    WHERE r2.model = r.model AND r2.model_version = r.model_version
      AND r2.plan_hash = r.plan_hash AND p2.metric = p.metric
      AND p2.window_name = p.window_name AND p2.window_start = p.window_start
      AND p2.segment_hash = p.segment_hash
    ORDER BY p2.recorded_at DESC, p2.point_id DESC LIMIT 1))"""
#: Total order of history (point_id last breaks every tie); DESC is its exact reverse, which
#: ``limit`` uses to take the latest points.
POINT_ORDER_ASC = (
    "ORDER BY r.model, p.metric, p.window_start, p.recorded_at, r.model_version, "
    "p.window_name, p.segment_json, p.point_id"
)
POINT_ORDER_DESC = (
    "ORDER BY r.model DESC, p.metric DESC, p.window_start DESC, p.recorded_at DESC, "
    "r.model_version DESC, p.window_name DESC, p.segment_json DESC, p.point_id DESC"
)
LIMIT = "LIMIT ?"

SELECT_RUNS = """
SELECT model, model_version, spec_fingerprint, plan_hash, data_fingerprint, started_at,
       finished_at, row_count, first_recorded_at, recorded_at
FROM runs
"""
RUN_FILTER_MODEL = "WHERE model = ?"
RUN_ORDER = "ORDER BY model, started_at, run_id"

SELECT_MODEL_VERSIONS = """
SELECT model_version FROM runs WHERE model = ?
GROUP BY model_version
ORDER BY MIN(first_recorded_at), model_version
"""

SELECT_STATES = "SELECT window_name, window_start, segment_hash, state FROM states WHERE run_id = ?"

# --- alerts -----------------------------------------------------------------------------------

DELETE_ALERT_STATES = "DELETE FROM alert_state WHERE model = ? AND model_version = ?"
INSERT_ALERT_STATE = """
INSERT INTO alert_state (
    model, model_version, rule, segment_hash, segment_json, window_name, state, value,
    window_start, window_key, since, detail_json, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
SELECT_ALERT_STATES = """
SELECT model, model_version, rule, segment_json, window_name, state, value, window_start,
       window_key, since, detail_json, updated_at
FROM alert_state
"""
ALERT_STATE_FILTERS = {"model": "model = ?", "model_version": "model_version = ?"}
ALERT_STATE_ORDER = "ORDER BY model, model_version, rule, segment_json"

INSERT_OUTBOX = """
INSERT INTO outbox (
    dedup_key, receiver, model, model_version, rule, transition, payload_json, status,
    attempts, created_at, next_attempt_at
) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
ON CONFLICT (dedup_key, receiver) DO NOTHING
"""
SELECT_OUTBOX = """
SELECT outbox_id, dedup_key, receiver, model, model_version, rule, transition, payload_json,
       status, attempts, created_at, next_attempt_at, sent_at, last_error
FROM outbox
"""
OUTBOX_FILTERS = {
    "status": "status = ?",
    "model": "model = ?",
    "due_before": "next_attempt_at <= ?",
    "sent_since": "sent_at >= ?",
}
OUTBOX_ORDER = "ORDER BY outbox_id"
MARK_SENT = (
    "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL "
    "WHERE outbox_id = ? AND status = 'pending'"
)
MARK_RETRY = (
    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
    "WHERE outbox_id = ? AND status = 'pending'"
)
MARK_DEAD = (
    "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ?, sent_at = NULL "
    "WHERE outbox_id = ? AND status = 'pending'"
)

"""The metric store: where every evaluation's results are kept (DESIGN step 5).

``open_store`` picks the backend from a location: a path or ``sqlite:///PATH`` is SQLite (the
default, ``./scoreboard.db``); ``postgresql://`` is reserved for the PostgreSQL backend. Callers
use the :class:`MetricStore` interface only.
"""

from __future__ import annotations

import os
import re

from scoreboard.exceptions import StorageError

from .base import MetricStore
from .models import (
    AlertStateRecord,
    MetricPoint,
    OutboxEntry,
    RunRecord,
    StateKey,
    StoredOutboxEntry,
    StoredPoint,
    StoredRun,
    derive_run_id,
    iso_utc,
    segment_hash,
    segment_json,
)
from .sqlite import DEFAULT_BUSY_TIMEOUT_MS, SQLiteStore

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "DEFAULT_STORE",
    "STORE_ENV_VAR",
    "AlertStateRecord",
    "MetricPoint",
    "MetricStore",
    "OutboxEntry",
    "RunRecord",
    "SQLiteStore",
    "StateKey",
    "StoredOutboxEntry",
    "StoredPoint",
    "StoredRun",
    "derive_run_id",
    "iso_utc",
    "open_store",
    "segment_hash",
    "segment_json",
]

#: Environment variable naming the store when no location is passed (as ``--store`` does).
STORE_ENV_VAR = "SCOREBOARD_STORE"
#: The store used when neither a location nor the environment variable is given.
DEFAULT_STORE = "./scoreboard.db"

_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_POSTGRES_SCHEMES = ("postgresql", "postgres")


def open_store(
    location: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> MetricStore:
    """Open (creating and migrating if needed) the metric store at ``location``.

    ``None`` means ``$SCOREBOARD_STORE``, else ``./scoreboard.db``. ``read_only=True`` opens an
    existing store without ever writing to it (reports, history, exports).
    """
    if location is None:
        location = os.environ.get(STORE_ENV_VAR) or DEFAULT_STORE
    if isinstance(location, os.PathLike):
        return SQLiteStore(location, read_only=read_only)
    return SQLiteStore(sqlite_path(location), read_only=read_only)


def sqlite_path(location: str) -> str:
    """The SQLite file path a location names; other URL schemes raise ``StorageError``.

    ``sqlite:///relative.db`` and ``sqlite:////absolute.db`` follow SQLAlchemy. Messages never
    repeat a URL, which may hold a password.
    """
    match = _URL_SCHEME.match(location)
    if match is None:
        return location
    scheme = match.group(1).lower()
    if scheme == "sqlite":
        path = location[len(match.group(0)) :]
        if not path.startswith("/") or len(path) == 1:
            raise StorageError(
                "a sqlite:// store URL needs a path: sqlite:///relative.db or "
                "sqlite:////absolute/path.db"
            )
        return path[1:]
    if scheme.split("+")[0] in _POSTGRES_SCHEMES:
        raise StorageError(
            "PostgreSQL support is not available yet; use a SQLite store path such as "
            "./scoreboard.db (--store or SCOREBOARD_STORE)"
        )
    raise StorageError(
        f"unsupported store URL scheme {scheme!r}; use a file path, sqlite:///PATH or "
        "postgresql://..."
    )

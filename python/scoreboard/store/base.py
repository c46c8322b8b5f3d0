"""The backend-neutral interface of a metric store.

Callers (engine, alerts, gate, report, CLI) program against :class:`MetricStore` only, so adding
PostgreSQL is one more module implementing these methods, with no change elsewhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from .models import (
    AlertStateRecord,
    MetricPoint,
    OutboxEntry,
    RunRecord,
    StateKey,
    StoredOutboxEntry,
    StoredPoint,
    StoredRun,
)


class MetricStore(ABC):
    """Durable history of runs and their metric points.

    Every method raises :class:`scoreboard.exceptions.StorageError` (with a remedy in the
    message) for a storage fault, never a driver exception. Invalid arguments raise ``TypeError``
    or ``ValueError`` before anything is written.
    """

    @abstractmethod
    def record_run(
        self,
        run: RunRecord,
        points: Sequence[MetricPoint],
        *,
        states: Mapping[StateKey, bytes] | None = None,
        alert_states: Sequence[AlertStateRecord] | None = None,
        outbox: Sequence[OutboxEntry] = (),
    ) -> str:
        """Store a run and its points in one all-or-nothing transaction; return the run id.

        Recording the same run id again replaces its points (never duplicates them) and updates
        the run's fields. ``states`` (accumulator blobs keyed by window, window start ISO text and
        segment hash), when given, replaces the run's stored states; ``None`` keeps them.

        ``alert_states``, when given, replaces every alert state of the run's model version;
        ``outbox`` notifications are added in the same transaction (P4), each once per
        ``(dedup_key, receiver)``: a notification already in the outbox is not added again (S1).
        """

    @abstractmethod
    def alert_states(
        self, *, model: str | None = None, model_version: str | None = None
    ) -> list[AlertStateRecord]:
        """Current alert states, ordered by model, version, rule and segment."""

    @abstractmethod
    def outbox(
        self,
        *,
        status: str | None = None,
        model: str | None = None,
        due_before: datetime | None = None,
        sent_since: datetime | None = None,
    ) -> list[StoredOutboxEntry]:
        """Outbox rows matching every given filter, oldest first."""

    @abstractmethod
    def mark_sent(self, outbox_id: int) -> None:
        """A pending notification was delivered."""

    @abstractmethod
    def mark_retry(self, outbox_id: int, next_attempt_at: datetime, error: str) -> None:
        """A delivery failed and will be retried at ``next_attempt_at``."""

    @abstractmethod
    def mark_dead(self, outbox_id: int, error: str) -> None:
        """A delivery failed for good (dead letter)."""

    @abstractmethod
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
        """Stored points matching every given filter.

        ``latest_windows`` shows each time-window point once, as recorded by the latest run of
        its model version and plan (which holds the merge of every run's data for that window).

        Ordered by model, metric, window start (overall points first), recorded time. ``since``
        keeps points whose time (window start, or the recording time for overall points) is at or
        after it. ``limit`` keeps the *latest* ``limit`` points of that order, still ascending.
        """

    @abstractmethod
    def runs(self, *, model: str | None = None) -> list[StoredRun]:
        """Stored runs, ordered by model, start time and run id."""

    @abstractmethod
    def model_versions(self, model: str) -> list[str]:
        """Versions of ``model`` that have runs, in the order they were first recorded."""

    @abstractmethod
    def states(self, run_id: str) -> dict[StateKey, bytes]:
        """Accumulator state blobs stored with ``run_id`` (empty if none)."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version of the opened store."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

"""Draining the outbox: at-least-once delivery with retries (RELIABILITY P4, A1–A4, S3, S4).

Each pass takes the pending rows that are due, groups them by receiver and sends each group in its
own thread, so one slow or hanging receiver (bounded by its per-send timeout) never holds up the
others; outcomes are written to the store from the calling thread as each group finishes.

- delivered: ``sent``;
- retryable failure (408, 425, 429, 5xx, timeout, refused, network, SMTP down): the row stays
  ``pending`` with ``next_attempt_at = now + backoff``: exponential with full jitter (1 s base,
  ×2, 60 s cap), or the server's ``Retry-After`` when longer (capped at 5 minutes); a row older
  than ``max_age`` (24 h) is dead-lettered instead;
- any other failure (400, 401, 403, 404...): ``dead`` at once, shown by ``scoreboard alerts``.

``run`` repeats passes while something is due within its time budget, sleeping through an
injectable ``sleep`` (tests pass a fake clock and sleep). What is still pending afterwards stays
in the outbox for the next run or ``scoreboard alerts --flush``. A crash after a send but before
``mark_sent`` sends the notification again with the same ``Idempotency-Key`` (S4).
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from scoreboard.alerts.evaluate import Notification
from scoreboard.alerts.notifiers import (
    RESOLVED_REPEAT,
    AlertmanagerNotifier,
    DeliveryError,
    Notifier,
)
from scoreboard.store import MetricStore, StoredOutboxEntry

logger = logging.getLogger("scoreboard.alerts")

BASE_DELAY_S = 1.0
BACKOFF_FACTOR = 2.0
MAX_DELAY_S = 60.0
MAX_RETRY_AFTER_S = 300.0
MAX_AGE = timedelta(hours=24)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    pending: int = 0  # still pending after the run
    failures: Counter[str] = field(default_factory=Counter)  # by reason kind (A1's counter)

    def to_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "dead": self.dead,
            "pending": self.pending,
            "failures": dict(self.failures),
        }


Outcome = tuple[StoredOutboxEntry, DeliveryError | None]


class Dispatcher:
    def __init__(
        self,
        store: MetricStore,
        notifiers: Mapping[str, Notifier],
        *,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        base_delay: float = BASE_DELAY_S,
        factor: float = BACKOFF_FACTOR,
        max_delay: float = MAX_DELAY_S,
        max_retry_after: float = MAX_RETRY_AFTER_S,
        max_age: timedelta = MAX_AGE,
    ) -> None:
        self.store = store
        self.notifiers = dict(notifiers)
        self.clock, self.sleep, self.rng = clock, sleep, rng
        self.base_delay, self.factor, self.max_delay = base_delay, factor, max_delay
        self.max_retry_after = max_retry_after
        self.max_age = max_age

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (1-based): full jitter over the capped
        exponential ``base · factor^(attempt-1)``."""
        ceiling = min(self.max_delay, self.base_delay * self.factor ** max(attempt - 1, 0))
        return self.rng() * ceiling

    def delay(self, attempt: int, error: DeliveryError) -> float:
        wait = self.backoff(attempt)
        if error.retry_after is not None:
            wait = max(wait, min(error.retry_after, self.max_retry_after))
        return wait

    # -- passes ---------------------------------------------------------------------------------

    def run(self, *, model: str | None = None, budget: float = 0.0) -> DispatchReport:
        """Passes until nothing is due within ``budget`` seconds (0: a single pass)."""
        report = DispatchReport()
        start = self.clock()
        deadline = start + timedelta(seconds=budget)
        for _ in range(10_000):  # bounded: each pass sends or schedules every due row
            self.run_once(model=model, report=report)
            pending = self._pending(model)
            if not pending:
                break
            next_due = min(row.next_attempt_at for row in pending)
            now = self.clock()
            if next_due > deadline:
                break
            wait = (next_due - now).total_seconds()
            if wait > 0:
                self.sleep(wait)
        report.pending = len(self._pending(model))
        return report

    def _pending(self, model: str | None) -> list[StoredOutboxEntry]:
        return [
            row
            for row in self.store.outbox(status="pending", model=model)
            if row.receiver in self.notifiers
        ]

    def run_once(
        self, *, model: str | None = None, report: DispatchReport | None = None
    ) -> DispatchReport:
        """One pass over the rows due now."""
        report = report if report is not None else DispatchReport()
        now = self.clock()
        groups: dict[str, list[StoredOutboxEntry]] = {}
        for row in self.store.outbox(status="pending", model=model, due_before=now):
            if row.receiver not in self.notifiers:
                continue  # a receiver of another spec (or since removed): left pending
            groups.setdefault(row.receiver, []).append(row)
        if not groups:
            return report
        with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="notify") as pool:
            futures = [
                pool.submit(self._send_group, self.notifiers[name], rows, now)
                for name, rows in groups.items()
            ]
            for future in as_completed(futures):
                for row, error in future.result():
                    self._record(row, error, report)
        return report

    def _send_group(
        self, notifier: Notifier, rows: list[StoredOutboxEntry], now: datetime
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for row in rows:
            note = Notification.from_json(row.payload)
            try:
                notifier.send(note, now=now)
            except DeliveryError as error:
                outcomes.append((row, error))
                if error.retryable:
                    break  # the receiver is struggling: its other rows wait for the next pass
                continue
            except Exception as exc:  # a bug in a notifier must not lose the row
                reason = f"internal error in the {notifier.kind} notifier ({type(exc).__name__})"
                outcomes.append((row, DeliveryError(reason, retryable=True, kind="internal")))
                break
            outcomes.append((row, None))
        return outcomes

    def _record(
        self, row: StoredOutboxEntry, error: DeliveryError | None, report: DispatchReport
    ) -> None:
        notifier = self.notifiers[row.receiver]
        if error is None:
            self.store.mark_sent(row.outbox_id)
            report.sent += 1
            return
        report.failures[error.kind] += 1
        attempt = row.attempts + 1
        now = self.clock()
        if not error.retryable or now - row.created_at > self.max_age:
            reason = error.reason if not error.retryable else f"gave up: {error.reason}"
            self.store.mark_dead(row.outbox_id, reason)
            report.dead += 1
            logger.error(
                "notification %s for %s dead-lettered after %d attempt(s): %s",
                row.dedup_key[:12],
                f"{row.receiver} ({notifier.where()})",
                attempt,
                reason,
            )
            return
        wait = self.delay(attempt, error)
        self.store.mark_retry(row.outbox_id, now + timedelta(seconds=wait), error.reason)
        report.retried += 1
        logger.warning(
            "notification %s for %s failed (attempt %d: %s); retrying in %.1f s",
            row.dedup_key[:12],
            f"{row.receiver} ({notifier.where()})",
            attempt,
            error.reason,
            wait,
        )

    # -- Alertmanager re-sends ------------------------------------------------------------------

    def refresh_alertmanager(self, *, model: str, model_version: str | None = None) -> int:
        """Re-send every still-firing alert (and resolutions sent in the last 5 minutes) to each
        Alertmanager receiver, so Alertmanager does not time them out (P5). Returns alerts sent.

        ``model_version`` limits the re-sends to one version (``evaluate`` refreshes the version
        it evaluated, so a retired version's alerts lapse in Alertmanager after 4·resend_delay)."""
        managers = [n for n in self.notifiers.values() if isinstance(n, AlertmanagerNotifier)]
        if not managers:
            return 0
        now = self.clock()
        firing = []
        for record in self.store.alert_states(model=model, model_version=model_version):
            machine = _texts(record.detail.get("machine"))
            effective = machine.get("held") if record.state == "insufficient_data" else record.state
            if effective != "firing":
                continue
            firing.append(
                Notification(
                    dedup_key="",
                    model=record.model,
                    model_version=record.model_version,
                    rule=record.rule,
                    segment=dict(record.segment),
                    transition="firing",
                    window=record.window,
                    window_start=None,
                    window_end=None,
                    value=record.value,
                    threshold=None,
                    severity=_texts(record.detail.get("labels")).get("severity", ""),
                    labels=_texts(record.detail.get("labels")),
                    annotations=_texts(record.detail.get("annotations")),
                    starts_at=_time_or_none(record.since),
                    fingerprint="",
                )
            )
        sent = 0
        for manager in managers:
            recent = [
                Notification.from_json(row.payload)
                for row in self.store.outbox(
                    status="sent", model=model, sent_since=now - RESOLVED_REPEAT
                )
                if row.receiver == manager.name and row.transition == "resolved"
            ]
            notes = firing + recent
            try:
                manager.refresh(notes, now=now)
                sent += len(notes)
            except DeliveryError as error:
                logger.warning(
                    "re-sending firing alerts to %s (%s) failed: %s; the next run retries",
                    manager.name,
                    manager.where(),
                    error.reason,
                )
        return sent

    def close(self) -> None:
        for notifier in self.notifiers.values():
            notifier.close()


def _texts(value: object) -> dict[str, str]:
    """A stored JSON object as text values (an absent or odd value is empty)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _time_or_none(text: str | None) -> str | None:
    return text if text and not text.startswith(("#", "run:")) else None

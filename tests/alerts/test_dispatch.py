"""The dispatcher against loopback receivers that fail as real ones do (RELIABILITY A1–A4, P4):
nothing is lost, nothing is doubled, and nothing waits for real (a fake clock and sleep)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_helpers import SENTINEL, FakeClock, http_receiver, note, queue, refused_url

from scoreboard.alerts.dispatch import Dispatcher
from scoreboard.alerts.notifiers import (
    DeliveryError,
    Notifier,
    WebhookNotifier,
    redact_url,
    retry_after_seconds,
)
from scoreboard.store import SQLiteStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "alerts.db", clock=clock) as opened:
        yield opened


def dispatcher(
    store: SQLiteStore, clock: FakeClock, *notifiers: Notifier, rng: float = 1.0
) -> Dispatcher:
    return Dispatcher(
        store, {n.name: n for n in notifiers}, clock=clock, sleep=clock.sleep, rng=lambda: rng
    )


def webhook(url: str, name: str = "hook", timeout: float = 2.0) -> WebhookNotifier:
    return WebhookNotifier(name, url=url, timeout=timeout)


def test_5xx_is_retried_with_backoff_until_delivered_once(
    store: SQLiteStore, clock: FakeClock
) -> None:
    queue(store, [note()], ["hook"])
    with http_receiver([503, 500, 502]) as rx:
        report = dispatcher(store, clock, webhook(rx.url)).run(budget=120)
    assert (report.sent, report.retried, report.dead, report.pending) == (1, 3, 0, 0)
    assert report.failures == {"http_5xx": 3}
    assert clock.sleeps == [1.0, 2.0, 4.0]  # rng = 1: the top of each jitter range
    assert len(rx.delivered()) == 1
    keys = {r.headers["idempotency-key"] for r in rx.requests}
    assert keys == {note().dedup_key}  # every attempt carries the same key (S4)
    (row,) = store.outbox()
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, None)


def test_backoff_is_full_jitter_capped_at_60s(store: SQLiteStore, clock: FakeClock) -> None:
    top = Dispatcher(store, {}, rng=lambda: 1.0)
    assert [top.backoff(a) for a in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    low = Dispatcher(store, {}, rng=lambda: 0.0)
    assert low.backoff(5) == 0.0
    half = Dispatcher(store, {}, rng=lambda: 0.5)
    assert half.backoff(3) == 2.0


def test_429_retry_after_is_honoured_and_capped(store: SQLiteStore, clock: FakeClock) -> None:
    queue(store, [note()], ["hook"])
    with http_receiver([(429, "7"), (429, "100000")]) as rx:
        report = dispatcher(store, clock, webhook(rx.url), rng=0.0).run(budget=1000)
    assert clock.sleeps == [7.0, 300.0]  # at least Retry-After; capped at 5 minutes
    assert (report.sent, len(rx.delivered())) == (1, 1)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_4xx_are_dead_lettered_at_once(
    store: SQLiteStore, clock: FakeClock, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    queue(store, [note()], ["hook"])
    with http_receiver([status]) as rx, caplog.at_level(logging.DEBUG):
        url = f"{rx.url}/hooks/{SENTINEL}?token={SENTINEL}"
        report = dispatcher(store, clock, webhook(url)).run(budget=60)
    assert (report.sent, report.dead, len(rx.requests), clock.sleeps) == (0, 1, 1, [])
    (row,) = store.outbox()
    assert row.status == "dead" and row.last_error == f"HTTP {status} from {redact_url(url)}"
    assert SENTINEL not in caplog.text and SENTINEL not in (row.last_error or "")
    assert "dead-lettered" in caplog.text


@pytest.mark.parametrize("status", [408, 425])
def test_408_and_425_are_retried(store: SQLiteStore, clock: FakeClock, status: int) -> None:
    queue(store, [note()], ["hook"])
    with http_receiver([status]) as rx:
        report = dispatcher(store, clock, webhook(rx.url)).run(budget=60)
    assert (report.sent, report.retried, len(rx.requests)) == (1, 1, 2)


def test_refused_connection_stays_pending_then_goes_out(
    store: SQLiteStore, clock: FakeClock
) -> None:
    queue(store, [note(day=1), note(day=2)], ["hook"])
    report = dispatcher(store, clock, webhook(refused_url())).run(budget=0)
    assert (report.sent, report.pending, report.failures) == (0, 2, {"refused": 2})
    assert [r.status for r in store.outbox()] == ["pending", "pending"]
    with http_receiver() as rx:  # the receiver is back: the next run delivers both, once
        clock.advance(120)
        report = dispatcher(store, clock, webhook(rx.url)).run(budget=0)
        again = dispatcher(store, clock, webhook(rx.url)).run(budget=0)
    assert (report.sent, again.sent, len(rx.delivered())) == (2, 0, 2)


def test_a_hanging_receiver_times_out_and_blocks_no_other(
    store: SQLiteStore, clock: FakeClock
) -> None:
    queue(store, [note()], ["slow", "fast"])
    with http_receiver(["hang"], hang_s=3) as slow, http_receiver() as fast:
        started = time.monotonic()
        report = dispatcher(
            store, clock, webhook(slow.url, "slow", timeout=0.3), webhook(fast.url, "fast")
        ).run_once()
        elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert (report.sent, report.retried, report.failures) == (1, 1, {"timeout": 1})
    status = {r.receiver: r.status for r in store.outbox()}
    assert status == {"slow": "pending", "fast": "sent"}


def test_rows_older_than_max_age_are_dead_lettered(store: SQLiteStore, clock: FakeClock) -> None:
    queue(store, [note()], ["hook"])
    clock.advance(25 * 3600)
    report = dispatcher(store, clock, webhook(refused_url())).run(budget=0)
    (row,) = store.outbox()
    assert (report.dead, row.status) == (1, "dead")
    assert row.last_error is not None and row.last_error.startswith("gave up:")


def test_many_flaky_sends_lose_nothing_and_double_nothing(
    store: SQLiteStore, clock: FakeClock
) -> None:
    notes = [note(region=r, day=d) for r in ("north", "south") for d in range(5)]
    queue(store, notes, ["hook"])
    script = [503, 200, 429, 200, "refused?", 200, 500, 200, 200, 503, 200, 200, 502, 200, 200]
    script = [s if s != "refused?" else 504 for s in script]
    with http_receiver(script) as rx:
        report = dispatcher(store, clock, webhook(rx.url)).run(budget=3600)
    delivered = [r.headers["idempotency-key"] for r in rx.delivered()]
    assert sorted(delivered) == sorted(n.dedup_key for n in notes)  # each exactly once
    assert report.pending == 0 and all(r.status == "sent" for r in store.outbox())


def test_queueing_the_same_notification_twice_keeps_one_row(store: SQLiteStore) -> None:
    queue(store, [note()], ["hook", "file"])
    queue(store, [note(), note(day=3)], ["hook", "file"])
    assert len(store.outbox()) == 4


class Exploding(Notifier):
    kind = "exploding"

    def send(self, note: object, *, now: object) -> None:
        raise RuntimeError("bug")


def test_a_notifier_bug_keeps_the_row_pending(store: SQLiteStore, clock: FakeClock) -> None:
    queue(store, [note()], ["boom"])
    report = dispatcher(store, clock, Exploding("boom")).run_once()
    assert (report.retried, store.outbox()[0].status) == (1, "pending")


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_delivery_errors_never_carry_the_url() -> None:
    url = f"http://user:{SENTINEL}@127.0.0.1:1/{SENTINEL}"
    with pytest.raises(DeliveryError) as info:
        webhook(url, timeout=0.5).send(note(), now=note_time())
    assert SENTINEL not in str(info.value) and SENTINEL not in repr(info.value.args)
    assert redact_url(url) == "http://127.0.0.1:1/…"


def note_time():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)

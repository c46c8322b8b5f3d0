"""Email over SMTP, received by a local aiosmtpd server on a loopback port (A9)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from typing import Any

import pytest
from alert_helpers import SENTINEL, free_port, note

from scoreboard.alerts.notifiers import DeliveryError, EmailNotifier

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mailer(port: int, **kw: Any) -> EmailNotifier:
    return EmailNotifier(
        "mail",
        host="127.0.0.1",
        port=port,
        sender="scoreboard@example.org",
        to=["oncall@example.org"],
        starttls=kw.pop("starttls", False),
        timeout=3,
        **kw,
    )


def test_email_is_received(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    mailer(port).send(note(), now=datetime.now(UTC))
    (envelope, message), *rest = inbox.messages
    assert not rest
    assert envelope.rcpt_tos == ["oncall@example.org"]
    assert message["Subject"].startswith("[FIRING] recall-floor (page) region=south")
    assert message["Message-ID"] == f"<{note().dedup_key}@scoreboard>"
    assert "recall 0.5 < 0.8" in message.get_payload()


def test_starttls_unavailable_is_retryable_and_hides_credentials(
    smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, port = smtp
    notifier = mailer(port, starttls=True, username="bot", password=SENTINEL)
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as info:
        notifier.send(note(), now=datetime.now(UTC))
    assert info.value.retryable and info.value.kind == "smtp_tls"
    assert SENTINEL not in str(info.value) and SENTINEL not in caplog.text


def test_smtp_server_down_is_retryable() -> None:
    with pytest.raises(DeliveryError) as info:
        mailer(free_port()).send(note(), now=datetime.now(UTC))
    assert info.value.retryable and info.value.kind == "smtp_network"

"""Notifiers: one small class per ``notify`` type, each delivering one notification at a time.

A notifier either returns (delivered) or raises :class:`DeliveryError`, which says whether a
retry may succeed (RELIABILITY A1–A3, A9): 408, 425, 429, 5xx, timeouts, refused connections and
other network errors are retryable; other 4xx (and redirects) are not. Nothing a notifier raises
or logs contains its URL or credentials: :func:`redact_url` keeps only scheme, host and port.

Every HTTP request carries the notification's ``dedup_key`` as ``Idempotency-Key``, so a
receiver can drop the duplicate that at-least-once delivery may send (S4).
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import re
import smtplib
import ssl
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

import httpx

from scoreboard.alerts.evaluate import Notification, segment_text
from scoreboard.spec.models import (
    AlertmanagerNotifier as AlertmanagerEntry,
)
from scoreboard.spec.models import (
    EmailNotifier as EmailEntry,
)
from scoreboard.spec.models import (
    FileNotifier as FileEntry,
)
from scoreboard.spec.models import (
    LogNotifier as LogEntry,
)
from scoreboard.spec.models import (
    SlackNotifier as SlackEntry,
)
from scoreboard.spec.models import (
    StdoutNotifier as StdoutEntry,
)
from scoreboard.spec.models import (
    WebhookNotifier as WebhookEntry,
)
from scoreboard.spec.models import (
    duration_seconds,
)

logger = logging.getLogger("scoreboard.alerts")

RETRYABLE_STATUS = frozenset({408, 425, 429})
#: Alertmanager: resolutions are repeated for this long after they were first sent (P5).
RESOLVED_REPEAT = timedelta(minutes=5)
DEFAULT_EXTERNAL_URL = "http://localhost/scoreboard"


class DeliveryError(Exception):
    """A failed delivery. ``reason`` is a short, secret-free text; ``retryable`` decides
    between a retry and the dead letter; ``retry_after`` is a server's ``Retry-After`` (s)."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        kind: str = "error",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.kind = kind  # for counting: http_5xx, http_429, timeout, refused, network, ...


def redact_url(url: str) -> str:
    """``https://hooks.example/T000/B000/XXXX?token=y`` -> ``https://hooks.example/…``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<url>"
    return f"{parts.scheme or '?'}://{host}{port}/…"


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


class RedactURLs(logging.Filter):
    """Rewrites every URL in a log record to :func:`redact_url`'s form. Installed on httpx's
    and httpcore's loggers, which log each request's full URL at INFO / DEBUG level."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        record.msg = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
        record.args = None
        return True


for _name in ("httpx", "httpcore"):
    if not any(isinstance(f, RedactURLs) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(RedactURLs())


def iso(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, as Alertmanager writes it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Notifier(ABC):
    """Delivers notifications to one receiver."""

    kind: str = ""

    def __init__(self, name: str, *, timeout: float = 10.0, send_resolved: bool = True) -> None:
        self.name = name
        self.timeout = timeout
        self.send_resolved = send_resolved

    @abstractmethod
    def send(self, note: Notification, *, now: datetime) -> None:
        """Deliver ``note``; raise :class:`DeliveryError` on failure."""

    def where(self) -> str:
        """A secret-free description of the destination, for logs and listings."""
        return self.kind

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def headline(note: Notification) -> str:
    state = "FIRING" if note.transition == "firing" else "RESOLVED"
    value = "null" if note.value is None else f"{note.value:.4g}"
    where = segment_text(note.segment)
    window = f" {note.window} {note.window_start}" if note.window_start else ""
    metric = note.labels.get("metric", "")
    return f"[{state}] {note.rule} ({note.severity}) {where}: {metric} = {value}{window}"


class StdoutNotifier(Notifier):
    kind = "stdout"

    def __init__(self, name: str, *, stream: TextIO | None = None, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.stream = stream

    def send(self, note: Notification, *, now: datetime) -> None:
        stream = self.stream or sys.stdout
        stream.write(headline(note) + "\n")
        stream.flush()


class LogNotifier(Notifier):
    kind = "log"

    def __init__(self, name: str, *, level: str = "warning", **kw: Any) -> None:
        super().__init__(name, **kw)
        self.level = getattr(logging, level.upper())

    def send(self, note: Notification, *, now: datetime) -> None:
        logger.log(self.level, "%s", headline(note))


class FileNotifier(Notifier):
    """Appends one JSON object per notification (JSON Lines)."""

    kind = "file"

    def __init__(self, name: str, *, path: str, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.path = path

    def where(self) -> str:
        return self.path

    def send(self, note: Notification, *, now: datetime) -> None:
        record = {"sent_at": iso(now), "receiver": self.name, **note.to_json()}
        line = json.dumps(record, sort_keys=True, allow_nan=False) + "\n"
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError as exc:
            reason = f"cannot append to {self.path}: {exc.strerror or type(exc).__name__}"
            raise DeliveryError(reason, retryable=True, kind="file") from None


class _HttpNotifier(Notifier):
    def __init__(self, name: str, *, url: str, **kw: Any) -> None:
        super().__init__(name, **kw)
        self._url = url
        self._client: httpx.Client | None = None

    def where(self) -> str:
        return redact_url(self._url)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def post(
        self, url: str, body: Any, *, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """POST JSON; classify every failure without ever repeating the URL."""
        if self._client is None:
            self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=False)
        try:
            response = self._client.post(url, json=body, headers=dict(headers or {}))
        except httpx.TimeoutException:
            raise DeliveryError(
                f"no answer within {self.timeout:g} s", retryable=True, kind="timeout"
            ) from None
        except httpx.ConnectError:
            raise DeliveryError(
                "connection refused or failed", retryable=True, kind="refused"
            ) from None
        except httpx.TransportError as exc:
            reason = f"network error ({type(exc).__name__})"
            raise DeliveryError(reason, retryable=True, kind="network") from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        retryable = status in RETRYABLE_STATUS or status >= 500
        kind = "http_429" if status == 429 else "http_5xx" if status >= 500 else "http_4xx"
        raise DeliveryError(
            f"HTTP {status} from {self.where()}",
            retryable=retryable,
            status=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            kind=kind,
        )


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def generator_url(external_url: str | None, note: Notification) -> str:
    base = (external_url or DEFAULT_EXTERNAL_URL).rstrip("/")
    return f"{base}/alerts?model={quote(note.model)}&rule={quote(note.rule)}"


def _times(note: Notification, now: datetime, ends_firing: datetime) -> tuple[str, str]:
    starts = note.starts_at or iso(now)
    if note.transition == "resolved":
        return starts, iso(now)
    return starts, iso(ends_firing)


class WebhookNotifier(_HttpNotifier):
    """POSTs Alertmanager's webhook (version 4) body, so existing receivers parse it (A6)."""

    kind = "webhook"

    def __init__(
        self,
        name: str,
        *,
        url: str,
        token: str | None = None,
        external_url: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, url=url, **kw)
        self._token = token
        self.external_url = external_url

    def body(self, note: Notification, now: datetime) -> dict[str, Any]:
        starts = note.starts_at or iso(now)
        ends = iso(now) if note.transition == "resolved" else "0001-01-01T00:00:00Z"
        return {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{note.rule}"}}',
            "truncatedAlerts": 0,
            "status": note.transition,
            "receiver": self.name,
            "groupLabels": {"alertname": note.rule},
            "commonLabels": dict(note.labels),
            "commonAnnotations": dict(note.annotations),
            "externalURL": (self.external_url or DEFAULT_EXTERNAL_URL),
            "alerts": [
                {
                    "status": note.transition,
                    "labels": dict(note.labels),
                    "annotations": dict(note.annotations),
                    "startsAt": starts,
                    "endsAt": ends,
                    "generatorURL": generator_url(self.external_url, note),
                    "fingerprint": note.fingerprint,
                }
            ],
        }

    def send(self, note: Notification, *, now: datetime) -> None:
        headers = {"Idempotency-Key": note.dedup_key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        self.post(self._url, self.body(note, now), headers=headers)


class SlackNotifier(_HttpNotifier):
    """A Slack incoming webhook: one message per notification."""

    kind = "slack"

    def send(self, note: Notification, *, now: datetime) -> None:
        text = headline(note)
        summary = note.annotations.get("summary")
        if summary:
            text += f"\n{summary}"
        self.post(self._url, {"text": text}, headers={"Idempotency-Key": note.dedup_key})


class AlertmanagerNotifier(_HttpNotifier):
    """Prometheus Alertmanager's ``POST /api/v2/alerts`` (P5).

    A firing alert is sent with ``endsAt = now + 4·resend_delay`` and re-sent by every dispatch
    while it fires (:meth:`refresh`); a resolution with ``endsAt = now``, repeated for 5 minutes.
    Grouping, silences and inhibition are Alertmanager's: they are not reimplemented here.
    """

    kind = "alertmanager"

    def __init__(
        self,
        name: str,
        *,
        url: str,
        resend_delay: str = "1m",
        external_url: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, url=url, **kw)
        self.resend_delay = timedelta(seconds=max(duration_seconds(resend_delay), 60))
        self.external_url = external_url

    @property
    def endpoint(self) -> str:
        return self._url.rstrip("/") + "/api/v2/alerts"

    def alert(self, note: Notification, now: datetime) -> dict[str, Any]:
        starts, ends = _times(note, now, now + 4 * self.resend_delay)
        return {
            "labels": dict(note.labels),
            "annotations": dict(note.annotations),
            "startsAt": starts,
            "endsAt": ends,
            "generatorURL": generator_url(self.external_url, note),
        }

    def send(self, note: Notification, *, now: datetime) -> None:
        self.post(
            self.endpoint, [self.alert(note, now)], headers={"Idempotency-Key": note.dedup_key}
        )

    def refresh(self, notes: Sequence[Notification], *, now: datetime) -> None:
        """Re-send still-firing alerts (and recent resolutions) in one request."""
        if notes:
            self.post(self.endpoint, [self.alert(n, now) for n in notes])


class EmailNotifier(Notifier):
    """Email over SMTP (smtplib), with optional STARTTLS and login."""

    kind = "email"

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        sender: str,
        to: Sequence[str],
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, **kw)
        self.host, self.port, self.sender, self.to = host, port, sender, list(to)
        self.starttls = starttls
        self._username, self._password = username, password

    def where(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def send(self, note: Notification, *, now: datetime) -> None:
        message = EmailMessage()
        message["Subject"] = headline(note)
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Date"] = email.utils.format_datetime(now)
        message["Message-ID"] = f"<{note.dedup_key}@scoreboard>"
        lines = [headline(note), ""]
        lines += [f"{k}: {v}" for k, v in note.annotations.items()]
        lines += ["", *(f"{k}={v}" for k, v in sorted(note.labels.items()))]
        message.set_content("\n".join(lines) + "\n")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP login refused ({exc.smtp_code})", retryable=False, kind="smtp_auth"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(
                "the SMTP server does not offer STARTTLS", retryable=True, kind="smtp_tls"
            ) from None
        except smtplib.SMTPResponseException as exc:
            code = int(exc.smtp_code)
            raise DeliveryError(
                f"SMTP error {code}", retryable=code < 500, kind="smtp", status=code
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError("SMTP recipients refused", retryable=False, kind="smtp") from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = f"SMTP server unreachable ({type(exc).__name__})"
            raise DeliveryError(reason, retryable=True, kind="smtp_network") from None


def build_notifiers(entries: Sequence[Any], *, stdout: TextIO | None = None) -> dict[str, Notifier]:
    """Notifiers for the spec's ``notify`` entries, by receiver name (secrets revealed here
    only, into the objects that use them)."""
    out: dict[str, Notifier] = {}
    for entry in entries:
        common: dict[str, Any] = {"timeout": entry.timeout, "send_resolved": entry.send_resolved}
        name = entry.receiver
        notifier: Notifier
        if isinstance(entry, StdoutEntry):
            notifier = StdoutNotifier(name, stream=stdout, **common)
        elif isinstance(entry, LogEntry):
            notifier = LogNotifier(name, level=entry.level, **common)
        elif isinstance(entry, FileEntry):
            notifier = FileNotifier(name, path=entry.path, **common)
        elif isinstance(entry, WebhookEntry):
            token = entry.token.get_secret_value() if entry.token else None
            notifier = WebhookNotifier(
                name, url=entry.url.get_secret_value(), token=token, **common
            )
        elif isinstance(entry, SlackEntry):
            notifier = SlackNotifier(name, url=entry.url.get_secret_value(), **common)
        elif isinstance(entry, AlertmanagerEntry):
            notifier = AlertmanagerNotifier(
                name,
                url=entry.url.get_secret_value(),
                resend_delay=entry.resend_delay,
                external_url=entry.external_url,
                **common,
            )
        elif isinstance(entry, EmailEntry):
            notifier = EmailNotifier(
                name,
                host=entry.host,
                port=entry.port,
                sender=entry.sender,
                to=entry.to,
                starttls=entry.starttls,
                username=entry.username.get_secret_value() if entry.username else None,
                password=entry.password.get_secret_value() if entry.password else None,
                **common,
            )
        else:  # pragma: no cover - the spec's union is closed
            raise TypeError(f"unknown notify entry {type(entry).__name__}")
        out[name] = notifier
    return out

"""Subprocess for the crash tests: evaluate the drift spec, then die with ``os._exit`` at a chosen
point. ``python crash_worker.py SPEC DATA STORE MODE`` with MODE:

- ``after-commit``: results and outbox committed, nothing delivered (S3);
- ``after-send``: the first notification delivered, then death before ``mark_sent`` (S4).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

from scoreboard import engine
from scoreboard.alerts.dispatch import Dispatcher
from scoreboard.alerts.history import Receiver
from scoreboard.alerts.notifiers import build_notifiers
from scoreboard.plan import compile_spec
from scoreboard.recording import record_evaluation
from scoreboard.spec import load_spec
from scoreboard.store import SQLiteStore


def main(spec_path: str, data: str, store_path: str, mode: str) -> None:
    spec = load_spec(spec_path)
    plan = compile_spec(spec)
    acc, fingerprint = engine.stream(plan, [data])
    store = SQLiteStore(store_path)
    record_evaluation(
        store, plan, acc, model_version="v1", data_fingerprint=fingerprint,
        started=datetime.now(UTC), receivers=[Receiver(n.receiver) for n in spec.notify],
    )  # fmt: skip
    if mode == "after-commit":
        os._exit(17)
    store.mark_sent = lambda outbox_id: os._exit(17)  # type: ignore[method-assign]
    Dispatcher(store, build_notifiers(spec.notify)).run_once()
    os._exit(1)  # not reached


if __name__ == "__main__":
    main(*sys.argv[1:5])

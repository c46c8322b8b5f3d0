"""Against a real Prometheus Alertmanager (Debian's prometheus-alertmanager), started on a free
loopback port with a temporary config and storage (RELIABILITY A5, P5)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alert_helpers import free_port, note

from scoreboard.alerts.notifiers import AlertmanagerNotifier

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
CONFIG = """\
route:
  receiver: blackhole
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: blackhole
"""


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BINARY is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus-alertmanager is not installed (.ci/run installs it)")
        pytest.skip("prometheus-alertmanager is not installed (apt-get install it)")
    work = tmp_path_factory.mktemp("alertmanager")
    (work / "alertmanager.yml").write_text(CONFIG)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(work / "log.txt", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={work / 'alertmanager.yml'}",
            f"--storage.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, (work / "log.txt").read_text()
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "Alertmanager did not start in 20 s"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def alerts(url: str, **filters: str) -> list[dict[str, Any]]:
    params = [("filter", f'{k}="{v}"') for k, v in filters.items()]
    response = httpx.get(f"{url}/api/v2/alerts", params=params, timeout=5)
    response.raise_for_status()
    return list(response.json())


def wait_for(predicate: Any, seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_firing_alert_shows_in_alertmanager_then_resolves(alertmanager: str) -> None:
    manager = AlertmanagerNotifier("am", url=alertmanager, resend_delay="1m", timeout=5)
    now = datetime.now(UTC)
    manager.send(note(region="south"), now=now)
    found = wait_for(lambda: alerts(alertmanager, alertname="recall-floor", region="south"))
    assert len(found) == 1
    alert = found[0]
    assert alert["labels"]["alertname"] == "recall-floor"
    assert alert["labels"]["severity"] == "page" and alert["status"]["state"] == "active"
    assert alert["annotations"]["summary"].startswith("recall 0.5 < 0.8")
    assert alert["generatorURL"].startswith("http://")
    ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=3) < ends - now <= timedelta(minutes=4, seconds=5)  # now + 4·1m
    starts = datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00"))
    assert starts == datetime.fromisoformat(note().starts_at.replace("Z", "+00:00"))  # type: ignore[union-attr]

    manager.send(note(region="south", kind="resolved"), now=datetime.now(UTC))
    gone = wait_for(lambda: not alerts(alertmanager, alertname="recall-floor", region="south"))
    assert gone
    manager.close()


def test_refresh_resends_firing_alerts_with_a_later_end(alertmanager: str) -> None:
    manager = AlertmanagerNotifier("am", url=alertmanager, timeout=5)
    first = datetime.now(UTC)
    manager.send(note(region="west"), now=first)
    manager.refresh([note(region="west")], now=first + timedelta(minutes=1))

    def later_end() -> bool:
        found = alerts(alertmanager, region="west")
        if not found:
            return False
        ends = datetime.fromisoformat(found[0]["endsAt"].replace("Z", "+00:00"))
        return ends > first + timedelta(minutes=4, seconds=30)

    assert wait_for(later_end)
    manager.close()


def test_evaluate_sends_the_drift_alert_to_alertmanager(
    alertmanager: str, drift_data: Path, tmp_path: Path, drift_spec: Any
) -> None:
    from scoreboard.cli import run

    spec = drift_spec(tmp_path, notify=[{"type": "alertmanager", "url": "${AM_URL}"}])
    first_days = [str(p) for p in sorted(drift_data.glob("part-*.parquet"))[:2]]  # days 1-10
    os.environ["AM_URL"] = alertmanager
    try:
        store = ["--store", str(tmp_path / "s.db"), "--model-version", "v9"]
        code = run(["evaluate", str(spec), *first_days, *store, "--format", "json"])
    finally:
        del os.environ["AM_URL"]
    assert code == 0
    found = wait_for(lambda: alerts(alertmanager, model_version="v9"))
    assert [a["labels"]["region"] for a in found] == ["south"]
    assert found[0]["labels"]["alertname"] == "recall-floor"

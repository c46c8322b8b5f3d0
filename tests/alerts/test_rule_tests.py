"""``scoreboard test``: passing, failing and bad rule test files (exit 0, 1, 2 with locations)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scoreboard.cli import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

INLINE = """\
rules:
  - {name: acc-floor, metric: accuracy, window: daily, below: 0.9, for: 2, keep_firing_for: 1}
  - {name: acc-vs-yesterday, metric: accuracy, window: daily, baseline: 1_ago, max_drop: 0.05}
  - {name: acc-band, metric: accuracy, window: daily, band: {k: 3, lookback: 5}}
  - {name: run-floor, metric: accuracy, below: 0.9}
metrics: [accuracy]
tests:
  - name: inline rules
    series:
      - {metric: accuracy, values: "0.95 0.95 0.95 0.96 0.8 0.8 0.95 0.95", n: 1000}
    expect:
      - {at: 4, rule: acc-floor, state: pending}
      - {at: 5, rule: acc-floor, state: firing}
      - {at: 6, rule: acc-floor, state: firing}
      - {at: 7, rule: acc-floor, state: inactive}
      - {at: 4, rule: acc-vs-yesterday, state: firing}
      - {at: 5, rule: acc-vs-yesterday, state: inactive}
      - {at: 0, rule: acc-band, state: insufficient_data}
      - {at: 4, rule: acc-band, state: firing}
  - name: a rule without a window reads one run per index
    series:
      - {metric: accuracy, window: null, values: "0.95 0.8", n: 1000}
    expect:
      - {at: 0, rule: run-floor, state: inactive}
      - {at: 1, rule: run-floor, state: firing}
"""


def test_the_example_rule_tests_pass(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    assert run(["test", str(EXAMPLES / "rule-tests" / "drift.yaml"), "--junit", str(junit)]) == 0
    assert "3 passed, 0 failed" in capsys.readouterr().out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "0"


def test_inline_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inline.yaml"
    path.write_text(INLINE)
    assert run(["test", str(path)]) == 0, capsys.readouterr().out


def test_a_failing_expectation_exits_1_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(INLINE.replace("{at: 5, rule: acc-floor, state: firing}",
                                   "{at: 5, rule: acc-floor, state: inactive}"))  # fmt: skip
    junit = tmp_path / "j.xml"
    assert run(["test", str(path), "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  inline rules" in out
    assert "acc-floor all at 5: expected inactive, got firing" in out
    failure = ET.parse(junit).getroot().find("testsuite/testcase/failure")
    assert failure is not None and "expected inactive" in (failure.get("message") or "")


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        (INLINE.replace('values: "0.95 0.95', 'values: "0.95 zz'), (10, 36), "bad series token"),
        (INLINE.replace("state: pending", "state: pendng"), (12, 41), "Input should be"),
        (
            INLINE.replace(
                "metric: accuracy, window: daily, below", "metric: acc, window: daily, below"
            ),
            (2, 31),
            "rules[0].metric: alert rule",
        ),
        (
            INLINE.replace("  - name: inline rules\n", "  - name: inline rules\n    bogus: 1\n"),
            (9, 5),
            "unknown key 'bogus'",
        ),
        ("tests: []\n", (1, 8), "at least 1"),
    ],
    ids=["bad-series", "bad-state", "unknown-metric", "unknown-key", "no-tests"],
)
def test_a_bad_file_exits_2_with_its_location(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    where: tuple[int, int],
    fragment: str,
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert run(["test", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{where[0]}:{where[1]}:" in err, err
    assert fragment in err


def test_a_spec_with_errors_is_reported_in_the_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rule-tests").mkdir()
    shutil.copy(EXAMPLES / "rule-tests" / "drift.yaml", tmp_path / "rule-tests" / "t.yaml")
    spec = (EXAMPLES / "drift.yaml").read_text().replace("window: daily", "window: hourly")
    (tmp_path / "drift.yaml").write_text(spec)
    assert run(["test", str(tmp_path / "rule-tests" / "t.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'drift.yaml'}:23:13: alerts[0].window:" in err

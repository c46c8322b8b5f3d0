"""What CI systems read: JUnit XML (Jenkins, GitLab, GitHub reporters) and the GitHub step summary.

JUnit: one ``testsuites`` > ``testsuite`` > ``testcase`` per gate and segment, with a ``failure``
(the gate failed), ``error`` (it could not be checked: undefined value) or ``skipped`` child.
GitLab ignores ``testsuite@name`` and groups by ``classname``, so both are set.

The GitHub step summary file (``$GITHUB_STEP_SUMMARY``) is dropped whole by GitHub when it grows
past 1 MiB, so what is appended is cut to fit, at a line boundary, with a "truncated" note.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

import click

from scoreboard.exceptions import ScoreboardError
from scoreboard.gate import GateOutcome, summarize

from .output import fmt_value

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
#: GitHub's limit on one step's summary (1024 KiB).
STEP_SUMMARY_LIMIT = 1024 * 1024
TRUNCATED_NOTE = (
    "\n\n> **truncated**: the rest did not fit GitHub's 1 MiB step-summary limit; "
    "see the job log or `--format json` for everything.\n"
)


def testcase_name(o: GateOutcome) -> str:
    where = fmt_value(dict(o.segment)) if o.segment else "overall"
    return f"{o.metric} [{where}] {o.bound}"


def failure_message(o: GateOutcome) -> str:
    where = f" in segment {fmt_value(dict(o.segment))}" if o.segment else ""
    text = f"{o.metric} = {fmt_value(o.value)}{where}, bound {o.bound}"
    if o.baseline is not None:
        text += f", baseline {fmt_value(o.baseline)}"
    return text + (f": {o.reason}" if o.reason else "")


def junit_xml(outcomes: Sequence[GateOutcome], *, model: str, model_version: str) -> bytes:
    counts = summarize(outcomes)
    classname = f"scoreboard.gate.{model}"
    attrs = {
        "tests": str(len(outcomes)),
        "failures": str(counts["failed"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": "0",
    }
    # testsuites takes no `skipped` attribute in the Jenkins (xunit) schema; testsuite does.
    totals = {k: v for k, v in attrs.items() if k != "skipped"}
    root = ET.Element("testsuites", {"name": "scoreboard gate", **totals})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": f"{classname} {model_version}",
            **attrs,
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    for o in outcomes:
        case = ET.SubElement(
            suite, "testcase", {"classname": classname, "name": testcase_name(o), "time": "0"}
        )
        if o.status == "failed":
            ET.SubElement(case, "failure", {"message": failure_message(o), "type": "GateFailed"})
        elif o.status == "error":
            ET.SubElement(case, "error", {"message": failure_message(o), "type": "GateError"})
        elif o.status == "skipped":
            ET.SubElement(case, "skipped", {"message": o.reason or "skipped"})
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"


def write_junit(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise ScoreboardError(f"cannot write the JUnit report {path}: {exc.strerror}") from None


def fit_summary(markdown: str, room: int) -> str:
    """``markdown`` cut at a line boundary so that it takes at most ``room`` bytes (UTF-8)."""
    data = markdown.encode("utf-8")
    if len(data) <= room:
        return markdown
    note = TRUNCATED_NOTE.encode("utf-8")
    keep = max(0, room - len(note))
    head = data[:keep]
    cut = head.rfind(b"\n")
    head = head[: cut + 1] if cut >= 0 else b""
    return head.decode("utf-8", errors="ignore") + TRUNCATED_NOTE if room >= len(note) else ""


def append_step_summary(markdown: str) -> str | None:
    """Appends to ``$GITHUB_STEP_SUMMARY`` when set; returns the path written (or None).

    A summary that cannot be written is a warning on stderr, not an error: the gate's verdict
    (its exit code) must not change with the CI runner's file system."""
    path = os.environ.get(STEP_SUMMARY_ENV)
    if not path:
        return None
    try:
        used = os.path.getsize(path) if os.path.exists(path) else 0
        text = fit_summary(markdown, STEP_SUMMARY_LIMIT - used)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        click.echo(
            f"scoreboard: warning: cannot append to ${STEP_SUMMARY_ENV} ({path}): {exc.strerror}",
            err=True,
        )
        return None
    return path

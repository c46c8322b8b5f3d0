"""``scoreboard test``: promtool-style unit tests of alert rules.

A test file names a spec (``spec: drift.yaml``, relative to the test file) or gives rules inline
(``rules:``, with the ``metrics:`` they read and optionally ``task:`` and ``windows:``), then a
list of ``tests``. Each test gives input series per window instance and segment, and the alert
states expected at given window indexes::

    spec: drift.yaml
    tests:
      - name: south pages after two bad days
        start: "2026-03-01T00:00:00Z"    # first window start (default 2026-01-01)
        step: 1d                         # window spacing (default 1d)
        series:
          - metric: recall
            segment: {region: south}
            values: "0.9 0.5x3 0.9"      # or a list; _ or null is an undefined value
            n: 1000                      # rows per window: one number or a list
        expect:
          - {at: 2, rule: recall-floor, segment: {region: south}, state: firing}
        notifications:                   # optional: the exact firing/resolved transitions
          - {at: 2, rule: recall-floor, segment: {region: south}, transition: firing}

The series are replayed through the same evaluation as ``scoreboard evaluate`` (a rule without a
window reads each index as one run's all-rows result). Version baselines (``previous``, a named
version) have no store here and give insufficient_data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scoreboard.alerts.evaluate import RuleOutcome, SeriesPoint, evaluate_rules
from scoreboard.alerts.rules import Rule
from scoreboard.exceptions import Problem, SpecError
from scoreboard.plan import compile_spec
from scoreboard.spec.loader import load_spec, load_yaml, spec_from_mapping
from scoreboard.spec.models import Duration, duration_seconds
from scoreboard.spec.source import Path, SourceMap

_REPEAT = re.compile(r"^(_|null|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:x(\d+))?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class Series(_Strict):
    metric: str
    window: str | None = Field(default=None, description="Default: the test's window.")
    segment: dict[str, str] = Field(default_factory=dict)
    values: str | list[float | None]
    n: int | list[int] = 1000

    @field_validator("values")
    @classmethod
    def _values(cls, value: str | list[float | None]) -> str | list[float | None]:
        if isinstance(value, str):
            expand(value)
        return value


class Expectation(_Strict):
    at: int | str
    rule: str
    segment: dict[str, str] = Field(default_factory=dict)
    state: Literal["inactive", "pending", "firing", "insufficient_data"]


class ExpectedNotification(_Strict):
    at: int | str
    rule: str
    segment: dict[str, str] = Field(default_factory=dict)
    transition: Literal["firing", "resolved"]


class RuleTest(_Strict):
    name: Annotated[str, Field(min_length=1)]
    window: str | None = None
    start: str = "2026-01-01T00:00:00Z"
    step: Duration = "1d"
    series: Annotated[list[Series], Field(min_length=1)]
    expect: list[Expectation] = Field(default_factory=list)
    notifications: list[ExpectedNotification] | None = None

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value


class RulesTestFile(_Strict):
    spec: str | None = None
    rules: list[Any] | None = None
    metrics: list[Any] | None = None
    task: str = "binary"
    windows: list[Any] | None = None
    tests: Annotated[list[RuleTest], Field(min_length=1)]


def expand(text: str) -> list[float | None]:
    """``"0.9 0.5x3 _"`` -> ``[0.9, 0.5, 0.5, 0.5, None]``."""
    out: list[float | None] = []
    for token in text.split():
        match = _REPEAT.match(token)
        if match is None:
            raise ValueError(
                f"bad series token {token!r}: write a number, _ (undefined) or VALUExCOUNT"
            )
        value = None if match.group(1) in ("_", "null") else float(match.group(1))
        out.extend([value] * int(match.group(2) or 1))
    return out


@dataclass
class CaseResult:
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load_test_file(path: str) -> tuple[RulesTestFile, list[Rule], SourceMap]:
    """The test file and the rules it tests; raises :class:`SpecError` (located) if invalid."""
    data, source = load_yaml(path)
    try:
        test_file = RulesTestFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            loc: Path = tuple(p for p in error["loc"] if isinstance(p, str | int))
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}"
            key = error["type"] == "extra_forbidden"
            problems.append(source.problem(loc, message, error["type"], key=key))
        raise SpecError(sorted(problems, key=lambda p: (p.line, p.column))) from None
    if (test_file.spec is None) == (test_file.rules is None):
        raise SpecError([source.problem((), "give either spec: or rules:", "test_rules_source")])
    if test_file.spec is not None:
        spec_path = os.path.normpath(
            os.path.join(os.path.dirname(os.path.abspath(path)), test_file.spec)
        )
        plan = compile_spec(load_spec(spec_path))
    else:
        try:
            plan = compile_spec(_inline_spec(test_file, data, source))
        except SpecError as exc:  # the spec is the test file's: name its keys
            raise SpecError([_renamed(p) for p in exc.problems]) from None
    rules = [Rule.from_plan(r) for r in plan.alert_rules]
    if not rules:
        raise SpecError([source.problem((), "the spec declares no alert rules", "no_rules")])
    return test_file, rules, source


def _renamed(problem: Problem) -> Problem:
    path = problem.path
    if path.startswith("alerts"):
        path = "rules" + path[len("alerts") :]
    return Problem(problem.file, problem.line, problem.column, path, problem.message, problem.type)


def _inline_spec(test_file: RulesTestFile, data: Any, source: SourceMap) -> Any:
    """A spec around inline rules, located in the test file (``rules[i]`` for ``alerts[i]``)."""
    metrics = test_file.metrics
    if metrics is None:
        names = {s.metric for t in test_file.tests for s in t.series}
        metrics = sorted(names)
    columns: dict[str, str] = {"y_true": "y", "timestamp": "t"}
    columns["y_pred" if test_file.task != "binary" else "y_score"] = "p"
    doc = {
        "version": 1,
        "model": "rules-under-test",
        "task": test_file.task,
        "columns": columns,
        "metrics": metrics,
        "windows": test_file.windows or [{"name": "daily", "tumbling": "1d"}],
        "alerts": test_file.rules,
    }
    positions = dict(source.positions)
    keys = dict(source.key_positions)
    for table in (positions, keys):
        for path_, where in list(table.items()):
            if path_ and path_[0] == "rules":
                table[("alerts", *path_[1:])] = where
    return spec_from_mapping(doc, SourceMap(source.file, positions, keys))


def run_case(test: RuleTest, rules: list[Rule]) -> CaseResult:
    result = CaseResult(test.name)
    windows = {r.window for r in rules if r.window is not None}
    default_window = test.window if test.window is not None else _only(windows)
    start = datetime.fromisoformat(test.start.replace("Z", "+00:00")).astimezone(UTC)
    step = timedelta(seconds=duration_seconds(test.step))
    points: list[SeriesPoint] = []
    for series in test.series:
        values = expand(series.values) if isinstance(series.values, str) else series.values
        counts = series.n if isinstance(series.n, list) else [series.n] * len(values)
        window = series.window if "window" in series.model_fields_set else default_window
        for i, value in enumerate(values):
            n = counts[i] if i < len(counts) else counts[-1]
            timed = window is not None
            points.append(
                SeriesPoint(
                    metric=series.metric,
                    window=window,
                    segment=dict(series.segment),
                    value=value,
                    n=n,
                    window_index=i if timed else None,
                    window_start=start + i * step if timed else None,
                    window_end=start + (i + 1) * step if timed else None,
                    run_id=None if timed else f"index-{i}",
                    order=f"{i:09d}",
                )
            )
    outcomes = evaluate_rules(rules, points)
    for expected in test.expect:
        state = _state_at(outcomes, expected.rule, expected.segment, expected.at)
        if state != expected.state:
            result.failures.append(
                f"{expected.rule} {_seg(expected.segment)} at {expected.at}: expected "
                f"{expected.state}, got {state or 'no evaluation'}"
            )
    if test.notifications is not None:
        got = sorted(_notification_keys(outcomes))
        want = sorted(
            (n.rule, _seg(n.segment), _at_text(n.at), n.transition) for n in test.notifications
        )
        if got != want:
            result.failures.append(f"notifications: expected {want}, got {got}")
    return result


def _only(windows: set[str]) -> str | None:
    return next(iter(windows)) if len(windows) == 1 else None


def _seg(segment: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(segment.items())) or "all"


def _at_text(at: int | str) -> str:
    return str(at)


def _matches(ev_point: SeriesPoint, at: int | str) -> bool:
    if isinstance(at, int):
        if ev_point.window_index is not None:
            return ev_point.window_index == at
        return ev_point.run_id == f"index-{at}"
    wanted = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC)
    return ev_point.window_start == wanted


def _state_at(
    outcomes: list[RuleOutcome], rule: str, segment: dict[str, str], at: int | str
) -> str | None:
    for outcome in outcomes:
        if outcome.rule.name == rule and outcome.segment == segment:
            for ev in outcome.evaluations:
                if _matches(ev.point, at):
                    return ev.state.state
    return None


def _notification_keys(outcomes: list[RuleOutcome]) -> list[tuple[str, str, str, str]]:
    keys: list[tuple[str, str, str, str]] = []
    for outcome in outcomes:
        for ev in outcome.evaluations:
            if ev.transition is not None and ev.transition.notifies:
                p = ev.point
                at = str(p.window_index) if p.window_index is not None else str(p.run_id)[6:]
                keys.append((outcome.rule.name, _seg(outcome.segment), at, ev.transition.kind))
    return keys


def junit_xml(path: str, results: list[CaseResult]) -> str:
    """JUnit XML (testsuites > testsuite > testcase, with failure children)."""
    from xml.sax.saxutils import quoteattr

    failures = sum(not r.passed for r in results)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites tests="{len(results)}" failures="{failures}">',
        f'  <testsuite name={quoteattr(path)} tests="{len(results)}" failures="{failures}">',
    ]
    for r in results:
        case = f"    <testcase classname={quoteattr(path)} name={quoteattr(r.name)}"
        if r.passed:
            lines.append(case + "/>")
        else:
            message = "; ".join(r.failures)
            lines.append(case + ">")
            lines.append(f"      <failure message={quoteattr(message)}/>")
            lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines)


__all__ = ["CaseResult", "RulesTestFile", "expand", "junit_xml", "load_test_file", "run_case"]

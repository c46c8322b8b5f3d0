"""Alert rules and notify entries in the spec: compiled into the plan, every bad input located
(exit 2 from ``scoreboard validate``), and ``${VAR}`` interpolation for secret fields only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import scoreboard as sb
from scoreboard.cli import run
from scoreboard.exceptions import PlanError, SpecError
from scoreboard.spec import spec_from_mapping
from scoreboard.spec.loader import load_spec
from scoreboard.spec.secrets import InterpolationError, interpolate
from scoreboard.spec.source import SourceMap

BASE = """\
version: 1
model: churn
task: binary
columns: {y_true: y, y_score: p, timestamp: t}
segments: [region]
windows: [{name: daily, tumbling: 1d}]
metrics: [recall, prevalence, f1]
"""


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + extra)
    return path


def problems_of(tmp_path: Path, extra: str) -> list[tuple[int, int, str, str]]:
    with pytest.raises(SpecError) as info:
        sb.compile(load_spec(write(tmp_path, extra)))
    return [(p.line, p.column, p.type, p.path) for p in info.value.problems]


def test_rules_compile_into_the_plan_and_survive_json(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "alerts:\n  - {name: r, metric: recall, window: daily, "
                                     "below: 0.8, for: 2, significance: 0.05}\n"))  # fmt: skip
    plan = sb.compile(spec)
    (rule,) = plan.alert_rules
    assert (rule["name"], rule["for"], rule["higher_is_better"]) == ("r", 2, True)
    assert rule["denominator"] == {"metric": "prevalence", "complement": False}
    again = sb.Plan.from_json(plan.to_json())
    assert again.alert_rules == plan.alert_rules


def test_editing_a_rule_keeps_the_plan_hash_but_not_the_rules(tmp_path: Path) -> None:
    one = sb.compile(load_spec(write(tmp_path, "alerts: [{name: r, metric: f1, below: 0.8}]\n")))
    two = sb.compile(load_spec(write(tmp_path, "alerts: [{name: r, metric: f1, below: 0.7}]\n")))
    none = sb.compile(load_spec(write(tmp_path, "")))
    assert one.plan_hash == two.plan_hash == none.plan_hash  # history and run ids unchanged
    body = json.loads(one.to_json())
    body["alerts"][0]["below"] = 0.1
    with pytest.raises(PlanError, match="alert rules were modified"):
        sb.Plan.from_json(json.dumps(body))


BAD = [
    (
        "alerts: [{name: r, metric: recal, below: 0.8}]",
        (8, 28, "unknown_metric", "alerts[0].metric"),
    ),
    (
        "alerts: [{name: r, metric: f1, window: hourly, below: 1}]",
        (8, 40, "unknown_window", "alerts[0].window"),
    ),
    (
        "alerts:\n  - {name: r, metric: f1, below: 1}\n  - {name: r, metric: f1, above: 1}",
        (10, 12, "duplicate_rule_name", "alerts[1].name"),
    ),
    (
        "alerts: [{name: r, metric: f1, below: 0.8, band: {k: 2}}]",
        (8, 10, "value_error", "alerts[0]"),
    ),
    (
        "alerts: [{name: r, metric: f1, above: 0.8, resolve_above: 0.9}]",
        (8, 10, "value_error", "alerts[0]"),
    ),
    (
        "alerts: [{name: r, metric: f1, below: 0.8, significance: 0.05}]",
        (8, 58, "significance_needs_counts", "alerts[0].significance"),
    ),
    (
        "alerts: [{name: r, metric: f1, band: {k: 3}}]",
        (8, 38, "rule_needs_window", "alerts[0].band"),
    ),
    ("alerts: [{name: r, metric: f1, below: 1, for: true}]", (8, 47, "int_type", "alerts[0].for")),
    (
        "alerts: [{name: r, metric: f1, below: 1, m_of_n: [4, 3]}]",
        (8, 10, "value_error", "alerts[0]"),
    ),
    ("alerts: [{name: r, metric: f1, below: .nan}]", (8, 39, "finite_number", "alerts[0].below")),
    (
        "alerts: [{name: r, metric: f1, below: 1, annotations: {summary: '{{ valu }}'}}]",
        (8, 65, "unknown_template_name", "alerts[0].annotations.summary"),
    ),
    (
        "alerts: [{name: r, metric: f1, below: 1, on_undefined: zero}]",
        (8, 56, "literal_error", "alerts[0].on_undefined"),
    ),
    ("notify: [{type: stdout}, {type: stdout}]", (8, 33, "duplicate_receiver", "notify[1].type")),
    ("notify: [{type: pager, url: x}]", (8, 10, "union_tag_invalid", "notify[0]")),
    ("notify: [{type: webhook, url: 'ftp://x'}]", (8, 31, "value_error", "notify[0].url")),
]


@pytest.mark.parametrize(
    ("extra", "expected"), BAD, ids=[e[1][2] + str(i) for i, e in enumerate(BAD)]
)
def test_bad_rules_are_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, expected: tuple[Any, ...]
) -> None:
    assert problems_of(tmp_path, extra + "\n") == [expected]
    assert run(["validate", str(tmp_path / "spec.yaml")]) == 2
    line, col = expected[:2]
    assert f"spec.yaml:{line}:{col}: {expected[3]}:" in capsys.readouterr().err


def test_alerts_and_gates_live_side_by_side(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "alerts: [{name: r, metric: f1, below: 0.8}]\n"
                                     "gates: [{metric: f1, min: 0.8}]\n"))  # fmt: skip
    plan = sb.compile(spec)
    assert [r["name"] for r in plan.alert_rules] == ["r"] and len(spec.gates) == 1


# -- ${VAR} interpolation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "env", "want"),
    [
        ("${URL}", {"URL": "http://a"}, "http://a"),
        ("http://${HOST}:9093", {"HOST": "h"}, "http://h:9093"),
        ("${URL:-http://d}", {}, "http://d"),
        ("${URL:-http://d}", {"URL": ""}, "http://d"),
        ("${URL-http://d}", {"URL": ""}, ""),
        ("$$5 and $HOME", {}, "$5 and $HOME"),
        ("${URL:?set it}", {"URL": "x"}, "x"),
    ],
)
def test_interpolation(text: str, env: dict[str, str], want: str) -> None:
    assert interpolate(text, env) == want


@pytest.mark.parametrize(
    ("text", "env", "type_", "message"),
    [
        ("${URL}", {}, "env_var_unset", "environment variable URL is not set"),
        ("${URL}", {"URL": ""}, "env_var_empty", "environment variable URL is empty"),
        ("${URL:?ask ops}", {}, "env_var_unset", "environment variable URL is not set: ask ops"),
        ("${URL", {}, "env_var_syntax", "not closed"),
        ("${1X}", {}, "env_var_syntax", "a reference is"),
    ],
)
def test_interpolation_errors(text: str, env: dict[str, str], type_: str, message: str) -> None:
    with pytest.raises(InterpolationError) as info:
        interpolate(text, env)
    assert info.value.type == type_ and message in str(info.value)


def test_unset_variable_is_located_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOK_URL", raising=False)
    assert problems_of(tmp_path, "notify:\n  - {type: slack, url: '${HOOK_URL}'}\n") == [
        (9, 24, "env_var_unset", "notify[0].url")
    ]


def test_values_are_plain_scalars_and_only_secrets_interpolate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tricky = "http://h/x\nnotify: [{type: stdout}]\n  - ]: {"
    monkeypatch.setenv("HOOK_URL", tricky)
    monkeypatch.setenv("OUT", "nope")
    spec = load_spec(write(tmp_path, "notify:\n  - {type: webhook, url: '${HOOK_URL}'}\n"
                                     "  - {type: file, path: '${OUT}.jsonl'}\n"))  # fmt: skip
    hook, file = spec.notify
    assert hook.url.get_secret_value() == tricky  # type: ignore[union-attr]
    assert file.path == "${OUT}.jsonl"  # type: ignore[union-attr]
    assert len(spec.notify) == 2


def test_in_memory_specs_interpolate_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AM", "http://127.0.0.1:9093")
    doc = yaml.safe_load(BASE)
    doc["notify"] = [{"type": "alertmanager", "url": "${AM}"}]
    spec = spec_from_mapping(doc, SourceMap("<test>"))
    assert spec.notify[0].url.get_secret_value() == "http://127.0.0.1:9093"  # type: ignore[union-attr]


def test_explain_lists_the_rules(tmp_path: Path) -> None:
    plan = sb.compile(load_spec(write(tmp_path, "alerts: [{name: r, metric: f1, window: daily, "
                                                "baseline: 1_ago, max_drop: 0.1}]\n")))  # fmt: skip
    assert plan.explain().splitlines()[-1] == (
        "alert r: f1 over daily (baseline='1_ago', max_drop=0.1), for 1, severity warning"
    )

"""``scoreboard gate``: bounds, baselines, exit codes, JUnit, Markdown, JSON, step summary."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scenario import cli, populated_store, write_data, write_spec
from scoreboard.cli.ci import STEP_SUMMARY_LIMIT, fit_summary
from scoreboard.store import open_store


@pytest.fixture
def env(tmp_path: Path) -> Path:
    populated_store(tmp_path)  # v1 good, v2 degraded; spec.yaml, good.parquet, bad.parquet
    return tmp_path


def gate(env: Path, data: str, version: str, *args: object) -> int:
    return cli(
        "gate", env / "spec.yaml", env / data, "--store", env / "store.db",
        "--model-version", version, *args,
    )  # fmt: skip


def test_degraded_candidate_fails_against_its_baseline(env: Path, capsys) -> None:
    junit = env / "junit.xml"
    assert gate(env, "bad.parquet", "v3", "--baseline", "v1", "--junit", junit) == 1
    err = capsys.readouterr().err
    assert "gate failed" in err
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 3 and suite.get("tests") == "3"
    assert all(c.get("classname") == "scoreboard.gate.fraud" for c in cases)
    failures = [c.find("failure") for c in cases if c.find("failure") is not None]
    assert len(failures) == int(suite.get("failures")) == 2
    messages = [f.get("message") for f in failures]
    assert any(m.startswith("f1 = ") and "max_drop 0.01" in m and "baseline" in m for m in messages)
    assert any(m.startswith("fpr = ") for m in messages)
    assert cases[0].find("failure") is None  # min 0.3 still holds


# Attributes the Jenkins xunit plugin's JUnit schema declares (undeclared ones fail validation).
SCHEMA_ATTRIBUTES = {
    "testsuites": {"name", "time", "tests", "failures", "errors"},
    "testsuite": {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp",
                  "hostname", "id", "package", "file", "log", "url"},
    "testcase": {"name", "time", "classname", "group"},
    "failure": {"type", "message"},
    "error": {"type", "message"},
    "skipped": {"type", "message"},
}  # fmt: skip
REQUIRED_ATTRIBUTES = {
    "testsuite": {"name", "tests", "failures", "errors"},
    "testcase": {"name"},
}


def test_junit_fits_the_jenkins_schema(env: Path) -> None:
    write_spec(env / "spec.yaml", gates=[
        {"metric": "f1", "min": 0.3},  # passes
        {"metric": "f1", "max_drop": 0.01, "segments": "all"},  # fails x 3
        {"metric": "recall", "max_drop": 0.5, "relative": True},  # passes
    ])  # fmt: skip
    junit = env / "junit.xml"
    assert gate(env, "bad.parquet", "v3", "--baseline", "v1", "--junit", junit) == 1
    root = ET.parse(junit).getroot()
    for element in root.iter():
        assert element.tag in SCHEMA_ATTRIBUTES, element.tag
        assert set(element.attrib) <= SCHEMA_ATTRIBUTES[element.tag], element.tag
        assert REQUIRED_ATTRIBUTES.get(element.tag, set()) <= set(element.attrib)
    assert root.get("tests") == "5" and root.get("failures") == "3" and root.get("errors") == "0"
    assert re.fullmatch(r"[0-9]+(\.[0-9]*)?", root.get("time"))
    names = [c.get("name") for c in root.iter("testcase")]
    assert len(set(names)) == len(names)  # one distinct case per gate and segment
    assert "f1 [country=FR] max_drop 0.01 (≥ " in " ".join(names)


def test_the_same_candidate_as_its_baseline_passes(env: Path, capsys) -> None:
    junit = env / "junit.xml"
    assert gate(env, "good.parquet", "v1-again", "--baseline", "v1", "--junit", junit) == 0
    root = ET.parse(junit).getroot()
    assert root.find("testsuite").get("failures") == "0"
    assert not root.findall(".//failure")
    out = capsys.readouterr().out
    assert "gate passed: 3 passed" in out


def test_a_version_gated_against_itself_compares_with_its_previous_run(env: Path) -> None:
    assert gate(env, "good.parquet", "v1", "--baseline", "v1") == 0
    assert gate(env, "bad.parquet", "v1", "--baseline", "v1") == 1


def test_unknown_baseline_is_a_usage_error(env: Path, capsys) -> None:
    assert gate(env, "good.parquet", "v3", "--baseline", "v0") == 2
    err = capsys.readouterr().err
    assert "unknown baseline version 'v0'" in err and "v1, v2" in err
    assert "Traceback" not in err


def test_baseline_without_a_store_is_a_usage_error(tmp_path: Path, capsys) -> None:
    spec = write_spec(tmp_path / "spec.yaml")
    data = write_data(tmp_path / "d.parquet")
    code = cli(
        "gate", spec, data, "--store", tmp_path / "none.db", "--model-version", "v1",
        "--baseline", "v0",
    )  # fmt: skip
    assert code == 2
    assert "unknown baseline version 'v0'" in capsys.readouterr().err


def test_max_drop_gates_need_a_baseline(env: Path, capsys) -> None:
    assert gate(env, "good.parquet", "v3") == 2
    assert "--baseline" in capsys.readouterr().err


def test_spec_without_gates_is_a_usage_error(tmp_path: Path, capsys) -> None:
    spec = write_spec(tmp_path / "spec.yaml", gates=None)
    data = write_data(tmp_path / "d.parquet")
    assert cli("gate", spec, data, "--store", tmp_path / "s.db", "--model-version", "v1") == 2
    assert "declares no gates" in capsys.readouterr().err


def test_gate_on_unknown_metric_is_located(tmp_path: Path, capsys) -> None:
    spec = write_spec(tmp_path / "spec.yaml", gates=[{"metric": "f1", "min": 0.1},
                                                     {"metric": "f_1", "min": 1}])  # fmt: skip
    data = write_data(tmp_path / "d.parquet")
    assert cli("gate", spec, data, "--store", tmp_path / "s.db", "--model-version", "v1") == 2
    err = capsys.readouterr().err
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "f_1" in text)
    assert re.search(
        rf"spec\.yaml:{line}:\d+: gates\[1\]\.metric: gate on unknown metric 'f_1'.*"
        r"did you mean 'f1'\?",
        err,
    ), err
    assert not (tmp_path / "s.db").exists()  # nothing evaluated or stored


def test_gate_needs_a_check(tmp_path: Path, capsys) -> None:
    spec = write_spec(tmp_path / "spec.yaml", gates=[{"metric": "f1"}])
    assert cli("validate", spec) == 2
    assert "gates[0]: a gate needs min, max or max_drop" in capsys.readouterr().err


def test_gate_on_a_per_class_metric_is_refused(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\nmodel: m\ntask: multiclass\ncolumns: {y_true: y, y_pred: p}\n"
        "metrics: [{kind: recall, average: none, name: per_class}]\n"
        "gates: [{metric: per_class, min: 0.5}]\n"
    )
    assert cli("validate", spec) == 2
    assert "spec.yaml:6:18: gates[0].metric: metric 'per_class' has one value per class" in (
        capsys.readouterr().err
    )


def test_absolute_bounds_without_baseline(tmp_path: Path, capsys) -> None:
    gates = [{"metric": "accuracy", "min": 0.99}, {"metric": "fpr", "max": 0.5}]
    spec = write_spec(tmp_path / "spec.yaml", gates=gates)
    data = write_data(tmp_path / "d.parquet")
    args = ("gate", spec, data, "--store", tmp_path / "s.db", "--model-version", "v1")
    assert cli(*args, "--format", "json") == 1
    payload = json.loads(capsys.readouterr().out)
    first, second = payload["gates"]
    assert first == {
        "metric": "accuracy",
        "segment": {},
        "passed": False,
        "status": "failed",
        "value": first["value"],
        "bound": "min 0.99",
        "baseline": None,
        "delta": None,
        "p_value": None,
        "reason": "below min 0.99",
    }
    assert second["passed"] and second["bound"] == "max 0.5"
    assert payload["model_version"] == "v1" and payload["results"]
    assert cli(*args, "--exit-zero") == 0


def test_segments_all_checks_every_segment(env: Path, capsys) -> None:
    write_spec(env / "spec.yaml", gates=[{"metric": "f1", "max_drop": 0.01, "segments": "all"}])
    assert gate(env, "bad.parquet", "v3", "--baseline", "v1", "--format", "json") == 1
    outcomes = json.loads(capsys.readouterr().out)["gates"]
    assert [o["segment"] for o in outcomes] == [{}, {"country": "DE"}, {"country": "FR"}]
    assert not any(o["passed"] for o in outcomes)


def test_segments_all_needs_segments(tmp_path: Path, capsys) -> None:
    spec = write_spec(
        tmp_path / "spec.yaml", segments=None, gates=[{"metric": "f1", "min": 0, "segments": "all"}]
    )
    assert cli("validate", spec) == 2
    assert "gates[0].segments: segments: all needs segments" in capsys.readouterr().err


def test_markdown_is_a_pr_comment(env: Path, capsys) -> None:
    assert gate(env, "bad.parquet", "v3", "--baseline", "v1", "--format", "markdown") == 1
    out = capsys.readouterr().out
    assert out.startswith("### ❌ scoreboard gate: fraud v3 vs v1")
    assert "| ✅ | f1 |" in out and "| ❌ | f1 |" in out and "| ❌ | fpr |" in out
    assert "\\|baseline\\|" in out  # pipes escaped inside cells


def test_step_summary_is_appended(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = env / "summary.md"
    summary.write_text("# earlier step content\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert gate(env, "good.parquet", "v3", "--baseline", "v1") == 0
    text = summary.read_text()
    assert text.startswith("# earlier step content\n### ✅ scoreboard gate: fraud v3 vs v1")


def test_step_summary_is_truncated_under_one_mebibyte(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = env / "summary.md"
    summary.write_text("x" * (STEP_SUMMARY_LIMIT - 300) + "\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert gate(env, "good.parquet", "v3", "--baseline", "v1") == 0
    data = summary.read_bytes()
    assert len(data) <= STEP_SUMMARY_LIMIT
    assert b"truncated" in data


def test_unwritable_step_summary_warns_and_keeps_the_verdict(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(env / "missing" / "summary.md"))
    assert gate(env, "bad.parquet", "v3", "--baseline", "v1") == 1
    assert "warning: cannot append to $GITHUB_STEP_SUMMARY" in capsys.readouterr().err


def test_fit_summary_cuts_at_lines() -> None:
    text = "".join(f"| row {i} |\n" for i in range(100_000))
    cut = fit_summary(text, 4096)
    assert len(cut.encode()) <= 4096
    body, _note = cut.split("\n\n> **truncated**")
    assert body.endswith("|\n") and all(line.startswith("| row") for line in body.splitlines())
    assert fit_summary("short\n", 4096) == "short\n"


def test_bad_junit_destination_is_exit_2(env: Path, capsys) -> None:
    code = gate(env, "good.parquet", "v3", "--baseline", "v1", "--junit", env / "no" / "j.xml")
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot write --junit" in err and "Traceback" not in err
    with open_store(env / "store.db", read_only=True) as db:
        assert "v3" not in db.model_versions("fraud")  # refused before any work


@pytest.mark.parametrize("where", ["dir", "under-a-file"])
def test_unwritable_junit_is_exit_2(env: Path, capsys, where: str) -> None:
    path = env if where == "dir" else env / "spec.yaml" / "j.xml"
    assert gate(env, "good.parquet", "v3", "--baseline", "v1", "--junit", path) == 2
    err = capsys.readouterr().err
    assert ("is a directory" in err or "cannot write --junit" in err) and "Traceback" not in err


def test_plan_change_warns_and_compares_by_name(env: Path, capsys) -> None:
    write_spec(env / "spec.yaml", threshold=0.6)
    assert gate(env, "good.parquet", "v3", "--baseline", "v1", "--format", "json") in (0, 1)
    captured = capsys.readouterr()
    assert "computed with another plan" in captured.err
    gates = json.loads(captured.out)["gates"]
    assert "another plan" in gates[1]["reason"]


def test_baseline_prefers_points_of_the_same_plan(env: Path, capsys) -> None:
    # v1 is evaluated again with another plan (threshold 0.9) after its first run: the gate,
    # run with the original spec, still compares with the v1 run of its own plan.
    other = write_spec(env / "other.yaml", threshold=0.9)
    assert cli("evaluate", other, env / "good.parquet", "--store", env / "store.db",
               "--model-version", "v1", "--output", env / "o.txt") == 0  # fmt: skip
    assert gate(env, "good.parquet", "v3", "--baseline", "v1", "--format", "json") == 0
    captured = capsys.readouterr()
    assert "another plan" not in captured.err
    assert all(g["delta"] in (None, 0.0) for g in json.loads(captured.out)["gates"])

"""``validate``, ``compile`` and ``schema``: exit codes and FILE:LINE:COL locations."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import (
    EXAMPLES,
    LOCATED,
    Invoke,
    binary_table,
    write_parquet,
)

import scoreboard as sb


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_validate_example_specs(invoke: Invoke, name: str) -> None:
    result = invoke("validate", EXAMPLES / name)
    assert result.code == 0, result
    assert "valid" in result.out
    assert result.err == ""


def test_validate_good_spec(invoke: Invoke, spec: Callable[[str], Path]) -> None:
    path = spec("binary")
    result = invoke("validate", path)
    assert result.code == 0, result
    assert result.out.startswith(f"{path}: valid (16 metrics")


# (spec, [(line, col, words in that problem's message)]): every problem, in file order.
BAD_SPECS = [
    pytest.param(
        "broken",
        [(5, 12, ["threshold", "valid number"]), (6, 15, ["metrics[1]", "unknown metric kind"])],
        id="schema-errors",
    ),
    pytest.param(
        "misfit",
        [
            (7, 23, ["metrics[1].kind", "'mse'", "binary task"]),
            (8, 5, ["metrics[2].kind", "'r2'", "binary task"]),
        ],
        id="metric-does-not-fit-task",
    ),
    pytest.param(
        "weighted_ovo",
        [(7, 64, ["metrics[0].multi_class", "one-vs-one ROC AUC", "use multi_class: ovr"])],
        id="weights-refused-for-ovo",
    ),
]


@pytest.mark.parametrize(("name", "problems"), BAD_SPECS)
@pytest.mark.parametrize("verb", ["validate", "compile", "evaluate"])
def test_bad_spec_exit_2_with_locations(
    invoke: Invoke,
    spec: Callable[[str], Path],
    tmp_path: Path,
    name: str,
    problems: list[tuple[int, int, list[str]]],
    verb: str,
) -> None:
    path = spec(name)
    data = write_parquet(tmp_path / "d.parquet", binary_table(50))
    args = [verb, path] + ([data, "--no-store"] if verb == "evaluate" else [])
    result = invoke(*args)
    assert result.code == 2, result
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == len(problems), result
    for line, (row, col, words) in zip(lines, problems, strict=True):
        match = LOCATED.match(line)
        assert match is not None, line
        assert (match["file"], int(match["line"]), int(match["col"])) == (str(path), row, col)
        for word in words:
            assert word in line
    assert "Traceback" not in result.err


@pytest.mark.parametrize("verb", ["validate", "compile", "evaluate"])
def test_missing_spec_file(invoke: Invoke, tmp_path: Path, verb: str) -> None:
    missing = tmp_path / "nope.yaml"
    data = write_parquet(tmp_path / "d.parquet", binary_table(50))
    args = [verb, missing] + ([data] if verb == "evaluate" else [])
    result = invoke(*args)
    assert result.code == 2, result
    assert result.err.startswith(f"{missing}:1:1: ")
    assert "cannot read the spec file" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["validate"], id="no-spec"),
        pytest.param(["validate", "."], id="spec-is-a-folder"),
        pytest.param(["evaluate", "s.yaml"], id="no-data"),
        pytest.param(["evaluate", "s.yaml", "d.parquet", "--chunk-rows", "0"], id="chunk-rows-0"),
        pytest.param(["evaluate", "s.yaml", "d.parquet", "--format", "xml"], id="bad-format"),
        pytest.param(["history", "--bogus"], id="unknown-option"),
        pytest.param(["frobnicate"], id="unknown-verb"),
    ],
)
def test_usage_errors_exit_2(invoke: Invoke, args: list[str]) -> None:
    result = invoke(*args)
    assert result.code == 2, result
    assert "Usage:" in result.err or "Error:" in result.err
    assert "Traceback" not in result.err


# --- compile ----------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_compiled_plan_evaluates_like_the_spec(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, task: str
) -> None:
    from cli_support import TABLES

    spec_path = spec(task)
    plan_path = tmp_path / "plan.json"
    result = invoke("compile", spec_path, "-o", plan_path)
    assert result.code == 0, result
    assert result.out == ""
    assert f"wrote {plan_path}" in result.err

    data = write_parquet(tmp_path / "d.parquet", TABLES[task]())
    loaded = sb.Plan.load(plan_path)
    from_spec = sb.compile(sb.load_spec(spec_path))
    assert loaded == from_spec
    assert loaded.evaluate(str(data)).to_list() == from_spec.evaluate(str(data)).to_list()


def test_compile_to_stdout_is_the_plan_json(invoke: Invoke, spec: Callable[[str], Path]) -> None:
    path = spec("binary")
    result = invoke("compile", path)
    assert result.code == 0, result
    assert sb.Plan.from_json(result.out) == sb.compile(sb.load_spec(path))


def test_compile_explain(invoke: Invoke, spec: Callable[[str], Path]) -> None:
    result = invoke("compile", spec("binary"), "--explain")
    assert result.code == 0, result
    assert "binary_confusion" in result.out
    assert "- f2: fbeta" in result.out


def _tamper_threshold(body: dict[str, object]) -> str:
    body["accumulators"][0]["threshold"] = 0.9  # type: ignore[index]
    return json.dumps(body)


def _drop_metric(body: dict[str, object]) -> str:
    body["metrics"].pop()  # type: ignore[attr-defined]
    return json.dumps(body)


def _future_format(body: dict[str, object]) -> str:
    body["format_version"] = 99
    return json.dumps(body)


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        pytest.param(_tamper_threshold, "plan_hash mismatch", id="edited-threshold"),
        pytest.param(_drop_metric, "plan_hash mismatch", id="dropped-metric"),
        pytest.param(_future_format, "not supported", id="future-format"),
        pytest.param(lambda body: json.dumps(body)[:-20], "invalid JSON", id="truncated"),
        pytest.param(lambda body: "[1, 2]", "format_version", id="not-an-object"),
    ],
)
def test_tampered_plan_is_refused(
    invoke: Invoke,
    spec: Callable[[str], Path],
    tmp_path: Path,
    tamper: Callable[[dict[str, object]], str],
    words: str,
) -> None:
    plan_path = tmp_path / "plan.json"
    assert invoke("compile", spec("binary"), "-o", plan_path).code == 0
    plan_path.write_text(tamper(json.loads(plan_path.read_text())), encoding="utf-8")
    with pytest.raises(sb.PlanError, match=words):
        sb.Plan.load(plan_path)


def test_compile_output_into_missing_directory_is_a_user_error(
    invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path
) -> None:
    result = invoke("compile", spec("binary"), "-o", tmp_path / "missing" / "plan.json")
    assert result.code == 2, result
    assert "internal error" not in result.err


# --- schema -----------------------------------------------------------------------------------


def test_schema_is_json_schema_of_the_spec(invoke: Invoke) -> None:
    result = invoke("schema")
    assert result.code == 0, result
    schema = json.loads(result.out)
    assert {"metrics", "task", "columns", "model", "version"} <= set(schema["properties"])
    assert set(schema["required"]) >= {"version", "model", "task", "columns", "metrics"}
    assert result.err == ""

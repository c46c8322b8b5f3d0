"""The spec loader: every bad input gives located problems, and nothing but SpecError escapes.

Bad fixtures carry their expectations in a comment header, parsed by :func:`expectations`::

    # expect: LINE:COL TYPE [PATH]     one line per problem, in the order reported
    # message: SUBSTRING               must appear in some problem's message
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoreboard.exceptions import Problem, SpecError
from scoreboard.spec import loader
from scoreboard.spec.loader import (
    MAX_BYTES,
    load_spec,
    parse_yaml,
    spec_from_mapping,
    spec_json_schema,
)
from scoreboard.spec.models import METRIC_KINDS, AveragedMetric, FBetaMetric, Spec
from scoreboard.spec.source import SourceMap

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = sorted(FIXTURES.glob("*.good.yaml"))
BAD = sorted(FIXTURES.glob("*.bad.yaml"))

# A valid spec whose line 5 is `threshold: <value>` (the value at column 12).
BASE = """\
version: 1
model: m
task: binary
columns: {{y_true: label, y_score: score}}
threshold: {threshold}
metrics: [f1]
"""

Expected = tuple[int, int, str, str]


def expectations(path: Path) -> tuple[list[Expected], list[str]]:
    """The ``# expect:`` and ``# message:`` lines of a bad fixture."""
    expected: list[Expected] = []
    messages: list[str] = []
    for line in path.read_bytes().decode("latin-1").splitlines():
        if line.startswith("# expect:"):
            where, type_, *rest = line.removeprefix("# expect:").split()
            row, col = where.split(":")
            expected.append((int(row), int(col), type_, rest[0] if rest else ""))
        elif line.startswith("# message:"):
            messages.append(line.removeprefix("# message:").strip())
    return expected, messages


def problems_of(path: Path | str) -> list[Problem]:
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return caught.value.problems


def located(problems: list[Problem]) -> list[Expected]:
    return [(p.line, p.column, p.type, p.path) for p in problems]


def write(tmp_path: Path, content: str | bytes, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


@pytest.fixture(params=["libyaml", "pure-python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with libyaml's composer and with PyYAML's pure-Python one (the fallback)."""
    if request.param == "libyaml":
        if not hasattr(yaml, "CSafeLoader"):
            pytest.skip("PyYAML built without libyaml")
        base = yaml.CSafeLoader
    else:
        base = yaml.SafeLoader
    monkeypatch.setattr(loader, "_Loader", loader._make_loader(base))
    yield str(request.param)


# ------------------------------------------------------------------------------------------------
# Fixtures: bad files give exactly the expected problems; good files load


def test_every_bad_fixture_declares_expectations() -> None:
    assert len(BAD) >= 20
    for path in BAD:
        assert expectations(path)[0], f"{path.name} has no '# expect:' line"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name.removesuffix(".bad.yaml"))
def test_bad_fixture(path: Path, parser: str) -> None:
    expected, messages = expectations(path)
    problems = problems_of(path)
    assert located(problems) == expected
    assert all(p.file == str(path) for p in problems)
    assert problems == sorted(problems, key=lambda p: (p.line, p.column))
    text = "\n".join(p.message for p in problems)
    for message in messages:
        assert message in text


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name.removesuffix(".good.yaml"))
def test_good_fixture_loads(path: Path, parser: str) -> None:
    spec = load_spec(path)
    assert isinstance(spec, Spec)
    assert spec.source.file == str(path)
    assert spec.version == 1


def test_binary_fixture_fields() -> None:
    spec = load_spec(FIXTURES / "binary.good.yaml")
    assert (spec.model, spec.task, spec.threshold, spec.positive_label) == (
        "fraud-detector",
        "binary",
        0.35,
        1,
    )
    assert (spec.columns.y_true, spec.columns.y_score, spec.columns.y_pred) == (
        "label",
        "score",
        None,
    )
    assert spec.columns.extras() == {"latency_ms": "latency_ms"}
    names = [m.metric_name for m in spec.metric_entries]
    assert names == ["accuracy", "f1", "f2", "precision", "recall", "mcc"]
    f2 = spec.metric_entries[2]
    assert isinstance(f2, FBetaMetric) and f2.beta == 2.0
    assert spec.metric_entries[3].zero_division == 0
    # The SourceMap points at values and keys.
    assert spec.source.locate(("metrics", 2)) == (14, 5)
    assert spec.source.locate(("metrics", 2, "beta")) == (14, 25)
    assert spec.source.locate(("threshold",), key=True) == (10, 1)
    assert spec.source.locate(("threshold",)) == (10, 12)


def test_multiclass_fixture_fields() -> None:
    spec = load_spec(FIXTURES / "multiclass.good.yaml")
    assert spec.task == "multiclass"
    assert spec.labels == ["cat", "dog", "bird"]
    assert (spec.zero_division, spec.max_classes) == ("nan", 50)
    averaged = {m.metric_name: m.average for m in spec.metric_entries if hasattr(m, "average")}
    assert averaged == {
        "f1_macro": "macro",
        "precision": "weighted",
        "recall_per_class": "none",
        "f05_micro": "micro",
    }
    assert isinstance(spec.metric_entries[2], AveragedMetric)


def test_regression_fixture_fields() -> None:
    spec = load_spec(FIXTURES / "regression.good.yaml")
    assert (spec.task, spec.columns.y_pred, spec.windows) == ("regression", "predicted_price", [])
    names = [m.metric_name for m in spec.metric_entries]
    assert names == ["mse", "rmse", "mae", "r2", "mape_pct", "max_error"]


def test_bom_and_crlf_are_accepted() -> None:
    path = FIXTURES / "bom_crlf.good.yaml"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the fixture really is BOM + CRLF
    spec = load_spec(path)
    assert spec.model == "crlf-model"
    assert spec.metric_entries[1].metric_name == "f1_crlf"
    assert spec.source.locate(("version",)) == (1, 10)  # the BOM takes no column
    assert spec.source.locate(("metrics", 1, "name")) == (9, 22)


# ------------------------------------------------------------------------------------------------
# C4 and C6: scalar resolution is pinned (see the table in loader's docstring)


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("NO", False),
        ("no", False),
        ("on", True),
        ("Yes", True),
        ("OFF", False),
        ("y", "y"),
        ("1e-3", 0.001),
        ("1E5", 100000.0),
        ("1.0e3", 1000.0),
        ("1.5e-3", 0.0015),
        ("-.5", -0.5),
        ("1.", 1.0),
        ("1.10", 1.1),
        ("0755", "0755"),
        ("00", "00"),
        ("0o17", "0o17"),
        ("1:30", "1:30"),
        ("1:30.5", "1:30.5"),
        ("'1:30'", "1:30"),
        ("2024-01-01", "2024-01-01"),
        ("=", "="),
        ("0x1F", 31),
        ("-0x1f", -31),
        ("0b101", 5),
        ("1_000", 1000),
        ("+12", 12),
        ("-0", 0),
        ("0", 0),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("nan", "nan"),
        ("inf", "inf"),
        ("._", "._"),
        ("0b_", "0b_"),
        ("1e", "1e"),
        ("~", None),
        ("null", None),
        ("", None),
        ("''", ""),
        ('"NO"', "NO"),
        ("!!str 12", "12"),
        ("!!float 1", 1.0),
        ("! 12", 12),  # PyYAML resolves a plain scalar with the "!" tag as if untagged
    ],
)
def test_scalar_resolution_is_pinned(written: str, value: object) -> None:
    data, _ = parse_yaml(f"value: {written}\n")
    assert isinstance(data, dict)
    got = data["value"]
    assert got == value and type(got) is type(value)


def test_nan_resolves_to_a_float() -> None:
    data, _ = parse_yaml("value: .NaN\n")
    assert isinstance(data, dict) and math.isnan(data["value"])


@pytest.mark.parametrize(
    ("threshold", "type_"),
    [
        (".nan", "finite_number"),
        (".inf", "finite_number"),
        ("-.inf", "finite_number"),
        ("1e400", "finite_number"),
        ('"nan"', "float_type"),
        ("nan", "float_type"),
        ('"0.5"', "float_type"),
        ("true", "float_type"),
        ("on", "float_type"),
        ("~", "float_type"),
    ],
)
def test_bad_threshold_is_rejected(tmp_path: Path, threshold: str, type_: str) -> None:
    problems = problems_of(write(tmp_path, BASE.format(threshold=threshold)))
    assert located(problems) == [(5, 12, type_, "threshold")]


@pytest.mark.parametrize(
    ("threshold", "value"), [("1e-3", 0.001), ("1", 1.0), ("0.5", 0.5), ("1_0e-1", 1.0)]
)
def test_good_threshold_is_accepted(tmp_path: Path, threshold: str, value: float) -> None:
    assert load_spec(write(tmp_path, BASE.format(threshold=threshold))).threshold == value


def test_leading_zero_label_stays_a_string() -> None:
    text = BASE.format(threshold=0.5) + "positive_label: 0755\n"
    assert spec_from_mapping(*parse_yaml(text)).positive_label == "0755"


@pytest.mark.parametrize("version", ["true", "1.0"])
def test_version_must_be_the_integer_1(version: str) -> None:
    text = BASE.format(threshold=0.5).replace("version: 1", f"version: {version}")
    with pytest.raises(SpecError):
        spec_from_mapping(*parse_yaml(text))


# ------------------------------------------------------------------------------------------------
# Files: reading, size, encoding


def test_empty_file(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, b""))
    assert located(problems) == [(1, 1, "empty", "")]
    assert problems[0].message == "the spec is empty; expected a mapping"


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("missing.yaml", None, os.strerror(errno.ENOENT)),
        ("a-directory", "dir", os.strerror(errno.EISDIR)),
    ],
)
def test_unreadable_file(tmp_path: Path, name: str, make: str | None, reason: str) -> None:
    path = tmp_path / name
    if make == "dir":
        path.mkdir()
    problems = problems_of(path)
    assert located(problems) == [(1, 1, "unreadable", "")]
    assert reason in problems[0].message


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, b"#" * (MAX_BYTES + 1)))
    assert located(problems) == [(1, 1, "too_large", "")]
    assert "1 MiB" in problems[0].message


def test_file_at_the_size_limit_is_parsed(tmp_path: Path) -> None:
    content = b"#" * (MAX_BYTES - 1) + b"\n"
    assert located(problems_of(write(tmp_path, content))) == [(1, 1, "empty", "")]


def test_non_utf8_after_a_bom_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbfversion: 1\r\nmodel: \xff\r\n")
    assert located(problems_of(path)) == [(2, 8, "encoding", "")]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\ufffe"])
def test_control_character_is_located(tmp_path: Path, char: str) -> None:
    problems = problems_of(write(tmp_path, f"version: 1\nmodel: é{char}\n"))
    assert located(problems) == [(2, 9, "yaml_syntax", "")]
    assert f"U+{ord(char):04X}" in problems[0].message


def test_load_spec_accepts_str_and_pathlike() -> None:
    path = FIXTURES / "binary.good.yaml"
    assert load_spec(str(path)) == load_spec(path)


# ------------------------------------------------------------------------------------------------
# C2, C3: tags, aliases, nesting


@pytest.mark.parametrize(
    ("value", "type_"),
    [
        ("!!binary aGVsbG8=", "yaml_tag"),
        ("!!timestamp 2024-01-01", "yaml_tag"),
        ("!!set {a, b}", "yaml_tag"),
        ("!!omap [a: 1]", "yaml_tag"),
        ("!!python/name:os.system", "yaml_tag"),
        ("!!map [1]", "yaml_tag"),
        ("!!seq {a: 1}", "yaml_tag"),
        ("!local x", "yaml_tag"),
        ("!!int 0755", "yaml_value"),
        ("!!int abc", "yaml_value"),
        ("!!float x", "yaml_value"),
        ("!!bool maybe", "yaml_value"),
        ("1" * 5000, "yaml_value"),
    ],
)
def test_tags_and_values_that_build_nothing(value: str, type_: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_yaml(f"a: b\nvalue: {value}\n")
    assert located(caught.value.problems) == [(2, 8, type_, "value")]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("1: x\n", (1, 1)),
        ("a: 1\nnull: x\n", (2, 1)),
        ("a:\n  yes: x\n", (2, 3)),
        ("? [a, b]\n: x\n", (1, 3)),
        ("{[a]: 1}\n", (1, 2)),
    ],
)
def test_keys_must_be_strings(text: str, where: tuple[int, int]) -> None:
    with pytest.raises(SpecError) as caught:
        parse_yaml(text)
    assert [(p.line, p.column, p.type) for p in caught.value.problems] == [(*where, "key_type")]


def test_billion_laughs_is_rejected_fast() -> None:
    started = time.perf_counter()
    problems = problems_of(FIXTURES / "billion_laughs.bad.yaml")
    assert time.perf_counter() - started < 1.0
    assert [p.type for p in problems] == ["yaml_aliases"]


def test_billion_laughs_is_rejected_in_little_memory() -> None:
    tracemalloc.start()  # slows Python down a lot: timed separately above
    try:
        problems_of(FIXTURES / "billion_laughs.bad.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024


def test_aliases_within_the_limits_are_expanded() -> None:
    text = "base: &b {kind: f1, average: macro}\nm: [" + ", ".join(["*b"] * 100) + "]\n"
    data, source = parse_yaml(text)
    assert isinstance(data, dict) and data["m"][99] == {"kind": "f1", "average": "macro"}
    assert data["m"][0] is not data["m"][1]  # each use is its own value
    assert source.locate(("m", 99, "average")) == (1, 30)  # values point at the anchor's text


@pytest.mark.parametrize("depth", [101, 150, 999, 5000])
def test_deep_nesting_is_refused(depth: int, parser: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_yaml("a: " + "[" * depth + "]" * depth + "\n")
    assert [p.type for p in caught.value.problems] == ["yaml_depth"]


def test_nesting_at_the_limit_is_accepted() -> None:
    data, _ = parse_yaml("a: " + "[" * 99 + "]" * 99 + "\n")
    assert isinstance(data, dict)


def test_tab_hint_and_no_source_echo() -> None:
    with pytest.raises(SpecError) as caught:
        parse_yaml("a:\n\tsecret: SENTINEL-SECRET\n")
    (problem,) = caught.value.problems
    assert "tabs" in problem.message
    assert "SENTINEL-SECRET" not in str(caught.value)


# ------------------------------------------------------------------------------------------------
# Validation: pydantic errors become located problems


def test_spec_from_mapping_without_source() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_mapping({"version": 1, "model": "m", "task": "binary", "metrics": ["f1"]})
    assert [(p.file, p.line, p.column, p.type, p.path) for p in caught.value.problems] == [
        ("<spec>", 1, 1, "missing", "columns")
    ]


@pytest.mark.parametrize("data", [None, [], [1, 2], 42, "spec", {1: 2}, {"metrics": {1: "x"}}])
def test_spec_from_mapping_on_any_data_raises_spec_error(data: object) -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_mapping(data)
    assert all(p.line == 1 and p.column == 1 for p in caught.value.problems)


def test_spec_from_mapping_returns_the_spec_with_its_source() -> None:
    source = SourceMap("x.yaml", {("model",): (3, 8)})
    columns = {"y_true": "a", "y_pred": "p"}
    data = {"version": 1, "model": "m", "task": "regression", "columns": columns, "metrics": ["r2"]}
    spec = spec_from_mapping(data, source)
    assert spec.source is source


def test_union_branches_become_one_problem() -> None:
    text = BASE.format(threshold=0.5) + "labels: [a, 1.5, b]\n"
    with pytest.raises(SpecError) as caught:
        spec_from_mapping(*parse_yaml(text))
    (problem,) = caught.value.problems
    assert located([problem]) == [(7, 13, "int_type", "labels[1]")]
    assert problem.message == "Input should be a valid integer or a valid string"


def test_union_tag_that_is_also_a_key_is_resolved() -> None:
    data = {
        "version": 1,
        "model": "m",
        "task": "binary",
        "columns": {"y_true": "a", "y_score": "s"},
        "metrics": [{"kind": "f1", "f1": {"average": 3}}],
    }
    with pytest.raises(SpecError) as caught:
        spec_from_mapping(data)
    assert [(p.type, p.path) for p in caught.value.problems] == [
        ("extra_forbidden", "metrics[0].f1")
    ]


@pytest.mark.parametrize(
    ("kind", "suggestion"),
    [
        ("f1_scor", "did you mean 'f1'?"),
        ("f1_score", "did you mean 'f1'?"),
        ("precision_score", "did you mean 'precision'?"),
        ("balanced_accuracy_score", "did you mean 'balanced_accuracy'?"),
        ("mean_squared_error", "did you mean 'mse'?"),
        ("Accuracy", "did you mean 'accuracy'?"),
        ("recal", "did you mean 'recall'?"),
        ("zzz", "expected one of: accuracy, specificity"),
    ],
)
def test_unknown_metric_kind_suggests(kind: str, suggestion: str) -> None:
    text = BASE.format(threshold=0.5).replace("metrics: [f1]", f"metrics: [f1, {kind}]")
    with pytest.raises(SpecError) as caught:
        spec_from_mapping(*parse_yaml(text))
    (problem,) = caught.value.problems
    assert located([problem]) == [(6, 15, "unknown_metric_kind", "metrics[1]")]
    assert problem.message.startswith(f"unknown metric kind {kind!r}; {suggestion}")


@pytest.mark.parametrize(
    ("entry", "type_", "path"),
    [
        ("{kind: 5}", "unknown_metric_kind", "metrics[1].kind"),
        ("{name: x}", "union_tag_not_found", "metrics[1]"),
        ("3", "model_attributes_type", "metrics[1]"),
        ("[f1]", "model_attributes_type", "metrics[1]"),
    ],
)
def test_malformed_metric_entries(entry: str, type_: str, path: str) -> None:
    text = BASE.format(threshold=0.5).replace("metrics: [f1]", f"metrics: [f1, {entry}]")
    with pytest.raises(SpecError) as caught:
        spec_from_mapping(*parse_yaml(text))
    assert [(p.type, p.path) for p in caught.value.problems] == [(type_, path)]


def test_unknown_key_without_close_match_lists_the_keys() -> None:
    text = BASE.format(threshold=0.5) + "zzzz: 1\n"
    with pytest.raises(SpecError) as caught:
        spec_from_mapping(*parse_yaml(text))
    (problem,) = caught.value.problems
    assert located([problem]) == [(7, 1, "extra_forbidden", "zzzz")]
    assert problem.message.startswith("unknown key 'zzzz'; expected one of: alerts, ci, gates")
    assert "threshold" not in problem.message  # already present: not suggested


def test_problem_renders_as_file_line_col(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.format(threshold=".nan"))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}:5:12: threshold: Input should be a finite number"
    assert isinstance(caught.value, ValueError)


SENTINEL = "SENTINEL-SECRET"


@pytest.mark.parametrize(
    "line",
    [
        f"threshold: {SENTINEL}",
        f"max_classes: {SENTINEL}",
        f"zero_division: {SENTINEL}",
        f"positive_label: [{SENTINEL}]",
        f"labels: [{SENTINEL}, 1.5]",
        f"labels: {SENTINEL}",
        f"model: [{SENTINEL}]",
        f"windows: {SENTINEL}",
        f"notify: [{{type: slack, url: {SENTINEL}}}]",
        f"task: {SENTINEL}",
        f"extra: {SENTINEL}",
    ],
)
def test_values_are_never_echoed(line: str) -> None:
    text = BASE.format(threshold=0.5).replace("threshold: 0.5\n", "") + line + "\n"
    with pytest.raises(SpecError) as caught:
        spec_from_mapping(*parse_yaml(text))
    assert SENTINEL not in str(caught.value)
    assert all(SENTINEL not in p.message for p in caught.value.problems)


def test_duplicate_secret_key_is_not_echoed() -> None:
    with pytest.raises(SpecError) as caught:
        parse_yaml(f"token: {SENTINEL}-1\ntoken: {SENTINEL}-2\n")
    assert SENTINEL not in str(caught.value)


# ------------------------------------------------------------------------------------------------
# JSON Schema


def test_json_schema() -> None:
    schema = spec_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "scoreboard spec"
    assert schema["additionalProperties"] is False
    assert {"version", "model", "task", "columns", "metrics"} <= set(schema["required"])
    items = schema["properties"]["metrics"]["items"]["anyOf"]
    assert items[0]["enum"] == list(METRIC_KINDS)
    assert "discriminator" in items[1]
    text = json.dumps(schema)
    assert "_source" not in text
    assert "source" not in schema["properties"]


# ------------------------------------------------------------------------------------------------
# C12: whatever the bytes, the loader returns a Spec or raises SpecError


_FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _load_bytes(content: bytes) -> Spec | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(content)
        try:
            return load_spec(path)
        except SpecError as exc:
            assert exc.problems
            assert all(p.line >= 1 and p.column >= 1 for p in exc.problems)
            return None


@_FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_binary(content: bytes) -> None:
    _load_bytes(content)


@_FUZZ
@given(st.text(max_size=2000))
def test_fuzz_text(content: str) -> None:
    _load_bytes(content.encode("utf-8"))


_KEYS = st.sampled_from(
    [
        *Spec.model_fields,
        "treshold",
        "y_true",
        "y_score",
        "y_pred",
        "kind",
        "beta",
        "average",
        "name",
        "<<",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from([*METRIC_KINDS, "binary", "multiclass", "macro", "none", "f1_scor"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=24,
)


@_FUZZ
@given(st.dictionaries(_KEYS, _VALUES, max_size=10))
def test_fuzz_structured(document: dict[str, Any]) -> None:
    _load_bytes(yaml.safe_dump(document).encode())


_GOOD_TEXT = (FIXTURES / "binary.good.yaml").read_text()


@_FUZZ
@given(st.data())
def test_fuzz_mutated_good_spec(data: st.DataObject) -> None:
    text = _GOOD_TEXT
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 8)))
        insert = data.draw(st.sampled_from(["", " ", "\t", "\n", ":", "- ", "*a", "&a ", "{", "x"]))
        text = text[:start] + insert + text[end:]
    _load_bytes(text.encode())

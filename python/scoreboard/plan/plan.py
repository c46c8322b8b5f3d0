"""The compiled plan: frozen, versioned, printable plain data that round-trips through JSON.

A plan is everything the engine needs and nothing more, so a service can load one without the
YAML spec (``Plan.from_json`` / ``Plan.load``). Its ``plan_hash`` identifies what is computed:
accumulator states of different plans never merge.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scoreboard.exceptions import OutputError, PlanError
from scoreboard.windows import Layout

if TYPE_CHECKING:
    from scoreboard.engine import Accumulator, DataInput
    from scoreboard.results import Results

PLAN_FORMAT_VERSION = 1
# Alert rules do not change what is computed: editing a threshold keeps the plan hash (and so the
# run ids and the late-data merges of the history); ``rules_hash`` guards them instead.
_HASHED_OUT = ("plan_hash", "spec_fingerprint", "alerts", "rules_hash")


def canonical_hash(data: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``data`` (sorted keys), minus its own hash fields."""
    payload = {k: v for k, v in data.items() if k not in _HASHED_OUT}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def rules_hash(rules: Any) -> str:
    """sha256 of the canonical JSON of the plan's alert rules."""
    text = json.dumps(rules, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Plan:
    """A compiled spec. Build one with ``scoreboard.compile(spec)`` or ``Plan.from_json``."""

    __slots__ = ("_body", "_json")

    def __init__(self, body: Mapping[str, Any]) -> None:
        self._body: dict[str, Any] = copy.deepcopy(dict(body))
        self._json = json.dumps(self._body, sort_keys=True, separators=(",", ":"))

    # -- identity ---------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return str(self._body["model"])

    @property
    def task(self) -> str:
        return str(self._body["task"])

    @property
    def plan_hash(self) -> str:
        return str(self._body["plan_hash"])

    @property
    def spec_fingerprint(self) -> str:
        return str(self._body.get("spec_fingerprint", self.plan_hash))

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The declared metrics (name, kind, parameters, higher_is_better), in order."""
        return copy.deepcopy(self._body["metrics"])

    @property
    def alert_rules(self) -> list[dict[str, Any]]:
        """The compiled alert rules (plain data; see ``scoreboard.alerts.rules``)."""
        return copy.deepcopy(self._body.get("alerts", []))

    @property
    def list_columns(self) -> dict[str, int]:
        """List columns (per-class scores) and their length: the engine splits each into one
        column per class, named ``name[i]``."""
        return dict(self._body.get("list_columns", {}))

    @property
    def accumulators(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._body["accumulators"])

    @property
    def kernel_columns(self) -> list[str]:
        """The columns the accumulators read, in a stable order, each once."""
        seen: dict[str, None] = {}
        for acc in self._body["accumulators"]:
            for role in ("y_true", "y_pred", "y_score", "column", "weight"):
                if role in acc:
                    seen.setdefault(acc[role], None)
            for column in acc.get("columns", ()):
                seen.setdefault(column, None)
            if "list" in acc:
                seen.setdefault(acc["list"], None)  # expanded per class by the engine
            else:
                for column in acc.get("scores", ()):
                    seen.setdefault(column, None)
        return list(seen)

    @property
    def numeric_columns(self) -> frozenset[str]:
        """Columns that must hold numbers: scores, weights, statistics' columns, and regression
        targets and predictions."""
        out: set[str] = set()
        for acc in self._body["accumulators"]:
            if acc["kind"] in ("regression_moments", "error_sums"):
                out.update((acc["y_true"], acc["y_pred"]))
            elif acc["kind"] == "binary_confusion" and acc.get("threshold") is not None:
                out.add(acc["y_pred"])
            out.update(acc[role] for role in ("y_score", "column", "weight") if role in acc)
            out.update(acc.get("columns", ()))
            out.update(acc.get("scores", ()))
        return frozenset(out)

    @property
    def layout(self) -> Layout:
        """How rows map to cells (windows, segments)."""
        return Layout.from_json(self._body.get("layout"))

    @property
    def input_columns(self) -> list[str]:
        """Every data column the plan reads: the accumulators' and the windows' and segments'."""
        columns = self.kernel_columns
        return columns + [c for c in self.layout.columns if c not in columns]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plan) and other._json == self._json

    def __hash__(self) -> int:
        return hash(self._json)

    def __repr__(self) -> str:
        count = len(self._body["metrics"])
        return f"<Plan {self.model} {self.task} {count} metrics {self.plan_hash[:12]}>"

    # -- serialisation ----------------------------------------------------------------------
    def to_json(self, *, indent: int | None = None) -> str:
        if indent is None:
            return self._json
        return json.dumps(self._body, sort_keys=True, indent=indent)

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._body)

    @classmethod
    def from_json(cls, text: str | bytes) -> Plan:
        """Loads a plan written by ``to_json``; checks its format version and hash."""
        try:
            body = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PlanError(f"not a plan: invalid JSON ({exc})") from None
        if not isinstance(body, dict) or "format_version" not in body:
            raise PlanError("not a plan: expected a JSON object with format_version")
        if body["format_version"] != PLAN_FORMAT_VERSION:
            raise PlanError(
                f"plan format {body['format_version']!r} is not supported "
                f"(this scoreboard reads format {PLAN_FORMAT_VERSION}); recompile the spec"
            )
        if body.get("plan_hash") != canonical_hash(body):
            raise PlanError("the plan was modified after compilation (plan_hash mismatch)")
        if body.get("rules_hash", rules_hash([])) != rules_hash(body.get("alerts", [])):
            raise PlanError("the plan's alert rules were modified after compilation")
        plan = cls(body)
        plan.accumulator()  # let the core validate what it will execute
        return plan

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        try:
            with open(path, "rb") as fh:
                return cls.from_json(fh.read())
        except OSError as exc:
            raise PlanError(f"{os.fspath(path)}: {exc.strerror}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        try:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(self.to_json(indent=2) + "\n")
        except OSError as exc:
            raise OutputError(f"cannot write {os.fspath(path)}: {exc.strerror or exc}") from None

    def explain(self) -> str:
        """A human-readable summary: accumulators and the metrics each one feeds."""
        lines = [
            f"plan {self.plan_hash} (format {PLAN_FORMAT_VERSION})",
            f"model {self.model}, task {self.task}",
        ]
        for index, acc in enumerate(self._body["accumulators"]):
            params = ", ".join(f"{k}={v!r}" for k, v in acc.items() if k != "kind")
            lines.append(f"accumulator {index}: {acc['kind']}({params})")
            for m in self._body["metrics"]:
                if m["accumulator"] == index:
                    extra = "".join(
                        f", {k}={m[k]!r}"
                        for k in (
                            "average",
                            "beta",
                            "threshold",
                            "n_bins",
                            "min_precision",
                            "min_recall",
                            "alpha",
                            "column",
                            "q",
                            "k",
                            "multi_class",
                        )
                        if m.get(k) is not None
                    )
                    lines.append(f"  - {m['name']}: {m['kind']}{extra}")
        layout = self.layout
        for window in layout.windows:
            lines.append(
                f"window {window.name}: {window.span} pane(s) of component "
                f"{window.component} ({window.pane.kind} {window.pane.size}, "
                f"{window.pane.timezone})"
            )
        for columns, top_k in layout.segments:
            lines.append(f"segment {'*'.join(columns)}" + (f" top {top_k}" if top_k else ""))
        for rule in self._body.get("alerts", []):
            condition = ", ".join(
                f"{k}={rule[k]!r}"
                for k in ("below", "above", "baseline", "max_drop", "max_rise", "band")
                if rule.get(k) is not None
            )
            where = f" over {rule['window']}" if rule.get("window") else " per run"
            lines.append(
                f"alert {rule['name']}: {rule['metric']}{where} ({condition}), "
                f"for {rule['for']}, severity {rule['severity']}"
            )
        return "\n".join(lines)

    # -- execution --------------------------------------------------------------------------
    def accumulator(self) -> Accumulator:
        """An empty streaming state: ``update`` chunks into it, ``results`` at any time."""
        from scoreboard.engine import Accumulator

        return Accumulator(self)

    def accumulator_from_bytes(self, blob: bytes) -> Accumulator:
        """A state written by ``Accumulator.to_bytes`` for this same plan."""
        from scoreboard.engine import Accumulator

        return Accumulator.from_bytes(self, blob)

    def evaluate(self, data: DataInput, *, chunk_rows: int = 1 << 20) -> Results:
        """Streams ``data`` (paths, a glob, a folder, a pyarrow Table, a dict of arrays or a
        DataFrame) through the plan and returns the results."""
        from scoreboard.engine import evaluate

        return evaluate(self, data, chunk_rows=chunk_rows)

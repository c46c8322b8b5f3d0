"""Spec -> Plan: resolve every metric, check that it fits the task, and find the accumulators.

A plan needs one accumulator per task: a binary confusion (per threshold), a multiclass confusion
matrix, or regression moments. Every metric reads one of them, so each chunk updates each
accumulator once however many metrics are declared. Problems are reported together, located in the
spec file like loader errors.
"""

from __future__ import annotations

import difflib
from typing import Any

from scoreboard.exceptions import Problem, SpecError
from scoreboard.plan.catalogue import CATALOGUE
from scoreboard.plan.plan import PLAN_FORMAT_VERSION, Plan, canonical_hash
from scoreboard.spec.models import AveragedMetric, FBetaMetric, Spec
from scoreboard.windows import build_layout

Label = int | str


def compile_spec(spec: Spec) -> Plan:
    """Compiles a validated spec into an executable, serialisable plan."""
    problems: list[Problem] = []
    src = spec.source

    accumulator = _accumulator(spec, problems)
    metrics: list[dict[str, Any]] = []
    for index, entry in enumerate(spec.metric_entries):
        info = CATALOGUE[entry.kind]
        where = ("metrics", index)
        if spec.task not in info.tasks:
            fits = ", ".join(sorted(info.tasks))
            problems.append(
                src.problem(
                    (*where, "kind"),
                    f"metric kind {entry.kind!r} does not apply to a {spec.task} task "
                    f"(it applies to: {fits})",
                    "metric_task_mismatch",
                )
            )
            continue
        average = _average(spec, entry, where, problems)
        zero_division = (
            entry.zero_division if entry.zero_division is not None else spec.zero_division
        )
        metric: dict[str, Any] = {
            "name": entry.metric_name,
            "kind": entry.kind,
            "accumulator": 0,
            "average": average,
            "beta": entry.beta if isinstance(entry, FBetaMetric) else None,
            "zero_division": zero_division,
            "higher_is_better": info.higher_is_better,
        }
        metrics.append(metric)

    _check_gates(spec, metrics, problems)
    if problems:
        raise SpecError(sorted(problems, key=lambda p: (p.line, p.column)))

    body: dict[str, Any] = {
        "format_version": PLAN_FORMAT_VERSION,
        "model": spec.model,
        "task": spec.task,
        "max_classes": spec.max_classes,
        "accumulators": [accumulator],
        "metrics": metrics,
        "layout": build_layout(spec).to_json(),
    }
    body["plan_hash"] = canonical_hash(body)
    body["spec_fingerprint"] = canonical_hash(spec.model_dump(mode="json"))
    return Plan(body)


def _check_gates(spec: Spec, metrics: list[dict[str, Any]], problems: list[Problem]) -> None:
    """Each gate names a declared, single-valued metric. Gates stay out of the plan: they judge
    results and do not change what is computed (nor the plan hash)."""
    src = spec.source
    declared = {m["name"]: m for m in metrics}
    every = [e.metric_name for e in spec.metric_entries]
    for index, gate in enumerate(spec.gates):
        where = ("gates", index)
        if gate.metric not in every:
            close = difflib.get_close_matches(gate.metric, every, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                src.problem(
                    (*where, "metric"),
                    f"gate on unknown metric {gate.metric!r}: declared metrics are "
                    f"{', '.join(every)}{hint}",
                    "gate_unknown_metric",
                )
            )
            continue
        metric = declared.get(gate.metric)
        if metric is not None and metric.get("average") == "none":
            problems.append(
                src.problem(
                    (*where, "metric"),
                    f"metric {gate.metric!r} has one value per class (average: none); gate an "
                    "averaged metric instead",
                    "gate_per_class_metric",
                )
            )
        if gate.segments == "all" and not spec.segments:
            problems.append(
                src.problem(
                    (*where, "segments"),
                    "segments: all needs segments declared in the spec",
                    "gate_without_segments",
                )
            )


def _accumulator(spec: Spec, problems: list[Problem]) -> dict[str, Any]:
    cols = spec.columns
    if spec.task == "regression":
        return {"kind": "regression_moments", "y_true": cols.y_true, "y_pred": cols.y_pred}
    if spec.task == "multiclass":
        return {
            "kind": "multiclass_confusion",
            "y_true": cols.y_true,
            "y_pred": cols.y_pred,
            "labels": _multiclass_labels(spec, problems),
        }
    positive, negative = _binary_labels(spec, problems)
    scored = cols.y_score is not None
    return {
        "kind": "binary_confusion",
        "y_true": cols.y_true,
        "y_pred": cols.y_score if scored else cols.y_pred,
        "positive": positive,
        "negative": negative,
        "threshold": spec.threshold if scored else None,
    }


def _binary_labels(spec: Spec, problems: list[Problem]) -> tuple[Label, Label]:
    """(positive, negative). Default: labels [0, 1] with 1 positive."""
    src = spec.source
    labels = spec.labels
    positive = spec.positive_label
    if labels is None:
        if positive is None or positive == 1:
            return 1, 0
        problems.append(
            src.problem(
                ("positive_label",),
                f"positive_label {positive!r} needs the two classes declared: "
                f"labels: [<negative>, {positive!r}]",
                "binary_labels_required",
            )
        )
        return positive, 0
    if len(labels) != 2 or labels[0] == labels[1]:
        problems.append(
            src.problem(
                ("labels",), "a binary task has exactly two distinct labels", "binary_labels"
            )
        )
        return 1, 0
    if positive is None:
        positive = labels[1]
    if positive not in labels:
        problems.append(
            src.problem(
                ("positive_label",),
                f"positive_label {positive!r} is not one of labels {labels!r}",
                "positive_label_not_in_labels",
            )
        )
        return labels[1], labels[0]
    negative = labels[0] if positive == labels[1] else labels[1]
    return positive, negative


def _multiclass_labels(spec: Spec, problems: list[Problem]) -> list[Label] | None:
    if spec.positive_label is not None:
        problems.append(
            spec.source.problem(
                ("positive_label",),
                "positive_label applies to binary tasks only",
                "positive_label_not_binary",
            )
        )
    if spec.labels is None:
        return None
    if len(set(spec.labels)) != len(spec.labels):
        problems.append(spec.source.problem(("labels",), "labels repeat", "duplicate_labels"))
    if len(spec.labels) > spec.max_classes:
        problems.append(
            spec.source.problem(
                ("labels",),
                f"more labels than max_classes ({spec.max_classes})",
                "too_many_classes",
            )
        )
    return list(spec.labels)


def _average(spec: Spec, entry: Any, where: tuple[str, int], problems: list[Problem]) -> str | None:
    if not isinstance(entry, AveragedMetric | FBetaMetric):
        return None
    if spec.task == "binary":
        if entry.average not in (None, "binary"):
            problems.append(
                spec.source.problem(
                    (*where, "average"),
                    f"average {entry.average!r} is for multiclass tasks; a binary task scores "
                    "the positive class (average: binary)",
                    "average_task_mismatch",
                )
            )
        return None
    if entry.average == "binary":
        problems.append(
            spec.source.problem(
                (*where, "average"),
                "average 'binary' needs a binary task; use micro, macro, weighted or none",
                "average_task_mismatch",
            )
        )
        return "macro"
    return entry.average or "macro"

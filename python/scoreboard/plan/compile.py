"""Spec -> Plan: resolve every metric, check that it fits the task, and find the accumulators.

A plan needs one accumulator per task: a binary confusion (per threshold), a multiclass confusion
matrix, or regression moments. Every metric reads one of them, so each chunk updates each
accumulator once however many metrics are declared. Problems are reported together, located in the
spec file like loader errors.
"""

from __future__ import annotations

import difflib
from typing import Any

from scoreboard.alerts.templates import VARIABLES, unknown_names
from scoreboard.exceptions import Problem, SpecError
from scoreboard.plan.catalogue import CATALOGUE
from scoreboard.plan.plan import PLAN_FORMAT_VERSION, Plan, canonical_hash, rules_hash
from scoreboard.spec.models import BASELINE_AGO, AveragedMetric, FBetaMetric, Spec
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

    rules = _alert_rules(spec, metrics, problems)
    _check_notify(spec, problems)
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
    body["alerts"] = rules
    body["rules_hash"] = rules_hash(rules)
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


# Metrics whose value is a proportion, and of what: ``n`` (all rows of the window and segment), or
# n times another metric of the same result set (``prevalence`` = positives / n, ``1 -
# prevalence`` = negatives / n...). A significance test needs those counts (RELIABILITY A7).
_PROPORTIONS: dict[str, tuple[str | None, bool]] = {
    "accuracy": (None, False),
    "prevalence": (None, False),
    "predicted_positive_rate": (None, False),
    "recall": ("prevalence", False),
    "fnr": ("prevalence", False),
    "specificity": ("prevalence", True),
    "fpr": ("prevalence", True),
    "precision": ("predicted_positive_rate", False),
    "npv": ("predicted_positive_rate", True),
}


def _alert_rules(
    spec: Spec, metrics: list[dict[str, Any]], problems: list[Problem]
) -> list[dict[str, Any]]:
    """Each rule checked against the declared metrics and windows, as plain data for the plan."""
    src = spec.source
    by_name = {m["name"]: m for m in metrics}
    windows = {w.name: w for w in spec.windows}
    seen: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    for index, rule in enumerate(spec.alerts):
        where = ("alerts", index)
        if rule.name in seen:
            problems.append(
                src.problem(
                    (*where, "name"),
                    f"alert rule name {rule.name!r} is already used by alerts[{seen[rule.name]}]",
                    "duplicate_rule_name",
                )
            )
        seen.setdefault(rule.name, index)
        metric = by_name.get(rule.metric)
        if metric is None:
            declared = ", ".join(by_name) or "none"
            problems.append(
                src.problem(
                    (*where, "metric"),
                    f"alert rule {rule.name!r} reads metric {rule.metric!r}, which the spec does "
                    f"not declare (declared: {declared})",
                    "unknown_metric",
                )
            )
            continue
        if rule.window is not None and rule.window not in windows:
            declared = ", ".join(windows) or "none"
            problems.append(
                src.problem(
                    (*where, "window"),
                    f"alert rule {rule.name!r} reads window {rule.window!r}, which the spec does "
                    f"not declare (declared: {declared})",
                    "unknown_window",
                )
            )
            continue
        needs_window = rule.band is not None or (
            rule.baseline is not None and BASELINE_AGO.match(rule.baseline) is not None
        )
        if needs_window and rule.window is None:
            what = "band" if rule.band is not None else f"baseline {rule.baseline!r}"
            problems.append(
                src.problem(
                    (*where, "band" if rule.band is not None else "baseline"),
                    f"a {what} compares window instances: give the rule a window",
                    "rule_needs_window",
                )
            )
            continue
        denominator = _denominator(spec, rule.metric, metric, by_name)
        if rule.significance is not None:
            if rule.band is not None:
                problems.append(
                    src.problem(
                        (*where, "significance"),
                        "significance applies to threshold and baseline rules (a band is "
                        "already a statistical limit: set its k)",
                        "significance_not_applicable",
                    )
                )
            elif isinstance(denominator, str):
                problems.append(
                    src.problem((*where, "significance"), denominator, "significance_needs_counts")
                )
        for section in ("labels", "annotations"):
            for key, template in getattr(rule, section).items():
                unknown = unknown_names(template)
                if unknown:
                    problems.append(
                        src.problem(
                            (*where, section, key),
                            f"unknown template name {unknown[0]!r}; a template may use: "
                            + ", ".join(VARIABLES),
                            "unknown_template_name",
                        )
                    )
        body = rule.model_dump(mode="json", by_alias=True)
        body.update(
            metric_kind=metric["kind"],
            higher_is_better=metric["higher_is_better"],
            denominator=denominator if isinstance(denominator, dict) else None,
        )
        rules.append(body)
    return rules


def _denominator(
    spec: Spec, name: str, metric: dict[str, Any], by_name: dict[str, dict[str, Any]]
) -> dict[str, Any] | str:
    """How to count the trials behind a proportion metric, or why it cannot be done."""
    kind = metric["kind"]
    supported = ", ".join(_PROPORTIONS)
    if kind not in _PROPORTIONS or metric.get("average") not in (None, "micro"):
        return (
            f"significance needs a metric that is a proportion with known counts ({supported}); "
            f"{name!r} is {kind!r}"
        )
    companion, complement = _PROPORTIONS[kind]
    if kind != "accuracy" and spec.task != "binary":
        return f"significance on {kind!r} needs a binary task"
    if companion is None:
        return {"metric": None, "complement": False}
    found = [m["name"] for m in by_name.values() if m["kind"] == companion]
    if not found:
        return (
            f"significance on {kind!r} needs its denominator: declare the metric {companion!r} "
            f"too (its value times n counts the {'negatives' if complement else 'trials'})"
        )
    return {"metric": found[0], "complement": complement}


def _check_notify(spec: Spec, problems: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for index, entry in enumerate(spec.notify):
        name = entry.receiver
        if name in seen:
            problems.append(
                spec.source.problem(
                    ("notify", index, "name" if entry.name else "type"),
                    f"receiver name {name!r} is already used by notify[{seen[name]}]; give each "
                    "entry of the same type a distinct name",
                    "duplicate_receiver",
                )
            )
        seen.setdefault(name, index)

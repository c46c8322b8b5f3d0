"""Spec -> Plan: resolve every metric, check that it fits the task, and find the accumulators.

Label metrics read one accumulator per task: a binary confusion (per threshold), a multiclass
confusion matrix, or regression moments. Threshold-free binary metrics (roc_auc, pr_auc, log_loss,
brier, ece, recall_at_precision, precision_at_recall) share ONE exact score state per
(y_true, y_score); a metric that asks for ``bins`` reads a score histogram of that many bins
instead (one per bin count). Equal accumulators are emitted once, so each chunk updates each
accumulator once however many metrics are declared. Problems are reported together, located in
the spec file like loader errors.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from scoreboard.alerts.templates import VARIABLES, unknown_names
from scoreboard.exceptions import Problem, SpecError
from scoreboard.plan.catalogue import CATALOGUE
from scoreboard.plan.plan import PLAN_FORMAT_VERSION, Plan, canonical_hash, rules_hash
from scoreboard.spec.models import (
    BASELINE_AGO,
    AveragedMetric,
    ColumnMetric,
    CurveMetric,
    EceMetric,
    FBetaMetric,
    PinballMetric,
    PrecisionAtRecallMetric,
    QuantileMetric,
    RecallAtPrecisionMetric,
    Spec,
    TopKMetric,
)
from scoreboard.windows import build_layout

Label = int | str


def compile_spec(spec: Spec) -> Plan:
    """Compiles a validated spec into an executable, serialisable plan."""
    problems: list[Problem] = []
    src = spec.source

    accumulators = _Accumulators()
    labels = _binary_labels(spec, problems) if spec.task == "binary" else (1, 0)
    # Checked once, whichever metrics read them.
    classes = _multiclass_labels(spec, problems) if spec.task == "multiclass" else None
    unit_interval = any(CATALOGUE[e.kind].probabilities for e in spec.metric_entries)
    alphas = sorted({e.alpha for e in spec.metric_entries if isinstance(e, PinballMetric)})
    log_errors = any(e.kind == "msle" for e in spec.metric_entries)
    thresholds = sorted(
        {t for e in spec.metric_entries if (t := getattr(e, "threshold", None)) is not None}
    )
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
        has_threshold = getattr(entry, "threshold", None) is not None
        if spec.columns.weight is not None and (refusal := _weights_problem(spec, entry)):
            key, message = refusal
            problems.append(src.problem((*where, key), message, "weights_not_supported"))
            continue
        if has_threshold and (problem := _threshold_problem(spec, info.reads)) is not None:
            problems.append(src.problem((*where, "threshold"), problem, "threshold_not_applicable"))
            continue
        if spec.task == "multiclass" and info.reads == "labels" and spec.columns.y_pred is None:
            problems.append(
                src.problem(
                    (*where, "kind"),
                    f"metric kind {entry.kind!r} reads predicted labels: declare columns.y_pred",
                    "metric_needs_predictions",
                )
            )
            continue
        if info.reads == "scores" and spec.task == "multiclass":
            if spec.columns.y_score is None:
                problems.append(
                    src.problem(
                        (*where, "kind"),
                        f"metric kind {entry.kind!r} reads scores: declare columns.y_score "
                        "(per-class probabilities)",
                        "metric_needs_scores",
                    )
                )
                continue
            if isinstance(entry, CurveMetric) and entry.bins is not None:
                problems.append(
                    src.problem(
                        (*where, "bins"),
                        "binned roc_auc is for binary tasks",
                        "bins_not_multiclass",
                    )
                )
                continue
            accumulator = accumulators.index(_class_scores_accumulator(spec))
        elif info.reads == "scores":
            if spec.columns.y_score is None:
                problems.append(
                    src.problem(
                        (*where, "kind"),
                        f"metric kind {entry.kind!r} reads scores: declare columns.y_score "
                        "(the probability of the positive class)",
                        "metric_needs_scores",
                    )
                )
                continue
            acc = _score_accumulator(spec, entry, labels, unit_interval)
            accumulator = accumulators.index(_weighted(spec, acc))
        elif info.reads == "errors":
            accumulator = accumulators.index(
                {
                    "kind": "error_sums",
                    "y_true": spec.columns.y_true,
                    "y_pred": spec.columns.y_pred,
                    "log": log_errors,
                    "alphas": alphas,
                    **_weight_field(spec),
                }
            )
        elif info.reads == "sample":
            columns = [spec.columns.y_true, spec.columns.y_pred]
            accumulator = accumulators.index(
                {"kind": "exact_values", "columns": columns, **_weight_field(spec)}
            )
        elif isinstance(entry, QuantileMetric):
            column = _resolve_column(spec, entry.column)
            acc = (
                {"kind": "exact_values", "columns": [column]}
                if entry.exact
                else {"kind": "quantile_sketch", "column": column}
            )
            accumulator = accumulators.index(acc)
        elif isinstance(entry, ColumnMetric):
            column = _resolve_column(spec, entry.column)
            accumulator = accumulators.index({"kind": "column_stats", "column": column})
        elif has_threshold:
            accumulator = accumulators.index(
                {
                    "kind": "threshold_confusion",
                    "y_true": spec.columns.y_true,
                    "y_score": spec.columns.y_score,
                    "positive": labels[0],
                    "negative": labels[1],
                    "thresholds": thresholds,
                    **_weight_field(spec),
                }
            )
        else:
            accumulator = accumulators.index(_weighted(spec, _accumulator(spec, labels, classes)))
        average = _average(spec, entry, where, problems)
        own_zd = getattr(entry, "zero_division", None)
        zero_division = own_zd if own_zd is not None else spec.zero_division
        metric: dict[str, Any] = {
            "name": entry.metric_name,
            "kind": entry.kind,
            "accumulator": accumulator,
            "average": average,
            "beta": entry.beta if isinstance(entry, FBetaMetric) else None,
            "zero_division": zero_division,
            "higher_is_better": info.higher_is_better,
        }
        # Kind-specific parameters appear only where they apply (older plans keep their hash).
        if isinstance(entry, EceMetric):
            metric["n_bins"] = entry.n_bins
        if isinstance(entry, RecallAtPrecisionMetric):
            metric["min_precision"] = entry.precision
        if isinstance(entry, PrecisionAtRecallMetric):
            metric["min_recall"] = entry.recall
        if isinstance(entry, TopKMetric):
            metric["k"] = entry.k
        if isinstance(entry, CurveMetric) and spec.task == "multiclass":
            metric["average"] = entry.average or "macro"
            metric["multi_class"] = entry.multi_class or "ovr"
        elif isinstance(entry, CurveMetric) and (entry.average or entry.multi_class):
            problems.append(
                src.problem(
                    (*where, "multi_class" if entry.multi_class else "average"),
                    "average and multi_class apply to multiclass roc_auc",
                    "average_task_mismatch",
                )
            )
        if isinstance(entry, PinballMetric):
            metric["alpha"] = entry.alpha
        if isinstance(entry, ColumnMetric | QuantileMetric):
            metric["column"] = entry.column
        if isinstance(entry, QuantileMetric):
            metric["q"] = entry.q
        if has_threshold:
            metric["threshold"] = getattr(entry, "threshold", None)
        ci = _ci(spec, entry, metric, accumulators.items[accumulator], where, problems)
        if ci is not None:
            metric["ci"] = ci
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
        "accumulators": accumulators.items,
        "metrics": metrics,
        "layout": build_layout(spec).to_json(),
    }
    lists = _list_columns(spec)
    if lists and any(a["kind"] == "class_scores" for a in accumulators.items):
        body["list_columns"] = lists
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


class _Accumulators:
    """The plan's accumulators, each emitted once however many metrics read it."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._keys: dict[str, int] = {}

    def index(self, acc: dict[str, Any]) -> int:
        key = json.dumps(acc, sort_keys=True)
        if key not in self._keys:
            self._keys[key] = len(self.items)
            self.items.append(acc)
        return self._keys[key]


def _list_columns(spec: Spec) -> dict[str, int]:
    """A multiclass y_score naming ONE column holds a list of per-class scores per row."""
    if spec.task == "multiclass" and isinstance(spec.columns.y_score, str):
        return {spec.columns.y_score: len(spec.labels or ())}
    return {}


def _class_scores_accumulator(spec: Spec) -> dict[str, Any]:
    score = spec.columns.y_score
    labels = list(spec.labels or ())
    if isinstance(score, str):
        names = [f"{score}[{i}]" for i in range(len(labels))]
    else:
        names = list(score or ())
    entries = spec.metric_entries
    grouped = any(
        e.kind == "roc_auc"
        and (config := e.ci if e.ci is not None else spec.ci) is not None
        and config.method in ("auto", "delong")
        for e in entries
    )
    return {
        "kind": "class_scores",
        "y_true": spec.columns.y_true,
        "scores": names,
        "labels": labels,
        "ks": sorted({e.k for e in entries if isinstance(e, TopKMetric)}),
        "curves": any(e.kind == "roc_auc" for e in entries),
        "unit_interval": any(e.kind == "log_loss" for e in entries),
        **({"list": score} if isinstance(score, str) else {}),
        **_weight_field(spec),
        # Rows split into groups for the grouped DeLong interval of multiclass roc_auc.
        **({"interval_groups": INTERVAL_GROUPS} if grouped else {}),
    }


# Row groups of the grouped DeLong interval of multiclass roc_auc: its variance estimate has
# INTERVAL_GROUPS - 1 degrees of freedom (a t quantile of 31 degrees is 4% wider than the normal).
INTERVAL_GROUPS = 32

# Metrics with a Wilson interval: a proportion of a count table's cells.
_WILSON = frozenset(
    {
        "accuracy",
        "precision",
        "recall",
        "specificity",
        "npv",
        "fpr",
        "fnr",
        "jaccard",
        "prevalence",
        "predicted_positive_rate",
    }
)
_BOOTSTRAPPED = frozenset({"f1", "fbeta", "mcc", "balanced_accuracy", "cohen_kappa"})
# Multiclass confusion metrics: every one is a function of the K x K table (bootstrapped).
_MULTICLASS_TABLE = frozenset(
    {
        "accuracy",
        "precision",
        "recall",
        "f1",
        "fbeta",
        "jaccard",
        "balanced_accuracy",
        "mcc",
        "cohen_kappa",
    }
)
# Means of per-row losses: a normal (CLT) interval from the state's second moments.
_REGRESSION_MEANS = frozenset({"mse", "rmse", "mae", "mean_error"})


# States that take a weight column and have intervals for only some of their metrics with it.
_WEIGHTED_WITH_SOME_CI = frozenset({"class_scores", "exact_values"})


def _ci_methods(metric: dict[str, Any], acc: dict[str, Any]) -> list[str]:
    """The interval methods a metric supports, preferred first (``auto`` picks the first).
    Per-class values (``average: none``) and the states not listed have none yet."""
    kind, acc_kind = metric["kind"], acc["kind"]
    if metric.get("average") == "none":
        return []
    if "weight" in acc and acc_kind in _WEIGHTED_WITH_SOME_CI:
        # Weighted class scores keep squared weights: log loss and top-k accuracy; one-vs-rest
        # roc_auc its grouped weighted DeLong.
        if acc_kind == "class_scores" and kind in ("log_loss", "top_k_accuracy"):
            return ["normal"] if kind == "log_loss" else ["wilson"]
        if acc_kind == "class_scores" and kind == "roc_auc" and acc.get("interval_groups"):
            return ["delong"]
        # The exact values keep each row's weight: the delta method and weighted percentiles.
        if acc_kind == "exact_values" and kind == "d2_absolute_error":
            return ["normal"]
        if acc_kind == "exact_values" and kind in ("median_absolute_error", "quantile"):
            return ["order_statistic"]
        return []
    # With weights these states keep rows, Σ w and Σ w² per cell: Wilson at the effective sample
    # size, the weighted (moment-matched) bootstrap.
    if acc_kind in ("binary_confusion", "weighted_binary_confusion", "threshold_confusion"):
        if kind in _WILSON:
            return ["wilson", "bootstrap"]
        if kind in _BOOTSTRAPPED:
            return ["bootstrap"]
    if acc_kind == "multiclass_confusion" and kind in _MULTICLASS_TABLE:
        return ["wilson", "bootstrap"] if kind == "accuracy" else ["bootstrap"]
    if acc_kind in ("score_runs", "score_histogram"):
        if kind == "roc_auc":
            return ["delong", "bootstrap"]
        if kind in ("log_loss", "brier") and acc_kind == "score_runs":
            return ["normal", "bootstrap"]
        return ["bootstrap"]
    if acc_kind == "weighted_score_runs":
        # Rows, Σ w and Σ w² per distinct score and class: weighted DeLong, weighted means and
        # the weighted (moment-matched) bootstrap.
        if kind == "roc_auc":
            return ["delong", "bootstrap"]
        if kind in ("log_loss", "brier"):
            return ["normal", "bootstrap"]
        return ["bootstrap"]
    if acc_kind in ("regression_moments", "weighted_regression_moments"):
        if kind in _REGRESSION_MEANS:
            return ["normal"]
        # MAPE from its second moment, R² and explained variance by the delta method from the
        # joint moments of (error, target) (with weights: under the squared weights).
        if kind in ("mape", "r2", "explained_variance"):
            return ["normal"]
        return []
    if acc_kind == "error_sums":
        return ["normal"]  # msle, mean_pinball_loss: (weighted) means of per-row losses
    if acc_kind == "column_stats" and kind == "mean":
        return ["normal"]
    if acc_kind == "exact_values" and kind == "d2_absolute_error":
        return ["normal"]  # delta method over the exact values (unweighted)
    if acc_kind in ("exact_values", "quantile_sketch") and kind in (
        "quantile",
        "median_absolute_error",
    ):
        return ["order_statistic"]
    if acc_kind == "class_scores":
        if kind == "roc_auc" and acc.get("interval_groups"):
            return ["delong"]
        if kind == "top_k_accuracy":
            return ["wilson"]
        if kind == "log_loss":
            return ["normal"]
    return []


def _ci(
    spec: Spec,
    entry: Any,
    metric: dict[str, Any],
    acc: dict[str, Any],
    where: tuple[str, int],
    problems: list[Problem],
) -> dict[str, Any] | None:
    """The resolved interval request of a metric: its own ``ci``, else the spec-wide one (which
    silently skips metrics without a method)."""
    config = entry.ci if entry.ci is not None else spec.ci
    if config is None:
        return None
    methods = _ci_methods(metric, acc)
    method = methods[0] if config.method == "auto" and methods else config.method
    if method not in methods:
        if entry.ci is not None:
            available = ", ".join(methods) or "none yet"
            problems.append(
                spec.source.problem(
                    (*where, "ci"),
                    f"no {config.method} confidence interval for {entry.kind} here "
                    f"(available: {available})",
                    "ci_not_supported",
                )
            )
        return None
    return {
        "level": config.level,
        "method": method,
        "resamples": config.resamples,
        "seed": config.seed,
    }


def _weight_field(spec: Spec) -> dict[str, str]:
    """``{"weight": column}`` when the spec declares sample weights (accumulators that take them
    as a field rather than as a weighted kind)."""
    return {} if spec.columns.weight is None else {"weight": spec.columns.weight}


_WEIGHTED_KINDS = {
    "binary_confusion": "weighted_binary_confusion",
    "score_runs": "weighted_score_runs",
    "regression_moments": "weighted_regression_moments",
}


def _weighted(spec: Spec, acc: dict[str, Any]) -> dict[str, Any]:
    """The weighted variant of an accumulator when the spec declares a weight column."""
    weight = spec.columns.weight
    if weight is None or acc["kind"] not in _WEIGHTED_KINDS:
        return acc
    return {**acc, "kind": _WEIGHTED_KINDS[acc["kind"]], "weight": weight}


def _weights_problem(spec: Spec, entry: Any) -> tuple[str, str] | None:
    """The metric's key at fault and why this metric cannot honour the weight column, or None.
    Column statistics and quantiles are unweighted by definition (scikit-learn has no such
    metrics)."""
    if spec.task == "multiclass" and isinstance(entry, CurveMetric) and entry.multi_class == "ovo":
        # scikit-learn's own refusal (roc_auc_score raises ValueError); the choice at fault is
        # `multi_class: ovo`, so the problem points there, not at `kind`.
        return (
            "multi_class",
            "sample_weight is not supported for multiclass one-vs-one ROC AUC (as in "
            "scikit-learn); use multi_class: ovr",
        )
    return None


def _resolve_column(spec: Spec, name: str) -> str:
    """A role (y_true, y_pred, y_score, timestamp) or a ``columns:`` key names its data column;
    anything else is a data column name."""
    cols = spec.columns
    score = cols.y_score if isinstance(cols.y_score, str) else None
    roles = {"y_true": cols.y_true, "y_pred": cols.y_pred, "y_score": score}
    roles["timestamp"] = cols.timestamp
    mapped = roles.get(name) or cols.extras().get(name)
    return mapped if mapped is not None else name


def _threshold_problem(spec: Spec, reads: str) -> str | None:
    """Why ``threshold:`` does not apply to a metric, or None."""
    if reads == "scores":
        return "threshold applies to threshold metrics; this metric reads the scores themselves"
    if spec.task != "binary":
        return "threshold applies to binary tasks only"
    if spec.columns.y_score is None:
        return "threshold needs columns.y_score (scores to threshold), not hard labels in y_pred"
    return None


def _score_accumulator(
    spec: Spec, entry: Any, labels: tuple[Label, Label], unit_interval: bool
) -> dict[str, Any]:
    positive, negative = labels
    common = {
        "y_true": spec.columns.y_true,
        "y_score": spec.columns.y_score,
        "positive": positive,
        "negative": negative,
    }
    if isinstance(entry, CurveMetric) and entry.bins is not None:
        return {"kind": "score_histogram", **common, "bins": entry.bins, **_weight_field(spec)}
    return {"kind": "score_runs", **common, "unit_interval": unit_interval}


def _accumulator(
    spec: Spec, labels: tuple[Label, Label], classes: list[Label] | None
) -> dict[str, Any]:
    """The task's label accumulator: binary confusion, multiclass confusion or moments."""
    cols = spec.columns
    if spec.task == "regression":
        return {"kind": "regression_moments", "y_true": cols.y_true, "y_pred": cols.y_pred}
    if spec.task == "multiclass":
        return {
            "kind": "multiclass_confusion",
            "y_true": cols.y_true,
            "y_pred": cols.y_pred,
            "labels": classes,
            **_weight_field(spec),
        }
    positive, negative = labels
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

"""The metric catalogue: which kinds exist, which tasks they fit, which accumulator feeds them.

One row per kind. The compiler reads this table; nothing else in Python needs to know a metric's
family. Finalization formulas live in Rust (``rust/scoreboard-core/src/metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass

from scoreboard.spec.models import Task


@dataclass(frozen=True)
class MetricInfo:
    kind: str
    tasks: frozenset[Task]
    higher_is_better: bool
    averaged: bool = False  # takes `average` (per-class scores averaged) in multiclass tasks
    summary: str = ""
    # "labels": the task's confusion counts or regression moments; "scores": the binary score
    # state (exact score runs, or a score histogram when the metric asks for `bins`); "errors":
    # extra regression loss sums; "sample": every (y_true, y_pred) pair, O(n); "column": a numeric
    # column's count, sum, min and max.
    reads: str = "labels"
    # Reads y_score as probabilities: scores outside [0, 1] are a data error.
    probabilities: bool = False


def _info(
    kind: str,
    tasks: str,
    higher: bool,
    summary: str,
    *,
    averaged: bool = False,
    reads: str = "labels",
    probabilities: bool = False,
) -> MetricInfo:
    task_set = frozenset(t for t in ("binary", "multiclass", "regression") if t[0] in tasks)
    return MetricInfo(
        kind,
        task_set,  # type: ignore[arg-type]
        higher,
        averaged,
        summary,
        reads,
        probabilities,
    )


# tasks: b = binary, m = multiclass, r = regression
CATALOGUE: dict[str, MetricInfo] = {
    m.kind: m
    for m in (
        _info("accuracy", "bm", True, "fraction of correct predictions"),
        _info("precision", "bm", True, "tp / (tp + fp)", averaged=True),
        _info("recall", "bm", True, "tp / (tp + fn)", averaged=True),
        _info("f1", "bm", True, "harmonic mean of precision and recall", averaged=True),
        _info("fbeta", "bm", True, "F-beta score (beta weighs recall)", averaged=True),
        _info("jaccard", "bm", True, "tp / (tp + fp + fn)", averaged=True),
        _info("specificity", "b", True, "tn / (tn + fp): recall of the negative class"),
        _info("npv", "b", True, "tn / (tn + fn): negative predictive value"),
        _info("fpr", "b", False, "fp / (fp + tn): false positive rate"),
        _info("fnr", "b", False, "fn / (fn + tp): false negative rate"),
        _info("balanced_accuracy", "bm", True, "mean recall over the classes present"),
        _info("mcc", "bm", True, "Matthews correlation coefficient"),
        _info("cohen_kappa", "bm", True, "Cohen's kappa between y_true and y_pred"),
        _info("prevalence", "b", False, "fraction of true positives in the data"),
        _info("predicted_positive_rate", "b", False, "fraction predicted positive"),
        _info("count", "bmr", True, "number of rows"),
        _info("mse", "r", False, "mean squared error"),
        _info("rmse", "r", False, "root mean squared error"),
        _info("mae", "r", False, "mean absolute error"),
        _info("mape", "r", False, "mean absolute percentage error (as scikit-learn)"),
        _info("r2", "r", True, "coefficient of determination"),
        _info("explained_variance", "r", True, "1 - Var(error) / Var(y_true)"),
        _info("max_error", "r", False, "largest absolute error"),
        _info("mean_error", "r", False, "mean of y_pred - y_true (bias)"),
        _info(
            "roc_auc",
            "bm",
            True,
            "area under the ROC curve (exact or binned; ovr/ovo)",
            reads="scores",
        ),
        _info(
            "pr_auc",
            "b",
            True,
            "average precision (step-wise PR AUC, as scikit-learn)",
            reads="scores",
        ),
        _info(
            "log_loss",
            "bm",
            False,
            "mean cross-entropy of y_score (clipped as scikit-learn)",
            reads="scores",
            probabilities=True,
        ),
        _info(
            "brier",
            "b",
            False,
            "mean squared error of y_score (brier_score_loss)",
            reads="scores",
            probabilities=True,
        ),
        _info(
            "ece",
            "b",
            False,
            "expected calibration error over n_bins equal-width bins",
            reads="scores",
            probabilities=True,
        ),
        _info(
            "recall_at_precision",
            "b",
            True,
            "best recall at a threshold with precision >= p",
            reads="scores",
        ),
        _info(
            "precision_at_recall",
            "b",
            True,
            "best precision at a threshold with recall >= r",
            reads="scores",
        ),
        _info(
            "top_k_accuracy",
            "m",
            True,
            "true class among the k highest scores",
            reads="scores",
        ),
        _info("msle", "r", False, "mean squared logarithmic error", reads="errors"),
        _info(
            "mean_pinball_loss",
            "r",
            False,
            "mean pinball (quantile) loss at alpha",
            reads="errors",
        ),
        _info(
            "median_absolute_error",
            "r",
            False,
            "median of the absolute errors (exact, O(n) state)",
            reads="sample",
        ),
        _info(
            "d2_absolute_error",
            "r",
            True,
            "fraction of absolute error explained (O(n) state)",
            reads="sample",
        ),
        _info("mean", "bmr", False, "mean of a numeric column", reads="column"),
        _info("min", "bmr", False, "smallest value of a numeric column", reads="column"),
        _info("max", "bmr", False, "largest value of a numeric column", reads="column"),
        _info("sum", "bmr", False, "sum of a numeric column (compensated)", reads="column"),
        _info(
            "quantile",
            "bmr",
            False,
            "q quantile of a numeric column (1% sketch, or exact)",
            reads="column",
        ),
    )
}

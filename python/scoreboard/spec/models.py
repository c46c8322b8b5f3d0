"""Pydantic v2 models of the spec file (``version: 1``).

The models only say what a well-formed document looks like; whether a metric fits the task is the
compiler's business (``scoreboard.plan.compile``), which reports through the same located
problems. Every model forbids unknown fields, rejects NaN/inf and coerces nothing (``strict``): a
``true`` where a number is expected is an error, not a 1.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from scoreboard.spec.source import EMPTY_SOURCE, SourceMap

Task = Literal["binary", "multiclass", "regression"]
Label = StrictInt | StrictStr
# scikit-learn's zero_division: "warn" behaves as 0 and records a reason; "nan" gives null.
ZeroDivision = Literal["warn", "nan", 0, 1]
Average = Literal["binary", "micro", "macro", "weighted", "none"]
MetricName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$", max_length=128)]
ColumnName = Annotated[str, Field(min_length=1, max_length=1024)]


class StrictModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        frozen=True,
        hide_input_in_errors=True,
    )


class Columns(StrictModel):
    """Which data column plays which role. Extra keys name any other numeric column."""

    model_config = ConfigDict(extra="allow")

    y_true: ColumnName
    y_score: ColumnName | list[ColumnName] | None = Field(
        default=None,
        description="Binary: the probability (or score) of the positive class. Multiclass: one "
        "list column of per-class probabilities, or a list of one column per class, in the "
        "order of `labels`.",
    )
    y_pred: ColumnName | None = Field(
        default=None, description="Hard predicted labels (classification) or values (regression)."
    )
    timestamp: ColumnName | None = Field(default=None, description="Event time, for windows.")
    weight: ColumnName | None = Field(
        default=None,
        description="Sample weights (finite, >= 0): scikit-learn's sample_weight for the metrics "
        "it weights. Counts become sums of weights; n stays the row count.",
    )

    @model_validator(mode="after")
    def _extras_are_column_names(self) -> Columns:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"column {key!r} must name a data column (a non-empty string)")
        return self

    def extras(self) -> dict[str, str]:
        return {k: str(v) for k, v in (self.model_extra or {}).items()}


class CiConfig(StrictModel):
    """A confidence interval reported with a value (``ci_low``/``ci_high``).

    ``auto`` picks Wilson for proportions (accuracy, precision, recall, specificity, npv, fpr,
    fnr, jaccard, prevalence, predicted_positive_rate), DeLong for roc_auc, and a percentile
    bootstrap of the confusion table (multinomial resampling at finalize time, fixed seed) for
    the other binary threshold metrics (f1, fbeta, mcc, balanced_accuracy, cohen_kappa).
    """

    level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    method: Literal["auto", "wilson", "bootstrap", "delong"] = "auto"
    resamples: Annotated[StrictInt, Field(ge=100, le=100_000)] = 1000
    seed: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] = 0


class _MetricBase(StrictModel):
    name: MetricName | None = Field(default=None, description="Defaults to the kind.")
    ci: CiConfig | None = Field(
        default=None, description="Confidence interval for this metric (overrides spec-wide ci)."
    )

    @property
    def metric_name(self) -> str:
        return self.name or str(getattr(self, "kind"))  # noqa: B009 - every subclass has kind


class PlainMetric(_MetricBase):
    """A metric with no parameters beyond its name."""

    kind: Literal[
        "accuracy",
        "specificity",
        "npv",
        "fpr",
        "fnr",
        "balanced_accuracy",
        "mcc",
        "cohen_kappa",
        "prevalence",
        "predicted_positive_rate",
        "count",
        "mse",
        "rmse",
        "mae",
        "mape",
        "r2",
        "explained_variance",
        "max_error",
        "mean_error",
        "log_loss",
        "brier",
        "msle",
        "median_absolute_error",
        "d2_absolute_error",
    ]
    zero_division: ZeroDivision | None = Field(
        default=None, description="Overrides the spec-wide zero_division for this metric."
    )
    threshold: float | None = Field(
        default=None,
        description="Binary tasks with y_score: this metric's own threshold (y_score >= "
        "threshold predicts positive) instead of the spec-wide one.",
    )


class AveragedMetric(_MetricBase):
    """precision, recall, f1, jaccard: binary, or averaged over classes (multiclass)."""

    kind: Literal["precision", "recall", "f1", "jaccard"]
    average: Average | None = Field(
        default=None,
        description="binary tasks: 'binary' (default); multiclass: micro | macro (default) | "
        "weighted | none (one result per class).",
    )
    zero_division: ZeroDivision | None = None
    threshold: float | None = Field(
        default=None,
        description="Binary tasks with y_score: this metric's own threshold (y_score >= "
        "threshold predicts positive) instead of the spec-wide one.",
    )


class FBetaMetric(_MetricBase):
    kind: Literal["fbeta"]
    beta: Annotated[float, Field(gt=0)]
    average: Average | None = None
    zero_division: ZeroDivision | None = None
    threshold: float | None = Field(
        default=None,
        description="Binary tasks with y_score: this metric's own threshold (y_score >= "
        "threshold predicts positive) instead of the spec-wide one.",
    )


Bins = Annotated[StrictInt, Field(ge=2, le=16_777_216)]
Fraction = Annotated[float, Field(gt=0, le=1)]


class CurveMetric(_MetricBase):
    """roc_auc and pr_auc (average precision) of a binary task, from y_score.

    Exact by default (equal to scikit-learn, ties included; the state grows with the number of
    distinct scores). ``bins: B`` counts scores in B equal-width bins of [0, 1] instead (bounded
    memory; scores outside [0, 1] are an error) and reports ``error_bound``: the exact value lies
    within ``value ± error_bound``.
    """

    kind: Literal["roc_auc", "pr_auc"]
    bins: Bins | None = Field(
        default=None, description="Approximate with this many equal-width score bins."
    )
    average: Literal["macro", "weighted"] | None = Field(
        default=None, description="Multiclass roc_auc: macro (default) or prevalence-weighted."
    )
    multi_class: Literal["ovr", "ovo"] | None = Field(
        default=None, description="Multiclass roc_auc: one-vs-rest (default) or one-vs-one."
    )
    zero_division: ZeroDivision | None = Field(
        default=None, description="pr_auc without positives (scikit-learn gives 0 and warns)."
    )


class EceMetric(_MetricBase):
    """Expected calibration error of y_score over ``n_bins`` equal-width bins of [0, 1]:
    ``sum over non-empty bins b of (n_b / n) * |mean(y_true in b) - mean(y_score in b)|``, with
    y_true 1 for the positive label. Bins are scikit-learn's ``calibration_curve`` bins (inner
    edges ``i / n_bins``; a score equal to an edge falls in the lower bin), so the value equals
    ``sum(counts / n * abs(prob_true - prob_pred))`` of ``calibration_curve(strategy="uniform")``.
    Scores must lie in [0, 1]. With weights, counts and means are weighted."""

    kind: Literal["ece"]
    n_bins: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 10


class RecallAtPrecisionMetric(_MetricBase):
    """The highest recall among operating points (one per distinct score) whose precision is at
    least ``precision``; null with reason ``unattainable`` if none is."""

    kind: Literal["recall_at_precision"]
    precision: Fraction
    zero_division: ZeroDivision | None = None


class PrecisionAtRecallMetric(_MetricBase):
    """The highest precision among operating points whose recall is at least ``recall``."""

    kind: Literal["precision_at_recall"]
    recall: Fraction
    zero_division: ZeroDivision | None = None


class TopKMetric(_MetricBase):
    """Multiclass: the fraction of rows whose true class is among the ``k`` highest scores (ties
    broken as scikit-learn's top_k_accuracy_score)."""

    kind: Literal["top_k_accuracy"]
    k: Annotated[StrictInt, Field(ge=1, le=100_000)] = 2


class PinballMetric(_MetricBase):
    """scikit-learn's mean_pinball_loss at quantile level ``alpha``."""

    kind: Literal["mean_pinball_loss"]
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.5


class ColumnMetric(_MetricBase):
    """A statistic of any numeric column: ``column`` is a role (y_true, y_pred, y_score), a key
    of ``columns:`` (``latency_ms: latency_ms``), or a data column name. Sums are compensated."""

    kind: Literal["mean", "min", "max", "sum"]
    column: ColumnName


class QuantileMetric(_MetricBase):
    """The ``q`` quantile of any numeric column (``column`` as for ``mean``). By default from a
    mergeable relative-error sketch: within 1% (relative) of the exact value, bounded memory.
    ``exact: true`` keeps every value (O(n) memory) and equals numpy's default (linear)
    ``np.quantile``."""

    kind: Literal["quantile"]
    column: ColumnName
    q: Annotated[float, Field(ge=0, le=1)]
    exact: StrictBool = False


AnyMetric = (
    PlainMetric
    | TopKMetric
    | QuantileMetric
    | PinballMetric
    | ColumnMetric
    | AveragedMetric
    | FBetaMetric
    | CurveMetric
    | EceMetric
    | RecallAtPrecisionMetric
    | PrecisionAtRecallMetric
)
MetricEntry = Annotated[AnyMetric, Field(discriminator="kind")]

# Every metric kind the spec accepts, in catalogue order.
METRIC_KINDS: tuple[str, ...] = (
    *PlainMetric.model_fields["kind"].annotation.__args__,  # type: ignore[union-attr]
    *AveragedMetric.model_fields["kind"].annotation.__args__,  # type: ignore[union-attr]
    "fbeta",
    "roc_auc",
    "pr_auc",
    "ece",
    "recall_at_precision",
    "precision_at_recall",
    "mean_pinball_loss",
    "mean",
    "min",
    "max",
    "sum",
    "quantile",
    "top_k_accuracy",
)

# Sections that later work will implement. Declaring one is an error until then: a spec that asks
# for alerts must never run silently without them.
NOT_SUPPORTED_YET = ("windows", "segments", "alerts", "gates", "notify")


class Spec(StrictModel):
    """A whole spec file."""

    version: Annotated[Literal[1], Field(description="Spec format version.")]
    model: Annotated[str, Field(min_length=1, max_length=256)] = Field(
        description="Model name; results and history are kept per model."
    )
    task: Task
    columns: Columns
    positive_label: Label | None = Field(
        default=None, description="Binary tasks: the positive class (default 1)."
    )
    threshold: Annotated[float, Field(description="y_score >= threshold predicts positive.")] = 0.5
    labels: list[Label] | None = Field(
        default=None,
        description="The classes, in order. Binary default: [0, 1]. Multiclass default: every "
        "label seen in the data, sorted as scikit-learn sorts them.",
    )
    zero_division: ZeroDivision = "warn"
    ci: CiConfig | None = Field(
        default=None,
        description="Confidence intervals for every metric that has a method (others get none).",
    )
    max_classes: Annotated[int, Field(ge=2, le=100_000)] = 1000
    metrics: Annotated[list[MetricEntry], Field(min_length=1)]
    windows: Any = Field(default=None, description="Not supported yet.")
    segments: Any = Field(default=None, description="Not supported yet.")
    alerts: Any = Field(default=None, description="Not supported yet.")
    gates: Any = Field(default=None, description="Not supported yet.")
    notify: Any = Field(default=None, description="Not supported yet.")

    _source: SourceMap = PrivateAttr(default=EMPTY_SOURCE)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_an_int(cls, value: Any) -> Any:
        """``Literal[1]`` alone accepts ``true`` and ``1.0`` (they equal 1)."""
        if type(value) is not int:
            raise ValueError("version must be the integer 1")
        return value

    @field_validator("metrics", mode="before")
    @classmethod
    def _bare_kinds(cls, value: Any) -> Any:
        """A bare string is a metric kind with default parameters."""
        if isinstance(value, list):
            return [{"kind": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator(*NOT_SUPPORTED_YET)
    @classmethod
    def _not_supported_yet(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("this section is not supported yet by this version of scoreboard")
        return value

    @model_validator(mode="after")
    def _columns_fit_task(self) -> Spec:
        cols = self.columns
        if self.task == "regression":
            if cols.y_pred is None:
                raise ValueError("a regression task needs columns.y_pred")
            if cols.y_score is not None:
                raise ValueError("a regression task takes columns.y_pred, not columns.y_score")
        elif self.task == "binary" and (cols.y_pred is None) == (cols.y_score is None):
            raise ValueError(
                "a binary task needs exactly one of columns.y_score and columns.y_pred"
            )
        elif self.task == "binary" and isinstance(cols.y_score, list):
            raise ValueError("a binary task takes one y_score column (the positive class)")
        elif self.task == "multiclass":
            if cols.y_pred is None and cols.y_score is None:
                raise ValueError("a multiclass task needs columns.y_pred, columns.y_score or both")
            if cols.y_score is not None and self.labels is None:
                raise ValueError(
                    "multiclass scores need labels: the classes, in the order of the scores"
                )
            if isinstance(cols.y_score, list) and len(cols.y_score) != len(self.labels or ()):
                raise ValueError("columns.y_score lists one column per label")
        names = [m.metric_name for m in self.metric_entries]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metric names must be unique; repeated: {', '.join(dupes)}")
        return self

    @property
    def metric_entries(self) -> list[AnyMetric]:
        return list(self.metrics)

    @property
    def source(self) -> SourceMap:
        return self._source

    def with_source(self, source: SourceMap) -> Spec:
        self._source = source
        return self

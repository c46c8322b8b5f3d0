"""Pydantic v2 models of the spec file (``version: 1``).

The models only say what a well-formed document looks like; whether a metric fits the task is the
compiler's business (``scoreboard.plan.compile``), which reports through the same located
problems. Every model forbids unknown fields, rejects NaN/inf and coerces nothing (``strict``): a
``true`` where a number is expected is an error, not a 1.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
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

    ``auto`` picks Wilson for proportions (binary accuracy, precision, recall, specificity, npv,
    fpr, fnr, jaccard, prevalence, predicted_positive_rate, also with sample weights; multiclass
    accuracy; top_k_accuracy), DeLong for roc_auc, ``normal`` (CLT) for means of per-row losses
    (log_loss, brier, mse, rmse, mae, mean_error, column mean), ``order_statistic`` for quantiles
    and median_absolute_error, and a percentile bootstrap of the count table (multinomial
    resampling at finalize time, fixed seed) for the other confusion metrics (binary and
    multiclass) and the other score metrics (pr_auc, ece, recall_at_precision,
    precision_at_recall). docs/metrics.md lists the methods of each metric.
    """

    level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    method: Literal["auto", "wilson", "bootstrap", "delong", "normal", "order_statistic"] = "auto"
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


DURATION_PATTERN = r"^([1-9][0-9]*)(s|m|h|d|w|mo)$"
Duration = Annotated[
    str,
    Field(
        pattern=DURATION_PATTERN,
        description="A duration: 30s, 5m, 1h, 1d, 1w, or 1mo (calendar months from the 1st).",
    ),
]


class Sliding(StrictModel):
    size: Duration
    step: Duration


class Window(StrictModel):
    """A time window over the timestamp column (tumbling or sliding) or a count of rows."""

    name: MetricName
    tumbling: Duration | None = None
    sliding: Sliding | None = None
    rows: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Windows of this many rows, in file order."
    )
    timezone: str = Field(
        default="UTC", description="IANA zone that days, weeks and months follow."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Window:
        kinds = [k for k in ("tumbling", "sliding", "rows") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a window is exactly one of tumbling, sliding or rows")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {self.timezone!r} (an IANA name such as 'Europe/Paris')"
            ) from None
        if self.sliding is not None:
            size, step = self.sliding.size, self.sliding.step
            if "mo" in (size[-2:], step[-2:]):
                raise ValueError("sliding windows take s, m, h, d or w durations")
            if duration_seconds(size) % duration_seconds(step):
                raise ValueError(f"sliding size {size} must be a multiple of its step {step}")
        return self


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(text: str) -> int:
    """Seconds in a fixed-size duration (``1d`` -> 86400); months have no fixed size."""
    match = re.fullmatch(DURATION_PATTERN, text)
    if match is None or match.group(2) == "mo":
        raise ValueError(f"{text!r} is not a fixed-size duration")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class Segment(StrictModel):
    """Report metrics per value of a column, or per combination of several (a cross)."""

    columns: Annotated[list[ColumnName], Field(min_length=1, max_length=4)]
    top_k: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Keep the k largest values (by rows); the rest are reported as '(other)'.",
    )

    @property
    def name(self) -> str:
        return "*".join(self.columns)


class Gate(StrictModel):
    """A release check on one metric over all rows (``window: null``): fixed bounds, or at most
    a given drop against a baseline model version in the store.

    A drop is measured in the metric's bad direction (``higher_is_better``): for a lower-is-better
    metric (mae, fpr...) a rise in value is a drop in quality.
    """

    metric: MetricName = Field(description="Name of a declared metric.")
    min: float | None = Field(default=None, description="Fail when the value is below.")
    max: float | None = Field(default=None, description="Fail when the value is above.")
    max_drop: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        description="Fail when quality drops by more than this against --baseline (absolute, "
        "or a fraction of |baseline| when relative).",
    )
    relative: bool = Field(default=False, description="max_drop is a fraction of |baseline|.")
    significance: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        default=None,
        description="Fail a max_drop gate only when the difference is significant at this level "
        "(two-proportion z-test where the metric allows it).",
    )
    segments: Literal["all"] | None = Field(
        default=None, description="'all' checks every segment value too (default: overall only)."
    )

    @model_validator(mode="after")
    def _one_kind_of_check(self) -> Gate:
        bounds = self.min is not None or self.max is not None
        if bounds and self.max_drop is not None:
            raise ValueError(
                "a gate is either fixed bounds (min, max) or a baseline check (max_drop), not both"
            )
        if not bounds and self.max_drop is None:
            raise ValueError("a gate needs min, max or max_drop")
        if self.max_drop is None and (self.relative or self.significance is not None):
            raise ValueError("relative and significance apply to max_drop gates only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    @property
    def needs_baseline(self) -> bool:
        return self.max_drop is not None


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

# ----------------------------------------------------------------------------------------------
# Alert rules (RELIABILITY §2.5; Prometheus rules semantics, counted in window instances)

Number = float  # strict: an int is accepted, a bool refused
BASELINE_AGO = re.compile(r"^([1-9][0-9]{0,5})_ago$")
LabelName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
OnUndefined = Literal["ok", "alerting", "insufficient_data", "keep_last"]


class Band(StrictModel):
    """Limits from the rule's own history: mean ± k·std (or an EWMA) of the last ``lookback``
    window instances before the one evaluated (NannyML-style)."""

    method: Literal["mean_std", "ewma"] = "mean_std"
    k: Annotated[Number, Field(gt=0, le=100)] = 3.0
    lookback: Annotated[int, Field(ge=2, le=10_000)] = 14
    alpha: Annotated[Number, Field(gt=0, le=1)] = Field(
        default=0.25, description="EWMA smoothing factor (method: ewma)."
    )


class AlertRule(StrictModel):
    """One alert rule, evaluated per (window instance, segment) in event-time order."""

    model_config = ConfigDict(populate_by_name=True)

    name: MetricName
    metric: MetricName
    window: MetricName | None = Field(
        default=None, description="A declared window; none: the all-rows result of each run."
    )
    below: Number | None = Field(default=None, description="Breach when value < below.")
    above: Number | None = Field(default=None, description="Breach when value > above.")
    baseline: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        default=None,
        description="previous (the model version recorded before this one), a version name, or "
        "N_ago (the same segment N window instances earlier).",
    )
    max_drop: Annotated[Number, Field(ge=0)] | None = Field(
        default=None, description="Breach when the value is worse than the baseline by more."
    )
    max_rise: Annotated[Number, Field(ge=0)] | None = Field(
        default=None, description="Breach when the value rises above the baseline by more."
    )
    relative: StrictBool = Field(
        default=False, description="max_drop / max_rise as a fraction of |baseline|."
    )
    band: Band | None = None
    significance: Annotated[Number, Field(gt=0, lt=1)] | None = Field(
        default=None, description="Breach only when the change is significant at this level."
    )
    for_: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=1, alias="for", description="Consecutive breaching windows before firing."
    )
    keep_firing_for: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=0, description="Windows an alert keeps firing after its condition clears."
    )
    resolve_above: Number | None = Field(
        default=None, description="Hysteresis for `below`: resolve only at or above this."
    )
    resolve_below: Number | None = Field(
        default=None, description="Hysteresis for `above`: resolve only at or below this."
    )
    m_of_n: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1, le=1000)]] | None = Field(
        default=None, description="Breach when m of the last n windows breach."
    )
    min_samples: Annotated[int, Field(ge=0)] = Field(
        default=0,
        description="Fewer rows than this: insufficient_data (neither fires nor resolves).",
    )
    on_undefined: OnUndefined = Field(
        default="insufficient_data", description="What an undefined (null) value means."
    )
    severity: Annotated[str, Field(min_length=1, max_length=64)] = "warning"
    labels: dict[LabelName, Annotated[str, Field(max_length=1024)]] = Field(default_factory=dict)
    annotations: dict[LabelName, Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=dict
    )

    @field_validator("m_of_n", mode="before")
    @classmethod
    def _m_of_n_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _one_condition(self) -> AlertRule:
        kinds = [
            kind
            for kind, present in (
                ("threshold", self.below is not None or self.above is not None),
                ("baseline", self.baseline is not None),
                ("band", self.band is not None),
            )
            if present
        ]
        if len(kinds) != 1:
            raise ValueError(
                "an alert rule needs exactly one condition: below/above (a threshold), "
                "baseline with max_drop/max_rise, or band"
            )
        if (self.max_drop is not None or self.max_rise is not None) != (self.baseline is not None):
            raise ValueError("baseline and max_drop / max_rise go together")
        if self.relative and self.baseline is None:
            raise ValueError("relative applies to baseline rules")
        if self.below is not None and self.above is not None and self.below > self.above:
            raise ValueError("below must not exceed above (a value outside [below, above])")
        if self.resolve_above is not None and (
            self.below is None or self.resolve_above < self.below
        ):
            raise ValueError("resolve_above needs below, and must be >= below")
        if self.resolve_below is not None and (
            self.above is None or self.resolve_below > self.above
        ):
            raise ValueError("resolve_below needs above, and must be <= above")
        if self.m_of_n is not None and self.m_of_n[0] > self.m_of_n[1]:
            raise ValueError("m_of_n is [m, n] with m <= n")
        return self

    @property
    def condition(self) -> str:
        if self.band is not None:
            return "band"
        return "baseline" if self.baseline is not None else "threshold"


# ----------------------------------------------------------------------------------------------
# Notifiers. Fields typed SecretStr take ${ENV_VAR} interpolation (and only they do).


class _NotifierBase(StrictModel):
    name: MetricName | None = Field(default=None, description="Defaults to the type.")
    send_resolved: StrictBool = True
    timeout: Annotated[Number, Field(gt=0, le=300)] = Field(
        default=10.0, description="Seconds allowed for one delivery."
    )

    @property
    def receiver(self) -> str:
        return self.name or str(getattr(self, "type"))  # noqa: B009 - every subclass has type


class StdoutNotifier(_NotifierBase):
    type: Literal["stdout"]


class LogNotifier(_NotifierBase):
    type: Literal["log"]
    level: Literal["info", "warning", "error"] = "warning"


class FileNotifier(_NotifierBase):
    type: Literal["file"]
    path: Annotated[str, Field(min_length=1, max_length=4096)]


def _http_url(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    if not re.match(r"^https?://[^/\s]+", text):
        raise ValueError("must be an http:// or https:// URL (the value is not shown)")
    return value


class WebhookNotifier(_NotifierBase):
    type: Literal["webhook"]
    url: SecretStr
    token: SecretStr | None = Field(default=None, description="Sent as a Bearer token.")

    _check_url = field_validator("url")(_http_url)


class SlackNotifier(_NotifierBase):
    type: Literal["slack"]
    url: SecretStr

    _check_url = field_validator("url")(_http_url)


class AlertmanagerNotifier(_NotifierBase):
    type: Literal["alertmanager"]
    url: SecretStr = Field(description="Alertmanager's base URL; alerts go to /api/v2/alerts.")
    resend_delay: Duration = Field(
        default="1m", description="Firing alerts are re-sent at least this often."
    )
    external_url: str | None = Field(
        default=None, description="Base of each alert's generatorURL (links back)."
    )

    _check_url = field_validator("url")(_http_url)


class EmailNotifier(_NotifierBase):
    type: Literal["email"]
    host: Annotated[str, Field(min_length=1, max_length=255)]
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    starttls: StrictBool = True
    username: SecretStr | None = None
    password: SecretStr | None = None
    sender: Annotated[str, Field(min_length=3, max_length=320)] = Field(alias="from")
    to: Annotated[list[Annotated[str, Field(min_length=3, max_length=320)]], Field(min_length=1)]

    model_config = ConfigDict(populate_by_name=True)


NotifierEntry = Annotated[
    StdoutNotifier
    | LogNotifier
    | FileNotifier
    | WebhookNotifier
    | SlackNotifier
    | AlertmanagerNotifier
    | EmailNotifier,
    Field(discriminator="type"),
]
NOTIFIER_MODELS: dict[str, type[_NotifierBase]] = {
    "stdout": StdoutNotifier,
    "log": LogNotifier,
    "file": FileNotifier,
    "webhook": WebhookNotifier,
    "slack": SlackNotifier,
    "alertmanager": AlertmanagerNotifier,
    "email": EmailNotifier,
}


def secret_fields(notifier_type: object) -> frozenset[str]:
    """Names of the fields of a notifier type that are secrets (and take ${VAR})."""
    model = NOTIFIER_MODELS.get(notifier_type) if isinstance(notifier_type, str) else None
    if model is None:
        return frozenset()
    names = set()
    for name, field in model.model_fields.items():
        if "SecretStr" in repr(field.annotation):
            names.add(field.alias or name)
    return frozenset(names)


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
    windows: list[Window] = Field(default_factory=list)
    segments: list[Segment] = Field(
        default_factory=list,
        description="Columns to slice by: a name, a list of names (a cross), or "
        "{columns: [...], top_k: N}. Null values are reported as '(null)'.",
    )
    max_series: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=1000, description="Most distinct values a segment column may have."
    )
    timestamp_unit: Literal["s", "ms", "us", "ns"] | None = Field(
        default=None, description="Unit of an integer epoch timestamp column."
    )
    null_timestamps: Literal["error", "drop"] = Field(
        default="error", description="Rows with a null timestamp: an error, or dropped and counted."
    )
    alerts: list[AlertRule] = Field(
        default_factory=list, description="Alert rules, evaluated after each stored evaluation."
    )
    gates: list[Gate] = Field(
        default_factory=list, description="Checks for `scoreboard gate` (CI release gates)."
    )
    notify: list[NotifierEntry] = Field(
        default_factory=list, description="Where alert notifications go."
    )

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

    @field_validator("windows", mode="before")
    @classmethod
    def _no_windows(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("segments", mode="before")
    @classmethod
    def _segment_shorthands(cls, value: Any) -> Any:
        """``region`` and ``[country, device]`` are shorthands for ``{columns: [...]}``."""
        if value is None:
            return []
        if isinstance(value, list):
            return [
                {"columns": [item]}
                if isinstance(item, str)
                else {"columns": item}
                if isinstance(item, list)
                else item
                for item in value
            ]
        return value

    @field_validator("alerts", "gates", "notify", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

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
        if any(w.rows is None for w in self.windows) and cols.timestamp is None:
            raise ValueError("time windows need columns.timestamp")
        windows = [w.name for w in self.windows]
        if len(set(windows)) != len(windows):
            raise ValueError("window names must be unique")
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

"""Compiled alert rules (plain data in the plan) and how one observation is assessed.

A rule's condition is one of:

- **threshold** — ``below`` / ``above``: breach when the value is outside.
- **baseline** — ``max_drop`` / ``max_rise`` against ``previous`` (the model version recorded
  before this one), a named version, or ``N_ago`` (the same segment N window instances earlier).
  Direction-aware: a *drop* is a change for the worse (a fall for higher-is-better metrics such
  as recall, a rise for lower-is-better ones such as mse); a *rise* is a change for the better
  (a suspicious jump). Absolute, or with ``relative: true`` a fraction of |baseline|.
- **band** — outside mean ± k·std (``mean_std``) or an EWMA band (``ewma``) of the previous
  ``lookback`` defined values of the same segment (at least 2 are needed).

``significance: α`` keeps a threshold or baseline breach only when it is significant at level α:
a one-sided z-test of the proportion against the threshold, or a pooled two-proportion z-test
against the baseline. The trials behind a proportion are counted from the result: n for
accuracy, prevalence and predicted_positive_rate; n·prevalence (positives) for recall and fnr;
n·(1 − prevalence) (negatives) for specificity and fpr; n·predicted_positive_rate for precision,
n·(1 − predicted_positive_rate) for npv. Where a result carries ci_low / ci_high, a breach counts
only when the interval excludes the threshold (or does not overlap the baseline's interval).

``min_samples`` and undefined values give an *insufficient data* observation (``on_undefined``
decides for a null value: ok, alerting, insufficient_data (the default) or keep_last). A result
that carries a ``reason`` is undefined for the rules even where ``zero_division: warn`` reported
0 in its place: recall over no positives is no evidence of a bad model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scoreboard.alerts import stats
from scoreboard.alerts.state import Observation, Timing
from scoreboard.spec.models import BASELINE_AGO


@dataclass(frozen=True)
class Rule:
    """A compiled rule, read from ``plan.alert_rules``."""

    name: str
    metric: str
    window: str | None
    below: float | None = None
    above: float | None = None
    baseline: str | None = None
    max_drop: float | None = None
    max_rise: float | None = None
    relative: bool = False
    band: dict[str, Any] | None = None
    significance: float | None = None
    for_: int = 1
    keep_firing_for: int = 0
    resolve_above: float | None = None
    resolve_below: float | None = None
    m_of_n: tuple[int, int] | None = None
    min_samples: int = 0
    on_undefined: str = "insufficient_data"
    severity: str = "warning"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    metric_kind: str = ""
    higher_is_better: bool = True
    denominator: dict[str, Any] | None = None

    @classmethod
    def from_plan(cls, data: dict[str, Any]) -> Rule:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["for_"] = int(data.get("for", 1))
        if data.get("m_of_n") is not None:
            fields["m_of_n"] = (int(data["m_of_n"][0]), int(data["m_of_n"][1]))
        return cls(**fields)

    @property
    def timing(self) -> Timing:
        return Timing(self.for_, self.keep_firing_for, self.m_of_n)

    @property
    def ago(self) -> int | None:
        """N for a ``baseline: N_ago`` rule."""
        if self.baseline is None:
            return None
        match = BASELINE_AGO.match(self.baseline)
        return int(match.group(1)) if match else None

    @property
    def threshold_text(self) -> str:
        if self.below is not None and self.above is not None:
            return f"[{self.below:g}, {self.above:g}]"
        if self.below is not None:
            return f"{self.below:g}"
        if self.above is not None:
            return f"{self.above:g}"
        if self.max_drop is not None:
            return f"max_drop {self.max_drop:g}"
        if self.max_rise is not None:
            return f"max_rise {self.max_rise:g}"
        return "band"


@dataclass(frozen=True)
class Sample:
    """What a rule reads of one result: its value, rows, interval and the trials behind it."""

    value: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    trials: float | None = None  # the denominator of a proportion, when known


@dataclass(frozen=True)
class Assessment:
    observation: Observation
    threshold: float | None = None  # the bound crossed or tested (for messages)
    baseline: float | None = None
    p_value: float | None = None
    reason: str | None = None  # why there was no verdict (insufficient data)


def assess(
    rule: Rule,
    sample: Sample,
    *,
    baseline: Sample | None = None,
    history: Sequence[float] = (),
    at: str | None = None,
) -> Assessment:
    """The observation a rule makes of ``sample`` (with its baseline or history, as it needs)."""
    if sample.n < rule.min_samples:
        return Assessment(Observation(None, at=at), reason="min_samples")
    if sample.value is None:
        policy = rule.on_undefined
        if policy == "ok":
            return Assessment(Observation(False, True, at=at), reason="undefined")
        if policy == "alerting":
            return Assessment(Observation(True, False, at=at), reason="undefined")
        keep = policy == "keep_last"
        return Assessment(Observation(None, keep_last=keep, at=at), reason="undefined")
    value = sample.value
    if rule.band is not None:
        return _band(rule, value, history, at)
    if rule.baseline is not None:
        return _baseline(rule, sample, baseline, at)
    return _threshold(rule, sample, at)


def _clear(rule: Rule, value: float, breach: bool) -> bool:
    if breach:
        return False
    if rule.resolve_above is not None and value < rule.resolve_above:
        return False
    return not (rule.resolve_below is not None and value > rule.resolve_below)


def _threshold(rule: Rule, sample: Sample, at: str | None) -> Assessment:
    value = sample.value
    assert value is not None
    low = rule.below is not None and value < rule.below
    high = rule.above is not None and value > rule.above
    breach = low or high
    bound = rule.below if low else rule.above if high else (rule.below or rule.above)
    p_value = None
    if breach and rule.significance is not None:
        assert bound is not None
        if sample.ci_low is not None and sample.ci_high is not None:
            breach = sample.ci_high < bound if low else sample.ci_low > bound
        elif sample.trials is not None:
            p_value = stats.one_proportion_p(value, sample.trials, bound, lower=low)
            breach = p_value < rule.significance
        else:
            return Assessment(Observation(None, at=at), bound, reason="no_counts")
    return Assessment(Observation(breach, _clear(rule, value, breach), at=at), bound, None, p_value)


def _baseline(rule: Rule, sample: Sample, base: Sample | None, at: str | None) -> Assessment:
    value = sample.value
    assert value is not None
    if base is None or base.value is None:
        return Assessment(Observation(None, at=at), reason="no_baseline")
    b = base.value
    worse = (b - value) if rule.higher_is_better else (value - b)  # a drop
    scale = abs(b) if rule.relative else 1.0
    dropped = rule.max_drop is not None and worse > rule.max_drop * scale
    rose = rule.max_rise is not None and -worse > rule.max_rise * scale
    breach = dropped or rose
    limit = rule.max_drop if dropped else rule.max_rise if rose else None
    threshold = None
    if limit is not None:
        sign = -1.0 if (dropped == rule.higher_is_better) else 1.0
        threshold = b + sign * limit * scale
    p_value = None
    if breach and rule.significance is not None:
        lower = value < b
        if None not in (sample.ci_low, sample.ci_high, base.ci_low, base.ci_high):
            assert sample.ci_low is not None and sample.ci_high is not None
            assert base.ci_low is not None and base.ci_high is not None
            breach = sample.ci_high < base.ci_low if lower else sample.ci_low > base.ci_high
        elif sample.trials is not None and base.trials is not None:
            p_value = stats.two_proportion_p(value, sample.trials, b, base.trials, lower=lower)
            breach = p_value < rule.significance
        else:
            return Assessment(Observation(None, at=at), threshold, b, reason="no_counts")
    return Assessment(Observation(breach, not breach, at=at), threshold, b, p_value)


def _band(rule: Rule, value: float, history: Sequence[float], at: str | None) -> Assessment:
    band = rule.band or {}
    lookback = int(band.get("lookback", 14))
    past = list(history)[-lookback:]
    if len(past) < 2:
        return Assessment(Observation(None, at=at), reason="short_history")
    k = float(band.get("k", 3.0))
    if band.get("method") == "ewma":
        center, low, high = stats.ewma_limits(past, k, float(band.get("alpha", 0.25)))
    else:
        center, low, high = stats.mean_std_limits(past, k)
    below, above = value < low, value > high
    breach = below or above
    bound = low if below else high if above else (low if rule.higher_is_better else high)
    return Assessment(Observation(breach, not breach, at=at), bound, center)

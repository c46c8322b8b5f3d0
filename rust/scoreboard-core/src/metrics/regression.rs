//! Regression finalizers over error and target moments.

use super::binary::unreachable_kind;
use super::{reason, Outcome};
use crate::accum::{RegressionMoments, WeightedMoments};
use crate::plan::{MetricKind, MetricSpec};

pub fn finalize(metric: &MetricSpec, m: &RegressionMoments) -> Outcome {
    if m.n == 0 && metric.kind != MetricKind::Count {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    let n = m.n as f64;
    match metric.kind {
        MetricKind::Count => Outcome::of(n),
        MetricKind::Mse => Outcome::of(m.sum_squared_error.value() / n),
        MetricKind::Rmse => Outcome::of((m.sum_squared_error.value() / n).sqrt()),
        MetricKind::Mae => Outcome::of(m.sum_absolute_error.value() / n),
        MetricKind::Mape => Outcome::of(m.sum_absolute_percentage_error.value() / n),
        MetricKind::R2 => r2(m),
        MetricKind::ExplainedVariance => explained_variance(m),
        MetricKind::MaxError => Outcome::of(m.max_absolute_error),
        MetricKind::MeanError => Outcome::of(m.error.mean),
        _ => unreachable_kind(metric),
    }
}

/// 1 - SSE / SST. As scikit-learn: undefined below two samples; a constant target gives 1.0 for a
/// perfect fit and 0.0 otherwise (`force_finite=True`).
pub fn r2(m: &RegressionMoments) -> Outcome {
    if m.n < 2 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    finite_ratio_score(m.sum_squared_error.value(), m.target.m2)
}

/// 1 - Var(e) / Var(y), with scikit-learn's `force_finite` handling of a constant target.
pub fn explained_variance(m: &RegressionMoments) -> Outcome {
    finite_ratio_score(m.error.m2, m.target.m2)
}

pub(crate) fn finite_ratio_score(numerator: f64, denominator: f64) -> Outcome {
    if denominator == 0.0 {
        return Outcome::of(if numerator == 0.0 { 1.0 } else { 0.0 });
    }
    Outcome::of(1.0 - numerator / denominator)
}

/// Regression metrics with sample weights, as scikit-learn's `sample_weight` (weighted averages;
/// R² and explained variance from weighted squared deviations; max_error unweighted).
pub fn finalize_weighted(metric: &MetricSpec, m: &WeightedMoments) -> Outcome {
    if metric.kind == MetricKind::Count {
        return Outcome::of(m.rows as f64);
    }
    if m.rows == 0 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    let w = m.weight.value();
    if w == 0.0 {
        return Outcome::undefined(reason::ZERO_DIVISION);
    }
    match metric.kind {
        MetricKind::Mse => Outcome::of(m.squared_error.value() / w),
        MetricKind::Rmse => Outcome::of((m.squared_error.value() / w).sqrt()),
        MetricKind::Mae => Outcome::of(m.absolute_error.value() / w),
        MetricKind::Mape => Outcome::of(m.absolute_percentage_error.value() / w),
        MetricKind::R2 if m.rows < 2 => Outcome::undefined(reason::INSUFFICIENT_DATA),
        MetricKind::R2 => finite_ratio_score(m.squared_error.value(), m.target.m2),
        MetricKind::ExplainedVariance => finite_ratio_score(m.error.m2, m.target.m2),
        MetricKind::MaxError => Outcome::of(m.max_absolute_error),
        MetricKind::MeanError => Outcome::of(m.error.mean),
        _ => unreachable_kind(metric),
    }
}

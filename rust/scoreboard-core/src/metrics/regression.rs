//! Regression finalizers over error and target moments.

use super::binary::unreachable_kind;
use super::{reason, Outcome};
use crate::accum::RegressionMoments;
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

fn finite_ratio_score(numerator: f64, denominator: f64) -> Outcome {
    if denominator == 0.0 {
        return Outcome::of(if numerator == 0.0 { 1.0 } else { 0.0 });
    }
    Outcome::of(1.0 - numerator / denominator)
}

//! Finalizers of the column statistics, extra regression losses and exact-sample metrics.

use super::binary::unreachable_kind;
use super::{reason, Outcome};
use crate::accum::exact_values::{linear_quantile, median, weighted_percentile};
use crate::accum::moments::CompensatedSum;
use crate::accum::{ColumnStats, ErrorSums, ExactValues, QuantileSketch};
use crate::plan::{MetricKind, MetricSpec};

/// `mean`, `min`, `max`, `sum` of a column (`sum` of no rows is 0, the others are undefined).
pub fn column_stats(metric: &MetricSpec, c: &ColumnStats) -> Outcome {
    if metric.kind == MetricKind::Sum {
        return Outcome::of(c.sum.value());
    }
    if c.n == 0 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    match metric.kind {
        MetricKind::Mean => Outcome::of(c.sum.value() / c.n as f64),
        MetricKind::Min => Outcome::of(c.min),
        MetricKind::Max => Outcome::of(c.max),
        _ => unreachable_kind(metric),
    }
}

/// `msle` and `mean_pinball_loss`.
pub fn error_sums(metric: &MetricSpec, e: &ErrorSums) -> Outcome {
    if e.n == 0 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    let n = e.total();
    if n == 0.0 {
        return Outcome::undefined(reason::ZERO_DIVISION);
    }
    match metric.kind {
        MetricKind::Msle => Outcome::of(e.squared_log_error.value() / n),
        MetricKind::MeanPinballLoss => match e.pinball_sum(metric.alpha.unwrap_or(0.5)) {
            Some(sum) => Outcome::of(sum / n),
            None => unreachable_kind(metric),
        },
        _ => unreachable_kind(metric),
    }
}

/// `median_absolute_error`, `d2_absolute_error` (columns y_true, y_pred) and exact `quantile`
/// (one column).
pub fn exact_values(metric: &MetricSpec, v: &ExactValues) -> Outcome {
    if v.n() == 0 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    match metric.kind {
        MetricKind::Quantile => {
            let mut x = v.column(0);
            linear_quantile(&mut x, metric.q.unwrap_or(0.5))
                .map_or(Outcome::undefined(reason::INSUFFICIENT_DATA), Outcome::of)
        }
        MetricKind::MedianAbsoluteError if v.is_weighted() => {
            let (y, p) = (v.column(0), v.column(1));
            let errors: Vec<f64> = y.iter().zip(&p).map(|(a, b)| (b - a).abs()).collect();
            weighted_percentile(&errors, &v.weights(), 0.5)
                .map_or(Outcome::undefined(reason::INSUFFICIENT_DATA), Outcome::of)
        }
        MetricKind::D2AbsoluteError if v.is_weighted() => {
            weighted_d2_absolute_error(&v.column(0), &v.column(1), &v.weights())
        }
        MetricKind::MedianAbsoluteError => {
            let (y, p) = (v.column(0), v.column(1));
            let mut errors: Vec<f64> = y.iter().zip(&p).map(|(a, b)| (b - a).abs()).collect();
            median(&mut errors).map_or(Outcome::undefined(reason::INSUFFICIENT_DATA), Outcome::of)
        }
        MetricKind::D2AbsoluteError => d2_absolute_error(&v.column(0), &v.column(1)),
        _ => unreachable_kind(metric),
    }
}

/// scikit-learn's `d2_absolute_error_score`: 1 - sum |y - p| / sum |y - median(y)|; undefined
/// below two samples; a zero denominator gives 1.0 for a perfect fit and 0.0 otherwise.
fn d2_absolute_error(y: &[f64], p: &[f64]) -> Outcome {
    if y.len() < 2 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    let mut sorted = y.to_vec();
    let Some(m) = median(&mut sorted) else {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    };
    let (mut num, mut den) = (CompensatedSum::default(), CompensatedSum::default());
    for (a, b) in y.iter().zip(p) {
        num.add((a - b).abs());
        den.add((a - m).abs());
    }
    let (num, den) = (num.value(), den.value());
    if den == 0.0 {
        return Outcome::of(if num == 0.0 { 1.0 } else { 0.0 });
    }
    Outcome::of(1.0 - num / den)
}

/// `d2_absolute_error_score` with `sample_weight`: the weighted pinball losses at alpha 0.5 of
/// the predictions and of the weighted median of y_true (`_weighted_percentile`, averaged), as
/// scikit-learn's `d2_pinball_score` computes them.
fn weighted_d2_absolute_error(y: &[f64], p: &[f64], w: &[f64]) -> Outcome {
    if y.len() < 2 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    let Some(m) = weighted_percentile(y, w, 0.5) else {
        // Every weight is 0: scikit-learn's weighted mean divides by zero.
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    };
    let (mut num, mut den) = (CompensatedSum::default(), CompensatedSum::default());
    for ((a, b), wi) in y.iter().zip(p).zip(w) {
        num.add(wi * (a - b).abs());
        den.add(wi * (a - m).abs());
    }
    let (num, den) = (num.value(), den.value());
    if num == 0.0 {
        return Outcome::of(1.0);
    }
    if den == 0.0 {
        return Outcome::of(0.0);
    }
    Outcome::of(1.0 - num / den)
}

/// `quantile` from the relative-error sketch (within 1% of the exact order statistics).
pub fn quantile_sketch(metric: &MetricSpec, s: &QuantileSketch) -> Outcome {
    if metric.kind != MetricKind::Quantile {
        return unreachable_kind(metric);
    }
    s.quantile(metric.q.unwrap_or(0.5))
        .map_or(Outcome::undefined(reason::INSUFFICIENT_DATA), Outcome::of)
}

//! Finalizers: accumulator state -> metric values, one function per metric, following
//! scikit-learn's definitions and edge cases (checked against it by the Python test-suite).

pub mod binary;
pub mod ci;
pub mod class_scores;
pub mod extra;
pub mod multiclass;
pub mod regression;
pub mod scores;

use serde::{Deserialize, Serialize};

use crate::accum::AccState;
use crate::plan::{CiMethod, Label, MetricKind, MetricSpec, ZeroDivision};

/// Why a value is undefined (or was replaced by `zero_division`). Stable identifiers.
pub mod reason {
    /// No rows (an empty input, window or segment).
    pub const INSUFFICIENT_DATA: &str = "insufficient_data";
    /// A zero denominator (no predicted positives, no true positives, one class...).
    pub const ZERO_DIVISION: &str = "zero_division";
    /// Only one class in y_true where the metric compares the two (ROC AUC).
    pub const SINGLE_CLASS: &str = "single_class";
    /// No operating point reaches the required precision (`recall_at_precision`).
    pub const UNATTAINABLE: &str = "unattainable";
}

/// One finalized metric value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub name: String,
    /// The class of a per-class result (`average: none`); `None` otherwise.
    pub class: Option<Label>,
    /// `None` when undefined; `reason` then says why.
    pub value: Option<f64>,
    /// Rows the value is computed from.
    pub n: u64,
    pub reason: Option<&'static str>,
    /// For approximate values (binned AUC): the exact value lies within `value ± error_bound`.
    pub error_bound: Option<f64>,
    /// Confidence interval, where asked.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// A value, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub value: Option<f64>,
    pub reason: Option<&'static str>,
}

impl Outcome {
    pub fn of(value: f64) -> Outcome {
        Outcome {
            value: Some(value),
            reason: None,
        }
    }

    pub fn undefined(reason: &'static str) -> Outcome {
        Outcome {
            value: None,
            reason: Some(reason),
        }
    }

    /// `num / den`, or the `zero_division` value (with its reason) when `den == 0`.
    pub fn ratio(num: f64, den: f64, zero_division: ZeroDivision) -> Outcome {
        if den == 0.0 {
            Outcome {
                value: zero_division.value(),
                reason: Some(reason::ZERO_DIVISION),
            }
        } else {
            Outcome::of(num / den)
        }
    }
}

/// Finalizes one metric from its accumulator's state, with its confidence interval if asked.
pub fn finalize(metric: &MetricSpec, state: &AccState) -> Vec<MetricValue> {
    if let (AccState::ScoreRuns(r), Some(ci)) = (state, &metric.ci) {
        // The value and its interval share their passes over the runs.
        let shared = match (metric.kind, ci.method) {
            (MetricKind::RocAuc, CiMethod::Delong) => Some(ci::roc_auc_with_delong(r, ci)),
            (MetricKind::PrAuc, CiMethod::Bootstrap) => {
                Some(ci::pr_auc_with_bootstrap(metric, r, ci))
            }
            _ => None,
        };
        if let Some((o, interval)) = shared {
            return vec![MetricValue {
                name: metric.name.clone(),
                value: o.value,
                n: r.n(),
                reason: o.reason,
                ci_low: interval.map(|i| i.0),
                ci_high: interval.map(|i| i.1),
                ..MetricValue::default()
            }];
        }
    }
    let mut values = finalize_value(metric, state);
    if metric.ci.is_some() {
        for v in values.iter_mut().filter(|v| v.class.is_none()) {
            if let Some((lo, hi)) = ci::interval(metric, state, v.value) {
                v.ci_low = Some(lo);
                v.ci_high = Some(hi);
            }
        }
    }
    values
}

fn finalize_value(metric: &MetricSpec, state: &AccState) -> Vec<MetricValue> {
    let single = |n: u64, o: Outcome| {
        vec![MetricValue {
            name: metric.name.clone(),
            class: None,
            value: o.value,
            n,
            reason: o.reason,
            ..MetricValue::default()
        }]
    };
    match state {
        AccState::Binary(c) => single(c.n(), binary::finalize(metric, c)),
        AccState::Moments(m) => single(m.n, regression::finalize(metric, m)),
        AccState::Multiclass(c) => multiclass::finalize(metric, c),
        AccState::ScoreRuns(r) => single(r.n(), scores::finalize_exact(metric, r)),
        AccState::ColumnStats(c) => single(c.n, extra::column_stats(metric, c)),
        AccState::ErrorSums(e) => single(e.n, extra::error_sums(metric, e)),
        AccState::ClassScores(c) => single(c.rows, class_scores::finalize(metric, c)),
        AccState::WeightedBinary(c) => {
            let counts = binary::Counts {
                tp: c.tp.value(),
                fp: c.fp.value(),
                fn_: c.fn_.value(),
                tn: c.tn.value(),
            };
            single(
                c.rows,
                binary::finalize_counts(metric, &counts, c.rows, None),
            )
        }
        AccState::WeightedScoreRuns(r) => {
            let o = if r.rows() == 0 {
                Outcome::undefined(reason::INSUFFICIENT_DATA)
            } else {
                scores::finalize_curve(metric, r.weighted(), r.clip_eps())
            };
            single(r.rows(), o)
        }
        AccState::WeightedMoments(m) => single(m.rows, regression::finalize_weighted(metric, m)),
        AccState::QuantileSketch(q) => single(q.n, extra::quantile_sketch(metric, q)),
        AccState::ExactValues(v) => single(v.n(), extra::exact_values(metric, v)),
        AccState::Thresholds(t) => match metric.threshold.and_then(|x| t.at(x)) {
            Some(c) if t.is_weighted() => {
                let w = metric
                    .threshold
                    .and_then(|x| t.weighted_at(x))
                    .unwrap_or_default();
                single(c.n(), binary::finalize_counts(metric, &w, c.n(), None))
            }
            Some(c) => single(c.n(), binary::finalize(metric, &c)),
            None => single(t.n(), binary::unreachable_kind(metric)),
        },
        AccState::ScoreHistogram(h) => {
            let (o, bound) = scores::finalize_binned(metric, h);
            let mut out = single(h.n(), o);
            out[0].error_bound = bound;
            out
        }
    }
}

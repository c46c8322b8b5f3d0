//! Confidence intervals, all computed at finalize time from the accumulator state (O(state), never
//! a second pass over the rows):
//!
//! - Wilson for proportions (binary and multiclass confusion cells, top-k hits; with sample
//!   weights, Wilson at the effective sample size of the linearised variance of the ratio),
//! - DeLong for ROC AUC (exact score runs, score histogram; multiclass: grouped DeLong, in
//!   `class_scores.rs`),
//! - normal (CLT) for means of per-row losses, from second moments kept in the state,
//! - order statistics (binomial ranks) for quantiles and medians,
//! - a percentile bootstrap that resamples a count table multinomially (confusion tables, score
//!   runs, score histograms), with a fixed seed so the same state always gives the same interval;
//!   with sample weights, a moment-matched weighted bootstrap of the same tables, whose cells keep
//!   their rows, Σ w and Σ w² (`WeightedCell`).

use rand_core::RngCore;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::binary::{finalize_counts, Counts};
use super::multiclass;
use super::scores::{
    average_precision_in_blocks, average_precision_of_curve, finalize_curve, RocArea, BLOCK,
};
use super::{reason, Outcome};
use crate::accum::exact_values::{median, weighted_percentile};
use crate::accum::moments::CompensatedSum;
use crate::accum::scores::{key_score, Curve, Point};
use crate::accum::weighted::WeightedSpread;
use crate::accum::weighted_scores::WeightedPoint;
use crate::accum::{
    AccState, BinaryConfusion, ClassScores, ExactValues, MulticlassConfusion, RegressionMoments,
    ScoreHistogram, ScoreRuns, ThresholdConfusion, WeightedConfusion, WeightedMoments,
};
use crate::plan::{CiMethod, CiSpec, MetricKind, MetricSpec};

/// The interval of `metric` given its state, or `None` where the method does not apply or the
/// value is undefined.
pub fn interval(metric: &MetricSpec, state: &AccState, value: Option<f64>) -> Option<(f64, f64)> {
    let ci = metric.ci.as_ref()?;
    // A value that overflowed (NaN or infinite) has no interval.
    let value = value.filter(|v| v.is_finite())?;
    if let (CiMethod::Wilson, AccState::Multiclass(c)) = (ci.method, state) {
        if c.is_weighted() && metric.kind == MetricKind::Accuracy {
            let z = normal_quantile(0.5 + ci.level / 2.0);
            return weighted_accuracy(c, value, z);
        }
    }
    if let AccState::ClassScores(s) = state {
        if s.weighted {
            return weighted_class_scores(metric, s, ci, value);
        }
    }
    if let AccState::Thresholds(t) = state {
        if t.is_weighted() {
            return weighted_thresholds(metric, t, ci);
        }
    }
    if let AccState::ScoreHistogram(h) = state {
        if h.is_weighted() {
            return weighted_histogram(metric, h, value, ci);
        }
    }
    if let AccState::ExactValues(v) = state {
        if v.is_weighted() {
            let z = normal_quantile(0.5 + ci.level / 2.0);
            return weighted_exact_values(metric, v, ci.method, value, z);
        }
    }
    let z = normal_quantile(0.5 + ci.level / 2.0);
    let kind = metric.kind;
    match (ci.method, state) {
        (CiMethod::Wilson, AccState::Binary(c)) => wilson_of(metric, c, z),
        (CiMethod::Wilson, AccState::Thresholds(t)) => {
            wilson_of(metric, &t.at(metric.threshold?)?, z)
        }
        (CiMethod::Wilson, AccState::WeightedBinary(c)) => weighted_wilson(metric, c, z),
        (CiMethod::Wilson, AccState::Multiclass(c)) if kind == MetricKind::Accuracy => {
            let k = c.labels().len();
            let hits: u64 = (0..k).map(|i| c.count(i, i)).sum();
            wilson(hits as f64, c.n() as f64, z)
        }
        (CiMethod::Wilson, AccState::ClassScores(s)) if kind == MetricKind::TopKAccuracy => {
            let i = s.ks.iter().position(|&x| x == metric.k.unwrap_or(2))?;
            wilson(s.hits[i] as f64, s.rows as f64, z)
        }
        (CiMethod::Bootstrap, AccState::Binary(c)) => bootstrap(metric, c, ci),
        (CiMethod::Bootstrap, AccState::Thresholds(t)) => {
            bootstrap(metric, &t.at(metric.threshold?)?, ci)
        }
        (CiMethod::Bootstrap, AccState::WeightedBinary(c)) => {
            // `squares` is in (tp, fn, fp, tn) order.
            let k = &c.counts;
            let cells = [
                WeightedCell::new(k.tp, c.tp.value(), c.squares[0].value()),
                WeightedCell::new(k.fp, c.fp.value(), c.squares[2].value()),
                WeightedCell::new(k.fn_, c.fn_.value(), c.squares[1].value()),
                WeightedCell::new(k.tn, c.tn.value(), c.squares[3].value()),
            ];
            bootstrap_weighted_confusion(metric, &cells, ci)
        }
        (CiMethod::Bootstrap, AccState::Multiclass(c)) if c.is_weighted() => {
            bootstrap_weighted_multiclass(metric, c, ci)
        }
        (CiMethod::Bootstrap, AccState::Multiclass(c)) => bootstrap_multiclass(metric, c, ci),
        (CiMethod::Bootstrap, AccState::ScoreRuns(r)) => {
            let pooled = pool_curve(r.curve(), r.n());
            bootstrap_points(metric, pooled, value, r.clip_eps(), ci)
        }
        (CiMethod::Bootstrap, AccState::WeightedScoreRuns(r)) => {
            let points = r.points();
            let rows = points.iter().map(|q| q.pos_rows + q.neg_rows).sum();
            let cell = |q: &WeightedPoint| {
                let pos = WeightedCell::new(q.pos_rows, q.pos, q.pos2);
                (
                    key_score(q.key),
                    [pos, WeightedCell::new(q.neg_rows, q.neg, q.neg2)],
                )
            };
            let pooled = pool(points, cell, rows);
            bootstrap_weighted_points(metric, pooled, value, r.clip_eps(), ci)
        }
        (CiMethod::Bootstrap, AccState::ScoreHistogram(h)) => {
            // Each bin is one tied score (its centre; only the order matters to these metrics).
            let width = 1.0 / h.bins() as f64;
            let points: Vec<(f64, (u64, u64))> = (0..h.bins())
                .map(|b| ((b as f64 + 0.5) * width, h.bin(b)))
                .collect();
            let pooled = pool(&points, |&q| q, h.n());
            bootstrap_points(metric, pooled, value, f64::EPSILON, ci)
        }
        (CiMethod::Delong, AccState::ScoreRuns(r)) if kind == MetricKind::RocAuc => {
            let groups = r
                .curve()
                .points()
                .rev()
                .map(|q| (q.pos as f64, q.neg as f64));
            delong(groups, value, z)
        }
        (CiMethod::Delong, AccState::ScoreHistogram(h)) if kind == MetricKind::RocAuc => {
            delong(histogram_groups(h).into_iter(), value, z)
        }
        (CiMethod::Normal, AccState::ScoreRuns(r))
            if matches!(kind, MetricKind::LogLoss | MetricKind::Brier) =>
        {
            // Each distinct score holds two per-row losses (of its positives and negatives):
            // the sample variance is one pass over the runs, exact whatever their number.
            let eps = r.clip_eps();
            let clip = |x: f64| x.clamp(eps, 1.0 - eps);
            let losses = r.curve().points().map(|q| {
                let s = q.score();
                let (l1, l0) = match kind {
                    MetricKind::LogLoss => (-clip(s).ln(), -clip(1.0 - s).ln()),
                    _ => ((1.0 - s) * (1.0 - s), s * s),
                };
                (l1, q.pos, l0, q.neg)
            });
            let m2: f64 = losses
                .map(|(l1, p, l0, n)| {
                    p as f64 * (l1 - value) * (l1 - value) + n as f64 * (l0 - value) * (l0 - value)
                })
                .sum();
            normal(value, m2, r.n(), z).map(non_negative)
        }
        (CiMethod::Delong, AccState::WeightedScoreRuns(r)) if kind == MetricKind::RocAuc => {
            weighted_delong(r.points(), value, z)
        }
        (CiMethod::Normal, AccState::WeightedScoreRuns(r))
            if matches!(kind, MetricKind::LogLoss | MetricKind::Brier) =>
        {
            // Σ w² (l - mean)² over the runs: each distinct score holds two per-row losses.
            let eps = r.clip_eps();
            let clip = |x: f64| x.clamp(eps, 1.0 - eps);
            let (mut m2, mut total, mut rows) = (0.0, 0.0, 0usize);
            for q in r.points() {
                let s = key_score(q.key);
                let (l1, l0) = match kind {
                    MetricKind::LogLoss => (-clip(s).ln(), -clip(1.0 - s).ln()),
                    _ => ((1.0 - s) * (1.0 - s), s * s),
                };
                m2 += q.pos2 * (l1 - value) * (l1 - value) + q.neg2 * (l0 - value) * (l0 - value);
                total += q.pos + q.neg;
                rows += 1;
            }
            if total <= 0.0 || r.rows() < 2 || rows == 0 || !m2.is_finite() {
                return None;
            }
            let half = z * m2.max(0.0).sqrt() / total;
            Some(non_negative((value - half, value + half)))
        }
        (CiMethod::Normal, AccState::Moments(m)) => normal_moments(kind, m, value, z),
        (CiMethod::Normal, AccState::WeightedMoments(m)) => normal_weighted(kind, m, value, z),
        (CiMethod::Normal, AccState::ErrorSums(e)) => {
            let i = match kind {
                MetricKind::Msle => 0,
                MetricKind::MeanPinballLoss => {
                    let alpha = metric.alpha.unwrap_or(0.5);
                    1 + e.alphas.iter().position(|&a| a == alpha)?
                }
                _ => return None,
            };
            // Σ w² (l - mean)², expanded (w = 1 without weights: the plain second moment).
            let m2 = e.squares.get(i)?.value() - 2.0 * value * e.weighted_losses.get(i)?.value()
                + value * value * e.squared_weights.value();
            match &e.weight {
                None => normal(value, m2.max(0.0), e.n, z).map(non_negative),
                Some(w) => {
                    let total = w.value();
                    if e.n < 2 || total <= 0.0 || !m2.is_finite() {
                        return None;
                    }
                    let half = z * (m2.max(0.0) / (total * total)).sqrt();
                    Some(non_negative((value - half, value + half)))
                }
            }
        }
        (CiMethod::Normal, AccState::ColumnStats(c)) if kind == MetricKind::Mean => {
            normal(value, c.spread.m2, c.n, z)
        }
        (CiMethod::Delong, AccState::ClassScores(s)) if kind == MetricKind::RocAuc => {
            super::class_scores::auc_interval(metric, s, value, ci.level)
        }
        (CiMethod::Normal, AccState::ClassScores(s)) if kind == MetricKind::LogLoss => {
            let n = s.rows as f64;
            let m2 = s.log_loss_squares.value() - n * value * value;
            normal(value, m2.max(0.0), s.rows, z).map(non_negative)
        }
        (CiMethod::Normal, AccState::ExactValues(v)) if kind == MetricKind::D2AbsoluteError => {
            d2_delta(&v.column(0), &v.column(1), value, z)
        }
        (CiMethod::OrderStatistic, AccState::ExactValues(v)) => order_statistic(kind, metric, v, z),
        (CiMethod::OrderStatistic, AccState::QuantileSketch(s)) => {
            let (lo, hi) = quantile_ranks(s.n, metric.q.unwrap_or(0.5), z)?;
            let last = (s.n - 1).max(1) as f64;
            Some((s.quantile(lo as f64 / last)?, s.quantile(hi as f64 / last)?))
        }
        _ => None,
    }
}

/// Wilson for weighted multiclass accuracy p = W_hits / W at the effective sample size of the
/// ratio's linearised variance, as `weighted_wilson`: V = (Σ_hits w² (1 - p)² + Σ_misses w² p²) /
/// W², from the squared weights of the correct rows and of all rows.
fn weighted_accuracy(c: &MulticlassConfusion, p: f64, z: f64) -> Option<(f64, f64)> {
    let total: f64 = c.ordered_weights().iter().sum();
    let (s_hits, s_all) = c.squared_weights();
    if total <= 0.0 || s_all <= 0.0 {
        return None;
    }
    let p = p.clamp(0.0, 1.0);
    let var =
        (s_hits * (1.0 - p) * (1.0 - p) + (s_all - s_hits).max(0.0) * p * p) / (total * total);
    let n_eff = if var > 0.0 && p > 0.0 && p < 1.0 {
        p * (1.0 - p) / var
    } else {
        total * total / s_all
    };
    wilson(p * n_eff, n_eff, z)
}

/// Weighted multiclass log loss (normal, linearised variance of the weighted mean) and top-k
/// accuracy (Wilson at the effective sample size, as `weighted_wilson`).
fn weighted_class_scores(
    metric: &MetricSpec,
    s: &ClassScores,
    ci: &CiSpec,
    value: f64,
) -> Option<(f64, f64)> {
    let z = normal_quantile(0.5 + ci.level / 2.0);
    let total = s.total_weight.value();
    let s_all = s.squared_weight.value();
    if total <= 0.0 || s_all <= 0.0 || s.rows < 2 {
        return None;
    }
    match (ci.method, metric.kind) {
        (CiMethod::Normal, MetricKind::LogLoss) => {
            let m2 = s.log_loss_w2[1].value() - 2.0 * value * s.log_loss_w2[0].value()
                + value * value * s_all;
            if !m2.is_finite() {
                return None;
            }
            let half = z * m2.max(0.0).sqrt() / total;
            Some(non_negative((value - half, value + half)))
        }
        (CiMethod::Wilson, MetricKind::TopKAccuracy) => {
            let i = s.ks.iter().position(|&x| x == metric.k.unwrap_or(2))?;
            let s_hits = s.hit_squared_weight.get(i)?.value();
            let p = value.clamp(0.0, 1.0);
            let var = (s_hits * (1.0 - p) * (1.0 - p) + (s_all - s_hits).max(0.0) * p * p)
                / (total * total);
            let n_eff = if var > 0.0 && p > 0.0 && p < 1.0 {
                p * (1.0 - p) / var
            } else {
                total * total / s_all
            };
            wilson(p * n_eff, n_eff, z)
        }
        (CiMethod::Delong, MetricKind::RocAuc) => {
            super::class_scores::weighted_auc_interval(metric, s, value, ci.level)
        }
        _ => None,
    }
}

/// Weighted Wilson and the weighted bootstrap of the weighted confusion at a metric's own
/// threshold (the four cells are sums of the threshold's buckets).
fn weighted_thresholds(
    metric: &MetricSpec,
    t: &ThresholdConfusion,
    ci: &CiSpec,
) -> Option<(f64, f64)> {
    let [tp, fp, fn_, tn] = t
        .weighted_cells_at(metric.threshold?)?
        .map(|(rows, w, q)| WeightedCell::new(rows, w, q));
    match ci.method {
        CiMethod::Wilson => {
            let sum = |x: f64| {
                let mut s = CompensatedSum::default();
                s.add(x);
                s
            };
            let c = WeightedConfusion {
                rows: tp.rows + fp.rows + fn_.rows + tn.rows,
                tp: sum(tp.weight),
                fp: sum(fp.weight),
                fn_: sum(fn_.weight),
                tn: sum(tn.weight),
                // (tp, fn, fp, tn) order.
                squares: [tp, fn_, fp, tn].map(|c| sum(c.squares)),
                counts: BinaryConfusion {
                    tp: tp.rows,
                    fp: fp.rows,
                    fn_: fn_.rows,
                    tn: tn.rows,
                },
            };
            weighted_wilson(metric, &c, normal_quantile(0.5 + ci.level / 2.0))
        }
        CiMethod::Bootstrap => bootstrap_weighted_confusion(metric, &[tp, fp, fn_, tn], ci),
        _ => None,
    }
}

/// Weighted DeLong and the weighted bootstrap over the bins of a weighted histogram (each bin one
/// tied score, as unweighted).
fn weighted_histogram(
    metric: &MetricSpec,
    h: &ScoreHistogram,
    value: f64,
    ci: &CiSpec,
) -> Option<(f64, f64)> {
    let width = 1.0 / h.bins() as f64;
    let cells = |b: usize| {
        let ((p, n), (wp, wn), (qp, qn)) = (h.bin(b), h.weighted_bin(b), h.squared_bin(b));
        [WeightedCell::new(p, wp, qp), WeightedCell::new(n, wn, qn)]
    };
    match (ci.method, metric.kind) {
        (CiMethod::Delong, MetricKind::RocAuc) => {
            let points: Vec<WeightedPoint> = (0..h.bins())
                .map(|b| {
                    let [p, n] = cells(b);
                    WeightedPoint {
                        key: b as u64,
                        pos: p.weight,
                        neg: n.weight,
                        pos2: p.squares,
                        neg2: n.squares,
                        pos_rows: p.rows,
                        neg_rows: n.rows,
                        group: 0,
                    }
                })
                .collect();
            weighted_delong(&points, value, normal_quantile(0.5 + ci.level / 2.0))
        }
        (CiMethod::Bootstrap, _) => {
            let points: Vec<(f64, [WeightedCell; 2])> = (0..h.bins())
                .map(|b| ((b as f64 + 0.5) * width, cells(b)))
                .collect();
            let pooled = pool(&points, |&q| q, h.n());
            bootstrap_weighted_points(metric, pooled, value, f64::EPSILON, ci)
        }
        _ => None,
    }
}

fn histogram_groups(h: &ScoreHistogram) -> Vec<(f64, f64)> {
    (0..h.bins())
        .rev()
        .map(|b| {
            let (p, n) = h.bin(b);
            (p as f64, n as f64)
        })
        .collect()
}

// Cells of a binary confusion table, as bit masks: a proportion is (cells counted) / (cells of
// its denominator).
const TP: u8 = 1;
const FP: u8 = 2;
const FN: u8 = 4;
const TN: u8 = 8;
const ALL: u8 = TP | FP | FN | TN;

/// The (numerator, denominator) cells of a proportion metric.
fn proportion(kind: MetricKind) -> Option<(u8, u8)> {
    Some(match kind {
        MetricKind::Accuracy => (TP | TN, ALL),
        MetricKind::Precision => (TP, TP | FP),
        MetricKind::Recall => (TP, TP | FN),
        MetricKind::Specificity => (TN, TN | FP),
        MetricKind::Npv => (TN, TN | FN),
        MetricKind::Fpr => (FP, FP | TN),
        MetricKind::Fnr => (FN, FN | TP),
        MetricKind::Jaccard => (TP, TP | FP | FN),
        MetricKind::Prevalence => (TP | FN, ALL),
        MetricKind::PredictedPositiveRate => (TP | FP, ALL),
        _ => return None,
    })
}

/// Sum of the `cells` (tp, fp, fn, tn order) a mask selects.
fn masked(cells: [f64; 4], mask: u8) -> f64 {
    (0..4)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| cells[i])
        .sum()
}

fn wilson_of(metric: &MetricSpec, c: &BinaryConfusion, z: f64) -> Option<(f64, f64)> {
    let (num, den) = proportion(metric.kind)?;
    let cells = [c.tp as f64, c.fp as f64, c.fn_ as f64, c.tn as f64];
    wilson(masked(cells, num), masked(cells, den), z)
}

/// Wilson for a weighted proportion p = W_num / W_den: the ratio's linearised variance
/// V = Σ_den w² (1[num] - p)² / W_den² gives the effective sample size p (1 - p) / V (Kish's
/// W² / Σ w² when p is 0 or 1); with unit weights both are the row count, so this is Wilson.
fn weighted_wilson(metric: &MetricSpec, c: &WeightedConfusion, z: f64) -> Option<(f64, f64)> {
    let (num, den) = proportion(metric.kind)?;
    let w = [c.tp.value(), c.fp.value(), c.fn_.value(), c.tn.value()];
    // `squares` is in (tp, fn, fp, tn) order.
    let sq = [
        c.squares[0].value(),
        c.squares[2].value(),
        c.squares[1].value(),
        c.squares[3].value(),
    ];
    let (w_num, w_den) = (masked(w, num), masked(w, den));
    let (s_num, s_den) = (masked(sq, num), masked(sq, den));
    if w_den <= 0.0 || s_den <= 0.0 {
        return None;
    }
    let p = (w_num / w_den).clamp(0.0, 1.0);
    let var = (s_num * (1.0 - p) * (1.0 - p) + (s_den - s_num).max(0.0) * p * p) / (w_den * w_den);
    let n_eff = if var > 0.0 && p > 0.0 && p < 1.0 {
        p * (1.0 - p) / var
    } else {
        w_den * w_den / s_den
    };
    wilson(p * n_eff, n_eff, z)
}

/// Wilson score interval of k successes in n trials.
pub fn wilson(k: f64, n: f64, z: f64) -> Option<(f64, f64)> {
    if n <= 0.0 {
        return None;
    }
    let p = k / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((center - half).max(0.0), (center + half).min(1.0)))
}

/// `mean ± z sd / sqrt(n)` with the sample variance `m2 / (n - 1)`; needs two rows.
fn normal(mean: f64, m2: f64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n < 2 || !m2.is_finite() {
        return None;
    }
    let half = z * (m2.max(0.0) / (n - 1) as f64 / n as f64).sqrt();
    Some((mean - half, mean + half))
}

/// A loss is never negative: nor is its interval.
fn non_negative((lo, hi): (f64, f64)) -> (f64, f64) {
    (lo.max(0.0), hi.max(0.0))
}

/// Normal intervals of the regression means: MSE (variance of e² kept in the state), MAE
/// (Var |e| = E e² - MAE²), mean error; RMSE is the square root of the MSE interval.
fn normal_moments(
    kind: MetricKind,
    m: &RegressionMoments,
    value: f64,
    z: f64,
) -> Option<(f64, f64)> {
    let n = m.n as f64;
    match kind {
        MetricKind::Mse | MetricKind::Rmse => {
            let mse = m.sum_squared_error.value() / n;
            let (lo, hi) = non_negative(normal(mse, m.squared_error.m2, m.n, z)?);
            Some(if kind == MetricKind::Rmse {
                (lo.sqrt(), hi.sqrt())
            } else {
                (lo, hi)
            })
        }
        MetricKind::Mae => {
            let mae = m.sum_absolute_error.value() / n;
            let m2 = m.sum_squared_error.value() - n * mae * mae;
            normal(mae, m2, m.n, z).map(non_negative)
        }
        MetricKind::MeanError => normal(m.error.mean, m.error.m2, m.n, z),
        MetricKind::Mape => {
            let a = &m.absolute_percentage_error;
            normal(value, a.m2, m.n, z).map(non_negative)
        }
        MetricKind::R2 | MetricKind::ExplainedVariance => ratio_score_delta(kind, m, value, z),
        _ => None,
    }
}

/// Delta-method interval of R² = 1 - E[e²] / Var(y) or explained variance = 1 - Var(e) / Var(y),
/// from the joint central moments of (e, y). With ẽ = e - ē and ỹ = y - ȳ, the influence of a row
/// on the score is g = -(ẽ² - m20 + 2ē ẽ) / m02 + A (ỹ² - m02) / m02² (A = E[e²] for R², Var(e)
/// for explained variance, where the 2ē ẽ term is absent; the estimated means add nothing to
/// first order), and Var(score) ≈ E[g²] / n expands into the moments below. The interval is
/// clipped at 1 (the score's maximum). None when the target is constant (the score is then 0 or 1
/// by convention, not an estimate).
fn ratio_score_delta(
    kind: MetricKind,
    m: &RegressionMoments,
    value: f64,
    z: f64,
) -> Option<(f64, f64)> {
    let j = &m.joint;
    if j.n < 3 {
        return None;
    }
    let n = j.n as f64;
    let c = |a: usize, b: usize| j.m[a][b] / n;
    let (m20, m02) = (c(2, 0), c(0, 2));
    if m02 <= 0.0 || !m02.is_finite() {
        return None;
    }
    // The central sums: first orders zero, m[0][0] = n.
    let variance = influence_squares(kind, j.mean[0], m20, m02, &j.m) / n;
    if !variance.is_finite() {
        return None;
    }
    // n / (n - 1): the sample variance of the influence values, as `normal` uses.
    let half = z * (variance.max(0.0) / (n - 1.0)).sqrt();
    Some((value - half, (value + half).min(1.0)))
}

/// Normal intervals of weighted means of per-row losses, with the linearised variance of the
/// weighted mean (`WeightedSpread::variance_of_mean`).
fn normal_weighted(
    kind: MetricKind,
    m: &WeightedMoments,
    value: f64,
    z: f64,
) -> Option<(f64, f64)> {
    let w = m.weight.value();
    if m.rows < 2 || w <= 0.0 {
        return None;
    }
    let half =
        |spread: &WeightedSpread, mean: f64| z * spread.variance_of_mean(mean, w).max(0.0).sqrt();
    match kind {
        MetricKind::Mse | MetricKind::Rmse => {
            let mse = m.squared_error.value() / w;
            let h = half(&m.squared_error_w2, mse);
            let (lo, hi) = non_negative((mse - h, mse + h));
            Some(if kind == MetricKind::Rmse {
                (lo.sqrt(), hi.sqrt())
            } else {
                (lo, hi)
            })
        }
        MetricKind::Mae => {
            let h = half(&m.absolute_error_w2, value);
            Some(non_negative((value - h, value + h)))
        }
        MetricKind::MeanError => {
            let h = half(&m.error_w2, value);
            Some((value - h, value + h))
        }
        MetricKind::Mape => {
            let h = half(&m.absolute_percentage_error_w2, value);
            Some(non_negative((value - h, value + h)))
        }
        MetricKind::R2 | MetricKind::ExplainedVariance => {
            weighted_ratio_score_delta(kind, m, value, z)
        }
        _ => None,
    }
}

/// `ratio_score_delta` with sample weights: the same influence g of a row, with weighted means
/// and central moments (ē, m20 = Var_w(e), m02 = Var_w(y)), and the linearised variance
/// Σ w² g² / (Σ w)², expanded into the joint moments of (e, y) under w² read about the
/// w-weighted means (`WeightedCoMoments::about`, which keeps the first orders: they are not zero
/// about another mean).
fn weighted_ratio_score_delta(
    kind: MetricKind,
    m: &WeightedMoments,
    value: f64,
    z: f64,
) -> Option<(f64, f64)> {
    let w = m.weight.value();
    let (m20, m02) = (m.error.m2 / w, m.target.m2 / w);
    if m.rows < 3 || m02 <= 0.0 || !m02.is_finite() || !m20.is_finite() {
        return None;
    }
    let sums = m.joint_w2.about([m.error.mean, m.target.mean]);
    let sum = influence_squares(kind, m.error.mean, m20, m02, &sums);
    let half = z * (sum.max(0.0) / (w * w)).sqrt();
    half.is_finite()
        .then(|| (value - half, (value + half).min(1.0)))
}

/// Σ g² over the rows of a row's influence on R² or explained variance (Σ w² g² when `s` holds
/// sums under w²): g = k1 (ẽ² - m20) + k2 ẽ + k3 (ỹ² - m02), with k1 = -1 / m02,
/// k2 = -2 ē / m02 (R² only: explained variance has no 2 ē ẽ term) and k3 = A / m02², A the
/// numerator (m20 + ē² or m20). `s[a][b]` = Σ ẽ^a ỹ^b about the means, first orders included
/// (zero for central sums, not for sums under w² read about the w-weighted means).
fn influence_squares(kind: MetricKind, mean_e: f64, m20: f64, m02: f64, s: &[[f64; 5]; 5]) -> f64 {
    let mean_e = if kind == MetricKind::R2 { mean_e } else { 0.0 };
    let numerator = m20 + mean_e * mean_e;
    let (k1, k2, k3) = (-1.0 / m02, -2.0 * mean_e / m02, numerator / (m02 * m02));
    k1 * k1 * (s[4][0] - 2.0 * m20 * s[2][0] + m20 * m20 * s[0][0])
        + k2 * k2 * s[2][0]
        + k3 * k3 * (s[0][4] - 2.0 * m02 * s[0][2] + m02 * m02 * s[0][0])
        + 2.0 * k1 * k2 * (s[3][0] - m20 * s[1][0])
        + 2.0 * k1 * k3 * (s[2][2] - m20 * s[0][2] - m02 * s[2][0] + m20 * m02 * s[0][0])
        + 2.0 * k2 * k3 * (s[1][2] - m02 * s[1][0])
}

/// Delta-method interval of d2_absolute_error = 1 - A / B, A = mean |y - p|, B = mean
/// |y - median(y)|: a row's influence is g = -(|e| - A) / B + A (|y - m| - B) / B² (the median
/// adds nothing to first order: B is smallest at the median, so its derivative there is 0).
/// One pass over the exact values the state keeps anyway; clipped above at 1, none for a constant
/// target.
fn d2_delta(y: &[f64], p: &[f64], value: f64, z: f64) -> Option<(f64, f64)> {
    let n = y.len();
    if n < 3 {
        return None;
    }
    let m = median(&mut y.to_vec())?;
    let nf = n as f64;
    let a = y.iter().zip(p).map(|(t, q)| (t - q).abs()).sum::<f64>() / nf;
    let b = y.iter().map(|t| (t - m).abs()).sum::<f64>() / nf;
    if b <= 0.0 || !b.is_finite() {
        return None;
    }
    let ss: f64 = y
        .iter()
        .zip(p)
        .map(|(t, q)| {
            let g = d2_influence(*t, *q, m, a, b);
            g * g
        })
        .sum();
    let half = z * (ss / (nf - 1.0) / nf).sqrt();
    half.is_finite()
        .then(|| (value - half, (value + half).min(1.0)))
}

/// Intervals over the exact values with sample weights: the weighted d2_absolute_error by the
/// delta method (as `d2_delta`, with the weighted median and means, and the linearised variance
/// Σ w² g² / (Σ w)² of the other weighted intervals); the weighted median absolute error between
/// the weighted percentiles at 1/2 ± z √(1/4 / n_eff), n_eff = (Σ w)² / Σ w² (Kish's effective
/// sample size; equal weights give the normal approximation of the binomial ranks). A quantile
/// of a column ignores weights, as its value does.
fn weighted_exact_values(
    metric: &MetricSpec,
    v: &ExactValues,
    method: CiMethod,
    value: f64,
    z: f64,
) -> Option<(f64, f64)> {
    let (y, w) = (v.column(0), v.weights());
    let total: f64 = w.iter().sum();
    let squares: f64 = w.iter().map(|x| x * x).sum();
    if y.len() < 3 || total <= 0.0 || !(total * total).is_finite() || squares <= 0.0 {
        return None;
    }
    match (method, metric.kind) {
        (CiMethod::OrderStatistic, MetricKind::Quantile) => {
            order_statistic(metric.kind, metric, v, z)
        }
        (CiMethod::OrderStatistic, MetricKind::MedianAbsoluteError) => {
            let p = v.column(1);
            let errors: Vec<f64> = y.iter().zip(&p).map(|(a, b)| (b - a).abs()).collect();
            let half = z * (0.25 * squares / (total * total)).sqrt();
            let lo = weighted_percentile(&errors, &w, (0.5 - half).max(0.0))?;
            let hi = weighted_percentile(&errors, &w, (0.5 + half).min(1.0))?;
            Some((lo.min(value), hi.max(value)))
        }
        (CiMethod::Normal, MetricKind::D2AbsoluteError) => {
            let p = v.column(1);
            let m = weighted_percentile(&y, &w, 0.5)?;
            let a = y
                .iter()
                .zip(&p)
                .zip(&w)
                .map(|((t, q), wi)| wi * (t - q).abs())
                .sum::<f64>()
                / total;
            let b = y
                .iter()
                .zip(&w)
                .map(|(t, wi)| wi * (t - m).abs())
                .sum::<f64>()
                / total;
            if b <= 0.0 || !b.is_finite() {
                return None;
            }
            let ss: f64 = y
                .iter()
                .zip(&p)
                .zip(&w)
                .map(|((t, q), wi)| {
                    let g = d2_influence(*t, *q, m, a, b);
                    wi * wi * g * g
                })
                .sum();
            let half = z * (ss / (total * total)).sqrt();
            half.is_finite()
                .then(|| (value - half, (value + half).min(1.0)))
        }
        _ => None,
    }
}

/// A row's influence on d2_absolute_error = 1 - A / B (see `d2_delta`): target `t`, prediction
/// `q`, median `m` of the targets, A the mean absolute error, B the mean |t - m|.
fn d2_influence(t: f64, q: f64, m: f64, a: f64, b: f64) -> f64 {
    -((t - q).abs() - a) / b + a / (b * b) * ((t - m).abs() - b)
}

/// 0-based ranks (lo, hi) of the order statistics around quantile `q` of `n` values: the count of
/// values below the true quantile is Binomial(n, q); its normal approximation with a continuity
/// correction, rounded outwards, gives ranks whose interval covers at least `level`.
fn quantile_ranks(n: u64, q: f64, z: f64) -> Option<(u64, u64)> {
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let half = z * (nf * q * (1.0 - q)).sqrt();
    // 1-based ranks r <= nq - half + 1/2 and s >= nq + half + 1/2.
    let r = (nf * q - half + 0.5).floor().clamp(1.0, nf) as u64;
    let s = (nf * q + half + 0.5).ceil().clamp(1.0, nf) as u64;
    Some((r - 1, s - 1))
}

fn order_statistic(
    kind: MetricKind,
    metric: &MetricSpec,
    v: &ExactValues,
    z: f64,
) -> Option<(f64, f64)> {
    let (mut values, q) = match kind {
        MetricKind::Quantile => (v.column(0), metric.q.unwrap_or(0.5)),
        MetricKind::MedianAbsoluteError => {
            let (y, p) = (v.column(0), v.column(1));
            let e = y.iter().zip(&p).map(|(a, b)| (b - a).abs()).collect();
            (e, 0.5)
        }
        _ => return None,
    };
    let (lo, hi) = quantile_ranks(values.len() as u64, q, z)?;
    let (lo, hi) = (lo as usize, hi as usize);
    let (_, &mut hi_value, _) = values.select_nth_unstable_by(hi, f64::total_cmp);
    let (_, &mut lo_value, _) = values[..=hi].select_nth_unstable_by(lo, f64::total_cmp);
    Some((lo_value, hi_value))
}

/// DeLong's interval for ROC AUC from tied groups in decreasing score order: each positive's
/// placement is the fraction of negatives below it (ties count 1/2), each negative's the fraction
/// of positives above it; Var(AUC) = Var(positive placements) / P + Var(negative placements) / N.
///
/// One pass over the groups (with tens of millions of distinct scores the pass is memory-bound):
/// the placements' squared deviations are expanded into sums of A = negatives above + half the
/// tied ones and B = positives above + half the tied ones, whose totals P and N are only known at
/// the end.
pub fn delong(
    groups_desc: impl Iterator<Item = (f64, f64)>,
    auc: f64,
    z: f64,
) -> Option<(f64, f64)> {
    let mut sums = DelongSums::default();
    for (pos, neg) in groups_desc {
        sums.add(pos, neg);
    }
    sums.interval(auc, z)
}

/// The running sums of `delong`'s single pass.
#[derive(Default)]
struct DelongSums {
    p: f64,
    n: f64,
    /// Σ pos·A, Σ pos·A², Σ neg·B, Σ neg·B².
    pa: f64,
    pa2: f64,
    nb: f64,
    nb2: f64,
}

impl DelongSums {
    #[inline]
    fn add(&mut self, pos: f64, neg: f64) {
        let a = self.n + 0.5 * neg;
        let b = self.p + 0.5 * pos;
        self.pa += pos * a;
        self.pa2 += pos * a * a;
        self.nb += neg * b;
        self.nb2 += neg * b * b;
        self.p += pos;
        self.n += neg;
    }

    /// Appends the sums of the next groups (in the same order), taken from zero: their A and B
    /// shift by the negatives and positives counted here.
    fn then(&mut self, next: &DelongSums) {
        let (p0, n0) = (self.p, self.n);
        self.pa += next.pa + n0 * next.p;
        self.pa2 += next.pa2 + 2.0 * n0 * next.pa + n0 * n0 * next.p;
        self.nb += next.nb + p0 * next.n;
        self.nb2 += next.nb2 + 2.0 * p0 * next.nb + p0 * p0 * next.n;
        self.p += next.p;
        self.n += next.n;
    }

    fn interval(&self, auc: f64, z: f64) -> Option<(f64, f64)> {
        let (p, n) = (self.p, self.n);
        if p < 2.0 || n < 2.0 {
            return None;
        }
        // Positive placement v10 = 1 - A / n; negative placement v01 = B / p.
        let c = 1.0 - auc;
        let s10 = c * c * p - 2.0 * c * self.pa / n + self.pa2 / (n * n);
        let s01 = self.nb2 / (p * p) - 2.0 * auc * self.nb / p + auc * auc * n;
        let variance = s10.max(0.0) / (p - 1.0) / p + s01.max(0.0) / (n - 1.0) / n;
        let half = z * variance.max(0.0).sqrt();
        Some(((auc - half).max(0.0), (auc + half).min(1.0)))
    }
}

/// DeLong's interval for a weighted ROC AUC (scikit-learn's `sample_weight`): a positive's
/// placement is the weight fraction of negatives below it (ties count 1/2), a negative's the
/// weight fraction of positives above it, and the linearised variance of the weighted AUC is
/// Σ_pos w² (placement - AUC)² / W_pos² + Σ_neg w² (placement - AUC)² / W_neg²; placements are
/// constant within a distinct score, so Σ w² per score and class suffices. With unit weights this
/// is DeLong's variance with 1/P² for 1/(P (P - 1)).
fn weighted_delong(points: &[WeightedPoint], auc: f64, z: f64) -> Option<(f64, f64)> {
    let (wp, wn) = points
        .iter()
        .fold((0.0, 0.0), |(p, n), q| (p + q.pos, n + q.neg));
    let nonzero = |f: fn(&WeightedPoint) -> f64| points.iter().filter(|q| f(q) > 0.0).count();
    if wp <= 0.0 || wn <= 0.0 || nonzero(|q| q.pos) + nonzero(|q| q.neg) < 3 {
        return None;
    }
    let (mut pos_above, mut neg_above, mut s10, mut s01) = (0.0, 0.0, 0.0, 0.0);
    for q in points.iter().rev() {
        let v10 = (wn - neg_above - 0.5 * q.neg) / wn;
        let v01 = (pos_above + 0.5 * q.pos) / wp;
        s10 += q.pos2 * (v10 - auc) * (v10 - auc);
        s01 += q.neg2 * (v01 - auc) * (v01 - auc);
        pos_above += q.pos;
        neg_above += q.neg;
    }
    let variance = s10 / (wp * wp) + s01 / (wn * wn);
    if !variance.is_finite() {
        return None;
    }
    let half = z * variance.max(0.0).sqrt();
    Some(((auc - half).max(0.0), (auc + half).min(1.0)))
}

/// ROC AUC of exact score runs and its DeLong interval in ONE pass over the runs (with a float
/// score per row the runs are as long as the data, and each pass is memory-bound): the value is
/// the same exact integer computation as `scores::roc_auc`.
pub fn roc_auc_with_delong(r: &ScoreRuns, ci: &CiSpec) -> (Outcome, Option<(f64, f64)>) {
    if r.n() == 0 {
        return (Outcome::undefined(reason::INSUFFICIENT_DATA), None);
    }
    // Blocks of scores walked in parallel and chained from the top, as `roc_auc_of_curve`
    // does; the DeLong sums of a block are shifted by what the blocks above counted.
    let blocks: Vec<(RocArea, DelongSums)> = r
        .curve()
        .blocks(BLOCK)
        .into_par_iter()
        .map(|block| {
            let (mut area, mut sums) = (RocArea::default(), DelongSums::default());
            for q in block.points().rev() {
                area.add(q.pos, q.neg);
                sums.add(q.pos as f64, q.neg as f64);
            }
            (area, sums)
        })
        .collect();
    let (mut area, mut sums) = (RocArea::default(), DelongSums::default());
    for (block_area, block_sums) in blocks.iter().rev() {
        area = area.then(block_area);
        sums.then(block_sums);
    }
    let outcome = area.auc();
    let Some(auc) = outcome.value else {
        return (outcome, None);
    };
    let z = normal_quantile(0.5 + ci.level / 2.0);
    (outcome, sums.interval(auc, z))
}

/// Percentile interval of `resamples` values of `resample` (those that are finite). Resample
/// `b` draws from its own generator, keyed by the seed and `b`, so the resamples run in
/// parallel and the same table always gives the same interval, whatever the threads.
fn percentile_bootstrap(
    ci: &CiSpec,
    cells: usize,
    resample: impl Fn(&mut SplitMix64) -> Option<f64> + Sync,
) -> Option<(f64, f64)> {
    let seed = ci.seed ^ 0x5C0E_B0A2_D000_0001;
    // Small tables resample on the calling thread: a task costs more than their resamples.
    let per_task = (PARALLEL_CELL_DRAWS / cells.max(1)).max(1);
    let mut values: Vec<f64> = (0..ci.resamples)
        .into_par_iter()
        .with_min_len(per_task)
        // Undefined (or overflowed) resamples are left out.
        .filter_map(|b| resample(&mut SplitMix64::stream(seed, b.into())).filter(|v| v.is_finite()))
        .collect();
    if values.len() < 2 {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let alpha = (1.0 - ci.level) / 2.0;
    Some((percentile(&values, alpha), percentile(&values, 1.0 - alpha)))
}

/// Cells a bootstrap task resamples at least (resamples x cells of the table).
const PARALLEL_CELL_DRAWS: usize = 1 << 16;

/// Percentile bootstrap over a count table: `cells` is resampled multinomially (same total) and
/// `value_of` finalizes each resample; the interval comes from the resamples whose value is
/// defined. O(cells) per resample, seeded: the same table always gives the same interval.
fn bootstrap_cells(
    cells: &[u64],
    ci: &CiSpec,
    value_of: impl Fn(&[u64]) -> Option<f64> + Sync,
) -> Option<(f64, f64)> {
    let n: u64 = cells.iter().sum();
    if n == 0 {
        return None;
    }
    percentile_bootstrap(ci, cells.len(), |rng| value_of(&multinomial(rng, n, cells)))
}

/// One cell of a weighted count table: its rows, their summed weights and squared weights.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WeightedCell {
    pub rows: u64,
    pub weight: f64,
    pub squares: f64,
}

impl WeightedCell {
    pub fn new(rows: u64, weight: f64, squares: f64) -> WeightedCell {
        WeightedCell {
            rows,
            weight,
            squares,
        }
    }

    fn plus(self, o: WeightedCell) -> WeightedCell {
        WeightedCell::new(
            self.rows + o.rows,
            self.weight + o.weight,
            self.squares + o.squares,
        )
    }

    /// The summed weight of `m` rows drawn with replacement from this cell: a sum of m draws
    /// from its weights has mean m W / n and variance m (Q / n - (W / n)²), drawn as that normal
    /// clipped at 0. Equal weights (no spread, up to rounding) give the mean exactly and draw no
    /// normal, so unit weights resample exactly as the unweighted table.
    fn draw(&self, m: u64, rng: &mut SplitMix64) -> f64 {
        if m == 0 || self.rows == 0 {
            return 0.0;
        }
        let n = self.rows as f64;
        let mean = self.weight / n;
        let spread = self.squares / n - mean * mean;
        let m = m as f64;
        if spread <= 1e-12 * mean * mean {
            return m * mean;
        }
        (m * mean + (m * spread).sqrt() * rng.normal()).max(0.0)
    }
}

/// Moment-matched weighted multinomial bootstrap: the rows are resampled multinomially over the
/// cells (m_c ~ Multinomial(n, n_c / n), as `bootstrap_cells`) and each cell's resampled weight
/// is drawn by `WeightedCell::draw`; `value_of` finalizes (drawn rows, drawn weights).
/// O(cells) per resample, seeded like `bootstrap_cells`.
fn bootstrap_weighted_cells(
    cells: &[WeightedCell],
    ci: &CiSpec,
    value_of: impl Fn(&[u64], &[f64]) -> Option<f64> + Sync,
) -> Option<(f64, f64)> {
    let rows: Vec<u64> = cells.iter().map(|c| c.rows).collect();
    let n: u64 = rows.iter().sum();
    // Weights so large that their squares overflow: no interval rather than a wrong one.
    let finite = cells
        .iter()
        .all(|c| c.weight.is_finite() && c.squares.is_finite());
    if n == 0 || !finite {
        return None;
    }
    percentile_bootstrap(ci, cells.len(), |rng| {
        let drawn = multinomial(rng, n, &rows);
        let weights: Vec<f64> = cells
            .iter()
            .zip(&drawn)
            .map(|(c, &m)| c.draw(m, rng))
            .collect();
        value_of(&drawn, &weights)
    })
}

/// Bootstrap of a binary confusion table (tp, fp, fn, tn).
fn bootstrap(metric: &MetricSpec, c: &BinaryConfusion, ci: &CiSpec) -> Option<(f64, f64)> {
    bootstrap_cells(&[c.tp, c.fp, c.fn_, c.tn], ci, |d| {
        let counts = Counts {
            tp: d[0] as f64,
            fp: d[1] as f64,
            fn_: d[2] as f64,
            tn: d[3] as f64,
        };
        let exact = BinaryConfusion {
            tp: d[0],
            fp: d[1],
            fn_: d[2],
            tn: d[3],
        };
        finalize_counts(metric, &counts, d.iter().sum(), Some(&exact)).value
    })
}

/// Weighted bootstrap of a binary confusion table: (tp, fp, fn, tn) cells.
fn bootstrap_weighted_confusion(
    metric: &MetricSpec,
    cells: &[WeightedCell; 4],
    ci: &CiSpec,
) -> Option<(f64, f64)> {
    bootstrap_weighted_cells(cells, ci, |rows, w| {
        let counts = Counts {
            tp: w[0],
            fp: w[1],
            fn_: w[2],
            tn: w[3],
        };
        finalize_counts(metric, &counts, rows.iter().sum(), None).value
    })
}

/// Weighted bootstrap of a K x K multiclass table: O(K²) per resample.
fn bootstrap_weighted_multiclass(
    metric: &MetricSpec,
    c: &MulticlassConfusion,
    ci: &CiSpec,
) -> Option<(f64, f64)> {
    let cells: Vec<WeightedCell> = c
        .raw_counts()
        .iter()
        .zip(c.raw_weights())
        .map(|(&rows, (w, q))| WeightedCell::new(rows, w, q))
        .collect();
    bootstrap_weighted_cells(&cells, ci, |rows, w| {
        multiclass::finalize(metric, &c.with_weights(rows.to_vec(), w))
            .into_iter()
            .find(|v| v.class.is_none())?
            .value
    })
}

/// Bootstrap of a K x K multiclass table: O(K²) per resample.
fn bootstrap_multiclass(
    metric: &MetricSpec,
    c: &MulticlassConfusion,
    ci: &CiSpec,
) -> Option<(f64, f64)> {
    bootstrap_cells(c.raw_counts(), ci, |d| {
        multiclass::finalize(metric, &c.with_counts(d.to_vec()))
            .into_iter()
            .find(|v| v.class.is_none())?
            .value
    })
}

/// Most score groups a bootstrap resamples. Resampling the exact runs costs O(distinct scores)
/// per resample; with millions of distinct scores (a float score per row) 1,000 resamples would
/// cost far more than the evaluation. Above this, adjacent scores are pooled into groups of
/// equal row count (at the row-weighted mean score): the spread of the resampled values is that
/// of the pooled table, and the interval is shifted by (exact value - pooled value) so it stays
/// around the exact value. Pooling into 1,024 groups moves a curve metric by O(1/1024), below the
/// sampling error of a sample large enough to have that many distinct scores, and bounds the
/// cost at `resamples` x 2,048 cells (about 0.1 s for 1,000 resamples) whatever the rows.
pub const MAX_BOOTSTRAP_GROUPS: usize = 1024;

/// Bootstrap of pooled (score, (positives, negatives)) points in increasing score order.
fn bootstrap_points(
    metric: &MetricSpec,
    pooled: Vec<(f64, (u64, u64))>,
    value: f64,
    clip_eps: f64,
    ci: &CiSpec,
) -> Option<(f64, f64)> {
    let cells: Vec<u64> = pooled.iter().flat_map(|&(_, (p, n))| [p, n]).collect();
    let finalize = |counts: &[u64]| {
        let points = pooled
            .iter()
            .zip(counts.chunks_exact(2))
            .map(|(q, c)| (q.0, c[0] as f64, c[1] as f64));
        finalize_curve(metric, points, clip_eps).value
    };
    let shift = value - finalize(&cells)?;
    let (lo, hi) = bootstrap_cells(&cells, ci, finalize)?;
    Some((lo + shift, hi + shift))
}

/// `bootstrap_points` over weighted (score, [positive cell, negative cell]) points: the weighted
/// bootstrap of the pooled cells, re-centred on the exact value in the same way.
fn bootstrap_weighted_points(
    metric: &MetricSpec,
    pooled: Vec<(f64, [WeightedCell; 2])>,
    value: f64,
    clip_eps: f64,
    ci: &CiSpec,
) -> Option<(f64, f64)> {
    let cells: Vec<WeightedCell> = pooled.iter().flat_map(|&(_, c)| c).collect();
    let finalize = |weights: &[f64]| {
        let points = pooled
            .iter()
            .zip(weights.chunks_exact(2))
            .map(|(q, w)| (q.0, w[0], w[1]));
        finalize_curve(metric, points, clip_eps).value
    };
    let observed: Vec<f64> = cells.iter().map(|c| c.weight).collect();
    let shift = value - finalize(&observed)?;
    let (lo, hi) = bootstrap_weighted_cells(&cells, ci, |_, w| finalize(w))?;
    Some((lo + shift, hi + shift))
}

/// The cells of one score (or bin, or group) that `pool` adds up.
trait Group: Copy + Default {
    fn rows(&self) -> u64;
    fn plus(self, other: Self) -> Self;
}

impl Group for (u64, u64) {
    fn rows(&self) -> u64 {
        self.0 + self.1
    }
    fn plus(self, o: Self) -> Self {
        (self.0 + o.0, self.1 + o.1)
    }
}

impl Group for [WeightedCell; 2] {
    fn rows(&self) -> u64 {
        self[0].rows + self[1].rows
    }
    fn plus(self, o: Self) -> Self {
        [self[0].plus(o[0]), self[1].plus(o[1])]
    }
}

/// The consecutive points `pool` sums together before grouping them (one parallel pass over
/// the points; groups' boundaries fall between runs): a sixteenth of a group's points or fewer,
/// rounded down to a power of two so that the value's walk blocks of points (`scores::BLOCK`)
/// are whole runs.
fn pool_run(points: usize) -> usize {
    let run = (points / (16 * MAX_BOOTSTRAP_GROUPS)).max(1);
    1 << run.ilog2()
}

/// The non-empty `points` as (score, group) cells (`cell` reads one) and, when there are more
/// than `MAX_BOOTSTRAP_GROUPS` of them (holding `rows` rows), adjacent ones pooled into about
/// that many groups of equal row count, each at its row-weighted mean score.
fn pool<P: Sync, G: Group + Send>(
    points: &[P],
    cell: impl Fn(&P) -> (f64, G) + Sync,
    rows: u64,
) -> Vec<(f64, G)> {
    if points.len() <= MAX_BOOTSTRAP_GROUPS {
        return points
            .iter()
            .map(&cell)
            .filter(|q| q.1.rows() > 0)
            .collect();
    }
    let runs: Vec<(f64, G)> = points
        .par_chunks(pool_run(points.len()))
        .map(|run| sum_run(run.iter().map(&cell)))
        .collect();
    group_runs(runs, rows)
}

/// (Σ score × rows, summed cell) of one run of consecutive cells, as `pool` sums them (in one
/// parallel pass over the runs).
fn sum_run<G: Group>(cells: impl Iterator<Item = (f64, G)>) -> (f64, G) {
    cells.fold((0.0, G::default()), |(weighted, sum), (score, g)| {
        (weighted + score * g.rows() as f64, sum.plus(g))
    })
}

/// Runs of points (as `pool` sums them) holding `rows` rows, pooled into about
/// `MAX_BOOTSTRAP_GROUPS` groups of equal row count: a run joins group ⌊rows before it / target⌋.
fn group_runs<G: Group>(runs: Vec<(f64, G)>, rows: u64) -> Vec<(f64, G)> {
    let target = rows.div_ceil(MAX_BOOTSTRAP_GROUPS as u64).max(1);
    let mut groups: Vec<(u64, f64, G)> = Vec::with_capacity(MAX_BOOTSTRAP_GROUPS + 1);
    let mut before = 0u64;
    for (weighted, g) in runs.into_iter().filter(|r| r.1.rows() > 0) {
        let index = before / target;
        before += g.rows();
        match groups.last_mut() {
            Some(last) if last.0 == index => {
                last.1 += weighted;
                last.2 = last.2.plus(g);
            }
            _ => groups.push((index, weighted, g)),
        }
    }
    groups
        .into_iter()
        .map(|(_, weighted, g)| (weighted / g.rows() as f64, g))
        .collect()
}

/// `pool` over the distinct scores of exact runs, as stored. The runs it sums are the value's
/// walk blocks (`BLOCK`) cut into `pool_run` points each, or about as many rows (never
/// splitting a score), so `pr_auc_with_bootstrap` counts them in the value's pass.
fn pool_curve(curve: Curve<'_>, rows: u64) -> Vec<(f64, (u64, u64))> {
    let cell = |q: Point| (q.score(), (q.pos, q.neg));
    if curve.len() <= MAX_BOOTSTRAP_GROUPS {
        return curve
            .points()
            .map(cell)
            .filter(|q| q.1.rows() > 0)
            .collect();
    }
    let run = pool_run(curve.len());
    let pieces: Vec<Curve<'_>> = curve
        .blocks(BLOCK)
        .into_iter()
        .flat_map(|block| block.blocks(run))
        .collect();
    let runs: Vec<(f64, (u64, u64))> = pieces
        .into_par_iter()
        .map(|run| sum_run(run.points().map(cell)))
        .collect();
    group_runs(runs, rows)
}

/// Average precision of exact score runs and its bootstrap interval in the value's two passes
/// over the runs (each memory-bound when there is a float score per row): the pass that counts
/// the walk's blocks sums the pooling's runs, which tile the blocks. The value is
/// `scores::average_precision_of_curve`'s, bit for bit.
pub fn pr_auc_with_bootstrap(
    metric: &MetricSpec,
    r: &ScoreRuns,
    ci: &CiSpec,
) -> (Outcome, Option<(f64, f64)>) {
    if r.n() == 0 {
        return (Outcome::undefined(reason::INSUFFICIENT_DATA), None);
    }
    let curve = r.curve();
    let (value, pooled) = if curve.len() <= MAX_BOOTSTRAP_GROUPS {
        let value = average_precision_of_curve(curve, metric.zero_division);
        (value, pool_curve(curve, r.n()))
    } else {
        // Average precision reads the pooled groups' order, never their scores: the runs count
        // rows only (converting and weighting every score doubled this pass), and the groups'
        // scores are left at 0. Each walk block is cut into `pool_curve`'s runs.
        let (blocks, run) = (curve.blocks(BLOCK), pool_run(curve.len()));
        let runs: Vec<Vec<(f64, (u64, u64))>> = blocks
            .par_iter()
            .map(|block| {
                let runs = block.blocks(run).into_iter();
                runs.map(|run| (0.0, run.totals())).collect()
            })
            .collect();
        let totals: Vec<(u64, u64)> = runs
            .iter()
            .map(|block| block.iter().fold((0, 0), |sum, q| sum.plus(q.1)))
            .collect();
        let value = average_precision_in_blocks(&blocks, &totals, metric.zero_division);
        (
            value,
            group_runs(runs.into_iter().flatten().collect(), r.n()),
        )
    };
    let interval = value
        .value
        .and_then(|v| bootstrap_points(metric, pooled, v, r.clip_eps(), ci));
    (value, interval)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = (sorted.len() - 1) as f64 * q;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// A small, fast, seedable generator (SplitMix64): the same seed always gives the same
/// interval, whatever the platform or the crates' versions of their own generators.
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// Stream `index` of `seed`: a generator started at a hash of both, so streams of one seed
    /// do not overlap in practice (SplitMix64's own seeds would, one step apart).
    pub fn stream(seed: u64, index: u64) -> SplitMix64 {
        let start = SplitMix64::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64();
        SplitMix64::new(start)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal, by rand_distr's ziggurat (about 2.4 ns a draw here, Box-Muller's
    /// logarithm, root and sine 13: a bootstrap resample draws one per cell).
    pub fn normal(&mut self) -> f64 {
        StandardNormal.sample(self)
    }
}

impl RngCore for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (SplitMix64::next_u64(self) >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        SplitMix64::next_u64(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dest)
    }
}

/// Multinomial draw of `n` over cells with the given counts (probabilities `count / n`), by
/// sequential conditional binomials.
fn multinomial(rng: &mut SplitMix64, n: u64, cells: &[u64]) -> Vec<u64> {
    let total: u64 = cells.iter().sum();
    let mut left_n = n;
    let mut left_mass = total;
    let mut out = Vec::with_capacity(cells.len());
    for (i, &c) in cells.iter().enumerate() {
        if i + 1 == cells.len() || left_mass == 0 {
            out.push(if left_mass == 0 { 0 } else { left_n });
            left_n = 0;
            continue;
        }
        let k = binomial(rng, left_n, c as f64 / left_mass as f64);
        out.push(k);
        left_n -= k;
        left_mass -= c;
    }
    out
}

/// Binomial(n, p): inversion of the CDF from 0 when n·min(p, 1 - p) is small (one uniform, the
/// pmf by its recurrence: O(mean) multiplications, no logarithm per success), a rounded normal
/// approximation (clamped to [0, n]) when the variance is large.
fn binomial(rng: &mut SplitMix64, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    let mean = n as f64 * p;
    if mean < 30.0 {
        // P(0) = (1 - p)^n >= e^-60 here: no underflow.
        let ratio = p / (1.0 - p);
        let mut pmf = (n as f64 * (-p).ln_1p()).exp();
        let mut cdf = pmf;
        let u = rng.uniform();
        let mut k = 0u64;
        while u > cdf && k < n {
            pmf *= (n - k) as f64 / (k + 1) as f64 * ratio;
            k += 1;
            cdf += pmf;
            if pmf < 1e-300 {
                break;
            }
        }
        return k;
    }
    let sd = (mean * (1.0 - p)).sqrt();
    // Clamped, then rounded half up: `round()` for a non-negative value, without its libm call.
    ((mean + sd * rng.normal()).clamp(0.0, n as f64) + 0.5) as u64
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_and_wilson() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        let (lo, hi) = wilson(50.0, 100.0, 1.96).unwrap();
        assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3);
    }

    #[test]
    fn binomial_moments() {
        let mut rng = SplitMix64::new(1);
        for &(n, p) in &[(20u64, 0.3), (1000, 0.01), (100_000, 0.4), (50, 0.9)] {
            let draws: Vec<f64> = (0..20_000)
                .map(|_| binomial(&mut rng, n, p) as f64)
                .collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let want = n as f64 * p;
            assert!((mean - want).abs() < 0.05 * want.max(1.0), "{n} {p} {mean}");
        }
        let drawn = multinomial(&mut rng, 100, &[10, 0, 30, 60]);
        assert_eq!(drawn.iter().sum::<u64>(), 100);
        assert_eq!(drawn[1], 0);
    }

    #[test]
    fn delong_matches_the_two_pass_formula() {
        // Groups in decreasing score order, with ties; AUC by pairs.
        let groups = [(3.0, 0.0), (2.0, 1.0), (1.0, 1.0), (0.0, 2.0), (1.0, 3.0)];
        let (p, n) = (7.0, 7.0);
        let (mut pos_above, mut neg_above, mut area) = (0.0, 0.0, 0.0);
        let (mut v10s, mut v01s) = (Vec::new(), Vec::new());
        for &(pos, neg) in &groups {
            let v10 = (n - neg_above - 0.5 * neg) / n;
            let v01 = (pos_above + 0.5 * pos) / p;
            area += pos * v10;
            v10s.push((pos, v10));
            v01s.push((neg, v01));
            pos_above += pos;
            neg_above += neg;
        }
        let auc = area / p;
        let var = |v: &[(f64, f64)], m: f64| {
            v.iter().map(|(w, x)| w * (x - auc).powi(2)).sum::<f64>() / (m - 1.0) / m
        };
        let half = 1.0 * (var(&v10s, p) + var(&v01s, n)).sqrt();
        let (lo, hi) = delong(groups.iter().copied(), auc, 1.0).unwrap();
        let (want_lo, want_hi) = ((auc - half).max(0.0), (auc + half).min(1.0));
        assert!(half > 0.0 && want_hi < 1.0, "{auc} {half}");
        assert!((lo - want_lo).abs() < 1e-12 && (hi - want_hi).abs() < 1e-12);
    }

    #[test]
    fn quantile_ranks_bracket_the_quantile() {
        // n = 500, q = 0.5: ranks 228 and 273 (1-based), covering 95.6% of Binomial(500, 1/2).
        assert_eq!(quantile_ranks(500, 0.5, 1.959_964), Some((227, 272)));
        let (lo, hi) = quantile_ranks(10, 0.99, 1.96).unwrap();
        assert!(lo <= hi && hi == 9);
        assert_eq!(quantile_ranks(1, 0.5, 1.96), None);
    }

    #[test]
    fn unit_weights_give_wilson() {
        use crate::accum::moments::CompensatedSum;
        let sum = |x: f64| {
            let mut s = CompensatedSum::default();
            s.add(x);
            s
        };
        let (tp, fp, fn_, tn) = (30.0, 10.0, 20.0, 40.0);
        let c = WeightedConfusion {
            rows: 100,
            tp: sum(tp),
            fp: sum(fp),
            fn_: sum(fn_),
            tn: sum(tn),
            squares: [sum(tp), sum(fn_), sum(fp), sum(tn)],
            counts: BinaryConfusion {
                tp: 30,
                fp: 10,
                fn_: 20,
                tn: 40,
            },
        };
        let spec: MetricSpec =
            serde_json::from_str(r#"{"name": "recall", "kind": "recall", "accumulator": 0}"#)
                .unwrap();
        let (lo, hi) = weighted_wilson(&spec, &c, 1.96).unwrap();
        let (wlo, whi) = wilson(30.0, 50.0, 1.96).unwrap();
        assert!((lo - wlo).abs() < 1e-12 && (hi - whi).abs() < 1e-12);
    }

    #[test]
    fn weighted_draws_match_the_moments_of_resampled_weights() {
        // A cell of 4 rows weighing 1, 2, 3, 10: m rows drawn with replacement weigh m·4 on
        // average, with variance m·(114 / 4 - 16) = 12.5 m.
        let cell = WeightedCell::new(4, 16.0, 114.0);
        let mut rng = SplitMix64::new(3);
        let draws: Vec<f64> = (0..40_000).map(|_| cell.draw(50, &mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 200.0).abs() < 0.5, "{mean}");
        assert!((var / 625.0 - 1.0).abs() < 0.05, "{var}");
        assert!(draws.iter().all(|&d| d >= 0.0));
        // Equal weights: exactly m times the weight, no normal drawn.
        let equal = WeightedCell::new(5, 1.5, 0.45);
        let (mut a, mut b) = (SplitMix64::new(9), SplitMix64::new(9));
        for _ in 0..100 {
            assert_eq!(equal.draw(7, &mut a), 7.0 * (1.5 / 5.0));
        }
        assert_eq!(a.next_u64(), b.next_u64());
        assert_eq!(equal.draw(0, &mut rng), 0.0);
    }

    #[test]
    fn unit_weights_bootstrap_as_the_counts() {
        let ci: CiSpec = serde_json::from_str(
            r#"{"level": 0.9, "method": "bootstrap", "resamples": 300, "seed": 7}"#,
        )
        .unwrap();
        let spec: MetricSpec =
            serde_json::from_str(r#"{"name": "f1", "kind": "f1", "accumulator": 0}"#).unwrap();
        let c = BinaryConfusion {
            tp: 30,
            fp: 10,
            fn_: 20,
            tn: 40,
        };
        let counts = [c.tp, c.fp, c.fn_, c.tn];
        let cells = counts.map(|n| WeightedCell::new(n, n as f64, n as f64));
        let weighted = bootstrap_weighted_confusion(&spec, &cells, &ci).unwrap();
        assert_eq!(weighted, bootstrap(&spec, &c, &ci).unwrap());
        // Skewed weights widen it.
        let skewed = counts.map(|n| WeightedCell::new(n, n as f64, 4.0 * n as f64));
        let (lo, hi) = bootstrap_weighted_confusion(&spec, &skewed, &ci).unwrap();
        assert!(
            hi - lo > 1.2 * (weighted.1 - weighted.0),
            "{lo} {hi} {weighted:?}"
        );
    }

    /// Exact runs of `rows` rows, a third positive, their scores tied about twice each.
    fn tied_runs(rows: usize) -> ScoreRuns {
        use crate::accum::binary::BinaryLabels;
        use crate::plan::Label;
        use crate::Values;
        let mut x: u64 = 9;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let y: Vec<i64> = (0..rows).map(|_| (next() % 3 == 0) as i64).collect();
        let s: Vec<f64> = y
            .iter()
            .map(|&l| ((next() % 4_000_000) as f64 + 1_500_000.0 * l as f64) / 6_000_000.0)
            .collect();
        let (p, q) = (Label::Int(1), Label::Int(0));
        let mut r = ScoreRuns::default();
        r.update(
            ("y", Values::I64(&y)),
            ("s", Values::F64(&s)),
            &BinaryLabels::new(&p, &q),
            false,
        )
        .unwrap();
        r
    }

    #[test]
    fn roc_auc_in_blocks_is_the_single_pass() {
        // More distinct scores than two blocks, with ties.
        let r = tied_runs(3 * BLOCK);
        assert!(r.points().len() > 2 * BLOCK);
        let ci = CiSpec {
            level: 0.95,
            method: CiMethod::Delong,
            resamples: 1000,
            seed: 0,
        };
        let (value, interval) = roc_auc_with_delong(&r, &ci);
        // The state is held as row keys; the sequential walk reads its points.
        assert!(matches!(r.curve(), Curve::Rows(_)));
        let groups = || r.points().iter().rev().map(|q| (q.pos, q.neg));
        let (pos, neg) = groups().fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
        let auc = super::super::scores::roc_auc(groups(), pos, neg)
            .value
            .unwrap();
        assert_eq!(value.value, Some(auc));
        for curve in [r.curve(), Curve::Points(r.points())] {
            assert_eq!(
                super::super::scores::roc_auc_of_curve(curve).value,
                Some(auc)
            );
        }
        let z = normal_quantile(0.975);
        let single = delong(groups().map(|(a, b)| (a as f64, b as f64)), auc, z).unwrap();
        let (lo, hi) = interval.unwrap();
        assert!((lo - single.0).abs() < 1e-12 && (hi - single.1).abs() < 1e-12);
    }

    #[test]
    fn pr_auc_with_bootstrap_is_the_value_and_the_pooled_bootstrap() {
        let metric: MetricSpec =
            serde_json::from_str(r#"{"name": "ap", "kind": "pr_auc", "accumulator": 0}"#).unwrap();
        let ci = CiSpec {
            level: 0.95,
            method: CiMethod::Bootstrap,
            resamples: 200,
            seed: 3,
        };
        // Several walk blocks, and one block.
        for rows in [3 * BLOCK, 5_000] {
            let r = tied_runs(rows);
            let points = r.points();
            assert!(rows < BLOCK || points.len() > 2 * BLOCK);
            let (value, interval) = pr_auc_with_bootstrap(&metric, &r, &ci);
            let ap = average_precision_of_curve(r.curve(), metric.zero_division);
            assert_eq!(value, ap);
            let groups = points.iter().rev().map(|q| (q.pos as f64, q.neg as f64));
            let sequential = super::super::scores::average_precision(groups, metric.zero_division);
            let want = sequential.value.unwrap();
            // Blocks of rows and of points sum in other orders: an ulp or two apart.
            let of_points = average_precision_of_curve(Curve::Points(points), metric.zero_division);
            for got in [ap.value.unwrap(), of_points.value.unwrap()] {
                assert!((got - want).abs() <= 1e-14 * want, "{got} vs {want}");
            }
            let pooled = pool_curve(r.curve(), r.n());
            let expected = bootstrap_points(&metric, pooled, ap.value.unwrap(), r.clip_eps(), &ci);
            assert_eq!(interval, expected);
            assert!(interval.is_some());
        }
    }

    #[test]
    fn pooling_keeps_counts_and_order() {
        let points: Vec<(f64, (u64, u64))> = (0..10_000)
            .map(|i| (i as f64 / 10_000.0, ((i % 3) as u64, 1)))
            .collect();
        let total = |p: &[(f64, (u64, u64))]| p.iter().fold((0, 0), |a, q| a.plus(q.1));
        let rows = total(&points);
        let pooled = pool(&points, |&q| q, rows.0 + rows.1);
        assert!(pooled.len() <= MAX_BOOTSTRAP_GROUPS + 1 && pooled.len() > 900);
        assert_eq!(total(&pooled), rows);
        assert!(pooled.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(pool(&points[..50], |&q| q, 50).len(), 50);
        // Groups follow runs of `pool_run` points: the one sequential pass over the runs.
        let many: Vec<(f64, (u64, u64))> = (0..300_000)
            .map(|i| (i as f64, ((i % 5 == 0) as u64, (i % 7) as u64)))
            .collect();
        let rows = total(&many);
        let target = (rows.0 + rows.1).div_ceil(MAX_BOOTSTRAP_GROUPS as u64);
        let mut expected: Vec<(u64, f64, (u64, u64))> = Vec::new();
        let mut before = 0u64;
        assert_eq!(pool_run(many.len()), 16);
        for run in many.chunks(pool_run(many.len())) {
            let g = total(run);
            let weighted: f64 = run.iter().map(|q| q.0 * q.1.rows() as f64).sum();
            let index = before / target;
            before += g.rows();
            match expected.last_mut() {
                Some(last) if last.0 == index => *last = (index, last.1 + weighted, last.2.plus(g)),
                _ => expected.push((index, weighted, g)),
            }
        }
        let got = pool(&many, |&q| q, rows.0 + rows.1);
        assert_eq!(got.len(), expected.len());
        assert!(got.len() <= MAX_BOOTSTRAP_GROUPS + 1);
        for (a, b) in got.iter().zip(&expected) {
            assert_eq!(a.1, b.2);
            assert!((a.0 - b.1 / b.2.rows() as f64).abs() <= 1e-9 * a.0.abs());
        }
    }
}

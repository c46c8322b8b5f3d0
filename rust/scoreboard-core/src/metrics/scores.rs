//! Threshold-free binary finalizers: ROC AUC, average precision, log loss, Brier score, expected
//! calibration error, recall at precision and precision at recall.
//!
//! The curve metrics walk the distinct scores from high to low, each distinct score being one
//! threshold ("predict positive when score >= t"), exactly as scikit-learn's `_binary_clf_curve`
//! does: tied scores form one step. The same walks run over the bins of a score histogram, where
//! each bin is one tied group; the finalizer then also returns a bound on the distance to the exact
//! value.

use super::binary::unreachable_kind;
use super::{reason, Outcome};
use crate::accum::moments::CompensatedSum;
use crate::accum::scores::Curve;
use crate::accum::{ScoreHistogram, ScoreRuns};
use crate::plan::{MetricKind, MetricSpec, ZeroDivision};
use rayon::prelude::*;

/// Finalizes a metric from exact score runs.
pub fn finalize_exact(metric: &MetricSpec, state: &ScoreRuns) -> Outcome {
    if state.n() == 0 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    let curve = state.curve();
    match metric.kind {
        MetricKind::RocAuc => return roc_auc_of_curve(curve),
        MetricKind::PrAuc => return average_precision_of_curve(curve, metric.zero_division),
        _ => {}
    }
    let weighted = curve
        .points()
        .map(|q| (q.score(), q.pos as f64, q.neg as f64));
    finalize_curve(metric, weighted, state.clip_eps())
}

/// Finalizes any score metric from (score, positive weight, negative weight) in increasing score
/// order (weights are counts when there is no weight column).
pub fn finalize_curve<I>(metric: &MetricSpec, points: I, clip_eps: f64) -> Outcome
where
    I: DoubleEndedIterator<Item = (f64, f64, f64)> + Clone,
{
    let (p, n) = points
        .clone()
        .fold((0.0, 0.0), |(p, n), (_, a, b)| (p + a, n + b));
    if p + n == 0.0 {
        // Every row has weight 0: there is nothing to score.
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    let groups = || points.clone().rev().map(|(_, a, b)| (a, b));
    let zd = metric.zero_division;
    match metric.kind {
        MetricKind::RocAuc => roc_auc_weighted(groups(), p, n),
        MetricKind::PrAuc => average_precision(groups(), zd),
        MetricKind::LogLoss => log_loss(points, clip_eps),
        MetricKind::Brier => brier(points),
        MetricKind::Ece => ece(points, metric.n_bins.unwrap_or(10)),
        MetricKind::RecallAtPrecision => {
            recall_at_precision(groups(), p, metric.min_precision.unwrap_or(1.0), zd)
        }
        MetricKind::PrecisionAtRecall => {
            precision_at_recall(groups(), p, metric.min_recall.unwrap_or(1.0), zd)
        }
        _ => unreachable_kind(metric),
    }
}

/// Finalizes ROC AUC or average precision from a histogram: each bin is one tied score. Returns
/// the value and a bound `b` such that the exact value (of the same data, unbinned) lies in
/// `[value - b, value + b]`.
pub fn finalize_binned(metric: &MetricSpec, h: &ScoreHistogram) -> (Outcome, Option<f64>) {
    if h.n() == 0 {
        return (Outcome::undefined(reason::INSUFFICIENT_DATA), None);
    }
    if h.is_weighted() {
        return finalize_weighted_bins(metric, h);
    }
    let groups = || (0..h.bins()).rev().map(|b| h.bin(b));
    let (p, n) = totals(groups());
    match metric.kind {
        MetricKind::RocAuc => {
            let o = roc_auc(groups(), p, n);
            // Within a bin the order of its positives and negatives is unknown: each of its
            // pos * neg pairs counts 1/2 here and anywhere in [0, 1] exactly.
            let within: u128 = groups().map(|(a, b)| a as u128 * b as u128).sum();
            let bound = o.value.map(|_| within as f64 / (2.0 * p as f64 * n as f64));
            (o, bound)
        }
        MetricKind::PrAuc => {
            let fgroups = groups().map(|(a, b)| (a as f64, b as f64));
            let o = average_precision(fgroups, metric.zero_division);
            let bound = if p > 0 && o.reason.is_none() {
                let fgroups = groups().map(|(a, b)| (a as f64, b as f64));
                Some(average_precision_bound(fgroups, p as f64))
            } else {
                None
            };
            (o, bound)
        }
        _ => (unreachable_kind(metric), None),
    }
}

/// `finalize_binned` over summed weights. The bounds carry over: a bin's weighted pairs
/// (`a * b`) are the ones whose order is unknown, and for average precision the per-positive
/// precision bounds hold for any weights (see `average_precision_bound`).
fn finalize_weighted_bins(metric: &MetricSpec, h: &ScoreHistogram) -> (Outcome, Option<f64>) {
    let total: f64 = (0..h.bins())
        .map(|b| h.weighted_bin(b))
        .map(|(a, b)| a + b)
        .sum();
    if total == 0.0 {
        // Every row weighs 0.
        return (Outcome::undefined(reason::INSUFFICIENT_DATA), None);
    }
    // Both metrics and their bounds are invariant to scaling the weights; weights as fractions
    // of the total keep the products in the bounds from underflowing.
    let groups = || {
        (0..h.bins())
            .rev()
            .map(|b| h.weighted_bin(b))
            .map(move |(a, b)| (a / total, b / total))
    };
    let (p, n) = groups().fold((0.0, 0.0), |(p, n), (a, b)| (p + a, n + b));
    match metric.kind {
        MetricKind::RocAuc => {
            let o = roc_auc_weighted(groups(), p, n);
            let mut within = CompensatedSum::default();
            for (a, b) in groups() {
                within.add((a / p) * (b / n));
            }
            let bound = o.value.map(|_| within.value() / 2.0);
            (o, bound)
        }
        MetricKind::PrAuc => {
            let o = average_precision(groups(), metric.zero_division);
            let bound = if p > 0.0 && o.reason.is_none() {
                Some(average_precision_bound(groups(), p))
            } else {
                None
            };
            (o, bound)
        }
        _ => (unreachable_kind(metric), None),
    }
}

/// Points (or rows) per block of the parallel walks over exact runs (fixed, so nothing depends
/// on the threads; a power of two, so blocks of points are whole runs of the interval's
/// pooling).
pub(crate) const BLOCK: usize = 1 << 18;

/// `roc_auc` of exact score runs in one parallel pass over `BLOCK`s (see `RocArea`): bit for bit
/// `roc_auc`'s value.
pub fn roc_auc_of_curve(curve: Curve<'_>) -> Outcome {
    let blocks: Vec<RocArea> = curve
        .blocks(BLOCK)
        .into_par_iter()
        .map(|block| {
            let mut area = RocArea::default();
            block.points().rev().for_each(|q| area.add(q.pos, q.neg));
            area
        })
        .collect();
    blocks
        .iter()
        .rev()
        .fold(RocArea::default(), |above, block| above.then(block))
        .auc()
}

/// Twice the integer ROC area of a run of distinct scores walked from the highest down, with
/// its positives and negatives. Blocks of runs are walked from zero in parallel and chained
/// from the top (`then`): a block's area shifts by `2 tp_above` per negative, so the chained
/// area is the sequential walk's exactly.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RocArea {
    twice_area: u128,
    pos: u128,
    neg: u128,
}

impl RocArea {
    /// The next (lower) distinct score's positives and negatives: each negative ranks below
    /// every positive above it and ties with this score's (a half each).
    #[inline(always)]
    pub(crate) fn add(&mut self, pos: u64, neg: u64) {
        self.twice_area += neg as u128 * (2 * self.pos + pos as u128);
        self.pos += pos as u128;
        self.neg += neg as u128;
    }

    /// These scores followed by the lower ones of `below`.
    pub(crate) fn then(self, below: &RocArea) -> RocArea {
        RocArea {
            twice_area: self.twice_area + below.twice_area + 2 * self.pos * below.neg,
            pos: self.pos + below.pos,
            neg: self.neg + below.neg,
        }
    }

    pub(crate) fn auc(&self) -> Outcome {
        if self.pos == 0 || self.neg == 0 {
            return Outcome::undefined(reason::SINGLE_CLASS);
        }
        Outcome::of(self.twice_area as f64 / (2.0 * self.pos as f64 * self.neg as f64))
    }
}

/// `average_precision` of exact score runs, in two parallel passes: one counts each block's
/// positives and negatives, one walks the blocks.
pub fn average_precision_of_curve(curve: Curve<'_>, zd: ZeroDivision) -> Outcome {
    let blocks = curve.blocks(BLOCK);
    let totals: Vec<(u64, u64)> = blocks.par_iter().map(|b| b.totals()).collect();
    average_precision_in_blocks(&blocks, &totals, zd)
}

/// The walk of `average_precision_of_curve`, given its blocks and their (positives, negatives).
/// Blocks go in parallel, each started from the counts of the blocks above it: integer counts,
/// so every threshold's precision is the sequential walk's. Each block's terms are summed with
/// compensation and the block sums added in walk order: the value is the sequential one to
/// within an ulp or two.
pub(crate) fn average_precision_in_blocks(
    blocks: &[Curve<'_>],
    totals: &[(u64, u64)],
    zd: ZeroDivision,
) -> Outcome {
    let mut above: Vec<(u64, u64)> = totals
        .iter()
        .rev()
        .scan((0, 0), |(tp, fp), &(pos, neg)| {
            let before = (*tp, *fp);
            (*tp, *fp) = (*tp + pos, *fp + neg);
            Some(before)
        })
        .collect();
    above.reverse();
    let p: u64 = totals.iter().map(|b| b.0).sum();
    if p == 0 {
        return Outcome::ratio(0.0, 0.0, zd);
    }
    let sums: Vec<CompensatedSum> = blocks
        .par_iter()
        .zip(above)
        .map(|(block, (mut tp, mut fp))| {
            let mut sum = CompensatedSum::default();
            for q in block.points().rev() {
                tp += q.pos;
                fp += q.neg;
                if q.pos > 0 {
                    sum.add(q.pos as f64 * (tp as f64 / (tp + fp) as f64));
                }
            }
            sum
        })
        .collect();
    let mut total = CompensatedSum::default();
    for block in sums.iter().rev() {
        total.merge(block);
    }
    Outcome::of(total.value() / p as f64)
}

fn totals(groups: impl Iterator<Item = (u64, u64)>) -> (u64, u64) {
    groups.fold((0, 0), |(p, n), (a, b)| (p + a, n + b))
}

/// Area under the ROC curve with tied scores as one trapezoid step (scikit-learn's
/// `roc_auc_score`), computed in exact integer arithmetic: sum over groups of
/// `neg * (2 * tp_before + pos)`, over `2 P N`.
pub fn roc_auc(groups_desc: impl Iterator<Item = (u64, u64)>, p: u64, n: u64) -> Outcome {
    if p == 0 || n == 0 {
        return Outcome::undefined(reason::SINGLE_CLASS);
    }
    let mut tp: u128 = 0;
    let mut twice_area: u128 = 0;
    for (pos, neg) in groups_desc {
        twice_area += neg as u128 * (2 * tp + pos as u128);
        tp += pos as u128;
    }
    Outcome::of(twice_area as f64 / (2.0 * p as f64 * n as f64))
}

/// ROC AUC from weighted groups (floating point, as scikit-learn with `sample_weight`).
pub fn roc_auc_weighted(groups_desc: impl Iterator<Item = (f64, f64)>, p: f64, n: f64) -> Outcome {
    if p == 0.0 || n == 0.0 {
        return Outcome::undefined(reason::SINGLE_CLASS);
    }
    let mut tp = 0.0;
    let mut twice_area = CompensatedSum::default();
    for (pos, neg) in groups_desc {
        // Normalised term by term: `p * n` can underflow (tiny weights) where the rates do not.
        twice_area.add((neg / n) * ((2.0 * tp + pos) / p));
        tp += pos;
    }
    Outcome::of(twice_area.value() / 2.0)
}

/// scikit-learn's `average_precision_score`: sum over thresholds of (R_k - R_{k-1}) P_k, without
/// interpolation. No positives: `zero_division` (scikit-learn returns 0 and warns).
pub fn average_precision(
    groups_desc: impl Iterator<Item = (f64, f64)>,
    zd: ZeroDivision,
) -> Outcome {
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut sum = CompensatedSum::default();
    for (pos, neg) in groups_desc {
        tp += pos;
        fp += neg;
        if pos > 0.0 {
            sum.add(pos * (tp / (tp + fp)));
        }
    }
    // P is the walk's last tp: one pass. One division by P at the end rather than one per
    // threshold.
    if tp == 0.0 {
        return Outcome::ratio(0.0, 0.0, zd);
    }
    Outcome::of(sum.value() / tp)
}

/// How far the exact average precision can be from the binned one. Within a bin that starts after
/// `t0` positives and `f0` negatives and holds `a` positives and `b` negatives, every positive is
/// credited a precision between `(t0 + j) / (t0 + f0 + b + j)` (its j-th place, all negatives
/// first) and `(t0 + a) / (t0 + f0 + a)` (no negative before it); the binned value credits each
/// `(t0 + a) / (t0 + f0 + a + b)`. Sums of the lower bound use `sum 1/(d + j) <= ln(1 + a / d)`.
/// With weights, `a` and `b` are summed weights and a positive of weight `w` ending at cumulative
/// weight `x` is credited at least `w (t0 + x) / (d + x)`: a right Riemann sum of an increasing
/// function, so at least its integral `a - (f0 + b) ln(1 + a / d)`, the same bound.
fn average_precision_bound(groups_desc: impl Iterator<Item = (f64, f64)>, p: f64) -> f64 {
    let (mut t0, mut f0) = (0f64, 0f64);
    let (mut below, mut above) = (CompensatedSum::default(), CompensatedSum::default());
    for (a, b) in groups_desc {
        if a > 0.0 {
            let value = a * (t0 + a) / (t0 + f0 + a + b);
            let upper = a * (t0 + a) / (t0 + f0 + a);
            let d = t0 + f0 + b;
            let lower = if d > 0.0 {
                (a - (f0 + b) * (a / d).ln_1p()).max(0.0)
            } else {
                a
            };
            above.add(upper - value);
            below.add((value - lower).max(0.0));
        }
        t0 += a;
        f0 += b;
    }
    above.value().max(below.value()) / p
}

/// scikit-learn's `log_loss` with labels [negative, positive]: probabilities clipped to
/// `[eps, 1 - eps]`, `eps` the machine epsilon of the score dtype.
pub fn log_loss(points: impl Iterator<Item = (f64, f64, f64)>, eps: f64) -> Outcome {
    let clip = |x: f64| x.clamp(eps, 1.0 - eps);
    let mut sum = CompensatedSum::default();
    let mut n = 0.0;
    for (s, pos, neg) in points {
        if pos > 0.0 {
            sum.add(-pos * clip(s).ln());
        }
        if neg > 0.0 {
            sum.add(-neg * clip(1.0 - s).ln());
        }
        n += pos + neg;
    }
    Outcome::of(sum.value() / n)
}

/// scikit-learn's `brier_score_loss`: the mean of (y - p)^2 with y in {0, 1}.
pub fn brier(points: impl Iterator<Item = (f64, f64, f64)>) -> Outcome {
    let mut sum = CompensatedSum::default();
    let mut n = 0.0;
    for (s, pos, neg) in points {
        sum.add(pos * (1.0 - s) * (1.0 - s) + neg * s * s);
        n += pos + neg;
    }
    Outcome::of(sum.value() / n)
}

/// Expected calibration error over `bins` equal-width bins of [0, 1], binned as scikit-learn's
/// `calibration_curve(strategy="uniform")` does (inner edges `i / bins`; a score equal to an
/// edge falls in the lower bin): `sum_b (n_b / n) |mean(y in b) - mean(score in b)|` over the
/// non-empty bins, which is `sum_b |positives_b - sum(scores in b)| / n`.
pub fn ece(points: impl Iterator<Item = (f64, f64, f64)>, bins: usize) -> Outcome {
    let bins = bins.max(1);
    let step = 1.0 / bins as f64;
    let edges: Vec<f64> = (1..bins).map(|i| i as f64 * step).collect();
    let mut positives = vec![CompensatedSum::default(); bins];
    let mut score_sums = vec![CompensatedSum::default(); bins];
    let mut n = 0.0;
    // Points are sorted, so the bin index only moves forward.
    let mut b = 0usize;
    for (s, pos, neg) in points {
        while b < edges.len() && edges[b] < s {
            b += 1;
        }
        positives[b].add(pos);
        score_sums[b].add((pos + neg) * s);
        n += pos + neg;
    }
    let mut total = CompensatedSum::default();
    for (pos, sum) in positives.iter().zip(&score_sums) {
        total.add((pos.value() - sum.value()).abs());
    }
    Outcome::of(total.value() / n)
}

/// The largest recall among operating points (one per distinct score) whose precision reaches
/// `min_precision`; undefined (`unattainable`) if none does.
pub fn recall_at_precision(
    groups_desc: impl Iterator<Item = (f64, f64)>,
    p: f64,
    min_precision: f64,
    zd: ZeroDivision,
) -> Outcome {
    if p == 0.0 {
        return Outcome::ratio(0.0, 0.0, zd);
    }
    // Recall only grows as the threshold falls: the last qualifying point has the largest.
    operating_points(groups_desc, p)
        .filter(|&(precision, _)| precision >= min_precision)
        .last()
        .map_or(Outcome::undefined(reason::UNATTAINABLE), |(_, recall)| {
            Outcome::of(recall)
        })
}

/// The largest precision among operating points whose recall reaches `min_recall`.
pub fn precision_at_recall(
    groups_desc: impl Iterator<Item = (f64, f64)>,
    p: f64,
    min_recall: f64,
    zd: ZeroDivision,
) -> Outcome {
    if p == 0.0 {
        return Outcome::ratio(0.0, 0.0, zd);
    }
    operating_points(groups_desc, p)
        .filter(|&(_, recall)| recall >= min_recall)
        .map(|(precision, _)| precision)
        .reduce(f64::max)
        .map_or(Outcome::undefined(reason::UNATTAINABLE), Outcome::of)
}

/// (precision, recall) at each threshold, from the highest score down (one per group), leaving
/// out thresholds that predict nothing positive.
fn operating_points(
    groups_desc: impl Iterator<Item = (f64, f64)>,
    p: f64,
) -> impl Iterator<Item = (f64, f64)> {
    groups_desc
        .scan((0.0, 0.0), |(tp, fp), (pos, neg)| {
            *tp += pos;
            *fp += neg;
            Some((*tp, *fp))
        })
        .filter(|&(tp, fp)| tp + fp > 0.0)
        .map(move |(tp, fp)| (tp / (tp + fp), tp / p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_ties_and_separated_classes() {
        // Descending groups: all positives above all negatives.
        assert_eq!(roc_auc([(3, 0), (0, 2)].into_iter(), 3, 2).value, Some(1.0));
        // One tied group: 1/2.
        assert_eq!(roc_auc([(3, 2)].into_iter(), 3, 2).value, Some(0.5));
        assert_eq!(
            roc_auc([(3, 0)].into_iter(), 3, 0).reason,
            Some(reason::SINGLE_CLASS)
        );
    }

    #[test]
    fn average_precision_bound_contains_every_order() {
        // One bin of 2 positives and 2 negatives after one positive: exact AP ranges over orders.
        let groups = [(1u64, 0u64), (2, 2)];
        let fgroups = groups.map(|(a, b)| (a as f64, b as f64));
        let bound = average_precision_bound(fgroups.into_iter(), 3.0);
        let binned = average_precision(fgroups.into_iter(), ZeroDivision::default())
            .value
            .unwrap();
        // Best order: + + - - after the first positive: (1 + 1 + 1) / 3 = 1.
        // Worst order: - - + +: (1 + 2/4 + 3/5) / 3.
        for exact in [1.0, (1.0 + 0.5 + 0.6) / 3.0] {
            assert!(
                (exact - binned).abs() <= bound + 1e-15,
                "{exact} {binned} {bound}"
            );
        }
    }
}

//! Multiclass probabilistic finalizers: log loss, top-k accuracy and ROC AUC (one-vs-rest or
//! one-vs-one, macro or prevalence-weighted), as scikit-learn defines them. With sample weights,
//! means are weighted means, each one-vs-rest AUC is a weighted AUC and "weighted" averages by
//! weighted prevalence (scikit-learn's `_average_binary_score`).

use super::binary::unreachable_kind;
use super::scores::roc_auc_weighted;
use super::{reason, Outcome};
use rayon::prelude::*;

use super::ci::normal_quantile;
use crate::accum::class_scores::{PairStats, MAX_GROUPS};
use crate::accum::scores::RunPoint;
use crate::accum::weighted_scores::WeightedPoint;
use crate::accum::ClassScores;
use crate::plan::{Average, MetricKind, MetricSpec, MultiClass};

pub fn finalize(metric: &MetricSpec, s: &ClassScores) -> Outcome {
    let n = if s.weighted {
        s.total_weight.value()
    } else {
        s.rows as f64
    };
    if s.rows == 0 || n == 0.0 {
        // No rows, or every row weighs 0 (scikit-learn raises).
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    match metric.kind {
        MetricKind::LogLoss => Outcome::of(s.log_loss.value() / n),
        MetricKind::TopKAccuracy => {
            let k = metric.k.unwrap_or(2);
            match s.ks.iter().position(|&x| x == k) {
                Some(i) if s.weighted => Outcome::of(s.hit_weight[i].value() / n),
                Some(i) => Outcome::of(s.hits[i] as f64 / n),
                None => unreachable_kind(metric),
            }
        }
        MetricKind::RocAuc if s.weighted && !s.weighted_curves.is_empty() => {
            weighted_ovr_auc(metric, s)
        }
        MetricKind::RocAuc if !s.curves.is_empty() => multiclass_auc(metric, s),
        _ => unreachable_kind(metric),
    }
}

/// Grouped DeLong interval of a multiclass ROC AUC (one-vs-rest or one-vs-one, macro or
/// weighted), from a state that keeps interval groups (`row_group`: rows split at random into
/// groups by their position).
///
/// The averaged AUC is a linear combination of binary AUCs that share rows (a row is a positive
/// in one column and a negative in the others), so its variance needs each row's DeLong
/// influence summed over every AUC it enters: (placement − AUC) / positives for a positive,
/// with its placement the fraction of negatives scoring below it (ties 1/2), and likewise for
/// a negative. A row's score in each column is in that column's runs but the link between a
/// row's columns is not; its group is. Summing the influences per group gives `T_g`, whose
/// spread estimates the variance with G − 1 degrees of freedom: Var = G / (G − 1) Σ_g T_g²
/// (the `T_g` sum to zero), and the interval is value ± t_{G−1} √Var, clipped to [0, 1]. The
/// averaging weights (supports) are taken as fixed. None without groups, or where an AUC is
/// undefined.
pub fn auc_interval(
    metric: &MetricSpec,
    s: &ClassScores,
    value: f64,
    level: f64,
) -> Option<(f64, f64)> {
    if s.curves.is_empty() || s.weighted {
        return None;
    }
    let weighted = metric.average == Some(Average::Weighted);
    // (averaging weight, positive class, negative classes) of every binary AUC, each read in
    // the positive class's score column.
    let mut terms: Vec<(f64, usize, Vec<usize>)> = Vec::new();
    match metric.multi_class.unwrap_or(MultiClass::Ovr) {
        MultiClass::Ovr => {
            let total: u64 = s.support.iter().sum();
            for c in 0..s.k {
                let weight = if weighted {
                    s.support[c] as f64 / total as f64
                } else {
                    1.0 / s.k as f64
                };
                if weight > 0.0 {
                    terms.push((weight, c, (0..s.k).filter(|&j| j != c).collect()));
                }
            }
        }
        MultiClass::Ovo => {
            let pairs: Vec<(usize, usize)> = (0..s.k)
                .flat_map(|a| (a + 1..s.k).map(move |b| (a, b)))
                .collect();
            let total: u64 = pairs
                .iter()
                .map(|&(a, b)| s.support[a] + s.support[b])
                .sum();
            for &(a, b) in &pairs {
                let weight = if weighted {
                    (s.support[a] + s.support[b]) as f64 / total as f64
                } else {
                    1.0 / pairs.len() as f64
                };
                // Each pair's AUC is the mean of a-vs-b in column a and b-vs-a in column b.
                terms.push((weight / 2.0, a, vec![b]));
                terms.push((weight / 2.0, b, vec![a]));
            }
        }
    }
    let mut total = GroupSums::default();
    for (weight, positive, negatives) in &terms {
        total.add(&group_influence(s, *positive, negatives)?.scaled(*weight));
    }
    grouped_interval(&total, value, level)
}

/// Per interval group: the summed influence of its rows, and how many rows entered it.
#[derive(Clone)]
struct GroupSums {
    influence: [f64; MAX_GROUPS as usize],
    rows: [u64; MAX_GROUPS as usize],
}

impl Default for GroupSums {
    fn default() -> Self {
        GroupSums {
            influence: [0.0; MAX_GROUPS as usize],
            rows: [0; MAX_GROUPS as usize],
        }
    }
}

impl GroupSums {
    fn scaled(mut self, weight: f64) -> GroupSums {
        self.influence.iter_mut().for_each(|t| *t *= weight);
        self
    }

    fn add(&mut self, other: &GroupSums) {
        for g in 0..MAX_GROUPS as usize {
            self.influence[g] += other.influence[g];
            self.rows[g] += other.rows[g];
        }
    }
}

/// Each row's DeLong influence on the AUC of class `positive` against the classes `negatives`
/// (in column `positive`), summed per group; None if the AUC is undefined (no positive or no
/// negative). The placements come from the state's cached pair walks, which the value read too.
fn group_influence(s: &ClassScores, positive: usize, negatives: &[usize]) -> Option<GroupSums> {
    let m = s.support[positive];
    let n: u64 = negatives.iter().map(|&j| s.support[j]).sum();
    if m == 0 || n == 0 {
        return None;
    }
    let pairs: Vec<&PairStats> = negatives
        .iter()
        .map(|&j| s.pair_stats(positive, j))
        .collect();
    let twice_area: u128 = pairs.iter().map(|p| p.twice_area).sum();
    let (mf, nf) = (m as f64, n as f64);
    let auc = twice_area as f64 / (2.0 * mf * nf);
    // A positive's placement is its twice-count / 2n, a negative's / 2m; influence
    // (placement - AUC) / m or / n per row. A positive's twice-count over all the negative
    // classes is the sum of its pairs' (its rows are counted once, in every pair alike).
    let mut sums = GroupSums::default();
    for g in 0..MAX_GROUPS as usize {
        let pos_twice: u128 = pairs.iter().map(|p| at(&p.pos_twice, g)).sum();
        let neg_twice: u128 = pairs.iter().map(|p| at(&p.neg_twice, g)).sum();
        let pos_rows = at(&pairs[0].pos_rows, g);
        let neg_rows: u64 = pairs.iter().map(|p| at(&p.neg_rows, g)).sum();
        let positives = (pos_twice as f64 / (2.0 * nf) - auc * pos_rows as f64) / mf;
        let negatives = (neg_twice as f64 / (2.0 * mf) - auc * neg_rows as f64) / nf;
        sums.influence[g] = positives + negatives;
        sums.rows[g] = pos_rows + neg_rows;
    }
    Some(sums)
}

/// Group `g`'s entry of a per-group sum (0 past the last group with rows).
fn at<T: Copy + Default>(per_group: &[T], g: usize) -> T {
    per_group.get(g).copied().unwrap_or_default()
}

/// The points of a weighted run summed per distinct score (a score's rows are one point per
/// interval group when the state keeps groups), in increasing score order.
fn by_score(run: &[WeightedPoint]) -> impl DoubleEndedIterator<Item = WeightedPoint> + '_ {
    run.chunk_by(|a, b| a.key == b.key).map(|block| {
        block
            .iter()
            .skip(1)
            .fold(block[0], |sum, p| sum.combine(*p))
    })
}

/// `auc_interval` with sample weights (one-vs-rest, macro or weighted by weighted prevalence):
/// a row's influence on a column's weighted AUC is w (placement - AUC) / W_pos for a positive
/// (its placement the weight fraction of negatives below it, ties 1/2) and likewise over W_neg
/// for a negative; summed per interval group as in `auc_interval`. Unit weights give its interval.
pub fn weighted_auc_interval(
    metric: &MetricSpec,
    s: &ClassScores,
    value: f64,
    level: f64,
) -> Option<(f64, f64)> {
    if s.weighted_curves.is_empty() || metric.multi_class == Some(MultiClass::Ovo) {
        return None;
    }
    let weighted = metric.average == Some(Average::Weighted);
    let total: f64 = s.support_weight.iter().map(|w| w.value()).sum();
    // Merged (and cached) before the parallel loop: a cache built inside it could be asked for
    // again by a job this thread runs while it waits.
    let runs: Vec<_> = (0..s.k).map(|c| s.weighted_column_run(c)).collect();
    let sums: Vec<Option<GroupSums>> = (0..s.k)
        .into_par_iter()
        .map(|c| {
            let weight = if weighted {
                s.support_weight[c].value() / total
            } else {
                1.0 / s.k as f64
            };
            if weight == 0.0 {
                return Some(GroupSums::default());
            }
            weighted_group_influence(&runs[c]).map(|g| g.scaled(weight))
        })
        .collect();
    let mut all = GroupSums::default();
    for term in sums {
        all.add(&term?);
    }
    grouped_interval(&all, value, level)
}

/// Each row's weighted influence on the weighted AUC of one run, summed per group.
fn weighted_group_influence(run: &[WeightedPoint]) -> Option<GroupSums> {
    let (w_pos, w_neg) = run
        .iter()
        .fold((0.0, 0.0), |(p, n), q| (p + q.pos, n + q.neg));
    if !(w_pos > 0.0 && w_neg > 0.0) {
        return None;
    }
    // Per group: Σ pos × placement, Σ pos, Σ neg × placement, Σ neg.
    let mut pos_placed = [0.0f64; MAX_GROUPS as usize];
    let mut neg_placed = [0.0f64; MAX_GROUPS as usize];
    let mut pos_weight = [0.0f64; MAX_GROUPS as usize];
    let mut neg_weight = [0.0f64; MAX_GROUPS as usize];
    let mut rows = [0u64; MAX_GROUPS as usize];
    let (mut neg_below, mut pos_below) = (0.0, 0.0);
    for block in run.chunk_by(|a, b| a.key == b.key) {
        let (pos, neg) = block
            .iter()
            .fold((0.0, 0.0), |(p, n), q| (p + q.pos, n + q.neg));
        let pos_placement = (neg_below + 0.5 * neg) / w_neg;
        let neg_placement = (w_pos - pos_below - pos + 0.5 * pos) / w_pos;
        for q in block {
            let g = q.group as usize;
            pos_placed[g] += q.pos * pos_placement;
            pos_weight[g] += q.pos;
            neg_placed[g] += q.neg * neg_placement;
            neg_weight[g] += q.neg;
            rows[g] += q.pos_rows + q.neg_rows;
        }
        neg_below += neg;
        pos_below += pos;
    }
    let auc = pos_placed.iter().sum::<f64>() / w_pos;
    let mut sums = GroupSums::default();
    for g in 0..MAX_GROUPS as usize {
        sums.influence[g] = (pos_placed[g] - auc * pos_weight[g]) / w_pos
            + (neg_placed[g] - auc * neg_weight[g]) / w_neg;
        sums.rows[g] = rows[g];
    }
    Some(sums)
}

/// value ± t_{G-1} √(G / (G - 1) Σ_g T_g²) over the G groups that have rows, clipped to [0, 1].
fn grouped_interval(sums: &GroupSums, value: f64, level: f64) -> Option<(f64, f64)> {
    let groups = sums.rows.iter().filter(|&&rows| rows > 0).count();
    if groups < 2 {
        return None;
    }
    let g = groups as f64;
    let variance = g / (g - 1.0) * sums.influence.iter().map(|t| t * t).sum::<f64>();
    let half = student_t_quantile(0.5 + level / 2.0, g - 1.0) * variance.sqrt();
    half.is_finite()
        .then(|| ((value - half).max(0.0), (value + half).min(1.0)))
}

/// Student's t quantile with `df` degrees of freedom (Cornish-Fisher expansion about the normal
/// quantile, Abramowitz & Stegun 26.7.5): within 1e-3 of the exact value from 5 degrees of
/// freedom on, 1e-5 at the 31 of 32 interval groups.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    let z = normal_quantile(p);
    let (z2, z3) = (z * z, z * z * z);
    let (z5, z7, z9) = (z3 * z2, z3 * z2 * z2, z3 * z3 * z3);
    let g1 = (z3 + z) / 4.0;
    let g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
    let g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
    let g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / 92160.0;
    z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df)
}

/// The AUC of twice-area `area` over `p` positives and `n` negatives (as `roc_auc`).
fn auc_of(area: u128, p: u64, n: u64) -> Outcome {
    if p == 0 || n == 0 {
        return Outcome::undefined(reason::SINGLE_CLASS);
    }
    Outcome::of(area as f64 / (2.0 * p as f64 * n as f64))
}

/// One-vs-rest AUC with sample weights, averaged as scikit-learn's `_average_binary_score`: macro
/// is the plain mean (undefined if any class is); weighted averages by the classes' weighted
/// prevalence, a class of weight 0 scoring 0 whatever its AUC. (scikit-learn refuses weights for
/// one-vs-one; so does the compiler.)
fn weighted_ovr_auc(metric: &MetricSpec, s: &ClassScores) -> Outcome {
    let k = s.k;
    let weighted = metric.average == Some(Average::Weighted);
    let mut values = Vec::with_capacity(k);
    let mut weights = Vec::with_capacity(k);
    for c in 0..k {
        let run = s.weighted_column_run(c);
        let groups: Vec<(f64, f64)> = by_score(&run).rev().map(|b| (b.pos, b.neg)).collect();
        let (p, n) = groups
            .iter()
            .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x, b + y));
        let support = s.support_weight[c].value();
        let auc = roc_auc_weighted(groups.into_iter(), p, n);
        values.push(if weighted && support == 0.0 {
            Some(0.0)
        } else {
            auc.value
        });
        weights.push(support);
    }
    let Some(values) = values.into_iter().collect::<Option<Vec<f64>>>() else {
        return Outcome::undefined(reason::SINGLE_CLASS);
    };
    if weighted {
        let total: f64 = weights.iter().sum();
        Outcome::of(values.iter().zip(&weights).map(|(v, w)| v * w).sum::<f64>() / total)
    } else {
        Outcome::of(values.iter().sum::<f64>() / k as f64)
    }
}

fn multiclass_auc(metric: &MetricSpec, s: &ClassScores) -> Outcome {
    let k = s.k;
    let weighted = metric.average == Some(Average::Weighted);
    // The AUC of class `c` against the classes `negatives`, in column c (from the state's
    // cached pair walks, which walk every pair in parallel).
    let auc = |c: usize, negatives: &[usize]| {
        let area: u128 = negatives
            .iter()
            .map(|&j| s.pair_stats(c, j).twice_area)
            .sum();
        let n: u64 = negatives.iter().map(|&j| s.support[j]).sum();
        auc_of(area, s.support[c], n)
    };
    // One AUC per class (ovr) or class pair (ovo), each with its prevalence weight.
    let (scores, weights): (Vec<Outcome>, Vec<f64>) =
        match metric.multi_class.unwrap_or(MultiClass::Ovr) {
            MultiClass::Ovr => {
                let classes: Vec<Outcome> = (0..k)
                    .map(|c| {
                        // As scikit-learn's weighted average: a class without rows weighs 0 and
                        // scores 0.
                        if weighted && s.support[c] == 0 {
                            return Outcome::of(0.0);
                        }
                        auc(c, &(0..k).filter(|&j| j != c).collect::<Vec<_>>())
                    })
                    .collect();
                (classes, s.support.iter().map(|&x| x as f64).collect())
            }
            MultiClass::Ovo => {
                let pairs: Vec<(usize, usize)> = (0..k)
                    .flat_map(|a| (a + 1..k).map(move |b| (a, b)))
                    .collect();
                let scores = pairs
                    .iter()
                    .map(|&(a, b)| match (auc(a, &[b]).value, auc(b, &[a]).value) {
                        (Some(x), Some(y)) => Outcome::of((x + y) / 2.0),
                        _ => Outcome::undefined(reason::SINGLE_CLASS),
                    })
                    .collect();
                let weights = pairs
                    .iter()
                    .map(|&(a, b)| (s.support[a] + s.support[b]) as f64)
                    .collect();
                (scores, weights)
            }
        };
    if scores.iter().any(|o| o.value.is_none()) {
        return Outcome::undefined(reason::SINGLE_CLASS);
    }
    let values = scores.iter().map(|o| o.value.unwrap_or(f64::NAN));
    if weighted {
        let total: f64 = weights.iter().sum();
        Outcome::of(values.zip(&weights).map(|(v, w)| v * w).sum::<f64>() / total)
    } else {
        Outcome::of(values.sum::<f64>() / scores.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_quantiles_match_scipy() {
        // scipy.stats.t.ppf(p, df)
        for (p, df, exact, tolerance) in [
            (0.975, 5.0, 2.5705818356363146, 1e-3),
            (0.975, 10.0, 2.228138851986274, 3e-4),
            (0.975, 31.0, 2.039513446396408, 1e-5),
            (0.995, 31.0, 2.744041919294269, 1e-4),
            (0.9, 31.0, 1.3094635494946454, 1e-5),
        ] {
            let got = student_t_quantile(p, df);
            assert!(
                (got - exact).abs() < tolerance,
                "t({p}, {df}) = {got}, not {exact}"
            );
        }
    }
}

//! Multiclass probabilistic finalizers: log loss, top-k accuracy and ROC AUC (one-vs-rest or
//! one-vs-one, macro or prevalence-weighted), as scikit-learn defines them. With sample weights,
//! means are weighted means, each one-vs-rest AUC is a weighted AUC and "weighted" averages by
//! weighted prevalence (scikit-learn's `_average_binary_score`).

use super::binary::unreachable_kind;
use super::scores::roc_auc_weighted;
use super::{reason, Outcome};
use rayon::prelude::*;

use crate::accum::class_scores::KeyCount;
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

/// Twice the Mann-Whitney count of positives over negatives: per negative, 2 per positive
/// scoring above it plus 1 per positive tied with it (the integer `roc_auc` accumulates over the
/// same groups, so the AUC is bit for bit the same). One merge walk of two sorted runs.
fn twice_area(pos: &[KeyCount], neg: &[KeyCount]) -> u128 {
    let mut above: u128 = pos.iter().map(|p| p.count as u128).sum();
    let mut i = 0;
    let mut area: u128 = 0;
    for q in neg {
        while i < pos.len() && pos[i].key < q.key {
            above -= pos[i].count as u128;
            i += 1;
        }
        let tied = match pos.get(i) {
            Some(p) if p.key == q.key => p.count as u128,
            _ => 0,
        };
        area += q.count as u128 * (2 * (above - tied) + tied);
    }
    area
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
        let groups: Vec<(f64, f64)> = run.iter().rev().map(|q| (q.pos, q.neg)).collect();
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
    // runs[c][j]: the sorted scores of column c over the rows of class j.
    let runs = s.all_runs();
    // One AUC per class (ovr) or class pair (ovo), each with its prevalence weight.
    let (scores, weights): (Vec<Outcome>, Vec<f64>) =
        match metric.multi_class.unwrap_or(MultiClass::Ovr) {
            MultiClass::Ovr => {
                let classes: Vec<Outcome> = runs
                    .par_iter()
                    .enumerate()
                    .map(|(c, column)| {
                        // As scikit-learn's weighted average: a class without rows weighs 0 and
                        // scores 0.
                        if weighted && s.support[c] == 0 {
                            return Outcome::of(0.0);
                        }
                        let pos = &column[c];
                        let (mut area, mut n) = (0u128, 0u64);
                        for (j, neg) in column.iter().enumerate().filter(|&(j, _)| j != c) {
                            area += twice_area(pos, neg);
                            n += s.support[j];
                        }
                        auc_of(area, s.support[c], n)
                    })
                    .collect();
                (classes, s.support.iter().map(|&x| x as f64).collect())
            }
            MultiClass::Ovo => {
                let pair = |a: usize, b: usize| {
                    auc_of(
                        twice_area(&runs[a][a], &runs[a][b]),
                        s.support[a],
                        s.support[b],
                    )
                };
                let pairs: Vec<(usize, usize)> = (0..k)
                    .flat_map(|a| (a + 1..k).map(move |b| (a, b)))
                    .collect();
                let scores = pairs
                    .par_iter()
                    .map(|&(a, b)| match (pair(a, b).value, pair(b, a).value) {
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

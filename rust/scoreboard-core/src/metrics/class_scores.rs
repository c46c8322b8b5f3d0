//! Multiclass probabilistic finalizers: log loss, top-k accuracy and ROC AUC (one-vs-rest or
//! one-vs-one, macro or prevalence-weighted), as scikit-learn defines them. With sample weights,
//! means are weighted means, each one-vs-rest AUC is a weighted AUC and "weighted" averages by
//! weighted prevalence (scikit-learn's `_average_binary_score`).

use super::binary::unreachable_kind;
use super::scores::{roc_auc, roc_auc_weighted};
use super::{reason, Outcome};
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

/// AUC of score column `column`, with positives the rows of class `pos` and negatives the rows
/// of the classes `neg` selects.
fn column_auc(run: &[u64], k: usize, pos: usize, neg: impl Fn(usize) -> bool) -> Outcome {
    let stride = k + 1;
    let groups: Vec<(u64, u64)> = run
        .chunks(stride)
        .rev()
        .map(|p| {
            let counts = &p[1..];
            let negatives = (0..k).filter(|&j| neg(j)).map(|j| counts[j]).sum();
            (counts[pos], negatives)
        })
        .collect();
    let (p, n) = groups.iter().fold((0, 0), |(a, b), &(x, y)| (a + x, b + y));
    roc_auc(groups.into_iter(), p, n)
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
        let groups: Vec<(f64, f64)> = run
            .weights
            .chunks(k)
            .rev()
            .map(|w| (w[c], w.iter().sum::<f64>() - w[c]))
            .collect();
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
    let runs: Vec<Vec<u64>> = (0..k).map(|c| s.column_run(c)).collect();
    let mut scores = Vec::new();
    let mut weights = Vec::new();
    match metric.multi_class.unwrap_or(MultiClass::Ovr) {
        MultiClass::Ovr => {
            for (c, run) in runs.iter().enumerate() {
                // As scikit-learn's weighted average: a class without rows weighs 0 and scores 0.
                scores.push(if weighted && s.support[c] == 0 {
                    Outcome::of(0.0)
                } else {
                    column_auc(run, k, c, |j| j != c)
                });
                weights.push(s.support[c] as f64);
            }
        }
        MultiClass::Ovo => {
            for a in 0..k {
                for b in a + 1..k {
                    let ab = column_auc(&runs[a], k, a, |j| j == b);
                    let ba = column_auc(&runs[b], k, b, |j| j == a);
                    scores.push(match (ab.value, ba.value) {
                        (Some(x), Some(y)) => Outcome::of((x + y) / 2.0),
                        _ => Outcome::undefined(reason::SINGLE_CLASS),
                    });
                    weights.push((s.support[a] + s.support[b]) as f64);
                }
            }
        }
    }
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

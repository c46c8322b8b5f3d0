//! Multiclass probabilistic finalizers: log loss, top-k accuracy and ROC AUC (one-vs-rest or
//! one-vs-one, macro or prevalence-weighted), as scikit-learn defines them.

use super::binary::unreachable_kind;
use super::scores::roc_auc;
use super::{reason, Outcome};
use crate::accum::ClassScores;
use crate::plan::{Average, MetricKind, MetricSpec, MultiClass};

pub fn finalize(metric: &MetricSpec, s: &ClassScores) -> Outcome {
    if s.rows == 0 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    let n = s.rows as f64;
    match metric.kind {
        MetricKind::LogLoss => Outcome::of(s.log_loss.value() / n),
        MetricKind::TopKAccuracy => {
            let k = metric.k.unwrap_or(2);
            match s.ks.iter().position(|&x| x == k) {
                Some(i) => Outcome::of(s.hits[i] as f64 / n),
                None => unreachable_kind(metric),
            }
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

fn multiclass_auc(metric: &MetricSpec, s: &ClassScores) -> Outcome {
    let k = s.k;
    let weighted = metric.average == Some(Average::Weighted);
    let runs: Vec<Vec<u64>> = (0..k).map(|c| s.column_run(c)).collect();
    let mut scores = Vec::new();
    let mut weights = Vec::new();
    match metric.multi_class.unwrap_or(MultiClass::Ovr) {
        MultiClass::Ovr => {
            for (c, run) in runs.iter().enumerate() {
                scores.push(column_auc(run, k, c, |j| j != c));
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

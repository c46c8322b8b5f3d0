//! Multiclass finalizers over a K x K confusion matrix, with scikit-learn's averaging. With sample
//! weights every cell is a sum of weights (scikit-learn's `confusion_matrix(sample_weight=...)`),
//! while the classes reported are still those with rows; MCC and kappa then follow scikit-learn's
//! float formulas instead of the exact integer ones.

use super::binary::{kappa_exact, kappa_from, mcc_from_matrix, unreachable_kind};
use super::{reason, MetricValue, Outcome};
use crate::accum::MulticlassConfusion;
use crate::plan::{Average, Label, MetricKind, MetricSpec, ZeroDivision};

/// Per-class counts in the finalizing class order.
struct Table {
    labels: Vec<Label>,
    k: usize,
    counts: Vec<u64>,
    /// Summed weights per cell when weighted, else the counts as f64.
    cells: Vec<f64>,
    weighted: bool,
    n: u64,
    /// Declared labels are always reported; discovered ones only where they occur (so a window or
    /// segment matches scikit-learn run on that subset alone).
    fixed: bool,
}

impl Table {
    fn new(c: &MulticlassConfusion) -> Table {
        let (labels, counts) = c.ordered();
        let cells = if c.is_weighted() {
            c.ordered_weights()
        } else {
            counts.iter().map(|&v| v as f64).collect()
        };
        Table {
            k: labels.len(),
            n: counts.iter().sum(),
            labels,
            counts,
            cells,
            weighted: c.is_weighted(),
            fixed: c.is_fixed(),
        }
    }
    fn tp(&self, i: usize) -> f64 {
        self.cells[i * self.k + i]
    }
    fn true_count(&self, i: usize) -> f64 {
        (0..self.k).map(|p| self.cells[i * self.k + p]).sum()
    }
    fn pred_count(&self, i: usize) -> f64 {
        (0..self.k).map(|t| self.cells[t * self.k + i]).sum()
    }
    fn total(&self) -> f64 {
        self.cells.iter().sum()
    }
    /// The classes scikit-learn would report: declared ones, or those with rows in this data
    /// (whatever their weights).
    fn classes(&self) -> Vec<usize> {
        let rows = |i: usize| -> u64 {
            (0..self.k)
                .map(|j| self.counts[i * self.k + j] + self.counts[j * self.k + i])
                .sum()
        };
        (0..self.k).filter(|&i| self.fixed || rows(i) > 0).collect()
    }
}

pub fn finalize(metric: &MetricSpec, c: &MulticlassConfusion) -> Vec<MetricValue> {
    let table = Table::new(c);
    let one = |o: Outcome| {
        vec![MetricValue {
            name: metric.name.clone(),
            class: None,
            value: o.value,
            n: table.n,
            reason: o.reason,
            ..MetricValue::default()
        }]
    };
    if table.n == 0 && metric.kind != MetricKind::Count {
        if metric.average == Some(Average::None) {
            return Vec::new();
        }
        return one(Outcome::undefined(reason::INSUFFICIENT_DATA));
    }
    if table.weighted && table.total() == 0.0 && metric.kind != MetricKind::Count {
        // Every row weighs 0: nothing to average (scikit-learn raises).
        if metric.average == Some(Average::None) {
            return Vec::new();
        }
        return one(Outcome::undefined(reason::INSUFFICIENT_DATA));
    }
    let zd = metric.zero_division;
    match metric.kind {
        MetricKind::Count => one(Outcome::of(table.n as f64)),
        MetricKind::Accuracy => {
            let correct: f64 = (0..table.k).map(|i| table.tp(i)).sum();
            one(Outcome::of(correct / table.total()))
        }
        MetricKind::Mcc if table.weighted => one(mcc_weighted(&table, zd)),
        MetricKind::CohenKappa if table.weighted => one(kappa_weighted(&table, zd)),
        MetricKind::BalancedAccuracy => {
            let recalls: Vec<f64> = (0..table.k)
                .filter(|&i| table.true_count(i) > 0.0)
                .map(|i| table.tp(i) / table.true_count(i))
                .collect();
            one(Outcome::of(
                recalls.iter().sum::<f64>() / recalls.len() as f64,
            ))
        }
        MetricKind::Mcc => {
            let present = table.classes();
            let k = present.len();
            let mut sub = vec![0u64; k * k];
            for (a, &t) in present.iter().enumerate() {
                for (b, &p) in present.iter().enumerate() {
                    sub[a * k + b] = table.counts[t * table.k + p];
                }
            }
            one(mcc_from_matrix(&sub, k, zd))
        }
        MetricKind::CohenKappa => {
            let k = table.k;
            let t: Vec<u64> = (0..k)
                .map(|i| (0..k).map(|p| table.counts[i * k + p]).sum())
                .collect();
            let p: Vec<u64> = (0..k)
                .map(|j| (0..k).map(|i| table.counts[i * k + j]).sum())
                .collect();
            let correct: u64 = (0..k).map(|i| table.counts[i * k + i]).sum();
            one(kappa_exact(table.n, correct, &t, &p, zd))
        }
        MetricKind::Precision
        | MetricKind::Recall
        | MetricKind::F1
        | MetricKind::Fbeta
        | MetricKind::Jaccard => averaged(metric, &table, zd),
        _ => one(unreachable_kind(metric)),
    }
}

/// scikit-learn's `matthews_corrcoef` on a weighted confusion matrix (float sums).
fn mcc_weighted(t: &Table, zd: ZeroDivision) -> Outcome {
    let classes = t.classes();
    let t_sum: Vec<f64> = classes.iter().map(|&i| t.true_count(i)).collect();
    let p_sum: Vec<f64> = classes.iter().map(|&i| t.pred_count(i)).collect();
    let correct: f64 = classes.iter().map(|&i| t.tp(i)).sum();
    let n: f64 = p_sum.iter().sum();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let cov_tp = correct * n - dot(&t_sum, &p_sum);
    let cov_pp = n * n - dot(&p_sum, &p_sum);
    let cov_tt = n * n - dot(&t_sum, &t_sum);
    if cov_pp * cov_tt == 0.0 {
        return Outcome::ratio(0.0, 0.0, zd);
    }
    Outcome::of(cov_tp / (cov_pp * cov_tt).sqrt())
}

/// scikit-learn's `cohen_kappa_score` on a weighted confusion matrix: observed over expected
/// disagreement, the expected one summed term by term as scikit-learn does (so "exactly zero"
/// agrees).
fn kappa_weighted(t: &Table, zd: ZeroDivision) -> Outcome {
    let k = t.k;
    let pred: Vec<f64> = (0..k).map(|i| t.pred_count(i)).collect();
    let truth: Vec<f64> = (0..k).map(|i| t.true_count(i)).collect();
    let n: f64 = pred.iter().sum();
    let (mut observed, mut expected) = (0.0, 0.0);
    for (i, &p) in pred.iter().enumerate() {
        for (j, &t_j) in truth.iter().enumerate().filter(|&(j, _)| j != i) {
            observed += t.cells[i * k + j];
            expected += p * t_j / n;
        }
    }
    kappa_from(observed, expected, zd)
}

/// numerator and denominator of one class's score.
fn class_fraction(kind: MetricKind, beta: f64, t: &Table, i: usize) -> (f64, f64) {
    let (tp, true_n, pred_n) = (t.tp(i), t.true_count(i), t.pred_count(i));
    let (fp, fn_) = (pred_n - tp, true_n - tp);
    fraction(kind, beta, tp, fp, fn_)
}

fn fraction(kind: MetricKind, beta: f64, tp: f64, fp: f64, fn_: f64) -> (f64, f64) {
    match kind {
        MetricKind::Precision => (tp, tp + fp),
        MetricKind::Recall => (tp, tp + fn_),
        MetricKind::Jaccard => (tp, tp + fp + fn_),
        _ => {
            let b2 = beta * beta;
            ((1.0 + b2) * tp, (1.0 + b2) * tp + b2 * fn_ + fp)
        }
    }
}

fn averaged(metric: &MetricSpec, t: &Table, zd: ZeroDivision) -> Vec<MetricValue> {
    let beta = if metric.kind == MetricKind::F1 {
        1.0
    } else {
        metric.beta.unwrap_or(1.0)
    };
    let value = |class: Option<Label>, o: Outcome| MetricValue {
        name: metric.name.clone(),
        class,
        value: o.value,
        n: t.n,
        reason: o.reason,
        ..MetricValue::default()
    };
    let classes = t.classes();
    let per_class: Vec<Outcome> = classes
        .iter()
        .map(|&i| {
            let (num, den) = class_fraction(metric.kind, beta, t, i);
            Outcome::ratio(num, den, zd)
        })
        .collect();
    match metric.average.unwrap_or(Average::Macro) {
        Average::None => classes
            .iter()
            .zip(&per_class)
            .map(|(&i, o)| value(Some(t.labels[i].clone()), *o))
            .collect(),
        Average::Micro => {
            let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
            for &i in &classes {
                let c_tp = t.tp(i);
                tp += c_tp;
                fp += t.pred_count(i) - c_tp;
                fn_ += t.true_count(i) - c_tp;
            }
            let (num, den) = fraction(metric.kind, beta, tp, fp, fn_);
            vec![value(None, Outcome::ratio(num, den, zd))]
        }
        Average::Macro | Average::Binary => {
            let weights = vec![1.0; classes.len()];
            vec![value(None, weighted_mean(&per_class, &weights, zd))]
        }
        Average::Weighted => {
            let weights: Vec<f64> = classes.iter().map(|&i| t.true_count(i)).collect();
            vec![value(None, weighted_mean(&per_class, &weights, zd))]
        }
    }
}

/// scikit-learn's average of per-class scores (`_nanaverage`): classes whose score is undefined
/// count as the zero_division value, or, with `zero_division="nan"`, are left out; when the
/// weights of the classes left are all zero, their plain mean.
fn weighted_mean(per_class: &[Outcome], weights: &[f64], _zd: ZeroDivision) -> Outcome {
    let reason = per_class.iter().find_map(|o| o.reason);
    let defined: Vec<(f64, f64)> = per_class
        .iter()
        .zip(weights)
        .filter_map(|(o, &w)| o.value.map(|v| (v, w)))
        .collect();
    if defined.is_empty() {
        return Outcome {
            value: None,
            reason: Some(reason.unwrap_or(reason::ZERO_DIVISION)),
        };
    }
    let den: f64 = defined.iter().map(|&(_, w)| w).sum();
    let value = if den == 0.0 {
        defined.iter().map(|&(v, _)| v).sum::<f64>() / defined.len() as f64
    } else {
        defined.iter().map(|&(v, w)| v * w).sum::<f64>() / den
    };
    Outcome {
        value: Some(value),
        reason,
    }
}

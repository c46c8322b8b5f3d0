//! Binary finalizers over (tp, fp, fn, tn).

use super::{reason, Outcome};
use crate::accum::BinaryConfusion;
use crate::plan::{MetricKind, MetricSpec, ZeroDivision};

/// Confusion counts as floats: exact integers, or sums of sample weights.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
    pub tn: f64,
}

impl Counts {
    pub fn total(&self) -> f64 {
        self.tp + self.fp + self.fn_ + self.tn
    }
}

impl From<&BinaryConfusion> for Counts {
    fn from(c: &BinaryConfusion) -> Counts {
        Counts {
            tp: c.tp as f64,
            fp: c.fp as f64,
            fn_: c.fn_ as f64,
            tn: c.tn as f64,
        }
    }
}

pub fn finalize(metric: &MetricSpec, c: &BinaryConfusion) -> Outcome {
    finalize_counts(metric, &Counts::from(c), c.n(), Some(c))
}

/// Finalizes from float counts over `rows` rows; `exact` (integer counts, when there are no
/// weights) lets MCC use exact integer arithmetic.
pub fn finalize_counts(
    metric: &MetricSpec,
    c: &Counts,
    rows: u64,
    exact: Option<&BinaryConfusion>,
) -> Outcome {
    if metric.kind == MetricKind::Count {
        return Outcome::of(rows as f64);
    }
    if rows == 0 {
        return Outcome::undefined(reason::INSUFFICIENT_DATA);
    }
    if c.total() == 0.0 {
        // Rows whose weights are all zero: nothing to average.
        return Outcome::ratio(0.0, 0.0, metric.zero_division);
    }
    let zd = metric.zero_division;
    match metric.kind {
        MetricKind::Accuracy => accuracy(c),
        MetricKind::Precision => precision(c, zd),
        MetricKind::Recall => recall(c, zd),
        MetricKind::F1 => fbeta(c, 1.0, zd),
        MetricKind::Fbeta => fbeta(c, metric.beta.unwrap_or(1.0), zd),
        MetricKind::Specificity => specificity(c, zd),
        MetricKind::Npv => npv(c, zd),
        MetricKind::Fpr => fpr(c, zd),
        MetricKind::Fnr => fnr(c, zd),
        MetricKind::BalancedAccuracy => balanced_accuracy(c),
        MetricKind::Mcc => match exact {
            Some(b) => mcc(b, zd),
            None => mcc_weighted(c, zd),
        },
        MetricKind::CohenKappa => match exact {
            Some(b) => kappa_exact(
                b.n(),
                b.tp + b.tn,
                &[b.tp + b.fn_, b.fp + b.tn],
                &[b.tp + b.fp, b.fn_ + b.tn],
                zd,
            ),
            None => cohen_kappa(c, zd),
        },
        MetricKind::Jaccard => jaccard(c, zd),
        MetricKind::Prevalence => prevalence(c),
        MetricKind::PredictedPositiveRate => predicted_positive_rate(c),
        _ => unreachable_kind(metric),
    }
}

/// The compiler only pairs binary kinds with this accumulator; anything else is a plan bug.
pub(crate) fn unreachable_kind(metric: &MetricSpec) -> Outcome {
    debug_assert!(false, "metric {:?} is not finalized here", metric.kind);
    Outcome::undefined("unsupported_metric")
}

fn f(c: &Counts) -> (f64, f64, f64, f64) {
    (c.tp, c.fp, c.fn_, c.tn)
}

pub fn accuracy(c: &Counts) -> Outcome {
    let (tp, _, _, tn) = f(c);
    Outcome::of((tp + tn) / c.total())
}

pub fn precision(c: &Counts, zd: ZeroDivision) -> Outcome {
    let (tp, fp, _, _) = f(c);
    Outcome::ratio(tp, tp + fp, zd)
}

pub fn recall(c: &Counts, zd: ZeroDivision) -> Outcome {
    let (tp, _, fn_, _) = f(c);
    Outcome::ratio(tp, tp + fn_, zd)
}

/// scikit-learn's F-beta: (1 + b²) tp / ((1 + b²) tp + b² fn + fp).
pub fn fbeta(c: &Counts, beta: f64, zd: ZeroDivision) -> Outcome {
    let (tp, fp, fn_, _) = f(c);
    let b2 = beta * beta;
    Outcome::ratio((1.0 + b2) * tp, (1.0 + b2) * tp + b2 * fn_ + fp, zd)
}

pub fn specificity(c: &Counts, zd: ZeroDivision) -> Outcome {
    let (_, fp, _, tn) = f(c);
    Outcome::ratio(tn, tn + fp, zd)
}

pub fn npv(c: &Counts, zd: ZeroDivision) -> Outcome {
    let (_, _, fn_, tn) = f(c);
    Outcome::ratio(tn, tn + fn_, zd)
}

pub fn fpr(c: &Counts, zd: ZeroDivision) -> Outcome {
    let (_, fp, _, tn) = f(c);
    Outcome::ratio(fp, fp + tn, zd)
}

pub fn fnr(c: &Counts, zd: ZeroDivision) -> Outcome {
    let (tp, _, fn_, _) = f(c);
    Outcome::ratio(fn_, fn_ + tp, zd)
}

/// Mean recall over the classes present in y_true (scikit-learn drops absent classes).
pub fn balanced_accuracy(c: &Counts) -> Outcome {
    let (tp, fp, fn_, tn) = f(c);
    let recalls: Vec<f64> = [(tp, tp + fn_), (tn, tn + fp)]
        .into_iter()
        .filter(|&(_, support)| support > 0.0)
        .map(|(hit, support)| hit / support)
        .collect();
    Outcome::of(recalls.iter().sum::<f64>() / recalls.len() as f64)
}

/// Matthews correlation. scikit-learn returns 0 when undefined; we report that through
/// `zero_division` so the default matches it and the reason is kept.
pub fn mcc(c: &BinaryConfusion, zd: ZeroDivision) -> Outcome {
    let counts = [c.tp, c.fn_, c.fp, c.tn]; // row-major 2 x 2: rows true (pos, neg)
    mcc_from_matrix(&counts, 2, zd)
}

/// MCC from float (weighted) counts, as scikit-learn computes it with sample weights.
pub fn mcc_weighted(c: &Counts, zd: ZeroDivision) -> Outcome {
    let (tp, fp, fn_, tn) = f(c);
    let n = c.total();
    let (t_pos, t_neg) = (tp + fn_, fp + tn);
    let (p_pos, p_neg) = (tp + fp, fn_ + tn);
    let cov_tp = (tp + tn) * n - (t_pos * p_pos + t_neg * p_neg);
    let cov_pp = n * n - (p_pos * p_pos + p_neg * p_neg);
    let cov_tt = n * n - (t_pos * t_pos + t_neg * t_neg);
    if cov_pp == 0.0 || cov_tt == 0.0 {
        return Outcome::ratio(0.0, 0.0, zd);
    }
    Outcome::of(cov_tp / (cov_pp * cov_tt).sqrt())
}

/// MCC of a k x k confusion matrix (rows true, columns predicted). The covariances are computed in
/// exact integer arithmetic, as scikit-learn's int64 sums are, so huge counts do not cancel.
pub(crate) fn mcc_from_matrix(counts: &[u64], k: usize, zd: ZeroDivision) -> Outcome {
    let n: i128 = counts.iter().map(|&v| v as i128).sum();
    let correct: i128 = (0..k).map(|i| counts[i * k + i] as i128).sum();
    let t_sum: Vec<i128> = (0..k)
        .map(|t| (0..k).map(|p| counts[t * k + p] as i128).sum())
        .collect();
    let p_sum: Vec<i128> = (0..k)
        .map(|p| (0..k).map(|t| counts[t * k + p] as i128).sum())
        .collect();
    let dot = |a: &[i128], b: &[i128]| a.iter().zip(b).map(|(x, y)| x * y).sum::<i128>();
    let cov_tp = correct * n - dot(&t_sum, &p_sum);
    let cov_pp = n * n - dot(&p_sum, &p_sum);
    let cov_tt = n * n - dot(&t_sum, &t_sum);
    if cov_pp == 0 || cov_tt == 0 {
        return Outcome::ratio(0.0, 0.0, zd);
    }
    Outcome::of(cov_tp as f64 / ((cov_pp as f64) * (cov_tt as f64)).sqrt())
}

/// Cohen's kappa between y_true and y_pred. Undefined (one shared label) follows scikit-learn's
/// `replace_undefined_by=nan` unless `zero_division` gives a number.
pub fn cohen_kappa(c: &Counts, zd: ZeroDivision) -> Outcome {
    let (tp, fp, fn_, tn) = f(c);
    let n = tp + fp + fn_ + tn;
    let observed_disagreement = fp + fn_;
    let expected_disagreement = ((tp + fn_) * (tn + fn_) + (tn + fp) * (tp + fp)) / n;
    kappa_from(observed_disagreement, expected_disagreement, zd)
}

/// Cohen's kappa from integer counts (n rows, `correct` on the diagonal, per-class true and
/// predicted totals), in exact integer arithmetic up to one final division:
/// `(n² - Σ t·p - n·(n - correct)) / (n² - Σ t·p)`. Cancellation near 0 costs no accuracy.
pub(crate) fn kappa_exact(
    n: u64,
    correct: u64,
    true_totals: &[u64],
    pred_totals: &[u64],
    zd: ZeroDivision,
) -> Outcome {
    let n = n as i128;
    let chance: i128 = true_totals
        .iter()
        .zip(pred_totals)
        .map(|(&a, &b)| a as i128 * b as i128)
        .sum();
    let expected = n * n - chance; // n × expected disagreement
    let observed = n * (n - correct as i128); // n × observed disagreement
    if expected == 0 {
        return kappa_from(observed as f64, 0.0, zd);
    }
    Outcome::of((expected - observed) as f64 / expected as f64)
}

pub(crate) fn kappa_from(observed: f64, expected: f64, zd: ZeroDivision) -> Outcome {
    if expected == 0.0 {
        return Outcome {
            value: match zd {
                ZeroDivision::Value(v) => Some(v),
                ZeroDivision::Mode(_) => None,
            },
            reason: Some(reason::ZERO_DIVISION),
        };
    }
    Outcome::of(1.0 - observed / expected)
}

pub fn jaccard(c: &Counts, zd: ZeroDivision) -> Outcome {
    let (tp, fp, fn_, _) = f(c);
    Outcome::ratio(tp, tp + fp + fn_, zd)
}

pub fn prevalence(c: &Counts) -> Outcome {
    let (tp, _, fn_, _) = f(c);
    Outcome::of((tp + fn_) / c.total())
}

pub fn predicted_positive_rate(c: &Counts) -> Outcome {
    let (tp, fp, _, _) = f(c);
    Outcome::of((tp + fp) / c.total())
}

//! Confusion counts at several thresholds in one pass (metrics with their own `threshold:`).
//!
//! With the thresholds sorted, `t_0 < t_1 < ... < t_{k-1}`, each row falls in the bucket `b` =
//! the number of thresholds at or below its score, and is predicted positive at threshold `j`
//! exactly when `b > j`. So the state is only the positive and negative counts of the k + 1
//! buckets; the (tp, fp, fn, tn) of any threshold are suffix sums, read at finalize time.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binary::{for_each_label_block, BinaryLabels};
use super::scores::{check_rows, strings_are_not_scores};
use super::{add_count, split_ranges, BinaryConfusion};
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdConfusion {
    /// Sorted, distinct thresholds.
    thresholds: Vec<f64>,
    /// Positive and negative counts of bucket `b` at `2b` and `2b + 1`.
    counts: Vec<u64>,
    /// With a weight column: the summed weights, laid out as `counts` (empty otherwise, and
    /// until the first weighted row).
    weighted: Vec<f64>,
    /// The summed squared weights, laid out as `weighted`: with the counts, the moments of the
    /// weight a row bootstrap draws from a cell (weighted Wilson and bootstrap intervals).
    squares: Vec<f64>,
}

impl ThresholdConfusion {
    pub fn new(thresholds: &[f64]) -> ThresholdConfusion {
        let mut sorted = thresholds.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        let k = sorted.len();
        ThresholdConfusion {
            thresholds: sorted,
            counts: vec![0; 2 * (k + 1)],
            weighted: Vec::new(),
            squares: Vec::new(),
        }
    }

    /// The summed weights (tp, fp, fn, tn) at `threshold`, when a weight column is counted.
    pub fn weighted_at(&self, threshold: f64) -> Option<crate::metrics::binary::Counts> {
        let j = self.thresholds.iter().position(|&t| t == threshold)?;
        let mut c = crate::metrics::binary::Counts::default();
        if self.weighted.is_empty() {
            return Some(c);
        }
        for b in 0..=self.thresholds.len() {
            let (pos, neg) = (self.weighted[2 * b], self.weighted[2 * b + 1]);
            if b > j {
                c.tp += pos;
                c.fp += neg;
            } else {
                c.fn_ += pos;
                c.tn += neg;
            }
        }
        Some(c)
    }

    /// (rows, Σ w, Σ w²) of the tp, fp, fn and tn cells at `threshold`, when a weight column is
    /// counted.
    pub fn weighted_cells_at(&self, threshold: f64) -> Option<[(u64, f64, f64); 4]> {
        let j = self.thresholds.iter().position(|&t| t == threshold)?;
        if self.weighted.is_empty() {
            return None;
        }
        let mut cells = [(0u64, 0.0, 0.0); 4];
        for b in 0..=self.thresholds.len() {
            for class in 0..2 {
                let i = 2 * b + class;
                // 0 tp, 1 fp, 2 fn, 3 tn: predicted positive above the threshold's bucket.
                let cell = &mut cells[class + if b > j { 0 } else { 2 }];
                cell.0 += self.counts[i];
                cell.1 += self.weighted[i];
                cell.2 += self.squares[i];
            }
        }
        Some(cells)
    }

    /// Whether sample weights are counted (weighted metrics then read `weighted_at`).
    pub fn is_weighted(&self) -> bool {
        !self.weighted.is_empty()
    }

    pub fn n(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The confusion counts at `threshold` (one of the declared thresholds).
    pub fn at(&self, threshold: f64) -> Option<BinaryConfusion> {
        let j = self.thresholds.iter().position(|&t| t == threshold)?;
        let mut c = BinaryConfusion::default();
        for b in 0..=self.thresholds.len() {
            let (pos, neg) = (self.counts[2 * b], self.counts[2 * b + 1]);
            if b > j {
                c.tp += pos;
                c.fp += neg;
            } else {
                c.fn_ += pos;
                c.tn += neg;
            }
        }
        Some(c)
    }

    /// Folds one chunk in, with sample weights if given. NaN scores are an error. All or nothing.
    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        (score_name, y_score): (&str, Values<'_>),
        weight: Option<(&str, Values<'_>)>,
        labels: &BinaryLabels<'_>,
    ) -> Result<()> {
        if matches!(y_score, Values::Dict { .. }) {
            return Err(strings_are_not_scores(score_name));
        }
        let thresholds = &self.thresholds;
        let parts: Vec<(Vec<u64>, u64, u64)> = split_ranges(y_true.len())
            .into_par_iter()
            .map(|r| {
                dispatch_numeric!(y_score.slice(r.clone()),
                    s => count_piece(y_true.slice(r), s, labels, thresholds),
                    Values::Dict { .. } => (Vec::new(), 0, 0))
            })
            .collect();
        let bad_labels = parts.iter().map(|p| p.1).sum();
        let bad_scores = parts.iter().map(|p| p.2).sum();
        // NaN is the only score a threshold cannot place (infinities compare fine).
        check_nan_rows(
            (true_name, y_true),
            (score_name, y_score),
            labels,
            bad_labels,
            bad_scores,
        )?;
        let weighted = match weight {
            Some((name, values)) => {
                let w = super::weighted::read_weights(name, values)?;
                Some(weighted_sums(y_true, y_score, &w, labels, thresholds))
            }
            None => None,
        };
        let mut next = self.counts.clone();
        for (counts, _, _) in &parts {
            for (a, &b) in next.iter_mut().zip(counts) {
                *a = add_count(*a, b, "threshold confusion")?;
            }
        }
        self.counts = next;
        if let Some((sums, squares)) = weighted {
            self.add_weighted(&sums, &squares);
        }
        Ok(())
    }

    fn add_weighted(&mut self, sums: &[f64], squares: &[f64]) {
        if sums.is_empty() {
            return;
        }
        if self.weighted.is_empty() {
            self.weighted = vec![0.0; self.counts.len()];
            self.squares = vec![0.0; self.counts.len()];
        }
        for (a, b) in self.weighted.iter_mut().zip(sums) {
            *a += b;
        }
        for (a, b) in self.squares.iter_mut().zip(squares) {
            *a += b;
        }
    }

    pub fn merge(&mut self, other: &ThresholdConfusion) -> Result<()> {
        if other.thresholds != self.thresholds {
            return Err(CoreError::IncompatibleState(
                "confusion counts at different thresholds".into(),
            ));
        }
        let mut next = self.counts.clone();
        for (a, &b) in next.iter_mut().zip(&other.counts) {
            *a = add_count(*a, b, "threshold confusion")?;
        }
        self.counts = next;
        self.add_weighted(&other.weighted, &other.squares);
        Ok(())
    }
}

/// Summed weights and squared weights per bucket (labels and scores were validated by the
/// counting pass).
fn weighted_sums(
    y_true: Values<'_>,
    y_score: Values<'_>,
    w: &[f64],
    labels: &BinaryLabels<'_>,
    thresholds: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let mut sums = vec![0.0f64; 2 * (thresholds.len() + 1)];
    let mut squares = sums.clone();
    for_each_label_block(y_true, labels, w.len(), |start, codes| {
        let end = start + codes.len();
        let scores: Vec<f64> = dispatch_numeric!(y_score.slice(start..end),
            s => s.iter().map(|x| x.as_f64()).collect(),
            Values::Dict { .. } => Vec::new());
        for ((&c, &v), &wi) in codes.iter().zip(&scores).zip(&w[start..end]) {
            let i = 2 * bucket_of(v, thresholds) + (c == 0) as usize;
            sums[i] += wi;
            squares[i] += wi * wi;
        }
    });
    (sums, squares)
}

fn check_nan_rows(
    y_true: (&str, Values<'_>),
    (score_name, y_score): (&str, Values<'_>),
    labels: &BinaryLabels<'_>,
    bad_labels: u64,
    bad_scores: u64,
) -> Result<()> {
    check_rows(y_true, (score_name, y_score), labels, false, bad_labels, 0)?;
    if bad_scores > 0 {
        let first_row = dispatch_numeric!(y_score,
            s => s.iter().position(|x| x.as_f64().is_nan()).unwrap_or(0) as u64,
            Values::Dict { .. } => 0);
        return Err(CoreError::InvalidData {
            column: score_name.to_string(),
            message: "score is NaN".into(),
            count: bad_scores,
            first_row,
        });
    }
    Ok(())
}

fn count_piece<T: AsF64>(
    y_true: Values<'_>,
    scores: &[T],
    labels: &BinaryLabels<'_>,
    thresholds: &[f64],
) -> (Vec<u64>, u64, u64) {
    let mut counts = vec![0u64; 2 * (thresholds.len() + 1)];
    let (mut bad_labels, mut bad_scores) = (0u64, 0u64);
    for_each_label_block(y_true, labels, scores.len(), |start, codes| {
        for (&c, x) in codes.iter().zip(&scores[start..]) {
            let v = x.as_f64();
            bad_scores += v.is_nan() as u64;
            bad_labels += (c >> 1) as u64;
            counts[2 * bucket_of(v, thresholds) + (c == 0) as usize] += 1;
        }
    });
    (counts, bad_labels, bad_scores)
}

/// How many thresholds `v` reaches (`t <= v`): its bucket among the sorted thresholds. A
/// branch-free scan for a few thresholds, a binary search for many.
#[inline(always)]
fn bucket_of(v: f64, thresholds: &[f64]) -> usize {
    if thresholds.len() <= 16 {
        thresholds.iter().map(|&t| (t <= v) as usize).sum()
    } else {
        thresholds.partition_point(|&t| t <= v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Label;

    #[test]
    fn equals_one_confusion_per_threshold() {
        let (p, n) = (Label::Int(1), Label::Int(0));
        let l = BinaryLabels::new(&p, &n);
        let y: Vec<u8> = (0..5000).map(|i| (i % 3 == 0) as u8).collect();
        let s: Vec<f64> = (0..5000).map(|i| ((i * 37) % 101) as f64 / 100.0).collect();
        let ts = [0.9, 0.3, 0.5, 0.5, 0.0, 1.0, f64::NEG_INFINITY];
        let mut multi = ThresholdConfusion::new(&ts);
        multi
            .update(("y", Values::U8(&y)), ("s", Values::F64(&s)), None, &l)
            .unwrap();
        for t in ts {
            let mut one = BinaryConfusion::default();
            one.update(("y", Values::U8(&y)), ("s", Values::F64(&s)), &l, Some(t))
                .unwrap();
            assert_eq!(multi.at(t), Some(one), "{t}");
        }
        let before = multi.clone();
        let bad = [0.1, f64::NAN, 0.2];
        assert!(multi
            .update(
                ("y", Values::U8(&y[..3])),
                ("s", Values::F64(&bad)),
                None,
                &l
            )
            .is_err());
        assert_eq!(multi, before);
        assert!(multi.merge(&ThresholdConfusion::new(&[0.5])).is_err());
    }

    #[test]
    fn weighted_cells_equal_one_weighted_confusion_per_threshold() {
        use crate::accum::WeightedConfusion;
        let (p, n) = (Label::Int(1), Label::Int(0));
        let l = BinaryLabels::new(&p, &n);
        let y: Vec<u8> = (0..3000).map(|i| (i % 3 == 0) as u8).collect();
        let s: Vec<f64> = (0..3000).map(|i| ((i * 37) % 101) as f64 / 100.0).collect();
        // Quarters, so every sum is exact whatever its order.
        let w: Vec<f64> = (0..3000).map(|i| ((i * 7) % 13) as f64 / 4.0).collect();
        let ts = [0.9, 0.3, 0.5];
        let (yv, sv, wv) = (
            ("y", Values::U8(&y)),
            ("s", Values::F64(&s)),
            ("w", Values::F64(&w)),
        );
        let mut multi = ThresholdConfusion::new(&ts);
        multi.update(yv, sv, Some(wv), &l).unwrap();
        for t in ts {
            let mut one = WeightedConfusion::default();
            one.update(yv, sv, wv, &l, Some(t)).unwrap();
            let k = one.counts;
            // (tp, fp, fn, tn); `squares` is in (tp, fn, fp, tn) order.
            let want = [
                (k.tp, one.tp.value(), one.squares[0].value()),
                (k.fp, one.fp.value(), one.squares[2].value()),
                (k.fn_, one.fn_.value(), one.squares[1].value()),
                (k.tn, one.tn.value(), one.squares[3].value()),
            ];
            assert_eq!(multi.weighted_cells_at(t), Some(want), "{t}");
        }
        assert_eq!(ThresholdConfusion::new(&ts).weighted_cells_at(0.5), None);
    }
}

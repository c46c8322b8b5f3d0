//! Every value of some numeric columns, kept exactly: O(n) memory, for the metrics that need the
//! whole sample (`median_absolute_error`, `d2_absolute_error`, exact `quantile`).
//!
//! Each chunk becomes one immutable, shared block (`Arc`), so cloning or merging a state copies
//! pointers, not values; finalizers gather the blocks once.
//!
//! With a weight column, each block also keeps the rows' sample weights (after the columns), for
//! scikit-learn's weighted percentile.

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::add_count;
use super::column_stats::{non_finite_error, numeric};
use super::weighted::read_weights;
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactValues {
    n: u64,
    /// One block per chunk; a block holds one vector per column, then the weights if weighted.
    blocks: Vec<Arc<Vec<Vec<f64>>>>,
    weighted: bool,
}

impl ExactValues {
    /// An empty state that also keeps sample weights.
    pub fn new_weighted() -> ExactValues {
        ExactValues {
            weighted: true,
            ..ExactValues::default()
        }
    }

    pub fn n(&self) -> u64 {
        self.n
    }

    pub fn is_weighted(&self) -> bool {
        self.weighted
    }

    /// Every row's weight, in the order of `column` (empty when unweighted).
    pub fn weights(&self) -> Vec<f64> {
        let mut out = Vec::new();
        if self.weighted {
            for b in &self.blocks {
                out.extend_from_slice(&b[b.len() - 1]);
            }
        }
        out
    }

    /// Every value of column `i` (in the spec's column order), in no particular order across
    /// chunks.
    pub fn column(&self, i: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.n as usize);
        for b in &self.blocks {
            out.extend_from_slice(&b[i]);
        }
        out
    }

    pub fn update(
        &mut self,
        columns: &[(&str, Values<'_>)],
        weight: Option<(&str, Values<'_>)>,
    ) -> Result<()> {
        if self.weighted != weight.is_some() {
            return Err(CoreError::IncompatibleState(
                "exact values: weight column and state disagree".into(),
            ));
        }
        let mut block = Vec::with_capacity(columns.len() + 1);
        let mut len = 0;
        for &(name, values) in columns {
            let values = numeric(name, values)?;
            let copied: Vec<f64> = dispatch_numeric!(values,
                s => s.par_iter().map(|x| x.as_f64()).collect(),
                Values::Dict { .. } => Vec::new());
            let bad = copied.iter().filter(|v| !v.is_finite()).count();
            if bad > 0 {
                return Err(non_finite_error(name, values, bad as u64));
            }
            len = copied.len();
            block.push(copied);
        }
        if let Some((name, values)) = weight {
            block.push(read_weights(name, values)?);
        }
        if len == 0 {
            return Ok(());
        }
        self.n = add_count(self.n, len as u64, "exact values")?;
        self.blocks.push(Arc::new(block));
        Ok(())
    }

    pub fn merge(&mut self, o: &ExactValues) -> Result<()> {
        if self.weighted != o.weighted {
            return Err(CoreError::IncompatibleState(
                "weighted and unweighted exact values".into(),
            ));
        }
        self.n = add_count(self.n, o.n, "exact values")?;
        self.blocks.extend(o.blocks.iter().cloned());
        Ok(())
    }
}

/// numpy's default (`linear`) percentile of `values` at `q` in [0, 1]: the value at fractional
/// rank `q (n - 1)`, interpolated between its two neighbours. Reorders `values`.
pub fn linear_quantile(values: &mut [f64], q: f64) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    // numpy's virtual index for the linear method, `(n - 1) * q` (so roundings agree).
    let rank = ((n - 1) as f64 * q).clamp(0.0, (n - 1) as f64);
    let lo = rank.floor() as usize;
    let frac = rank - lo as f64;
    let (_, &mut a, rest) = values.select_nth_unstable_by(lo, f64::total_cmp);
    if frac == 0.0 || lo + 1 >= n {
        return Some(a);
    }
    let b = rest.iter().copied().fold(f64::INFINITY, f64::min);
    // numpy's _lerp: a + (b - a) * t, and b - (b - a) * (1 - t) when t >= 0.5.
    let diff = b - a;
    Some(if frac >= 0.5 {
        b - diff * (1.0 - frac)
    } else {
        a + diff * frac
    })
}

/// The median as numpy computes it (mean of the two middle values for even n).
pub fn median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (lower, &mut hi, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return Some(hi);
    }
    let lo = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((lo + hi) / 2.0)
}

/// scikit-learn 1.9's `_weighted_percentile(values, weights, 100 q, average=True)` (numpy's
/// "averaged_inverted_cdf" with weights): sort by value, take the first value whose cumulative
/// weight reaches `q` of the total; when it reaches it within one machine epsilon (an absolute
/// tolerance, as scikit-learn's), average it with the next value of non-zero weight. `None` when
/// every weight is 0. Ties among equal values may be ordered differently than numpy's sort: the
/// value chosen is the same, the cumulative sums may differ in the last bit.
pub fn weighted_percentile(values: &[f64], weights: &[f64], q: f64) -> Option<f64> {
    let mut pairs: Vec<(f64, f64)> = values
        .iter()
        .copied()
        .zip(weights.iter().copied())
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // numpy's cumsum: sequential.
    let mut cdf = Vec::with_capacity(pairs.len());
    let mut run = 0.0;
    for &(_, w) in &pairs {
        run += w;
        cdf.push(run);
    }
    let total = *cdf.last()?;
    if total == 0.0 {
        return None;
    }
    let mut target = q * total;
    if target == 0.0 {
        // Leading zero weights are skipped at q = 0 (scikit-learn #20528).
        target = f64::from_bits(1);
    }
    let last = pairs.len() - 1;
    // searchsorted(cdf, target, side="left"), clipped.
    let i = cdf.partition_point(|&c| c < target).min(last);
    if cdf[i] - target > f64::EPSILON {
        return Some(pairs[i].0);
    }
    let mut j = (i + 1).min(last);
    if pairs[j].1 == 0.0 {
        // The next value of positive weight: searchsorted(cdf, cdf[i], side="right").
        let next = cdf.partition_point(|&c| c <= cdf[i]);
        j = if next > last { i } else { next };
    }
    Some((pairs[i].0 + pairs[j].0) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_quantiles_as_numpy() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(linear_quantile(&mut v, 0.0), Some(1.0));
        assert_eq!(linear_quantile(&mut v, 1.0), Some(10.0));
        assert_eq!(linear_quantile(&mut v, 0.5), Some(5.5));
        assert!((linear_quantile(&mut v, 0.99).unwrap() - 9.91).abs() < 1e-12);
    }

    #[test]
    fn weighted_percentile_as_scikit_learn() {
        // Unit weights: the median.
        assert_eq!(
            weighted_percentile(&[4.0, 1.0, 2.0, 3.0], &[1.0; 4], 0.5),
            Some(2.5)
        );
        assert_eq!(
            weighted_percentile(&[3.0, 1.0, 2.0], &[1.0; 3], 0.5),
            Some(2.0)
        );
        // Half the weight exactly at 1: averaged with the next value of non-zero weight (5).
        assert_eq!(
            weighted_percentile(&[1.0, 3.0, 5.0, 7.0], &[1.0, 0.0, 1.0, 0.0], 0.5),
            Some(3.0)
        );
        // Past half: the value itself.
        assert_eq!(
            weighted_percentile(&[1.0, 3.0, 5.0], &[3.0, 1.0, 1.0], 0.5),
            Some(1.0)
        );
        // Trailing zero weights: no next value, the value itself.
        assert_eq!(
            weighted_percentile(&[1.0, 2.0, 9.0], &[1.0, 1.0, 0.0], 0.5),
            Some(1.5)
        );
        assert_eq!(weighted_percentile(&[1.0, 2.0], &[0.0, 0.0], 0.5), None);
        assert_eq!(weighted_percentile(&[], &[], 0.5), None);
    }

    #[test]
    fn weighted_state_keeps_weights_and_refuses_mixing() {
        let mut a = ExactValues::new_weighted();
        a.update(
            &[("y", Values::F64(&[1.0, 2.0]))],
            Some(("w", Values::F64(&[0.5, 2.0]))),
        )
        .unwrap();
        let bytes = postcard::to_allocvec(&a).unwrap();
        let back: ExactValues = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.weights(), vec![0.5, 2.0]);
        assert!(a
            .update(
                &[("y", Values::F64(&[1.0]))],
                Some(("w", Values::F64(&[-1.0])))
            )
            .is_err());
        assert_eq!(a.n(), 2);
        assert!(a.merge(&ExactValues::default()).is_err());
    }
}

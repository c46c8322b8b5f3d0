//! Every value of some numeric columns, kept exactly: O(n) memory, for the metrics that need the
//! whole sample (`median_absolute_error`, `d2_absolute_error`, exact `quantile`).
//!
//! Each chunk becomes one immutable, shared block (`Arc`), so cloning or merging a state copies
//! pointers, not values; finalizers gather the blocks once.

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::add_count;
use super::column_stats::{non_finite_error, numeric};
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::Result;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactValues {
    n: u64,
    /// One block per chunk; a block holds one vector per column.
    blocks: Vec<Arc<Vec<Vec<f64>>>>,
}

impl ExactValues {
    pub fn n(&self) -> u64 {
        self.n
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

    pub fn update(&mut self, columns: &[(&str, Values<'_>)]) -> Result<()> {
        let mut block = Vec::with_capacity(columns.len());
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
        if len == 0 {
            return Ok(());
        }
        self.n = add_count(self.n, len as u64, "exact values")?;
        self.blocks.push(Arc::new(block));
        Ok(())
    }

    pub fn merge(&mut self, o: &ExactValues) -> Result<()> {
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
}

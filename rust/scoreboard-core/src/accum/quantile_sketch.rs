//! A mergeable relative-error quantile sketch (DDSketch-style log buckets) for any numeric column.
//!
//! Buckets are read straight from the float's bits: the bucket of `|x|` is its exponent and top
//! `MANTISSA_BITS` mantissa bits (`bits >> (52 - MANTISSA_BITS)`), a monotone integer, so each
//! value costs a shift and no logarithm. A bucket `[L, U)` spans at most `2^-6` relative width;
//! answering with `2LU / (L + U)` is within `(U - L) / (U + L) < 0.79%` of every value in it
//! (normal floats), which is the sketch's relative accuracy: a quantile's estimate is within 1%
//! (relative) of the true order statistic. Negative values use a mirrored store, zeros a counter.
//!
//! Memory is bounded: a store keeps at most `MAX_BUCKETS` contiguous buckets (64 binades, a
//! dynamic range of 1.8e19) and folds the smallest magnitudes together beyond that (their
//! quantiles then lose accuracy, never the large ones). Counts are exact integers, so the state,
//! and every answer, depend only on the multiset of values: chunking, merging order and threads
//! never change them.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::column_stats::{non_finite_error, numeric};
use super::{add_count, PARALLEL_MIN_ROWS};
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::Result;

const MANTISSA_BITS: u32 = 6;
const SHIFT: u32 = 52 - MANTISSA_BITS;
/// Buckets per store (a power of two times 64 buckets per binade).
pub const MAX_BUCKETS: usize = 64 * 64;

/// The bucket of a positive finite magnitude.
#[inline(always)]
fn bucket(magnitude: f64) -> i64 {
    (magnitude.to_bits() >> SHIFT) as i64
}

/// The representative value of a bucket: the harmonic middle of its bounds (least relative error).
fn representative(index: i64) -> f64 {
    let lower = f64::from_bits((index as u64) << SHIFT);
    let upper = f64::from_bits(((index + 1) as u64) << SHIFT);
    if !upper.is_finite() {
        return lower;
    }
    // lower * (2 upper / (lower + upper)): no underflow or overflow of the product.
    lower * (2.0 * upper / (lower + upper))
}

/// Contiguous bucket counts: `counts[i]` is bucket `offset + i`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    offset: i64,
    counts: Vec<u64>,
}

impl Store {
    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn add_store(&mut self, other: &Store) -> Result<()> {
        if other.counts.is_empty() {
            return Ok(());
        }
        if self.counts.is_empty() {
            *self = other.clone();
            return self.collapse();
        }
        let lo = self.offset.min(other.offset);
        let hi =
            (self.offset + self.counts.len() as i64).max(other.offset + other.counts.len() as i64);
        let mut counts = vec![0u64; (hi - lo) as usize];
        for (store, _) in [(&*self, 0), (other, 1)] {
            let start = (store.offset - lo) as usize;
            for (i, &c) in store.counts.iter().enumerate() {
                counts[start + i] = add_count(counts[start + i], c, "quantile sketch")?;
            }
        }
        self.offset = lo;
        self.counts = counts;
        self.collapse()
    }

    /// Folds the lowest buckets together until at most `MAX_BUCKETS` remain.
    fn collapse(&mut self) -> Result<()> {
        if self.counts.len() <= MAX_BUCKETS {
            return Ok(());
        }
        let excess = self.counts.len() - MAX_BUCKETS;
        let folded = self.counts[..=excess]
            .iter()
            .try_fold(0u64, |a, &c| add_count(a, c, "quantile sketch"))?;
        self.counts.drain(..excess);
        self.counts[0] = folded;
        self.offset += excess as i64;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileSketch {
    pub n: u64,
    zeros: u64,
    positive: Store,
    negative: Store,
    /// Exact extremes (+inf / -inf while empty): the answers at q = 0 and q = 1, and clamps.
    pub min: f64,
    pub max: f64,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        QuantileSketch {
            n: 0,
            zeros: 0,
            positive: Store::default(),
            negative: Store::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

/// One piece of a chunk, counted densely between its own lowest and highest bucket.
fn sketch_piece<T: AsF64>(values: &[T]) -> (QuantileSketch, u64) {
    let mut bad = 0u64;
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut plo, mut phi, mut nlo, mut nhi) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
    for x in values {
        let v = x.as_f64();
        bad += (!v.is_finite()) as u64;
        min = min.min(v);
        max = max.max(v);
        let b = bucket(v.abs());
        if v > 0.0 {
            plo = plo.min(b);
            phi = phi.max(b);
        } else if v < 0.0 {
            nlo = nlo.min(b);
            nhi = nhi.max(b);
        }
    }
    let mut sketch = QuantileSketch {
        n: values.len() as u64,
        min,
        max,
        ..QuantileSketch::default()
    };
    if bad > 0 {
        return (sketch, bad);
    }
    let dense = |lo: i64, hi: i64| Store {
        offset: lo,
        counts: if lo <= hi {
            vec![0u64; (hi - lo + 1) as usize]
        } else {
            Vec::new()
        },
    };
    let (mut pos, mut neg) = (dense(plo, phi), dense(nlo, nhi));
    let mut zeros = 0u64;
    for x in values {
        let v = x.as_f64();
        let b = bucket(v.abs());
        if v > 0.0 {
            pos.counts[(b - plo) as usize] += 1;
        } else if v < 0.0 {
            neg.counts[(b - nlo) as usize] += 1;
        } else {
            zeros += 1;
        }
    }
    sketch.zeros = zeros;
    sketch.positive = pos;
    sketch.negative = neg;
    (sketch, 0)
}

/// Large pieces: one pass into a dense table over every possible bucket of either sign (2^18
/// u32 counters, 1 MiB, L2-resident), then compacted into stores.
fn sketch_piece_dense<T: AsF64>(values: &[T]) -> (QuantileSketch, u64) {
    const SIGN: usize = 1 << (64 - SHIFT - 1);
    let mut table = vec![0u32; 2 * SIGN];
    let (mut bad, mut pos_zero, mut neg_zero) = (0u64, 0u64, 0u64);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in values {
        let v = x.as_f64();
        let bits = v.to_bits();
        bad += (!v.is_finite()) as u64;
        pos_zero += (bits == 0) as u64;
        neg_zero += (bits == 1 << 63) as u64;
        min = min.min(v);
        max = max.max(v);
        table[(bits >> SHIFT) as usize] += 1;
    }
    let mut sketch = QuantileSketch {
        n: values.len() as u64,
        min,
        max,
        ..QuantileSketch::default()
    };
    if bad > 0 {
        return (sketch, bad);
    }
    table[0] -= pos_zero as u32;
    table[SIGN] -= neg_zero as u32;
    sketch.zeros = pos_zero + neg_zero;
    let store = |half: &[u32]| {
        let lo = half.iter().position(|&c| c > 0);
        let hi = half.iter().rposition(|&c| c > 0);
        match (lo, hi) {
            (Some(lo), Some(hi)) => Store {
                offset: lo as i64,
                counts: half[lo..=hi].iter().map(|&c| c as u64).collect(),
            },
            _ => Store::default(),
        }
    };
    sketch.positive = store(&table[..SIGN]);
    sketch.negative = store(&table[SIGN..]);
    (sketch, 0)
}

/// Pieces below this many rows use the two-pass sparse path (no 1 MiB table).
const DENSE_MIN_ROWS: usize = 1 << 16;

impl QuantileSketch {
    /// Folds one chunk of a numeric column in. NaN and infinities are errors. All or nothing.
    pub fn update(&mut self, (name, values): (&str, Values<'_>)) -> Result<()> {
        let values = numeric(name, values)?;
        let len = values.len();
        // Counts are exact, so the split never changes the result: one piece per thread
        // (each below u32::MAX rows, the dense table's counter width).
        let pieces = if len < PARALLEL_MIN_ROWS {
            1
        } else {
            rayon::current_num_threads().max(1)
        }
        .max(len.div_ceil(u32::MAX as usize));
        let step = len.div_ceil(pieces).max(1);
        let ranges: Vec<std::ops::Range<usize>> = (0..len)
            .step_by(step)
            .map(|s| s..(s + step).min(len))
            .collect();
        let parts: Vec<(QuantileSketch, u64)> = ranges
            .into_par_iter()
            .map(|r| {
                let dense = r.len() >= DENSE_MIN_ROWS;
                dispatch_numeric!(values.slice(r),
                    s => if dense { sketch_piece_dense(s) } else { sketch_piece(s) },
                    Values::Dict { .. } => (QuantileSketch::default(), 0))
            })
            .collect();
        let bad: u64 = parts.iter().map(|p| p.1).sum();
        if bad > 0 {
            return Err(non_finite_error(name, values, bad));
        }
        let mut next = self.clone();
        for (part, _) in &parts {
            next.merge(part)?;
        }
        *self = next;
        Ok(())
    }

    pub fn merge(&mut self, o: &QuantileSketch) -> Result<()> {
        let mut next = self.clone();
        next.n = add_count(next.n, o.n, "quantile sketch")?;
        next.zeros = add_count(next.zeros, o.zeros, "quantile sketch")?;
        next.positive.add_store(&o.positive)?;
        next.negative.add_store(&o.negative)?;
        next.min = next.min.min(o.min);
        next.max = next.max.max(o.max);
        *self = next;
        Ok(())
    }

    /// The estimate of the order statistic of 0-based `rank` (ascending).
    fn at_rank(&self, rank: u64) -> f64 {
        let mut seen = 0u64;
        // Negative values, most negative first: highest magnitude bucket first.
        let neg = &self.negative;
        for (i, &c) in neg.counts.iter().enumerate().rev() {
            seen += c;
            if rank < seen {
                return -representative(neg.offset + i as i64);
            }
        }
        seen += self.zeros;
        if rank < seen {
            return 0.0;
        }
        let pos = &self.positive;
        for (i, &c) in pos.counts.iter().enumerate() {
            seen += c;
            if rank < seen {
                return representative(pos.offset + i as i64);
            }
        }
        self.max
    }

    /// The quantile at `q` in [0, 1], interpolated between the estimates of the two order
    /// statistics around rank `q (n - 1)` as numpy's default (linear) method does.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let n = self.n;
        let rank = ((n - 1) as f64 * q).clamp(0.0, (n - 1) as f64);
        let lo = rank.floor() as u64;
        let frac = rank - lo as f64;
        // The extremes are exact; inner ranks are bucket estimates, clamped to them.
        let estimate = |r: u64| {
            if r == 0 {
                self.min
            } else if r == n - 1 {
                self.max
            } else {
                self.at_rank(r).clamp(self.min, self.max)
            }
        };
        let a = estimate(lo);
        if frac == 0.0 {
            return Some(a);
        }
        let b = estimate(lo + 1);
        let diff = b - a;
        Some(if frac >= 0.5 {
            b - diff * (1.0 - frac)
        } else {
            a + diff * frac
        })
    }

    /// Buckets held (memory is O(buckets), at most `2 * MAX_BUCKETS`).
    pub fn buckets(&self) -> usize {
        self.positive.counts.len() + self.negative.counts.len()
    }

    /// Values counted in buckets (equals `n`).
    pub fn counted(&self) -> u64 {
        self.positive.total() + self.negative.total() + self.zeros
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch(values: &[f64]) -> QuantileSketch {
        let mut s = QuantileSketch::default();
        s.update(("x", Values::F64(values))).unwrap();
        s
    }

    #[test]
    fn relative_accuracy_and_exact_extremes() {
        let mut state = 7u64;
        let values: Vec<f64> = (0..100_000)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                let v = (u * 20.0 - 5.0).exp();
                if i % 5 == 0 {
                    -v
                } else if i % 97 == 0 {
                    0.0
                } else {
                    v
                }
            })
            .collect();
        let s = sketch(&values);
        assert_eq!(s.counted(), values.len() as u64);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.0, 0.001, 0.1, 0.19, 0.2, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let rank = (q * (values.len() - 1) as f64).round() as usize;
            let want = sorted[rank];
            let got = s.quantile(q).unwrap();
            let lo = sorted[(q * (values.len() - 1) as f64).floor() as usize];
            let hi = sorted[(q * (values.len() - 1) as f64).ceil() as usize];
            let tol = 0.01 * lo.abs().max(hi.abs());
            assert!(
                got >= lo.min(hi) - tol && got <= lo.max(hi) + tol,
                "q={q} got={got} want={want}"
            );
        }
        assert_eq!(s.quantile(0.0), Some(sorted[0]));
        assert_eq!(s.quantile(1.0), Some(*sorted.last().unwrap()));
    }

    #[test]
    fn dense_and_sparse_pieces_agree() {
        let values: Vec<f64> = (0..100_000)
            .map(|i| match i % 4 {
                0 => 0.0,
                1 => -0.0,
                2 => -(i as f64) * 1e-3,
                _ => (i as f64).sqrt(),
            })
            .collect();
        let (dense, _) = sketch_piece_dense(&values);
        let (sparse, _) = sketch_piece(&values);
        assert_eq!(dense, sparse);
    }

    #[test]
    fn merge_equals_whole_and_memory_is_bounded() {
        // 120 binades (7680 buckets): the smallest magnitudes get folded.
        let values: Vec<f64> = (1..200_000)
            .map(|i| ((i * 7919 % 6000) as f64 * 0.02 - 60.0).exp2())
            .collect();
        let whole = sketch(&values);
        let mut merged = QuantileSketch::default();
        for part in values.chunks(7_777).rev() {
            merged.merge(&sketch(part)).unwrap();
        }
        assert_eq!(whole, merged);
        assert_eq!(whole.buckets(), MAX_BUCKETS);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let p99 = sorted[(0.99 * (values.len() - 1) as f64) as usize];
        assert!((whole.quantile(0.99).unwrap() - p99).abs() <= 0.01 * p99);
        let before = merged.clone();
        assert!(merged.update(("x", Values::F64(&[1.0, f64::NAN]))).is_err());
        assert_eq!(merged, before);
        assert_eq!(QuantileSketch::default().quantile(0.5), None);
    }
}

//! Moments of the error `e = y_pred - y_true` and of the target, feeding every regression metric.
//!
//! Sums are Neumaier-compensated across blocks (the compensation term is part of the state, so
//! merged states stay accurate); means and squared deviations use a shifted two-moment pass per
//! block and Chan's merge between blocks, which stays exact for data far from zero (values offset
//! by 1e9 give the right variance, where the textbook formula goes negative).

use serde::{Deserialize, Serialize};

use super::{map_ranges, BLOCK};
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};

/// A Neumaier-compensated sum.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if !t.is_finite() {
            // Overflow: the sum is infinite and stays so; inf - inf in the compensation would
            // turn it into NaN.
            self.sum = t;
            return;
        }
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub fn merge(&mut self, other: &CompensatedSum) {
        self.add(other.sum);
        self.add(other.compensation);
    }

    pub fn value(&self) -> f64 {
        if self.sum.is_finite() {
            self.sum + self.compensation
        } else {
            self.sum
        }
    }
}

/// Count, mean and sum of squared deviations of a series (Welford/Chan).
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Spread {
    pub fn merge(&mut self, o: &Spread) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let delta = o.mean - self.mean;
        let (na, nb, nf) = (self.n as f64, o.n as f64, n as f64);
        self.mean += delta * (nb / nf);
        self.m2 += o.m2 + delta * delta * (na * nb / nf);
        self.n = n;
    }

    /// Population variance (ddof = 0), as scikit-learn's formulas use.
    pub fn variance(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.m2 / self.n as f64
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegressionMoments {
    pub n: u64,
    pub sum_squared_error: CompensatedSum,
    pub sum_absolute_error: CompensatedSum,
    /// Sum of |e| / max(|y|, eps): scikit-learn's MAPE numerator.
    pub sum_absolute_percentage_error: CompensatedSum,
    pub max_absolute_error: f64,
    pub target: Spread,
    pub error: Spread,
    /// Spread of the squared error: its variance gives MSE a normal confidence interval.
    pub squared_error: Spread,
}

const LANES: usize = 8;

/// Sums of one block, with each series shifted by its first value (keeps the squares small).
#[derive(Default, Clone, Copy)]
struct BlockSums {
    n: usize,
    sq: f64,
    abs: f64,
    ape: f64,
    max_abs: f64,
    y_shift: f64,
    y1: f64,
    y2: f64,
    e_shift: f64,
    e1: f64,
    e2: f64,
    q_shift: f64,
    q1: f64,
    q2: f64,
    non_finite: usize,
}

fn block_sums<T: AsF64, U: AsF64>(y: &[T], p: &[U]) -> BlockSums {
    let n = y.len();
    if n == 0 {
        return BlockSums::default();
    }
    let y_shift = y[0].as_f64();
    let e_shift = p[0].as_f64() - y_shift;
    let (y_shift, e_shift) = (
        if y_shift.is_finite() { y_shift } else { 0.0 },
        if e_shift.is_finite() { e_shift } else { 0.0 },
    );
    let q_shift = e_shift * e_shift;
    // Independent lanes let the compiler vectorise without reassociating one sum.
    let mut sq = [0.0f64; LANES];
    let mut abs = [0.0f64; LANES];
    let mut ape = [0.0f64; LANES];
    let mut mx = [0.0f64; LANES];
    let mut y1 = [0.0f64; LANES];
    let mut y2 = [0.0f64; LANES];
    let mut e1 = [0.0f64; LANES];
    let mut e2 = [0.0f64; LANES];
    let mut q1 = [0.0f64; LANES];
    let mut q2 = [0.0f64; LANES];
    let mut bad = [0u32; LANES];
    let full = n / LANES * LANES;
    let mut step = |l: usize, yv: f64, pv: f64| {
        let e = pv - yv;
        let ae = e.abs();
        sq[l] += e * e;
        abs[l] += ae;
        ape[l] += ae / yv.abs().max(f64::EPSILON);
        mx[l] = mx[l].max(ae);
        let dy = yv - y_shift;
        y1[l] += dy;
        y2[l] += dy * dy;
        let de = e - e_shift;
        e1[l] += de;
        e2[l] += de * de;
        let dq = e * e - q_shift;
        q1[l] += dq;
        q2[l] += dq * dq;
        bad[l] += (!(yv.is_finite() & pv.is_finite())) as u32;
    };
    for base in (0..full).step_by(LANES) {
        for l in 0..LANES {
            step(l, y[base + l].as_f64(), p[base + l].as_f64());
        }
    }
    for i in full..n {
        step(0, y[i].as_f64(), p[i].as_f64());
    }
    let total = |a: [f64; LANES]| a.iter().sum::<f64>();
    BlockSums {
        n,
        sq: total(sq),
        abs: total(abs),
        ape: total(ape),
        max_abs: mx.iter().copied().fold(0.0, f64::max),
        y_shift,
        y1: total(y1),
        y2: total(y2),
        e_shift,
        e1: total(e1),
        e2: total(e2),
        q_shift,
        q1: total(q1),
        q2: total(q2),
        non_finite: bad.iter().map(|&b| b as usize).sum(),
    }
}

pub(crate) fn spread_of(n: usize, shift: f64, s1: f64, s2: f64) -> Spread {
    let nf = n as f64;
    Spread {
        n: n as u64,
        mean: shift + s1 / nf,
        m2: (s2 - s1 * s1 / nf).max(0.0),
    }
}

impl RegressionMoments {
    fn add_block(&mut self, b: &BlockSums) {
        if b.n == 0 {
            return;
        }
        self.n += b.n as u64;
        self.sum_squared_error.add(b.sq);
        self.sum_absolute_error.add(b.abs);
        self.sum_absolute_percentage_error.add(b.ape);
        self.max_absolute_error = self.max_absolute_error.max(b.max_abs);
        self.target.merge(&spread_of(b.n, b.y_shift, b.y1, b.y2));
        self.error.merge(&spread_of(b.n, b.e_shift, b.e1, b.e2));
        self.squared_error
            .merge(&spread_of(b.n, b.q_shift, b.q1, b.q2));
    }

    fn fold_range<T: AsF64, U: AsF64>(y: &[T], p: &[U]) -> (RegressionMoments, usize) {
        let mut acc = RegressionMoments::default();
        let mut bad = 0;
        for (yb, pb) in y.chunks(BLOCK).zip(p.chunks(BLOCK)) {
            let b = block_sums(yb, pb);
            bad += b.non_finite;
            acc.add_block(&b);
        }
        (acc, bad)
    }

    fn update_typed<T: AsF64, U: AsF64>(&mut self, y: &[T], p: &[U]) -> (RegressionMoments, usize) {
        let parts = map_ranges(y.len(), |r| Self::fold_range(&y[r.clone()], &p[r]));
        let mut chunk = RegressionMoments::default();
        let mut bad = 0;
        for (part, b) in &parts {
            chunk.merge(part);
            bad += b;
        }
        (chunk, bad)
    }

    /// Folds one chunk in. NaN or infinite values are an error, as in scikit-learn.
    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        (pred_name, y_pred): (&str, Values<'_>),
    ) -> Result<()> {
        let not_numeric = |name: &str| {
            CoreError::BadChunk(format!(
                "column {name:?} holds strings; regression needs numbers"
            ))
        };
        let (chunk, bad) = dispatch_numeric!(y_true,
            y => dispatch_numeric!(y_pred,
                p => self.update_typed(y, p),
                Values::Dict { .. } => return Err(not_numeric(pred_name))),
            Values::Dict { .. } => return Err(not_numeric(true_name)));
        if bad > 0 {
            let (column, first_row) = first_non_finite(y_true, y_pred, true_name, pred_name);
            return Err(CoreError::InvalidData {
                column,
                message: "value is NaN or infinite".into(),
                count: bad as u64,
                first_row,
            });
        }
        self.merge(&chunk);
        Ok(())
    }

    pub fn merge(&mut self, o: &RegressionMoments) {
        self.n += o.n;
        self.sum_squared_error.merge(&o.sum_squared_error);
        self.sum_absolute_error.merge(&o.sum_absolute_error);
        self.sum_absolute_percentage_error
            .merge(&o.sum_absolute_percentage_error);
        self.max_absolute_error = self.max_absolute_error.max(o.max_absolute_error);
        self.target.merge(&o.target);
        self.error.merge(&o.error);
        self.squared_error.merge(&o.squared_error);
    }
}

fn first_non_finite(y: Values<'_>, p: Values<'_>, yn: &str, pn: &str) -> (String, u64) {
    fn position<T: AsF64>(s: &[T]) -> Option<usize> {
        s.iter().position(|x| !x.as_f64().is_finite())
    }
    let fy = dispatch_numeric!(y, s => position(s), Values::Dict { .. } => None);
    let fp = dispatch_numeric!(p, s => position(s), Values::Dict { .. } => None);
    match (fy, fp) {
        (Some(a), Some(b)) if b < a => (pn.to_string(), b as u64),
        (Some(a), _) => (yn.to_string(), a as u64),
        (None, Some(b)) => (pn.to_string(), b as u64),
        (None, None) => (yn.to_string(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_far_from_zero_is_exact() {
        let y: Vec<f64> = (0..10_000).map(|i| 1e9 + (i % 7) as f64).collect();
        let p: Vec<f64> = y.iter().map(|v| v + 0.5).collect();
        let mut m = RegressionMoments::default();
        m.update(("y", Values::F64(&y)), ("p", Values::F64(&p)))
            .unwrap();
        let mean = y.iter().map(|v| v - 1e9).sum::<f64>() / y.len() as f64;
        let var = y.iter().map(|v| (v - 1e9 - mean).powi(2)).sum::<f64>() / y.len() as f64;
        assert!((m.target.variance() - var).abs() / var < 1e-12);
        assert!((m.sum_squared_error.value() - 2500.0).abs() < 1e-9);
    }

    #[test]
    fn compensated_sum_of_tenths() {
        let mut s = CompensatedSum::default();
        for _ in 0..10_000_000 {
            s.add(0.1);
        }
        assert!((s.value() - 1_000_000.0).abs() / 1e6 < 1e-14);
    }

    #[test]
    fn rejects_nan_with_its_row() {
        let y = [1.0, 2.0, 3.0];
        let p = [1.0, f64::NAN, 3.0];
        let err = RegressionMoments::default()
            .update(("y", Values::F64(&y)), ("p", Values::F64(&p)))
            .unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidData { first_row: 1, ref column, .. } if column == "p")
        );
    }
}

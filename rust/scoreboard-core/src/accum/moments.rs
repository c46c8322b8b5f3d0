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
    /// Spread of the per-row |e| / max(|y|, eps): MAPE's normal interval.
    pub absolute_percentage_error: Spread,
    /// Joint central moments of (e, y) up to order 4: the delta-method intervals of R² and
    /// explained variance.
    pub joint: CoMoments,
}

/// The (a, b) orders of `CoMoments`: every Σ (e - ē)^a (y - ȳ)^b that the variances of R² and
/// explained variance read (a + b <= 4 without (3, 1) and (1, 3)). The set is closed downwards,
/// which the exact re-centring of `CoMoments::recentred` needs.
pub(crate) const ORDERS: [(usize, usize); 10] = [
    (2, 0),
    (1, 1),
    (0, 2),
    (3, 0),
    (2, 1),
    (1, 2),
    (0, 3),
    (4, 0),
    (2, 2),
    (0, 4),
];

/// Joint central moments `m[a][b] = Σ (e - ē)^a (y - ȳ)^b` of a bivariate series.
///
/// Stability: each block of rows sums powers about a fixed shift (the block's first row, a value
/// of the data, so within a few standard deviations of the mean and the shifted powers stay of
/// the order of the spread), then is re-centred on its own mean exactly by the binomial expansion;
/// blocks merge with the same expansion about the combined mean (Pébay's pairwise update for
/// higher-order co-moments, of which Chan's update of `Spread` is the order-2 case). Neither step
/// subtracts large raw power sums, so data far from zero keeps its moments.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CoMoments {
    pub n: u64,
    pub mean: [f64; 2],
    pub m: [[f64; 5]; 5],
}

fn binomial(n: usize, k: usize) -> f64 {
    const ROWS: [[f64; 5]; 5] = [
        [1.0, 0.0, 0.0, 0.0, 0.0],
        [1.0, 1.0, 0.0, 0.0, 0.0],
        [1.0, 2.0, 1.0, 0.0, 0.0],
        [1.0, 3.0, 3.0, 1.0, 0.0],
        [1.0, 4.0, 6.0, 4.0, 1.0],
    ];
    ROWS[n][k]
}

impl CoMoments {
    /// Sums about `shift` (with `p[0][0]` the count and `p[1][0]`, `p[0][1]` the first powers)
    /// as central moments.
    fn from_shifted(n: usize, shift: [f64; 2], p: &[[f64; 5]; 5]) -> CoMoments {
        if n == 0 {
            return CoMoments::default();
        }
        let nf = n as f64;
        let (du, dv) = (p[1][0] / nf, p[0][1] / nf);
        let mut out = CoMoments {
            n: n as u64,
            mean: [shift[0] + du, shift[1] + dv],
            m: recentred(p, -du, -dv),
        };
        out.m[0][0] = nf;
        out
    }

    pub fn merge(&mut self, o: &CoMoments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let (na, nb) = (self.n as f64, o.n as f64);
        let n = na + nb;
        let mean = [0, 1].map(|i| self.mean[i] + (o.mean[i] - self.mean[i]) * (nb / n));
        let a = recentred(&self.m, self.mean[0] - mean[0], self.mean[1] - mean[1]);
        let b = recentred(&o.m, o.mean[0] - mean[0], o.mean[1] - mean[1]);
        for &(i, j) in &ORDERS {
            self.m[i][j] = a[i][j] + b[i][j];
        }
        self.m[0][0] = n;
        self.n += o.n;
        self.mean = mean;
    }
}

/// Σ (u + du)^a (v + dv)^b for every order, from the sums `p[i][j]` = Σ u^i v^j (binomial
/// expansion; the first-order central sums are zero by definition and stay so).
pub(crate) fn recentred(p: &[[f64; 5]; 5], du: f64, dv: f64) -> [[f64; 5]; 5] {
    let mut out = [[0.0; 5]; 5];
    let mut pu = [1.0; 5];
    let mut pv = [1.0; 5];
    for k in 1..5 {
        pu[k] = pu[k - 1] * du;
        pv[k] = pv[k - 1] * dv;
    }
    for &(a, b) in &ORDERS {
        let mut s = 0.0;
        for i in 0..=a {
            for j in 0..=b {
                s += binomial(a, i) * binomial(b, j) * p[i][j] * pu[a - i] * pv[b - j];
            }
        }
        out[a][b] = s;
    }
    out[0][0] = p[0][0];
    out
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
    a_shift: f64,
    a1: f64,
    a2: f64,
    /// Σ de^i dy^j about (e_shift, y_shift), for the orders of `CoMoments` (a + b >= 2).
    joint: [[f64; 5]; 5],
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
    let a_shift = {
        let a = e_shift.abs() / y_shift.abs().max(f64::EPSILON);
        if a.is_finite() {
            a
        } else {
            0.0
        }
    };
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
    let mut a1 = [0.0f64; LANES];
    let mut a2 = [0.0f64; LANES];
    // (1,1) (3,0) (2,1) (1,2) (0,3) (4,0) (2,2) (0,4); (2,0) and (0,2) are e2 and y2.
    let mut j = [[0.0f64; LANES]; 8];
    let mut bad = [0u32; LANES];
    let full = n / LANES * LANES;
    let mut step = |l: usize, yv: f64, pv: f64| {
        let e = pv - yv;
        let ae = e.abs();
        sq[l] += e * e;
        abs[l] += ae;
        let pe = ae / yv.abs().max(f64::EPSILON);
        ape[l] += pe;
        let da = pe - a_shift;
        a1[l] += da;
        a2[l] += da * da;
        mx[l] = mx[l].max(ae);
        let dy = yv - y_shift;
        y1[l] += dy;
        y2[l] += dy * dy;
        let de = e - e_shift;
        e1[l] += de;
        e2[l] += de * de;
        let (de2, dy2) = (de * de, dy * dy);
        j[0][l] += de * dy;
        j[1][l] += de2 * de;
        j[2][l] += de2 * dy;
        j[3][l] += de * dy2;
        j[4][l] += dy2 * dy;
        j[5][l] += de2 * de2;
        j[6][l] += de2 * dy2;
        j[7][l] += dy2 * dy2;
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
    let mut joint = [[0.0; 5]; 5];
    joint[0][0] = n as f64;
    joint[1][0] = total(e1);
    joint[0][1] = total(y1);
    joint[2][0] = total(e2);
    joint[0][2] = total(y2);
    // `j` holds the orders of `ORDERS` but (2, 0) and (0, 2) (those are `e2` and `y2`), in
    // `ORDERS`' order.
    let mixed = ORDERS
        .iter()
        .filter(|&&order| order != (2, 0) && order != (0, 2));
    for (k, &(i, jj)) in mixed.enumerate() {
        joint[i][jj] = total(j[k]);
    }
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
        a_shift,
        a1: total(a1),
        a2: total(a2),
        joint,
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
        self.absolute_percentage_error
            .merge(&spread_of(b.n, b.a_shift, b.a1, b.a2));
        self.joint.merge(&CoMoments::from_shifted(
            b.n,
            [b.e_shift, b.y_shift],
            &b.joint,
        ));
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
        self.absolute_percentage_error
            .merge(&o.absolute_percentage_error);
        self.joint.merge(&o.joint);
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
    fn joint_moments_far_from_zero_match_two_passes() {
        // Two uneven parts merged, the data offset by 1e6: the moments match a two-pass sum.
        let y: Vec<f64> = (0..9_000)
            .map(|i| 1e6 + ((i * 37) % 101) as f64 / 10.0)
            .collect();
        let p: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| v + ((i * 13) % 17) as f64 / 4.0 - 2.0)
            .collect();
        let mut m = RegressionMoments::default();
        let mut part = RegressionMoments::default();
        m.update(
            ("y", Values::F64(&y[..5000])),
            ("p", Values::F64(&p[..5000])),
        )
        .unwrap();
        part.update(
            ("y", Values::F64(&y[5000..])),
            ("p", Values::F64(&p[5000..])),
        )
        .unwrap();
        m.merge(&part);
        let e: Vec<f64> = p.iter().zip(&y).map(|(a, b)| a - b).collect();
        // The reference works on y - 1e6 (exact here) so its own mean is accurate.
        let yc: Vec<f64> = y.iter().map(|v| v - 1e6).collect();
        let n = y.len() as f64;
        let (me, my) = (e.iter().sum::<f64>() / n, yc.iter().sum::<f64>() / n);
        let sd = |x: &[f64], m: f64| (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
        let (se, sy) = (sd(&e, me), sd(&yc, my));
        for &(a, b) in &ORDERS {
            let want: f64 = e
                .iter()
                .zip(&yc)
                .map(|(x, v)| (x - me).powi(a as i32) * (v - my).powi(b as i32))
                .sum();
            // Odd moments are near zero: the scale is n sd_e^a sd_y^b.
            let scale = n * se.powi(a as i32) * sy.powi(b as i32);
            let got = m.joint.m[a][b];
            assert!((got - want).abs() <= 1e-10 * scale, "{a} {b} {got} {want}");
        }
        assert_eq!(m.joint.n, 9_000);
        assert!((m.joint.mean[1] - 1e6 - my).abs() < 1e-9);
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

//! Sample-weighted variants of the binary confusion counts and of the regression moments, used
//! when the spec declares `columns: {weight: ...}` (scikit-learn's `sample_weight`).
//!
//! The counts become Neumaier-compensated sums of weights; the row count stays an exact integer.
//! Labels, predictions and values are validated by the unweighted kernels first (same errors, same
//! rows), then the weighted sums are taken. Weights must be finite and non-negative.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binary::{encode_labels, encode_predictions, BinaryLabels};
use super::moments::{recentred, CompensatedSum, ORDERS};
use super::{add_count, split_ranges, BinaryConfusion, RegressionMoments, BLOCK};
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};

/// The weight column as f64, checked finite and non-negative.
pub(crate) fn read_weights(name: &str, values: Values<'_>) -> Result<Vec<f64>> {
    let weights: Vec<f64> = dispatch_numeric!(values,
    s => s.par_iter().map(|x| x.as_f64()).collect(),
    Values::Dict { .. } => return Err(CoreError::InvalidData {
        column: name.to_string(),
        message: "weight column holds strings, not numbers".into(),
        count: values.len() as u64,
        first_row: 0,
    }));
    let bad = weights
        .iter()
        .filter(|w| !(w.is_finite() && **w >= 0.0))
        .count();
    if bad > 0 {
        let first = weights
            .iter()
            .position(|w| !(w.is_finite() && *w >= 0.0))
            .unwrap_or(0);
        return Err(CoreError::InvalidData {
            column: name.to_string(),
            message: "weight is negative, NaN or infinite".into(),
            count: bad as u64,
            first_row: first as u64,
        });
    }
    Ok(weights)
}

/// Weighted tp/fp/fn/tn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WeightedConfusion {
    pub rows: u64,
    pub tp: CompensatedSum,
    pub fp: CompensatedSum,
    pub fn_: CompensatedSum,
    pub tn: CompensatedSum,
    /// Sums of squared weights of tp, fn, fp, tn (in that order): the variance of a weighted
    /// proportion (its effective sample size) for the Wilson interval.
    pub squares: [CompensatedSum; 4],
    /// The rows of each cell (the validating pass counts them anyway): with the sums above, the
    /// moments of the weight a row bootstrap draws from a cell (the weighted bootstrap).
    pub counts: BinaryConfusion,
}

impl WeightedConfusion {
    pub fn update(
        &mut self,
        y_true: (&str, Values<'_>),
        y_pred: (&str, Values<'_>),
        (weight_name, weight): (&str, Values<'_>),
        labels: &BinaryLabels<'_>,
        threshold: Option<f64>,
    ) -> Result<()> {
        let mut counts = BinaryConfusion::default();
        counts.update(y_true, y_pred, labels, threshold)?;
        let w = read_weights(weight_name, weight)?;
        let (t, p) = (y_true.1, y_pred.1);
        let parts: Vec<[f64; 8]> = split_ranges(w.len())
            .into_par_iter()
            .map(|r| {
                let mut sums = [0.0f64; 8];
                let (mut a, mut b) = ([0u8; BLOCK], [0u8; BLOCK]);
                let mut start = r.start;
                while start < r.end {
                    let end = (start + BLOCK).min(r.end);
                    let n = end - start;
                    encode_labels(t.slice(start..end), labels, &mut a[..n]);
                    encode_predictions(p.slice(start..end), labels, threshold, &mut b[..n]);
                    let mut block = [0.0f64; 8];
                    for i in 0..n {
                        // index: 0 tp, 1 fn, 2 fp, 3 tn; squares at 4 + index
                        let k = ((1 - a[i]) << 1 | (1 - b[i])) as usize;
                        let wi = w[start + i];
                        block[k] += wi;
                        block[4 + k] += wi * wi;
                    }
                    for (s, v) in sums.iter_mut().zip(block) {
                        *s += v;
                    }
                    start = end;
                }
                sums
            })
            .collect();
        let mut next = *self;
        next.rows = add_count(next.rows, w.len() as u64, "weighted confusion")?;
        next.counts.merge(&counts)?;
        for s in &parts {
            next.tp.add(s[0]);
            next.fn_.add(s[1]);
            next.fp.add(s[2]);
            next.tn.add(s[3]);
            for (sq, v) in next.squares.iter_mut().zip(&s[4..]) {
                sq.add(*v);
            }
        }
        *self = next;
        Ok(())
    }

    pub fn merge(&mut self, o: &WeightedConfusion) -> Result<()> {
        let mut counts = self.counts;
        counts.merge(&o.counts)?;
        self.rows = add_count(self.rows, o.rows, "weighted confusion")?;
        self.counts = counts;
        self.tp.merge(&o.tp);
        self.fp.merge(&o.fp);
        self.fn_.merge(&o.fn_);
        self.tn.merge(&o.tn);
        for (a, b) in self.squares.iter_mut().zip(&o.squares) {
            a.merge(b);
        }
        Ok(())
    }
}

/// Weighted mean and sum of weighted squared deviations (Chan's merge with weights).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WeightedSpread {
    pub weight: f64,
    pub mean: f64,
    pub m2: f64,
}

impl WeightedSpread {
    /// The linearised variance of the weighted mean `mean = Σ w x / total` when `self` is the
    /// spread of x under the squared weights w²: Σ w² (x - mean)² / total².
    pub fn variance_of_mean(&self, mean: f64, total: f64) -> f64 {
        let d = self.mean - mean;
        (self.m2 + self.weight * d * d) / (total * total)
    }

    fn of(x: &[f64], w: &[f64]) -> WeightedSpread {
        let weight: f64 = w.iter().sum();
        if weight == 0.0 {
            return WeightedSpread::default();
        }
        let mean = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / weight;
        let m2 = x
            .iter()
            .zip(w)
            .map(|(a, b)| b * (a - mean) * (a - mean))
            .sum();
        WeightedSpread { weight, mean, m2 }
    }

    pub fn merge(&mut self, o: &WeightedSpread) {
        if o.weight == 0.0 {
            return;
        }
        if self.weight == 0.0 {
            *self = *o;
            return;
        }
        let total = self.weight + o.weight;
        let delta = o.mean - self.mean;
        self.mean += delta * (o.weight / total);
        self.m2 += o.m2 + delta * delta * (self.weight * o.weight / total);
        self.weight = total;
    }
}

/// Joint central moments of (e, y) under the squared weights w², about their own w²-weighted
/// means, for every order of `CoMoments` (`moments::ORDERS`; merged by the same exact binomial
/// re-centring, with summed weights in place of counts): the linearised variance of the weighted
/// R² and explained variance reads them about the w-weighted means (`about`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WeightedCoMoments {
    /// Σ w².
    pub weight: f64,
    pub mean: [f64; 2],
    pub m: [[f64; 5]; 5],
}

impl WeightedCoMoments {
    /// One block, in two passes (its mean, then the central sums).
    fn of(e: &[f64], y: &[f64], w2: &[f64]) -> WeightedCoMoments {
        let weight: f64 = w2.iter().sum();
        if weight == 0.0 {
            return WeightedCoMoments::default();
        }
        let centre = |x: &[f64]| x.iter().zip(w2).map(|(a, b)| a * b).sum::<f64>() / weight;
        let mean = [centre(e), centre(y)];
        let mut m = [[0.0; 5]; 5];
        for ((&ei, &yi), &wi) in e.iter().zip(y).zip(w2) {
            let (u, v) = (ei - mean[0], yi - mean[1]);
            for &(a, b) in &ORDERS {
                m[a][b] += wi * u.powi(a as i32) * v.powi(b as i32);
            }
        }
        m[0][0] = weight;
        WeightedCoMoments { weight, mean, m }
    }

    pub fn merge(&mut self, o: &WeightedCoMoments) {
        if o.weight == 0.0 {
            return;
        }
        if self.weight == 0.0 {
            *self = *o;
            return;
        }
        let total = self.weight + o.weight;
        let mean = [0, 1].map(|i| self.mean[i] + (o.mean[i] - self.mean[i]) * (o.weight / total));
        let a = recentred(&self.m, self.mean[0] - mean[0], self.mean[1] - mean[1]);
        let b = recentred(&o.m, o.mean[0] - mean[0], o.mean[1] - mean[1]);
        for &(i, j) in &ORDERS {
            self.m[i][j] = a[i][j] + b[i][j];
        }
        self.m[0][0] = total;
        self.weight = total;
        self.mean = mean;
    }

    /// `s[a][b]` = Σ w² (e - centre_e)^a (y - centre_y)^b for (0, 0), the first orders and every
    /// order of `ORDERS`.
    pub fn about(&self, centre: [f64; 2]) -> [[f64; 5]; 5] {
        let (du, dv) = (self.mean[0] - centre[0], self.mean[1] - centre[1]);
        let mut s = recentred(&self.m, du, dv);
        s[0][0] = self.weight;
        s[1][0] = du * self.weight;
        s[0][1] = dv * self.weight;
        s
    }
}

/// Weighted sums for every regression moment metric (max_error stays unweighted, as in
/// scikit-learn).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WeightedMoments {
    pub rows: u64,
    pub weight: CompensatedSum,
    pub squared_error: CompensatedSum,
    pub absolute_error: CompensatedSum,
    pub absolute_percentage_error: CompensatedSum,
    pub max_absolute_error: f64,
    pub target: WeightedSpread,
    /// Of `y_pred - y_true`.
    pub error: WeightedSpread,
    /// Spreads of the per-row losses e², |e| and e under the squared weights: the linearised
    /// variance of a weighted mean (`WeightedSpread::variance_of_mean`), for its normal interval.
    pub squared_error_w2: WeightedSpread,
    pub absolute_error_w2: WeightedSpread,
    pub error_w2: WeightedSpread,
    /// The same for the per-row |e| / max(|y|, eps) (MAPE).
    pub absolute_percentage_error_w2: WeightedSpread,
    /// Joint moments of (e, y) under w²: the weighted R² and explained variance intervals.
    pub joint_w2: WeightedCoMoments,
}

impl WeightedMoments {
    pub fn update(
        &mut self,
        y_true: (&str, Values<'_>),
        y_pred: (&str, Values<'_>),
        (weight_name, weight): (&str, Values<'_>),
    ) -> Result<()> {
        let mut plain = RegressionMoments::default();
        plain.update(y_true, y_pred)?;
        let w = read_weights(weight_name, weight)?;
        let as_f64 = |v: Values<'_>| -> Vec<f64> {
            dispatch_numeric!(v, s => s.iter().map(|x| x.as_f64()).collect(), Values::Dict { .. } => Vec::new())
        };
        let (y, p) = (as_f64(y_true.1), as_f64(y_pred.1));
        let parts: Vec<WeightedMoments> = split_ranges(w.len())
            .into_par_iter()
            .map(|r| {
                let mut part = WeightedMoments::default();
                for ((yb, pb), wb) in y[r.clone()]
                    .chunks(BLOCK)
                    .zip(p[r.clone()].chunks(BLOCK))
                    .zip(w[r].chunks(BLOCK))
                {
                    let e: Vec<f64> = yb.iter().zip(pb).map(|(a, b)| b - a).collect();
                    let w2: Vec<f64> = wb.iter().map(|x| x * x).collect();
                    let e2: Vec<f64> = e.iter().map(|x| x * x).collect();
                    let ae: Vec<f64> = e.iter().map(|x| x.abs()).collect();
                    part.squared_error_w2.merge(&WeightedSpread::of(&e2, &w2));
                    part.absolute_error_w2.merge(&WeightedSpread::of(&ae, &w2));
                    part.error_w2.merge(&WeightedSpread::of(&e, &w2));
                    let ape: Vec<f64> = e
                        .iter()
                        .zip(yb)
                        .map(|(ei, yi)| ei.abs() / yi.abs().max(f64::EPSILON))
                        .collect();
                    part.absolute_percentage_error_w2
                        .merge(&WeightedSpread::of(&ape, &w2));
                    part.joint_w2.merge(&WeightedCoMoments::of(&e, yb, &w2));
                    let (mut sq, mut ab, mut ape_sum) = (0.0, 0.0, 0.0);
                    for ((&ei, &pe), &wi) in e.iter().zip(&ape).zip(wb) {
                        sq += wi * ei * ei;
                        ab += wi * ei.abs();
                        ape_sum += wi * pe;
                    }
                    part.weight.add(wb.iter().sum());
                    part.squared_error.add(sq);
                    part.absolute_error.add(ab);
                    part.absolute_percentage_error.add(ape_sum);
                    part.target.merge(&WeightedSpread::of(yb, wb));
                    part.error.merge(&WeightedSpread::of(&e, wb));
                }
                part
            })
            .collect();
        let mut next = *self;
        next.rows = add_count(next.rows, w.len() as u64, "weighted moments")?;
        next.max_absolute_error = next.max_absolute_error.max(plain.max_absolute_error);
        for part in &parts {
            next.absorb(part);
        }
        *self = next;
        Ok(())
    }

    fn absorb(&mut self, o: &WeightedMoments) {
        self.weight.merge(&o.weight);
        self.squared_error.merge(&o.squared_error);
        self.absolute_error.merge(&o.absolute_error);
        self.absolute_percentage_error
            .merge(&o.absolute_percentage_error);
        self.max_absolute_error = self.max_absolute_error.max(o.max_absolute_error);
        self.target.merge(&o.target);
        self.error.merge(&o.error);
        self.squared_error_w2.merge(&o.squared_error_w2);
        self.absolute_error_w2.merge(&o.absolute_error_w2);
        self.error_w2.merge(&o.error_w2);
        self.absolute_percentage_error_w2
            .merge(&o.absolute_percentage_error_w2);
        self.joint_w2.merge(&o.joint_w2);
    }

    pub fn merge(&mut self, o: &WeightedMoments) -> Result<()> {
        self.rows = add_count(self.rows, o.rows, "weighted moments")?;
        self.absorb(o);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_co_moments_merge_and_recentre_exactly() {
        // Data far from zero (the re-centring must not lose it), weights of several magnitudes.
        let n = 5000;
        let mut x: u64 = 3;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let y: Vec<f64> = (0..n).map(|_| 1e4 + 3.0 * next()).collect();
        let e: Vec<f64> = (0..n).map(|i| 0.5 * y[i] - 5e3 + next()).collect();
        let w2: Vec<f64> = (0..n).map(|_| (0.1 + 2.0 * next()).powi(2)).collect();
        let mut merged = WeightedCoMoments::default();
        for lo in (0..n).step_by(333) {
            let hi = (lo + 333).min(n);
            merged.merge(&WeightedCoMoments::of(&e[lo..hi], &y[lo..hi], &w2[lo..hi]));
        }
        let centre = [
            e.iter().sum::<f64>() / n as f64,
            y.iter().sum::<f64>() / n as f64,
        ];
        let got = merged.about(centre);
        let mut orders = ORDERS.to_vec();
        orders.extend([(0, 0), (1, 0), (0, 1)]);
        for (a, b) in orders {
            let direct: f64 = (0..n)
                .map(|i| {
                    w2[i] * (e[i] - centre[0]).powi(a as i32) * (y[i] - centre[1]).powi(b as i32)
                })
                .sum();
            let scale = (0..n)
                .map(|i| {
                    w2[i]
                        * (e[i] - centre[0]).abs().powi(a as i32)
                        * (y[i] - centre[1]).abs().powi(b as i32)
                })
                .sum::<f64>();
            assert!(
                (got[a][b] - direct).abs() <= 1e-9 * scale,
                "order ({a}, {b}): {} vs {direct}",
                got[a][b]
            );
        }
    }
}

//! Compensated sums of per-row regression losses the moments do not cover: squared log error
//! (`msle`) and pinball losses at each declared `alpha` (`mean_pinball_loss`).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::column_stats::{non_finite_error, numeric};
use super::moments::CompensatedSum;
use super::{add_count, split_ranges, BLOCK};
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorSums {
    pub n: u64,
    /// sum (log1p(y) - log1p(p))^2; only kept when `log` is set.
    pub squared_log_error: CompensatedSum,
    /// The alphas of `pinball`, sorted.
    pub alphas: Vec<f64>,
    /// sum of the pinball loss at each alpha.
    pub pinball: Vec<CompensatedSum>,
    /// With a weight column: the sum of weights (the sums above are then weighted).
    pub weight: Option<CompensatedSum>,
    /// Sums of the squared per-row losses (squared log error, then each pinball loss) times the
    /// squared weight (1 without weights), for the normal interval of the means.
    pub squares: Vec<CompensatedSum>,
    /// Σ w² l per loss, as `squares`, and Σ w²: with `squares`, the linearised variance of a
    /// weighted mean Σ w² (l - mean)² / (Σ w)² (row counts and plain sums without weights).
    pub weighted_losses: Vec<CompensatedSum>,
    pub squared_weights: CompensatedSum,
}

impl ErrorSums {
    pub fn new(alphas: &[f64]) -> ErrorSums {
        ErrorSums {
            n: 0,
            squared_log_error: CompensatedSum::default(),
            alphas: alphas.to_vec(),
            pinball: vec![CompensatedSum::default(); alphas.len()],
            weight: None,
            squares: vec![CompensatedSum::default(); alphas.len() + 1],
            weighted_losses: vec![CompensatedSum::default(); alphas.len() + 1],
            squared_weights: CompensatedSum::default(),
        }
    }

    /// The denominator of every mean: rows, or the sum of weights.
    pub fn total(&self) -> f64 {
        match &self.weight {
            Some(w) => w.value(),
            None => self.n as f64,
        }
    }

    /// The mean pinball loss at `alpha`, if it is counted.
    pub fn pinball_sum(&self, alpha: f64) -> Option<f64> {
        let i = self.alphas.iter().position(|&a| a == alpha)?;
        Some(self.pinball[i].value())
    }

    /// Folds one chunk in. Non-finite values are errors; with `log`, so are values <= -1 (as in
    /// scikit-learn's mean_squared_log_error).
    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        (pred_name, y_pred): (&str, Values<'_>),
        weight: Option<(&str, Values<'_>)>,
        log: bool,
    ) -> Result<()> {
        let (y_true, y_pred) = (numeric(true_name, y_true)?, numeric(pred_name, y_pred)?);
        let weights = match weight {
            Some((name, values)) => Some(super::weighted::read_weights(name, values)?),
            None => None,
        };
        let alphas = &self.alphas;
        let parts: Vec<Part> = split_ranges(y_true.len())
            .into_par_iter()
            .map(|r| {
                let w = weights.as_ref().map(|w| &w[r.clone()]);
                dispatch_numeric!(y_true.slice(r.clone()),
                    y => dispatch_numeric!(y_pred.slice(r),
                        p => fold(y, p, w, alphas, log),
                        Values::Dict { .. } => Part::default()),
                    Values::Dict { .. } => Part::default())
            })
            .collect();
        let non_finite: u64 = parts.iter().map(|p| p.non_finite).sum();
        if non_finite > 0 {
            let column = |v: Values<'_>| dispatch_numeric!(v, s => s.iter().any(|x| !x.as_f64().is_finite()), Values::Dict { .. } => false);
            let (name, values) = if column(y_true) {
                (true_name, y_true)
            } else {
                (pred_name, y_pred)
            };
            return Err(non_finite_error(name, values, non_finite));
        }
        let below: u64 = parts.iter().map(|p| p.below_minus_one).sum();
        if below > 0 {
            let first = |v: Values<'_>| dispatch_numeric!(v, s => s.iter().position(|x| x.as_f64() <= -1.0), Values::Dict { .. } => None);
            let (name, row) = match (first(y_true), first(y_pred)) {
                (Some(a), _) => (true_name, a),
                (None, Some(b)) => (pred_name, b),
                (None, None) => (true_name, 0),
            };
            return Err(CoreError::InvalidData {
                column: name.to_string(),
                message: "value is <= -1: msle takes log(1 + value)".into(),
                count: below,
                first_row: row as u64,
            });
        }
        let mut next = self.clone();
        if weights.is_some() && next.weight.is_none() {
            next.weight = Some(CompensatedSum::default());
        }
        for part in &parts {
            if let Some(w) = next.weight.as_mut() {
                w.merge(&part.weight);
            }
            next.n = add_count(next.n, part.n, "error sums")?;
            next.squared_log_error.merge(&part.squared_log_error);
            for (a, b) in next.pinball.iter_mut().zip(&part.pinball) {
                a.merge(b);
            }
            for (a, b) in next.squares.iter_mut().zip(&part.squares) {
                a.merge(b);
            }
            for (a, b) in next.weighted_losses.iter_mut().zip(&part.weighted_losses) {
                a.merge(b);
            }
            next.squared_weights.merge(&part.squared_weights);
        }
        *self = next;
        Ok(())
    }

    pub fn merge(&mut self, o: &ErrorSums) -> Result<()> {
        if o.alphas != self.alphas {
            return Err(CoreError::IncompatibleState(
                "pinball sums at different alphas".into(),
            ));
        }
        self.n = add_count(self.n, o.n, "error sums")?;
        if let Some(theirs) = &o.weight {
            self.weight
                .get_or_insert_with(CompensatedSum::default)
                .merge(theirs);
        }
        self.squared_log_error.merge(&o.squared_log_error);
        for (a, b) in self.pinball.iter_mut().zip(&o.pinball) {
            a.merge(b);
        }
        for (a, b) in self.squares.iter_mut().zip(&o.squares) {
            a.merge(b);
        }
        for (a, b) in self.weighted_losses.iter_mut().zip(&o.weighted_losses) {
            a.merge(b);
        }
        self.squared_weights.merge(&o.squared_weights);
        Ok(())
    }
}

#[derive(Default)]
struct Part {
    n: u64,
    squared_log_error: CompensatedSum,
    pinball: Vec<CompensatedSum>,
    squares: Vec<CompensatedSum>,
    weighted_losses: Vec<CompensatedSum>,
    squared_weights: CompensatedSum,
    weight: CompensatedSum,
    non_finite: u64,
    below_minus_one: u64,
}

fn fold<T: AsF64, U: AsF64>(
    y: &[T],
    p: &[U],
    w: Option<&[f64]>,
    alphas: &[f64],
    log: bool,
) -> Part {
    let mut part = Part {
        pinball: vec![CompensatedSum::default(); alphas.len()],
        squares: vec![CompensatedSum::default(); alphas.len() + 1],
        weighted_losses: vec![CompensatedSum::default(); alphas.len() + 1],
        ..Part::default()
    };
    for (block, (yb, pb)) in y.chunks(BLOCK).zip(p.chunks(BLOCK)).enumerate() {
        let mut sle = 0.0;
        let mut pin = vec![0.0f64; alphas.len()];
        // Squares: index 0 the squared log error, 1 + i the pinball loss at alphas[i].
        let mut sq = vec![0.0f64; alphas.len() + 1];
        let mut wl = vec![0.0f64; alphas.len() + 1];
        let (mut wsum, mut w2sum) = (0.0, 0.0);
        for (i, (a, b)) in yb.iter().zip(pb).enumerate() {
            let (yv, pv) = (a.as_f64(), b.as_f64());
            let wi = w.map_or(1.0, |w| w[block * BLOCK + i]);
            let w2 = wi * wi;
            wsum += wi;
            w2sum += w2;
            part.non_finite += (!(yv.is_finite() && pv.is_finite())) as u64;
            if log {
                part.below_minus_one += ((yv <= -1.0) | (pv <= -1.0)) as u64;
                let d = yv.ln_1p() - pv.ln_1p();
                sle += wi * d * d;
                sq[0] += w2 * d * d * d * d;
                wl[0] += w2 * d * d;
            }
            let diff = yv - pv;
            let losses = pin.iter_mut().zip(&mut sq[1..]).zip(&mut wl[1..]);
            for (((s, q), l), &alpha) in losses.zip(alphas) {
                // scikit-learn: alpha * diff where diff >= 0, (alpha - 1) * diff elsewhere.
                let loss = if diff >= 0.0 {
                    alpha * diff
                } else {
                    (alpha - 1.0) * diff
                };
                *s += wi * loss;
                *q += w2 * loss * loss;
                *l += w2 * loss;
            }
        }
        part.n += yb.len() as u64;
        part.weight.add(wsum);
        part.squared_log_error.add(sle);
        for (s, v) in part.pinball.iter_mut().zip(pin) {
            s.add(v);
        }
        for (s, v) in part.squares.iter_mut().zip(sq) {
            s.add(v);
        }
        for (s, v) in part.weighted_losses.iter_mut().zip(wl) {
            s.add(v);
        }
        part.squared_weights.add(w2sum);
    }
    part
}

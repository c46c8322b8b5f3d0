//! Per-class scores of a multiclass task (one score column per class, in the declared label
//! order): the multiclass log loss sum, top-k hit counts, and, for ROC AUC (one-vs-rest or
//! one-vs-one), per score column the sorted distinct scores with a count per true class.
//!
//! The curve state is O(classes² × distinct scores); each column's runs form a stack of shared
//! runs (as in `scores.rs`), so chunk after chunk costs O(n log n) and cloning is cheap.
//!
//! With a weight column (scikit-learn's `sample_weight`) the state also sums the weights: in
//! total, per true class, per top-k level, in the log loss, and, for ROC AUC, per distinct score
//! and true class (weighted runs, rows of weight 0 left out as `_binary_clf_curve` does). Row
//! counts stay exact either way.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::add_count;
use super::column_stats::numeric;
use super::moments::CompensatedSum;
use super::scores::score_key;
use super::weighted::read_weights;
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};
use crate::plan::Label;

/// A run of one score column, flattened: `[key, count_0, ..., count_{k-1}]` per distinct score,
/// in increasing key order.
type Run = Arc<Vec<u64>>;

/// A weighted run of one score column: distinct score keys, increasing, and per key the summed
/// weight of each true class (`weights[i * k + class]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeightedRun {
    pub keys: Vec<u64>,
    pub weights: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub k: usize,
    pub rows: u64,
    /// Rows per true class.
    pub support: Vec<u64>,
    pub clip_eps: f64,
    /// sum over rows of -ln(clip(score of the true class)).
    pub log_loss: CompensatedSum,
    /// sum over rows of the squared per-row log loss (its variance: the normal interval).
    pub log_loss_squares: CompensatedSum,
    /// The top-k levels counted, and the rows whose true class is among the top k scores.
    pub ks: Vec<usize>,
    pub hits: Vec<u64>,
    /// Per score column, a stack of runs (empty unless curves are kept).
    pub curves: Vec<Vec<Run>>,
    /// Whether sample weights are summed; then `log_loss` is a weighted sum, and the fields
    /// below hold the weights (empty otherwise).
    pub weighted: bool,
    pub total_weight: CompensatedSum,
    pub support_weight: Vec<CompensatedSum>,
    pub hit_weight: Vec<CompensatedSum>,
    /// Σ w², Σ w² l and Σ w² l² (l the per-row log loss), and Σ w² of the top-k hits: the
    /// linearised variances of the weighted log loss and top-k accuracy (zeros unweighted).
    pub squared_weight: CompensatedSum,
    pub log_loss_w2: [CompensatedSum; 2],
    pub hit_squared_weight: Vec<CompensatedSum>,
    /// Per score column, a stack of weighted runs (in place of `curves` when weighted).
    pub weighted_curves: Vec<Vec<Arc<WeightedRun>>>,
}

impl ClassScores {
    pub fn new(k: usize, ks: &[usize], curves: bool) -> ClassScores {
        ClassScores {
            k,
            rows: 0,
            support: vec![0; k],
            clip_eps: 0.0,
            log_loss: CompensatedSum::default(),
            log_loss_squares: CompensatedSum::default(),
            ks: ks.to_vec(),
            hits: vec![0; ks.len()],
            curves: if curves {
                vec![Vec::new(); k]
            } else {
                Vec::new()
            },
            weighted: false,
            total_weight: CompensatedSum::default(),
            support_weight: Vec::new(),
            hit_weight: Vec::new(),
            squared_weight: CompensatedSum::default(),
            log_loss_w2: Default::default(),
            hit_squared_weight: Vec::new(),
            weighted_curves: Vec::new(),
        }
    }

    /// An empty state that also sums sample weights.
    pub fn new_weighted(k: usize, ks: &[usize], curves: bool) -> ClassScores {
        let mut state = ClassScores::new(k, ks, false);
        state.weighted = true;
        state.support_weight = vec![CompensatedSum::default(); k];
        state.hit_weight = vec![CompensatedSum::default(); ks.len()];
        state.hit_squared_weight = vec![CompensatedSum::default(); ks.len()];
        if curves {
            state.weighted_curves = vec![Vec::new(); k];
        }
        state
    }

    /// Whether ROC AUC runs are kept (counted or weighted).
    pub fn has_curves(&self) -> bool {
        !self.curves.is_empty() || !self.weighted_curves.is_empty()
    }

    /// The merged weighted run of score column `c`.
    pub fn weighted_column_run(&self, c: usize) -> WeightedRun {
        let mut runs = self.weighted_curves[c].iter();
        let Some(first) = runs.next() else {
            return WeightedRun::default();
        };
        runs.fold(first.as_ref().clone(), |acc, r| {
            merge_weighted_runs(&acc, r, self.k)
        })
    }

    /// The merged run of score column `c`.
    pub fn column_run(&self, c: usize) -> Vec<u64> {
        let stride = self.k + 1;
        let mut runs = self.curves[c].iter();
        let Some(first) = runs.next() else {
            return Vec::new();
        };
        runs.fold(first.to_vec(), |acc, r| merge_runs(&acc, r, stride))
    }

    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        scores: &[(&str, Values<'_>)],
        weight: Option<(&str, Values<'_>)>,
        labels: &[Label],
        unit_interval: bool,
    ) -> Result<()> {
        if self.weighted != weight.is_some() {
            return Err(CoreError::IncompatibleState(
                "class scores: weight column and state disagree".into(),
            ));
        }
        let k = self.k;
        let codes = class_codes(true_name, y_true, labels)?;
        let n = codes.len();
        let mut columns: Vec<Vec<f64>> = Vec::with_capacity(k);
        let mut eps = f64::EPSILON;
        for &(name, values) in scores {
            let values = numeric(name, values)?;
            if matches!(values, Values::F32(_)) {
                eps = f32::EPSILON as f64;
            }
            let col: Vec<f64> = dispatch_numeric!(values, s => s.iter().map(|x| x.as_f64()).collect(), Values::Dict { .. } => Vec::new());
            let bad = |v: f64| {
                if unit_interval {
                    !(0.0..=1.0).contains(&v)
                } else {
                    !v.is_finite()
                }
            };
            if let Some(row) = col.iter().position(|&v| bad(v)) {
                return Err(CoreError::InvalidData {
                    column: name.to_string(),
                    message: if unit_interval {
                        "score is NaN or outside [0, 1] (log_loss reads probabilities)".into()
                    } else {
                        "score is NaN or infinite".into()
                    },
                    count: col.iter().filter(|&&v| bad(v)).count() as u64,
                    first_row: row as u64,
                });
            }
            columns.push(col);
        }
        // Labels and scores first, then weights (the unweighted state's order of errors).
        let weights = match weight {
            Some((name, values)) => Some(read_weights(name, values)?),
            None => None,
        };
        let mut next = self.clone();
        next.rows = add_count(next.rows, n as u64, "class scores")?;
        next.clip_eps = next.clip_eps.max(eps);
        let clip = |x: f64| x.clamp(eps, 1.0 - eps);
        let (mut block, mut block_sq) = (0.0, 0.0);
        // Σ w², Σ w² l, Σ w² l² of the block (weighted only).
        let mut block_w2 = [0.0f64; 3];
        for (i, &y) in codes.iter().enumerate() {
            let y = y as usize;
            next.support[y] += 1;
            let own = columns[y][i];
            // Multiplying by 1.0 is exact: the unweighted sums are unchanged.
            let w = weights.as_ref().map_or(1.0, |w| w[i]);
            if let Some(ws) = &weights {
                next.total_weight.add(ws[i]);
                next.support_weight[y].add(ws[i]);
                block_w2[0] += w * w;
            }
            if unit_interval {
                let loss = -clip(own).ln();
                block += w * loss;
                block_sq += w * loss * loss;
                if weights.is_some() {
                    block_w2[1] += w * w * loss;
                    block_w2[2] += w * w * loss * loss;
                }
            }
            // Rank as scikit-learn's top_k_accuracy_score (stable argsort, reversed): classes
            // scoring higher, or equal with a higher index, come first.
            let ahead = (0..k)
                .filter(|&j| columns[j][i] > own || (columns[j][i] == own && j > y))
                .count();
            for (h, &kk) in next.hits.iter_mut().zip(&next.ks) {
                *h += (ahead < kk) as u64;
            }
            if weights.is_some() {
                let hits = next.hit_weight.iter_mut().zip(&mut next.hit_squared_weight);
                for ((h, h2), &kk) in hits.zip(&next.ks) {
                    if ahead < kk {
                        h.add(w);
                        h2.add(w * w);
                    }
                }
            }
            if i % 4096 == 4095 {
                next.log_loss.add(block);
                next.log_loss_squares.add(block_sq);
                next.add_squared_weights(block_w2);
                (block, block_sq, block_w2) = (0.0, 0.0, [0.0; 3]);
            }
        }
        next.log_loss.add(block);
        next.log_loss_squares.add(block_sq);
        next.add_squared_weights(block_w2);
        if !next.curves.is_empty() {
            let runs: Vec<Vec<u64>> = columns
                .par_iter()
                .map(|col| column_run(col, &codes, k))
                .collect();
            for (stack, run) in next.curves.iter_mut().zip(runs) {
                push_run(stack, Arc::new(run), k + 1);
            }
        }
        if let (false, Some(w)) = (next.weighted_curves.is_empty(), &weights) {
            let runs: Vec<WeightedRun> = columns
                .par_iter()
                .map(|col| weighted_column_run(col, &codes, w, k))
                .collect();
            for (stack, run) in next.weighted_curves.iter_mut().zip(runs) {
                push_weighted_run(stack, Arc::new(run), k);
            }
        }
        *self = next;
        Ok(())
    }

    fn add_squared_weights(&mut self, [w2, w2l, w2l2]: [f64; 3]) {
        self.squared_weight.add(w2);
        self.log_loss_w2[0].add(w2l);
        self.log_loss_w2[1].add(w2l2);
    }

    pub fn merge(&mut self, o: &ClassScores) -> Result<()> {
        if o.k != self.k
            || o.ks != self.ks
            || o.curves.len() != self.curves.len()
            || o.weighted != self.weighted
            || o.weighted_curves.len() != self.weighted_curves.len()
        {
            return Err(CoreError::IncompatibleState(
                "class score states of different shapes".into(),
            ));
        }
        let mut next = self.clone();
        next.rows = add_count(next.rows, o.rows, "class scores")?;
        for (a, b) in next.support.iter_mut().zip(&o.support) {
            *a += b;
        }
        for (a, b) in next.hits.iter_mut().zip(&o.hits) {
            *a += b;
        }
        next.clip_eps = next.clip_eps.max(o.clip_eps);
        next.log_loss.merge(&o.log_loss);
        next.log_loss_squares.merge(&o.log_loss_squares);
        for (stack, theirs) in next.curves.iter_mut().zip(&o.curves) {
            for run in theirs {
                push_run(stack, run.clone(), self.k + 1);
            }
        }
        next.total_weight.merge(&o.total_weight);
        for (a, b) in next.support_weight.iter_mut().zip(&o.support_weight) {
            a.merge(b);
        }
        for (a, b) in next.hit_weight.iter_mut().zip(&o.hit_weight) {
            a.merge(b);
        }
        next.squared_weight.merge(&o.squared_weight);
        for (a, b) in next.log_loss_w2.iter_mut().zip(&o.log_loss_w2) {
            a.merge(b);
        }
        for (a, b) in next
            .hit_squared_weight
            .iter_mut()
            .zip(&o.hit_squared_weight)
        {
            a.merge(b);
        }
        for (stack, theirs) in next.weighted_curves.iter_mut().zip(&o.weighted_curves) {
            for run in theirs {
                push_weighted_run(stack, run.clone(), self.k);
            }
        }
        *self = next;
        Ok(())
    }
}

/// The class index of every row of `y_true` in `labels`; an unknown label is a data error.
fn class_codes(name: &str, values: Values<'_>, labels: &[Label]) -> Result<Vec<u32>> {
    const BAD: u32 = u32::MAX;
    let ints: HashMap<i64, u32> = labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| match l {
            Label::Int(v) => Some((*v, i as u32)),
            Label::Str(_) => None,
        })
        .collect();
    let codes: Vec<u32> = match values {
        Values::Dict {
            dictionary,
            indices,
        } => {
            let map: Vec<u32> = dictionary
                .iter()
                .map(|d| {
                    labels
                        .iter()
                        .position(|l| match l {
                            Label::Str(s) => s == d,
                            Label::Int(v) => d.parse::<i64>().ok() == Some(*v),
                        })
                        .map_or(BAD, |i| i as u32)
                })
                .collect();
            indices
                .iter()
                .map(|&i| {
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| map.get(i))
                        .copied()
                        .unwrap_or(BAD)
                })
                .collect()
        }
        _ => dispatch_numeric!(values,
            s => s.iter().map(|x| {
                let v = x.as_f64();
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    ints.get(&(v as i64)).copied().unwrap_or(BAD)
                } else {
                    BAD
                }
            }).collect(),
            Values::Dict { .. } => Vec::new()),
    };
    if let Some(row) = codes.iter().position(|&c| c == BAD) {
        return Err(CoreError::InvalidData {
            column: name.to_string(),
            message: "label is not one of the declared labels".into(),
            count: codes.iter().filter(|&&c| c == BAD).count() as u64,
            first_row: row as u64,
        });
    }
    Ok(codes)
}

fn column_run(scores: &[f64], codes: &[u32], k: usize) -> Vec<u64> {
    let mut pairs: Vec<(u64, u32)> = scores
        .iter()
        .zip(codes)
        .map(|(&s, &c)| (score_key(s), c))
        .collect();
    pairs.sort_unstable();
    let stride = k + 1;
    let mut out: Vec<u64> = Vec::new();
    for (key, c) in pairs {
        let len = out.len();
        if len >= stride && out[len - stride] == key {
            out[len - stride + 1 + c as usize] += 1;
        } else {
            out.push(key);
            out.extend(std::iter::repeat_n(0, k));
            let len = out.len();
            out[len - stride + 1 + c as usize] = 1;
        }
    }
    out
}

fn weighted_column_run(scores: &[f64], codes: &[u32], weights: &[f64], k: usize) -> WeightedRun {
    let mut rows: Vec<(u64, u32, f64)> = scores
        .iter()
        .zip(codes)
        .zip(weights)
        .filter(|(_, &w)| w > 0.0)
        .map(|((&s, &c), &w)| (score_key(s), c, w))
        .collect();
    rows.sort_unstable_by_key(|r| r.0);
    let mut out = WeightedRun::default();
    for (key, c, w) in rows {
        if out.keys.last() != Some(&key) {
            out.keys.push(key);
            out.weights.extend(std::iter::repeat_n(0.0, k));
        }
        let len = out.weights.len();
        out.weights[len - k + c as usize] += w;
    }
    out
}

fn merge_weighted_runs(a: &WeightedRun, b: &WeightedRun, k: usize) -> WeightedRun {
    let mut out = WeightedRun {
        keys: Vec::with_capacity(a.keys.len() + b.keys.len()),
        weights: Vec::with_capacity(a.weights.len() + b.weights.len()),
    };
    let (mut i, mut j) = (0, 0);
    while i < a.keys.len() || j < b.keys.len() {
        let take_a = j == b.keys.len() || (i < a.keys.len() && a.keys[i] <= b.keys[j]);
        let take_b = i == a.keys.len() || (j < b.keys.len() && b.keys[j] <= a.keys[i]);
        if take_a && take_b {
            out.keys.push(a.keys[i]);
            let (wa, wb) = (
                &a.weights[i * k..(i + 1) * k],
                &b.weights[j * k..(j + 1) * k],
            );
            out.weights.extend(wa.iter().zip(wb).map(|(x, y)| x + y));
            i += 1;
            j += 1;
        } else if take_a {
            out.keys.push(a.keys[i]);
            out.weights
                .extend_from_slice(&a.weights[i * k..(i + 1) * k]);
            i += 1;
        } else {
            out.keys.push(b.keys[j]);
            out.weights
                .extend_from_slice(&b.weights[j * k..(j + 1) * k]);
            j += 1;
        }
    }
    out
}

fn push_weighted_run(stack: &mut Vec<Arc<WeightedRun>>, run: Arc<WeightedRun>, k: usize) {
    if run.keys.is_empty() {
        return;
    }
    let mut run = run;
    while let Some(top) = stack.last() {
        if top.keys.len() > 2 * run.keys.len() {
            break;
        }
        let top = stack.pop().expect("checked non-empty");
        run = Arc::new(merge_weighted_runs(&top, &run, k));
    }
    stack.push(run);
}

fn merge_runs(a: &[u64], b: &[u64], stride: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] < b[j] {
            out.extend_from_slice(&a[i..i + stride]);
            i += stride;
        } else if b[j] < a[i] {
            out.extend_from_slice(&b[j..j + stride]);
            j += stride;
        } else {
            out.push(a[i]);
            for t in 1..stride {
                out.push(a[i + t] + b[j + t]);
            }
            i += stride;
            j += stride;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

fn push_run(stack: &mut Vec<Run>, run: Run, stride: usize) {
    if run.is_empty() {
        return;
    }
    let mut run = run;
    while let Some(top) = stack.last() {
        if top.len() > 2 * run.len() {
            break;
        }
        let top = stack.pop().expect("checked non-empty");
        run = Arc::new(merge_runs(&top, &run, stride));
    }
    stack.push(run);
}

//! Sample-weighted score runs: the exact score state of `scores.rs` with, per distinct score, the
//! summed weights of its positive and negative rows (scikit-learn's `sample_weight` for ROC AUC,
//! average precision, log loss, Brier score, ECE and the operating-point metrics).
//!
//! Rows of weight 0 are left out, as scikit-learn's `_binary_clf_curve` drops them. Runs are
//! sorted (score key, weight) pairs merged by key; like `ScoreRuns`, the state is a stack of
//! shared runs, each more than twice as long as the next.

use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::add_count;
use super::binary::{for_each_label_block, BinaryLabels};
use super::scores::{
    bad_score, check_rows, effective_clip_eps, key_score, merge_points, pieces, score_dtype_eps,
    score_key, RunPoint,
};
use super::weighted::read_weights;
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeightedPoint {
    pub key: u64,
    pub pos: f64,
    pub neg: f64,
    /// Σ w² of the positive and of the negative rows: the linearised variances of the weighted
    /// means and of the weighted AUC (their normal and DeLong intervals).
    pub pos2: f64,
    pub neg2: f64,
    /// Rows of the positive and of the negative weights: with Σ w and Σ w², the moments of the
    /// weight a row bootstrap draws from this score (the weighted bootstrap interval).
    pub pos_rows: u64,
    pub neg_rows: u64,
    /// The interval group of the rows (multiclass one-vs-rest runs that keep groups, see
    /// `class_scores::row_group`; 0 otherwise): a score's rows are then one point per group.
    pub group: u8,
}

impl WeightedPoint {
    /// One row of weight `w` (> 0) at score key `key`, in interval group `group`.
    #[inline]
    pub fn row(key: u64, w: f64, positive: bool, group: u8) -> WeightedPoint {
        let (pos, neg) = if positive { (w, 0.0) } else { (0.0, w) };
        WeightedPoint {
            key,
            pos,
            neg,
            pos2: pos * pos,
            neg2: neg * neg,
            pos_rows: positive as u64,
            neg_rows: !positive as u64,
            group,
        }
    }
}

type Run = Arc<Vec<WeightedPoint>>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WeightedScoreRuns {
    runs: Vec<Run>,
    rows: u64,
    clip_eps: f64,
    #[serde(skip)]
    merged: OnceLock<Run>,
}

impl PartialEq for WeightedScoreRuns {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows
            && self.clip_eps == other.clip_eps
            && self.points() == other.points()
    }
}

impl RunPoint for WeightedPoint {
    type Order = (u64, u8);
    fn order(&self) -> (u64, u8) {
        (self.key, self.group)
    }
    fn combine(self, other: Self) -> Self {
        WeightedPoint {
            key: self.key,
            group: self.group,
            pos: self.pos + other.pos,
            neg: self.neg + other.neg,
            pos2: self.pos2 + other.pos2,
            neg2: self.neg2 + other.neg2,
            pos_rows: self.pos_rows + other.pos_rows,
            neg_rows: self.neg_rows + other.neg_rows,
        }
    }
}

fn push_run(runs: &mut Vec<Run>, run: Run) {
    if run.is_empty() {
        return;
    }
    let mut run = run;
    while let Some(top) = runs.last() {
        if top.len() > 2 * run.len() {
            break;
        }
        let top = runs.pop().expect("checked non-empty");
        run = Arc::new(merge_points(&top, &run));
    }
    runs.push(run);
}

struct Piece {
    run: Vec<WeightedPoint>,
    bad_labels: u64,
    bad_scores: u64,
}

fn build_piece<T: AsF64>(
    y_true: Values<'_>,
    scores: &[T],
    weights: &[f64],
    labels: &BinaryLabels<'_>,
    unit_interval: bool,
) -> Piece {
    // One list of (key, ±w): the sign is the class (kept weights are > 0), so one sort and one
    // collapse build the run, with no merge of a positive and a negative run.
    let mut rows: Vec<(u64, f64)> = Vec::new();
    let (mut bad_labels, mut bad_scores) = (0u64, 0u64);
    for_each_label_block(y_true, labels, scores.len(), |start, codes| {
        for (i, &c) in codes.iter().enumerate() {
            let v = scores[start + i].as_f64();
            bad_scores += bad_score(v, unit_interval) as u64;
            bad_labels += (c >> 1) as u64;
            // Without weights (the validation pass) nothing is kept.
            let w = weights.get(start + i).copied().unwrap_or(0.0);
            if w > 0.0 && c < 2 {
                rows.push((score_key(v), if c == 1 { w } else { -w }));
            }
        }
    });
    if bad_labels > 0 || bad_scores > 0 {
        return Piece {
            run: Vec::new(),
            bad_labels,
            bad_scores,
        };
    }
    rows.sort_unstable_by_key(|p| p.0);
    let mut run: Vec<WeightedPoint> = Vec::with_capacity(rows.len());
    for &(key, w) in &rows {
        let row = WeightedPoint::row(key, w.abs(), w > 0.0, 0);
        match run.last_mut() {
            Some(last) if last.key == key => *last = last.combine(row),
            _ => run.push(row),
        }
    }
    Piece {
        run,
        bad_labels,
        bad_scores,
    }
}

impl WeightedScoreRuns {
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn clip_eps(&self) -> f64 {
        effective_clip_eps(self.clip_eps)
    }

    /// Every distinct score (of positive weight) with its weights, in increasing score order.
    pub fn points(&self) -> &[WeightedPoint] {
        self.merged.get_or_init(|| {
            let mut runs = self.runs.iter();
            let first = match runs.next() {
                Some(r) => r.clone(),
                None => return Arc::new(Vec::new()),
            };
            runs.fold(first, |acc, r| Arc::new(merge_points(&acc, r)))
        })
    }

    /// (score, positive weight, negative weight), increasing.
    pub fn weighted(&self) -> impl DoubleEndedIterator<Item = (f64, f64, f64)> + Clone + '_ {
        self.points()
            .iter()
            .map(|q| (key_score(q.key), q.pos, q.neg))
    }

    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        (score_name, y_score): (&str, Values<'_>),
        (weight_name, weight): (&str, Values<'_>),
        labels: &BinaryLabels<'_>,
        unit_interval: bool,
    ) -> Result<()> {
        let eps = score_dtype_eps(score_name, y_score)?;
        let len = y_true.len();
        let ranges = pieces(len);
        let validated: Vec<Piece> = ranges
            .into_par_iter()
            .map(|r| {
                dispatch_numeric!(y_score.slice(r.clone()),
                    s => build_piece(y_true.slice(r.clone()), s, &[], labels, unit_interval),
                    Values::Dict { .. } => Piece { run: Vec::new(), bad_labels: 0, bad_scores: 0 })
            })
            .collect();
        // Validate labels and scores before the weights, in the order of the unweighted state.
        check_rows(
            (true_name, y_true),
            (score_name, y_score),
            labels,
            unit_interval,
            validated.iter().map(|p| p.bad_labels).sum(),
            validated.iter().map(|p| p.bad_scores).sum(),
        )?;
        let weights = read_weights(weight_name, weight)?;
        let ranges = pieces(len);
        let run = ranges
            .into_par_iter()
            .map(|r| {
                dispatch_numeric!(y_score.slice(r.clone()),
                    s => build_piece(y_true.slice(r.clone()), s, &weights[r], labels, unit_interval).run,
                    Values::Dict { .. } => Vec::new())
            })
            .reduce_with(|a, b| merge_points(&a, &b))
            .unwrap_or_default();
        self.rows = add_count(self.rows, len as u64, "weighted score runs")?;
        push_run(&mut self.runs, Arc::new(run));
        self.clip_eps = self.clip_eps.max(eps);
        self.merged = OnceLock::new();
        Ok(())
    }

    pub fn merge(&mut self, other: &WeightedScoreRuns) -> Result<()> {
        self.rows = add_count(self.rows, other.rows, "weighted score runs")?;
        for run in &other.runs {
            push_run(&mut self.runs, run.clone());
        }
        self.clip_eps = self.clip_eps.max(other.clip_eps);
        self.merged = OnceLock::new();
        Ok(())
    }
}

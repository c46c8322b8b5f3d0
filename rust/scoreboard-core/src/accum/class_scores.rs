//! Per-class scores of a multiclass task (one score column per class, in the declared label
//! order): the multiclass log loss sum, top-k hit counts, and, for ROC AUC (one-vs-rest or
//! one-vs-one), per score column and true class the sorted distinct scores of that class's rows,
//! each with its row count.
//!
//! Splitting each column by true class first makes every AUC a merge walk of sorted runs: the
//! one-vs-rest AUC of class c pairs column c's run of class c with its run of each other class,
//! the one-vs-one AUC of (a, b) reads column a's runs of a and b (and column b's of b and a), so
//! no pair is ever re-sorted. Per chunk a column is bucketed by class (a counting pass) and each
//! bucket sorted on its own: K small sorts instead of one large one. The state holds one
//! (key, count) pair (16 bytes) per distinct (column, class, score), at most K × rows, instead of
//! a K-wide count row per distinct score of each column. Each (column, class) has a stack of
//! shared runs (as in `scores.rs`), so chunk after chunk costs O(n log n) and cloning is cheap.
//!
//! With a weight column (scikit-learn's `sample_weight`) the state also sums the weights: in
//! total, per true class, per top-k level, in the log loss, and, for ROC AUC, per score column c
//! the weighted binary runs of class c against the rest (`weighted_scores::WeightedPoint`, in the
//! binary LSM; rows of weight 0 left out as `_binary_clf_curve` does): one-vs-rest is the only
//! multiclass AUC scikit-learn weights. Row counts stay exact either way.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::add_count;
use super::column_stats::numeric;
use super::moments::CompensatedSum;
use super::radix::{radix_sort, Scratch};
use super::scores::{merge_all, push_run, score_key, RunPoint};
use super::weighted::read_weights;
use super::weighted_scores::WeightedPoint;
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};
use crate::plan::Label;

/// One distinct score (its `score_key`) of one class's rows in one score column, and how many
/// rows have it. When the state keeps interval groups, a score's rows are counted per group
/// (one point per (score, group), in that order); otherwise every point is in group 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCount {
    pub key: u64,
    /// The count in the low `GROUP_SHIFT` bits, the group above them.
    tally: u64,
}

/// Counts stay below 2^58 (the state refuses more rows), which leaves 6 bits for the group.
const GROUP_SHIFT: u32 = 58;
/// Rows a class-scores state may count.
const MAX_ROWS: u64 = (1 << GROUP_SHIFT) - 1;
/// Most interval groups a state may keep.
pub const MAX_GROUPS: u8 = 64;

impl KeyCount {
    pub fn new(key: u64, group: u8, count: u64) -> KeyCount {
        debug_assert!(count <= MAX_ROWS && group < MAX_GROUPS);
        KeyCount {
            key,
            tally: (group as u64) << GROUP_SHIFT | count,
        }
    }

    pub fn count(&self) -> u64 {
        self.tally & MAX_ROWS
    }

    /// The interval group of the rows counted (see `row_group`).
    pub fn group(&self) -> usize {
        (self.tally >> GROUP_SHIFT) as usize
    }
}

impl RunPoint for KeyCount {
    /// (key, group): the group bits are the tally's top bits.
    type Order = (u64, u64);
    fn order(&self) -> (u64, u64) {
        (self.key, self.tally >> GROUP_SHIFT)
    }
    fn combine(self, other: Self) -> Self {
        // Same key and group: the counts add (their sum is at most the state's rows).
        KeyCount {
            key: self.key,
            tally: self.tally + other.count(),
        }
    }
}

/// The Mann-Whitney statistics of a run of positives against a run of negatives, per interval
/// group (`group` indexes the vectors; one entry when the state keeps no groups). A positive's
/// "twice placement" is 2 per negative scoring below it plus 1 per negative tied with it, a
/// negative's likewise over the positives above it: integers, so the AUC is exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairStats {
    /// Σ over negatives of count × twice placement: twice the Mann-Whitney count.
    pub twice_area: u128,
    /// Per group, Σ over its positives of count × twice placement.
    pub pos_twice: Vec<u128>,
    /// Per group, Σ over its negatives of count × twice placement.
    pub neg_twice: Vec<u128>,
    pub pos_rows: Vec<u64>,
    pub neg_rows: Vec<u64>,
}

impl PairStats {
    /// One merge walk of the two sorted runs (a key may span several points, one per group).
    fn of(pos: &[KeyCount], neg: &[KeyCount]) -> PairStats {
        let m: u64 = pos.iter().map(|p| p.count()).sum();
        // Sums per point where groups vary (a probe of the first points; either way is exact).
        let grouped = pos.iter().chain(neg).take(64).any(|p| p.group() != 0);
        let (mut positives, mut negatives) = (SideSums::new(grouped), SideSums::new(grouped));
        // Rows of each side already walked: every one scores strictly below the next point of
        // the other side (a tied key is walked as one block).
        let (mut pos_below, mut neg_below) = (0u64, 0u64);
        let (mut i, mut j) = (0, 0);
        while i < pos.len() && j < neg.len() {
            let (p, q) = (&pos[i], &neg[j]);
            if p.key < q.key {
                positives.add(p, 2 * neg_below);
                pos_below += p.count();
                i += 1;
            } else if q.key < p.key {
                negatives.add(q, 2 * (m - pos_below));
                neg_below += q.count();
                j += 1;
            } else {
                // A key both sides score: each side's rows tie with the other's.
                let key = p.key;
                let pos_end = i + pos[i..].iter().take_while(|p| p.key == key).count();
                let neg_end = j + neg[j..].iter().take_while(|q| q.key == key).count();
                let pos_tied: u64 = pos[i..pos_end].iter().map(|p| p.count()).sum();
                let neg_tied: u64 = neg[j..neg_end].iter().map(|q| q.count()).sum();
                for p in &pos[i..pos_end] {
                    positives.add(p, 2 * neg_below + neg_tied);
                }
                for q in &neg[j..neg_end] {
                    negatives.add(q, 2 * (m - pos_below - pos_tied) + pos_tied);
                }
                (pos_below, neg_below) = (pos_below + pos_tied, neg_below + neg_tied);
                (i, j) = (pos_end, neg_end);
            }
        }
        // One side is walked: the other's rest scores above all of it.
        for p in &pos[i..] {
            positives.add(p, 2 * neg_below);
        }
        for q in &neg[j..] {
            negatives.add(q, 0);
        }
        positives.flush();
        negatives.flush();
        // Keep the groups up to the last one with rows.
        let used = (0..MAX_GROUPS as usize)
            .rev()
            .find(|&g| positives.rows[g] + negatives.rows[g] > 0)
            .map_or(0, |g| g + 1);
        PairStats {
            twice_area: negatives.twice.iter().sum(),
            pos_twice: positives.twice[..used].to_vec(),
            neg_twice: negatives.twice[..used].to_vec(),
            pos_rows: positives.rows[..used].to_vec(),
            neg_rows: negatives.rows[..used].to_vec(),
        }
    }
}

/// One side's sums per group during a pair walk. Where groups vary each point adds to its
/// group's sums; otherwise consecutive points of one group add up in registers and reach the
/// arrays when the group changes (a store per point to one slot would chain every add through
/// memory).
struct SideSums {
    twice: [u128; MAX_GROUPS as usize],
    rows: [u64; MAX_GROUPS as usize],
    per_point: bool,
    group: usize,
    pending_twice: u128,
    pending_rows: u64,
}

impl SideSums {
    fn new(per_point: bool) -> SideSums {
        SideSums {
            twice: [0; MAX_GROUPS as usize],
            rows: [0; MAX_GROUPS as usize],
            per_point,
            group: 0,
            pending_twice: 0,
            pending_rows: 0,
        }
    }

    /// Adds a point's rows, each of twice placement `placement`.
    #[inline(always)]
    fn add(&mut self, point: &KeyCount, placement: u64) {
        let (group, twice) = (point.group(), point.count() as u128 * placement as u128);
        if self.per_point {
            self.twice[group] += twice;
            self.rows[group] += point.count();
            return;
        }
        if group != self.group {
            self.flush();
            self.group = group;
        }
        self.pending_twice += twice;
        self.pending_rows += point.count();
    }

    fn flush(&mut self) {
        self.twice[self.group] += std::mem::take(&mut self.pending_twice);
        self.rows[self.group] += std::mem::take(&mut self.pending_rows);
    }
}

/// The interval group of the row at `position` in a state's stream (its rows before this chunk
/// plus its index in the chunk): a hash of the position, so groups are a random partition of
/// the rows that does not depend on how they were chunked.
pub fn row_group(position: u64, groups: u8) -> u8 {
    let mut z = position.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The hash scaled to [0, groups) (Lemire's multiply-shift: no division per row).
    ((z as u128 * groups as u128) >> 64) as u8
}

/// A sorted run of distinct keys with counts, increasing, and its level in the LSM tree of runs
/// (as `ScoreRuns`: chunk after chunk copies each row O(log16(n / chunk)) times).
type Run = (u8, Arc<Vec<KeyCount>>);

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
    /// Per score column, per true class, an LSM tree of runs (empty unless curves are kept).
    pub curves: Vec<Vec<Vec<Run>>>,
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
    /// Per score column c, an LSM tree of weighted binary runs of class c against the rest (the
    /// one-vs-rest AUC is all scikit-learn computes with weights), in place of `curves`.
    pub weighted_curves: Vec<Vec<(u8, Arc<Vec<WeightedPoint>>)>>,
    /// The merged runs of every (column, class), and the merged weighted run of every column,
    /// built by the first finalizer that needs them (several roc_auc metrics, and a value and its
    /// interval, share one merge).
    #[serde(skip)]
    merged: Cached<Vec<Vec<Arc<Vec<KeyCount>>>>>,
    #[serde(skip)]
    merged_weighted: Cached<Vec<Arc<Vec<WeightedPoint>>>>,
    /// The statistics of every (column c, class j != c) pair of runs, at `c * k + j`: a ROC AUC
    /// value and its interval read the same walks.
    #[serde(skip)]
    pairs: Cached<Vec<PairStats>>,
}

/// A cache of merged runs: never serialised, never compared, and empty in a clone (updates and
/// merges work on a clone, so a changed state never sees a stale cache).
#[derive(Debug)]
struct Cached<T>(OnceLock<T>);

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached(OnceLock::new())
    }
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Cached::default()
    }
}

impl<T> PartialEq for Cached<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// One LSM stack of runs as a single run: shared, not copied, when it is one run already (a
/// single chunk, or a merged tree).
fn merged_stack<P: RunPoint + Send + Sync>(stack: &[(u8, Arc<Vec<P>>)]) -> Arc<Vec<P>> {
    match stack {
        [(_, one)] => one.clone(),
        runs => Arc::new(merge_all(
            &runs.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        )),
    }
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
                vec![vec![Vec::new(); k]; k]
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
            merged: Cached::default(),
            merged_weighted: Cached::default(),
            pairs: Cached::default(),
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

    /// The merged weighted run of score column `c`: per distinct score, the summed weights of
    /// class `c` (`pos`) and of the other classes (`neg`). Every column is merged once and cached.
    pub fn weighted_column_run(&self, c: usize) -> Arc<Vec<WeightedPoint>> {
        self.merged_weighted.0.get_or_init(|| {
            self.weighted_curves
                .par_iter()
                .map(|stack| merged_stack(stack))
                .collect()
        })[c]
            .clone()
    }

    /// The merged runs of score column `c`, one per true class (the rows of class `j` at `[j]`).
    pub fn column_runs(&self, c: usize) -> Vec<Arc<Vec<KeyCount>>> {
        self.all_runs()[c].clone()
    }

    /// The merged runs of every score column (`[column][class]`), merged once and cached.
    pub fn all_runs(&self) -> &[Vec<Arc<Vec<KeyCount>>>] {
        self.merged.0.get_or_init(|| {
            (0..self.curves.len())
                .map(|c| self.merge_column(c))
                .collect()
        })
    }

    /// The Mann-Whitney statistics of column `c`'s run of class `c` (positives) against its run
    /// of class `j` (negatives), `j != c`: the binary AUCs every multiclass ROC AUC averages
    /// (one-vs-rest sums them over `j`; one-vs-one reads (a, b) and (b, a)). All pairs are walked
    /// once, in parallel, and cached.
    pub fn pair_stats(&self, c: usize, j: usize) -> &PairStats {
        debug_assert!(c != j);
        let k = self.k;
        &self.pairs.0.get_or_init(|| {
            let runs = self.all_runs();
            (0..k * k)
                .into_par_iter()
                .map(|at| {
                    let (c, j) = (at / k, at % k);
                    if c == j {
                        PairStats::default()
                    } else {
                        PairStats::of(&runs[c][c], &runs[c][j])
                    }
                })
                .collect()
        })[c * k + j]
    }

    fn merge_column(&self, c: usize) -> Vec<Arc<Vec<KeyCount>>> {
        self.curves[c]
            .par_iter()
            .map(|stack| merged_stack(stack))
            .collect()
    }

    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        scores: &[(&str, Values<'_>)],
        weight: Option<(&str, Values<'_>)>,
        labels: &[Label],
        unit_interval: bool,
        groups: u8,
    ) -> Result<()> {
        if self.weighted != weight.is_some() {
            return Err(CoreError::IncompatibleState(
                "class scores: weight column and state disagree".into(),
            ));
        }
        let k = self.k;
        let codes = class_codes(true_name, y_true, labels)?;
        let n = codes.len();
        let mut columns: Vec<Cow<'_, [f64]>> = Vec::with_capacity(k);
        let mut eps = f64::EPSILON;
        for &(name, values) in scores {
            let values = numeric(name, values)?;
            if matches!(values, Values::F32(_)) {
                eps = f32::EPSILON as f64;
            }
            // float64 columns are read in place (no copy of n x K scores); others are widened.
            let col: Cow<'_, [f64]> = match values {
                Values::F64(s) => Cow::Borrowed(s),
                _ => Cow::Owned(
                    dispatch_numeric!(values, s => s.iter().map(|x| x.as_f64()).collect(), Values::Dict { .. } => Vec::new()),
                ),
            };
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
        if next.rows > MAX_ROWS {
            return Err(CoreError::Overflow("class scores"));
        }
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
            if i % 4096 == 4095 {
                next.log_loss.add(block);
                next.log_loss_squares.add(block_sq);
                next.add_squared_weights(block_w2);
                (block, block_sq, block_w2) = (0.0, 0.0, [0.0; 3]);
            }
            if next.ks.is_empty() {
                continue;
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
        }
        next.log_loss.add(block);
        next.log_loss_squares.add(block_sq);
        next.add_squared_weights(block_w2);
        // Each row's interval group, from its position in this state's stream.
        let row_groups: Option<Vec<u8>> = (groups > 1 && next.has_curves()).then(|| {
            (self.rows..next.rows)
                .into_par_iter()
                .map(|position| row_group(position, groups))
                .collect()
        });
        if !next.curves.is_empty() {
            let sizes: Vec<usize> = next
                .support
                .iter()
                .zip(&self.support)
                .map(|(after, before)| (after - before) as usize)
                .collect();
            let runs: Vec<Vec<Vec<KeyCount>>> = columns
                .par_iter()
                .map(|col| match &row_groups {
                    Some(groups) => class_runs(
                        col.iter().zip(groups).map(|(&s, &g)| (score_key(s), g)),
                        &codes,
                        &sizes,
                    ),
                    None => class_runs(col.iter().map(|&s| (score_key(s), ())), &codes, &sizes),
                })
                .collect();
            for (stacks, column) in next.curves.iter_mut().zip(runs) {
                for (stack, run) in stacks.iter_mut().zip(column) {
                    push_run(stack, 0, Arc::new(run));
                }
            }
        }
        if let (false, Some(w)) = (next.weighted_curves.is_empty(), &weights) {
            let runs: Vec<Vec<WeightedPoint>> = columns
                .par_iter()
                .enumerate()
                .map(|(c, col)| {
                    weighted_column_run(col, &codes, w, c as u32, row_groups.as_deref())
                })
                .collect();
            for (stack, run) in next.weighted_curves.iter_mut().zip(runs) {
                push_run(stack, 0, Arc::new(run));
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
        if next.rows > MAX_ROWS {
            return Err(CoreError::Overflow("class scores"));
        }
        for (a, b) in next.support.iter_mut().zip(&o.support) {
            *a += b;
        }
        for (a, b) in next.hits.iter_mut().zip(&o.hits) {
            *a += b;
        }
        next.clip_eps = next.clip_eps.max(o.clip_eps);
        next.log_loss.merge(&o.log_loss);
        next.log_loss_squares.merge(&o.log_loss_squares);
        for (stacks, theirs) in next.curves.iter_mut().zip(&o.curves) {
            for (stack, runs) in stacks.iter_mut().zip(theirs) {
                for (level, run) in runs {
                    push_run(stack, *level, run.clone());
                }
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
            for (level, run) in theirs {
                push_run(stack, *level, run.clone());
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

/// What a row carries into its class's sort: its interval group, or nothing when the state
/// keeps no groups (a zero-sized payload: the sort then moves keys alone).
trait RowGroup: Copy + Default {
    const GROUPED: bool;
    fn index(self) -> u8;
}

impl RowGroup for () {
    const GROUPED: bool = false;
    fn index(self) -> u8 {
        0
    }
}

impl RowGroup for u8 {
    const GROUPED: bool = true;
    fn index(self) -> u8 {
        self
    }
}

/// The runs of one score column of a chunk, one per true class (`sizes` rows each): each row's
/// (score key, group) bucketed by class (a counting pass), each bucket radix-sorted on its own
/// and run-length encoded.
fn class_runs<G: RowGroup>(
    rows: impl Iterator<Item = (u64, G)>,
    codes: &[u32],
    sizes: &[usize],
) -> Vec<Vec<KeyCount>> {
    let mut next: Vec<usize> = sizes
        .iter()
        .scan(0, |start, &size| {
            *start += size;
            Some(*start - size)
        })
        .collect();
    let mut keys = vec![0u64; codes.len()];
    let mut groups = vec![G::default(); codes.len()];
    for ((key, group), &c) in rows.zip(codes) {
        let slot = &mut next[c as usize];
        keys[*slot] = key;
        groups[*slot] = group;
        *slot += 1;
    }
    let (mut keys_left, mut groups_left) = (keys.as_mut_slice(), groups.as_mut_slice());
    let mut scratch = Scratch::default();
    sizes
        .iter()
        .map(|&size| {
            let (keys, keys_tail) = std::mem::take(&mut keys_left).split_at_mut(size);
            let (groups, groups_tail) = std::mem::take(&mut groups_left).split_at_mut(size);
            (keys_left, groups_left) = (keys_tail, groups_tail);
            radix_sort(keys, groups, &mut scratch);
            run_length(keys, groups)
        })
        .collect()
}

/// Sorted keys, each with its row's group -> one point per (key, group), in that order. The
/// groups of a tied key are sorted here (the radix sort left them in row order).
fn run_length<G: RowGroup>(keys: &[u64], groups: &mut [G]) -> Vec<KeyCount> {
    let mut run = Vec::with_capacity(keys.len());
    let mut start = 0;
    while start < keys.len() {
        let key = keys[start];
        let end = start + keys[start..].iter().take_while(|&&k| k == key).count();
        if !G::GROUPED || end - start == 1 {
            run.push(KeyCount::new(
                key,
                groups[start].index(),
                (end - start) as u64,
            ));
        } else {
            let tied = &mut groups[start..end];
            tied.sort_unstable_by_key(|g| g.index());
            for same in tied.chunk_by(|a, b| a.index() == b.index()) {
                run.push(KeyCount::new(key, same[0].index(), same.len() as u64));
            }
        }
        start = end;
    }
    run
}

/// The weighted binary run of score column `class`: rows of that class positive, the others
/// negative, rows of weight 0 left out (as `_binary_clf_curve`); with interval groups, one point
/// per (score, group).
fn weighted_column_run(
    scores: &[f64],
    codes: &[u32],
    weights: &[f64],
    class: u32,
    groups: Option<&[u8]>,
) -> Vec<WeightedPoint> {
    let group = |i: usize| groups.map_or(0, |g| g[i]);
    let mut rows: Vec<(u64, u8, bool, f64)> = scores
        .iter()
        .zip(codes)
        .zip(weights)
        .enumerate()
        .filter(|(_, (_, &w))| w > 0.0)
        .map(|(i, ((&s, &c), &w))| (score_key(s), group(i), c == class, w))
        .collect();
    rows.sort_unstable_by_key(|r| (r.0, r.1));
    let mut out: Vec<WeightedPoint> = Vec::with_capacity(rows.len());
    for (key, group, positive, w) in rows {
        let row = WeightedPoint::row(key, w, positive, group);
        match out.last_mut() {
            Some(last) if last.order() == row.order() => *last = last.combine(row),
            _ => out.push(row),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<Label> {
        (0..3).map(Label::Int).collect()
    }

    fn update(state: &mut ClassScores, y: &[i64], columns: &[Vec<f64>]) -> Result<()> {
        update_grouped(state, y, columns, 0)
    }

    fn update_grouped(
        state: &mut ClassScores,
        y: &[i64],
        columns: &[Vec<f64>],
        groups: u8,
    ) -> Result<()> {
        let scores: Vec<(&str, Values<'_>)> =
            columns.iter().map(|c| ("s", Values::F64(c))).collect();
        state.update(
            ("y", Values::I64(y)),
            &scores,
            None,
            &labels(),
            false,
            groups,
        )
    }

    /// Rows of class 0..3 with scores from a few distinct values (ties within and across
    /// classes), or -0.0 / 0.0.
    fn data(n: usize) -> (Vec<i64>, Vec<Vec<f64>>) {
        let y: Vec<i64> = (0..n).map(|i| ((i * 7919) % 3) as i64).collect();
        let columns = (0..3)
            .map(|c| {
                (0..n)
                    .map(|i| match (i * 104729 + c * 31) % 53 {
                        0 => -0.0,
                        r => r as f64 / 53.0,
                    })
                    .collect()
            })
            .collect();
        (y, columns)
    }

    #[test]
    fn runs_per_column_and_class_match_a_reference_count() {
        let (y, columns) = data(2000);
        let mut state = ClassScores::new(3, &[], true);
        update(&mut state, &y, &columns).unwrap();
        for (c, column) in columns.iter().enumerate() {
            let runs = state.column_runs(c);
            for (class, run) in runs.iter().enumerate() {
                let mut reference = std::collections::BTreeMap::<u64, u64>::new();
                for (&l, &v) in y.iter().zip(column) {
                    if l == class as i64 {
                        *reference.entry(score_key(v)).or_default() += 1;
                    }
                }
                let expected: Vec<KeyCount> = reference
                    .into_iter()
                    .map(|(key, count)| KeyCount::new(key, 0, count))
                    .collect();
                assert_eq!(run.as_slice(), &expected[..], "column {c} class {class}");
            }
        }
    }

    /// Pair statistics of `groups` groups, all zero (a brute-force count adds into them).
    fn zeroed_stats(groups: usize) -> PairStats {
        PairStats {
            pos_twice: vec![0; groups],
            neg_twice: vec![0; groups],
            pos_rows: vec![0; groups],
            neg_rows: vec![0; groups],
            ..PairStats::default()
        }
    }

    #[test]
    fn pair_stats_match_a_count_over_every_pair_of_rows() {
        // Heavy ties within and across classes (and -0.0 == 0.0), rows in 32 groups.
        let (y, columns) = data(1500);
        let mut state = ClassScores::new(3, &[], true);
        update_grouped(&mut state, &y, &columns, 32).unwrap();
        for (c, column) in columns.iter().enumerate() {
            for j in (0..3).filter(|&j| j != c) {
                let y = &y;
                let rows = |class: usize| {
                    (0..y.len())
                        .filter(move |&r| y[r] == class as i64)
                        .map(|r| (column[r], row_group(r as u64, 32) as usize))
                };
                // 2 per row of the other side strictly on the far side, 1 per tie.
                let twice = |s: f64, other: usize, above: bool| -> u128 {
                    rows(other)
                        .map(|(t, _)| match (s.partial_cmp(&t).unwrap(), above) {
                            (std::cmp::Ordering::Equal, _) => 1,
                            (std::cmp::Ordering::Greater, false)
                            | (std::cmp::Ordering::Less, true) => 2,
                            _ => 0,
                        })
                        .sum()
                };
                let mut expected = zeroed_stats(32);
                for (s, g) in rows(c) {
                    expected.pos_twice[g] += twice(s, j, false);
                    expected.pos_rows[g] += 1;
                }
                for (s, g) in rows(j) {
                    let t = twice(s, c, true);
                    expected.neg_twice[g] += t;
                    expected.neg_rows[g] += 1;
                    expected.twice_area += t;
                }
                assert_eq!(
                    *state.pair_stats(c, j),
                    expected,
                    "column {c}, negatives {j}"
                );
            }
        }
    }

    #[test]
    fn pair_walks_sum_per_group_whether_groups_start_at_once_or_late() {
        // Runs whose groups are all 0 over their lowest scores (the walk then sums in registers,
        // flushing when a group changes) or vary from the start, with ties across the runs.
        let run = |seed: u64, late: bool| -> Vec<KeyCount> {
            let mut x = seed;
            let mut points: Vec<KeyCount> = (0..400)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let key = x % 1000;
                    let group = if late && key < 400 { 0 } else { (x % 5) as u8 };
                    KeyCount::new(key, group, 1 + x % 3)
                })
                .collect();
            points.sort_by_key(|p| p.order());
            points.dedup_by_key(|p| p.order());
            points
        };
        for late in [false, true] {
            let (pos, neg) = (run(3, late), run(8, late));
            let twice = |key: u64, other: &[KeyCount], above: bool| -> u128 {
                let far = |k: u64| if above { k > key } else { k < key };
                other
                    .iter()
                    .map(|o| o.count() as u128 * (2 * far(o.key) as u128 + (o.key == key) as u128))
                    .sum()
            };
            let mut expected = zeroed_stats(5);
            for p in &pos {
                expected.pos_twice[p.group()] += p.count() as u128 * twice(p.key, &neg, false);
                expected.pos_rows[p.group()] += p.count();
            }
            for q in &neg {
                let t = q.count() as u128 * twice(q.key, &pos, true);
                expected.neg_twice[q.group()] += t;
                expected.neg_rows[q.group()] += q.count();
                expected.twice_area += t;
            }
            assert_eq!(PairStats::of(&pos, &neg), expected, "late groups: {late}");
        }
    }

    #[test]
    fn grouped_runs_split_each_score_by_row_group_whatever_the_chunking() {
        let (y, columns) = data(5000);
        let mut plain = ClassScores::new(3, &[], true);
        update(&mut plain, &y, &columns).unwrap();
        let mut whole = ClassScores::new(3, &[], true);
        update_grouped(&mut whole, &y, &columns, 32).unwrap();
        let mut chunked = ClassScores::new(3, &[], true);
        for lo in (0..y.len()).step_by(97) {
            let hi = (lo + 97).min(y.len());
            let part: Vec<Vec<f64>> = columns.iter().map(|c| c[lo..hi].to_vec()).collect();
            update_grouped(&mut chunked, &y[lo..hi], &part, 32).unwrap();
        }
        for (c, column) in columns.iter().enumerate() {
            assert_eq!(chunked.column_runs(c), whole.column_runs(c));
            for (class, run) in whole.column_runs(c).iter().enumerate() {
                // Points in (key, group) order, each group the hash of its rows' positions.
                assert!(run.windows(2).all(|w| w[0].order() < w[1].order()));
                let mut reference = std::collections::BTreeMap::<(u64, usize), u64>::new();
                for (i, (&l, &v)) in y.iter().zip(column).enumerate() {
                    if l == class as i64 {
                        let group = row_group(i as u64, 32) as usize;
                        *reference.entry((score_key(v), group)).or_default() += 1;
                    }
                }
                let got: Vec<((u64, usize), u64)> = run
                    .iter()
                    .map(|p| ((p.key, p.group()), p.count()))
                    .collect();
                assert_eq!(got, reference.into_iter().collect::<Vec<_>>());
                // Summed over groups: the ungrouped run.
                let mut summed: Vec<KeyCount> = Vec::new();
                for p in run.iter() {
                    match summed.last_mut() {
                        Some(last) if last.key == p.key => last.tally += p.count(),
                        _ => summed.push(KeyCount::new(p.key, 0, p.count())),
                    }
                }
                assert_eq!(summed, *plain.column_runs(c)[class]);
            }
        }
        assert!((0..32).all(|g| whole.column_runs(0)[0].iter().any(|p| p.group() == g)));
    }

    #[test]
    fn chunked_equals_whole_and_merged_and_round_trips() {
        let (y, columns) = data(5000);
        let mut whole = ClassScores::new(3, &[], true);
        update(&mut whole, &y, &columns).unwrap();
        let mut chunked = ClassScores::new(3, &[], true);
        let mut merged = ClassScores::new(3, &[], true);
        for lo in (0..y.len()).step_by(97) {
            let hi = (lo + 97).min(y.len());
            let part: Vec<Vec<f64>> = columns.iter().map(|c| c[lo..hi].to_vec()).collect();
            update(&mut chunked, &y[lo..hi], &part).unwrap();
            let mut one = ClassScores::new(3, &[], true);
            update(&mut one, &y[lo..hi], &part).unwrap();
            merged.merge(&one).unwrap();
        }
        for state in [&chunked, &merged] {
            // The LSM keeps few runs, and they merge into the whole chunk's runs.
            assert!(state.curves.iter().flatten().all(|runs| runs.len() <= 32));
            for c in 0..3 {
                assert_eq!(state.column_runs(c), whole.column_runs(c));
            }
        }
        // The merged runs are cached; an update after a finalizer read them is still counted.
        let before = chunked.column_runs(0)[0]
            .iter()
            .map(|p| p.count())
            .sum::<u64>();
        update(
            &mut chunked,
            &y[..3],
            &columns.iter().map(|c| c[..3].to_vec()).collect::<Vec<_>>(),
        )
        .unwrap();
        let after = chunked.column_runs(0)[0]
            .iter()
            .map(|p| p.count())
            .sum::<u64>();
        assert_eq!(
            after,
            before + y[..3].iter().filter(|&&l| l == 0).count() as u64
        );
        let bytes = postcard::to_allocvec(&chunked).unwrap();
        let back: ClassScores = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, chunked);
    }
}

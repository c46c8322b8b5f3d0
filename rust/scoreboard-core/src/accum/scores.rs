//! Exact score runs: the distinct scores of a binary task, each with its count of positive and
//! negative rows, in increasing order. One state feeds every threshold-free metric (ROC AUC,
//! average precision, log loss, Brier score, ECE, recall at precision, precision at recall)
//! exactly as scikit-learn computes them, ties included.
//!
//! Memory grows with the number of *distinct* scores (24 bytes each), not with rows: float32
//! scores have at most 2^30 distinct values in [0, 1], rounded scores far fewer; float64 scores
//! from a model are mostly distinct, so the state is then O(rows). The binned variant
//! (`score_histogram.rs`) is O(bins).
//!
//! Per chunk, scores become order-preserving `u64` keys (integer order == float order, -0.0 ==
//! 0.0). A large chunk is first cut into key ranges by splitters drawn from a sample of its keys
//! (a sample sort's first step): pieces of the chunk count their rows per (range, label),
//! noting each row's range (a byte), then write their keys into their own slice of each
//! (range, label) array, all in parallel. Every array is sorted on its own (2 x ranges small
//! sorts, balanced over the threads, instead of one large sort per label) and each range's
//! positives and negatives are run-length merged into sorted runs of (key, positives,
//! negatives), concatenated in range order. The result is
//! canonical: it depends only on the multiset of (score, label) pairs, never on chunking,
//! sampling or threads.
//!
//! A chunk whose scores are all >= 0 (probabilities: every probabilistic metric's input) and
//! mostly distinct is kept as *row keys* instead: one `u64` per row, the score's bits shifted
//! left with the label in the freed sign bit, sorted. A float score per row makes about
//! one point per row, and 8 bytes a row then beat 24 a point: the chunk's sorted keys become the
//! run as they are, with no run-length pass, and finalizers walk a third of the memory. A run of
//! row keys whose scores are mostly tied (a third distinct or fewer) becomes points, so memory
//! still grows with the distinct scores, never more than points would take.
//!
//! The state is a small LSM tree of runs (one for points, one for row keys): up to 16 runs per
//! level, merged into one run of the next level beyond that (a balanced tree of two-way merges),
//! so folding in chunk after chunk copies each row O(log(n / chunk)) times instead of
//! O(n / chunk); finalizers merge what is left, once, and cache it.
//! Runs are immutable and shared (`Arc`): cloning a state (the executor does, for all-or-nothing
//! updates) copies a few pointers. Finalizers read one merged run, built once and cached.

use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binary::{
    first_invalid_label, for_each_label_block, invalid_label_message, BinaryLabels,
};
use super::{add_count, prefault, split_sizes, PARALLEL_MIN_ROWS};
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};

/// One distinct score with its label counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// `score_key(score)`.
    pub key: u64,
    pub pos: u64,
    pub neg: u64,
}

impl Point {
    pub fn score(&self) -> f64 {
        key_score(self.key)
    }
}

/// An order-preserving key of a finite float: `a < b` iff `score_key(a) < score_key(b)`, and
/// `-0.0` and `0.0` share one key.
#[inline(always)]
pub fn score_key(x: f64) -> u64 {
    let bits = (x + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The score of a key (inverse of `score_key`).
#[inline(always)]
pub fn key_score(key: u64) -> f64 {
    if key >> 63 == 1 {
        f64::from_bits(key & !(1 << 63))
    } else {
        f64::from_bits(!key)
    }
}

/// One row of a chunk whose scores are all >= 0: the score's bits shifted left by one, with
/// the label in the low bit (0 positive, 1 negative). Non-negative floats order like their bits
/// and all have the sign bit clear, so sorted row keys order rows by score, and within a score
/// put its positives first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[repr(transparent)]
pub struct RowKey(u64);

impl RowKey {
    /// The row key of a non-negative score's `score_key` (whose top bit is then set).
    #[inline(always)]
    fn new(score_key: u64, negative: bool) -> RowKey {
        RowKey((score_key << 1) | negative as u64)
    }

    /// The score's `score_key`.
    #[inline(always)]
    pub fn key(self) -> u64 {
        (self.0 >> 1) | (1 << 63)
    }

    #[inline(always)]
    fn is_negative(self) -> bool {
        self.0 & 1 == 1
    }
}

/// The points of a sorted run of row keys (each score's rows counted), from either end.
#[derive(Debug, Clone)]
pub struct RowPoints<'a> {
    rows: &'a [RowKey],
}

impl<'a> RowPoints<'a> {
    pub fn new(rows: &'a [RowKey]) -> RowPoints<'a> {
        RowPoints { rows }
    }
}

/// The point of `group`, rows of one score, positives first.
#[inline(always)]
fn point_of(group: &[RowKey]) -> Point {
    let neg = group.iter().filter(|r| r.is_negative()).count() as u64;
    Point {
        key: group[0].key(),
        pos: group.len() as u64 - neg,
        neg,
    }
}

impl Iterator for RowPoints<'_> {
    type Item = Point;

    #[inline(always)]
    fn next(&mut self) -> Option<Point> {
        let key = self.rows.first()?.key();
        let len = 1 + self.rows[1..].iter().take_while(|r| r.key() == key).count();
        let (group, rest) = self.rows.split_at(len);
        self.rows = rest;
        Some(point_of(group))
    }
}

impl DoubleEndedIterator for RowPoints<'_> {
    #[inline(always)]
    fn next_back(&mut self) -> Option<Point> {
        let key = self.rows.last()?.key();
        let end = self.rows.len() - 1;
        let len = 1 + self.rows[..end]
            .iter()
            .rev()
            .take_while(|r| r.key() == key)
            .count();
        let (rest, group) = self.rows.split_at(self.rows.len() - len);
        self.rows = rest;
        Some(point_of(group))
    }
}

/// The distinct scores of a state in increasing order, as they are stored.
#[derive(Debug, Clone, Copy)]
pub enum Curve<'a> {
    Points(&'a [Point]),
    /// Sorted row keys: a score's rows are adjacent.
    Rows(&'a [RowKey]),
}

impl<'a> Curve<'a> {
    /// Points or rows held (at least the number of distinct scores).
    pub fn len(self) -> usize {
        match self {
            Curve::Points(p) => p.len(),
            Curve::Rows(r) => r.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Positives and negatives.
    pub fn totals(self) -> (u64, u64) {
        match self {
            Curve::Points(p) => p.iter().fold((0, 0), |(a, b), q| (a + q.pos, b + q.neg)),
            Curve::Rows(r) => {
                let neg = r.iter().filter(|q| q.is_negative()).count() as u64;
                (r.len() as u64 - neg, neg)
            }
        }
    }

    /// The points, in increasing score order (`rev()` for the walk from the top).
    pub fn points(self) -> CurvePoints<'a> {
        match self {
            Curve::Points(p) => CurvePoints::Points(p.iter()),
            Curve::Rows(r) => CurvePoints::Rows(RowPoints::new(r)),
        }
    }

    /// Consecutive pieces of `size` points or rows each (the last shorter), for parallel walks;
    /// a piece of rows ends where a score ends, so no score is split.
    pub fn blocks(self, size: usize) -> Vec<Curve<'a>> {
        match self {
            Curve::Points(p) => p.chunks(size.max(1)).map(Curve::Points).collect(),
            Curve::Rows(rows) => {
                let mut blocks = Vec::with_capacity(rows.len() / size.max(1) + 1);
                let mut start = 0;
                while start < rows.len() {
                    let mut end = (start + size.max(1)).min(rows.len());
                    while end < rows.len() && rows[end].key() == rows[end - 1].key() {
                        end += 1;
                    }
                    blocks.push(Curve::Rows(&rows[start..end]));
                    start = end;
                }
                blocks
            }
        }
    }
}

/// `Curve::points`.
#[derive(Debug, Clone)]
pub enum CurvePoints<'a> {
    Points(std::slice::Iter<'a, Point>),
    Rows(RowPoints<'a>),
}

impl Iterator for CurvePoints<'_> {
    type Item = Point;

    #[inline(always)]
    fn next(&mut self) -> Option<Point> {
        match self {
            CurvePoints::Points(p) => p.next().copied(),
            CurvePoints::Rows(r) => r.next(),
        }
    }
}

impl DoubleEndedIterator for CurvePoints<'_> {
    #[inline(always)]
    fn next_back(&mut self) -> Option<Point> {
        match self {
            CurvePoints::Points(p) => p.next_back().copied(),
            CurvePoints::Rows(r) => r.next_back(),
        }
    }
}

type Run = Arc<Vec<Point>>;
type RowRun = Arc<Vec<RowKey>>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScoreRuns {
    /// Sorted runs of points, each with its LSM level.
    runs: Vec<(u8, Run)>,
    /// Sorted runs of row keys, each with its LSM level.
    row_runs: Vec<(u8, RowRun)>,
    /// Rows counted (checked, so no per-score sum can overflow).
    n: u64,
    /// Machine epsilon of the score dtype (float32's if any chunk was float32, as scikit-learn
    /// clips log-loss probabilities by their dtype); 0 while empty.
    clip_eps: f64,
    #[serde(skip)]
    merged: OnceLock<Run>,
    #[serde(skip)]
    merged_rows: OnceLock<RowRun>,
}

impl PartialEq for ScoreRuns {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n && self.clip_eps == other.clip_eps && self.points() == other.points()
    }
}

/// What pass 1 learns of one piece of a chunk.
struct Tally {
    /// Rows per (key range, label): positives of range `r` at `2r`, negatives at `2r + 1`.
    counts: Vec<usize>,
    bad_labels: u64,
    bad_scores: u64,
    /// Scores below zero (a chunk without any is kept as row keys).
    negative_scores: u64,
}

/// Key ranges of a large chunk: enough to balance the sorts over the threads, few enough that
/// each stays large (their total cost is what a single sort would cost, minus a log factor).
const RANGES: usize = 16;
/// Keys sampled per range to choose the splitters.
const SAMPLES_PER_RANGE: usize = 64;

/// The epsilon log loss clips by: the one recorded from the data, else float64's.
pub(crate) fn effective_clip_eps(recorded: f64) -> f64 {
    if recorded > 0.0 {
        recorded
    } else {
        f64::EPSILON
    }
}

impl ScoreRuns {
    /// Rows counted.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// The epsilon log loss clips probabilities by.
    pub fn clip_eps(&self) -> f64 {
        effective_clip_eps(self.clip_eps)
    }

    /// Every distinct score with its counts, in increasing score order. A state held as row
    /// keys is counted into points here (once, then cached): walks that only read the points in
    /// order take `curve()` instead.
    pub fn points(&self) -> &[Point] {
        self.merged.get_or_init(|| {
            // Counts never overflow here: their total is `n`, which was checked.
            let mut runs: Vec<Run> = self.runs.iter().map(|(_, r)| r.clone()).collect();
            if !self.row_runs.is_empty() {
                runs.push(Arc::new(row_points(self.merged_rows())));
            }
            match runs.as_slice() {
                [one] => one.clone(),
                runs => Arc::new(merge_all(runs)),
            }
        })
    }

    /// The distinct scores as stored: the merged row keys when every run is of row keys, else
    /// `points()`.
    pub fn curve(&self) -> Curve<'_> {
        if self.runs.is_empty() && !self.row_runs.is_empty() {
            Curve::Rows(self.merged_rows())
        } else {
            Curve::Points(self.points())
        }
    }

    fn merged_rows(&self) -> &[RowKey] {
        self.merged_rows
            .get_or_init(|| match self.row_runs.as_slice() {
                [(_, one)] => one.clone(),
                runs => Arc::new(merge_all(
                    &runs.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
                )),
            })
    }

    /// Adds a run of row keys at `level`, as `push_run` does; a merged run whose scores turn out
    /// mostly tied moves to the points.
    fn push_rows(&mut self, level: u8, run: RowRun) {
        if run.is_empty() {
            return;
        }
        self.row_runs.push((level, run));
        let mut level = level;
        while let Some(merged) = merge_full_level(&mut self.row_runs, level) {
            level += 1;
            if mostly_tied(&merged) {
                push_run(&mut self.runs, level, Arc::new(row_points(&merged)));
                return;
            }
            self.row_runs.push((level, Arc::new(merged)));
        }
    }

    /// Folds one chunk in. Scores must be finite; `unit_interval` also requires them in [0, 1]
    /// (when a probabilistic metric reads the state). All or nothing.
    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        (score_name, y_score): (&str, Values<'_>),
        labels: &BinaryLabels<'_>,
        unit_interval: bool,
    ) -> Result<()> {
        let eps = score_dtype_eps(score_name, y_score)?;
        let len = y_true.len();
        if len == 0 {
            return Ok(());
        }
        let splitters = if len < PARALLEL_MIN_ROWS {
            Vec::new()
        } else {
            sample_splitters(y_score, RANGES)
        };
        let slots = 2 * (splitters.len() + 1);
        // Pass 1 (parallel over pieces): validate, and count each piece's rows per slot.
        let ranges = pieces(len);
        // Each row's key range, found once (pass 2 reads it back).
        let mut key_ranges = vec![0u8; len];
        let piece_rows: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
        let range_parts = split_sizes(&mut key_ranges, &piece_rows);
        let tallies: Vec<Tally> = ranges
            .par_iter()
            .zip(range_parts)
            .map(|(r, out)| {
                dispatch_numeric!(y_score.slice(r.clone()),
                s => tally(y_true.slice(r.clone()), s, labels, unit_interval, &splitters, out),
                Values::Dict { .. } => Tally {
                    counts: vec![0; slots], bad_labels: 0, bad_scores: 0, negative_scores: 0
                })
            })
            .collect();
        check_rows(
            (true_name, y_true),
            (score_name, y_score),
            labels,
            unit_interval,
            tallies.iter().map(|t| t.bad_labels).sum(),
            tallies.iter().map(|t| t.bad_scores).sum(),
        )?;
        // A chunk without negative scores is kept as row keys (a slot per key range, positives
        // and negatives together), any other as points (a slot per range and label).
        let as_rows = tallies.iter().all(|t| t.negative_scores == 0);
        let slot_counts: Vec<Vec<usize>> = tallies
            .iter()
            .map(|t| match as_rows {
                true => t.counts.chunks(2).map(|c| c[0] + c[1]).collect(),
                false => t.counts.clone(),
            })
            .collect();
        let slots = slot_counts[0].len();
        // Pass 2: each piece writes its keys into its own part of each slot (every piece's share
        // of slot 0, then of slot 1, ...).
        let sizes: Vec<usize> = (0..slots)
            .map(|slot| slot_counts.iter().map(|c| c[slot]).sum())
            .collect();
        let mut keys = prefault::zeroed_keys(len);
        let mut shares: Vec<Vec<&mut [u64]>> = ranges.iter().map(|_| Vec::new()).collect();
        for (slot, mut rest) in split_sizes(&mut keys, &sizes).into_iter().enumerate() {
            for (share, c) in shares.iter_mut().zip(&slot_counts) {
                let (mine, tail) = rest.split_at_mut(c[slot]);
                share.push(mine);
                rest = tail;
            }
        }
        ranges.par_iter().zip(shares).for_each(|(r, mut out)| {
            let y = y_true.slice(r.clone());
            let key_ranges = &key_ranges[r.clone()];
            dispatch_numeric!(y_score.slice(r.clone()),
                s => match as_rows {
                    true => split_keys::<_, true>(y, s, labels, key_ranges, &mut out),
                    false => split_keys::<_, false>(y, s, labels, key_ranges, &mut out),
                },
                Values::Dict { .. } => {})
        });
        // Sort every slot (small independent sorts, balanced over the threads). The slots tile
        // the buffer in key order: row keys are then sorted whole. A slot of row keys holds all
        // the rows of its scores, so its distinct scores are counted while it is in cache.
        let distinct: usize = split_sizes(&mut keys, &sizes)
            .par_iter_mut()
            .map(|a| {
                a.sort_unstable();
                match as_rows {
                    true => distinct_scores(into_row_slice(a)),
                    false => 0,
                }
            })
            .sum();
        if as_rows {
            let rows = into_row_keys(keys);
            if tied(distinct, rows.len()) {
                push_run(&mut self.runs, 0, Arc::new(row_points(&rows)));
            } else {
                self.push_rows(0, Arc::new(rows));
            }
        } else {
            push_run(&mut self.runs, 0, Arc::new(label_runs(&mut keys, &sizes)));
        }
        self.n = add_count(self.n, len as u64, "score runs")?;
        self.clip_eps = self.clip_eps.max(eps);
        self.merged = OnceLock::new();
        self.merged_rows = OnceLock::new();
        Ok(())
    }

    pub fn merge(&mut self, other: &ScoreRuns) -> Result<()> {
        self.n = add_count(self.n, other.n, "score runs")?;
        for (level, run) in &other.runs {
            push_run(&mut self.runs, *level, run.clone());
        }
        for (level, run) in &other.row_runs {
            self.push_rows(*level, run.clone());
        }
        self.clip_eps = self.clip_eps.max(other.clip_eps);
        self.merged = OnceLock::new();
        self.merged_rows = OnceLock::new();
        Ok(())
    }
}

/// The run of points of a chunk's sorted slots, a (positives, negatives) pair per key range in
/// key order: each range's two slots are run-length merged into its points, all in parallel.
fn label_runs(keys: &mut [u64], sizes: &[usize]) -> Vec<Point> {
    let slot_arrays = split_sizes(keys, sizes);
    // Each range's run goes to its own part of one output, in range order, all in parallel: a
    // first walk counts each range's points, so the output has its exact size and its pages
    // are faulted in ahead, in parallel (faulting them in one by one cost more than the
    // run-length walk itself).
    let ranges: Vec<(&[u64], &[u64])> = slot_arrays.chunks(2).map(|p| (&*p[0], &*p[1])).collect();
    let points: Vec<usize> = ranges
        .par_iter()
        .map(|&(pos, neg)| {
            let mut count = 0;
            run_length(pos, neg, |_| count += 1);
            count
        })
        .collect();
    let total = points.iter().sum();
    let mut run: Vec<Point> = prefault::with_capacity(total);
    let parts = split_sizes(&mut run.spare_capacity_mut()[..total], &points);
    ranges
        .par_iter()
        .zip(parts)
        .for_each(|(&(pos, neg), part)| {
            let mut written = 0;
            run_length(pos, neg, |point| {
                part[written].write(point);
                written += 1;
            });
            assert_eq!(written, part.len(), "a range's run changed size");
        });
    // SAFETY: the parts tile the first `total` slots and each was written in full (asserted).
    unsafe { run.set_len(total) };
    run
}

/// A buffer of row keys' bits as row keys (`RowKey` is `repr(transparent)` over `u64`).
fn into_row_keys(keys: Vec<u64>) -> Vec<RowKey> {
    let mut keys = std::mem::ManuallyDrop::new(keys);
    // SAFETY: `RowKey` has the layout and validity of `u64`, so the allocation, its length and
    // its capacity are the same in `RowKey`s; the original vector is never dropped.
    unsafe {
        Vec::from_raw_parts(
            keys.as_mut_ptr().cast::<RowKey>(),
            keys.len(),
            keys.capacity(),
        )
    }
}

/// A slice of row keys' bits as row keys (`RowKey` is `repr(transparent)` over `u64`).
fn into_row_slice(keys: &[u64]) -> &[RowKey] {
    // SAFETY: `RowKey` has the layout and validity of `u64`.
    unsafe { std::slice::from_raw_parts(keys.as_ptr().cast::<RowKey>(), keys.len()) }
}

/// The distinct scores of sorted rows.
fn distinct_scores(rows: &[RowKey]) -> usize {
    let changes = |w: &[RowKey]| w[0].key() != w[1].key();
    let changed = if rows.len() < PARALLEL_MIN_ROWS {
        rows.windows(2).filter(|w| changes(w)).count()
    } else {
        rows.par_windows(2).filter(|w| changes(w)).count()
    };
    usize::from(!rows.is_empty()) + changed
}

/// Whether sorted rows' scores are mostly tied (see `tied`).
fn mostly_tied(rows: &[RowKey]) -> bool {
    tied(distinct_scores(rows), rows.len())
}

/// Whether `rows` rows with `distinct` scores are mostly tied, a third or fewer distinct: their
/// points (24 bytes each) then take no more memory than the rows (8 bytes each).
fn tied(distinct: usize, rows: usize) -> bool {
    3 * distinct <= rows
}

/// The points of sorted rows, counted block by block in parallel.
fn row_points(rows: &[RowKey]) -> Vec<Point> {
    if rows.len() < PARALLEL_MIN_ROWS {
        return RowPoints::new(rows).collect();
    }
    let blocks: Vec<Vec<Point>> = Curve::Rows(rows)
        .blocks(PARALLEL_MIN_ROWS)
        .into_par_iter()
        .map(|block| block.points().collect())
        .collect();
    prefault::concat(&blocks)
}

/// The machine epsilon log loss clips a score column by (float32's for float32 scores, as
/// scikit-learn clips by the dtype), or an error for a string column.
pub(crate) fn score_dtype_eps(name: &str, y_score: Values<'_>) -> Result<f64> {
    match y_score {
        Values::F32(_) => Ok(f32::EPSILON as f64),
        Values::Dict { .. } => Err(strings_are_not_scores(name)),
        _ => Ok(f64::EPSILON),
    }
}

pub(crate) fn strings_are_not_scores(name: &str) -> CoreError {
    CoreError::InvalidData {
        column: name.to_string(),
        message: "score column holds strings, not numbers".into(),
        count: 1,
        first_row: 0,
    }
}

/// Raises the first data error of a chunk (labels first), locating its first row (slow path).
pub(crate) fn check_rows(
    (true_name, y_true): (&str, Values<'_>),
    (score_name, y_score): (&str, Values<'_>),
    labels: &BinaryLabels<'_>,
    unit_interval: bool,
    bad_labels: u64,
    bad_scores: u64,
) -> Result<()> {
    if bad_labels > 0 {
        return Err(CoreError::InvalidData {
            column: true_name.to_string(),
            message: invalid_label_message(labels),
            count: bad_labels,
            first_row: first_invalid_label(y_true, labels),
        });
    }
    if bad_scores > 0 {
        let first_row = dispatch_numeric!(y_score,
            s => s.iter().position(|x| bad_score(x.as_f64(), unit_interval)).unwrap_or(0) as u64,
            Values::Dict { .. } => 0);
        let message = if unit_interval {
            "score is NaN, infinite or outside [0, 1] (this metric reads probabilities)"
        } else {
            "score is NaN or infinite"
        };
        return Err(CoreError::InvalidData {
            column: score_name.to_string(),
            message: message.into(),
            count: bad_scores,
            first_row,
        });
    }
    Ok(())
}

#[inline(always)]
pub(crate) fn bad_score(v: f64, unit_interval: bool) -> bool {
    if unit_interval {
        !(0.0..=1.0).contains(&v)
    } else {
        !v.is_finite()
    }
}

/// Row ranges processed independently: one for small chunks, two per thread for large ones (the
/// result does not depend on the split).
pub(crate) fn pieces(len: usize) -> Vec<std::ops::Range<usize>> {
    let count = if len < PARALLEL_MIN_ROWS {
        1
    } else {
        (rayon::current_num_threads() * 2).clamp(1, len / (PARALLEL_MIN_ROWS / 4))
    };
    let step = len.div_ceil(count.max(1)).max(1);
    (0..len)
        .step_by(step)
        .map(|s| s..(s + step).min(len))
        .collect()
}

/// Splitters cutting the keys of a chunk into at most `ranges` ranges of similar size: quantiles
/// of an evenly spaced sample, deduplicated (a key equal to a splitter goes to the range above
/// it, so equal keys always share a range).
fn sample_splitters(y_score: Values<'_>, ranges: usize) -> Vec<u64> {
    let len = y_score.len();
    let count = (ranges * SAMPLES_PER_RANGE).min(len);
    let mut sample: Vec<u64> = dispatch_numeric!(y_score,
        s => (0..count).map(|i| score_key(s[i * len / count].as_f64())).collect(),
        Values::Dict { .. } => Vec::new());
    sample.sort_unstable();
    let mut splitters: Vec<u64> = (1..ranges)
        .filter_map(|i| sample.get(i * sample.len() / ranges).copied())
        .collect();
    splitters.dedup();
    splitters
}

/// The key range of `key`: how many splitters are at or below it (a branch-free scan: there
/// are at most `RANGES - 1` splitters).
#[inline(always)]
fn range_of(key: u64, splitters: &[u64]) -> usize {
    splitters.iter().map(|&s| (s <= key) as usize).sum()
}

fn tally<T: AsF64>(
    y_true: Values<'_>,
    scores: &[T],
    labels: &BinaryLabels<'_>,
    unit_interval: bool,
    splitters: &[u64],
    key_ranges: &mut [u8],
) -> Tally {
    let mut t = Tally {
        counts: vec![0; 2 * (splitters.len() + 1)],
        bad_labels: 0,
        bad_scores: 0,
        negative_scores: 0,
    };
    for_each_label_block(y_true, labels, scores.len(), |start, codes| {
        for (row, (&c, x)) in (start..).zip(codes.iter().zip(&scores[start..])) {
            let v = x.as_f64();
            t.bad_scores += bad_score(v, unit_interval) as u64;
            t.negative_scores += (v < 0.0) as u64;
            t.bad_labels += (c >> 1) as u64;
            let range = range_of(score_key(v), splitters);
            key_ranges[row] = range as u8; // below RANGES
                                           // Code 1 is a positive (slot 2r), anything else a negative (2r + 1); bad labels are
                                           // counted and reject the chunk before pass 2.
            t.counts[2 * range + (c != 1) as usize] += 1;
        }
    });
    t
}

/// Writes each row's key into its slot, sized by `tally`: with `ROWS` its row key into the slot
/// of its key range `r` (`key_ranges`), else its score key into `out[2r]` (a positive) or
/// `out[2r + 1]`.
fn split_keys<T: AsF64, const ROWS: bool>(
    y_true: Values<'_>,
    scores: &[T],
    labels: &BinaryLabels<'_>,
    key_ranges: &[u8],
    out: &mut [&mut [u64]],
) {
    let mut next = vec![0usize; out.len()];
    for_each_label_block(y_true, labels, scores.len(), |start, codes| {
        for (row, (&c, x)) in (start..).zip(codes.iter().zip(&scores[start..])) {
            let key = score_key(x.as_f64());
            let range = key_ranges[row] as usize;
            let negative = c != 1;
            let (slot, value) = match ROWS {
                true => (range, RowKey::new(key, negative).0),
                false => (2 * range + negative as usize, key),
            };
            out[slot][next[slot]] = value;
            next[slot] += 1;
        }
    });
}

/// Sorted positive and negative keys -> their sorted run of (key, positives, negatives), each
/// point handed to `emit` in order.
fn run_length(pos: &[u64], neg: &[u64], mut emit: impl FnMut(Point)) {
    let (mut i, mut j) = (0, 0);
    while i < pos.len() || j < neg.len() {
        let key = match (pos.get(i), neg.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        let (i0, j0) = (i, j);
        while i < pos.len() && pos[i] == key {
            i += 1;
        }
        while j < neg.len() && neg[j] == key {
            j += 1;
        }
        emit(Point {
            key,
            pos: (i - i0) as u64,
            neg: (j - j0) as u64,
        });
    }
}

/// Merges two sorted runs, adding the counts of equal keys. Callers guarantee no overflow (the
/// counts' totals are checked row counts).
pub(crate) fn merge_points<P: RunPoint>(a: &[P], b: &[P]) -> Vec<P> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        if x.order() < y.order() {
            out.push(x);
            i += 1;
        } else if y.order() < x.order() {
            out.push(y);
            j += 1;
        } else {
            out.push(x.combine(y));
            i += 1;
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// A point of a sorted run of distinct scores: what orders the run (the score key, and for
/// grouped points their group), and how two points of one order add up.
pub(crate) trait RunPoint: Copy {
    type Order: Ord + Copy + Send + Sync;
    fn order(&self) -> Self::Order;
    fn combine(self, other: Self) -> Self;

    /// Merges two sorted runs into one.
    fn merge(a: &[Self], b: &[Self]) -> Vec<Self> {
        merge_points(a, b)
    }
}

/// Row keys are rows: equal ones all stay, and `merge` is a plain merge.
impl RunPoint for RowKey {
    type Order = u64;
    fn order(&self) -> u64 {
        self.0
    }
    /// Never called (`merge` never combines rows).
    fn combine(self, _: Self) -> Self {
        self
    }
    /// Runs of similar lengths interleave at random: their next row is picked by a conditional
    /// move (a branch would be mispredicted about every other row; 2.8 ns a row instead of 5 in
    /// a merge of two 32K-row runs). A much shorter run's rows come between long stretches of
    /// the other's, which a branch predicts well (1.3 ns a row, the conditional move's 2.8).
    fn merge(a: &[RowKey], b: &[RowKey]) -> Vec<RowKey> {
        let mut out: Vec<RowKey> = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        if a.len().min(b.len()) * 8 >= a.len() + b.len() {
            let spare = out.spare_capacity_mut();
            while i < a.len() && j < b.len() {
                let (x, y) = (a[i], b[j]);
                let take_a = x <= y;
                spare[i + j].write(if take_a { x } else { y });
                i += take_a as usize;
                j += !take_a as usize;
            }
            // SAFETY: the loop wrote the first `i + j` slots, within the capacity.
            unsafe { out.set_len(i + j) };
        } else {
            while i < a.len() && j < b.len() {
                if a[i] <= b[j] {
                    out.push(a[i]);
                    i += 1;
                } else {
                    out.push(b[j]);
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        out
    }
}

impl RunPoint for Point {
    type Order = u64;
    fn order(&self) -> u64 {
        self.key
    }
    fn combine(self, other: Self) -> Self {
        Point {
            key: self.key,
            pos: self.pos + other.pos,
            neg: self.neg + other.neg,
        }
    }
}

/// Runs per level before they are merged into one run of the next level.
const FANOUT: usize = 16;

/// Adds a run at `level`; whenever a level holds more than `FANOUT` runs they are k-way merged
/// into one run of the next level (an LSM tree of fanout 16).
/// Counts cannot overflow: callers checked that the rows of both sides add up.
pub(crate) fn push_run<P: RunPoint + Send + Sync>(
    runs: &mut Vec<(u8, Arc<Vec<P>>)>,
    level: u8,
    run: Arc<Vec<P>>,
) {
    if run.is_empty() {
        return;
    }
    runs.push((level, run));
    let mut level = level;
    while let Some(merged) = merge_full_level(runs, level) {
        level += 1;
        runs.push((level, Arc::new(merged)));
    }
}

/// When `level` holds more than `FANOUT` runs, takes them out and returns their merge.
fn merge_full_level<P: RunPoint + Send + Sync>(
    runs: &mut Vec<(u8, Arc<Vec<P>>)>,
    level: u8,
) -> Option<Vec<P>> {
    if runs.iter().filter(|(l, _)| *l == level).count() <= FANOUT {
        return None;
    }
    let (full, rest): (Vec<_>, Vec<_>) = runs.drain(..).partition(|(l, _)| *l == level);
    *runs = rest;
    let full: Vec<Arc<Vec<P>>> = full.into_iter().map(|(_, r)| r).collect();
    Some(merge_all(&full))
}

/// Merges sorted runs, adding the counts of equal keys. Large inputs are cut into key ranges
/// (splitters sampled from the runs), and each range's slices of every run are merged as one
/// task, so every core works to the last level, and each point crosses memory about once: the
/// pairwise levels of a range run on slices small enough to stay in cache.
pub(crate) fn merge_all<P: RunPoint + Send + Sync>(runs: &[Arc<Vec<P>>]) -> Vec<P> {
    let slices: Vec<&[P]> = runs.iter().map(|r| r.as_slice()).collect();
    let total: usize = slices.iter().map(|s| s.len()).sum();
    if slices.len() <= 1 || total < 2 * RANGE_POINTS {
        return merge_pairwise(&slices);
    }
    let splitters = run_splitters(&slices, (total / RANGE_POINTS).min(MAX_RANGES));
    let pieces: Vec<Vec<P>> = (0..=splitters.len())
        .into_par_iter()
        .map(|range| {
            // Keys in [splitters[range - 1], splitters[range]): equal keys share a range.
            let cut = |run: &[P], at: usize| match splitters.get(at) {
                Some(&s) => run.partition_point(|p| p.order() < s),
                None => run.len(),
            };
            let parts: Vec<&[P]> = slices
                .iter()
                .map(|run| {
                    let start = if range == 0 { 0 } else { cut(run, range - 1) };
                    &run[start..cut(run, range)]
                })
                .collect();
            merge_pairwise(&parts)
        })
        .collect();
    prefault::concat(&pieces)
}

/// Points per key range of `merge_all` (their slices, in and out, fit in a core's cache).
const RANGE_POINTS: usize = 1 << 15;
const MAX_RANGES: usize = 1 << 12;

/// About `ranges - 1` increasing splitters that cut the runs' union into ranges of similar
/// sizes: evenly spaced keys of every run, a run sampled in proportion to its length.
fn run_splitters<P: RunPoint>(runs: &[&[P]], ranges: usize) -> Vec<P::Order> {
    const OVERSAMPLE: usize = 4;
    let total: usize = runs.iter().map(|r| r.len()).sum();
    let mut samples: Vec<P::Order> = runs
        .iter()
        .flat_map(|run| {
            let count = (run.len() * ranges * OVERSAMPLE).div_ceil(total.max(1));
            let step = (run.len() / count.max(1)).max(1);
            run.iter().step_by(step).map(|p| p.order())
        })
        .collect();
    samples.sort_unstable();
    let mut splitters: Vec<P::Order> = samples
        .iter()
        .skip(OVERSAMPLE)
        .step_by(OVERSAMPLE)
        .copied()
        .collect();
    splitters.dedup();
    splitters
}

/// Merges sorted slices pairwise, as a balanced tree (each level a linear two-way merge),
/// which streams far faster than a heap.
fn merge_pairwise<P: RunPoint + Send + Sync>(runs: &[&[P]]) -> Vec<P> {
    match runs {
        [] => Vec::new(),
        [one] => one.to_vec(),
        [a, b] => P::merge(a, b),
        _ => {
            let (left, right) = runs.split_at(runs.len() / 2);
            P::merge(&merge_pairwise(left), &merge_pairwise(right))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Label;

    fn update(state: &mut ScoreRuns, y: &[u8], s: &[f64]) -> Result<()> {
        let (p, n) = (Label::Int(1), Label::Int(0));
        let l = BinaryLabels::new(&p, &n);
        state.update(("y", Values::U8(y)), ("s", Values::F64(s)), &l, false)
    }

    /// Merging by key ranges gives the pairwise merge: runs of very different lengths (one
    /// empty), keys shared across runs (their counts add up), a dense band and sparse outliers.
    #[test]
    fn range_merge_equals_pairwise_merge() {
        let mut x: u64 = 7;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let runs: Vec<Arc<Vec<Point>>> = [
            (70_000, 200_000),
            (30_000, 60_000),
            (5, 1 << 60),
            (0, 1),
            (50_000, 200_000),
        ]
        .into_iter()
        .map(|(len, span)| {
            let mut keys: Vec<u64> = (0..len).map(|_| next() % span).collect();
            keys.sort_unstable();
            keys.dedup();
            let points = keys.into_iter().map(|key| Point {
                key,
                pos: key % 3,
                neg: 1,
            });
            Arc::new(points.collect())
        })
        .collect();
        let slices: Vec<&[Point]> = runs.iter().map(|r| r.as_slice()).collect();
        let total: usize = slices.iter().map(|s| s.len()).sum();
        assert!(total > 3 * RANGE_POINTS); // several ranges
        let merged = merge_all(&runs);
        assert_eq!(merged, merge_pairwise(&slices));
        assert!(merged.windows(2).all(|w| w[0].key < w[1].key));
        // Two runs take the range path too.
        assert_eq!(merge_all(&runs[..2]), merge_points(slices[0], slices[1]));
    }

    #[test]
    fn keys_preserve_order() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -1e-300,
            -0.0,
            0.0,
            1e-300,
            0.5,
            1.0,
            1e300,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(score_key(w[0]) <= score_key(w[1]), "{w:?}");
            assert_eq!(key_score(score_key(w[1])), w[1]);
        }
        assert_eq!(score_key(-0.0), score_key(0.0));
    }

    #[test]
    fn chunked_equals_whole_and_merged() {
        let len = PARALLEL_MIN_ROWS + 1000;
        let y: Vec<u8> = (0..len).map(|i| ((i * 7919) % 3 == 0) as u8).collect();
        let s: Vec<f64> = (0..len)
            .map(|i| ((i * 104729) % 977) as f64 / 977.0)
            .collect();
        let mut whole = ScoreRuns::default();
        update(&mut whole, &y, &s).unwrap();
        let mut chunked = ScoreRuns::default();
        let mut merged = ScoreRuns::default();
        for (yc, sc) in y.chunks(5000).zip(s.chunks(5000)) {
            update(&mut chunked, yc, sc).unwrap();
            let mut part = ScoreRuns::default();
            update(&mut part, yc, sc).unwrap();
            merged.merge(&part).unwrap();
        }
        assert_eq!(whole.points().len(), 977);
        assert_eq!(whole, chunked);
        assert_eq!(whole, merged);
        assert!(chunked.runs.len() <= 2 * FANOUT);
    }

    #[test]
    fn key_ranges_of_a_large_chunk_give_the_reference_runs() {
        // Above PARALLEL_MIN_ROWS the chunk is cut into sampled key ranges: heavy ties (a third
        // of the rows on 0.0 / -0.0), negatives and distinct values must all land in order.
        let len = 3 * PARALLEL_MIN_ROWS + 17;
        let mut x: u64 = 7;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut y, mut s) = (Vec::with_capacity(len), Vec::with_capacity(len));
        for _ in 0..len {
            let r = next();
            y.push((r % 3 == 0) as u8);
            s.push(match r % 6 {
                0 => 0.0,
                1 => -0.0,
                2 => -((r >> 20) as f64),
                _ => (r >> 11) as f64 / (1u64 << 53) as f64,
            });
        }
        let mut state = ScoreRuns::default();
        update(&mut state, &y, &s).unwrap();
        assert_eq!(state.points(), &reference_points(&y, &s)[..]);
        // A bad row far into the chunk is still located.
        let mut bad = s.clone();
        bad[len - 5] = f64::NAN;
        let err = update(&mut ScoreRuns::default(), &y, &bad).unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidData { first_row, .. } if first_row == (len - 5) as u64)
        );
    }

    /// The points of (label, score) rows, counted one by one.
    fn reference_points(y: &[u8], s: &[f64]) -> Vec<Point> {
        let mut reference = std::collections::BTreeMap::<u64, (u64, u64)>::new();
        for (&l, &v) in y.iter().zip(s) {
            let e = reference.entry(score_key(v)).or_default();
            if l == 1 {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        reference
            .into_iter()
            .map(|(key, (pos, neg))| Point { key, pos, neg })
            .collect()
    }

    #[test]
    fn non_negative_scores_are_kept_as_row_keys_and_walk_as_their_points() {
        // Mostly distinct scores in [0, 1], some tied (0.0 and -0.0 among them), over several key
        // ranges and chunks.
        let len = 3 * PARALLEL_MIN_ROWS + 17;
        let mut x: u64 = 11;
        let (mut y, mut s) = (Vec::with_capacity(len), Vec::with_capacity(len));
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            y.push(x.is_multiple_of(3) as u8);
            s.push(match x % 10 {
                0 => 0.0,
                1 => -0.0,
                2 => 0.5,
                _ => (x >> 11) as f64 / (1u64 << 53) as f64,
            });
        }
        let expected = reference_points(&y, &s);
        let mut whole = ScoreRuns::default();
        update(&mut whole, &y, &s).unwrap();
        let mut merged = ScoreRuns::default();
        for (yc, sc) in y
            .chunks(PARALLEL_MIN_ROWS / 7)
            .zip(s.chunks(PARALLEL_MIN_ROWS / 7))
        {
            let mut part = ScoreRuns::default();
            update(&mut part, yc, sc).unwrap();
            merged.merge(&part).unwrap();
        }
        for state in [&whole, &merged] {
            let Curve::Rows(rows) = state.curve() else {
                panic!("not kept as row keys");
            };
            assert_eq!(rows.len(), len);
            // Forward, backward, and by blocks (which never split a score).
            let forward: Vec<Point> = state.curve().points().collect();
            assert_eq!(forward, expected);
            let mut backward: Vec<Point> = state.curve().points().rev().collect();
            backward.reverse();
            assert_eq!(backward, expected);
            let blocks = state.curve().blocks(1000);
            assert!(blocks.len() > 2);
            let by_blocks: Vec<Point> = blocks.iter().flat_map(|b| b.points()).collect();
            assert_eq!(by_blocks, expected);
            assert_eq!(state.points(), &expected[..]);
        }
        // A state with a negative score anywhere is walked as points, the rows' included.
        let mut mixed = merged.clone();
        update(&mut mixed, &[1, 0], &[-1.0, 0.25]).unwrap();
        assert!(matches!(mixed.curve(), Curve::Points(_)));
        let (mut y2, mut s2) = (y.clone(), s.clone());
        y2.extend([1, 0]);
        s2.extend([-1.0, 0.25]);
        assert_eq!(mixed.points(), &reference_points(&y2, &s2)[..]);
        // Row keys round-trip.
        let back: ScoreRuns =
            postcard::from_bytes(&postcard::to_allocvec(&merged).unwrap()).unwrap();
        assert_eq!(back, merged);
        assert!(matches!(back.curve(), Curve::Rows(_)));
    }

    #[test]
    fn row_runs_merge_keeping_every_row() {
        // Balanced runs (the conditional-move merge) and a much shorter one (the branch), with
        // rows equal within and across runs.
        let run = |len: u64, step: u64| -> Vec<RowKey> {
            (0..len).map(|i| RowKey((i * step) % 1000)).collect()
        };
        for (a, b) in [
            (run(500, 7), run(400, 3)),
            (run(900, 11), run(40, 5)),
            (run(0, 1), run(9, 2)),
        ] {
            let (mut a, mut b) = (a, b);
            a.sort_unstable();
            b.sort_unstable();
            let mut expected = [a.clone(), b.clone()].concat();
            expected.sort_unstable();
            assert_eq!(RowKey::merge(&a, &b), expected);
            assert_eq!(RowKey::merge(&b, &a), expected);
        }
    }

    #[test]
    fn mostly_tied_rows_become_points() {
        // A chunk with few distinct scores is stored as points at once.
        let y: Vec<u8> = (0..3000).map(|i| (i % 2) as u8).collect();
        let tied: Vec<f64> = (0..3000).map(|i| (i % 100) as f64 / 100.0).collect();
        let mut state = ScoreRuns::default();
        update(&mut state, &y, &tied).unwrap();
        assert!(state.row_runs.is_empty());
        assert_eq!(state.points(), &reference_points(&y, &tied)[..]);
        // Chunks that are each distinct but repeat one another: rows until an LSM merge finds
        // them tied, then points.
        let distinct: Vec<f64> = (0..300).map(|i| i as f64 / 300.0).collect();
        let mut repeated = ScoreRuns::default();
        for _ in 0..=FANOUT {
            update(&mut repeated, &y[..300], &distinct).unwrap();
        }
        assert!(repeated.row_runs.is_empty());
        assert_eq!(repeated.runs.len(), 1);
        let (ys, ss) = (y[..300].repeat(FANOUT + 1), distinct.repeat(FANOUT + 1));
        assert_eq!(repeated.points(), &reference_points(&ys, &ss)[..]);
    }

    #[test]
    fn failed_update_changes_nothing() {
        let mut state = ScoreRuns::default();
        update(&mut state, &[1, 0], &[0.5, 0.25]).unwrap();
        let before = state.clone();
        let err = update(&mut state, &[1, 0, 1], &[0.1, f64::NAN, 0.2]).unwrap_err();
        assert!(matches!(err, CoreError::InvalidData { first_row: 1, .. }));
        let err = update(&mut state, &[1, 3, 1], &[0.1, 0.2, 0.2]).unwrap_err();
        assert!(matches!(err, CoreError::InvalidData { first_row: 1, .. }));
        assert_eq!(state, before);
    }

    #[test]
    fn round_trips_through_postcard() {
        let mut state = ScoreRuns::default();
        update(&mut state, &[1, 0, 1, 1], &[0.5, 0.25, 0.5, -3.0]).unwrap();
        let bytes = postcard::to_allocvec(&state).unwrap();
        let back: ScoreRuns = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.points().len(), 3);
    }
}

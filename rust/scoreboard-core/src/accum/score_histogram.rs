//! A fixed-width histogram of positive and negative rows over scores in [0, 1]: the O(bins)
//! alternative to exact score runs for ROC AUC and average precision (`bins: B` on the metric).
//!
//! Bin `b` holds the scores `s` with `floor(s * B) == b`, and 1.0 goes to the last bin. The
//! finalizers treat each bin as one tied score and report how far the exact value can be
//! (`metrics/scores.rs`). Counts are exact integers, so the state does not depend on chunking or
//! threads. With a weight column each bin also sums the weights of its positive and negative rows
//! (compensated), and the finalizers read those.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binary::{for_each_label_block, BinaryLabels};
use super::moments::CompensatedSum;
use super::scores::{bad_score, check_rows, strings_are_not_scores};
use super::weighted::read_weights;
use super::{add_count, BLOCK, PARALLEL_MIN_ROWS};
use crate::column::{AsF64, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoreHistogram {
    bins: usize,
    /// Positive and negative counts of bin `b` at `2b` and `2b + 1`; empty until the first row
    /// (an empty state costs nothing, however many windows and segments hold one).
    counts: Vec<u64>,
    /// Whether sample weights are summed, laid out as `counts` (empty until the first row).
    weighted: bool,
    weights: Vec<CompensatedSum>,
    /// Summed squared weights, laid out as `weights` (plain sums: they only size intervals).
    squares: Vec<f64>,
}

impl PartialEq for ScoreHistogram {
    fn eq(&self, other: &Self) -> bool {
        self.bins == other.bins
            && self.weighted == other.weighted
            && (0..self.bins).all(|b| self.bin(b) == other.bin(b))
            && (!self.weighted
                || (0..self.bins).all(|b| self.weighted_bin(b) == other.weighted_bin(b)))
            && self.squares == other.squares
    }
}

impl ScoreHistogram {
    pub fn new(bins: usize) -> ScoreHistogram {
        ScoreHistogram {
            bins: bins.max(1),
            counts: Vec::new(),
            weighted: false,
            weights: Vec::new(),
            squares: Vec::new(),
        }
    }

    /// An empty histogram that also sums sample weights.
    pub fn new_weighted(bins: usize) -> ScoreHistogram {
        ScoreHistogram {
            weighted: true,
            ..ScoreHistogram::new(bins)
        }
    }

    pub fn is_weighted(&self) -> bool {
        self.weighted
    }

    /// (positive weight, negative weight) of bin `b` (the counts when unweighted).
    pub fn weighted_bin(&self, b: usize) -> (f64, f64) {
        if !self.weighted {
            let (p, n) = self.bin(b);
            return (p as f64, n as f64);
        }
        if self.weights.is_empty() {
            return (0.0, 0.0);
        }
        (self.weights[2 * b].value(), self.weights[2 * b + 1].value())
    }

    /// (positive, negative) summed squared weights of bin `b`; zeros when unweighted.
    pub fn squared_bin(&self, b: usize) -> (f64, f64) {
        if self.squares.is_empty() {
            return (0.0, 0.0);
        }
        (self.squares[2 * b], self.squares[2 * b + 1])
    }

    fn add_weights(&mut self, sums: &[CompensatedSum], squares: &[f64]) {
        if sums.is_empty() {
            return;
        }
        if self.weights.is_empty() {
            self.weights = vec![CompensatedSum::default(); 2 * self.bins];
            self.squares = vec![0.0; 2 * self.bins];
        }
        for (a, b) in self.weights.iter_mut().zip(sums) {
            a.merge(b);
        }
        for (a, b) in self.squares.iter_mut().zip(squares) {
            *a += b;
        }
    }

    pub fn bins(&self) -> usize {
        self.bins
    }

    /// (positives, negatives) of bin `b`.
    pub fn bin(&self, b: usize) -> (u64, u64) {
        if self.counts.is_empty() {
            return (0, 0);
        }
        (self.counts[2 * b], self.counts[2 * b + 1])
    }

    fn add_counts(&mut self, counts: &[u64]) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        if self.counts.is_empty() {
            self.counts = counts.to_vec();
            return Ok(());
        }
        // Checked before anything moves: all or nothing without a copy of the table.
        for (&a, &b) in self.counts.iter().zip(counts) {
            add_count(a, b, "score histogram")?;
        }
        for (a, &b) in self.counts.iter_mut().zip(counts) {
            *a += b;
        }
        Ok(())
    }

    pub fn n(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Folds one chunk in (with its weights when the histogram is weighted). Scores must lie in
    /// [0, 1]. All or nothing.
    ///
    /// Counts are added in place, never into a copy of the state: a window x segment cell gets
    /// a small piece of each chunk, and copying (or zeroing) a 65,536-bin table per piece cost
    /// far more than counting it. A piece with a bad row is counted back out before the error.
    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        (score_name, y_score): (&str, Values<'_>),
        weight: Option<(&str, Values<'_>)>,
        labels: &BinaryLabels<'_>,
    ) -> Result<()> {
        if self.weighted != weight.is_some() {
            return Err(CoreError::IncompatibleState(
                "score histogram: weight column and state disagree".into(),
            ));
        }
        if matches!(y_score, Values::Dict { .. }) {
            return Err(strings_are_not_scores(score_name));
        }
        let len = y_true.len();
        if len == 0 {
            return Ok(());
        }
        // Weights are checked before any count moves.
        let weights = match weight {
            Some((name, values)) => Some(read_weights(name, values)?),
            None => None,
        };
        let (bad_labels, bad_scores) = if len < PARALLEL_MIN_ROWS {
            self.count_in_place(y_true, y_score, labels)
        } else {
            self.count_in_parallel(y_true, y_score, labels)
        };
        check_rows(
            (true_name, y_true),
            (score_name, y_score),
            labels,
            true,
            bad_labels,
            bad_scores,
        )?;
        if let Some(w) = weights {
            let scores: Vec<f64> = dispatch_numeric!(y_score,
                v => v.iter().map(|x| x.as_f64()).collect(),
                Values::Dict { .. } => Vec::new());
            if self.weights.is_empty() {
                self.weights = vec![CompensatedSum::default(); 2 * self.bins];
                self.squares = vec![0.0; 2 * self.bins];
            }
            let (sums, squares) = (&mut self.weights, &mut self.squares);
            weigh_in_place(sums, squares, y_true, &scores, &w, labels, self.bins);
        }
        Ok(())
    }

    /// Counts a small chunk straight into the state; a chunk with a bad row is counted back out
    /// (the state is left as it was). Returns (bad labels, bad scores).
    fn count_in_place(
        &mut self,
        y_true: Values<'_>,
        y_score: Values<'_>,
        labels: &BinaryLabels<'_>,
    ) -> (u64, u64) {
        let (bins, was_empty) = (self.bins, self.counts.is_empty());
        if was_empty {
            self.counts = vec![0; 2 * bins];
        }
        let counts = &mut self.counts;
        let bad = dispatch_numeric!(y_score,
            v => count_rows(counts, y_true, v, labels, bins, Step::Add),
            Values::Dict { .. } => (0, 0));
        if bad != (0, 0) {
            if was_empty {
                self.counts = Vec::new();
            } else {
                dispatch_numeric!(y_score,
                    v => count_rows(counts, y_true, v, labels, bins, Step::Undo),
                    Values::Dict { .. } => (0, 0));
            }
        }
        bad
    }

    /// Counts a large chunk on every thread (a packed table each) and, if every row is valid,
    /// adds the tables to the state. Returns (bad labels, bad scores).
    fn count_in_parallel(
        &mut self,
        y_true: Values<'_>,
        y_score: Values<'_>,
        labels: &BinaryLabels<'_>,
    ) -> (u64, u64) {
        let (bins, len) = (self.bins, y_true.len());
        let step = len.div_ceil(rayon::current_num_threads().max(1)).max(1);
        let parts: Vec<(Vec<u64>, u64, u64)> = (0..len)
            .step_by(step)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|s| {
                let r = s..(s + step).min(len);
                dispatch_numeric!(y_score.slice(r.clone()),
                    v => count_piece(y_true.slice(r), v, labels, bins),
                    Values::Dict { .. } => (Vec::new(), 0, 0))
            })
            .collect();
        let bad_labels = parts.iter().map(|p| p.1).sum();
        let bad_scores = parts.iter().map(|p| p.2).sum();
        if bad_labels + bad_scores == 0 {
            if self.counts.is_empty() {
                self.counts = vec![0; 2 * bins];
            }
            for (counts, _, _) in &parts {
                // One count per row: a valid state cannot reach 2^64.
                for (a, &b) in self.counts.iter_mut().zip(counts) {
                    *a = a.wrapping_add(b);
                }
            }
        }
        (bad_labels, bad_scores)
    }

    pub fn merge(&mut self, other: &ScoreHistogram) -> Result<()> {
        if other.bins != self.bins || other.weighted != self.weighted {
            return Err(CoreError::IncompatibleState(format!(
                "score histograms of {} and {} bins (weighted: {}, {})",
                self.bins, other.bins, self.weighted, other.weighted
            )));
        }
        self.add_counts(&other.counts)?;
        self.add_weights(&other.weights, &other.squares);
        Ok(())
    }
}

/// Adds the weights and squared weights of rows already validated to their sums per bin
/// (positives at `2b`, negatives at `2b + 1`), binned as the counts are.
fn weigh_in_place(
    sums: &mut [CompensatedSum],
    squares: &mut [f64],
    y_true: Values<'_>,
    scores: &[f64],
    weights: &[f64],
    labels: &BinaryLabels<'_>,
    bins: usize,
) {
    let binning = Binning::new(bins);
    for_each_label_block(y_true, labels, scores.len(), |start, codes| {
        for (i, &c) in codes.iter().enumerate() {
            let cell = 2 * binning.of(scores[start + i]) + (c & 1 ^ 1) as usize;
            let w = weights[start + i];
            sums[cell].add(w);
            squares[cell] += w * w;
        }
    });
}

#[derive(Clone, Copy, PartialEq)]
enum Step {
    Add,
    Undo,
}

/// Counts (or, with `Step::Undo`, uncounts) rows into `counts` (positives of bin `b` at `2b`,
/// negatives at `2b + 1`); returns (bad labels, bad scores). Rows with a bad label or score are
/// counted somewhere too, so undoing the same rows restores `counts` exactly.
fn count_rows<T: AsF64>(
    counts: &mut [u64],
    y_true: Values<'_>,
    scores: &[T],
    labels: &BinaryLabels<'_>,
    bins: usize,
    step: Step,
) -> (u64, u64) {
    let delta = if step == Step::Add { 1u64 } else { u64::MAX }; // + 1 or - 1, wrapping
    let binning = Binning::new(bins);
    let (mut bad_labels, mut bad_scores) = (0u64, 0u64);
    for_each_label_block(y_true, labels, scores.len(), |start, codes| {
        for (&c, x) in codes.iter().zip(&scores[start..]) {
            let v = x.as_f64();
            bad_scores += bad_score(v, true) as u64;
            bad_labels += (c >> 1) as u64;
            let at = 2 * binning.of(v) + (c & 1 ^ 1) as usize;
            counts[at] = counts[at].wrapping_add(delta);
        }
    });
    (bad_labels, bad_scores)
}

/// (counts, bad labels, bad scores) of one piece, counts laid out as in `ScoreHistogram`.
///
/// 0/1 labels in a one-byte column are read as their own codes; other labels are encoded a
/// block at a time. Scores are only screened in the loop (a bit pattern above 1.0's: negative,
/// above 1 or NaN, but also -0.0, which is valid); a piece that fails the screen is checked
/// precisely.
fn count_piece<T: AsF64>(
    y_true: Values<'_>,
    scores: &[T],
    labels: &BinaryLabels<'_>,
    bins: usize,
) -> (Vec<u64>, u64, u64) {
    let mut table = PackedCounts::new(bins);
    let (mut bad_labels, mut suspect) = (0u64, false);
    let mut count = |codes: Codes<'_>, scores: &[T]| {
        let (bad, screened) = match codes {
            Codes::Bytes(c) => table.add(c, scores),
            Codes::I8(c) => table.add(c, scores),
            Codes::Bool(c) => table.add(c, scores),
        };
        bad_labels += bad;
        suspect |= screened;
    };
    let stored = match y_true {
        Values::I8(y) if labels.zero_one() => Some(Codes::I8(y)),
        Values::U8(y) if labels.zero_one() => Some(Codes::Bytes(y)),
        Values::Bool(y) if labels.zero_one() => Some(Codes::Bool(y)),
        _ => None,
    };
    match stored {
        Some(codes) => {
            for (start, s) in (0..).step_by(BLOCK).zip(scores.chunks(BLOCK)) {
                count(codes.slice(start..start + s.len()), s);
            }
        }
        None => for_each_label_block(y_true, labels, scores.len(), |start, codes| {
            count(Codes::Bytes(codes), &scores[start..start + codes.len()]);
        }),
    }
    let bad_scores = if suspect {
        scores
            .iter()
            .filter(|x| bad_score(x.as_f64(), true))
            .count() as u64
    } else {
        0
    };
    (table.into_wide(), bad_labels, bad_scores)
}

/// Label codes: bytes (encoded: 0 negative, 1 positive, 2 invalid; or 0/1 labels as stored), or
/// 0/1 labels stored as i8 or bool.
#[derive(Clone, Copy)]
enum Codes<'a> {
    Bytes(&'a [u8]),
    I8(&'a [i8]),
    Bool(&'a [bool]),
}

impl<'a> Codes<'a> {
    fn slice(self, r: std::ops::Range<usize>) -> Codes<'a> {
        match self {
            Codes::Bytes(c) => Codes::Bytes(&c[r]),
            Codes::I8(c) => Codes::I8(&c[r]),
            Codes::Bool(c) => Codes::Bool(&c[r]),
        }
    }
}

/// A label byte read as a code: 1 positive, 0 negative, anything above 1 invalid.
trait Code: Copy {
    fn code(self) -> u8;
}

impl Code for u8 {
    fn code(self) -> u8 {
        self
    }
}

impl Code for i8 {
    fn code(self) -> u8 {
        self as u8
    }
}

impl Code for bool {
    fn code(self) -> u8 {
        self as u8
    }
}

/// Per-thread counts of one piece. The hot loop keeps one `u64` per bin holding the negatives
/// in its low half and the positives in its high half, so a row is one add of
/// `1 << (32 * positive)`: half the memory traffic of two counter arrays (the table, 512 KiB at
/// 65,536 bins, stays in L2). Halves are widened into the `u64` result before either can reach
/// 2^32.
struct PackedCounts {
    binning: Binning,
    packed: Vec<u64>,
    wide: Vec<u64>,
    since_flush: usize,
}

impl PackedCounts {
    fn new(bins: usize) -> PackedCounts {
        PackedCounts {
            binning: Binning::new(bins),
            packed: vec![0; bins],
            wide: vec![0; 2 * bins],
            since_flush: 0,
        }
    }

    /// Counts a block of at most `BLOCK` rows; returns (bad labels, whether a score failed the
    /// screen). Four rows at a time, their bins before their increments, so that the
    /// conversions of the next rows need not wait behind the increments.
    #[inline(always)]
    fn add<C: Code, T: AsF64>(&mut self, codes: &[C], scores: &[T]) -> (u64, bool) {
        let (binning, packed) = (self.binning, &mut self.packed[..]);
        let one = 1.0f64.to_bits();
        let (mut bad, mut screened) = (0u32, 0u64);
        let mut row = |c: u8, v: f64| {
            screened |= u64::from(v.to_bits() > one);
            bad += u32::from(c > 1);
            binning.of(v)
        };
        let mut code4 = codes.chunks_exact(4);
        let mut score4 = scores.chunks_exact(4);
        for (c, s) in (&mut code4).zip(&mut score4) {
            let c = [c[0].code(), c[1].code(), c[2].code(), c[3].code()];
            let at = [
                row(c[0], s[0].as_f64()),
                row(c[1], s[1].as_f64()),
                row(c[2], s[2].as_f64()),
                row(c[3], s[3].as_f64()),
            ];
            for (&at, &c) in at.iter().zip(&c) {
                packed[at] += 1u64 << ((c as u64 & 1) << 5);
            }
        }
        for (c, s) in code4.remainder().iter().zip(score4.remainder()) {
            let c = c.code();
            let at = row(c, s.as_f64());
            packed[at] += 1u64 << ((c as u64 & 1) << 5);
        }
        self.since_flush += codes.len();
        if self.since_flush > (u32::MAX as usize) - BLOCK {
            widen(&mut self.packed, &mut self.wide);
            self.since_flush = 0;
        }
        (u64::from(bad), screened != 0)
    }

    fn into_wide(mut self) -> Vec<u64> {
        widen(&mut self.packed, &mut self.wide);
        self.wide
    }
}

/// Scores to bins: bin `b` holds the scores with `floor(s * bins) == b`, and 1.0 the last bin.
#[derive(Clone, Copy)]
struct Binning {
    scale: f64,
    top: f64,
}

impl Binning {
    fn new(bins: usize) -> Binning {
        Binning {
            scale: bins as f64,
            top: (bins - 1) as f64,
        }
    }

    /// The bin of a score. A bad score still lands in range (it is counted as bad and its
    /// chunk rejected): the product is clamped to [0, bins - 1] first, NaN to 0.
    #[inline(always)]
    fn of(self, score: f64) -> usize {
        let clamped = (score * self.scale).max(0.0).min(self.top);
        // SAFETY: `clamped` is finite and in [0, bins - 1], and bins < 2^61 (a table of `bins`
        // u64 exists), so it is in i64's range. A saturating `as` cast would cost a third of
        // the counting loop.
        unsafe { clamped.to_int_unchecked::<i64>() as usize }
    }
}

/// Adds packed (positives << 32 | negatives) counters into `wide` and zeroes them.
fn widen(packed: &mut [u64], wide: &mut [u64]) {
    for (p, w) in packed.iter_mut().zip(wide.chunks_exact_mut(2)) {
        w[0] += *p >> 32;
        w[1] += *p & u64::from(u32::MAX);
        *p = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Label;

    #[test]
    fn bins_scores_and_rejects_out_of_range() {
        let (p, n) = (Label::Int(1), Label::Int(0));
        let l = BinaryLabels::new(&p, &n);
        let mut h = ScoreHistogram::new(4);
        let y = [1u8, 0, 1, 0, 1];
        let s = [0.0, 0.25, 0.3, 0.99, 1.0];
        h.update(("y", Values::U8(&y)), ("s", Values::F64(&s)), None, &l)
            .unwrap();
        assert_eq!(h.bin(0), (1, 0));
        assert_eq!(h.bin(1), (1, 1));
        assert_eq!(h.bin(3), (1, 1));
        let before = h.clone();
        let err = h
            .update(
                ("y", Values::U8(&y)),
                ("s", Values::F64(&[0.5, 0.5, 1.5, 0.5, -0.1])),
                None,
                &l,
            )
            .unwrap_err();
        assert!(matches!(
            err,
            CoreError::InvalidData {
                count: 2,
                first_row: 2,
                ..
            }
        ));
        assert_eq!(h, before);
        assert!(h.merge(&ScoreHistogram::new(8)).is_err());
    }

    /// Large chunks (the parallel path) count the same whether the labels are 0/1 bytes read
    /// as stored (i8, u8, bool) or encoded from another type, in the same bins as the row by
    /// row path of small chunks: scores on bin edges, 0, -0.0 and 1 included. Bad labels and
    /// scores are counted exactly and named by their first row.
    #[test]
    fn stored_and_encoded_labels_count_alike() {
        let (p, n) = (Label::Int(1), Label::Int(0));
        let l = BinaryLabels::new(&p, &n);
        let bins = 1000;
        let rows = PARALLEL_MIN_ROWS + 4_099; // not a multiple of 4 nor of BLOCK
        let wide: Vec<i64> = (0..rows).map(|i| (i * 7 % 10 < 3) as i64).collect();
        let s: Vec<f64> = (0..rows)
            .map(|i| match i % 11 {
                0 => 0.0,
                1 => -0.0,
                2 => 1.0,
                3 => (i % bins) as f64 / bins as f64, // a bin's lower edge
                _ => (i * 7919 % 100_003) as f64 / 100_003.0,
            })
            .collect();
        let narrow: Vec<i8> = wide.iter().map(|&v| v as i8).collect();
        let bytes: Vec<u8> = wide.iter().map(|&v| v as u8).collect();
        let bools: Vec<bool> = wide.iter().map(|&v| v == 1).collect();
        let count = |y: Values<'_>| {
            let mut h = ScoreHistogram::new(bins);
            h.update(("y", y), ("s", Values::F64(&s)), None, &l)
                .unwrap();
            h
        };
        let encoded = count(Values::I64(&wide));
        for y in [
            Values::I8(&narrow),
            Values::U8(&bytes),
            Values::Bool(&bools),
        ] {
            assert_eq!(count(y), encoded);
        }
        // Row by row, a small chunk at a time.
        let mut small = ScoreHistogram::new(bins);
        for (y, sc) in narrow.chunks(1_000).zip(s.chunks(1_000)) {
            small
                .update(("y", Values::I8(y)), ("s", Values::F64(sc)), None, &l)
                .unwrap();
        }
        assert_eq!(small, encoded);
        assert_eq!(encoded.n(), rows as u64);
        let mut bad_labels = narrow.clone();
        bad_labels[rows - 5] = 2;
        bad_labels[rows - 1] = -1;
        let mut bad_scores = s.clone();
        bad_scores[rows - 9] = f64::NAN;
        bad_scores[rows - 2] = -1e-300;
        bad_scores[rows - 1] = 1.0 + f64::EPSILON;
        for (y, sc, column, count, first_row) in [
            (&bad_labels, &s, "y", 2, rows - 5),
            (&narrow, &bad_scores, "s", 3, rows - 9),
        ] {
            let mut h = encoded.clone();
            let err = h
                .update(("y", Values::I8(y)), ("s", Values::F64(sc)), None, &l)
                .unwrap_err();
            assert!(
                matches!(&err, CoreError::InvalidData { column: c, count: k, first_row: r, .. }
                    if c == column && *k == count && *r == first_row as u64),
                "{err:?}"
            );
            assert_eq!(h, encoded);
        }
    }

    /// A rejected chunk leaves the counts (and weights) exactly as they were, on the small
    /// in-place path and on the parallel one, for a fresh state and a filled one.
    #[test]
    fn rejected_chunks_leave_the_state_unchanged() {
        let (p, n) = (Label::Int(1), Label::Int(0));
        let l = BinaryLabels::new(&p, &n);
        for rows in [1_000, PARALLEL_MIN_ROWS + 1_000] {
            let y: Vec<i64> = (0..rows).map(|i| (i % 3 == 0) as i64).collect();
            let s: Vec<f64> = (0..rows)
                .map(|i| (i * 7919 % 1000) as f64 / 999.0)
                .collect();
            let w: Vec<f64> = (0..rows).map(|i| 0.5 + (i % 5) as f64).collect();
            let mut bad_label = y.clone();
            bad_label[rows - 1] = 7;
            let mut bad_score = s.clone();
            bad_score[rows / 2] = f64::NAN;
            let mut bad_weight = w.clone();
            bad_weight[0] = -1.0;
            for weighted in [false, true] {
                let fresh = if weighted {
                    ScoreHistogram::new_weighted(64)
                } else {
                    ScoreHistogram::new(64)
                };
                fn weight(weighted: bool, w: &[f64]) -> Option<(&str, Values<'_>)> {
                    weighted.then_some(("w", Values::F64(w)))
                }
                let mut filled = fresh.clone();
                filled
                    .update(
                        ("y", Values::I64(&y)),
                        ("s", Values::F64(&s)),
                        weight(weighted, &w),
                        &l,
                    )
                    .unwrap();
                for mut state in [fresh, filled] {
                    let before = state.clone();
                    let chunks = [
                        (&bad_label, &s, &w),
                        (&y, &bad_score, &w),
                        (&y, &s, &bad_weight),
                    ];
                    for (t, sc, wt) in chunks.into_iter().take(2 + weighted as usize) {
                        let outcome = state.update(
                            ("y", Values::I64(t)),
                            ("s", Values::F64(sc)),
                            weight(weighted, wt),
                            &l,
                        );
                        assert!(outcome.is_err());
                        assert_eq!(state, before, "rows {rows}, weighted {weighted}");
                        assert_eq!(state.counts, before.counts);
                    }
                }
            }
        }
    }
}

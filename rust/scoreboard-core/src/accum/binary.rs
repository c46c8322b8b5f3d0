//! Binary confusion counts (tp, fp, fn, tn): feeds every threshold metric of a binary task.
//!
//! The kernel first *encodes* a block of each column into a small `u8` scratch (0 = negative,
//! 1 = positive, 2 = invalid), one monomorphisation per input dtype, then *counts* the two
//! scratches with one branch-free loop that the compiler vectorises. Blocks stay in L1.

use serde::{Deserialize, Serialize};

use super::{add_count, map_ranges, BLOCK};
use crate::column::{AsF64, NativeLabel, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};
use crate::plan::Label;

const NEGATIVE: u8 = 0;
const POSITIVE: u8 = 1;
const INVALID: u8 = 2;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinaryConfusion {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
}

/// The two labels of a binary task, in the forms the kernels compare against.
pub struct BinaryLabels<'a> {
    positive: &'a Label,
    negative: &'a Label,
    positive_int: Option<i64>,
    negative_int: Option<i64>,
}

impl<'a> BinaryLabels<'a> {
    pub fn new(positive: &'a Label, negative: &'a Label) -> Self {
        let int = |label: &Label| match label {
            Label::Int(v) => Some(*v),
            // A string label never equals a number: every numeric row is invalid.
            Label::Str(_) => None,
        };
        BinaryLabels {
            positive,
            negative,
            positive_int: int(positive),
            negative_int: int(negative),
        }
    }

    /// Whether the labels are 1 (positive) and 0 (negative): a one-byte label column's values
    /// are then their own codes, with no encoding pass.
    pub(crate) fn zero_one(&self) -> bool {
        self.positive_int == Some(1) && self.negative_int == Some(0)
    }

    /// The code of each dictionary entry of a string column (strings are never scores).
    fn dictionary_codes(&self, values: Values<'_>, decision: Decision) -> Vec<u8> {
        match (values, decision) {
            (Values::Dict { dictionary, .. }, Decision::Labels) => {
                dictionary.iter().map(|d| self.code_of(d)).collect()
            }
            _ => Vec::new(),
        }
    }

    fn code_of(&self, text: &str) -> u8 {
        let is = |label: &Label| match label {
            Label::Str(s) => s == text,
            Label::Int(v) => text.parse::<i64>().ok() == Some(*v),
        };
        if is(self.positive) {
            POSITIVE
        } else if is(self.negative) {
            NEGATIVE
        } else {
            INVALID
        }
    }
}

/// How to read the predicted column.
#[derive(Clone, Copy)]
enum Decision {
    Labels,
    Threshold(f64),
}

#[derive(Debug, Default, Clone, Copy)]
struct Partial {
    true_pos: u64,
    pred_pos: u64,
    both_pos: u64,
    invalid_true: u64,
    invalid_pred: u64,
}

impl Partial {
    fn add(self, o: Partial) -> Partial {
        Partial {
            true_pos: self.true_pos + o.true_pos,
            pred_pos: self.pred_pos + o.pred_pos,
            both_pos: self.both_pos + o.both_pos,
            invalid_true: self.invalid_true + o.invalid_true,
            invalid_pred: self.invalid_pred + o.invalid_pred,
        }
    }
}

#[inline(always)]
fn encode_label_slice<T: NativeLabel>(
    src: &[T],
    pos: Option<i64>,
    neg: Option<i64>,
    out: &mut [u8],
) {
    match (pos.and_then(T::from_label), neg.and_then(T::from_label)) {
        (Some(pos), Some(neg)) => {
            for (o, &x) in out.iter_mut().zip(src) {
                let is_pos = x == pos;
                *o = is_pos as u8 | ((!is_pos & (x != neg)) as u8) << 1;
            }
        }
        // A label this dtype cannot hold matches no row.
        (Some(pos), None) => {
            for (o, &x) in out.iter_mut().zip(src) {
                *o = if x == pos { POSITIVE } else { INVALID };
            }
        }
        (None, Some(neg)) => {
            for (o, &x) in out.iter_mut().zip(src) {
                *o = if x == neg { NEGATIVE } else { INVALID };
            }
        }
        (None, None) => out[..src.len()].fill(INVALID),
    }
}

/// Scores: NaN and infinities are invalid (as scikit-learn refuses them).
///
/// The fast pass only thresholds, and sums `v - v` in independent lanes (0 for every finite
/// value, NaN otherwise) so the finiteness check vectorises too; a block with a bad value is
/// encoded again, precisely.
#[inline(always)]
#[allow(clippy::eq_op)] // `v - v` is the point: 0 when finite, NaN otherwise
fn encode_score_slice<T: AsF64>(src: &[T], threshold: f64, out: &mut [u8]) {
    const LANES: usize = 8;
    let mut check = [0.0f64; LANES];
    let whole = src.len() / LANES * LANES;
    for (o, s) in out[..whole]
        .chunks_exact_mut(LANES)
        .zip(src[..whole].chunks_exact(LANES))
    {
        for lane in 0..LANES {
            let v = s[lane].as_f64();
            o[lane] = (v >= threshold) as u8;
            check[lane] += v - v;
        }
    }
    for (o, &x) in out[whole..src.len()].iter_mut().zip(&src[whole..]) {
        let v = x.as_f64();
        *o = (v >= threshold) as u8;
        check[0] += v - v;
    }
    if check.iter().any(|&c| c != 0.0) {
        for (o, &x) in out.iter_mut().zip(src) {
            if !x.as_f64().is_finite() {
                *o = INVALID;
            }
        }
    }
}

/// One column's view for the kernels: its values, how to read them, and its dictionary's codes.
#[derive(Clone, Copy)]
struct Encoding<'a> {
    decision: Decision,
    positive: Option<i64>,
    negative: Option<i64>,
    dictionary_codes: &'a [u8],
}

fn encode(values: Values<'_>, enc: &Encoding<'_>, out: &mut [u8]) {
    let (pos, neg, decision) = (enc.positive, enc.negative, enc.decision);
    dispatch_numeric!(values,
        s => match decision {
            Decision::Labels => encode_label_slice(s, pos, neg, out),
            Decision::Threshold(t) => encode_score_slice(s, t, out),
        },
        Values::Dict { indices, .. } => {
            let codes = enc.dictionary_codes;
            for (o, &i) in out.iter_mut().zip(indices) {
                *o = usize::try_from(i).ok().and_then(|i| codes.get(i)).copied().unwrap_or(INVALID);
            }
        }
    )
}

/// Counts of two code blocks. Valid codes are 0 and 1, so the common case is three sums (kept in
/// `u8` lanes for at most 255 rows, then widened); any invalid code takes the precise path.
#[inline(always)]
fn count_codes(a: &[u8], b: &[u8]) -> Partial {
    let mut seen = 0u8;
    let (mut true_pos, mut pred_pos, mut both_pos) = (0u64, 0u64, 0u64);
    for (ca, cb) in a.chunks(255).zip(b.chunks(255)) {
        let (mut t, mut p, mut tp) = (0u8, 0u8, 0u8);
        for (&x, &y) in ca.iter().zip(cb) {
            seen |= x | y;
            t += x & 1;
            p += y & 1;
            tp += x & y & 1;
        }
        true_pos += t as u64;
        pred_pos += p as u64;
        both_pos += tp as u64;
    }
    if seen & INVALID != 0 {
        return count_codes_checked(a, b);
    }
    Partial {
        true_pos,
        pred_pos,
        both_pos,
        invalid_true: 0,
        invalid_pred: 0,
    }
}

fn count_codes_checked(a: &[u8], b: &[u8]) -> Partial {
    let mut out = Partial::default();
    for (&x, &y) in a.iter().zip(b) {
        out.true_pos += (x == POSITIVE) as u64;
        out.pred_pos += (y == POSITIVE) as u64;
        out.both_pos += (x == POSITIVE && y == POSITIVE) as u64;
        out.invalid_true += (x == INVALID) as u64;
        out.invalid_pred += (y == INVALID) as u64;
    }
    out
}

fn count_range(
    y_true: Values<'_>,
    y_pred: Values<'_>,
    truth: &Encoding<'_>,
    prediction: &Encoding<'_>,
) -> Partial {
    let mut a = [0u8; BLOCK];
    let mut b = [0u8; BLOCK];
    let mut total = Partial::default();
    let len = y_true.len();
    let mut start = 0;
    while start < len {
        let end = (start + BLOCK).min(len);
        let n = end - start;
        encode(y_true.slice(start..end), truth, &mut a[..n]);
        encode(y_pred.slice(start..end), prediction, &mut b[..n]);
        total = total.add(count_codes(&a[..n], &b[..n]));
        start = end;
    }
    total
}

/// Encodes a block of a label column: 0 = negative, 1 = positive, 2 = neither (invalid).
/// Shared with the score accumulators, which read y_true exactly as the confusion counts do.
pub(crate) fn encode_labels(values: Values<'_>, labels: &BinaryLabels<'_>, out: &mut [u8]) {
    encode_with(values, labels, Decision::Labels, out)
}

/// Walks `len` rows of a label column a block at a time: `f(start, codes)` gets each block's
/// first row and its `encode_labels` codes (the blocked loop of every score kernel).
#[inline(always)]
pub(crate) fn for_each_label_block(
    y_true: Values<'_>,
    labels: &BinaryLabels<'_>,
    len: usize,
    mut f: impl FnMut(usize, &[u8]),
) {
    let mut codes = [0u8; BLOCK];
    let mut start = 0;
    while start < len {
        let end = (start + BLOCK).min(len);
        let codes = &mut codes[..end - start];
        encode_labels(y_true.slice(start..end), labels, codes);
        f(start, codes);
        start = end;
    }
}

/// `encode` for callers holding the labels rather than an `Encoding` (a string column's
/// dictionary is coded on each call: dictionaries are small).
fn encode_with(values: Values<'_>, labels: &BinaryLabels<'_>, decision: Decision, out: &mut [u8]) {
    let codes = labels.dictionary_codes(values, decision);
    let enc = Encoding {
        decision,
        positive: labels.positive_int,
        negative: labels.negative_int,
        dictionary_codes: &codes,
    };
    encode(values, &enc, out)
}

/// Encodes a block of predictions: hard labels (`threshold: None`) or scores against `threshold`.
pub(crate) fn encode_predictions(
    values: Values<'_>,
    labels: &BinaryLabels<'_>,
    threshold: Option<f64>,
    out: &mut [u8],
) {
    encode_with(
        values,
        labels,
        threshold.map_or(Decision::Labels, Decision::Threshold),
        out,
    )
}

/// The 0-based row of the first label that is neither positive nor negative (slow path).
pub(crate) fn first_invalid_label(values: Values<'_>, labels: &BinaryLabels<'_>) -> u64 {
    let codes = labels.dictionary_codes(values, Decision::Labels);
    let enc = Encoding {
        decision: Decision::Labels,
        positive: labels.positive_int,
        negative: labels.negative_int,
        dictionary_codes: &codes,
    };
    first_invalid(values, &enc)
}

/// The message of an invalid-label error, as the confusion accumulator words it.
pub(crate) fn invalid_label_message(labels: &BinaryLabels<'_>) -> String {
    format!(
        "label is neither the positive label {} nor the negative label {}",
        labels.positive, labels.negative
    )
}

/// The 0-based row of the first invalid value of `values` (slow path, for error messages only).
fn first_invalid(values: Values<'_>, enc: &Encoding<'_>) -> u64 {
    let mut scratch = [0u8; BLOCK];
    let mut start = 0;
    while start < values.len() {
        let end = (start + BLOCK).min(values.len());
        encode(values.slice(start..end), enc, &mut scratch[..end - start]);
        if let Some(i) = scratch[..end - start].iter().position(|&c| c == INVALID) {
            return (start + i) as u64;
        }
        start = end;
    }
    0
}

/// Per-cell counts of one range of rows, or `None` at the first invalid value or cell id
/// (`cell_count` or more).
fn count_cells(
    y_true: Values<'_>,
    y_pred: Values<'_>,
    (truth, prediction): (&Encoding<'_>, &Encoding<'_>),
    cells: &[u32],
    cell_count: usize,
) -> Option<Vec<[u64; 4]>> {
    // Two tables (even and odd rows): rows of one cell come in runs, and with one table an
    // increment would often wait for the previous one to the same counter.
    let mut even = vec![[0u64; 4]; cell_count];
    let mut odd = vec![[0u64; 4]; cell_count];
    let mut a = [0u8; BLOCK];
    let mut b = [0u8; BLOCK];
    let len = y_true.len();
    let mut start = 0;
    while start < len {
        let end = (start + BLOCK).min(len);
        let n = end - start;
        encode(y_true.slice(start..end), truth, &mut a[..n]);
        encode(y_pred.slice(start..end), prediction, &mut b[..n]);
        let seen = a[..n].iter().chain(&b[..n]).fold(0u8, |m, &c| m | c);
        let widest = cells[start..end].iter().fold(0u32, |m, &c| m.max(c));
        if seen & INVALID != 0 || widest as usize >= cell_count {
            return None;
        }
        // One outcome code per row (vectorised), 2 * truth + prediction: tn, fp, fn, tp (the
        // `& 3` below only spares the table lookups a bounds check).
        for (x, &y) in a[..n].iter_mut().zip(&b[..n]) {
            *x = *x << 1 | y;
        }
        let cells = &cells[start..end];
        let pairs = cells.chunks_exact(2).zip(a[..n].chunks_exact(2));
        for (cell, code) in pairs {
            even[cell[0] as usize][usize::from(code[0] & 3)] += 1;
            odd[cell[1] as usize][usize::from(code[1] & 3)] += 1;
        }
        if n % 2 == 1 {
            even[cells[n - 1] as usize][usize::from(a[n - 1] & 3)] += 1;
        }
        start = end;
    }
    Some(
        even.into_iter()
            .zip(odd)
            .map(|(e, o)| [e[0] + o[0], e[1] + o[1], e[2] + o[2], e[3] + o[3]])
            .collect(),
    )
}

impl BinaryConfusion {
    /// Folds one chunk in. `threshold: Some(t)` reads `y_pred` as scores.
    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        (pred_name, y_pred): (&str, Values<'_>),
        labels: &BinaryLabels<'_>,
        threshold: Option<f64>,
    ) -> Result<()> {
        let decision = threshold.map_or(Decision::Labels, Decision::Threshold);
        let true_codes = labels.dictionary_codes(y_true, Decision::Labels);
        let pred_codes = labels.dictionary_codes(y_pred, decision);
        let encoding = |decision, dictionary_codes| Encoding {
            decision,
            positive: labels.positive_int,
            negative: labels.negative_int,
            dictionary_codes,
        };
        let truth = encoding(Decision::Labels, &true_codes);
        let prediction = encoding(decision, &pred_codes);
        let len = y_true.len();
        let total = map_ranges(len, |r| {
            count_range(
                y_true.slice(r.clone()),
                y_pred.slice(r),
                &truth,
                &prediction,
            )
        })
        .into_iter()
        .fold(Partial::default(), Partial::add);

        if total.invalid_true > 0 {
            return Err(CoreError::InvalidData {
                column: true_name.to_string(),
                message: invalid_label_message(labels),
                count: total.invalid_true,
                first_row: first_invalid(y_true, &truth),
            });
        }
        if total.invalid_pred > 0 {
            let message = match decision {
                Decision::Threshold(_) if matches!(y_pred, Values::Dict { .. }) => {
                    "score column holds strings, not numbers".to_string()
                }
                Decision::Threshold(_) => "score is NaN or infinite".to_string(),
                Decision::Labels => format!(
                    "predicted label is neither the positive label {} nor the negative label {}",
                    labels.positive, labels.negative
                ),
            };
            return Err(CoreError::InvalidData {
                column: pred_name.to_string(),
                message,
                count: total.invalid_pred,
                first_row: first_invalid(y_pred, &prediction),
            });
        }
        let chunk = BinaryConfusion {
            tp: total.both_pos,
            fp: total.pred_pos - total.both_pos,
            fn_: total.true_pos - total.both_pos,
            tn: len as u64 + total.both_pos - total.true_pos - total.pred_pos,
        };
        self.merge(&chunk)
    }

    /// Folds one chunk into per-cell confusions without regrouping the rows: `cells[i]` is the
    /// cell of row `i`, `out` has one entry per cell. Returns `false` (having changed nothing)
    /// when the chunk holds an invalid value or a cell id past `out`: the caller then takes the
    /// path that reports it.
    pub fn update_cells(
        y_true: Values<'_>,
        y_pred: Values<'_>,
        labels: &BinaryLabels<'_>,
        threshold: Option<f64>,
        cells: &[u32],
        out: &mut [BinaryConfusion],
    ) -> bool {
        let decision = threshold.map_or(Decision::Labels, Decision::Threshold);
        let true_codes = labels.dictionary_codes(y_true, Decision::Labels);
        let pred_codes = labels.dictionary_codes(y_pred, decision);
        let encoding = |decision, dictionary_codes| Encoding {
            decision,
            positive: labels.positive_int,
            negative: labels.negative_int,
            dictionary_codes,
        };
        let (truth, prediction) = (
            encoding(Decision::Labels, &true_codes),
            encoding(decision, &pred_codes),
        );
        // counts[cell][2 * truth + prediction]: tn, fp, fn, tp; one table per parallel range.
        let count = |r: std::ops::Range<usize>| {
            count_cells(
                y_true.slice(r.clone()),
                y_pred.slice(r.clone()),
                (&truth, &prediction),
                &cells[r],
                out.len(),
            )
        };
        // Many cells would make a table per range costly: count those on one thread.
        let parts = if out.len() > 1 << 14 {
            vec![count(0..y_true.len())]
        } else {
            map_ranges(y_true.len(), count)
        };
        let mut counts = vec![[0u64; 4]; out.len()];
        for part in parts {
            let Some(part) = part else {
                return false;
            };
            for (total, add) in counts.iter_mut().zip(part) {
                for (t, a) in total.iter_mut().zip(add) {
                    *t += a;
                }
            }
        }
        for (state, [tn, fp, fn_, tp]) in out.iter_mut().zip(counts) {
            *state = BinaryConfusion { tp, fp, fn_, tn };
        }
        true
    }

    pub fn merge(&mut self, other: &BinaryConfusion) -> Result<()> {
        *self = BinaryConfusion {
            tp: add_count(self.tp, other.tp, "binary confusion")?,
            fp: add_count(self.fp, other.fp, "binary confusion")?,
            fn_: add_count(self.fn_, other.fn_, "binary confusion")?,
            tn: add_count(self.tn, other.tn, "binary confusion")?,
        };
        Ok(())
    }

    pub fn n(&self) -> u64 {
        self.tp + self.fp + self.fn_ + self.tn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> (Label, Label) {
        (Label::Int(1), Label::Int(0))
    }

    #[test]
    fn counts_hard_labels_and_scores() {
        let (p, n) = labels();
        let l = BinaryLabels::new(&p, &n);
        let t = [1i64, 0, 1, 1, 0, 0];
        let y = [true, false, false, true, true, false];
        let mut c = BinaryConfusion::default();
        c.update(("t", Values::I64(&t)), ("p", Values::Bool(&y)), &l, None)
            .unwrap();
        assert_eq!(
            c,
            BinaryConfusion {
                tp: 2,
                fp: 1,
                fn_: 1,
                tn: 2
            }
        );

        let s = [0.9f32, 0.1, 0.4, 0.5, 0.7, 0.2];
        let mut c = BinaryConfusion::default();
        c.update(
            ("t", Values::I64(&t)),
            ("s", Values::F32(&s)),
            &l,
            Some(0.5),
        )
        .unwrap();
        assert_eq!(
            c,
            BinaryConfusion {
                tp: 2,
                fp: 1,
                fn_: 1,
                tn: 2
            }
        );
    }

    #[test]
    fn rejects_out_of_task_labels_and_nan_scores() {
        let (p, n) = labels();
        let l = BinaryLabels::new(&p, &n);
        let t = [1u8, 0, 2, 1];
        let s = [0.1, 0.2, 0.3, 0.4];
        let err = BinaryConfusion::default()
            .update(
                ("label", Values::U8(&t)),
                ("s", Values::F64(&s)),
                &l,
                Some(0.5),
            )
            .unwrap_err();
        assert!(matches!(
            err,
            CoreError::InvalidData {
                count: 1,
                first_row: 2,
                ..
            }
        ));

        let t = [1u8, 0, 0, 1];
        let s = [0.1, f64::NAN, 0.3, f64::NAN];
        let err = BinaryConfusion::default()
            .update(
                ("label", Values::U8(&t)),
                ("s", Values::F64(&s)),
                &l,
                Some(0.5),
            )
            .unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidData { count: 2, first_row: 1, ref column, .. } if column == "s")
        );
    }

    #[test]
    fn string_labels_through_a_dictionary() {
        let p = Label::Str("fraud".into());
        let n = Label::Str("ok".into());
        let l = BinaryLabels::new(&p, &n);
        let dict = vec!["ok".to_string(), "fraud".to_string()];
        let t = [1i32, 0, 1];
        let y = [1i32, 1, 0];
        let mut c = BinaryConfusion::default();
        c.update(
            (
                "t",
                Values::Dict {
                    dictionary: &dict,
                    indices: &t,
                },
            ),
            (
                "p",
                Values::Dict {
                    dictionary: &dict,
                    indices: &y,
                },
            ),
            &l,
            None,
        )
        .unwrap();
        assert_eq!(
            c,
            BinaryConfusion {
                tp: 1,
                fp: 1,
                fn_: 1,
                tn: 0
            }
        );
    }

    #[test]
    fn parallel_path_equals_serial_sum() {
        let (p, n) = labels();
        let l = BinaryLabels::new(&p, &n);
        let len = super::super::PARALLEL_MIN_ROWS * 3 + 17;
        let t: Vec<u8> = (0..len).map(|i| ((i * 7) % 3 == 0) as u8).collect();
        let s: Vec<f64> = (0..len).map(|i| ((i * 13) % 100) as f64 / 100.0).collect();
        let mut whole = BinaryConfusion::default();
        whole
            .update(("t", Values::U8(&t)), ("s", Values::F64(&s)), &l, Some(0.5))
            .unwrap();
        let mut expect = BinaryConfusion::default();
        for (a, b) in t.iter().zip(&s) {
            match (*a == 1, *b >= 0.5) {
                (true, true) => expect.tp += 1,
                (false, true) => expect.fp += 1,
                (true, false) => expect.fn_ += 1,
                (false, false) => expect.tn += 1,
            }
        }
        assert_eq!(whole, expect);
    }
}

//! Binary confusion counts (tp, fp, fn, tn): feeds every threshold metric of a binary task.
//!
//! The kernel first *encodes* a block of each column into a small `u8` scratch (0 = negative,
//! 1 = positive, 2 = invalid), one monomorphisation per input dtype, then *counts* the two
//! scratches with one branch-free loop that the compiler vectorises. Blocks stay in L1.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{add_count, split_ranges, BLOCK};
use crate::column::{AsF64, Values};
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
}

impl<'a> BinaryLabels<'a> {
    pub fn new(positive: &'a Label, negative: &'a Label) -> Self {
        BinaryLabels { positive, negative }
    }

    fn numeric(label: &Label) -> f64 {
        match label {
            Label::Int(v) => *v as f64,
            // A string label never equals a number: every numeric row is invalid.
            Label::Str(_) => f64::NAN,
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
fn encode_label_slice<T: AsF64>(src: &[T], pos: f64, neg: f64, out: &mut [u8]) {
    for (o, &x) in out.iter_mut().zip(src) {
        let v = x.as_f64();
        *o = (v == pos) as u8 | ((((v != pos) & (v != neg)) as u8) << 1);
    }
}

#[inline(always)]
fn encode_score_slice<T: AsF64>(src: &[T], threshold: f64, out: &mut [u8]) {
    for (o, &x) in out.iter_mut().zip(src) {
        let v = x.as_f64();
        *o = (v >= threshold) as u8 | ((v.is_nan() as u8) << 1);
    }
}

fn encode(values: Values<'_>, labels: &BinaryLabels<'_>, decision: Decision, out: &mut [u8]) {
    let (pos, neg) = (
        BinaryLabels::numeric(labels.positive),
        BinaryLabels::numeric(labels.negative),
    );
    dispatch_numeric!(values,
        s => match decision {
            Decision::Labels => encode_label_slice(s, pos, neg, out),
            Decision::Threshold(t) => encode_score_slice(s, t, out),
        },
        Values::Dict { dictionary, indices } => {
            let codes: Vec<u8> = match decision {
                Decision::Labels => dictionary.iter().map(|d| labels.code_of(d)).collect(),
                // Strings are never scores.
                Decision::Threshold(_) => vec![INVALID; dictionary.len()],
            };
            for (o, &i) in out.iter_mut().zip(indices) {
                *o = usize::try_from(i).ok().and_then(|i| codes.get(i)).copied().unwrap_or(INVALID);
            }
        }
    )
}

#[inline(always)]
fn count_codes(a: &[u8], b: &[u8]) -> Partial {
    let (mut tp1, mut pp1, mut both, mut bad_t, mut bad_p) = (0u32, 0u32, 0u32, 0u32, 0u32);
    for (&x, &y) in a.iter().zip(b) {
        tp1 += (x == POSITIVE) as u32;
        pp1 += (y == POSITIVE) as u32;
        both += ((x & y) == POSITIVE) as u32;
        bad_t += (x >> 1) as u32;
        bad_p += (y >> 1) as u32;
    }
    Partial {
        true_pos: tp1 as u64,
        pred_pos: pp1 as u64,
        both_pos: both as u64,
        invalid_true: bad_t as u64,
        invalid_pred: bad_p as u64,
    }
}

fn count_range(
    y_true: Values<'_>,
    y_pred: Values<'_>,
    labels: &BinaryLabels<'_>,
    decision: Decision,
) -> Partial {
    let mut a = [0u8; BLOCK];
    let mut b = [0u8; BLOCK];
    let mut total = Partial::default();
    let len = y_true.len();
    let mut start = 0;
    while start < len {
        let end = (start + BLOCK).min(len);
        let n = end - start;
        encode(
            y_true.slice(start..end),
            labels,
            Decision::Labels,
            &mut a[..n],
        );
        encode(y_pred.slice(start..end), labels, decision, &mut b[..n]);
        total = total.add(count_codes(&a[..n], &b[..n]));
        start = end;
    }
    total
}

/// Encodes a block of a label column: 0 = negative, 1 = positive, 2 = neither (invalid).
/// Shared with the score accumulators, which read y_true exactly as the confusion counts do.
pub(crate) fn encode_labels(values: Values<'_>, labels: &BinaryLabels<'_>, out: &mut [u8]) {
    encode(values, labels, Decision::Labels, out)
}

/// Encodes a block of predictions: hard labels (`threshold: None`) or scores against `threshold`.
pub(crate) fn encode_predictions(
    values: Values<'_>,
    labels: &BinaryLabels<'_>,
    threshold: Option<f64>,
    out: &mut [u8],
) {
    encode(
        values,
        labels,
        threshold.map_or(Decision::Labels, Decision::Threshold),
        out,
    )
}

/// The 0-based row of the first label that is neither positive nor negative (slow path).
pub(crate) fn first_invalid_label(values: Values<'_>, labels: &BinaryLabels<'_>) -> u64 {
    first_invalid(values, labels, Decision::Labels)
}

/// The message of an invalid-label error, as the confusion accumulator words it.
pub(crate) fn invalid_label_message(labels: &BinaryLabels<'_>) -> String {
    format!(
        "label is neither the positive label {} nor the negative label {}",
        labels.positive, labels.negative
    )
}

/// The 0-based row of the first invalid value of `values` (slow path, for error messages only).
fn first_invalid(values: Values<'_>, labels: &BinaryLabels<'_>, decision: Decision) -> u64 {
    let mut scratch = [0u8; BLOCK];
    let mut start = 0;
    while start < values.len() {
        let end = (start + BLOCK).min(values.len());
        encode(
            values.slice(start..end),
            labels,
            decision,
            &mut scratch[..end - start],
        );
        if let Some(i) = scratch[..end - start].iter().position(|&c| c == INVALID) {
            return (start + i) as u64;
        }
        start = end;
    }
    0
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
        let len = y_true.len();
        let total = split_ranges(len)
            .into_par_iter()
            .map(|r| count_range(y_true.slice(r.clone()), y_pred.slice(r), labels, decision))
            .collect::<Vec<_>>()
            .into_iter()
            .fold(Partial::default(), Partial::add);

        if total.invalid_true > 0 {
            return Err(CoreError::InvalidData {
                column: true_name.to_string(),
                message: invalid_label_message(labels),
                count: total.invalid_true,
                first_row: first_invalid(y_true, labels, Decision::Labels),
            });
        }
        if total.invalid_pred > 0 {
            let message = match decision {
                Decision::Threshold(_) if matches!(y_pred, Values::Dict { .. }) => {
                    "score column holds strings, not numbers".to_string()
                }
                Decision::Threshold(_) => "score is NaN".to_string(),
                Decision::Labels => format!(
                    "predicted label is neither the positive label {} nor the negative label {}",
                    labels.positive, labels.negative
                ),
            };
            return Err(CoreError::InvalidData {
                column: pred_name.to_string(),
                message,
                count: total.invalid_pred,
                first_row: first_invalid(y_pred, labels, decision),
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

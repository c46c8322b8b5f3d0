//! A K x K confusion matrix over labels of any type (integers or strings), feeding every
//! multiclass metric.
//!
//! Labels get dense codes in order of first appearance; the state keeps the label of each code,
//! so two states built from different data (other chunks, files, processes) merge by label value,
//! not by code. Classes are only put in scikit-learn's sorted order when finalizing.
//!
//! With a weight column (scikit-learn's `sample_weight`) the state also keeps, per cell, the
//! compensated sum of the weights; the exact row counts stay (they decide which classes are
//! present, as scikit-learn's `unique_labels` does whatever the weights).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::moments::CompensatedSum;
use super::weighted::read_weights;
use super::{add_count, BLOCK};
use crate::column::{NativeLabel, Values};
use crate::dispatch_numeric;
use crate::error::{CoreError, Result};
use crate::plan::Label;

/// Integer labels below this get a direct-lookup table instead of a hash lookup.
const DENSE_LABELS: usize = 1024;
const NO_CODE: u32 = u32::MAX;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MulticlassConfusion {
    /// The label of each code.
    #[serde(with = "tagged_labels")]
    labels: Vec<Label>,
    /// Whether `labels` was declared (unknown labels are errors) or is discovered from data.
    fixed: bool,
    max_classes: usize,
    /// Row-major `k x k` counts, `counts[t * k + p]`.
    counts: Vec<u64>,
    /// Summed sample weights laid out as `counts` when weighted, else empty.
    weighted: bool,
    weights: Vec<CompensatedSum>,
    /// Σ w² per cell, laid out as `counts` when weighted: the effective sample size of weighted
    /// accuracy (its Wilson interval) and, with the rows and weights of each cell, the moments
    /// of the weight a row bootstrap draws from it (the weighted bootstrap).
    squares: Vec<CompensatedSum>,
    #[serde(skip)]
    coder: Coder,
}

impl PartialEq for MulticlassConfusion {
    fn eq(&self, other: &Self) -> bool {
        // Equal when they count the same (label, label) pairs, whatever the code order.
        if self.fixed != other.fixed
            || self.weighted != other.weighted
            || self.labels.len() != other.labels.len()
        {
            return false;
        }
        type Cell<'a> = (&'a Label, &'a Label, u64, u64, u64);
        fn sorted(m: &MulticlassConfusion) -> Vec<Cell<'_>> {
            let mut pairs = Vec::new();
            let k = m.labels.len();
            for t in 0..k {
                for p in 0..k {
                    let bits =
                        |v: &[CompensatedSum]| v.get(t * k + p).map_or(0, |w| w.value().to_bits());
                    let (w, q) = (bits(&m.weights), bits(&m.squares));
                    pairs.push((&m.labels[t], &m.labels[p], m.counts[t * k + p], w, q));
                }
            }
            pairs.sort();
            pairs
        }
        sorted(self) == sorted(other)
    }
}

/// `Label` is untagged in plan JSON; binary state formats (postcard) need an explicit tag.
mod tagged_labels {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::plan::Label;

    #[derive(Serialize, Deserialize)]
    enum Tagged {
        Int(i64),
        Str(String),
    }

    pub fn serialize<S: Serializer>(labels: &[Label], s: S) -> Result<S::Ok, S::Error> {
        let tagged: Vec<Tagged> = labels
            .iter()
            .map(|l| match l {
                Label::Int(v) => Tagged::Int(*v),
                Label::Str(v) => Tagged::Str(v.clone()),
            })
            .collect();
        tagged.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Label>, D::Error> {
        let tagged = Vec::<Tagged>::deserialize(d)?;
        Ok(tagged
            .into_iter()
            .map(|t| match t {
                Tagged::Int(v) => Label::Int(v),
                Tagged::Str(v) => Label::Str(v),
            })
            .collect())
    }
}

/// Label -> code lookups, rebuilt from `labels` after deserialisation.
#[derive(Debug, Clone, Default)]
struct Coder {
    index: HashMap<Label, u32>,
    dense: Vec<u32>,
}

impl Coder {
    fn from_labels(labels: &[Label]) -> Coder {
        let mut coder = Coder {
            index: HashMap::with_capacity(labels.len()),
            dense: vec![NO_CODE; DENSE_LABELS],
        };
        for (code, label) in labels.iter().enumerate() {
            coder.insert(label.clone(), code as u32);
        }
        coder
    }

    fn insert(&mut self, label: Label, code: u32) {
        if let Label::Int(v) = label {
            if let Ok(i) = usize::try_from(v) {
                if i < DENSE_LABELS {
                    self.dense[i] = code;
                }
            }
        }
        self.index.insert(label, code);
    }
}

/// Why a value could not get a code.
enum CodeError {
    NotALabel,
    Undeclared,
    TooMany,
}

impl MulticlassConfusion {
    pub fn new(labels: Option<Vec<Label>>, max_classes: usize) -> Self {
        let fixed = labels.is_some();
        let labels = labels.unwrap_or_default();
        let k = labels.len();
        MulticlassConfusion {
            coder: Coder::from_labels(&labels),
            labels,
            fixed,
            max_classes,
            counts: vec![0; k * k],
            weighted: false,
            weights: Vec::new(),
            squares: Vec::new(),
        }
    }

    /// An empty state that also sums sample weights.
    pub fn new_weighted(labels: Option<Vec<Label>>, max_classes: usize) -> Self {
        let mut state = Self::new(labels, max_classes);
        state.weighted = true;
        state.weights = vec![CompensatedSum::default(); state.counts.len()];
        state.squares = state.weights.clone();
        state
    }

    pub fn is_weighted(&self) -> bool {
        self.weighted
    }

    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    pub fn is_fixed(&self) -> bool {
        self.fixed
    }

    /// Count of (true = `t`, predicted = `p`) in code space.
    pub fn count(&self, t: usize, p: usize) -> u64 {
        self.counts[t * self.labels.len() + p]
    }

    fn ensure_coder(&mut self) {
        if self.coder.dense.is_empty() {
            self.coder = Coder::from_labels(&self.labels);
        }
    }

    /// Adds a class, growing the matrix (rare: once per new label).
    fn add_label(&mut self, label: Label) -> std::result::Result<u32, CodeError> {
        if self.fixed {
            return Err(CodeError::Undeclared);
        }
        if self.labels.len() >= self.max_classes {
            return Err(CodeError::TooMany);
        }
        let k = self.labels.len();
        let mut grown = vec![0u64; (k + 1) * (k + 1)];
        for t in 0..k {
            grown[t * (k + 1)..t * (k + 1) + k].copy_from_slice(&self.counts[t * k..t * k + k]);
        }
        self.counts = grown;
        if self.weighted {
            let grow = |v: &[CompensatedSum]| {
                let mut grown = vec![CompensatedSum::default(); (k + 1) * (k + 1)];
                for t in 0..k {
                    grown[t * (k + 1)..t * (k + 1) + k].copy_from_slice(&v[t * k..t * k + k]);
                }
                grown
            };
            self.weights = grow(&self.weights);
            self.squares = grow(&self.squares);
        }
        self.labels.push(label.clone());
        self.coder.insert(label, k as u32);
        Ok(k as u32)
    }

    fn code_label(&mut self, label: Label) -> std::result::Result<u32, CodeError> {
        match self.coder.index.get(&label) {
            Some(&c) => Ok(c),
            None => self.add_label(label),
        }
    }

    #[inline]
    fn code_int(&mut self, v: i64) -> std::result::Result<u32, CodeError> {
        if let Ok(i) = usize::try_from(v) {
            if i < DENSE_LABELS {
                let c = self.coder.dense[i];
                if c != NO_CODE {
                    return Ok(c);
                }
            }
        }
        self.code_label(Label::Int(v))
    }

    fn encode_numeric<T: NativeLabel>(
        &mut self,
        src: &[T],
        out: &mut [u32],
    ) -> std::result::Result<(), (usize, CodeError)> {
        for (i, (o, &x)) in out.iter_mut().zip(src).enumerate() {
            let label = x.to_label().ok_or((i, CodeError::NotALabel))?;
            *o = self.code_int(label).map_err(|e| (i, e))?;
        }
        Ok(())
    }

    fn encode(
        &mut self,
        values: Values<'_>,
        dict_codes: &[u32],
        out: &mut [u32],
    ) -> std::result::Result<(), (usize, CodeError)> {
        dispatch_numeric!(values,
            s => self.encode_numeric(s, out),
            Values::Dict { indices, .. } => {
                for (i, (o, &ix)) in out.iter_mut().zip(indices).enumerate() {
                    let code = usize::try_from(ix).ok().and_then(|ix| dict_codes.get(ix)).copied();
                    *o = match code {
                        Some(c) if c != NO_CODE => c,
                        _ => return Err((i, CodeError::NotALabel)),
                    };
                }
                Ok(())
            }
        )
    }

    /// Codes of a dictionary's entries; undeclared entries get a code only if they occur.
    fn dictionary_codes(&mut self, values: Values<'_>) -> std::result::Result<Vec<u32>, CodeError> {
        let Values::Dict {
            dictionary,
            indices,
        } = values
        else {
            return Ok(Vec::new());
        };
        let mut used = vec![false; dictionary.len()];
        for &ix in indices {
            if let Some(u) = usize::try_from(ix).ok().and_then(|ix| used.get_mut(ix)) {
                *u = true;
            }
        }
        dictionary
            .iter()
            .zip(used)
            .map(|(text, used)| {
                let label = Label::Str(text.clone());
                match self.coder.index.get(&label) {
                    Some(&c) => Ok(c),
                    None if used => self.add_label(label),
                    None => Ok(NO_CODE),
                }
            })
            .collect()
    }

    /// Folds one chunk in, with its sample weights when the state is weighted (labels are
    /// checked before weights, in the unweighted state's order).
    pub fn update(
        &mut self,
        (true_name, y_true): (&str, Values<'_>),
        (pred_name, y_pred): (&str, Values<'_>),
        weight: Option<(&str, Values<'_>)>,
    ) -> Result<()> {
        if self.weighted != weight.is_some() {
            return Err(CoreError::IncompatibleState(
                "multiclass confusion: weight column and state disagree".into(),
            ));
        }
        self.ensure_coder();
        let invalid = |name: &str, row: usize, err: CodeError, me: &Self| match err {
            CodeError::TooMany => CoreError::TooManyClasses {
                column: name.to_string(),
                limit: me.max_classes,
            },
            CodeError::NotALabel => CoreError::InvalidData {
                column: name.to_string(),
                message: "value is not a class label (labels are integers or strings)".into(),
                count: 1,
                first_row: row as u64,
            },
            CodeError::Undeclared => CoreError::InvalidData {
                column: name.to_string(),
                message: "label is not one of the declared labels".into(),
                count: 1,
                first_row: row as u64,
            },
        };
        let true_dict = self
            .dictionary_codes(y_true)
            .map_err(|e| invalid(true_name, 0, e, self))?;
        let pred_dict = self
            .dictionary_codes(y_pred)
            .map_err(|e| invalid(pred_name, 0, e, self))?;
        // A new label seen mid-chunk grows k, so counts are staged per block and only folded in
        // once the whole chunk is known to be valid (a failed update leaves the state untouched).
        let before = self.clone();
        // With weights, each row's (true, predicted) codes are kept until the whole chunk's
        // labels are known valid: labels are reported before weights, as without weights.
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut a = vec![0u32; BLOCK];
        let mut b = vec![0u32; BLOCK];
        let len = y_true.len();
        let mut start = 0;
        while start < len {
            let end = (start + BLOCK).min(len);
            let n = end - start;
            let res = self
                .encode(y_true.slice(start..end), &true_dict, &mut a[..n])
                .map_err(|(i, e)| invalid(true_name, start + i, e, self))
                .and_then(|_| {
                    self.encode(y_pred.slice(start..end), &pred_dict, &mut b[..n])
                        .map_err(|(i, e)| invalid(pred_name, start + i, e, self))
                });
            if let Err(e) = res {
                *self = before;
                return Err(e);
            }
            let k = self.labels.len();
            for (&t, &p) in a[..n].iter().zip(&b[..n]) {
                self.counts[t as usize * k + p as usize] += 1;
            }
            if weight.is_some() {
                pairs.extend(a[..n].iter().copied().zip(b[..n].iter().copied()));
            }
            start = end;
        }
        if let Some((name, values)) = weight {
            let w = match read_weights(name, values) {
                Ok(w) => w,
                Err(e) => {
                    *self = before;
                    return Err(e);
                }
            };
            let k = self.labels.len();
            // Squared weights are summed plainly per chunk (they only size intervals).
            let mut squares = vec![0.0f64; k * k];
            for (&(t, p), &wi) in pairs.iter().zip(&w) {
                let cell = t as usize * k + p as usize;
                self.weights[cell].add(wi);
                squares[cell] += wi * wi;
            }
            for (s, q) in self.squares.iter_mut().zip(squares) {
                s.add(q);
            }
        }
        Ok(())
    }

    pub fn merge(&mut self, other: &MulticlassConfusion) -> Result<()> {
        if self.weighted != other.weighted {
            return Err(CoreError::IncompatibleState(
                "weighted and unweighted multiclass states".into(),
            ));
        }
        if self.fixed != other.fixed || (self.fixed && self.labels != other.labels) {
            return Err(CoreError::IncompatibleState(
                "multiclass states declare different label sets".into(),
            ));
        }
        self.ensure_coder();
        let mut map = Vec::with_capacity(other.labels.len());
        for label in &other.labels {
            let code = self
                .code_label(label.clone())
                .map_err(|_| CoreError::TooManyClasses {
                    column: "<merged state>".into(),
                    limit: self.max_classes,
                })?;
            map.push(code as usize);
        }
        let (k, ko) = (self.labels.len(), other.labels.len());
        for t in 0..ko {
            for p in 0..ko {
                let cell = &mut self.counts[map[t] * k + map[p]];
                *cell = add_count(*cell, other.counts[t * ko + p], "multiclass confusion")?;
                if self.weighted {
                    self.weights[map[t] * k + map[p]].merge(&other.weights[t * ko + p]);
                    self.squares[map[t] * k + map[p]].merge(&other.squares[t * ko + p]);
                }
            }
        }
        Ok(())
    }

    /// The matrix in class order: declared order if labels were declared, else sorted labels
    /// (integers ascending, then strings), as scikit-learn's `unique_labels` orders them.
    pub fn ordered(&self) -> (Vec<Label>, Vec<u64>) {
        let (labels, order) = self.order();
        let k = order.len();
        let mut counts = vec![0u64; k * k];
        for (ti, &t) in order.iter().enumerate() {
            for (pi, &p) in order.iter().enumerate() {
                counts[ti * k + pi] = self.counts[t * k + p];
            }
        }
        (labels, counts)
    }

    /// The summed weights in the order of `ordered` (empty when unweighted).
    pub fn ordered_weights(&self) -> Vec<f64> {
        if !self.weighted {
            return Vec::new();
        }
        let (_, order) = self.order();
        let k = order.len();
        let mut out = vec![0.0; k * k];
        for (ti, &t) in order.iter().enumerate() {
            for (pi, &p) in order.iter().enumerate() {
                out[ti * k + pi] = self.weights[t * k + p].value();
            }
        }
        out
    }

    fn order(&self) -> (Vec<Label>, Vec<usize>) {
        let k = self.labels.len();
        let mut order: Vec<usize> = (0..k).collect();
        if !self.fixed {
            order.sort_by(|&a, &b| self.labels[a].cmp(&self.labels[b]));
        }
        (
            order.iter().map(|&i| self.labels[i].clone()).collect(),
            order,
        )
    }

    pub fn n(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `k x k` counts in code space (row-major, true x predicted).
    pub fn raw_counts(&self) -> &[u64] {
        &self.counts
    }

    /// The same classes with other counts (a bootstrap resample of `raw_counts`, unweighted);
    /// the result is for finalizing only (it has no coder, so it cannot be updated).
    pub fn with_counts(&self, counts: Vec<u64>) -> MulticlassConfusion {
        MulticlassConfusion {
            labels: self.labels.clone(),
            fixed: self.fixed,
            max_classes: self.max_classes,
            counts,
            weighted: false,
            weights: Vec::new(),
            squares: Vec::new(),
            coder: Coder::default(),
        }
    }

    /// The same classes with other rows and summed weights, both in code space (a weighted
    /// bootstrap resample of `raw_counts` and `raw_weights`); for finalizing only.
    pub fn with_weights(&self, counts: Vec<u64>, weights: &[f64]) -> MulticlassConfusion {
        let weights = weights
            .iter()
            .map(|&w| {
                let mut s = CompensatedSum::default();
                s.add(w);
                s
            })
            .collect();
        MulticlassConfusion {
            weighted: true,
            weights,
            ..self.with_counts(counts)
        }
    }

    /// (Σ w, Σ w²) per cell in code space, as `raw_counts`; empty when unweighted.
    pub fn raw_weights(&self) -> Vec<(f64, f64)> {
        self.weights
            .iter()
            .zip(&self.squares)
            .map(|(w, q)| (w.value(), q.value()))
            .collect()
    }

    /// (Σ w² of the correct rows, Σ w² of all rows); zeros when unweighted.
    pub fn squared_weights(&self) -> (f64, f64) {
        let k = self.labels.len();
        let (mut hits, mut all) = (CompensatedSum::default(), CompensatedSum::default());
        for (i, q) in self.squares.iter().enumerate() {
            all.merge(q);
            if i / k == i % k {
                hits.merge(q);
            }
        }
        (hits.value(), all.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_labels_and_merges_by_value() {
        let mut a = MulticlassConfusion::new(None, 10);
        a.update(
            ("t", Values::I64(&[2, 0, 2])),
            ("p", Values::I64(&[2, 2, 0])),
            None,
        )
        .unwrap();
        let mut b = MulticlassConfusion::new(None, 10);
        b.update(
            ("t", Values::I32(&[0, 5])),
            ("p", Values::I32(&[0, 2])),
            None,
        )
        .unwrap();
        a.merge(&b).unwrap();
        let (labels, counts) = a.ordered();
        assert_eq!(labels, vec![Label::Int(0), Label::Int(2), Label::Int(5)]);
        assert_eq!(counts, vec![1, 1, 0, 1, 1, 0, 0, 1, 0]);
    }

    #[test]
    fn weighted_matrix_merges_by_label_and_validates_labels_first() {
        let mut a = MulticlassConfusion::new_weighted(None, 10);
        a.update(
            ("t", Values::I64(&[2, 0, 2])),
            ("p", Values::I64(&[2, 2, 0])),
            Some(("w", Values::F64(&[0.5, 1.0, 2.0]))),
        )
        .unwrap();
        let mut b = MulticlassConfusion::new_weighted(None, 10);
        b.update(
            ("t", Values::I64(&[0, 2])),
            ("p", Values::I64(&[0, 2])),
            Some(("w", Values::F64(&[3.0, 0.25]))),
        )
        .unwrap();
        a.merge(&b).unwrap();
        let (labels, counts) = a.ordered();
        assert_eq!(labels, vec![Label::Int(0), Label::Int(2)]);
        assert_eq!(counts, vec![1, 1, 1, 2]);
        assert_eq!(a.ordered_weights(), vec![3.0, 1.0, 2.0, 0.75]);
        // A bad label is reported before a bad weight, and leaves the state as it was.
        let before = a.clone();
        let err = a
            .update(
                ("t", Values::F64(&[0.0, 0.5])),
                ("p", Values::I64(&[0, 0])),
                Some(("w", Values::F64(&[-1.0, 1.0]))),
            )
            .unwrap_err();
        assert!(matches!(err, CoreError::InvalidData { ref column, .. } if column == "t"));
        assert_eq!(a, before);
        assert!(a.merge(&MulticlassConfusion::new(None, 10)).is_err());
    }

    #[test]
    fn failed_update_leaves_state_untouched() {
        let labels = vec![Label::Int(0), Label::Int(1)];
        let mut a = MulticlassConfusion::new(Some(labels), 10);
        a.update(
            ("t", Values::I64(&[0, 1])),
            ("p", Values::I64(&[0, 1])),
            None,
        )
        .unwrap();
        let before = a.clone();
        let err = a
            .update(
                ("t", Values::I64(&[0, 1, 7])),
                ("p", Values::I64(&[0, 1, 1])),
                None,
            )
            .unwrap_err();
        assert!(matches!(err, CoreError::InvalidData { first_row: 2, .. }));
        assert_eq!(a, before);
    }

    #[test]
    fn caps_the_number_of_classes() {
        let mut a = MulticlassConfusion::new(None, 3);
        let t: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let err = a
            .update(("t", Values::F64(&t)), ("p", Values::F64(&t)), None)
            .unwrap_err();
        assert!(matches!(err, CoreError::TooManyClasses { limit: 3, .. }));
        let frac = [0.5];
        let err = a
            .update(("t", Values::F64(&frac)), ("p", Values::F64(&frac)), None)
            .unwrap_err();
        assert!(matches!(err, CoreError::InvalidData { .. }));
    }
}

//! Borrowed views of one chunk's columns, in their native dtypes (no copies).

use crate::error::{CoreError, Result};

/// One column of a chunk, borrowed from the caller's buffers.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    Bool(&'a [bool]),
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    /// Dictionary-encoded labels (strings): `indices[i]` points into `dictionary`.
    Dict {
        dictionary: &'a [String],
        indices: &'a [i32],
    },
}

impl<'a> Values<'a> {
    pub fn len(&self) -> usize {
        match self {
            Values::Bool(v) => v.len(),
            Values::I8(v) => v.len(),
            Values::I16(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::U8(v) => v.len(),
            Values::U16(v) => v.len(),
            Values::U32(v) => v.len(),
            Values::U64(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Dict { indices, .. } => indices.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows `range` of this column (no copy).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Values<'a> {
        match *self {
            Values::Bool(v) => Values::Bool(&v[range]),
            Values::I8(v) => Values::I8(&v[range]),
            Values::I16(v) => Values::I16(&v[range]),
            Values::I32(v) => Values::I32(&v[range]),
            Values::I64(v) => Values::I64(&v[range]),
            Values::U8(v) => Values::U8(&v[range]),
            Values::U16(v) => Values::U16(&v[range]),
            Values::U32(v) => Values::U32(&v[range]),
            Values::U64(v) => Values::U64(&v[range]),
            Values::F32(v) => Values::F32(&v[range]),
            Values::F64(v) => Values::F64(&v[range]),
            Values::Dict {
                dictionary,
                indices,
            } => Values::Dict {
                dictionary,
                indices: &indices[range],
            },
        }
    }

    pub fn is_float(&self) -> bool {
        matches!(self, Values::F32(_) | Values::F64(_))
    }
}

/// Numbers that can be read as f64 (exactly, for every integer up to 2^53).
pub trait AsF64: Copy + Send + Sync {
    fn as_f64(self) -> f64;
}

macro_rules! as_f64_impl {
    ($($t:ty),*) => {$(
        impl AsF64 for $t {
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
as_f64_impl!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl AsF64 for bool {
    #[inline(always)]
    fn as_f64(self) -> f64 {
        if self {
            1.0
        } else {
            0.0
        }
    }
}

/// Values that can be compared with an integer class label in their own type (so the kernels
/// compare `i8` with `i8`, not `f64` with `f64`, and vectorise wide).
pub trait NativeLabel: AsF64 + PartialEq {
    /// `label` in this type, or `None` when no value of this type equals it.
    fn from_label(label: i64) -> Option<Self>;
    /// This value as an integer class label, or `None` when it is not one (a fractional,
    /// non-finite or out-of-range number). Floats are labels when integral (1.0 is class 1), as
    /// scikit-learn accepts them.
    fn to_label(self) -> Option<i64>;
}

macro_rules! native_label_int {
    ($($t:ty),*) => {$(
        impl NativeLabel for $t {
            #[inline(always)]
            fn from_label(label: i64) -> Option<Self> {
                <$t>::try_from(label).ok()
            }
            #[inline(always)]
            fn to_label(self) -> Option<i64> {
                i64::try_from(self).ok()
            }
        }
    )*};
}
native_label_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl NativeLabel for bool {
    fn from_label(label: i64) -> Option<Self> {
        match label {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    #[inline(always)]
    fn to_label(self) -> Option<i64> {
        Some(self as i64)
    }
}

/// Integral floats below 2^53 (where every integer is exact) are labels.
#[inline(always)]
fn float_label(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() <= 9.007_199_254_740_992e15).then_some(v as i64)
}

impl NativeLabel for f32 {
    fn from_label(label: i64) -> Option<Self> {
        let v = label as f32;
        (v as i64 == label).then_some(v)
    }
    #[inline(always)]
    fn to_label(self) -> Option<i64> {
        float_label(self as f64)
    }
}

impl NativeLabel for f64 {
    fn from_label(label: i64) -> Option<Self> {
        let v = label as f64;
        (v as i64 == label).then_some(v)
    }
    #[inline(always)]
    fn to_label(self) -> Option<i64> {
        float_label(self)
    }
}

/// Runs `$body` with `$slice` bound to the typed slice of a numeric `Values`; `$dict` handles
/// dictionary-encoded columns.
#[macro_export]
macro_rules! dispatch_numeric {
    ($values:expr, $slice:ident => $body:expr, $dict:pat => $dict_body:expr) => {
        match $values {
            $crate::column::Values::Bool($slice) => $body,
            $crate::column::Values::I8($slice) => $body,
            $crate::column::Values::I16($slice) => $body,
            $crate::column::Values::I32($slice) => $body,
            $crate::column::Values::I64($slice) => $body,
            $crate::column::Values::U8($slice) => $body,
            $crate::column::Values::U16($slice) => $body,
            $crate::column::Values::U32($slice) => $body,
            $crate::column::Values::U64($slice) => $body,
            $crate::column::Values::F32($slice) => $body,
            $crate::column::Values::F64($slice) => $body,
            $dict => $dict_body,
        }
    };
}

/// A chunk: named columns of equal length.
#[derive(Debug, Default, Clone)]
pub struct Chunk<'a> {
    columns: Vec<(String, Values<'a>)>,
    len: Option<usize>,
}

impl<'a> Chunk<'a> {
    pub fn new() -> Self {
        Chunk::default()
    }

    /// Adds a column; every column of a chunk must have the same length.
    pub fn with(mut self, name: impl Into<String>, values: Values<'a>) -> Result<Self> {
        let name = name.into();
        match self.len {
            Some(len) if len != values.len() => {
                return Err(CoreError::BadChunk(format!(
                    "column {name:?} has {} rows but the other columns have {len}",
                    values.len()
                )))
            }
            _ => self.len = Some(values.len()),
        }
        self.columns.push((name, values));
        Ok(self)
    }

    pub fn len(&self) -> usize {
        self.len.unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows `range` of every column.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Chunk<'a> {
        Chunk {
            columns: self
                .columns
                .iter()
                .map(|(name, values)| (name.clone(), values.slice(range.clone())))
                .collect(),
            len: self.len.map(|_| range.len()),
        }
    }

    pub fn get(&self, name: &str) -> Result<Values<'a>> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| CoreError::BadChunk(format!("the chunk has no column {name:?}")))
    }
}

/// A column copied out of a chunk (the rows of one cell, gathered).
#[derive(Debug, Clone)]
pub enum OwnedValues {
    Bool(Vec<bool>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Dict {
        dictionary: Vec<String>,
        indices: Vec<i32>,
    },
}

impl OwnedValues {
    /// The rows `rows` of `values`, in that order.
    pub fn gather(values: Values<'_>, rows: &[u32]) -> OwnedValues {
        fn pick<T: Copy>(s: &[T], rows: &[u32]) -> Vec<T> {
            rows.iter().map(|&r| s[r as usize]).collect()
        }
        match values {
            Values::Bool(s) => OwnedValues::Bool(pick(s, rows)),
            Values::I8(s) => OwnedValues::I8(pick(s, rows)),
            Values::I16(s) => OwnedValues::I16(pick(s, rows)),
            Values::I32(s) => OwnedValues::I32(pick(s, rows)),
            Values::I64(s) => OwnedValues::I64(pick(s, rows)),
            Values::U8(s) => OwnedValues::U8(pick(s, rows)),
            Values::U16(s) => OwnedValues::U16(pick(s, rows)),
            Values::U32(s) => OwnedValues::U32(pick(s, rows)),
            Values::U64(s) => OwnedValues::U64(pick(s, rows)),
            Values::F32(s) => OwnedValues::F32(pick(s, rows)),
            Values::F64(s) => OwnedValues::F64(pick(s, rows)),
            Values::Dict {
                dictionary,
                indices,
            } => OwnedValues::Dict {
                dictionary: dictionary.to_vec(),
                indices: pick(indices, rows),
            },
        }
    }

    pub fn view(&self) -> Values<'_> {
        match self {
            OwnedValues::Bool(v) => Values::Bool(v),
            OwnedValues::I8(v) => Values::I8(v),
            OwnedValues::I16(v) => Values::I16(v),
            OwnedValues::I32(v) => Values::I32(v),
            OwnedValues::I64(v) => Values::I64(v),
            OwnedValues::U8(v) => Values::U8(v),
            OwnedValues::U16(v) => Values::U16(v),
            OwnedValues::U32(v) => Values::U32(v),
            OwnedValues::U64(v) => Values::U64(v),
            OwnedValues::F32(v) => Values::F32(v),
            OwnedValues::F64(v) => Values::F64(v),
            OwnedValues::Dict {
                dictionary,
                indices,
            } => Values::Dict {
                dictionary,
                indices,
            },
        }
    }
}

impl<'a> Chunk<'a> {
    /// The names and values of every column.
    pub fn columns(&self) -> impl Iterator<Item = (&str, Values<'a>)> + '_ {
        self.columns.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

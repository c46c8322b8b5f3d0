//! numpy arrays (any supported dtype) -> borrowed core columns, without copying.

use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use scoreboard_core::Values;

/// A column held alive (and read-only) while the kernels borrow it.
pub enum HeldColumn<'py> {
    Bool(PyReadonlyArray1<'py, bool>),
    I8(PyReadonlyArray1<'py, i8>),
    I16(PyReadonlyArray1<'py, i16>),
    I32(PyReadonlyArray1<'py, i32>),
    I64(PyReadonlyArray1<'py, i64>),
    U8(PyReadonlyArray1<'py, u8>),
    U16(PyReadonlyArray1<'py, u16>),
    U32(PyReadonlyArray1<'py, u32>),
    U64(PyReadonlyArray1<'py, u64>),
    F32(PyReadonlyArray1<'py, f32>),
    F64(PyReadonlyArray1<'py, f64>),
    Dict {
        dictionary: Vec<String>,
        indices: PyReadonlyArray1<'py, i32>,
    },
}

fn extract_array<'py>(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<HeldColumn<'py>> {
    macro_rules! try_dtype {
        ($($variant:ident: $t:ty),*) => {$(
            if let Ok(a) = obj.extract::<PyReadonlyArray1<'py, $t>>() {
                return Ok(HeldColumn::$variant(a));
            }
        )*};
    }
    try_dtype!(F64: f64, F32: f32, I64: i64, I32: i32, Bool: bool, U8: u8, I8: i8, I16: i16,
               U16: u16, U32: u32, U64: u64);
    Err(PyTypeError::new_err(format!(
        "column {name:?}: expected a 1-D numpy array of bool, int, uint or float, or a \
         (dictionary, int32 indices) pair"
    )))
}

/// Reads `{name: array | (list[str], int32 array)}`.
pub fn extract_columns<'py>(
    columns: &Bound<'py, PyDict>,
) -> PyResult<Vec<(String, HeldColumn<'py>)>> {
    let mut out = Vec::with_capacity(columns.len());
    for (key, value) in columns.iter() {
        let name: String = key.extract()?;
        let held = if let Ok(pair) = value.cast::<PyTuple>() {
            if pair.len() != 2 {
                return Err(PyTypeError::new_err(format!(
                    "column {name:?}: a dictionary column is a (dictionary, indices) pair"
                )));
            }
            HeldColumn::Dict {
                dictionary: pair.get_item(0)?.extract()?,
                indices: pair.get_item(1)?.extract()?,
            }
        } else {
            extract_array(&name, &value)?
        };
        out.push((name, held));
    }
    Ok(out)
}

fn slice<'a, T: numpy::Element>(name: &str, a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyTypeError::new_err(format!("column {name:?}: the array must be contiguous")))
}

/// Borrows the held column as core values.
pub fn view<'a>(name: &str, held: &'a HeldColumn<'_>) -> PyResult<Values<'a>> {
    Ok(match held {
        HeldColumn::Bool(a) => Values::Bool(slice(name, a)?),
        HeldColumn::I8(a) => Values::I8(slice(name, a)?),
        HeldColumn::I16(a) => Values::I16(slice(name, a)?),
        HeldColumn::I32(a) => Values::I32(slice(name, a)?),
        HeldColumn::I64(a) => Values::I64(slice(name, a)?),
        HeldColumn::U8(a) => Values::U8(slice(name, a)?),
        HeldColumn::U16(a) => Values::U16(slice(name, a)?),
        HeldColumn::U32(a) => Values::U32(slice(name, a)?),
        HeldColumn::U64(a) => Values::U64(slice(name, a)?),
        HeldColumn::F32(a) => Values::F32(slice(name, a)?),
        HeldColumn::F64(a) => Values::F64(slice(name, a)?),
        HeldColumn::Dict {
            dictionary,
            indices,
        } => Values::Dict {
            dictionary,
            indices: slice(name, indices)?,
        },
    })
}

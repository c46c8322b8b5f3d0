//! `scoreboard._core`: the PyO3 adapter over scoreboard-core. No algorithms live here: arrays
//! come in, the core runs with the GIL released, results and errors go out.

mod arrays;
mod errors;
mod executor;

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Raises a Rust panic inside a guarded entry point, to test that it surfaces as
/// `ScoreboardInternalError` and never as `PanicException`.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    errors::guard(py, || py.detach(|| panic!("deliberate panic for tests")))
}

/// Dictionary encoding of fixed-width text: `data` is a numpy `U` array viewed as its UCS-4 code
/// units (uint32), `width` units per row. Returns the index of every row in first-seen order
/// (int32) and the distinct values (trailing NULs dropped, as numpy reads them).
#[pyfunction]
fn encode_text<'py>(
    py: Python<'py>,
    data: PyReadonlyArray1<'py, u32>,
    width: usize,
) -> PyResult<(Bound<'py, PyArray1<i32>>, Vec<String>)> {
    let units = data
        .as_slice()
        .map_err(|_| PyValueError::new_err("text code units must be contiguous"))?;
    if width == 0 || units.len() % width != 0 {
        return Err(PyValueError::new_err(format!(
            "{} code units do not make rows of width {width}",
            units.len()
        )));
    }
    let (indices, first_rows) = errors::guard(py, || {
        Ok(py.detach(|| scoreboard_core::text::dictionary_indices(units, width)))
    })?;
    let values = first_rows
        .iter()
        .map(|&row| scoreboard_core::text::ucs4_text(&units[row * width..(row + 1) * width]))
        .collect();
    Ok((indices.into_pyarray(py), values))
}

/// (minimum, maximum) of a non-empty int64 array in one pass: a service's watermark and
/// lateness check cost two numpy reductions otherwise.
#[pyfunction]
fn extent(values: PyReadonlyArray1<'_, i64>) -> PyResult<(i64, i64)> {
    let values = values.as_array();
    let first = *values
        .iter()
        .next()
        .ok_or_else(|| PyValueError::new_err("extent of an empty array"))?;
    Ok(values
        .iter()
        .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v))))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::quiet_panics();
    m.add_class::<executor::PyExecutor>()?;
    m.add("STATE_VERSION", scoreboard_core::executor::STATE_VERSION)?;
    m.add(
        "PLAN_FORMAT_VERSION",
        scoreboard_core::plan::PLAN_FORMAT_VERSION,
    )?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(encode_text, m)?)?;
    m.add_function(wrap_pyfunction!(extent, m)?)?;
    m.add(
        "__all__",
        vec![
            "PLAN_FORMAT_VERSION",
            "STATE_VERSION",
            "Executor",
            "encode_text",
            "extent",
        ],
    )?;
    Ok(())
}

//! `scoreboard._core`: the PyO3 adapter over scoreboard-core. No algorithms live here: arrays
//! come in, the core runs with the GIL released, results and errors go out.

mod arrays;
mod errors;
mod executor;

use pyo3::prelude::*;

/// Raises a Rust panic inside a guarded entry point, to test that it surfaces as
/// `ScoreboardInternalError` and never as `PanicException`.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    errors::guard(py, || py.detach(|| panic!("deliberate panic for tests")))
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
    m.add(
        "__all__",
        vec!["PLAN_FORMAT_VERSION", "STATE_VERSION", "Executor"],
    )?;
    Ok(())
}

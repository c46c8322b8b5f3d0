//! Core errors and panics -> the Python exception tree of `scoreboard.exceptions`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use scoreboard_core::CoreError;

fn raise(py: Python<'_>, class: &str, message: String, kwargs: Option<Bound<'_, PyDict>>) -> PyErr {
    let built = py
        .import("scoreboard.exceptions")
        .and_then(|m| m.getattr(class))
        .and_then(|cls| cls.call((message.clone(),), kwargs.as_ref()));
    match built {
        Ok(exc) => PyErr::from_value(exc),
        Err(import_failure) => import_failure,
    }
}

/// Maps a core error to `DataError`, `IncompatibleStateError` or `PlanError`.
pub fn to_py(py: Python<'_>, err: CoreError) -> PyErr {
    let message = err.to_string();
    let kwargs = PyDict::new(py);
    match err {
        CoreError::InvalidData {
            column,
            message,
            count,
            first_row,
        } => {
            let _ = kwargs.set_item("column", column);
            let _ = kwargs.set_item("row", first_row);
            let text = if count > 1 {
                format!("{message} ({count} rows)")
            } else {
                message
            };
            raise(py, "DataError", text, Some(kwargs))
        }
        CoreError::TooManyClasses { column, .. } => {
            let _ = kwargs.set_item("column", column);
            raise(py, "DataError", message, Some(kwargs))
        }
        CoreError::BadChunk(_) | CoreError::Overflow(_) => raise(py, "DataError", message, None),
        CoreError::IncompatibleState(_) | CoreError::CorruptState(_) => {
            raise(py, "IncompatibleStateError", message, None)
        }
        CoreError::InvalidPlan(_) => raise(py, "PlanError", message, None),
    }
}

/// Runs `f`, turning a Rust panic into `ScoreboardInternalError` (a panic must never reach
/// Python as `PanicException`, which derives from `BaseException`).
pub fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(raise(
                py,
                "ScoreboardInternalError",
                format!("internal error in the Rust core (please report it): {detail}"),
                None,
            ))
        }
    }
}

/// Panics inside the core are caught by `guard` and raised as `ScoreboardInternalError` with
/// their message; Rust's default hook would also print them (and a backtrace) on stderr.
pub fn quiet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::env::var_os("SCOREBOARD_DEBUG").is_some() {
            default(info);
        }
    }));
}

//! `Executor`: a plan's streaming state, for Python.

use std::sync::Mutex;

use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use scoreboard_core::cells::KeyColumn;
use scoreboard_core::plan::Label;
use scoreboard_core::{Chunk, CoreError, Executor, MetricValue, Plan};

use crate::arrays::{extract_columns, view};
use crate::errors::{guard, to_py};

/// Accumulator state of one compiled plan. Thread-safe: concurrent calls serialise on an internal
/// lock taken with the GIL released, so other Python threads keep running.
#[pyclass(module = "scoreboard._core", name = "Executor", frozen)]
pub struct PyExecutor {
    inner: Mutex<Executor>,
}

fn poisoned<T>(_: T) -> CoreError {
    CoreError::IncompatibleState("the executor was left inconsistent by an earlier panic".into())
}

impl PyExecutor {
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Executor) -> Result<T, CoreError> + Send,
    ) -> PyResult<T> {
        guard(py, || {
            py.detach(|| {
                let mut inner = self.inner.lock().map_err(poisoned)?;
                f(&mut inner)
            })
            .map_err(|e| to_py(py, e))
        })
    }
}

fn label_to_py<'py>(py: Python<'py>, label: &Label) -> PyResult<Bound<'py, PyAny>> {
    Ok(match label {
        Label::Int(v) => v.into_pyobject(py)?.into_any(),
        Label::Str(s) => s.into_pyobject(py)?.into_any(),
    })
}

fn values_to_py(py: Python<'_>, values: Vec<MetricValue>) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    // Interned keys: a fine-grained report (hourly windows x segments) builds these dicts by the
    // hundred thousand.
    for v in values {
        let d = PyDict::new(py);
        d.set_item(intern!(py, "name"), &v.name)?;
        match &v.class {
            Some(label) => d.set_item(intern!(py, "class"), label_to_py(py, label)?)?,
            None => d.set_item(intern!(py, "class"), py.None())?,
        }
        d.set_item(intern!(py, "value"), v.value)?;
        d.set_item(intern!(py, "n"), v.n)?;
        d.set_item(intern!(py, "reason"), v.reason)?;
        d.set_item(intern!(py, "error_bound"), v.error_bound)?;
        d.set_item(intern!(py, "ci_low"), v.ci_low)?;
        d.set_item(intern!(py, "ci_high"), v.ci_high)?;
        out.append(d)?;
    }
    Ok(out)
}

/// One key component held alive while the core borrows it.
enum HeldKey<'py> {
    Values(PyReadonlyArray1<'py, i64>),
    Panes {
        stamps: PyReadonlyArray1<'py, i64>,
        unit_ns: i64,
        origin_ns: i64,
        width_ns: i64,
        column: String,
    },
    Codes {
        indices: PyReadonlyArray1<'py, i32>,
        codes: PyReadonlyArray1<'py, i64>,
    },
    Constant(i64),
}

fn contiguous<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyTypeError::new_err("cell key arrays must be contiguous"))
}

impl<'py> HeldKey<'py> {
    fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let Ok(tuple) = obj.cast::<PyTuple>() else {
            return obj.extract().map(HeldKey::Values).map_err(|_| {
                PyTypeError::new_err(
                    "a cell key is an int64 array or a (\"panes\" | \"codes\" | \"constant\", \
                     ...) tuple",
                )
            });
        };
        let tag: String = tuple.get_item(0)?.extract()?;
        match (tag.as_str(), tuple.len()) {
            ("panes", 6) => Ok(HeldKey::Panes {
                stamps: tuple.get_item(1)?.extract()?,
                unit_ns: tuple.get_item(2)?.extract()?,
                origin_ns: tuple.get_item(3)?.extract()?,
                width_ns: tuple.get_item(4)?.extract()?,
                column: tuple.get_item(5)?.extract()?,
            }),
            ("codes", 3) => Ok(HeldKey::Codes {
                indices: tuple.get_item(1)?.extract()?,
                codes: tuple.get_item(2)?.extract()?,
            }),
            ("constant", 2) => Ok(HeldKey::Constant(tuple.get_item(1)?.extract()?)),
            _ => Err(PyTypeError::new_err(format!(
                "bad cell key tuple {tag:?} of {} items: expected (\"panes\", stamps, unit_ns, \
                 origin_ns, width_ns, column), (\"codes\", indices, codes) or (\"constant\", \
                 value)",
                tuple.len()
            ))),
        }
    }

    fn view(&self) -> PyResult<KeyColumn<'_>> {
        Ok(match self {
            HeldKey::Values(v) => KeyColumn::Values(contiguous(v)?),
            HeldKey::Panes {
                stamps,
                unit_ns,
                origin_ns,
                width_ns,
                column,
            } => KeyColumn::Panes {
                column,
                stamps: contiguous(stamps)?,
                unit_ns: *unit_ns,
                origin_ns: *origin_ns,
                width_ns: *width_ns,
            },
            HeldKey::Codes { indices, codes } => KeyColumn::Codes {
                indices: contiguous(indices)?,
                codes: contiguous(codes)?,
            },
            HeldKey::Constant(value) => KeyColumn::Constant(*value),
        })
    }
}

#[pymethods]
impl PyExecutor {
    /// A fresh (empty) state for the plan given as JSON.
    #[new]
    fn new(py: Python<'_>, plan_json: &str) -> PyResult<Self> {
        guard(py, || {
            let plan = Plan::from_json(plan_json).map_err(|e| to_py(py, e))?;
            Ok(PyExecutor {
                inner: Mutex::new(Executor::new(plan)),
            })
        })
    }

    /// Folds one chunk in: `{column: numpy array | (dictionary: list[str], indices: int32 array)}`.
    /// `keys`, when given, name each row's cell, one entry per key component: an int64 array of
    /// the values, `("panes", stamps, unit_ns, origin_ns, width_ns, column)` (int64 timestamps
    /// in `unit_ns` units; the pane of `t` is `floor((t * unit_ns - origin_ns) / width_ns)`), or
    /// `("codes", indices, codes)` (int32 dictionary indices, int64 code per entry), or
    /// `("constant", value)` (every row's key).
    /// The GIL is released while the kernels run. All or nothing: a rejected chunk changes nothing.
    #[pyo3(signature = (columns, keys=None))]
    fn update(
        &self,
        py: Python<'_>,
        columns: &Bound<'_, PyDict>,
        keys: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<()> {
        let held = extract_columns(columns)?;
        let mut chunk = Chunk::new();
        for (name, column) in &held {
            chunk = chunk
                .with(name.clone(), view(name, column)?)
                .map_err(|e| to_py(py, e))?;
        }
        let held_keys = keys
            .unwrap_or_default()
            .iter()
            .map(HeldKey::extract)
            .collect::<PyResult<Vec<_>>>()?;
        let key_columns = held_keys
            .iter()
            .map(HeldKey::view)
            .collect::<PyResult<Vec<_>>>()?;
        self.with(py, |exec| exec.update_cells(&chunk, &key_columns))
    }

    /// Sets key component `component` to `to` in every cell whose value there is in `values`,
    /// merging cells whose keys become equal (cell ids are renumbered).
    fn collapse(
        &self,
        py: Python<'_>,
        component: usize,
        values: Vec<i64>,
        to: i64,
    ) -> PyResult<()> {
        self.with(py, |exec| exec.collapse(component, &values, to))
    }

    /// The key of every cell, by cell id.
    fn cell_keys(&self, py: Python<'_>) -> PyResult<Vec<Vec<i64>>> {
        self.with(py, |exec| Ok(exec.cell_keys().to_vec()))
    }

    /// Rows folded into each cell, by cell id.
    fn cell_rows(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        self.with(py, |exec| Ok(exec.cell_rows()))
    }

    /// Finalized metrics over the union of `cells` (ids from `cell_keys`).
    fn results_for<'py>(&self, py: Python<'py>, cells: Vec<u32>) -> PyResult<Bound<'py, PyList>> {
        let values = self.with(py, |exec| exec.results_for(&cells))?;
        values_to_py(py, values)
    }
    /// A new state holding only the merge of `cells`.
    fn subset(&self, py: Python<'_>, cells: Vec<u32>) -> PyResult<Self> {
        let exec = self.with(py, |exec| exec.subset(&cells))?;
        Ok(PyExecutor {
            inner: Mutex::new(exec),
        })
    }

    /// Folds another state of the same plan into this one. `key_maps[k]`, when not empty,
    /// translates the other state's key component `k` (`key_maps[k][old] = new`).
    #[pyo3(signature = (other, key_maps=None))]
    fn merge(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyExecutor>,
        key_maps: Option<Vec<Vec<i64>>>,
    ) -> PyResult<()> {
        let theirs = {
            let other = other.get();
            if std::ptr::eq(other, self) {
                self.inner
                    .lock()
                    .map_err(|e| to_py(py, poisoned(e)))?
                    .clone()
            } else {
                other
                    .inner
                    .lock()
                    .map_err(|e| to_py(py, poisoned(e)))?
                    .clone()
            }
        };
        let maps = key_maps.unwrap_or_default();
        self.with(py, |exec| exec.merge_mapped(&theirs, &maps))
    }

    /// Finalized metrics: a list of `{name, class, value, n, reason, error_bound, ci_low, ci_high}`
    /// dicts.
    fn results<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let values = self.with(py, |exec| Ok(exec.results()))?;
        values_to_py(py, values)
    }

    /// The state as versioned bytes (carries the plan hash).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(py, |exec| exec.to_bytes())?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// A state read back from `to_bytes` for the plan given as JSON.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, plan_json: &str, data: &[u8]) -> PyResult<Self> {
        guard(py, || {
            let plan = Plan::from_json(plan_json).map_err(|e| to_py(py, e))?;
            let exec = Executor::from_bytes(plan, data).map_err(|e| to_py(py, e))?;
            Ok(PyExecutor {
                inner: Mutex::new(exec),
            })
        })
    }

    /// An independent copy of this state.
    fn copy(&self, py: Python<'_>) -> PyResult<Self> {
        let exec = self.with(py, |exec| Ok(exec.clone()))?;
        Ok(PyExecutor {
            inner: Mutex::new(exec),
        })
    }

    /// Rows folded in so far.
    #[getter]
    fn rows(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |exec| Ok(exec.rows()))
    }

    /// The plan hash this state belongs to.
    #[getter]
    fn plan_hash(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |exec| Ok(exec.plan().plan_hash.clone()))
    }
}

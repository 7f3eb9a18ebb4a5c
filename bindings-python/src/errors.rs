//! Core errors → the Python exception classes defined in `ory_iam.errors` (one per kind,
//! rooted at `IamError`), with `code`, `status`, `tenant`, `request_id`, `retry_after`, `fields`.

use crate::convert::to_py;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

pub fn to_pyerr(py: Python<'_>, e: ory_iam::Error) -> PyErr {
    match build(py, &e) {
        Ok(err) => err,
        // The errors module is part of the package; if it cannot load, say so without details.
        Err(_) => PyRuntimeError::new_err(format!("{} ({})", e, e.code())),
    }
}

fn build(py: Python<'_>, e: &ory_iam::Error) -> PyResult<PyErr> {
    let m = ERRORS.get_or_try_init(py, || py.import("ory_iam.errors").map(|m| m.unbind()))?.bind(py);
    let j = e.to_json();
    let cls = m.getattr(j["class"].as_str().unwrap_or("IamError"))?;
    let kwargs = PyDict::new(py);
    for k in ["code", "status", "tenant", "request_id", "retry_after", "fields"] {
        kwargs.set_item(k, to_py(py, &j[k])?)?;
    }
    let inst = cls.call((j["message"].as_str().unwrap_or_default(),), Some(&kwargs))?;
    Ok(PyErr::from_value(inst))
}

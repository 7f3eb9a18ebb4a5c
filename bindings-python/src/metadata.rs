use crate::convert::want_str;
use crate::runtime::{core, spawn};
use pyo3::prelude::*;

/// Diagnostics about the Ory servers of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "MetadataService", frozen)]
#[derive(Clone)]
pub struct PyMetadataService(pub ory_iam::MetadataService);
crate::handle::handle_basics!(PyMetadataService, "MetadataService");

#[pymethods]
impl PyMetadataService {
    fn version<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.0.clone();
        spawn(py, async move { s.version().await })
    }

    fn discover_jwks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.0.clone();
        spawn(py, async move { s.discover_jwks().await })
    }
}

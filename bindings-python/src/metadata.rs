use crate::convert::want_str;
use crate::runtime::{core, spawn};
use pyo3::prelude::*;

/// Diagnostics about the Ory servers of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "MetadataService", frozen)]
#[derive(Clone)]
pub struct PyMetadataService(pub ory_iam::MetadataService);

#[pymethods]
impl PyMetadataService {
    fn for_tenant(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Self> {
        let name = core(py, want_str(name, "name"))?;
        core(py, self.0.for_tenant(&name)).map(Self)
    }

    #[getter]
    fn tenant(&self) -> &str {
        self.0.tenant()
    }

    fn version<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.0.clone();
        spawn(py, async move { s.version().await })
    }

    fn discover_jwks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.0.clone();
        spawn(py, async move { s.discover_jwks().await })
    }

    fn __repr__(&self) -> String {
        format!("MetadataService(tenant={:?})", self.0.tenant())
    }
}

//! SchemaService and CourierService.

use crate::convert::{from_py, want_str};
use crate::pager::PyPager;
use crate::runtime::{core, spawn};
use ory_iam::dto::{parse_input, ListCourierMessages};
use pyo3::prelude::*;

/// Identity schemas of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "SchemaService", frozen)]
#[derive(Clone)]
pub struct PySchemaService(pub ory_iam::SchemaService);
crate::handle::handle_basics!(PySchemaService, "SchemaService");

#[pymethods]
impl PySchemaService {
    fn list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.0.clone();
        spawn(py, async move { s.list().await })
    }

    fn get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get(&id).await })
    }
}

/// Courier messages of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "CourierService", frozen)]
#[derive(Clone)]
pub struct PyCourierService(pub ory_iam::CourierService);
crate::handle::handle_basics!(PyCourierService, "CourierService");

#[pymethods]
impl PyCourierService {
    fn list<'py>(&self, py: Python<'py>, opts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let opts: ListCourierMessages = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.list(opts).await })
    }

    fn list_all(&self, py: Python<'_>, opts: &Bound<'_, PyAny>) -> PyResult<PyPager> {
        let opts: ListCourierMessages = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        Ok(PyPager::new(self.0.list_all(opts)))
    }

    #[pyo3(signature = (id, include_body=false))]
    fn get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>, include_body: bool) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get(&id, include_body).await })
    }
}

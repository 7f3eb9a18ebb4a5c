use crate::convert::{from_py, want_str};
use crate::pager::PyPager;
use crate::runtime::{core, spawn};
use ory_iam::dto::{
    parse_input, CheckOptions, DeleteMatching, ExpandQuery, PermissionPatch, PermissionQuery, PermissionTuple,
};
use pyo3::prelude::*;

/// Permissions of one tenant (Keto).
#[pyclass(module = "ory_iam._ory_iam", name = "PermissionService", frozen)]
#[derive(Clone)]
pub struct PyPermissionService(pub ory_iam::PermissionService);
crate::handle::handle_basics!(PyPermissionService, "PermissionService");

fn tuple(py: Python<'_>, t: &Bound<'_, PyAny>) -> PyResult<PermissionTuple> {
    core(py, from_py(t, "").and_then(|v| parse_input("tuple", v)))
}

#[pymethods]
impl PyPermissionService {
    fn check<'py>(
        &self,
        py: Python<'py>,
        t: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = tuple(py, t)?;
        let opts: CheckOptions = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.check(&t, opts).await })
    }

    fn check_batch<'py>(&self, py: Python<'py>, tuples: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let mut list = Vec::new();
        for item in tuples.try_iter()? {
            list.push(tuple(py, &item?)?);
        }
        let s = self.0.clone();
        spawn(py, async move { s.check_batch(&list).await })
    }

    fn grant<'py>(&self, py: Python<'py>, t: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let t = tuple(py, t)?;
        let s = self.0.clone();
        spawn(py, async move { s.grant(&t).await })
    }

    fn revoke<'py>(&self, py: Python<'py>, t: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let t = tuple(py, t)?;
        let s = self.0.clone();
        spawn(py, async move { s.revoke(&t).await })
    }

    fn patch<'py>(&self, py: Python<'py>, entries: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let mut list: Vec<PermissionPatch> = Vec::new();
        for (i, item) in entries.try_iter()?.enumerate() {
            let item = item?;
            list.push(core(py, from_py(&item, "").and_then(|v| parse_input(&format!("patch[{i}]"), v)))?);
        }
        let s = self.0.clone();
        spawn(py, async move { s.patch(&list).await })
    }

    fn delete_matching<'py>(&self, py: Python<'py>, q: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let q: DeleteMatching = core(py, from_py(q, "").and_then(|v| parse_input("query", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.delete_matching(&q).await })
    }

    fn check_opl_syntax<'py>(&self, py: Python<'py>, opl: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let opl = core(py, want_str(opl, "opl"))?;
        let s = self.0.clone();
        spawn(py, async move { s.check_opl_syntax(&opl).await })
    }

    fn namespaces<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.0.clone();
        spawn(py, async move { s.namespaces().await })
    }

    fn list<'py>(&self, py: Python<'py>, q: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let q: PermissionQuery = core(py, from_py(q, "").and_then(|v| parse_input("query", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.list(q).await })
    }

    fn list_all(&self, py: Python<'_>, q: &Bound<'_, PyAny>) -> PyResult<PyPager> {
        let q: PermissionQuery = core(py, from_py(q, "").and_then(|v| parse_input("query", v)))?;
        Ok(PyPager::new(self.0.list_all(q)))
    }

    fn expand<'py>(&self, py: Python<'py>, q: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let q: ExpandQuery = core(py, from_py(q, "").and_then(|v| parse_input("query", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.expand(q).await })
    }
}

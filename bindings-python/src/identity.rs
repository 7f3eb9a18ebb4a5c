use crate::convert::{from_py, want_opt, want_str};
use crate::pager::PyPager;
use crate::runtime::{core, spawn};
use ory_iam::dto::{parse_input, CreateIdentity, ListIdentities, ListSessions, RecoveryOptions};
use pyo3::prelude::*;

/// Kratos identities of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "IdentityService", frozen)]
#[derive(Clone)]
pub struct PyIdentityService(pub ory_iam::IdentityService);
crate::handle::handle_basics!(PyIdentityService, "IdentityService");

#[pymethods]
impl PyIdentityService {
    fn get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get(&id).await })
    }

    fn get_with_traits<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get_with_traits(&id).await })
    }

    fn create<'py>(&self, py: Python<'py>, input: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let input: CreateIdentity = core(py, from_py(input, "").and_then(|v| parse_input("input", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.create(input).await })
    }

    fn create_many<'py>(&self, py: Python<'py>, inputs: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let mut list: Vec<CreateIdentity> = Vec::new();
        for (i, item) in inputs.try_iter()?.enumerate() {
            let item = item?;
            list.push(core(py, from_py(&item, "").and_then(|v| parse_input(&format!("inputs[{i}]"), v)))?);
        }
        let s = self.0.clone();
        spawn(py, async move { s.create_many(list).await })
    }

    fn list<'py>(&self, py: Python<'py>, opts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let opts: ListIdentities = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.list(opts).await })
    }

    #[pyo3(signature = (page_size=None))]
    fn list_all(&self, py: Python<'_>, page_size: Option<&Bound<'_, PyAny>>) -> PyResult<PyPager> {
        let page_size = core(py, want_opt(page_size, "page_size"))?;
        Ok(PyPager::new(self.0.list_all(page_size)))
    }

    fn update_traits<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        traits: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let traits = core(py, from_py(traits, "traits"))?;
        let s = self.0.clone();
        spawn(py, async move { s.update_traits(&id, traits).await })
    }

    fn patch<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        ops: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let ops = core(py, from_py(ops, "ops"))?;
        let s = self.0.clone();
        spawn(py, async move { s.patch(&id, ops).await })
    }

    fn list_sessions<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let opts: ListSessions = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.list_sessions(&id, opts).await })
    }

    #[pyo3(signature = (id, active=None))]
    fn list_sessions_all(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        active: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyPager> {
        let id = core(py, want_str(id, "id"))?;
        let active = core(py, want_opt(active, "active"))?;
        Ok(PyPager::new(self.0.list_sessions_all(&id, active)))
    }

    fn revoke_session<'py>(&self, py: Python<'py>, session_id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(session_id, "session_id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.revoke_session(&id).await })
    }

    fn revoke_sessions<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.revoke_sessions(&id).await })
    }

    fn create_recovery_link<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let opts: RecoveryOptions = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.create_recovery_link(&id, opts).await })
    }

    fn create_recovery_code<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let opts: RecoveryOptions = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.create_recovery_code(&id, opts).await })
    }

    fn extend_session<'py>(&self, py: Python<'py>, session_id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(session_id, "session_id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.extend_session(&id).await })
    }

    fn get_credentials<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get_credentials(&id).await })
    }

    #[pyo3(signature = (id, credential_type, identifier=None))]
    fn delete_credential<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        credential_type: &Bound<'py, PyAny>,
        identifier: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let ty = core(py, want_str(credential_type, "type"))?;
        let s = self.0.clone();
        spawn(py, async move { s.delete_credential(&id, &ty, identifier.as_deref()).await })
    }

    fn delete<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.delete(&id).await })
    }
}

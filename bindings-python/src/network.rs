//! Ory Network control plane: projects, workspaces, event streams.

use crate::convert::{from_py, want_str};
use crate::pager::PyPager;
use crate::runtime::{core, spawn};
use ory_iam::dto::{parse_input, CreateApiKey, CreateProject, EventStreamInput, ListWorkspaces, WorkspaceName};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

fn input<T: DeserializeOwned>(py: Python<'_>, v: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    core(py, from_py(v, "").and_then(|v| parse_input(what, v)))
}

fn s(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    core(py, want_str(v, name))
}

/// Ory Network projects.
#[pyclass(module = "ory_iam._ory_iam", name = "ProjectAdminService", frozen)]
#[derive(Clone)]
pub struct PyProjectAdminService(pub ory_iam::ProjectAdminService);
crate::handle::handle_basics!(PyProjectAdminService, "ProjectAdminService");

#[pymethods]
impl PyProjectAdminService {
    fn create<'py>(&self, py: Python<'py>, body: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let b: CreateProject = input(py, body, "project")?;
        let x = self.0.clone();
        spawn(py, async move { x.create(b).await })
    }
    fn list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let x = self.0.clone();
        spawn(py, async move { x.list().await })
    }
    fn get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = s(py, id, "id")?;
        let x = self.0.clone();
        spawn(py, async move { x.get(&id).await })
    }
    fn set<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = s(py, id, "id")?;
        let b = core(py, from_py(body, "project"))?;
        let x = self.0.clone();
        spawn(py, async move { x.set(&id, b).await })
    }
    fn purge<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = s(py, id, "id")?;
        let x = self.0.clone();
        spawn(py, async move { x.purge(&id).await })
    }
    fn list_members<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = s(py, id, "id")?;
        let x = self.0.clone();
        spawn(py, async move { x.list_members(&id).await })
    }
}

/// Ory Network workspaces.
#[pyclass(module = "ory_iam._ory_iam", name = "WorkspaceAdminService", frozen)]
#[derive(Clone)]
pub struct PyWorkspaceAdminService(pub ory_iam::WorkspaceAdminService);
crate::handle::handle_basics!(PyWorkspaceAdminService, "WorkspaceAdminService");

#[pymethods]
impl PyWorkspaceAdminService {
    fn create<'py>(&self, py: Python<'py>, name: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let n = input::<WorkspaceName>(py, name, "name")?.name();
        let x = self.0.clone();
        spawn(py, async move { x.create(&n).await })
    }
    fn list<'py>(&self, py: Python<'py>, opts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let o: ListWorkspaces = input(py, opts, "options")?;
        let x = self.0.clone();
        spawn(py, async move { x.list(o).await })
    }
    #[pyo3(signature = (page_size=None))]
    fn list_all(&self, py: Python<'_>, page_size: Option<&Bound<'_, PyAny>>) -> PyResult<PyPager> {
        let page_size = core(py, crate::convert::want_opt(page_size, "page_size"))?;
        Ok(PyPager::new(self.0.list_all(page_size)))
    }
    fn get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = s(py, id, "id")?;
        let x = self.0.clone();
        spawn(py, async move { x.get(&id).await })
    }
    fn update<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = s(py, id, "id")?;
        let n = input::<WorkspaceName>(py, name, "name")?.name();
        let x = self.0.clone();
        spawn(py, async move { x.update(&id, &n).await })
    }
    fn list_projects<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = s(py, id, "id")?;
        let x = self.0.clone();
        spawn(py, async move { x.list_projects(&id).await })
    }
}

/// The API-key methods projects and workspaces share (`{owner}/{id}/tokens` in the console;
/// one implementation in the core, `network::KeyScope`), written once for both classes.
macro_rules! api_key_methods {
    ($ty:ident) => {
        #[pymethods]
        impl $ty {
            fn create_api_key<'py>(
                &self,
                py: Python<'py>,
                id: &Bound<'py, PyAny>,
                body: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let id = s(py, id, "id")?;
                let b: CreateApiKey = input(py, body, "api_key")?;
                let x = self.0.clone();
                spawn(py, async move { x.create_api_key(&id, b).await })
            }
            fn list_api_keys<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
                let id = s(py, id, "id")?;
                let x = self.0.clone();
                spawn(py, async move { x.list_api_keys(&id).await })
            }
            fn delete_api_key<'py>(
                &self,
                py: Python<'py>,
                id: &Bound<'py, PyAny>,
                key_id: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let id = s(py, id, "id")?;
                let key = s(py, key_id, "key_id")?;
                let x = self.0.clone();
                spawn(py, async move { x.delete_api_key(&id, &key).await })
            }
        }
    };
}

api_key_methods!(PyProjectAdminService);
api_key_methods!(PyWorkspaceAdminService);

/// Event streams of Ory Network projects.
#[pyclass(module = "ory_iam._ory_iam", name = "EventsService", frozen)]
#[derive(Clone)]
pub struct PyEventsService(pub ory_iam::EventsService);
crate::handle::handle_basics!(PyEventsService, "EventsService");

#[pymethods]
impl PyEventsService {
    fn create<'py>(
        &self,
        py: Python<'py>,
        project_id: &Bound<'py, PyAny>,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = s(py, project_id, "project_id")?;
        let b: EventStreamInput = input(py, body, "stream")?;
        let x = self.0.clone();
        spawn(py, async move { x.create(&p, b).await })
    }
    fn list<'py>(&self, py: Python<'py>, project_id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let p = s(py, project_id, "project_id")?;
        let x = self.0.clone();
        spawn(py, async move { x.list(&p).await })
    }
    fn set<'py>(
        &self,
        py: Python<'py>,
        project_id: &Bound<'py, PyAny>,
        stream_id: &Bound<'py, PyAny>,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = s(py, project_id, "project_id")?;
        let sid = s(py, stream_id, "stream_id")?;
        let b: EventStreamInput = input(py, body, "stream")?;
        let x = self.0.clone();
        spawn(py, async move { x.set(&p, &sid, b).await })
    }
    fn delete<'py>(
        &self,
        py: Python<'py>,
        project_id: &Bound<'py, PyAny>,
        stream_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = s(py, project_id, "project_id")?;
        let sid = s(py, stream_id, "stream_id")?;
        let x = self.0.clone();
        spawn(py, async move { x.delete(&p, &sid).await })
    }
}

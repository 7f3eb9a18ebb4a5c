use crate::convert::{from_py, want_str};
use crate::runtime::{core, spawn};
use ory_iam::dto::{parse_input, FlowKind, InitiateFlow, SubmitFlow};
use ory_iam::Secret;
use pyo3::prelude::*;

/// Self-service flows of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "FlowService", frozen)]
#[derive(Clone)]
pub struct PyFlowService(pub ory_iam::FlowService);
crate::handle::handle_basics!(PyFlowService, "FlowService");

fn kind(py: Python<'_>, k: &Bound<'_, PyAny>) -> PyResult<FlowKind> {
    let s = core(py, want_str(k, "kind"))?;
    core(
        py,
        FlowKind::parse(&s).ok_or_else(|| {
            ory_iam::Error::invalid_field("kind", "must be login, registration, recovery, settings or verification")
        }),
    )
}

fn secret(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<Secret> {
    // Accept the package's `Secret` wrapper as well as a plain str.
    let v = if v.hasattr("expose")? { v.call_method0("expose")? } else { v.clone() };
    core(py, want_str(&v, name)).map(Secret::new)
}

#[pymethods]
impl PyFlowService {
    /// `initiate(kind, options)`; the package exposes `initiate_login` etc.
    fn initiate<'py>(
        &self,
        py: Python<'py>,
        kind: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = self::kind(py, kind)?;
        let opts: InitiateFlow = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.initiate(k, opts).await })
    }

    fn submit<'py>(
        &self,
        py: Python<'py>,
        kind: &Bound<'py, PyAny>,
        flow_id: &Bound<'py, PyAny>,
        body: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = self::kind(py, kind)?;
        let id = core(py, want_str(flow_id, "flow_id"))?;
        let body = core(py, from_py(body, "body"))?;
        let opts: SubmitFlow = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.submit(k, &id, body, opts).await })
    }

    fn get_error<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get_error(&id).await })
    }

    fn fetch_flow<'py>(
        &self,
        py: Python<'py>,
        kind: &Bound<'py, PyAny>,
        flow_id: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = self::kind(py, kind)?;
        let id = core(py, want_str(flow_id, "flow_id"))?;
        let opts: SubmitFlow = core(py, from_py(opts, "").and_then(|v| parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.fetch_flow(k, &id, opts).await })
    }

    #[pyo3(signature = (cookie, return_to=None))]
    fn initiate_browser_logout<'py>(
        &self,
        py: Python<'py>,
        cookie: &Bound<'py, PyAny>,
        return_to: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cookie = secret(py, cookie, "cookie")?;
        let s = self.0.clone();
        spawn(py, async move { s.initiate_browser_logout(&cookie, return_to).await })
    }

    #[pyo3(signature = (logout_token, cookie=None))]
    fn submit_browser_logout<'py>(
        &self,
        py: Python<'py>,
        logout_token: &Bound<'py, PyAny>,
        cookie: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = secret(py, logout_token, "logout_token")?;
        let cookie = cookie.map(|c| secret(py, c, "cookie")).transpose()?;
        let s = self.0.clone();
        spawn(py, async move { s.submit_browser_logout(&token, cookie.as_ref()).await })
    }

    fn exchange_session_token<'py>(
        &self,
        py: Python<'py>,
        init_code: &Bound<'py, PyAny>,
        return_to_code: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let init = secret(py, init_code, "init_code")?;
        let code = secret(py, return_to_code, "return_to_code")?;
        let s = self.0.clone();
        spawn(py, async move { s.exchange_session_token(&init, &code).await.map(ory_iam::dto::FlowResult::Success) })
    }

    fn perform_native_logout<'py>(
        &self,
        py: Python<'py>,
        session_token: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = secret(py, session_token, "session_token")?;
        let s = self.0.clone();
        spawn(py, async move { s.perform_native_logout(&token).await })
    }
}

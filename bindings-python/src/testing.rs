//! `ory_iam.testing.FakeOry`: the core's in-memory Ory servers, for testing users' code.

use crate::runtime::{core, spawn};
use crate::PyIam;
use ory_iam::testing::{AuthorizeRequest, FakeClient, FakeOry};
use pyo3::prelude::*;
use std::collections::BTreeMap;

/// In-memory Kratos, Keto and Hydra behind an ordinary `Iam`.
#[pyclass(module = "ory_iam._ory_iam", name = "FakeOry", frozen)]
pub struct PyFakeOry(FakeOry);

impl PyFakeOry {
    fn tenant(&self, tenant: Option<String>) -> String {
        tenant.unwrap_or_else(|| self.0.default_tenant().to_owned())
    }
}

#[pymethods]
impl PyFakeOry {
    #[staticmethod]
    fn create(py: Python<'_>, tenants: Vec<String>) -> PyResult<Self> {
        let names: Vec<&str> = tenants.iter().map(String::as_str).collect();
        core(py, FakeOry::new(&names)).map(PyFakeOry)
    }

    /// Fake servers configured from JSON options (`tenants`, `identity_schemas`,
    /// `default_schema_id`, `keto_namespaces`, `client_scope`), read by the core.
    #[staticmethod]
    fn create_with(py: Python<'_>, options_json: &str) -> PyResult<Self> {
        let parsed = serde_json::from_str::<serde_json::Value>(options_json)
            .map_err(|_| ory_iam::Error::invalid_field("options", "must be JSON"))
            .and_then(|v| ory_iam::testing::FakeOptions::from_value(&v))
            .and_then(FakeOry::with_options);
        core(py, parsed).map(PyFakeOry)
    }

    #[getter]
    fn iam(&self) -> PyIam {
        PyIam(self.0.iam())
    }

    #[getter]
    fn tenants(&self) -> Vec<String> {
        self.0.tenants()
    }

    #[getter]
    fn default_tenant(&self) -> &str {
        self.0.default_tenant()
    }

    /// `(session_id, token, cookie)`; the package wraps the token and cookie in `Secret`s.
    #[pyo3(signature = (identity_id, tenant=None))]
    fn create_session(
        &self,
        py: Python<'_>,
        identity_id: &str,
        tenant: Option<String>,
    ) -> PyResult<(String, String, String)> {
        let c = core(py, self.0.create_session(&self.tenant(tenant), identity_id))?;
        Ok((c.session_id, c.token.expose().to_owned(), c.cookie.expose().to_owned()))
    }

    #[pyo3(signature = (session_id, tenant=None))]
    fn expire_session<'py>(
        &self,
        py: Python<'py>,
        session_id: String,
        tenant: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fake = self.0.clone();
        let tenant = self.tenant(tenant);
        spawn(py, async move { fake.expire_session(&tenant, &session_id).await })
    }

    #[pyo3(signature = (client_id, client_secret=None, scope=Vec::new(), tenant=None))]
    fn add_oauth2_client(
        &self,
        py: Python<'_>,
        client_id: String,
        client_secret: Option<String>,
        scope: Vec<String>,
        tenant: Option<String>,
    ) -> PyResult<()> {
        let client = FakeClient { client_id, client_secret: client_secret.map(ory_iam::Secret::new), scope };
        core(py, self.0.add_oauth2_client(&self.tenant(tenant), client))
    }

    /// The token's value; the package wraps it in a `Secret`.
    #[pyo3(signature = (client_id, scope=Vec::new(), tenant=None))]
    fn issue_token(
        &self,
        py: Python<'_>,
        client_id: &str,
        scope: Vec<String>,
        tenant: Option<String>,
    ) -> PyResult<String> {
        let scope: Vec<&str> = scope.iter().map(String::as_str).collect();
        core(py, self.0.issue_token(&self.tenant(tenant), client_id, &scope)).map(|s| s.expose().to_owned())
    }

    /// `FakeOry::authorize`: the URL the fake Hydra redirects the browser to.
    #[pyo3(signature = (client_id, redirect_uri, scope, state, code_challenge=None, code_challenge_method=None, audience=None, nonce=None, response_type=None, tenant=None))]
    #[allow(clippy::too_many_arguments)]
    fn authorize(
        &self,
        py: Python<'_>,
        client_id: String,
        redirect_uri: String,
        scope: String,
        state: String,
        code_challenge: Option<String>,
        code_challenge_method: Option<String>,
        audience: Option<String>,
        nonce: Option<String>,
        response_type: Option<String>,
        tenant: Option<String>,
    ) -> PyResult<String> {
        let req = AuthorizeRequest {
            client_id,
            redirect_uri,
            scope,
            state,
            response_type,
            code_challenge,
            code_challenge_method,
            audience,
            nonce,
        };
        core(py, self.0.authorize(&self.tenant(tenant), req))
    }

    /// `FakeOry::follow`: the next redirect of a `redirect_to`.
    #[pyo3(signature = (url, tenant=None))]
    fn follow(&self, py: Python<'_>, url: &str, tenant: Option<String>) -> PyResult<String> {
        core(py, self.0.follow(&self.tenant(tenant), url))
    }

    fn requests(&self) -> BTreeMap<String, u64> {
        self.0.requests()
    }

    fn __repr__(&self) -> String {
        format!("FakeOry(tenants={:?})", self.0.tenants())
    }
}

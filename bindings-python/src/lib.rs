//! Python binding of ory-iam: thin classes over the Rust core. Every method clones a handle,
//! converts its arguments, awaits the core and converts the result — no business rules here.

mod answer;
mod config;
mod convert;
mod errors;
mod flow;
mod handle;
mod hydra;
mod identity;
mod inputs;
mod kratos_misc;
mod logging;
mod metadata;
mod network;
mod pager;
mod permission;
mod runtime;
mod session;
mod testing;

use convert::to_py;
use flow::PyFlowService;
use hydra::{PyConsentService, PyJwkService, PyOAuth2ClientService, PyTokenService, PyTrustedIssuerService};
use identity::PyIdentityService;
use kratos_misc::{PyCourierService, PySchemaService};
use metadata::PyMetadataService;
use network::{PyEventsService, PyProjectAdminService, PyWorkspaceAdminService};
use permission::PyPermissionService;
use pyo3::prelude::*;
use runtime::{core, spawn};
use session::PySessionService;
use std::sync::Arc;

/// Sends audit events to a Python callable (given a dict per event).
struct PyCallbackSink(Py<PyAny>);

impl ory_iam::AuditSink for PyCallbackSink {
    fn emit(&self, event: &ory_iam::AuditEvent) {
        runtime::with_python(|py| {
            let Ok(v) = serde_json::to_value(event) else {
                return;
            };
            if let Ok(d) = to_py(py, &v) {
                // A failing user callback must not break the operation that emitted the event.
                if let Err(e) = self.0.call1(py, (d,)) {
                    e.write_unraisable(py, None);
                }
            }
        });
    }
}

#[pyclass(module = "ory_iam._ory_iam", name = "Iam", frozen)]
pub struct PyIam(ory_iam::Iam);

fn build(py: Python<'_>, cfg: ory_iam::Result<ory_iam::IamConfig>, audit: Option<Py<PyAny>>) -> PyResult<PyIam> {
    let cfg = core(py, cfg)?;
    let mut b = ory_iam::Iam::builder(cfg);
    if let Some(cb) = audit {
        b = b.audit_sink(Arc::new(PyCallbackSink(cb)));
    }
    core(py, b.build()).map(PyIam)
}

#[pymethods]
impl PyIam {
    #[staticmethod]
    #[pyo3(signature = (config, audit_callback=None))]
    fn from_config(py: Python<'_>, config: &Bound<'_, PyAny>, audit_callback: Option<Py<PyAny>>) -> PyResult<Self> {
        runtime::guard(py, || build(py, config::config_from_py(config), audit_callback))
    }

    #[staticmethod]
    #[pyo3(signature = (path, audit_callback=None))]
    fn from_file(py: Python<'_>, path: std::path::PathBuf, audit_callback: Option<Py<PyAny>>) -> PyResult<Self> {
        runtime::guard(py, || {
            let cfg = py.detach(|| ory_iam::IamConfig::from_file(&path));
            build(py, cfg, audit_callback)
        })
    }

    #[staticmethod]
    #[pyo3(signature = (audit_callback=None))]
    fn from_env(py: Python<'_>, audit_callback: Option<Py<PyAny>>) -> PyResult<Self> {
        runtime::guard(py, || build(py, ory_iam::IamConfig::from_env(), audit_callback))
    }

    #[getter]
    fn identity(&self) -> PyIdentityService {
        PyIdentityService(self.0.identity())
    }

    #[getter]
    fn project_admin(&self) -> PyProjectAdminService {
        PyProjectAdminService(self.0.project_admin())
    }

    #[getter]
    fn workspace_admin(&self) -> PyWorkspaceAdminService {
        PyWorkspaceAdminService(self.0.workspace_admin())
    }

    #[getter]
    fn events(&self) -> PyEventsService {
        PyEventsService(self.0.events())
    }

    #[getter]
    fn token(&self) -> PyTokenService {
        PyTokenService(self.0.token())
    }

    #[getter]
    fn oauth2_client(&self) -> PyOAuth2ClientService {
        PyOAuth2ClientService(self.0.oauth2_client())
    }

    #[getter]
    fn consent(&self) -> PyConsentService {
        PyConsentService(self.0.consent())
    }

    #[getter]
    fn jwk(&self) -> PyJwkService {
        PyJwkService(self.0.jwk())
    }

    #[getter]
    fn trusted_issuer(&self) -> PyTrustedIssuerService {
        PyTrustedIssuerService(self.0.trusted_issuer())
    }

    #[getter]
    fn permission(&self) -> PyPermissionService {
        PyPermissionService(self.0.permission())
    }

    #[getter]
    fn schema(&self) -> PySchemaService {
        PySchemaService(self.0.schema())
    }

    #[getter]
    fn courier(&self) -> PyCourierService {
        PyCourierService(self.0.courier())
    }

    #[getter]
    fn flow(&self) -> PyFlowService {
        PyFlowService(self.0.flow())
    }

    #[getter]
    fn session(&self) -> PySessionService {
        PySessionService(self.0.session())
    }

    #[getter]
    fn metadata(&self) -> PyMetadataService {
        PyMetadataService(self.0.metadata())
    }

    #[getter]
    fn tenants(&self) -> Vec<String> {
        self.0.tenants()
    }

    #[getter]
    fn default_tenant(&self) -> &str {
        self.0.default_tenant()
    }

    /// The tenant's configured `transport` (`None`: the default tenant).
    #[pyo3(signature = (tenant=None))]
    fn transport_of(&self, py: Python<'_>, tenant: Option<&str>) -> PyResult<&'static str> {
        core(py, self.0.transport_of(tenant)).map(|t| t.as_str())
    }

    /// Audit a framework adapter's role refusal: `authz.role.deny` (`denied`) through the
    /// tenant's sink (`None`: the default tenant).
    #[pyo3(signature = (tenant=None, *, required_roles, actor=None, route=None, request_id=None))]
    fn audit_role_denial(
        &self,
        py: Python<'_>,
        tenant: Option<&str>,
        required_roles: Vec<String>,
        actor: Option<&str>,
        route: Option<&str>,
        request_id: Option<&str>,
    ) -> PyResult<()> {
        core(py, self.0.audit_role_denial(tenant, actor, &required_roles, route, request_id))
    }

    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let iam = self.0.clone();
        spawn(py, async move { Ok(iam.health().await) })
    }

    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let iam = self.0.clone();
        spawn(py, async move {
            iam.close().await;
            Ok(())
        })
    }

    fn __repr__(&self) -> String {
        format!("Iam(tenants={:?}, default_tenant={:?})", self.0.tenants(), self.0.default_tenant())
    }
}

#[pymodule]
fn _ory_iam(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install();
    runtime::install_panic_hook();
    m.add_class::<PyIam>()?;
    m.add_class::<PyIdentityService>()?;
    m.add_class::<PyMetadataService>()?;
    m.add_class::<PySessionService>()?;
    m.add_class::<PyFlowService>()?;
    m.add_class::<PySchemaService>()?;
    m.add_class::<PyPermissionService>()?;
    m.add_class::<PyTokenService>()?;
    m.add_class::<PyProjectAdminService>()?;
    m.add_class::<PyWorkspaceAdminService>()?;
    m.add_class::<PyEventsService>()?;
    m.add_class::<PyOAuth2ClientService>()?;
    m.add_class::<PyConsentService>()?;
    m.add_class::<PyJwkService>()?;
    m.add_class::<PyTrustedIssuerService>()?;
    m.add_class::<PyCourierService>()?;
    m.add_class::<pager::PyPager>()?;
    m.add_class::<testing::PyFakeOry>()?;
    m.add_function(wrap_pyfunction!(answer::http_answer, m)?)?;
    m.add_function(wrap_pyfunction!(answer::roles_of, m)?)?;
    m.add_function(wrap_pyfunction!(answer::health_answer, m)?)?;
    m.add_function(wrap_pyfunction!(answer::request_id_for, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_blocking_run, m)?)?;
    m.add_function(wrap_pyfunction!(config::_accepted_config_keys, m)?)?;
    m.add_function(wrap_pyfunction!(inputs::_input_keys, m)?)?;
    #[cfg(debug_assertions)]
    m.add_function(wrap_pyfunction!(runtime::_debug_panic, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

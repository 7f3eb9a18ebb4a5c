//! The core's HTTP answer policy (`ory_iam::answer`) for the Starlette/FastAPI adapters:
//! convert the facts, call the core, convert the answer.

use crate::convert::{from_py, to_py};
use crate::runtime::core;
use ory_iam::answer::{self, AnswerContext, ErrorFacts};
use ory_iam::{FieldError, Transport};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// `fields` as `IamError.fields` carries them: dicts with a str `path` and `reason`; anything
/// else in the list is left out (it only ever shapes a 400's body).
fn fields_of(fields: Option<&Bound<'_, PyAny>>) -> Vec<FieldError> {
    let Some(list) = fields.filter(|f| !f.is_none()) else {
        return Vec::new();
    };
    let Ok(iter) = list.try_iter() else {
        return Vec::new();
    };
    iter.flatten()
        .filter_map(|item| {
            let path = item.get_item("path").ok()?.extract::<String>().ok()?;
            let reason = item.get_item("reason").ok()?.extract::<String>().ok()?;
            Some(FieldError { path, reason, ..Default::default() })
        })
        .collect()
}

pub fn transport_of(name: Option<&str>) -> ory_iam::Result<Transport> {
    match name {
        None => Ok(Transport::default()),
        Some(s) => Transport::parse(s).ok_or_else(|| {
            ory_iam::Error::invalid_field("transport", "must be one of cookie, bearer, cookie-or-bearer, oathkeeper")
        }),
    }
}

/// `(status, headers, body)` for an error's facts; see `ory_iam.http_answer`.
#[pyfunction]
#[pyo3(signature = (
    code, *, request_id=None, retry_after=None, fields=None, tenant=None,
    transport=None, realm=None, bearer_presented=false, required_scopes=None, retry_after_fallback=None
))]
#[allow(clippy::too_many_arguments)]
pub fn http_answer<'py>(
    py: Python<'py>,
    code: &str,
    request_id: Option<String>,
    retry_after: Option<f64>,
    fields: Option<&Bound<'py, PyAny>>,
    tenant: Option<String>,
    transport: Option<&str>,
    realm: Option<String>,
    bearer_presented: bool,
    required_scopes: Option<Vec<String>>,
    retry_after_fallback: Option<f64>,
) -> PyResult<Bound<'py, PyTuple>> {
    let facts = ErrorFacts {
        request_id,
        retry_after: retry_after.and_then(answer::wait_from_secs),
        fields: fields_of(fields),
        tenant,
        ..ErrorFacts::from_code(code)
    };
    let ctx = AnswerContext {
        transport: core(py, transport_of(transport))?,
        realm,
        bearer_presented,
        required_scopes: required_scopes.unwrap_or_default(),
        retry_after_fallback: retry_after_fallback.and_then(answer::wait_from_secs),
    };
    let a = answer::http_answer(&facts, &ctx);
    let headers = PyDict::new(py);
    for (k, v) in &a.headers {
        headers.set_item(k, v)?;
    }
    PyTuple::new(py, [a.status.into_pyobject(py)?.into_any(), headers.into_any(), to_py(py, &a.body_json())?])
}

/// `(status, body)` of a readiness route for a health report (`healthy`, and each probe as
/// `(tenant, product, healthy)`); see `ory_iam.health_answer`.
#[pyfunction]
pub fn health_answer<'py>(
    py: Python<'py>,
    healthy: bool,
    probes: Vec<(String, String, bool)>,
) -> PyResult<Bound<'py, PyTuple>> {
    let (status, body) = answer::health_answer(healthy, probes.iter().map(|(t, p, h)| (t.as_str(), p.as_str(), *h)));
    PyTuple::new(py, [status.into_pyobject(py)?.into_any(), to_py(py, &body)?])
}

/// The roles of an identity: `metadata_public["roles"]` when that key is set, else
/// `traits["roles"]` (strings only; the core's rule, the same in Node).
#[pyfunction]
#[pyo3(signature = (metadata_public, traits=None))]
pub fn roles_of(metadata_public: &Bound<'_, PyAny>, traits: Option<&Bound<'_, PyAny>>) -> Vec<String> {
    // A value that is not JSON (it never comes from Kratos like that) holds no roles.
    let json = |v: &Bound<'_, PyAny>, what: &str| from_py(v, what).ok();
    let m = json(metadata_public, "metadata_public");
    if m.is_none() && !metadata_public.is_none() {
        return Vec::new();
    }
    let t = traits.and_then(|t| json(t, "traits"));
    answer::roles_of_identity(m.as_ref(), t.as_ref())
}

/// The request id to serve one application request under: `incoming` (an `X-Request-Id`
/// header) when it is 1–200 visible ASCII characters, else a new UUID v4.
#[pyfunction]
#[pyo3(signature = (incoming=None))]
pub fn request_id_for(incoming: Option<&str>) -> String {
    ory_iam::request_id_for(incoming)
}

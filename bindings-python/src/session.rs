use crate::convert::want_str;
use crate::runtime::{core, guard, ready, spawn};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

/// Sessions of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "SessionService", frozen)]
#[derive(Clone)]
pub struct PySessionService(pub ory_iam::SessionService);
crate::handle::handle_basics!(PySessionService, "SessionService");

fn text(v: &Bound<'_, PyAny>) -> Option<String> {
    if let Ok(s) = v.cast::<PyString>() {
        return s.to_str().ok().map(str::to_owned);
    }
    // ASGI/WSGI raw headers are bytes (latin-1 per the HTTP spec).
    v.cast::<PyBytes>().ok().map(|b| b.as_bytes().iter().map(|&c| c as char).collect())
}

/// Headers of whatever a Python web framework hands over: an object with `.headers`
/// (Starlette/FastAPI, Django, Flask, aiohttp), a mapping, or a list of (name, value) pairs.
pub fn headers_from_py(req: &Bound<'_, PyAny>) -> http::HeaderMap {
    if let Ok(d) = req.cast_exact::<PyDict>() {
        // The common case, without the failed attribute lookups (each raises and clears an
        // AttributeError) of the generic path below.
        return ory_iam::transport::header_map(d.iter().filter_map(|(k, v)| Some((text(&k)?, text(&v)?))));
    }
    let h = match req.getattr("headers") {
        Ok(h) if !req.is_instance_of::<pyo3::types::PyDict>() => h,
        _ => req.clone(),
    };
    let mut pairs = Vec::new();
    let items = ["multi_items", "items"].iter().find_map(|m| h.call_method0(*m).ok()).unwrap_or_else(|| h.clone());
    if let Ok(iter) = items.try_iter() {
        for item in iter.flatten() {
            if let Ok((k, v)) = item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>() {
                if let (Some(k), Some(v)) = (text(&k), text(&v)) {
                    pairs.push((k, v));
                }
            }
        }
    }
    ory_iam::transport::header_map(pairs)
}

#[pymethods]
impl PySessionService {
    fn whoami<'py>(&self, py: Python<'py>, req: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let headers = headers_from_py(req);
        if let Some(r) = guard(py, || Ok(self.0.whoami_ready(&headers)))? {
            return ready(py, r);
        }
        let s = self.0.clone();
        spawn(py, async move { s.whoami(&headers).await })
    }

    fn whoami_or_null<'py>(&self, py: Python<'py>, req: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let headers = headers_from_py(req);
        let s = self.0.clone();
        spawn(py, async move { s.whoami_or_null(&headers).await })
    }

    fn revoke<'py>(&self, py: Python<'py>, session_id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(session_id, "session_id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.revoke(&id).await })
    }
}

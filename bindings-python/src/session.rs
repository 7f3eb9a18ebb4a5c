use crate::convert::to_py;
use crate::convert::want_str;
use crate::runtime::{core, guard, settled_with, spawn, spawn_with};
use ory_iam::dto::{Identity, RecoveryAddress, Session, VerifiableAddress};
use ory_iam::kratos::session::Whoami;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

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
    if let Ok(b) = v.cast::<PyBytes>() {
        return Some(b.as_bytes().iter().map(|&c| c as char).collect());
    }
    // A `Secret` this library handed out (a session token): its value, as Node takes it.
    let exposed = v.call_method0(pyo3::intern!(v.py(), "expose")).ok()?;
    exposed.cast::<PyString>().ok()?.to_str().ok().map(str::to_owned)
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

pub(crate) fn any_session_to_py(py: Python<'_>, s: Session) -> PyResult<Bound<'_, PyAny>> {
    Ok(session_to_py(py, &s)?.into_any())
}

pub(crate) fn optional_session_to_py(py: Python<'_>, s: Option<Session>) -> PyResult<Bound<'_, PyAny>> {
    match s {
        Some(s) => any_session_to_py(py, s),
        None => Ok(py.None().into_bound(py)),
    }
}

/// The dict `to_py(serde_json::to_value(session))` gives, built directly: the cache-hit path
/// spends a third of its time on the intermediate `Value` otherwise. Keys are interned strings
/// (made once, hash cached), not a new `str` per key per session. Exhaustive patterns: a field
/// added to the DTOs does not compile here until it is converted.
fn session_to_py<'py>(py: Python<'py>, s: &Session) -> PyResult<Bound<'py, PyDict>> {
    let Session {
        tenant,
        id,
        active,
        expires_at,
        authenticated_at,
        issued_at,
        authenticator_assurance_level,
        identity,
        authentication_methods,
        cache_hit,
    } = s;
    let Identity {
        tenant: i_tenant,
        id: i_id,
        schema_id,
        state,
        traits,
        metadata_public,
        metadata_admin,
        verifiable_addresses,
        recovery_addresses,
        created_at,
        updated_at,
        state_changed_at,
        schema_url,
    } = identity;
    let value = |v: &Option<serde_json::Value>| -> PyResult<Bound<'py, PyAny>> {
        match v {
            Some(v) => to_py(py, v),
            None => Ok(py.None().into_bound(py)),
        }
    };
    let i = PyDict::new(py);
    i.set_item(intern!(py, "tenant"), i_tenant)?;
    i.set_item(intern!(py, "id"), i_id)?;
    i.set_item(intern!(py, "schema_id"), schema_id)?;
    i.set_item(intern!(py, "state"), state)?;
    i.set_item(intern!(py, "traits"), value(traits)?)?;
    i.set_item(intern!(py, "metadata_public"), value(metadata_public)?)?;
    i.set_item(intern!(py, "metadata_admin"), value(metadata_admin)?)?;
    match verifiable_addresses {
        Some(v) => {
            let l = PyList::empty(py);
            for VerifiableAddress { id, value, via, verified, status, verified_at, created_at, updated_at } in v {
                let a = PyDict::new(py);
                a.set_item(intern!(py, "id"), id)?;
                a.set_item(intern!(py, "value"), value)?;
                a.set_item(intern!(py, "via"), via)?;
                a.set_item(intern!(py, "verified"), verified)?;
                a.set_item(intern!(py, "status"), status)?;
                a.set_item(intern!(py, "verified_at"), verified_at)?;
                a.set_item(intern!(py, "created_at"), created_at)?;
                a.set_item(intern!(py, "updated_at"), updated_at)?;
                l.append(a)?;
            }
            i.set_item(intern!(py, "verifiable_addresses"), l)?;
        }
        None => i.set_item(intern!(py, "verifiable_addresses"), py.None())?,
    }
    match recovery_addresses {
        Some(v) => {
            let l = PyList::empty(py);
            for RecoveryAddress { id, value, via, created_at, updated_at } in v {
                let a = PyDict::new(py);
                a.set_item(intern!(py, "id"), id)?;
                a.set_item(intern!(py, "value"), value)?;
                a.set_item(intern!(py, "via"), via)?;
                a.set_item(intern!(py, "created_at"), created_at)?;
                a.set_item(intern!(py, "updated_at"), updated_at)?;
                l.append(a)?;
            }
            i.set_item(intern!(py, "recovery_addresses"), l)?;
        }
        None => i.set_item(intern!(py, "recovery_addresses"), py.None())?,
    }
    i.set_item(intern!(py, "created_at"), created_at)?;
    i.set_item(intern!(py, "updated_at"), updated_at)?;
    i.set_item(intern!(py, "state_changed_at"), state_changed_at)?;
    i.set_item(intern!(py, "schema_url"), schema_url)?;
    let d = PyDict::new(py);
    d.set_item(intern!(py, "tenant"), tenant)?;
    d.set_item(intern!(py, "id"), id)?;
    d.set_item(intern!(py, "active"), active)?;
    d.set_item(intern!(py, "expires_at"), expires_at)?;
    d.set_item(intern!(py, "authenticated_at"), authenticated_at)?;
    d.set_item(intern!(py, "issued_at"), issued_at)?;
    d.set_item(intern!(py, "authenticator_assurance_level"), authenticator_assurance_level)?;
    d.set_item(intern!(py, "identity"), i)?;
    d.set_item(intern!(py, "authentication_methods"), authentication_methods)?;
    d.set_item(intern!(py, "cache_hit"), cache_hit)?;
    Ok(d)
}

impl PySessionService {
    /// `whoami` / `whoami_or_null`: settled at once when no I/O is needed (a fresh session in
    /// the memory cache, an Oathkeeper envelope, a credential refused locally), through the
    /// runtime otherwise.
    fn resolve<'py>(&self, py: Python<'py>, req: &Bound<'py, PyAny>, or_null: bool) -> PyResult<Bound<'py, PyAny>> {
        let headers = headers_from_py(req);
        // The credential is extracted and hashed once: a miss carries it on to `finish`.
        let pending = match guard(py, || Ok(self.0.whoami_start(&headers)))? {
            Whoami::Ready(r) if or_null => {
                return settled_with(py, ory_iam::SessionService::or_null(r), optional_session_to_py)
            }
            Whoami::Ready(r) => return settled_with(py, r, any_session_to_py),
            Whoami::Pending(p) => p,
        };
        if or_null {
            spawn_with(
                py,
                async move { ory_iam::SessionService::or_null(pending.finish().await) },
                optional_session_to_py,
            )
        } else {
            spawn_with(py, pending.finish(), any_session_to_py)
        }
    }
}

#[pymethods]
impl PySessionService {
    /// The same service accepting only `transport`'s credentials (the tenant's or narrower).
    fn with_transport(&self, py: Python<'_>, transport: &Bound<'_, PyAny>) -> PyResult<Self> {
        let name = core(py, want_str(transport, "transport"))?;
        let t = core(
            py,
            ory_iam::config::Transport::parse(&name).ok_or_else(|| {
                ory_iam::Error::invalid_field("transport", "must be cookie, bearer, cookie-or-bearer or oathkeeper")
            }),
        )?;
        guard(py, || core(py, self.0.with_transport(t)).map(Self))
    }

    fn whoami<'py>(&self, py: Python<'py>, req: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.resolve(py, req, false)
    }

    fn whoami_or_null<'py>(&self, py: Python<'py>, req: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.resolve(py, req, true)
    }

    fn revoke<'py>(&self, py: Python<'py>, session_id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(session_id, "session_id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.revoke(&id).await })
    }

    fn list<'py>(&self, py: Python<'py>, opts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let opts: ory_iam::dto::ListSessions =
            core(py, crate::convert::from_py(opts, "").and_then(|v| ory_iam::dto::parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.list(opts).await })
    }

    #[pyo3(signature = (active=None))]
    fn list_all(&self, py: Python<'_>, active: Option<&Bound<'_, PyAny>>) -> PyResult<crate::pager::PyPager> {
        let active = core(py, crate::convert::want_opt(active, "active"))?;
        Ok(crate::pager::PyPager::new(self.0.list_all(active)))
    }

    fn get<'py>(&self, py: Python<'py>, session_id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(session_id, "session_id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get(&id).await })
    }

    fn list_mine<'py>(
        &self,
        py: Python<'py>,
        req: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let headers = headers_from_py(req);
        let opts: ory_iam::dto::ListMySessions =
            core(py, crate::convert::from_py(opts, "").and_then(|v| ory_iam::dto::parse_input("options", v)))?;
        let s = self.0.clone();
        spawn(py, async move { s.list_mine(&headers, opts).await })
    }

    fn list_mine_all(&self, req: &Bound<'_, PyAny>) -> crate::pager::PyPager {
        crate::pager::PyPager::new(self.0.list_mine_all(&headers_from_py(req)))
    }

    fn revoke_my_other_sessions<'py>(&self, py: Python<'py>, req: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let headers = headers_from_py(req);
        let s = self.0.clone();
        spawn(py, async move { s.revoke_my_other_sessions(&headers).await })
    }

    fn revoke_mine<'py>(
        &self,
        py: Python<'py>,
        req: &Bound<'py, PyAny>,
        session_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let headers = headers_from_py(req);
        let id = core(py, want_str(session_id, "session_id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.revoke_mine(&headers, &id).await })
    }
}

use crate::convert::to_py;
use crate::convert::want_str;
use crate::runtime::{core, guard, settled_with, spawn, spawn_with};
use ory_iam::dto::{Identity, RecoveryAddress, Session, VerifiableAddress};
use ory_iam::kratos::session::Whoami;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;

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
    session_to_py(py, &s)
}

pub(crate) fn optional_session_to_py(py: Python<'_>, s: Option<Session>) -> PyResult<Bound<'_, PyAny>> {
    match s {
        Some(s) => any_session_to_py(py, s),
        None => Ok(py.None().into_bound(py)),
    }
}

/// The classes a session is built as (`ory_iam._dto`), and `object.__new__`: imported once.
struct Dtos {
    new: Py<PyAny>,
    session: Py<PyAny>,
    identity: Py<PyAny>,
    verifiable: Py<PyAny>,
    recovery: Py<PyAny>,
}

static DTOS: PyOnceLock<Dtos> = PyOnceLock::new();

fn dtos(py: Python<'_>) -> PyResult<&Dtos> {
    DTOS.get_or_try_init(py, || {
        let m = py.import("ory_iam._dto")?;
        Ok::<_, PyErr>(Dtos {
            new: py.import("builtins")?.getattr("object")?.getattr("__new__")?.unbind(),
            session: m.getattr("Session")?.unbind(),
            identity: m.getattr("Identity")?.unbind(),
            verifiable: m.getattr("VerifiableAddress")?.unbind(),
            recovery: m.getattr("RecoveryAddress")?.unbind(),
        })
    })
}

/// One frozen dataclass instance of `cls`, its fields set as `cls(**fields)` would set them
/// (in declaration order, through `object.__setattr__`, which frozen dataclasses use too), but
/// without `__init__`, an intermediate dict and `_from`: `whoami` builds one on every call.
/// `cls` has no `__post_init__` or field converters; `test_session.py`'s
/// `test_session_objects_are_built_exactly_as_by_init` holds this equal to the constructor's.
struct Obj<'py>(Bound<'py, PyAny>);

impl<'py> Obj<'py> {
    fn new(py: Python<'py>, new: &Py<PyAny>, cls: &Py<PyAny>) -> PyResult<Self> {
        new.bind(py).call1((cls.bind(py),)).map(Obj)
    }

    fn set<V: IntoPyObject<'py>>(&self, name: &Bound<'py, PyString>, v: V) -> PyResult<&Self> {
        let v = v.into_bound_py_any(self.0.py())?;
        // SAFETY: three valid object pointers, borrowed for the call (the function takes its own
        // references); `-1` comes with a Python exception set, fetched below.
        let r = unsafe { pyo3::ffi::PyObject_GenericSetAttr(self.0.as_ptr(), name.as_ptr(), v.as_ptr()) };
        if r < 0 {
            return Err(PyErr::fetch(self.0.py()));
        }
        Ok(self)
    }
}

/// A session as `ory_iam.Session` (with its `Identity` and addresses), built directly from the
/// core's DTO: no `serde_json::Value`, no dict per object. Keys are interned strings (made once,
/// hash cached). Exhaustive patterns: a field added to the DTOs does not compile here until it
/// is converted.
fn session_to_py<'py>(py: Python<'py>, s: &Session) -> PyResult<Bound<'py, PyAny>> {
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
    let c = dtos(py)?;
    let value = |v: &Option<serde_json::Value>| -> PyResult<Bound<'py, PyAny>> {
        match v {
            Some(v) => to_py(py, v),
            None => Ok(py.None().into_bound(py)),
        }
    };
    let verifiable = match verifiable_addresses {
        Some(v) => {
            let l = PyList::empty(py);
            for VerifiableAddress { id, value, via, verified, status, verified_at, created_at, updated_at } in v {
                let a = Obj::new(py, &c.new, &c.verifiable)?;
                a.set(intern!(py, "id"), id)?
                    .set(intern!(py, "value"), value)?
                    .set(intern!(py, "via"), via)?
                    .set(intern!(py, "verified"), verified)?
                    .set(intern!(py, "status"), status)?
                    .set(intern!(py, "verified_at"), verified_at)?
                    .set(intern!(py, "created_at"), created_at)?
                    .set(intern!(py, "updated_at"), updated_at)?;
                l.append(a.0)?;
            }
            l.into_any()
        }
        None => py.None().into_bound(py),
    };
    let recovery = match recovery_addresses {
        Some(v) => {
            let l = PyList::empty(py);
            for RecoveryAddress { id, value, via, created_at, updated_at } in v {
                let a = Obj::new(py, &c.new, &c.recovery)?;
                a.set(intern!(py, "id"), id)?
                    .set(intern!(py, "value"), value)?
                    .set(intern!(py, "via"), via)?
                    .set(intern!(py, "created_at"), created_at)?
                    .set(intern!(py, "updated_at"), updated_at)?;
                l.append(a.0)?;
            }
            l.into_any()
        }
        None => py.None().into_bound(py),
    };
    let i = Obj::new(py, &c.new, &c.identity)?;
    i.set(intern!(py, "tenant"), i_tenant)?
        .set(intern!(py, "id"), i_id)?
        .set(intern!(py, "schema_id"), schema_id)?
        .set(intern!(py, "state"), state)?
        .set(intern!(py, "traits"), value(traits)?)?
        .set(intern!(py, "metadata_public"), value(metadata_public)?)?
        .set(intern!(py, "metadata_admin"), value(metadata_admin)?)?
        .set(intern!(py, "verifiable_addresses"), verifiable)?
        .set(intern!(py, "recovery_addresses"), recovery)?
        .set(intern!(py, "created_at"), created_at)?
        .set(intern!(py, "updated_at"), updated_at)?
        .set(intern!(py, "state_changed_at"), state_changed_at)?
        .set(intern!(py, "schema_url"), schema_url)?;
    let d = Obj::new(py, &c.new, &c.session)?;
    d.set(intern!(py, "tenant"), tenant)?
        .set(intern!(py, "id"), id)?
        .set(intern!(py, "active"), active)?
        .set(intern!(py, "identity"), i.0)?
        .set(intern!(py, "expires_at"), expires_at)?
        .set(intern!(py, "authenticated_at"), authenticated_at)?
        .set(intern!(py, "issued_at"), issued_at)?
        .set(intern!(py, "authenticator_assurance_level"), authenticator_assurance_level)?
        .set(intern!(py, "authentication_methods"), authentication_methods)?
        .set(intern!(py, "cache_hit"), cache_hit)?;
    Ok(d.0)
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

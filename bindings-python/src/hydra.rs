//! Hydra services: OAuth2 clients, tokens, consent, JWKs, trusted issuers.

use crate::convert::{from_py, want_str};
use crate::pager::PyPager;
use crate::runtime::{core, spawn};
use ory_iam::dto::{
    parse_input, AuthorizationCodeGrant, ClientLifespans, CreateJwkSet, JsonWebKeySet, JwtBearerGrant,
    ListConsentSessions, ListOAuth2Clients, ListTrustedIssuers, LogoutUrlOptions, RefreshGrant, RevokeConsentSessions,
    RevokeLoginSessions, RevokeOptions, TrustIssuer,
};
use ory_iam::Secret;
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

fn input<T: DeserializeOwned>(py: Python<'_>, v: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    core(py, from_py(v, "").and_then(|v| parse_input(what, v)))
}

fn value(py: Python<'_>, v: &Bound<'_, PyAny>, what: &str) -> PyResult<serde_json::Value> {
    core(py, from_py(v, what))
}

/// A str or the package's `Secret`.
fn secret(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<Secret> {
    let v = if v.hasattr("expose")? { v.call_method0("expose")? } else { v.clone() };
    core(py, want_str(&v, name)).map(Secret::new)
}

/// OAuth2 clients of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "OAuth2ClientService", frozen)]
#[derive(Clone)]
pub struct PyOAuth2ClientService(pub ory_iam::OAuth2ClientService);
crate::handle::handle_basics!(PyOAuth2ClientService, "OAuth2ClientService");

#[pymethods]
impl PyOAuth2ClientService {
    fn create<'py>(&self, py: Python<'py>, client: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let c = value(py, client, "client")?;
        let s = self.0.clone();
        spawn(py, async move { s.create(c).await })
    }
    fn get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get(&id).await })
    }
    fn list<'py>(&self, py: Python<'py>, opts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let o: ListOAuth2Clients = input(py, opts, "options")?;
        let s = self.0.clone();
        spawn(py, async move { s.list(o).await })
    }
    fn list_all(&self, py: Python<'_>, opts: &Bound<'_, PyAny>) -> PyResult<PyPager> {
        let o: ListOAuth2Clients = input(py, opts, "options")?;
        Ok(PyPager::new(self.0.list_all(o)))
    }
    fn set<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        client: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let c = value(py, client, "client")?;
        let s = self.0.clone();
        spawn(py, async move { s.set(&id, c).await })
    }
    fn patch<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        ops: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let ops = value(py, ops, "ops")?;
        let s = self.0.clone();
        spawn(py, async move { s.patch(&id, ops).await })
    }
    fn delete<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.delete(&id).await })
    }
    fn set_lifespans<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        lifespans: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let l: ClientLifespans = input(py, lifespans, "lifespans")?;
        let s = self.0.clone();
        spawn(py, async move { s.set_lifespans(&id, l).await })
    }
    fn register<'py>(&self, py: Python<'py>, client: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let c = value(py, client, "client")?;
        let s = self.0.clone();
        spawn(py, async move { s.register(c).await })
    }
    fn get_registered<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        token: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let t = secret(py, token, "registration_access_token")?;
        let s = self.0.clone();
        spawn(py, async move { s.get_registered(&id, &t).await })
    }
    fn set_registered<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        token: &Bound<'py, PyAny>,
        client: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let t = secret(py, token, "registration_access_token")?;
        let c = value(py, client, "client")?;
        let s = self.0.clone();
        spawn(py, async move { s.set_registered(&id, &t, c).await })
    }
    fn delete_registered<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        token: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let t = secret(py, token, "registration_access_token")?;
        let s = self.0.clone();
        spawn(py, async move { s.delete_registered(&id, &t).await })
    }
}

/// OAuth2 tokens of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "TokenService", frozen)]
#[derive(Clone)]
pub struct PyTokenService(pub ory_iam::TokenService);
crate::handle::handle_basics!(PyTokenService, "TokenService");

#[pymethods]
impl PyTokenService {
    #[pyo3(signature = (scope=None))]
    fn client_credentials<'py>(
        &self,
        py: Python<'py>,
        scope: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // A space-separated str or a list of scopes (the contract's shapes).
        let scope = match scope.filter(|s| !s.is_none()) {
            None => None,
            Some(v) => Some(core(py, input::<ory_iam::dto::Scopes>(py, v, "scope")?.joined())?),
        };
        let s = self.0.clone();
        spawn(py, async move { s.client_credentials(scope.as_deref()).await })
    }
    fn authorization_code<'py>(&self, py: Python<'py>, grant: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let g: AuthorizationCodeGrant = input(py, grant, "grant")?;
        let s = self.0.clone();
        spawn(py, async move { s.authorization_code(g).await })
    }
    fn refresh<'py>(&self, py: Python<'py>, grant: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let g: RefreshGrant = input(py, grant, "grant")?;
        let s = self.0.clone();
        spawn(py, async move { s.refresh(g).await })
    }
    fn jwt_bearer<'py>(&self, py: Python<'py>, grant: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let g: JwtBearerGrant = input(py, grant, "grant")?;
        let s = self.0.clone();
        spawn(py, async move { s.jwt_bearer(g).await })
    }
    fn introspect<'py>(&self, py: Python<'py>, token: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let t = secret(py, token, "token")?;
        let s = self.0.clone();
        spawn(py, async move { s.introspect(&t).await })
    }
    fn authenticate<'py>(
        &self,
        py: Python<'py>,
        req: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let headers = crate::session::headers_from_py(req);
        let o: ory_iam::dto::AuthenticateOptions = input(py, opts, "options")?;
        let s = self.0.clone();
        spawn(py, async move { s.authenticate(&headers, o).await })
    }
    fn revoke<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = secret(py, token, "token")?;
        let o: RevokeOptions = input(py, opts, "options")?;
        let s = self.0.clone();
        spawn(py, async move { s.revoke(&t, o).await })
    }
    fn delete_access_tokens<'py>(&self, py: Python<'py>, client_id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(client_id, "client_id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.delete_access_tokens(&id).await })
    }
    fn userinfo<'py>(&self, py: Python<'py>, access_token: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let t = secret(py, access_token, "access_token")?;
        let s = self.0.clone();
        spawn(py, async move { s.userinfo(&t).await })
    }
    fn discover<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.0.clone();
        spawn(py, async move { s.discover().await })
    }
}

/// Login/consent/logout decisions of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "ConsentService", frozen)]
#[derive(Clone)]
pub struct PyConsentService(pub ory_iam::ConsentService);
crate::handle::handle_basics!(PyConsentService, "ConsentService");

#[pymethods]
impl PyConsentService {
    /// `kind`: login | consent | logout; `verb`: get | accept | reject.
    #[pyo3(signature = (kind, verb, challenge, body=None))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        verb: &str,
        challenge: &Bound<'py, PyAny>,
        body: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ch = core(py, want_str(challenge, "challenge"))?;
        let body = match body {
            Some(b) => value(py, b, "body")?,
            None => serde_json::json!({}),
        };
        let s = self.0.clone();
        match (kind, verb) {
            ("login", "get") => spawn(py, async move { s.get_login_request(&ch).await }),
            ("login", "accept") => spawn(py, async move { s.accept_login_request(&ch, body).await }),
            ("login", "reject") => spawn(py, async move { s.reject_login_request(&ch, body).await }),
            ("consent", "get") => spawn(py, async move { s.get_consent_request(&ch).await }),
            ("consent", "accept") => spawn(py, async move { s.accept_consent_request(&ch, body).await }),
            ("consent", "reject") => spawn(py, async move { s.reject_consent_request(&ch, body).await }),
            ("logout", "get") => spawn(py, async move { s.get_logout_request(&ch).await }),
            ("logout", "accept") => spawn(py, async move { s.accept_logout_request(&ch).await }),
            ("logout", "reject") => spawn(py, async move { s.reject_logout_request(&ch).await }),
            _ => Err(crate::errors::to_pyerr(py, ory_iam::Error::invalid_field("kind", "unknown consent operation"))),
        }
    }
    fn list_consent_sessions<'py>(&self, py: Python<'py>, opts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let o: ListConsentSessions = input(py, opts, "options")?;
        let s = self.0.clone();
        spawn(py, async move { s.list_consent_sessions(o).await })
    }
    fn list_consent_sessions_all(&self, py: Python<'_>, opts: &Bound<'_, PyAny>) -> PyResult<PyPager> {
        let o: ListConsentSessions = input(py, opts, "options")?;
        Ok(PyPager::new(self.0.list_consent_sessions_all(o)))
    }
    fn revoke_consent_sessions<'py>(&self, py: Python<'py>, opts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let o: RevokeConsentSessions = input(py, opts, "options")?;
        let s = self.0.clone();
        spawn(py, async move { s.revoke_consent_sessions(o).await })
    }
    fn revoke_login_sessions<'py>(&self, py: Python<'py>, opts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let o: RevokeLoginSessions = input(py, opts, "options")?;
        let s = self.0.clone();
        spawn(py, async move { s.revoke_login_sessions(o).await })
    }
    /// The logout URL's value (the wrapper hands it out as a `Secret`).
    fn logout_url(&self, py: Python<'_>, opts: &Bound<'_, PyAny>) -> PyResult<String> {
        let o: LogoutUrlOptions = input(py, opts, "options")?;
        Ok(core(py, self.0.logout_url(o))?.expose().to_owned())
    }
}

/// JSON Web Key sets of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "JwkService", frozen)]
#[derive(Clone)]
pub struct PyJwkService(pub ory_iam::JwkService);
crate::handle::handle_basics!(PyJwkService, "JwkService");

#[pymethods]
impl PyJwkService {
    fn create_set<'py>(
        &self,
        py: Python<'py>,
        set: &Bound<'py, PyAny>,
        opts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let set = core(py, want_str(set, "set"))?;
        let o: CreateJwkSet = input(py, opts, "options")?;
        let s = self.0.clone();
        spawn(py, async move { s.create_set(&set, o).await })
    }
    fn get_set<'py>(&self, py: Python<'py>, set: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let set = core(py, want_str(set, "set"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get_set(&set).await })
    }
    fn update_set<'py>(
        &self,
        py: Python<'py>,
        set: &Bound<'py, PyAny>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let set = core(py, want_str(set, "set"))?;
        let v = value(py, keys, "keys")?;
        let keys = match v.get("keys").and_then(|k| k.as_array()) {
            Some(k) => JsonWebKeySet { keys: k.clone() },
            None => {
                return Err(crate::errors::to_pyerr(
                    py,
                    ory_iam::Error::invalid_field("keys", "must be {\"keys\": [...]}"),
                ))
            }
        };
        let s = self.0.clone();
        spawn(py, async move { s.update_set(&set, keys).await })
    }
    fn delete_set<'py>(&self, py: Python<'py>, set: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let set = core(py, want_str(set, "set"))?;
        let s = self.0.clone();
        spawn(py, async move { s.delete_set(&set).await })
    }
    fn get_key<'py>(
        &self,
        py: Python<'py>,
        set: &Bound<'py, PyAny>,
        kid: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let set = core(py, want_str(set, "set"))?;
        let kid = core(py, want_str(kid, "kid"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get_key(&set, &kid).await })
    }
    fn update_key<'py>(
        &self,
        py: Python<'py>,
        set: &Bound<'py, PyAny>,
        kid: &Bound<'py, PyAny>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let set = core(py, want_str(set, "set"))?;
        let kid = core(py, want_str(kid, "kid"))?;
        let key = value(py, key, "key")?;
        let s = self.0.clone();
        spawn(py, async move { s.update_key(&set, &kid, key).await })
    }
    fn delete_key<'py>(
        &self,
        py: Python<'py>,
        set: &Bound<'py, PyAny>,
        kid: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let set = core(py, want_str(set, "set"))?;
        let kid = core(py, want_str(kid, "kid"))?;
        let s = self.0.clone();
        spawn(py, async move { s.delete_key(&set, &kid).await })
    }
}

/// Trusted JWT-bearer issuers of one tenant.
#[pyclass(module = "ory_iam._ory_iam", name = "TrustedIssuerService", frozen)]
#[derive(Clone)]
pub struct PyTrustedIssuerService(pub ory_iam::TrustedIssuerService);
crate::handle::handle_basics!(PyTrustedIssuerService, "TrustedIssuerService");

#[pymethods]
impl PyTrustedIssuerService {
    fn trust<'py>(&self, py: Python<'py>, t: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let t: TrustIssuer = input(py, t, "issuer")?;
        let s = self.0.clone();
        spawn(py, async move { s.trust(t).await })
    }
    fn get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.get(&id).await })
    }
    fn list<'py>(&self, py: Python<'py>, opts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let o: ListTrustedIssuers = input(py, opts, "options")?;
        let s = self.0.clone();
        spawn(py, async move { s.list(o).await })
    }
    fn list_all(&self, py: Python<'_>, opts: &Bound<'_, PyAny>) -> PyResult<PyPager> {
        let o: ListTrustedIssuers = input(py, opts, "options")?;
        Ok(PyPager::new(self.0.list_all(o)))
    }
    fn delete<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = core(py, want_str(id, "id"))?;
        let s = self.0.clone();
        spawn(py, async move { s.delete(&id).await })
    }
}

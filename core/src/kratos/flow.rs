//! `FlowService`: Kratos self-service flows (login, registration, recovery, settings,
//! verification) as browser or native flows, and logout. Returns library-owned flows; the
//! caller relays `set_cookie` to the browser and gives `csrf_token` back on submit.

use super::wire;
use crate::audit::{names, AuditEvent};
use crate::cache;
use crate::dto::{Flow, FlowError, FlowKind, FlowResult, FlowSuccess, FlowType, InitiateFlow, LogoutFlow, SubmitFlow};
use crate::error::{Error, Result};
use crate::http::{Call, Reply};
use crate::secret::Secret;
use crate::tenancy::{service_handle, TenantContext};
use http::HeaderValue;
use serde_json::Value;

service_handle!(
    /// Self-service flows of one tenant (Kratos public API).
    FlowService
);

fn header(v: &str, what: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(v).map_err(|_| Error::invalid_field(what, "contains characters HTTP headers cannot carry"))
}

fn set_cookies(r: &Reply) -> Vec<Secret> {
    r.headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|s| Secret::new(s.to_owned()))
        .collect()
}

fn check_flow_id(id: &str) -> Result<()> {
    crate::ids::check_uuid("flow_id", id)
}

impl FlowService {
    pub async fn initiate_login(&self, opts: InitiateFlow) -> Result<Flow> {
        self.initiate(FlowKind::Login, opts).await
    }
    pub async fn initiate_registration(&self, opts: InitiateFlow) -> Result<Flow> {
        self.initiate(FlowKind::Registration, opts).await
    }
    pub async fn initiate_recovery(&self, opts: InitiateFlow) -> Result<Flow> {
        self.initiate(FlowKind::Recovery, opts).await
    }
    pub async fn initiate_settings(&self, opts: InitiateFlow) -> Result<Flow> {
        self.initiate(FlowKind::Settings, opts).await
    }
    pub async fn initiate_verification(&self, opts: InitiateFlow) -> Result<Flow> {
        self.initiate(FlowKind::Verification, opts).await
    }

    pub async fn submit_login(&self, flow_id: &str, body: Value, opts: SubmitFlow) -> Result<FlowResult> {
        self.submit(FlowKind::Login, flow_id, body, opts).await
    }
    pub async fn submit_registration(&self, flow_id: &str, body: Value, opts: SubmitFlow) -> Result<FlowResult> {
        self.submit(FlowKind::Registration, flow_id, body, opts).await
    }
    pub async fn submit_recovery(&self, flow_id: &str, body: Value, opts: SubmitFlow) -> Result<FlowResult> {
        self.submit(FlowKind::Recovery, flow_id, body, opts).await
    }
    pub async fn submit_settings(&self, flow_id: &str, body: Value, opts: SubmitFlow) -> Result<FlowResult> {
        self.submit(FlowKind::Settings, flow_id, body, opts).await
    }
    pub async fn submit_verification(&self, flow_id: &str, body: Value, opts: SubmitFlow) -> Result<FlowResult> {
        self.submit(FlowKind::Verification, flow_id, body, opts).await
    }

    /// Start a flow. `kind` defaults to native; browser flows forward `cookie` and return the
    /// CSRF cookie in `set_cookie`.
    pub async fn initiate(&self, kind: FlowKind, opts: InitiateFlow) -> Result<Flow> {
        let t = &self.t;
        let c = t.kratos_public("flow.initiate")?;
        let flow_type = opts.kind.unwrap_or_default();
        let path = format!(
            "self-service/{}/{}",
            kind.as_str(),
            if flow_type == FlowType::Browser { "browser" } else { "api" }
        );
        let mut call = Call::get(&path);
        if let Some(r) = opts.return_to {
            call = call.query("return_to", r);
        }
        if opts.return_session_token_exchange_code == Some(true) {
            if flow_type == FlowType::Browser || !matches!(kind, FlowKind::Login | FlowKind::Registration) {
                return Err(Error::invalid_field(
                    "return_session_token_exchange_code",
                    "is for native login and registration flows only",
                ));
            }
            call = call.query("return_session_token_exchange_code", "true");
        }
        if kind == FlowKind::Login {
            if let Some(true) = opts.refresh {
                call = call.query("refresh", "true");
            }
            if let Some(aal) = opts.aal {
                call = call.query("aal", aal);
            }
        }
        self.credentials(&mut call, flow_type, opts.cookie.as_ref(), opts.session_token.as_ref())?;
        let r = c.send(call).await?;
        let cookies = set_cookies(&r);
        Ok(c.decode::<wire::Flow>(&r)?.into_dto(&t.name, kind, cookies))
    }

    /// Submit a flow. `{kind: "success"}` when done, `{kind: "continue", flow}` with validation
    /// messages or the next step, `{kind: "redirect"}` when Kratos sends the browser elsewhere.
    pub async fn submit(&self, kind: FlowKind, flow_id: &str, mut body: Value, opts: SubmitFlow) -> Result<FlowResult> {
        check_flow_id(flow_id)?;
        let Some(obj) = body.as_object_mut() else {
            return Err(Error::invalid_field("body", "must be an object"));
        };
        if !obj.get("method").is_some_and(Value::is_string) {
            return Err(Error::invalid_field("body.method", "is required (e.g. password, code, profile)"));
        }
        if let Some(csrf) = &opts.csrf_token {
            obj.entry("csrf_token").or_insert_with(|| Value::String(csrf.clone()));
        }
        let t = &self.t;
        let c = t.kratos_public("flow.submit")?;
        let path = format!("self-service/{}", kind.as_str());
        let mut call = Call::post(&path).query("flow", flow_id).json(body);
        let flow_type = if opts.cookie.is_some() { FlowType::Browser } else { FlowType::Native };
        self.credentials(&mut call, flow_type, opts.cookie.as_ref(), opts.session_token.as_ref())?;
        let r = c.send_raw(call).await?;
        let cookies = set_cookies(&r);
        match r.status {
            200 => match kind {
                FlowKind::Login | FlowKind::Registration => {
                    let s: wire::FlowSuccess = c.decode(&r)?;
                    Ok(FlowResult::Success(self.success(s, cookies)))
                }
                _ => {
                    let flow = c.decode::<wire::Flow>(&r)?.into_dto(&t.name, kind, cookies.clone());
                    let mut continue_with = serde_json::from_slice::<wire::FlowSuccess>(&r.body)
                        .ok()
                        .and_then(|s| s.continue_with)
                        .unwrap_or_default();
                    let session_token = session_token_from(&continue_with);
                    redact_continue_with(&mut continue_with);
                    let done = matches!(flow.state.as_deref(), Some("success") | Some("passed_challenge"));
                    if done {
                        Ok(FlowResult::Success(FlowSuccess {
                            tenant: t.name.to_string(),
                            session_id: None,
                            session: None,
                            identity: None,
                            session_token,
                            set_cookie: cookies,
                            flow: Some(flow),
                            continue_with,
                        }))
                    } else {
                        Ok(FlowResult::Continue { flow })
                    }
                }
            },
            // Form errors come back as the flow with messages in its UI.
            400 => match c.decode::<wire::Flow>(&r) {
                Ok(f) => Ok(FlowResult::Continue { flow: f.into_dto(&t.name, kind, cookies) }),
                Err(_) => Err(c.status_error(&format!("POST {path}"), &r)),
            },
            422 => {
                let red: wire::Redirect = c.decode(&r)?;
                Ok(FlowResult::Redirect { redirect_browser_to: red.redirect_browser_to, set_cookie: cookies })
            }
            _ => Err(c.status_error(&format!("POST {path}"), &r)),
        }
    }

    /// Finish a native sign-in that went through a browser (social sign-in): `init_code` is the
    /// flow's `session_token_exchange_code`, `return_to_code` the `code` Kratos put on the
    /// `return_to` URL at the end. Answers the session and its token, like a native login.
    /// Codes Kratos does not know (or not yet: the browser part is not done) are
    /// `IamNotFoundError`. Kratos v1.3.1 answers the same token again for the same codes (they
    /// are not spent), so both stay secret until the flow expires.
    pub async fn exchange_session_token(&self, init_code: &Secret, return_to_code: &Secret) -> Result<FlowSuccess> {
        for (name, code) in [("init_code", init_code), ("return_to_code", return_to_code)] {
            let v = code.expose();
            if v.is_empty() || v.len() > 512 || !v.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid_field(name, "is not an exchange code"));
            }
        }
        let c = self.t.kratos_public("flow.exchange_session_token")?;
        let call = Call::get("sessions/token-exchange")
            .query("init_code", init_code.expose())
            .query("return_to_code", return_to_code.expose());
        let r = c.send(call).await?;
        Ok(self.success(c.decode(&r)?, Vec::new()))
    }

    /// The self-service error `id` (from the `?id=` Kratos puts on its redirect to the error
    /// UI): what the error page shows. An unknown id is `IamNotFoundError`.
    pub async fn get_error(&self, id: &str) -> Result<FlowError> {
        crate::ids::check_uuid("id", id)?;
        let c = self.t.kratos_public("flow.get_error")?;
        let r = c.send(Call::get("self-service/errors").query("id", id)).await?;
        let e: wire::FlowError = c.decode(&r)?;
        Ok(FlowError { tenant: self.t.name.to_string(), id: e.id, error: e.error, created_at: e.created_at })
    }

    /// Read a flow again (e.g. to render it after a redirect).
    pub async fn fetch_flow(&self, kind: FlowKind, flow_id: &str, opts: SubmitFlow) -> Result<Flow> {
        check_flow_id(flow_id)?;
        let c = self.t.kratos_public("flow.fetch")?;
        let path = format!("self-service/{}/flows", kind.as_str());
        let mut call = Call::get(&path).query("id", flow_id);
        let flow_type = if opts.cookie.is_some() { FlowType::Browser } else { FlowType::Native };
        self.credentials(&mut call, flow_type, opts.cookie.as_ref(), opts.session_token.as_ref())?;
        let r = c.send(call).await?;
        let cookies = set_cookies(&r);
        Ok(c.decode::<wire::Flow>(&r)?.into_dto(&self.t.name, kind, cookies))
    }

    /// Browser logout, step 1: the logout URL and token for the session in `cookie`.
    pub async fn initiate_browser_logout(&self, cookie: &Secret, return_to: Option<String>) -> Result<LogoutFlow> {
        if cookie.expose().trim().is_empty() {
            return Err(Error::invalid_field("cookie", "must not be empty"));
        }
        let c = self.t.kratos_public("flow.logout")?;
        let mut call = Call::get("self-service/logout/browser");
        if let Some(r) = return_to {
            call = call.query("return_to", r);
        }
        call.headers.insert(http::header::COOKIE, header(cookie.expose(), "cookie")?);
        let r = c.send(call).await?;
        let l: wire::LogoutFlow = c.decode(&r)?;
        // The session is about to end: drop its cached whoami result now (best effort: nothing
        // has ended yet; the logout itself evicts again and reports failure).
        let _ = self.evict_cookie(cookie).await;
        Ok(LogoutFlow {
            tenant: self.t.name.to_string(),
            logout_url: Secret::new(l.logout_url),
            logout_token: Secret::new(l.logout_token),
        })
    }

    /// Browser logout, step 2: end the session; returns the `Set-Cookie` headers (clearing the
    /// session cookie) to relay to the browser. Kratos checks the token against the session
    /// cookie, so pass the browser's `Cookie` header when calling from a backend.
    pub async fn submit_browser_logout(&self, logout_token: &Secret, cookie: Option<&Secret>) -> Result<Vec<Secret>> {
        if logout_token.is_empty() {
            return Err(Error::invalid_field("logout_token", "must not be empty"));
        }
        let c = self.t.kratos_public("flow.logout")?;
        let mut call = Call::get("self-service/logout").query("token", logout_token.expose());
        if let Some(ck) = cookie {
            call.headers.insert(http::header::COOKIE, header(ck.expose(), "cookie")?);
            // Before the logout: a cache that cannot be updated is an outage, and nothing has
            // changed yet (after it, the revoked session could live on in Redis).
            self.evict_cookie(ck).await?;
        }
        let res = c.send(call).await;
        self.t.emit(
            AuditEvent::mutation(names::SESSION_LOGOUT, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .attr("via", "browser"),
        );
        Ok(set_cookies(&res?))
    }

    /// Native logout: revoke the session behind a session token.
    pub async fn perform_native_logout(&self, session_token: &Secret) -> Result<()> {
        if session_token.is_empty() {
            return Err(Error::invalid_field("session_token", "must not be empty"));
        }
        // The same shape `whoami` accepts; anything else cannot be a Kratos session token.
        let t = session_token.expose();
        if t.len() > 4096 || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid_field("session_token", "is not a session token"));
        }
        let c = self.t.kratos_public("flow.logout")?;
        let call = Call::new(http::Method::DELETE, "self-service/logout/api")
            .json(serde_json::json!({"session_token": session_token.expose()}));
        let res = c.send(call).await;
        self.t.emit(
            AuditEvent::mutation(names::SESSION_LOGOUT, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .attr("via", "native"),
        );
        res?;
        let t = &self.t;
        t.sessions.evict_key(&t.name, &cache::key(&t.name, "token", session_token.expose())).await
    }

    async fn evict_cookie(&self, cookie: &Secret) -> Result<()> {
        let t = &self.t;
        let headers = crate::transport::header_map([("cookie", cookie.expose())]);
        if let Ok(crate::transport::Credential::Cookie(c)) =
            crate::transport::extract(crate::config::Transport::Cookie, t.session_cookie_name(), &headers)
        {
            return t.sessions.evict_key(&t.name, &cache::key(&t.name, "cookie", c.expose())).await;
        }
        Ok(())
    }

    fn credentials(
        &self,
        call: &mut Call<'_>,
        flow_type: FlowType,
        cookie: Option<&Secret>,
        token: Option<&Secret>,
    ) -> Result<()> {
        if flow_type == FlowType::Browser {
            if let Some(c) = cookie {
                call.headers.insert(http::header::COOKIE, header(c.expose(), "cookie")?);
            }
        }
        if let Some(tok) = token {
            call.headers.insert("x-session-token", header(tok.expose(), "session_token")?);
        }
        Ok(())
    }

    fn success(&self, s: wire::FlowSuccess, set_cookie: Vec<Secret>) -> FlowSuccess {
        let t: &TenantContext = &self.t;
        let mut continue_with = s.continue_with.unwrap_or_default();
        let session_token = s.session_token.map(Secret::new).or_else(|| session_token_from(&continue_with));
        redact_continue_with(&mut continue_with);
        let session = s.session.and_then(|x| x.into_dto(&t.name));
        let identity = s.identity.map(|i| i.into_dto(&t.name)).or_else(|| session.as_ref().map(|x| x.identity.clone()));
        FlowSuccess {
            tenant: t.name.to_string(),
            session_id: session.as_ref().map(|x| x.id.clone()),
            session,
            identity,
            session_token,
            set_cookie,
            flow: None,
            continue_with,
        }
    }
}

/// `continue_with` may carry the session token in clear; it is moved to `session_token` (a
/// `Secret`) and blanked here so the generic list never leaks it.
pub(crate) fn redact_continue_with(items: &mut [Value]) {
    for c in items.iter_mut() {
        if let Some(v) = c.get_mut("ory_session_token") {
            *v = Value::String("***".into());
        }
    }
}

/// Recovery with `use_continue_with_transitions` hands native clients a session token here.
pub(crate) fn session_token_from(continue_with: &[Value]) -> Option<Secret> {
    continue_with.iter().find_map(|c| {
        (c.get("action").and_then(Value::as_str) == Some("set_ory_session_token"))
            .then(|| c.get("ory_session_token").and_then(Value::as_str).map(Secret::new))
            .flatten()
    })
}

//! `SessionService`: who is calling? Resolves the request's credential through the tenant's
//! transport, the session cache (single-flight) and Kratos `GET /sessions/whoami`.

use super::wire;
use crate::audit::{names, AuditEvent};
use crate::cache::{self, Lookup};
use crate::dto::{ListMySessions, ListSessions, Page, Session};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Call, OryClient, Reply};
use crate::ids::check_uuid;
use crate::paging::{next_token_from_link, page_query, pages, Pager};
use crate::secret::Secret;
use crate::tenancy::{service_handle, TenantContext};
use crate::transport::oathkeeper::{OathkeeperKeys, Refusal, Verified};
use crate::transport::{self, Credential, Rejection};
use http::HeaderMap;
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

service_handle!(
    /// Sessions of one tenant: `whoami` for incoming requests, admin `revoke`.
    SessionService
);

/// Seconds until an RFC 3339 instant; `None` when absent or unparsable.
pub(crate) fn until(ts: Option<&str>) -> Option<Duration> {
    let t = OffsetDateTime::parse(ts?, &Rfc3339).ok()?;
    let left = t - OffsetDateTime::now_utc();
    if left.is_negative() {
        Some(Duration::ZERO)
    } else {
        Some(left.unsigned_abs())
    }
}

/// What `whoami` found without I/O.
enum Local {
    Done(Box<Result<Session>>),
    Ask {
        cred: Credential,
        key: String,
        request_id: Option<String>,
    },
    /// An Oathkeeper JWT whose signing key must be fetched first.
    Key {
        token: Secret,
        kid: String,
        request_id: Option<String>,
    },
    /// A verified envelope whose id must be checked for a replay in the shared cache (Redis).
    Replay {
        session: Box<Session>,
        jti: String,
        exp: i64,
        request_id: Option<String>,
    },
}

/// A cached session still usable: active and not past its expiry.
fn fresh(s: &Session) -> bool {
    s.active && until(s.expires_at.as_deref()).is_some_and(|d| !d.is_zero())
}

fn unauthorized(t: &TenantContext, why: &str) -> Error {
    Error::new(ErrorKind::Unauthorized, format!("no valid session: {why}")).with_tenant(&*t.name).with_status(401)
}

/// A missing, rejected or refused credential is "no session"; outages still fail.
fn or_null(r: Result<Session>) -> Result<Option<Session>> {
    match r {
        Ok(s) => Ok(Some(s)),
        Err(e) if matches!(e.kind(), ErrorKind::Unauthorized | ErrorKind::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

impl SessionService {
    /// The session of the request, or `IamUnauthorizedError` (missing, malformed, invalid or
    /// expired credential). Upstream trouble is `IamUpstreamUnavailableError`, never "anonymous".
    pub async fn whoami(&self, headers: &HeaderMap) -> Result<Session> {
        match self.whoami_start(headers) {
            Whoami::Ready(r) => r,
            Whoami::Pending(p) => p.finish().await,
        }
    }

    /// `whoami` up to its first wait: [`Whoami::Ready`] when no I/O is needed (a fresh session in
    /// the memory cache, an Oathkeeper envelope, a credential refused locally; audited as
    /// `whoami` audits them), else [`Whoami::Pending`], whose [`finish`](PendingWhoami::finish)
    /// asks the cache and Kratos with the credential already extracted and hashed. The
    /// bindings use it to hand back an already-resolved awaitable without a round trip through
    /// the runtime, and to extract the credential once per call.
    pub fn whoami_start(&self, headers: &HeaderMap) -> Whoami {
        match self.local(headers) {
            Local::Done(r) => Whoami::Ready(*r),
            Local::Ask { cred, key, request_id } => {
                let t = &self.t;
                match t.sessions.get_now(&key).filter(|s| s.tenant == *t.name && fresh(s)) {
                    Some(s) => Whoami::Ready(Ok(self.hit(s, &request_id))),
                    // Anything but a clean hit (miss, expired, foreign tenant) is left to
                    // `finish`, which audits it.
                    None => Whoami::Pending(PendingWhoami {
                        svc: self.clone(),
                        what: Pending::Kratos { cred, key },
                        request_id,
                    }),
                }
            }
            Local::Key { token, kid, request_id } => {
                Whoami::Pending(PendingWhoami { svc: self.clone(), what: Pending::Key { token, kid }, request_id })
            }
            Local::Replay { session, jti, exp, request_id } => Whoami::Pending(PendingWhoami {
                svc: self.clone(),
                what: Pending::Replay { session, jti, exp },
                request_id,
            }),
        }
    }

    /// The same service accepting only the credentials of `transport`, which must be the
    /// tenant's own transport or narrower (`cookie` or `bearer` of a `cookie-or-bearer` tenant):
    /// e.g. an API router that takes bearer tokens only, next to a cookie UI. Widening (a cookie
    /// for a bearer-only tenant) or switching to or from Oathkeeper is a configuration error.
    pub fn with_transport(&self, transport: crate::config::Transport) -> Result<SessionService> {
        use crate::config::Transport::*;
        let own = self.t.config.transport;
        let narrower_or_same = transport == own || (own == CookieOrBearer && matches!(transport, Cookie | Bearer));
        if !narrower_or_same {
            return Err(Error::configuration(format!(
                "tenants.{}.transport is {}: a handle can narrow it, not change it to {}",
                self.t.name,
                own.as_str(),
                transport.as_str()
            ))
            .with_tenant(&*self.t.name));
        }
        let mut t = (*self.t).clone();
        t.narrowed = Some(transport);
        Ok(SessionService { reg: self.reg.clone(), t: Arc::new(t) })
    }

    /// The `whoami_or_null` reading of a `whoami` result: `None` for a missing, rejected or
    /// refused credential; outages still fail.
    pub fn or_null(r: Result<Session>) -> Result<Option<Session>> {
        or_null(r)
    }

    /// Audit the outcome of asking Kratos.
    fn fetched(&self, res: Result<Session>, request_id: &Option<String>) -> Result<Session> {
        let t = &self.t;
        let audit = |name: &str, result: &str| AuditEvent::new(name, &t.name, result).request_id(request_id.clone());
        match &res {
            Ok(s) => t.emit_with(|| {
                audit(names::AUTH_SUCCESS, "success").target(s.identity.id.clone()).attr("cache_hit", false)
            }),
            Err(e) if e.kind() == ErrorKind::Unauthorized => t.emit(audit(names::AUTH_FAILURE_EXPIRED, "failure")),
            Err(e) => t.emit(audit(names::AUTH_FAILURE_UPSTREAM, "failure").attr("error", e.code())),
        }
        res
    }

    /// `whoami` without waiting, when no I/O is needed: `Some` as [`whoami_start`]'s
    /// [`Whoami::Ready`], `None` when Kratos or Redis must be asked (then call
    /// [`whoami`](Self::whoami)).
    ///
    /// [`whoami_start`]: Self::whoami_start
    pub fn whoami_ready(&self, headers: &HeaderMap) -> Option<Result<Session>> {
        match self.whoami_start(headers) {
            Whoami::Ready(r) => Some(r),
            Whoami::Pending(_) => None,
        }
    }

    /// What needs no I/O: Oathkeeper envelopes and the credential's presence and shape (and a
    /// closed `Iam`, which answers nothing, not even from its cache).
    fn local(&self, headers: &HeaderMap) -> Local {
        let t = &self.t;
        if let Err(e) = t.ensure_open() {
            return Local::Done(Box::new(Err(e)));
        }
        let request_id = self.incoming_request_id(headers);
        let audit = |name: &str, result: &str| AuditEvent::new(name, &t.name, result).request_id(request_id.clone());
        if let Some(v) = &t.oathkeeper {
            // Verified locally; Kratos is never asked on this path.
            if v.is_jwt() {
                let (token, kid) = match v.bearer(headers) {
                    Ok(x) => x,
                    Err(r) => return Local::Done(Box::new(self.envelope(Err(r), &request_id))),
                };
                let known = match v.inline_keys() {
                    Some(set) => Some(set.find(&kid).cloned().ok_or(Refusal::InvalidSignature)),
                    None => t.state::<OathkeeperKeys>().0.key_now(t, &kid).map(Ok),
                };
                return match known {
                    Some(Ok(jwk)) => self.verified(v.verify_jwt(&t.name, &token, &jwk), request_id),
                    Some(Err(r)) => Local::Done(Box::new(self.envelope(Err(r), &request_id))),
                    None => Local::Key { token, kid, request_id },
                };
            }
            return self.verified(v.verify_full(&t.name, headers), request_id);
        }
        let cred = match transport::extract(t.config_transport(), t.session_cookie_name(), headers) {
            Ok(c) => c,
            Err(Rejection::Missing) => {
                t.emit(audit(names::AUTH_FAILURE_MISSING_CREDENTIAL, "failure"));
                return Local::Done(Box::new(Err(unauthorized(t, "no credential in the request"))));
            }
            Err(Rejection::Malformed) => {
                t.emit(audit(names::AUTH_FAILURE_MALFORMED, "failure"));
                return Local::Done(Box::new(Err(unauthorized(t, "malformed credential"))));
            }
        };
        let (kind, material) = cred.material();
        let key = cache::key(&t.name, kind, material);
        Local::Ask { cred, key, request_id }
    }

    /// A verified envelope: done, or its replay check still to make in the shared cache.
    fn verified(&self, r: std::result::Result<Verified, Refusal>, request_id: Option<String>) -> Local {
        match r {
            Ok(Verified { session, replay: Some((jti, exp)) }) => {
                Local::Replay { session: Box::new(session), jti, exp, request_id }
            }
            r => Local::Done(Box::new(self.envelope(r.map(|v| v.session), &request_id))),
        }
    }

    /// The replay check shared by every process using this Redis: a `jti` any of them saw
    /// before while valid is refused. With Redis unavailable it fails closed: an outage
    /// (`upstream_unavailable`, audited `auth.failure.upstream`), never an envelope accepted that
    /// another process may already have accepted.
    async fn replay_check(
        &self,
        session: Session,
        jti: String,
        exp: i64,
        request_id: Option<String>,
    ) -> Result<Session> {
        let t = &self.t;
        let Some(v) = t.oathkeeper.as_ref() else { return Err(unauthorized(t, "no identity envelope")) };
        let r = match t.sessions.first_sighting(&t.name, &jti, v.replay_ttl(exp)).await {
            Some(true) => Ok(session),
            Some(false) => Err(Refusal::Replayed),
            None => {
                let e = Error::new(ErrorKind::UpstreamUnavailable, "the shared replay store (redis) is unavailable")
                    .with_tenant(&*t.name);
                t.emit(
                    AuditEvent::new(names::AUTH_FAILURE_UPSTREAM, &t.name, "failure")
                        .request_id(request_id)
                        .attr("error", e.code()),
                );
                return Err(e);
            }
        };
        self.envelope(r, &request_id)
    }

    /// The outcome of an Oathkeeper envelope or JWT, audited.
    fn envelope(&self, r: std::result::Result<Session, Refusal>, request_id: &Option<String>) -> Result<Session> {
        let t = &self.t;
        let audit = |name: &str, result: &str| AuditEvent::new(name, &t.name, result).request_id(request_id.clone());
        match r {
            Ok(s) => {
                t.emit(audit(names::AUTH_SUCCESS, "success").target(s.identity.id.clone()).attr("cache_hit", false));
                Ok(s)
            }
            Err(r) => {
                let (event, why) = match r {
                    Refusal::Missing => (names::AUTH_FAILURE_MISSING_CREDENTIAL, "no identity envelope"),
                    Refusal::Unsigned => (names::AUTH_FAILURE_UNSIGNED_HEADER, "unsigned envelope"),
                    Refusal::InvalidSignature => (names::AUTH_FAILURE_INVALID_SIGNATURE, "wrongly signed envelope"),
                    Refusal::Expired => (names::AUTH_FAILURE_EXPIRED, "expired envelope"),
                    Refusal::Malformed => (names::AUTH_FAILURE_MALFORMED, "malformed envelope"),
                    Refusal::Replayed => (names::AUTH_FAILURE_REPLAY, "replayed envelope"),
                    Refusal::TenantMismatch => (names::AUTH_TENANT_MISMATCH, "envelope for another tenant"),
                    Refusal::AudienceMismatch => {
                        (names::AUTH_FAILURE_AUDIENCE_MISMATCH, "envelope for another audience")
                    }
                };
                t.emit(audit(event, "failure"));
                Err(unauthorized(t, why))
            }
        }
    }

    /// An Oathkeeper JWT whose key was not at hand: fetch Oathkeeper's keys (fail closed: an
    /// unreachable JWKS is an outage, never anonymous), then verify.
    async fn oathkeeper_key(&self, token: Secret, kid: String, request_id: Option<String>) -> Result<Session> {
        let t = &self.t;
        let Some(v) = t.oathkeeper.as_ref() else { return Err(unauthorized(t, "no identity envelope")) };
        let client = t.oathkeeper_jwks.as_ref().ok_or_else(|| t.missing("oathkeeper.jwks.url", "session.whoami"))?;
        let path = t.config.oathkeeper.as_ref().and_then(|o| o.jwks.as_ref()?.split_url()).map(|(_, p)| p);
        match t.state::<OathkeeperKeys>().0.key(t, client, path.as_deref().unwrap_or(""), &kid).await {
            Ok(jwk) => match v.verify_jwt(&t.name, &token, &jwk) {
                Ok(Verified { session, replay: Some((jti, exp)) }) => {
                    self.replay_check(session, jti, exp, request_id).await
                }
                r => self.envelope(r.map(|v| v.session), &request_id),
            },
            Err(e) if e.kind() == ErrorKind::Unauthorized => self.envelope(Err(Refusal::InvalidSignature), &request_id),
            Err(e) => {
                t.emit(
                    AuditEvent::new(names::AUTH_FAILURE_UPSTREAM, &t.name, "failure")
                        .request_id(request_id)
                        .attr("error", e.code()),
                );
                Err(e)
            }
        }
    }

    /// A fresh cached session handed out: marked, audited and reported like any other.
    fn hit(&self, mut s: Session, request_id: &Option<String>) -> Session {
        let t = &self.t;
        s.cache_hit = true;
        t.emit_with(|| {
            AuditEvent::new(names::AUTH_SUCCESS, &t.name, "success")
                .request_id(request_id.clone())
                .target(s.identity.id.clone())
                .attr("cache_hit", true)
        });
        crate::telemetry::cache_hit_event(&t.name, "whoami");
        if let Some(op) = &t.op {
            op.record(|r| r.cache_hit = true);
        }
        s
    }

    /// Like `whoami`, but `None` when the credential is missing or rejected. Upstream failures
    /// still raise: an outage never turns a user into "anonymous".
    pub async fn whoami_or_null(&self, headers: &HeaderMap) -> Result<Option<Session>> {
        or_null(self.whoami(headers).await)
    }

    /// [`whoami_or_null`](Self::whoami_or_null) without waiting, when no I/O is needed (see
    /// [`whoami_ready`](Self::whoami_ready)).
    pub fn whoami_or_null_ready(&self, headers: &HeaderMap) -> Option<Result<Option<Session>>> {
        self.whoami_ready(headers).map(or_null)
    }

    /// Revoke a session (admin), evict it from the cache and audit `authz.session.revoke`.
    pub async fn revoke(&self, session_id: &str) -> Result<()> {
        revoke_session(&self.t, session_id).await
    }

    /// One page of all sessions of the tenant (admin, `GET /admin/sessions`), each with its
    /// identity (sanitized: no traits). `active` filters; Kratos pages by keyset tokens.
    pub async fn list(&self, opts: ListSessions) -> Result<Page<Session>> {
        let c = self.t.kratos_admin("session.list")?;
        let mut call = page_query(Call::get("admin/sessions"), opts.page_size, opts.page_token, 1000)?;
        if let Some(a) = opts.active {
            call = call.query("active", a.to_string());
        }
        let r = c.send(call.query("expand", "identity")).await?;
        let items: Vec<wire::Session> = c.decode(&r)?;
        Ok(Page {
            items: items.into_iter().map(|s| admin_session(&self.t.name, s)).collect(),
            next_page_token: next_token_from_link(&r.headers),
        })
    }

    /// Every session of the tenant, page after page (`active` filters).
    pub fn list_all(&self, active: Option<bool>) -> Pager<Session> {
        pages(self.clone(), move |svc, token| async move {
            svc.list(ListSessions { page_size: None, page_token: token, active }).await
        })
    }

    /// One session by id (admin, `GET /admin/sessions/{id}`), active or not, with its identity
    /// (sanitized). An unknown id is `IamNotFoundError`.
    pub async fn get(&self, session_id: &str) -> Result<Session> {
        check_uuid("session_id", session_id)?;
        let c = self.t.kratos_admin("session.get")?;
        let path = format!("admin/sessions/{}", crate::ids::seg(session_id));
        let r = c.send(Call::get(&path).query("expand", "identity")).await?;
        Ok(admin_session(&self.t.name, c.decode(&r)?))
    }

    /// The credential of the request, for a call Kratos answers on the user's behalf: found as
    /// `whoami` finds it (the tenant's transport). Oathkeeper forwards no Kratos credential.
    fn own_credential(&self, headers: &HeaderMap, op: &str) -> Result<Credential> {
        let t = &self.t;
        if t.oathkeeper.is_some() {
            return Err(Error::configuration(format!(
                "tenants.{}.transport is oathkeeper: {op} needs the user's Kratos session, which Oathkeeper does not forward",
                t.name
            ))
            .with_tenant(&*t.name));
        }
        transport::extract(t.config_transport(), t.session_cookie_name(), headers).map_err(|r| match r {
            Rejection::Missing => unauthorized(t, "no credential in the request"),
            Rejection::Malformed => unauthorized(t, "malformed credential"),
        })
    }

    /// The caller's other active sessions ("your devices"; `GET /sessions`, `listMySessions`),
    /// with the credential of the request as `whoami` reads it. Kratos leaves out the session
    /// making the request (that one is `whoami`). Each session's identity is the caller's, by id
    /// only. A missing or rejected credential is `IamUnauthorizedError`.
    pub async fn list_mine(&self, headers: &HeaderMap, opts: ListMySessions) -> Result<Page<Session>> {
        let me = self.whoami(headers).await?;
        let cred = self.own_credential(headers, "session.list_mine")?;
        let c = self.t.kratos_public("session.list_mine")?;
        let call = page_query(Call::get("sessions"), opts.page_size, opts.page_token, 1000)?;
        let r = c.send(as_user(&self.t, call, &cred)?).await?;
        let items: Vec<wire::Session> = c.decode(&r)?;
        Ok(Page {
            items: items.into_iter().map(|s| s.into_dto_for(&self.t.name, &me.identity.id)).collect(),
            next_page_token: next_token_from_link(&r.headers),
        })
    }

    /// Every other active session of the caller, page after page.
    pub fn list_mine_all(&self, headers: &HeaderMap) -> Pager<Session> {
        let headers = headers.clone();
        pages(self.clone(), move |svc, token| {
            let headers = headers.clone();
            async move { svc.list_mine(&headers, ListMySessions { page_size: None, page_token: token }).await }
        })
    }

    /// Sign the caller out everywhere else (`DELETE /sessions`, `disableMyOtherSessions`): every
    /// session of the caller but the one making the request. Returns Kratos' count (v1.3.1:
    /// also the caller's sessions that were already revoked).
    /// The caller's sessions are evicted from the session cache (the current one is fetched
    /// again on its next `whoami`). Audited `authz.session.revoke_all` with `scope: "others"`.
    pub async fn revoke_my_other_sessions(&self, headers: &HeaderMap) -> Result<u64> {
        let me = self.whoami(headers).await?;
        let cred = self.own_credential(headers, "session.revoke_my_other_sessions")?;
        let c = self.t.kratos_public("session.revoke_my_other_sessions")?;
        let res = c.send(as_user(&self.t, Call::delete("sessions"), &cred)?).await;
        let evicted = self.t.sessions.evict_identity(&self.t.name, &me.identity.id).await;
        self.t.emit(
            AuditEvent::mutation(
                names::AUTHZ_SESSION_REVOKE_ALL,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(me.identity.id.clone())
            .attr("scope", "others"),
        );
        let count = c.decode::<wire::Count>(&res?)?.count;
        evicted?;
        Ok(count)
    }

    /// Revoke one of the caller's other sessions (`DELETE /sessions/{id}`, `disableMySession`),
    /// e.g. from a "your devices" page. Kratos refuses the session making the request (400,
    /// `IamValidationError`: log out instead) and leaves a session of someone else untouched
    /// (v1.3.1 answers 204 all the same). Evicted from the session cache; audited
    /// `authz.session.revoke` with `by: "owner"`.
    pub async fn revoke_mine(&self, headers: &HeaderMap, session_id: &str) -> Result<()> {
        check_uuid("session_id", session_id)?;
        let cred = self.own_credential(headers, "session.revoke_mine")?;
        let c = self.t.kratos_public("session.revoke_mine")?;
        let path = format!("sessions/{}", crate::ids::seg(session_id));
        let res = c.send(as_user(&self.t, Call::delete(&path), &cred)?).await;
        // Whatever the outcome: a timeout may hide a revoke that happened. A revoke the shared
        // cache could not take is an outage, so the caller retries it.
        let evicted = self.t.sessions.evict_session(&self.t.name, session_id).await;
        self.t.emit(
            AuditEvent::mutation(
                names::AUTHZ_SESSION_REVOKE,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(session_id)
            .attr("by", "owner"),
        );
        res?;
        evicted
    }

    /// The request id of a whoami: the request's own `X-Request-Id` behind a trusted proxy, else
    /// the one this handle is [correlated](Self::correlated) with.
    fn incoming_request_id(&self, headers: &HeaderMap) -> Option<String> {
        let incoming = || {
            headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .filter(|v| crate::telemetry::valid_request_id(v))
                .map(str::to_owned)
        };
        let own = if self.t.config.trust_proxy { incoming() } else { None };
        own.or_else(|| self.t.op.as_ref().and_then(|o| o.request_id.clone()))
    }
}

/// What [`SessionService::whoami_start`] found.
// Made and taken apart once per call: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Whoami {
    /// Known without I/O.
    Ready(Result<Session>),
    /// The cache (Redis, or a stale entry) and Kratos must be asked.
    Pending(PendingWhoami),
}

/// The rest of a `whoami`: the credential extracted and its cache key computed. Holds the
/// credential, so no `Debug`. Dropping it (the caller gave up) sends and audits nothing.
pub struct PendingWhoami {
    svc: SessionService,
    what: Pending,
    request_id: Option<String>,
}

enum Pending {
    /// Ask the session cache, then Kratos.
    Kratos { cred: Credential, key: String },
    /// Fetch Oathkeeper's signing key `kid`, then verify `token`.
    Key { token: Secret, kid: String },
    /// Check a verified envelope's id for a replay in the shared cache.
    Replay { session: Box<Session>, jti: String, exp: i64 },
}

impl PendingWhoami {
    /// Ask the session cache, then Kratos (one flight per credential with a cache), and cache
    /// and audit the outcome as `whoami` does.
    pub async fn finish(self) -> Result<Session> {
        let PendingWhoami { svc, what, request_id } = self;
        let (cred, key) = match what {
            Pending::Kratos { cred, key } => (cred, key),
            Pending::Key { token, kid } => return svc.oathkeeper_key(token, kid, request_id).await,
            Pending::Replay { session, jti, exp } => return svc.replay_check(*session, jti, exp, request_id).await,
        };
        let t = svc.t.clone();
        let audit = |name: &str, result: &str| AuditEvent::new(name, &t.name, result).request_id(request_id.clone());
        let store = t.sessions.clone();

        match store.get(&t.name, &key).await {
            Lookup::Hit(s) if s.tenant != *t.name => {
                // Only reachable if a shared cache was tampered with; never hand it out.
                t.emit(audit(names::AUTH_TENANT_MISMATCH, "denied").attr("found_tenant", s.tenant.clone()));
            }
            Lookup::Hit(s) if fresh(&s) => return Ok(svc.hit(s, &request_id)),
            Lookup::Hit(_) | Lookup::Miss => {}
            // A value this deployment did not seal: a miss, never a session.
            Lookup::Rejected(why) => {
                t.emit(audit(names::SESSION_CACHE_REJECTED, "denied").attr("reason", why.as_str()))
            }
            // Refused as Kratos would refuse it (the same error and audit), one Redis read
            // instead of a round trip to Kratos.
            Lookup::Revoked => return svc.fetched(Err(unauthorized(&t, "session revoked")), &request_id),
        }

        let fetch = {
            let t = t.clone();
            let request_id = request_id.clone();
            let key = key.clone();
            let store = store.clone();
            async move {
                // The leader looks again: a caller that missed the cache just before the
                // previous flight stored its session and ended would otherwise go upstream a
                // second time (seen with 1,000 concurrent callers). In-memory only: a second
                // Redis round trip on every miss would cost more than it saves.
                if let Some(s) = store.get_now(&key).filter(|s| s.tenant == *t.name && fresh(s)) {
                    return Ok(Session { cache_hit: true, ..s });
                }
                let since = store.since();
                let s = fetch_whoami(&t, cred, request_id).await?;
                store_fetched(&t, &key, &s, since).await;
                Ok(s)
            }
        };
        let res = if store.enabled() { store.single_flight(&key, fetch).await } else { fetch.await };
        match res {
            Ok(s) if s.cache_hit => Ok(svc.hit(s, &request_id)),
            res => svc.fetched(res, &request_id),
        }
    }
}

/// `call` made with the user's credential: their cookie as `Cookie`, their token as
/// `X-Session-Token`.
fn as_user<'a>(t: &TenantContext, mut call: Call<'a>, cred: &Credential) -> Result<Call<'a>> {
    let (name, value) = match cred {
        Credential::Cookie(v) => (http::header::COOKIE, v),
        Credential::Token(v) => (http::HeaderName::from_static("x-session-token"), v),
    };
    let hv = http::HeaderValue::from_str(value.expose()).map_err(|_| unauthorized(t, "malformed credential"))?;
    call.headers.insert(name, hv);
    Ok(call)
}

/// The request `whoami` sends to Kratos for a credential.
fn whoami_call(t: &TenantContext, cred: &Credential, request_id: &Option<String>) -> Result<Call<'static>> {
    let mut call = as_user(t, Call::get("sessions/whoami"), cred)?;
    if let Some(id) = request_id {
        if let Ok(v) = http::HeaderValue::from_str(id) {
            call.headers.insert("x-request-id", v);
        }
    }
    Ok(call)
}

async fn fetch_whoami(t: &TenantContext, cred: Credential, request_id: Option<String>) -> Result<Session> {
    let c = t.kratos_public("session.whoami")?;
    let call = whoami_call(t, &cred, &request_id)?;
    let r = c.send_raw(call).await?;
    whoami_reply(t, c, &r)
}

/// Kratos' answer to `GET /sessions/whoami` as a session or the error it means.
fn whoami_reply(t: &TenantContext, c: &OryClient, r: &Reply) -> Result<Session> {
    match r.status {
        200 => {
            let s = c.decode::<wire::Session>(r)?.into_dto(&t.name).ok_or_else(|| {
                Error::new(ErrorKind::UpstreamUnavailable, "kratos returned a session without an identity")
                    .with_tenant(&*t.name)
            })?;
            if !s.active || until(s.expires_at.as_deref()).is_none_or(|d| d.is_zero()) {
                return Err(unauthorized(t, "session inactive or expired"));
            }
            Ok(s)
        }
        401 => Err(unauthorized(t, "kratos rejected the credential").with_request_id(r.request_id.clone())),
        403 => Err(Error::new(ErrorKind::Forbidden, "session needs a higher assurance level (aal2)")
            .with_tenant(&*t.name)
            .with_status(403)
            .with_request_id(r.request_id.clone())),
        _ => Err(c.status_error("GET sessions/whoami", r)),
    }
}

/// Cache a session fetched from Kratos, for at most its remaining lifetime, unless something
/// was evicted since the fetch began (`since`): it may have been this very session.
async fn store_fetched(t: &TenantContext, key: &str, s: &Session, since: cache::Since) {
    t.sessions.put(key, s, fetched_ttl(t, s), since).await;
}

fn fetched_ttl(t: &TenantContext, s: &Session) -> Duration {
    let ttl_cfg = Duration::from_millis(t.config.cache.session_ttl_ms);
    until(s.expires_at.as_deref()).map(|left| left.min(ttl_cfg)).unwrap_or(Duration::ZERO)
}

/// A session of an admin view: its identity sanitized (asked with `expand=identity`).
fn admin_session(tenant: &str, s: wire::Session) -> Session {
    let identity_id = s.identity.as_ref().map(|i| i.id.clone()).unwrap_or_default();
    s.into_dto_for(tenant, &identity_id)
}

/// Shared by `SessionService::revoke` and `IdentityService::revoke_session`.
pub(crate) async fn revoke_session(t: &Arc<TenantContext>, session_id: &str) -> Result<()> {
    check_uuid("session_id", session_id)?;
    let c = t.kratos_admin("session.revoke")?;
    let path = format!("admin/sessions/{}", crate::ids::seg(session_id));
    let res = c.send(Call::delete(&path)).await;
    // Evict whatever the outcome: a session Kratos no longer knows must not live on in a cache.
    // A revoke the shared cache could not take is an outage, so the caller retries it. A revoke
    // Kratos confirmed leaves tombstones, so other instances refuse without asking Kratos.
    let evicted = if res.is_ok() {
        t.sessions.revoke_session(&t.name, session_id).await
    } else {
        t.sessions.evict_session(&t.name, session_id).await
    };
    t.emit(
        AuditEvent::mutation(names::AUTHZ_SESSION_REVOKE, &t.name, res.as_ref().map(|r| r.request_id.as_str()))
            .target(session_id),
    );
    res?;
    evicted
}

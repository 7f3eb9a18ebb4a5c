use crate::dto::{Session, SessionPage};
use crate::errors::{catch, to_napi, IntoNapi};
use crate::pager::SessionPager;
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;
use ory_iam::kratos::session::Whoami;
use serde_json::Value;

// `whoami` accepts a Node `IncomingMessage`/Express request, a Fetch `Request`, `Headers`, or a
// plain headers object; ory-iam.js normalizes them to a headers object before the call.

/// Sessions of one tenant: `whoami` for incoming requests, admin `revoke`.
#[napi]
#[derive(Clone)]
pub struct SessionService(pub(crate) ory_iam::SessionService);
crate::handle::basics!(SessionService);

#[napi]
impl SessionService {
    /// The request's session; throws `IamUnauthorizedError` when the credential is missing,
    /// malformed, invalid or expired, `IamUpstreamUnavailableError` when Kratos is down.
    #[napi(
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>",
        ts_return_type = "Promise<Session>"
    )]
    pub fn whoami<'env>(&self, env: &'env Env, req: Value) -> napi::Result<PromiseRaw<'env, Session>> {
        let headers = ory_iam::transport::header_map_from_json(&req);
        // Answered without I/O (a cache hit): an already-settled promise, no hop to the runtime.
        // A miss carries the extracted credential on to `finish`.
        match catch(|| Ok(self.0.whoami_start(&headers)))? {
            Whoami::Ready(Ok(s)) => PromiseRaw::resolve(env, Session::from(s)),
            Whoami::Ready(Err(e)) => PromiseRaw::reject(env, to_napi(e)),
            Whoami::Pending(p) => env.spawn_future(async move { p.finish().await.napi().map(Into::into) }),
        }
    }

    /// `null` only when the credential is missing or rejected; outages still throw.
    #[napi(
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>",
        ts_return_type = "Promise<Session | null>"
    )]
    pub fn whoami_or_null<'env>(&self, env: &'env Env, req: Value) -> napi::Result<PromiseRaw<'env, Option<Session>>> {
        let headers = ory_iam::transport::header_map_from_json(&req);
        let or_null = ory_iam::SessionService::or_null;
        match catch(|| Ok(self.0.whoami_start(&headers)))? {
            Whoami::Ready(r) => match or_null(r) {
                Ok(s) => PromiseRaw::resolve(env, s.map(Session::from)),
                Err(e) => PromiseRaw::reject(env, to_napi(e)),
            },
            Whoami::Pending(p) => {
                env.spawn_future(async move { Ok(or_null(p.finish().await).napi()?.map(Into::into)) })
            }
        }
    }

    /// The same service accepting only `transport`'s credentials: the tenant's own transport or
    /// narrower (`cookie` or `bearer` of a `cookie-or-bearer` tenant); anything else throws
    /// `IamConfigurationError` (`IamValidationError` for an unknown name).
    #[napi(ts_args_type = "transport: 'cookie' | 'bearer' | 'cookie-or-bearer' | 'oathkeeper'")]
    pub fn with_transport(&self, transport: String) -> napi::Result<SessionService> {
        catch(|| {
            let t = ory_iam::config::Transport::parse(&transport)
                .ok_or_else(|| {
                    ory_iam::Error::invalid_field("transport", "must be cookie, bearer, cookie-or-bearer or oathkeeper")
                })
                .napi()?;
            self.0.with_transport(t).napi().map(SessionService)
        })
    }

    /// Revoke a session (admin), evict it from the cache, audit `authz.session.revoke`.
    #[napi]
    pub async fn revoke(&self, session_id: String) -> napi::Result<()> {
        self.0.revoke(&session_id).await.napi()
    }

    /// One page of all sessions of the tenant (admin), each with its identity (no traits).
    #[napi(ts_args_type = "options?: ListSessionsOptions")]
    pub async fn list(&self, options: Option<Value>) -> napi::Result<SessionPage> {
        let opts: ory_iam::dto::ListSessions =
            ory_iam::dto::parse_input("options", options.unwrap_or(Value::Null)).napi()?;
        let p = self.0.list(opts).await.napi()?;
        Ok(SessionPage { items: p.items.into_iter().map(Into::into).collect(), next_page_token: p.next_page_token })
    }

    /// Every session of the tenant: `for await (const s of iam.session.listAll())`.
    #[napi(ts_return_type = "AsyncIterable<Session>")]
    pub fn list_all(&self, active: Option<bool>) -> SessionPager {
        SessionPager::new(self.0.list_all(active))
    }

    /// One session by id (admin), active or not, with its identity (no traits).
    #[napi]
    pub async fn get(&self, session_id: String) -> napi::Result<Session> {
        self.0.get(&session_id).await.napi().map(Into::into)
    }

    /// The caller's other active sessions ("your devices"), with the request's credential as
    /// `whoami` reads it; the session making the request is not listed.
    #[napi(
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>, options?: ListMySessionsOptions"
    )]
    pub async fn list_mine(&self, req: Value, options: Option<Value>) -> napi::Result<SessionPage> {
        let headers = ory_iam::transport::header_map_from_json(&req);
        let opts: ory_iam::dto::ListMySessions =
            ory_iam::dto::parse_input("options", options.unwrap_or(Value::Null)).napi()?;
        let p = self.0.list_mine(&headers, opts).await.napi()?;
        Ok(SessionPage { items: p.items.into_iter().map(Into::into).collect(), next_page_token: p.next_page_token })
    }

    /// Every other active session of the caller: `for await (const s of iam.session.listMineAll(req))`.
    #[napi(
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>",
        ts_return_type = "AsyncIterable<Session>"
    )]
    pub fn list_mine_all(&self, req: Value) -> SessionPager {
        SessionPager::new(self.0.list_mine_all(&ory_iam::transport::header_map_from_json(&req)))
    }

    /// Sign the caller out everywhere else; resolves to Kratos' count (v1.3.1: also the caller's
    /// sessions that were already revoked).
    /// Audited `authz.session.revoke_all` (`scope: "others"`).
    #[napi(
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>"
    )]
    pub async fn revoke_my_other_sessions(&self, req: Value) -> napi::Result<i64> {
        let headers = ory_iam::transport::header_map_from_json(&req);
        self.0.revoke_my_other_sessions(&headers).await.napi().map(|n| n.min(i64::MAX as u64) as i64)
    }

    /// Revoke one of the caller's other sessions. The current one throws `IamValidationError`
    /// (log out instead); someone else's is left untouched.
    #[napi(
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>, sessionId: string"
    )]
    pub async fn revoke_mine(&self, req: Value, session_id: String) -> napi::Result<()> {
        let headers = ory_iam::transport::header_map_from_json(&req);
        self.0.revoke_mine(&headers, &session_id).await.napi()
    }
}

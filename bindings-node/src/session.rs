use crate::dto::Session;
use crate::errors::{catch, to_napi, IntoNapi};
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;
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
        match catch(|| Ok(self.0.whoami_ready(&headers)))? {
            Some(Ok(s)) => PromiseRaw::resolve(env, Session::from(s)),
            Some(Err(e)) => PromiseRaw::reject(env, to_napi(e)),
            None => {
                let s = self.0.clone();
                env.spawn_future(async move { s.whoami(&headers).await.napi().map(Into::into) })
            }
        }
    }

    /// `null` only when the credential is missing or rejected; outages still throw.
    #[napi(
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>",
        ts_return_type = "Promise<Session | null>"
    )]
    pub fn whoami_or_null<'env>(&self, env: &'env Env, req: Value) -> napi::Result<PromiseRaw<'env, Option<Session>>> {
        let headers = ory_iam::transport::header_map_from_json(&req);
        match catch(|| Ok(self.0.whoami_or_null_ready(&headers)))? {
            Some(Ok(s)) => PromiseRaw::resolve(env, s.map(Session::from)),
            Some(Err(e)) => PromiseRaw::reject(env, to_napi(e)),
            None => {
                let s = self.0.clone();
                env.spawn_future(async move { Ok(s.whoami_or_null(&headers).await.napi()?.map(Into::into)) })
            }
        }
    }

    /// Revoke a session (admin), evict it from the cache, audit `authz.session.revoke`.
    #[napi]
    pub async fn revoke(&self, session_id: String) -> napi::Result<()> {
        self.0.revoke(&session_id).await.napi()
    }
}

use crate::dto::Session;
use crate::errors::IntoNapi;
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
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>"
    )]
    pub async fn whoami(&self, req: Value) -> napi::Result<Session> {
        let headers = ory_iam::transport::header_map_from_json(&req);
        self.0.whoami(&headers).await.napi().map(Into::into)
    }

    /// `null` only when the credential is missing or rejected; outages still throw.
    #[napi(
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>"
    )]
    pub async fn whoami_or_null(&self, req: Value) -> napi::Result<Option<Session>> {
        let headers = ory_iam::transport::header_map_from_json(&req);
        Ok(self.0.whoami_or_null(&headers).await.napi()?.map(Into::into))
    }

    /// Revoke a session (admin), evict it from the cache, audit `authz.session.revoke`.
    #[napi]
    pub async fn revoke(&self, session_id: String) -> napi::Result<()> {
        self.0.revoke(&session_id).await.napi()
    }
}

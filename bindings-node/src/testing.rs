//! `ory-iam/testing`: the core's in-memory Ory servers, for testing users' code. The package's
//! `testing.js` wraps these natives (promises, plain objects, `IamError` subclasses).

use crate::errors::IntoNapi;
use crate::secret::Secret;
use crate::Iam;
use napi_derive::napi;
use std::collections::HashMap;

/// In-memory Kratos, Keto and Hydra behind an ordinary `Iam` (use `FakeOry` from
/// `ory-iam/testing`).
#[napi(js_name = "FakeOry")]
pub struct NativeFakeOry(ory_iam::testing::FakeOry);

/// An authorization request for `FakeOry.authorize` (`scope` and `audience` space-separated).
#[napi(object)]
pub struct FakeAuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub response_type: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
}

/// A session made by `createSession`.
#[napi]
pub struct FakeSession {
    session_id: String,
    token: ory_iam::Secret,
    cookie: ory_iam::Secret,
}

#[napi]
impl FakeSession {
    #[napi(getter)]
    pub fn session_id(&self) -> String {
        self.session_id.clone()
    }

    /// A Kratos session token (`X-Session-Token` or `Authorization: Bearer`).
    #[napi(getter)]
    pub fn token(&self) -> Secret {
        Secret::from_core(self.token.clone())
    }

    /// The `ory_kratos_session` cookie's value of the same session.
    #[napi(getter)]
    pub fn cookie(&self) -> Secret {
        Secret::from_core(self.cookie.clone())
    }
}

impl NativeFakeOry {
    fn tenant(&self, tenant: Option<String>) -> String {
        tenant.unwrap_or_else(|| self.0.default_tenant().to_owned())
    }
}

#[napi]
impl NativeFakeOry {
    /// Fake servers for these tenants; the first is the default tenant.
    #[napi(factory)]
    pub fn create(tenants: Vec<String>) -> napi::Result<NativeFakeOry> {
        let names: Vec<&str> = tenants.iter().map(String::as_str).collect();
        ory_iam::testing::FakeOry::new(&names).napi().map(NativeFakeOry)
    }

    /// Fake servers configured from options (`tenants`, `identity_schemas`, `default_schema_id`,
    /// `keto_namespaces`, `client_scope`), read by the core.
    #[napi(factory)]
    pub fn create_with(options: serde_json::Value) -> napi::Result<NativeFakeOry> {
        ory_iam::testing::FakeOptions::from_value(&options)
            .and_then(ory_iam::testing::FakeOry::with_options)
            .napi()
            .map(NativeFakeOry)
    }

    /// An ordinary `Iam` talking to this fake (shares its session cache with every other call).
    #[napi(getter)]
    pub fn iam(&self) -> Iam {
        Iam(self.0.iam())
    }

    #[napi(getter)]
    pub fn tenants(&self) -> Vec<String> {
        self.0.tenants()
    }

    #[napi(getter)]
    pub fn default_tenant(&self) -> String {
        self.0.default_tenant().to_owned()
    }

    /// Log the identity in: an active 24 h session and its token.
    #[napi]
    pub fn create_session(&self, identity_id: String, tenant: Option<String>) -> napi::Result<FakeSession> {
        let c = self.0.create_session(&self.tenant(tenant), &identity_id).napi()?;
        Ok(FakeSession { session_id: c.session_id, token: c.token, cookie: c.cookie })
    }

    /// Make the session expire now (and drop it from the session cache).
    #[napi]
    pub async fn expire_session(&self, session_id: String, tenant: Option<String>) -> napi::Result<()> {
        self.0.expire_session(&self.tenant(tenant), &session_id).await.napi()
    }

    /// Register a client allowed the `client_credentials` grant for `scope`.
    #[napi]
    pub fn add_oauth2_client(
        &self,
        client_id: String,
        client_secret: Option<String>,
        scope: Vec<String>,
        tenant: Option<String>,
    ) -> napi::Result<()> {
        let client =
            ory_iam::testing::FakeClient { client_id, client_secret: client_secret.map(ory_iam::Secret::new), scope };
        self.0.add_oauth2_client(&self.tenant(tenant), client).napi()
    }

    /// An access token as Hydra would issue it to `clientId` (active for an hour, or until revoked).
    #[napi]
    pub fn issue_token(&self, client_id: String, scope: Vec<String>, tenant: Option<String>) -> napi::Result<Secret> {
        let scope: Vec<&str> = scope.iter().map(String::as_str).collect();
        self.0.issue_token(&self.tenant(tenant), &client_id, &scope).napi().map(Secret::from_core)
    }

    /// Start an authorization request as a browser would: the URL the fake Hydra redirects to.
    #[napi]
    pub fn authorize(&self, request: FakeAuthorizeRequest, tenant: Option<String>) -> napi::Result<String> {
        let req = ory_iam::testing::AuthorizeRequest {
            client_id: request.client_id,
            redirect_uri: request.redirect_uri,
            scope: request.scope,
            state: request.state,
            response_type: request.response_type,
            code_challenge: request.code_challenge,
            code_challenge_method: request.code_challenge_method,
            audience: request.audience,
            nonce: request.nonce,
        };
        self.0.authorize(&self.tenant(tenant), req).napi()
    }

    /// Follow a `redirectTo` of an accepted or rejected login or consent: the next `Location`.
    #[napi]
    pub fn follow(&self, url: String, tenant: Option<String>) -> napi::Result<String> {
        self.0.follow(&self.tenant(tenant), &url).napi()
    }

    /// Requests per emulated endpoint, e.g. `{"kratos-public GET sessions/whoami": 2}`.
    #[napi]
    pub fn requests(&self) -> HashMap<String, u32> {
        self.0.requests().into_iter().map(|(k, v)| (k, v.min(u32::MAX as u64) as u32)).collect()
    }
}

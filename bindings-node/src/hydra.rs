//! Hydra services: OAuth2 clients, tokens, consent, JWKs, trusted issuers.

use crate::dto::{
    ChallengeRequest, ConsentSessionPage, Introspection, JsonWebKeySet, OAuth2Client, OAuth2ClientPage,
    OidcConfiguration, RedirectTo, TokenSet, TrustedIssuer, TrustedIssuerPage, UserInfo,
};
use crate::errors::IntoNapi;
use crate::pager::{ConsentSessionPager, OAuth2ClientPager, TrustedIssuerPager};
use napi_derive::napi;
use ory_iam::dto::{
    AuthorizationCodeGrant, ClientLifespans, CreateJwkSet, JwtBearerGrant, ListConsentSessions, ListOAuth2Clients,
    ListTrustedIssuers, LogoutUrlOptions, RefreshGrant, RevokeConsentSessions, RevokeLoginSessions, RevokeOptions,
    TrustIssuer,
};
use ory_iam::Secret;
use serde_json::Value;

/// OAuth2 clients of one tenant (Hydra admin API).
#[napi]
#[derive(Clone)]
pub struct OAuth2ClientService(pub(crate) ory_iam::OAuth2ClientService);
crate::handle::basics!(OAuth2ClientService);

#[napi]
impl OAuth2ClientService {
    /// Create a client from Hydra's fields (`client_name`, `grant_types`, …; snake_case as Hydra
    /// spells them). The returned `clientSecret` is shown this once.
    #[napi(ts_args_type = "client: Record<string, unknown>")]
    pub async fn create(&self, client: Value) -> napi::Result<OAuth2Client> {
        self.0.create(client).await.napi().map(Into::into)
    }
    #[napi]
    pub async fn get(&self, id: String) -> napi::Result<OAuth2Client> {
        self.0.get(&id).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "options?: ListOAuth2ClientsOptions")]
    pub async fn list(&self, options: Option<Value>) -> napi::Result<OAuth2ClientPage> {
        let p = self.0.list(crate::handle::input::<ListOAuth2Clients>(options, "options")?).await.napi()?;
        Ok(OAuth2ClientPage {
            items: p.items.into_iter().map(Into::into).collect(),
            next_page_token: p.next_page_token,
        })
    }
    #[napi(ts_args_type = "options?: ListOAuth2ClientsOptions", ts_return_type = "AsyncIterable<OAuth2Client>")]
    pub fn list_all(&self, options: Option<Value>) -> napi::Result<OAuth2ClientPager> {
        Ok(OAuth2ClientPager::new(self.0.list_all(crate::handle::input(options, "options")?)))
    }
    /// Replace the client (an omitted `client_secret` keeps the current one).
    #[napi(ts_args_type = "id: string, client: Record<string, unknown>")]
    pub async fn set(&self, id: String, client: Value) -> napi::Result<OAuth2Client> {
        self.0.set(&id, client).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "id: string, ops: Array<JsonPatchOperation>")]
    pub async fn patch(&self, id: String, ops: Value) -> napi::Result<OAuth2Client> {
        self.0.patch(&id, ops).await.napi().map(Into::into)
    }
    /// Audited `oauth2_client.delete`.
    #[napi]
    pub async fn delete(&self, id: String) -> napi::Result<()> {
        self.0.delete(&id).await.napi()
    }
    /// Set the client's token lifespans (Go durations, `"1h"`); the whole set is replaced.
    /// Audited `oauth2_client.lifespans.set`.
    #[napi(ts_args_type = "id: string, lifespans: ClientLifespans")]
    pub async fn set_lifespans(&self, id: String, lifespans: Value) -> napi::Result<OAuth2Client> {
        let l: ClientLifespans = crate::handle::input(Some(lifespans), "lifespans")?;
        self.0.set_lifespans(&id, l).await.napi().map(Into::into)
    }
    /// OpenID Connect dynamic client registration (Hydra's public `/oauth2/register`). The
    /// result's `clientSecret` and `registrationAccessToken` are shown this once. Not retried.
    /// Audited `oauth2_client.register`.
    #[napi(ts_args_type = "client: Record<string, unknown>")]
    pub async fn register(&self, client: Value) -> napi::Result<OAuth2Client> {
        self.0.register(client).await.napi().map(Into::into)
    }
    /// A dynamically registered client, read with its registration access token (a wrong
    /// token throws `unauthorized`).
    #[napi(ts_args_type = "id: string, registrationAccessToken: string | Secret")]
    pub async fn get_registered(&self, id: String, registration_access_token: String) -> napi::Result<OAuth2Client> {
        self.0.get_registered(&id, &Secret::new(registration_access_token)).await.napi().map(Into::into)
    }
    /// Replace a dynamically registered client; Hydra rotates the registration access token
    /// (the result carries the new one). Audited `oauth2_client.registered.set`.
    #[napi(ts_args_type = "id: string, registrationAccessToken: string | Secret, client: Record<string, unknown>")]
    pub async fn set_registered(
        &self,
        id: String,
        registration_access_token: String,
        client: Value,
    ) -> napi::Result<OAuth2Client> {
        self.0.set_registered(&id, &Secret::new(registration_access_token), client).await.napi().map(Into::into)
    }
    /// Delete a dynamically registered client. Audited `oauth2_client.registered.delete`.
    #[napi(ts_args_type = "id: string, registrationAccessToken: string | Secret")]
    pub async fn delete_registered(&self, id: String, registration_access_token: String) -> napi::Result<()> {
        self.0.delete_registered(&id, &Secret::new(registration_access_token)).await.napi()
    }
}

/// OAuth2 tokens of one tenant.
#[napi]
#[derive(Clone)]
pub struct TokenService(pub(crate) ory_iam::TokenService);
crate::handle::basics!(TokenService);

#[napi]
impl TokenService {
    /// With the tenant's `hydra.clientId`/`clientSecret`; cached and renewed ahead of expiry.
    /// `scope`: space-separated (`'read write'`) or a list (`['read', 'write']`).
    #[napi(ts_args_type = "scope?: string | string[] | undefined | null")]
    pub async fn client_credentials(&self, scope: Option<Value>) -> napi::Result<TokenSet> {
        let scope = match scope {
            None | Some(Value::Null) => None,
            Some(v) => {
                Some(ory_iam::dto::parse_input::<ory_iam::dto::Scopes>("scope", v).and_then(|s| s.joined()).napi()?)
            }
        };
        self.0.client_credentials(scope.as_deref()).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "grant: AuthorizationCodeGrant")]
    pub async fn authorization_code(&self, grant: Value) -> napi::Result<TokenSet> {
        let g: AuthorizationCodeGrant = crate::handle::input(Some(grant), "grant")?;
        self.0.authorization_code(g).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "grant: RefreshGrant")]
    pub async fn refresh(&self, grant: Value) -> napi::Result<TokenSet> {
        let g: RefreshGrant = crate::handle::input(Some(grant), "grant")?;
        self.0.refresh(g).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "grant: JwtBearerGrant")]
    pub async fn jwt_bearer(&self, grant: Value) -> napi::Result<TokenSet> {
        let g: JwtBearerGrant = crate::handle::input(Some(grant), "grant")?;
        self.0.jwt_bearer(g).await.napi().map(Into::into)
    }
    /// `active: false` (unknown, expired, revoked) is a normal answer.
    #[napi(ts_args_type = "token: string | Secret")]
    pub async fn introspect(&self, token: String) -> napi::Result<Introspection> {
        self.0.introspect(&Secret::new(token)).await.napi().map(Into::into)
    }
    /// Resource-server check of the request's `Authorization: Bearer` token (`mode`: auto |
    /// jwt | introspect). Throws unauthorized / forbidden (missing `requiredScope`) /
    /// upstream_unavailable; never a principal on failure.
    #[napi(
        ts_args_type = "req: { headers: Record<string, string | string[] | undefined> | Headers } | Headers | Record<string, string | string[] | undefined>, options?: AuthenticateOptions"
    )]
    pub async fn authenticate(
        &self,
        req: Value,
        options: Option<Value>,
    ) -> napi::Result<crate::dto::IamMachinePrincipal> {
        let headers = ory_iam::transport::header_map_from_json(&req);
        let o: ory_iam::dto::AuthenticateOptions = crate::handle::input(options, "options")?;
        self.0.authenticate(&headers, o).await.napi().map(Into::into)
    }

    #[napi(ts_args_type = "token: string | Secret, options?: RevokeTokenOptions")]
    pub async fn revoke(&self, token: String, options: Option<Value>) -> napi::Result<()> {
        let o: RevokeOptions = crate::handle::input(options, "options")?;
        self.0.revoke(&Secret::new(token), o).await.napi()
    }
    /// Delete every access token of a client (Hydra keeps its refresh tokens: revoke the
    /// consents or delete the client to end those); cached introspections are dropped (here
    /// and, over Redis, in every instance). Audited `oauth2_client.access_tokens.delete`.
    #[napi]
    pub async fn delete_access_tokens(&self, client_id: String) -> napi::Result<()> {
        self.0.delete_access_tokens(&client_id).await.napi()
    }
    /// OpenID Connect userinfo of an access token; a revoked, expired or unknown token throws
    /// `unauthorized`.
    #[napi(ts_args_type = "accessToken: string | Secret")]
    pub async fn userinfo(&self, access_token: String) -> napi::Result<UserInfo> {
        self.0.userinfo(&Secret::new(access_token)).await.napi().map(Into::into)
    }
    /// Hydra's OpenID Connect discovery document.
    #[napi]
    pub async fn discover(&self) -> napi::Result<OidcConfiguration> {
        self.0.discover().await.napi().map(Into::into)
    }
}

/// Login, consent and logout requests of one tenant (Hydra admin API).
#[napi]
#[derive(Clone)]
pub struct ConsentService(pub(crate) ory_iam::ConsentService);
crate::handle::basics!(ConsentService);

#[napi]
impl ConsentService {
    #[napi]
    pub async fn get_login_request(&self, challenge: String) -> napi::Result<ChallengeRequest> {
        self.0.get_login_request(&challenge).await.napi().map(Into::into)
    }
    /// `{subject, remember?, remember_for?, acr?, context?}` (Hydra's snake_case fields).
    #[napi(ts_args_type = "challenge: string, body: Record<string, unknown>")]
    pub async fn accept_login_request(&self, challenge: String, body: Value) -> napi::Result<RedirectTo> {
        self.0.accept_login_request(&challenge, body).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "challenge: string, body?: Record<string, unknown>")]
    pub async fn reject_login_request(&self, challenge: String, body: Option<Value>) -> napi::Result<RedirectTo> {
        self.0
            .reject_login_request(&challenge, body.unwrap_or_else(|| serde_json::json!({})))
            .await
            .napi()
            .map(Into::into)
    }
    #[napi]
    pub async fn get_consent_request(&self, challenge: String) -> napi::Result<ChallengeRequest> {
        self.0.get_consent_request(&challenge).await.napi().map(Into::into)
    }
    /// `{grant_scope, grant_access_token_audience?, remember?, session?}`.
    #[napi(ts_args_type = "challenge: string, body: Record<string, unknown>")]
    pub async fn accept_consent_request(&self, challenge: String, body: Value) -> napi::Result<RedirectTo> {
        self.0.accept_consent_request(&challenge, body).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "challenge: string, body?: Record<string, unknown>")]
    pub async fn reject_consent_request(&self, challenge: String, body: Option<Value>) -> napi::Result<RedirectTo> {
        self.0
            .reject_consent_request(&challenge, body.unwrap_or_else(|| serde_json::json!({})))
            .await
            .napi()
            .map(Into::into)
    }
    #[napi]
    pub async fn get_logout_request(&self, challenge: String) -> napi::Result<ChallengeRequest> {
        self.0.get_logout_request(&challenge).await.napi().map(Into::into)
    }
    #[napi]
    pub async fn accept_logout_request(&self, challenge: String) -> napi::Result<RedirectTo> {
        self.0.accept_logout_request(&challenge).await.napi().map(Into::into)
    }
    /// Hydra answers 204: `redirectTo` is empty.
    #[napi]
    pub async fn reject_logout_request(&self, challenge: String) -> napi::Result<RedirectTo> {
        self.0.reject_logout_request(&challenge).await.napi().map(Into::into)
    }
    /// One page of the consents `subject` gave and Hydra remembers ("connected apps"),
    /// optionally of one login session (`loginSessionId`).
    #[napi(ts_args_type = "options: ListConsentSessionsOptions")]
    pub async fn list_consent_sessions(&self, options: Value) -> napi::Result<ConsentSessionPage> {
        let o: ListConsentSessions = crate::handle::input(Some(options), "options")?;
        let p = self.0.list_consent_sessions(o).await.napi()?;
        Ok(ConsentSessionPage {
            items: p.items.into_iter().map(Into::into).collect(),
            next_page_token: p.next_page_token,
        })
    }
    /// Every remembered consent of `subject`, following page tokens.
    #[napi(ts_args_type = "options: ListConsentSessionsOptions", ts_return_type = "AsyncIterable<ConsentSession>")]
    pub fn list_consent_sessions_all(&self, options: Value) -> napi::Result<ConsentSessionPager> {
        let o: ListConsentSessions = crate::handle::input(Some(options), "options")?;
        Ok(ConsentSessionPager::new(self.0.list_consent_sessions_all(o)))
    }
    /// Revoke `subject`'s consent to one `client` or to every client (`all: true`); Hydra
    /// revokes the tokens issued under it, cached introspections are dropped. Audited
    /// `oauth2.consent.revoke`.
    #[napi(ts_args_type = "options: RevokeConsentSessionsOptions")]
    pub async fn revoke_consent_sessions(&self, options: Value) -> napi::Result<()> {
        let o: RevokeConsentSessions = crate::handle::input(Some(options), "options")?;
        self.0.revoke_consent_sessions(o).await.napi()
    }
    /// End Hydra login sessions: every one of `subject`, or the one `sid`. Audited
    /// `oauth2.login_session.revoke`.
    #[napi(ts_args_type = "options: RevokeLoginSessionsOptions")]
    pub async fn revoke_login_sessions(&self, options: Value) -> napi::Result<()> {
        let o: RevokeLoginSessions = crate::handle::input(Some(options), "options")?;
        self.0.revoke_login_sessions(o).await.napi()
    }
    /// The URL to redirect the browser to for OpenID Connect RP-initiated logout (Hydra's
    /// `/oauth2/sessions/logout`); a `Secret` (it carries the ID token). No request is made.
    #[napi(ts_args_type = "options?: LogoutUrlOptions")]
    pub fn logout_url(&self, options: Option<Value>) -> napi::Result<crate::secret::Secret> {
        let o: LogoutUrlOptions = crate::handle::input(options, "options")?;
        self.0.logout_url(o).napi().map(crate::secret::Secret::from_core)
    }
}

/// JSON Web Key sets of one tenant (Hydra admin API).
#[napi]
#[derive(Clone)]
pub struct JwkService(pub(crate) ory_iam::JwkService);
crate::handle::basics!(JwkService);

#[napi]
impl JwkService {
    /// `{alg, use, kid?}`.
    #[napi(ts_args_type = "set: string, options: CreateJwkSetOptions")]
    pub async fn create_set(&self, set: String, options: Value) -> napi::Result<JsonWebKeySet> {
        let o: CreateJwkSet = crate::handle::input(Some(options), "options")?;
        self.0.create_set(&set, o).await.napi().map(Into::into)
    }
    #[napi]
    pub async fn get_set(&self, set: String) -> napi::Result<JsonWebKeySet> {
        self.0.get_set(&set).await.napi().map(Into::into)
    }
    #[napi]
    pub async fn update_set(&self, set: String, keys: JsonWebKeySet) -> napi::Result<JsonWebKeySet> {
        self.0.update_set(&set, ory_iam::dto::JsonWebKeySet { keys: keys.keys }).await.napi().map(Into::into)
    }
    #[napi]
    pub async fn delete_set(&self, set: String) -> napi::Result<()> {
        self.0.delete_set(&set).await.napi()
    }
    #[napi]
    pub async fn get_key(&self, set: String, kid: String) -> napi::Result<JsonWebKeySet> {
        self.0.get_key(&set, &kid).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "set: string, kid: string, key: Record<string, unknown>")]
    pub async fn update_key(&self, set: String, kid: String, key: Value) -> napi::Result<Value> {
        self.0.update_key(&set, &kid, key).await.napi()
    }
    #[napi]
    pub async fn delete_key(&self, set: String, kid: String) -> napi::Result<()> {
        self.0.delete_key(&set, &kid).await.napi()
    }
}

/// Trusted JWT-bearer issuers of one tenant (Hydra admin API).
#[napi]
#[derive(Clone)]
pub struct TrustedIssuerService(pub(crate) ory_iam::TrustedIssuerService);
crate::handle::basics!(TrustedIssuerService);

#[napi]
impl TrustedIssuerService {
    #[napi(ts_args_type = "issuer: TrustIssuerInput")]
    pub async fn trust(&self, issuer: Value) -> napi::Result<TrustedIssuer> {
        let t: TrustIssuer = crate::handle::input(Some(issuer), "issuer")?;
        self.0.trust(t).await.napi().map(Into::into)
    }
    #[napi]
    pub async fn get(&self, id: String) -> napi::Result<TrustedIssuer> {
        self.0.get(&id).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "options?: ListTrustedIssuersOptions")]
    pub async fn list(&self, options: Option<Value>) -> napi::Result<TrustedIssuerPage> {
        let p = self.0.list(crate::handle::input::<ListTrustedIssuers>(options, "options")?).await.napi()?;
        Ok(TrustedIssuerPage {
            items: p.items.into_iter().map(Into::into).collect(),
            next_page_token: p.next_page_token,
        })
    }
    #[napi(ts_args_type = "options?: ListTrustedIssuersOptions", ts_return_type = "AsyncIterable<TrustedIssuer>")]
    pub fn list_all(&self, options: Option<Value>) -> napi::Result<TrustedIssuerPager> {
        Ok(TrustedIssuerPager::new(self.0.list_all(crate::handle::input(options, "options")?)))
    }
    #[napi]
    pub async fn delete(&self, id: String) -> napi::Result<()> {
        self.0.delete(&id).await.napi()
    }
}

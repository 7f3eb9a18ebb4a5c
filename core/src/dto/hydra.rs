use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// An OAuth2 client. `client_secret` is only set right after `create` (or a secret rotation):
/// Hydra returns it once.
#[derive(Clone, Debug, Serialize)]
pub struct OAuth2Client {
    pub tenant: String,
    pub client_id: String,
    pub client_name: Option<String>,
    pub client_secret: Option<Secret>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub scope: Option<String>,
    pub audience: Vec<String>,
    pub owner: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub metadata: Option<Value>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// OIDC dynamic registration only (`oauth2_client.register`): the bearer credential that
    /// reads, replaces and deletes this client through `/oauth2/register/{id}`. Shown once
    /// (and again after each `set_registered`, which rotates it).
    #[serde(default)]
    pub registration_access_token: Option<Secret>,
    /// OIDC dynamic registration only: where the client manages itself.
    #[serde(default)]
    pub registration_client_uri: Option<String>,
}

/// Options of `OAuth2ClientService::list`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListOAuth2Clients {
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
}

/// Tokens from Hydra's token endpoint. Every token is a secret.
#[derive(Clone, Debug, Serialize)]
pub struct TokenSet {
    pub tenant: String,
    pub access_token: Secret,
    pub token_type: String,
    /// Seconds the access token lives, as Hydra said when issuing it.
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
}

/// Input of `authorization_code`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationCodeGrant {
    pub code: Secret,
    pub redirect_uri: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub code_verifier: Option<Secret>,
}

/// Input of `refresh`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshGrant {
    pub refresh_token: Secret,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// Input of `jwt_bearer` (RFC 7523).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtBearerGrant {
    pub assertion: Secret,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
}

/// Options of `revoke`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeOptions {
    #[serde(default)]
    pub token_type_hint: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
}

macro_rules! no_debug_secrets {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), " { … }"))
            }
        }
    )*};
}
no_debug_secrets!(AuthorizationCodeGrant, RefreshGrant, JwtBearerGrant, RevokeOptions, LogoutUrlOptions);

/// Options of `ConsentService::list_consent_sessions`: the subject's remembered consents, one
/// per client (Hydra pages by encrypted keyset tokens).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListConsentSessions {
    pub subject: String,
    /// Only the consents given within this Hydra login session (`sid`).
    #[serde(default)]
    pub login_session_id: Option<String>,
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
}

/// A consent a subject gave a client ("connected apps"), as Hydra remembers it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ConsentSession {
    pub tenant: String,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub grant_scope: Vec<String>,
    pub grant_access_token_audience: Vec<String>,
    pub remember: bool,
    /// Seconds; 0 = until revoked.
    pub remember_for: Option<i64>,
    pub handled_at: Option<String>,
    /// The Hydra login session (`sid`) the consent was given in.
    pub login_session_id: Option<String>,
    pub consent_request_id: Option<String>,
}

/// Input of `ConsentService::revoke_consent_sessions`: exactly one of `client` (that client's
/// consents and tokens) or `all: true` (every client's).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeConsentSessions {
    pub subject: String,
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    pub all: Option<bool>,
}

/// Input of `ConsentService::revoke_login_sessions`: exactly one of `subject` (every login
/// session of the subject) or `sid` (one login session).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeLoginSessions {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
}

/// Input of `ConsentService::logout_url` (OpenID Connect RP-initiated logout,
/// `GET /oauth2/sessions/logout`, `revokeOidcSession`).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutUrlOptions {
    /// The ID token Hydra issued to the user: names the session to end without asking.
    #[serde(default)]
    pub id_token_hint: Option<Secret>,
    /// Where Hydra sends the browser afterwards: one of the client's
    /// `post_logout_redirect_uris`; needs `id_token_hint`.
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

/// Token lifespans of one client (`OAuth2ClientService::set_lifespans`), each a Go duration
/// (`"1h"`, `"30m"`); unset ones fall back to Hydra's defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClientLifespans {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code_grant_access_token_lifespan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code_grant_id_token_lifespan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code_grant_refresh_token_lifespan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_credentials_grant_access_token_lifespan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implicit_grant_access_token_lifespan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implicit_grant_id_token_lifespan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_bearer_grant_access_token_lifespan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_grant_access_token_lifespan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_grant_id_token_lifespan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_grant_refresh_token_lifespan: Option<String>,
}

/// Hydra's OpenID Connect discovery document (`/.well-known/openid-configuration`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OidcConfiguration {
    pub tenant: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    /// Hydra v2.3.0 names it only when `webfinger.oidc_discovery.client_registration_url` is
    /// set, whether or not dynamic registration is enabled.
    pub registration_endpoint: Option<String>,
    pub scopes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub frontchannel_logout_supported: bool,
    pub backchannel_logout_supported: bool,
    /// The whole document as Hydra sent it.
    pub raw: Value,
}

/// OpenID Connect userinfo for an access token (`TokenService::userinfo`). The claims are
/// personal data: `Debug` shows none of them.
#[derive(Clone, Serialize, PartialEq)]
pub struct UserInfo {
    pub tenant: String,
    pub sub: String,
    /// Every claim Hydra returned (`sub`, `email`, `name`, … as granted at consent).
    pub claims: Value,
}

impl fmt::Debug for UserInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserInfo").field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

/// The result of token introspection; `active: false` is a normal answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Introspection {
    #[serde(default)]
    pub tenant: String,
    pub active: bool,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub aud: Option<Vec<String>>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub token_use: Option<String>,
    #[serde(default)]
    pub ext: Option<Value>,
}

/// Where to send the user's browser next (login/consent/logout decisions).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RedirectTo {
    pub redirect_to: String,
}

/// A login, consent or logout request Hydra is waiting on.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ChallengeRequest {
    pub tenant: String,
    pub challenge: String,
    pub subject: Option<String>,
    pub skip: bool,
    pub client_id: Option<String>,
    pub requested_scope: Vec<String>,
    pub requested_access_token_audience: Vec<String>,
    pub request_url: Option<String>,
    pub session_id: Option<String>,
    /// Everything else Hydra sent (`oidc_context`, `context`, `client`, …).
    pub raw: Value,
}

/// A JSON Web Key set. Keys may include private material (`d`, `k`, …): `Debug` shows only ids.
#[derive(Clone, Serialize, PartialEq)]
pub struct JsonWebKeySet {
    pub keys: Vec<Value>,
}

impl fmt::Debug for JsonWebKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.keys.iter().filter_map(|k| k.get("kid").and_then(Value::as_str)).collect();
        f.debug_struct("JsonWebKeySet").field("kids", &kids).finish()
    }
}

/// Input of `create_set`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJwkSet {
    /// RS256, ES256, ES512, HS256, HS512, EdDSA …
    pub alg: String,
    /// `sig` or `enc`.
    #[serde(rename = "use")]
    pub use_: String,
    #[serde(default)]
    pub kid: Option<String>,
}

/// A trusted JWT-bearer grant issuer.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TrustedIssuer {
    pub tenant: String,
    pub id: String,
    pub issuer: String,
    pub subject: Option<String>,
    pub allow_any_subject: bool,
    pub scope: Vec<String>,
    pub key_set: Option<String>,
    pub key_id: Option<String>,
    pub expires_at: Option<String>,
    pub created_at: Option<String>,
}

/// Input of `trust`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustIssuer {
    pub issuer: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub allow_any_subject: Option<bool>,
    pub scope: Vec<String>,
    /// RFC 3339.
    pub expires_at: String,
    /// The issuer's public key as a JWK (with `kid`).
    pub public_key: Value,
}

/// Options of `TrustedIssuerService::list`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListTrustedIssuers {
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
}

/// Who is calling with an OAuth2 bearer token (a machine, or a user through a client).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct IamMachinePrincipal {
    pub tenant: String,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub scope: Vec<String>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    /// `introspection` or `jwt`.
    pub verified_by: String,
}

/// How `TokenService::authenticate` checks a bearer token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BearerMode {
    /// JWTs are verified locally (which cannot see a revocation before `exp`), anything else is
    /// introspected.
    #[default]
    Auto,
    /// Every token is asked of Hydra: revoked tokens are refused at once.
    Introspect,
    Jwt,
}

impl BearerMode {
    /// `auto`, `jwt` or `introspect` (the config's `hydra.bearer_mode`).
    pub fn parse(s: &str) -> Option<BearerMode> {
        match s {
            "auto" => Some(BearerMode::Auto),
            "jwt" => Some(BearerMode::Jwt),
            "introspect" => Some(BearerMode::Introspect),
            _ => None,
        }
    }
}

/// Options of `TokenService::authenticate`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticateOptions {
    /// How to check the token; unset: the tenant's `hydra.bearer_mode` (default `auto`).
    #[serde(default)]
    pub mode: Option<BearerMode>,
    /// Scopes the token must all carry (else `forbidden`).
    #[serde(default)]
    pub required_scope: Vec<String>,
    /// The audience the token must carry (else `unauthorized`); unset: the tenant's
    /// `hydra.audience`, if any.
    #[serde(default)]
    pub required_audience: Option<String>,
}

/// The `scope` of `TokenService::client_credentials` as the bindings take it: a space-separated
/// string or a list of scopes.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum Scopes {
    Joined(String),
    List(Vec<String>),
}

impl Scopes {
    /// The space-separated form Hydra takes; every listed scope must be a non-empty word.
    pub fn joined(self) -> crate::Result<String> {
        match self {
            Scopes::Joined(s) => Ok(s),
            Scopes::List(l) => {
                for (i, s) in l.iter().enumerate() {
                    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        return Err(crate::Error::invalid_field(
                            format!("scope[{i}]"),
                            "must be one scope (non-empty, no spaces)",
                        ));
                    }
                }
                Ok(l.join(" "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Scopes;

    #[test]
    fn scopes_from_a_list_or_a_string() {
        let p = |v: serde_json::Value| crate::dto::parse_input::<Scopes>("scope", v).and_then(Scopes::joined);
        assert_eq!(p(serde_json::json!("read write")).unwrap(), "read write");
        assert_eq!(p(serde_json::json!(["read", "write"])).unwrap(), "read write");
        assert_eq!(p(serde_json::json!(["read", "a b"])).unwrap_err().fields()[0].path, "scope[1]");
        assert_eq!(p(serde_json::json!([""])).unwrap_err().fields()[0].path, "scope[0]");
        assert_eq!(p(serde_json::json!(5)).unwrap_err().fields()[0].path, "scope");
    }
}

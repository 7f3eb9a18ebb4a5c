//! Hydra's JSON shapes (private).

use crate::dto;
use crate::secret::Secret;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub(crate) struct Client {
    pub client_id: String,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub audience: Option<Vec<String>>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub registration_access_token: Option<String>,
    #[serde(default)]
    pub registration_client_uri: Option<String>,
}

impl Client {
    pub fn into_dto(self, tenant: &str) -> dto::OAuth2Client {
        dto::OAuth2Client {
            tenant: tenant.to_owned(),
            client_id: self.client_id,
            client_name: self.client_name.filter(|s| !s.is_empty()),
            client_secret: self.client_secret.filter(|s| !s.is_empty()).map(Secret::new),
            grant_types: self.grant_types.unwrap_or_default(),
            response_types: self.response_types.unwrap_or_default(),
            redirect_uris: self.redirect_uris.unwrap_or_default(),
            scope: self.scope.filter(|s| !s.is_empty()),
            audience: self.audience.unwrap_or_default(),
            owner: self.owner.filter(|s| !s.is_empty()),
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            metadata: self.metadata,
            created_at: self.created_at,
            updated_at: self.updated_at,
            registration_access_token: self.registration_access_token.filter(|s| !s.is_empty()).map(Secret::new),
            registration_client_uri: self.registration_client_uri.filter(|s| !s.is_empty()),
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// One `oAuth2ConsentSession` (its `consent_request` carries the client and subject).
pub(crate) fn consent_session(tenant: &str, raw: &Value) -> dto::ConsentSession {
    let req = raw.get("consent_request").unwrap_or(&Value::Null);
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).filter(|x| !x.is_empty()).map(str::to_owned);
    let client = req.get("client").unwrap_or(&Value::Null);
    dto::ConsentSession {
        tenant: tenant.to_owned(),
        subject: s(req, "subject"),
        client_id: s(client, "client_id"),
        client_name: s(client, "client_name"),
        grant_scope: strings(raw.get("grant_scope")),
        grant_access_token_audience: strings(raw.get("grant_access_token_audience")),
        remember: raw.get("remember").and_then(Value::as_bool).unwrap_or(false),
        remember_for: raw.get("remember_for").and_then(Value::as_i64),
        handled_at: s(raw, "handled_at"),
        login_session_id: s(req, "login_session_id"),
        consent_request_id: s(req, "consent_request_id").or_else(|| s(req, "challenge")),
    }
}

/// The discovery document; the required members of `oidcConfiguration` must be there.
pub(crate) fn oidc_configuration(tenant: &str, raw: Value) -> Option<dto::OidcConfiguration> {
    let s = |k: &str| raw.get(k).and_then(Value::as_str).filter(|x| !x.is_empty()).map(str::to_owned);
    let b = |k: &str| raw.get(k).and_then(Value::as_bool).unwrap_or(false);
    Some(dto::OidcConfiguration {
        tenant: tenant.to_owned(),
        issuer: s("issuer")?,
        authorization_endpoint: s("authorization_endpoint")?,
        token_endpoint: s("token_endpoint")?,
        jwks_uri: s("jwks_uri")?,
        userinfo_endpoint: s("userinfo_endpoint"),
        revocation_endpoint: s("revocation_endpoint"),
        end_session_endpoint: s("end_session_endpoint"),
        registration_endpoint: s("registration_endpoint"),
        scopes_supported: strings(raw.get("scopes_supported")),
        grant_types_supported: strings(raw.get("grant_types_supported")),
        response_types_supported: strings(raw.get("response_types_supported")),
        subject_types_supported: strings(raw.get("subject_types_supported")),
        id_token_signing_alg_values_supported: strings(raw.get("id_token_signing_alg_values_supported")),
        token_endpoint_auth_methods_supported: strings(raw.get("token_endpoint_auth_methods_supported")),
        code_challenge_methods_supported: strings(raw.get("code_challenge_methods_supported")),
        claims_supported: strings(raw.get("claims_supported")),
        frontchannel_logout_supported: b("frontchannel_logout_supported"),
        backchannel_logout_supported: b("backchannel_logout_supported"),
        raw,
    })
}

#[derive(Deserialize)]
pub(crate) struct Token {
    pub access_token: String,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
}

impl Token {
    pub fn into_dto(self, tenant: &str) -> dto::TokenSet {
        dto::TokenSet {
            tenant: tenant.to_owned(),
            access_token: Secret::new(self.access_token),
            token_type: self.token_type.unwrap_or_else(|| "bearer".into()),
            expires_in: self.expires_in,
            scope: self.scope.filter(|s| !s.is_empty()),
            refresh_token: self.refresh_token.map(Secret::new),
            id_token: self.id_token.map(Secret::new),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RedirectTo {
    pub redirect_to: String,
}

#[derive(Deserialize)]
pub(crate) struct PublicKeyRef {
    #[serde(default)]
    pub set: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Trusted {
    pub id: String,
    pub issuer: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub allow_any_subject: Option<bool>,
    #[serde(default)]
    pub scope: Option<Vec<String>>,
    #[serde(default)]
    pub public_key: Option<PublicKeyRef>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

impl Trusted {
    pub fn into_dto(self, tenant: &str) -> dto::TrustedIssuer {
        dto::TrustedIssuer {
            tenant: tenant.to_owned(),
            id: self.id,
            issuer: self.issuer,
            subject: self.subject.filter(|s| !s.is_empty()),
            allow_any_subject: self.allow_any_subject.unwrap_or(false),
            scope: self.scope.unwrap_or_default(),
            key_set: self.public_key.as_ref().and_then(|k| k.set.clone()),
            key_id: self.public_key.and_then(|k| k.kid),
            expires_at: self.expires_at,
            created_at: self.created_at,
        }
    }
}

/// Login, consent and logout requests share these fields.
pub(crate) fn challenge(tenant: &str, raw: Value) -> dto::ChallengeRequest {
    let s = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_owned);
    let list = |k: &str| {
        raw.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    dto::ChallengeRequest {
        tenant: tenant.to_owned(),
        challenge: s("challenge").unwrap_or_default(),
        subject: s("subject").filter(|x| !x.is_empty()),
        skip: raw.get("skip").and_then(Value::as_bool).unwrap_or(false),
        client_id: raw.get("client").and_then(|c| c.get("client_id")).and_then(Value::as_str).map(str::to_owned),
        requested_scope: list("requested_scope"),
        requested_access_token_audience: list("requested_access_token_audience"),
        request_url: s("request_url"),
        session_id: s("session_id").or_else(|| s("sid")).filter(|x| !x.is_empty()),
        raw,
    }
}

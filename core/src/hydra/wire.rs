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
        }
    }
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

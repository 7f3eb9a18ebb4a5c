//! JS shapes of the core DTOs: plain objects with camelCase keys (typed in index.d.ts).
//! User data inside (traits, metadata) is passed through untouched.

use napi_derive::napi;
use serde_json::Value;

#[napi(object)]
pub struct VerifiableAddress {
    pub id: Option<String>,
    pub value: String,
    pub via: String,
    pub verified: bool,
    pub status: String,
}

#[napi(object)]
pub struct RecoveryAddress {
    pub id: Option<String>,
    pub value: String,
    pub via: String,
}

/// A Kratos identity. From `get` it is sanitized: `traits`, `metadataAdmin` and the addresses are null.
#[napi(object)]
pub struct Identity {
    pub tenant: String,
    pub id: String,
    pub schema_id: String,
    pub state: Option<String>,
    pub traits: Option<Value>,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    pub verifiable_addresses: Option<Vec<VerifiableAddress>>,
    pub recovery_addresses: Option<Vec<RecoveryAddress>>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl From<ory_iam::dto::Identity> for Identity {
    fn from(i: ory_iam::dto::Identity) -> Self {
        Identity {
            tenant: i.tenant,
            id: i.id,
            schema_id: i.schema_id,
            state: i.state,
            traits: i.traits,
            metadata_public: i.metadata_public,
            metadata_admin: i.metadata_admin,
            verifiable_addresses: i.verifiable_addresses.map(|v| {
                v.into_iter()
                    .map(|a| VerifiableAddress {
                        id: a.id,
                        value: a.value,
                        via: a.via,
                        verified: a.verified,
                        status: a.status,
                    })
                    .collect()
            }),
            recovery_addresses: i
                .recovery_addresses
                .map(|v| v.into_iter().map(|a| RecoveryAddress { id: a.id, value: a.value, via: a.via }).collect()),
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[napi(object)]
pub struct IdentityPage {
    pub items: Vec<Identity>,
    pub next_page_token: Option<String>,
}

/// Input of `identity.create` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct CreateIdentityInput {
    pub schema_id: String,
    pub traits: Value,
    pub verified_addresses: Option<Vec<String>>,
    pub state: Option<String>,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
}

/// Options of `identity.list` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct ListIdentitiesOptions {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

#[napi(object)]
pub struct ServerVersions {
    pub tenant: String,
    pub kratos: Option<String>,
    pub keto: Option<String>,
    pub hydra: Option<String>,
}

impl From<ory_iam::dto::ServerVersions> for ServerVersions {
    fn from(v: ory_iam::dto::ServerVersions) -> Self {
        ServerVersions { tenant: v.tenant, kratos: v.kratos, keto: v.keto, hydra: v.hydra }
    }
}

#[napi(object)]
pub struct HealthProbe {
    pub tenant: String,
    pub product: String,
    pub healthy: bool,
    pub status: Option<u32>,
    pub reason: Option<String>,
}

#[napi(object)]
pub struct Health {
    pub healthy: bool,
    pub probes: Vec<HealthProbe>,
}

impl From<ory_iam::Health> for Health {
    fn from(h: ory_iam::Health) -> Self {
        Health {
            healthy: h.healthy,
            probes: h
                .probes
                .into_iter()
                .map(|p| HealthProbe {
                    tenant: p.tenant,
                    product: p.product,
                    healthy: p.healthy,
                    status: p.status.map(u32::from),
                    reason: p.reason,
                })
                .collect(),
        }
    }
}

/// One RFC 6902 operation (declared for the typings; validated by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct JsonPatchOperation {
    /// add | remove | replace | move | copy | test
    pub op: String,
    pub path: String,
    pub from: Option<String>,
    pub value: Option<Value>,
}

/// A Kratos session resolved for one tenant; `identity` carries the user's traits.
#[napi(object)]
pub struct Session {
    pub tenant: String,
    pub id: String,
    pub active: bool,
    pub expires_at: Option<String>,
    pub authenticated_at: Option<String>,
    pub issued_at: Option<String>,
    pub authenticator_assurance_level: Option<String>,
    pub identity: Identity,
    pub authentication_methods: Vec<String>,
    pub cache_hit: bool,
}

impl From<ory_iam::dto::Session> for Session {
    fn from(s: ory_iam::dto::Session) -> Self {
        Session {
            tenant: s.tenant,
            id: s.id,
            active: s.active,
            expires_at: s.expires_at,
            authenticated_at: s.authenticated_at,
            issued_at: s.issued_at,
            authenticator_assurance_level: s.authenticator_assurance_level,
            identity: s.identity.into(),
            authentication_methods: s.authentication_methods,
            cache_hit: s.cache_hit,
        }
    }
}

#[napi(object)]
pub struct SessionPage {
    pub items: Vec<Session>,
    pub next_page_token: Option<String>,
}

/// Options of `identity.listSessions` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct ListSessionsOptions {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
    pub active: Option<bool>,
}

//! Kratos's JSON shapes (private). Mapped into `crate::dto` types before leaving the core.

use crate::dto;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub(crate) struct Identity {
    pub id: String,
    pub schema_id: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub traits: Option<Value>,
    #[serde(default)]
    pub metadata_public: Option<Value>,
    #[serde(default)]
    pub metadata_admin: Option<Value>,
    #[serde(default)]
    pub verifiable_addresses: Option<Vec<VerifiableAddress>>,
    #[serde(default)]
    pub recovery_addresses: Option<Vec<RecoveryAddress>>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub state_changed_at: Option<String>,
    #[serde(default)]
    pub schema_url: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct VerifiableAddress {
    #[serde(default)]
    pub id: Option<String>,
    pub value: String,
    pub via: String,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub verified_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct RecoveryAddress {
    #[serde(default)]
    pub id: Option<String>,
    pub value: String,
    pub via: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Identity {
    pub fn into_dto(self, tenant: &str) -> dto::Identity {
        dto::Identity {
            tenant: tenant.to_owned(),
            id: self.id,
            schema_id: self.schema_id,
            state: self.state,
            traits: self.traits,
            metadata_public: self.metadata_public,
            metadata_admin: self.metadata_admin,
            verifiable_addresses: self.verifiable_addresses.map(|v| {
                v.into_iter()
                    .map(|a| dto::VerifiableAddress {
                        id: a.id,
                        value: a.value,
                        via: a.via,
                        verified: a.verified,
                        status: a.status,
                        verified_at: a.verified_at,
                        created_at: a.created_at,
                        updated_at: a.updated_at,
                    })
                    .collect()
            }),
            recovery_addresses: self.recovery_addresses.map(|v| {
                v.into_iter()
                    .map(|a| dto::RecoveryAddress {
                        id: a.id,
                        value: a.value,
                        via: a.via,
                        created_at: a.created_at,
                        updated_at: a.updated_at,
                    })
                    .collect()
            }),
            created_at: self.created_at,
            updated_at: self.updated_at,
            state_changed_at: self.state_changed_at,
            schema_url: self.schema_url,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Version {
    pub version: String,
}

#[derive(Deserialize)]
pub(crate) struct Session {
    pub id: String,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub authenticated_at: Option<String>,
    #[serde(default)]
    pub issued_at: Option<String>,
    #[serde(default)]
    pub authenticator_assurance_level: Option<String>,
    #[serde(default)]
    pub authentication_methods: Option<Vec<AuthMethod>>,
    pub identity: Option<Identity>,
}

#[derive(Deserialize)]
pub(crate) struct AuthMethod {
    #[serde(default)]
    pub method: Option<String>,
}

impl Session {
    /// `None` when Kratos sent a session without an identity (never valid for whoami).
    pub fn into_dto(mut self, tenant: &str) -> Option<dto::Session> {
        let identity = self.identity.take()?.into_dto(tenant);
        Some(self.with_identity(tenant, identity))
    }

    /// For admin listings, where Kratos may leave the identity out: a sanitized identity, or a
    /// stand-in carrying only the id the caller asked about.
    pub fn into_dto_for(mut self, tenant: &str, identity_id: &str) -> dto::Session {
        let identity = match self.identity.take() {
            Some(i) => i.into_dto(tenant).sanitized(),
            None => dto::Identity::reference(tenant, identity_id),
        };
        self.with_identity(tenant, identity)
    }

    fn with_identity(self, tenant: &str, identity: dto::Identity) -> dto::Session {
        dto::Session {
            tenant: tenant.to_owned(),
            id: self.id,
            active: self.active.unwrap_or(false),
            expires_at: self.expires_at,
            authenticated_at: self.authenticated_at,
            issued_at: self.issued_at,
            authenticator_assurance_level: self.authenticator_assurance_level,
            identity,
            authentication_methods: self
                .authentication_methods
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| m.method)
                .collect(),
            cache_hit: false,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Flow {
    pub id: String,
    #[serde(rename = "type", default)]
    pub flow_type: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub issued_at: Option<String>,
    #[serde(default)]
    pub return_to: Option<String>,
    #[serde(default)]
    pub state: Option<Value>,
    pub ui: Ui,
    #[serde(default)]
    pub session_token_exchange_code: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Ui {
    pub action: String,
    pub method: String,
    #[serde(default)]
    pub nodes: Vec<UiNode>,
    #[serde(default)]
    pub messages: Option<Vec<dto::UiText>>,
}

#[derive(Deserialize)]
pub(crate) struct UiNode {
    #[serde(rename = "type")]
    pub node_type: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub attributes: Value,
    #[serde(default)]
    pub messages: Vec<dto::UiText>,
    #[serde(default)]
    pub meta: UiMeta,
}

#[derive(Deserialize, Default)]
pub(crate) struct UiMeta {
    #[serde(default)]
    pub label: Option<dto::UiText>,
}

impl Flow {
    pub fn into_dto(self, tenant: &str, kind: dto::FlowKind, set_cookie: Vec<crate::Secret>) -> dto::Flow {
        let mut csrf_token = None;
        let nodes = self
            .ui
            .nodes
            .into_iter()
            .filter_map(|n| {
                // The CSRF node becomes the opaque `csrf_token`; submit puts it back.
                if n.attributes.get("name").and_then(Value::as_str) == Some("csrf_token") {
                    csrf_token = n.attributes.get("value").and_then(Value::as_str).map(str::to_owned);
                    return None;
                }
                Some(dto::UiNode {
                    node_type: n.node_type,
                    group: n.group,
                    attributes: n.attributes,
                    messages: n.messages,
                    label: n.meta.label,
                })
            })
            .collect();
        dto::Flow {
            tenant: tenant.to_owned(),
            id: self.id,
            kind,
            flow_type: if self.flow_type.as_deref() == Some("browser") {
                dto::FlowType::Browser
            } else {
                dto::FlowType::Native
            },
            expires_at: self.expires_at,
            issued_at: self.issued_at,
            return_to: self.return_to.filter(|r| !r.is_empty()),
            state: self.state.and_then(|s| s.as_str().map(str::to_owned)),
            ui: dto::Ui {
                action: self.ui.action,
                method: self.ui.method,
                nodes,
                messages: self.ui.messages.unwrap_or_default(),
            },
            csrf_token,
            set_cookie,
            session_token_exchange_code: self
                .session_token_exchange_code
                .filter(|c| !c.is_empty())
                .map(crate::Secret::new),
        }
    }
}

/// Successful login (`session`) or registration (`identity`, maybe `session`).
#[derive(Deserialize)]
pub(crate) struct FlowSuccess {
    #[serde(default)]
    pub session: Option<Session>,
    #[serde(default)]
    pub session_token: Option<String>,
    #[serde(default)]
    pub identity: Option<Identity>,
    #[serde(default)]
    pub continue_with: Option<Vec<Value>>,
}

#[derive(Deserialize)]
pub(crate) struct Redirect {
    pub redirect_browser_to: String,
}

#[derive(Deserialize)]
pub(crate) struct LogoutFlow {
    pub logout_url: String,
    pub logout_token: String,
}

#[derive(Deserialize)]
pub(crate) struct CourierMessage {
    pub id: String,
    pub status: String,
    #[serde(rename = "type", default)]
    pub message_type: String,
    pub recipient: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub template_type: Option<String>,
    #[serde(default)]
    pub send_count: i64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl CourierMessage {
    pub fn into_dto(self, tenant: &str, include_body: bool) -> dto::CourierMessage {
        dto::CourierMessage {
            tenant: tenant.to_owned(),
            id: self.id,
            status: self.status,
            message_type: self.message_type,
            recipient: self.recipient,
            subject: self.subject,
            template_type: self.template_type,
            send_count: self.send_count,
            // Dropped here unless asked for: bodies carry recovery codes and links.
            body: if include_body { self.body.map(crate::Secret::new) } else { None },
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SchemaContainer {
    pub id: String,
    pub schema: Value,
}

#[derive(Deserialize)]
pub(crate) struct Recovery {
    pub recovery_link: String,
    #[serde(default)]
    pub recovery_code: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct FlowError {
    pub id: String,
    #[serde(default)]
    pub error: serde_json::Value,
    #[serde(default)]
    pub created_at: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Count {
    #[serde(default)]
    pub count: u64,
}

#[derive(Deserialize)]
pub(crate) struct BatchPatch {
    #[serde(default)]
    pub identities: Vec<BatchPatchResult>,
}

#[derive(Deserialize)]
pub(crate) struct BatchPatchResult {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub patch_id: Option<String>,
    #[serde(default)]
    pub error: Option<BatchError>,
}

/// Only the status: Ory's words can quote the submitted traits.
#[derive(Deserialize)]
pub(crate) struct BatchError {
    #[serde(default)]
    pub code: Option<u16>,
}

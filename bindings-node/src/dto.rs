//! JS shapes of the core DTOs: plain objects with camelCase keys (typed in index.d.ts).
//! User data inside (traits, metadata) is passed through untouched.

use crate::secret::Secret;
use napi_derive::napi;
use serde_json::Value;

#[napi(object)]
pub struct VerifiableAddress {
    pub id: Option<String>,
    pub value: String,
    pub via: String,
    pub verified: bool,
    pub status: String,
    pub verified_at: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

#[napi(object)]
pub struct RecoveryAddress {
    pub id: Option<String>,
    pub value: String,
    pub via: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
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
    /// When `state` last changed.
    pub state_changed_at: Option<String>,
    /// Where Kratos serves the identity's schema.
    pub schema_url: Option<String>,
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
                        verified_at: a.verified_at,
                        created_at: a.created_at,
                        updated_at: a.updated_at,
                    })
                    .collect()
            }),
            recovery_addresses: i.recovery_addresses.map(|v| {
                v.into_iter()
                    .map(|a| RecoveryAddress {
                        id: a.id,
                        value: a.value,
                        via: a.via,
                        created_at: a.created_at,
                        updated_at: a.updated_at,
                    })
                    .collect()
            }),
            created_at: i.created_at,
            updated_at: i.updated_at,
            state_changed_at: i.state_changed_at,
            schema_url: i.schema_url,
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
    /// Verifiable addresses as Kratos takes them; not together with `verifiedAddresses`.
    pub verifiable_addresses: Option<Vec<AddressInput>>,
    /// Recovery addresses (`value`, `via`).
    pub recovery_addresses: Option<Vec<AddressInput>>,
    pub state: Option<String>,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    /// Import credentials in Kratos's shape (`{password: {config: {password}}, oidc: …}`).
    pub credentials: Option<Value>,
}

/// Options of `identity.list` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct ListIdentitiesOptions {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
    /// Only the identity with this credential identifier (email, username), exactly.
    pub credentials_identifier: Option<String>,
    /// Only these identities (at most 500 ids).
    pub ids: Option<Vec<String>>,
    /// Kratos's offset paging (deprecated there, still served): page from 0; not with pageSize/pageToken.
    pub page: Option<u32>,
    /// 1–500, with `page`.
    pub per_page: Option<u32>,
    /// Identifiers similar to this one (experimental in Kratos).
    pub preview_credentials_identifier_similar: Option<String>,
}

/// One address for `identity.create` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct AddressInput {
    pub value: String,
    /// `email` (default) or `sms`.
    pub via: Option<String>,
    /// Verifiable addresses only (default false).
    pub verified: Option<bool>,
    /// Verifiable addresses only: `pending`, `sent` or `completed`.
    pub status: Option<String>,
}

/// Versions the tenant's servers report (absent: not configured, or listed in `unknown`).
#[napi(object)]
pub struct ServerVersions {
    pub tenant: String,
    pub kratos: Option<String>,
    pub keto: Option<String>,
    pub hydra: Option<String>,
    /// Configured products whose version cannot be known (on Ory Network: Keto and Hydra).
    pub unknown: Vec<UnknownVersion>,
}

/// A configured product whose version `version()` cannot tell, and why.
#[napi(object)]
pub struct UnknownVersion {
    /// `kratos`, `keto` or `hydra`.
    pub product: String,
    /// Stable code: `not_published_by_ory_network` (Ory Network publishes Kratos's version only).
    pub reason: String,
}

impl From<ory_iam::dto::ServerVersions> for ServerVersions {
    fn from(v: ory_iam::dto::ServerVersions) -> Self {
        ServerVersions {
            tenant: v.tenant,
            kratos: v.kratos,
            keto: v.keto,
            hydra: v.hydra,
            unknown: v.unknown.into_iter().map(|u| UnknownVersion { product: u.product, reason: u.reason }).collect(),
        }
    }
}

#[napi(object)]
pub struct HealthProbe {
    pub tenant: String,
    pub product: String,
    pub healthy: bool,
    pub status: Option<u32>,
    pub reason: Option<String>,
    /// closed | open | half_open
    pub breaker: String,
}

#[napi(object)]
pub struct Health {
    pub healthy: bool,
    pub probes: Vec<HealthProbe>,
    /// Servers whose major version ory-iam is not tested against, credentials configured to
    /// travel over plain `http://` to a host that is not loopback (config keys, never values),
    /// and caches that honour a change made elsewhere more than 5 minutes late.
    pub warnings: Vec<String>,
    /// How late, at most, each enabled cache sees a change made outside this process.
    pub staleness: Vec<Staleness>,
}

#[napi(object)]
pub struct Staleness {
    pub tenant: String,
    /// `sessions`, `decisions`, `introspections` or `jwt`.
    pub cache: String,
    /// At most this late; absent for `jwt` (valid until the token's `exp`).
    pub max_stale_ms: Option<f64>,
    /// The config key that sets the bound.
    pub config_key: String,
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
                    breaker: p.breaker,
                })
                .collect(),
            warnings: h.warnings,
            staleness: h
                .staleness
                .into_iter()
                .map(|s| Staleness {
                    tenant: s.tenant,
                    cache: s.cache,
                    max_stale_ms: s.max_stale_ms.map(|ms| ms as f64),
                    config_key: s.config_key,
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

/// Options of `session.listMine` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct ListMySessionsOptions {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

#[napi(object)]
pub struct UiText {
    pub id: i64,
    pub text: String,
    /// info | error | success
    #[napi(js_name = "type")]
    pub kind: String,
}

impl From<ory_iam::dto::UiText> for UiText {
    fn from(t: ory_iam::dto::UiText) -> Self {
        UiText { id: t.id, text: t.text, kind: t.kind }
    }
}

#[napi(object)]
pub struct UiNode {
    pub node_type: String,
    pub group: String,
    pub attributes: Value,
    pub messages: Vec<UiText>,
    pub label: Option<UiText>,
}

#[napi(object)]
pub struct Ui {
    pub action: String,
    pub method: String,
    pub nodes: Vec<UiNode>,
    pub messages: Vec<UiText>,
}

/// A self-service flow. Give `csrfToken` back to `submit*` for browser flows and relay
/// `setCookie` to the browser.
#[napi(object, object_from_js = false)]
pub struct Flow {
    pub tenant: String,
    pub id: String,
    /// login | registration | recovery | settings | verification
    pub kind: String,
    /// browser | native
    pub flow_type: String,
    pub expires_at: Option<String>,
    pub issued_at: Option<String>,
    pub return_to: Option<String>,
    pub state: Option<String>,
    pub ui: Ui,
    pub csrf_token: Option<String>,
    pub set_cookie: Vec<Secret>,
    /// Native login/registration started with `returnSessionTokenExchangeCode`: the first half
    /// of what `flow.exchangeSessionToken` turns into a session token.
    pub session_token_exchange_code: Option<Secret>,
}

fn secrets(v: Vec<ory_iam::Secret>) -> Vec<Secret> {
    v.into_iter().map(Secret::from_core).collect()
}

impl From<ory_iam::dto::Flow> for Flow {
    fn from(f: ory_iam::dto::Flow) -> Self {
        Flow {
            tenant: f.tenant,
            id: f.id,
            kind: f.kind.as_str().to_owned(),
            flow_type: match f.flow_type {
                ory_iam::dto::FlowType::Browser => "browser".to_owned(),
                ory_iam::dto::FlowType::Native => "native".to_owned(),
            },
            expires_at: f.expires_at,
            issued_at: f.issued_at,
            return_to: f.return_to,
            state: f.state,
            ui: Ui {
                action: f.ui.action,
                method: f.ui.method,
                nodes: f
                    .ui
                    .nodes
                    .into_iter()
                    .map(|n| UiNode {
                        node_type: n.node_type,
                        group: n.group,
                        attributes: n.attributes,
                        messages: n.messages.into_iter().map(Into::into).collect(),
                        label: n.label.map(Into::into),
                    })
                    .collect(),
                messages: f.ui.messages.into_iter().map(Into::into).collect(),
            },
            csrf_token: f.csrf_token,
            set_cookie: secrets(f.set_cookie),
            session_token_exchange_code: f.session_token_exchange_code.map(Secret::from_core),
        }
    }
}

/// The outcome of `submit*`: `kind` is success | continue | redirect.
#[napi(object, object_from_js = false)]
pub struct FlowResult {
    pub kind: String,
    pub tenant: Option<String>,
    /// continue: the flow to render again; success (settings/recovery/verification): the final flow.
    pub flow: Option<Flow>,
    pub session_id: Option<String>,
    pub session: Option<Session>,
    pub identity: Option<Identity>,
    /// Native flows: the new session token.
    pub session_token: Option<Secret>,
    /// Browser flows: `Set-Cookie` headers to relay.
    pub set_cookie: Vec<Secret>,
    pub continue_with: Vec<Value>,
    pub redirect_browser_to: Option<String>,
}

impl From<ory_iam::dto::FlowResult> for FlowResult {
    fn from(r: ory_iam::dto::FlowResult) -> Self {
        let empty = |kind: &str| FlowResult {
            kind: kind.to_owned(),
            tenant: None,
            flow: None,
            session_id: None,
            session: None,
            identity: None,
            session_token: None,
            set_cookie: Vec::new(),
            continue_with: Vec::new(),
            redirect_browser_to: None,
        };
        match r {
            ory_iam::dto::FlowResult::Success(s) => FlowResult {
                tenant: Some(s.tenant),
                flow: s.flow.map(Into::into),
                session_id: s.session_id,
                session: s.session.map(Into::into),
                identity: s.identity.map(Into::into),
                session_token: s.session_token.map(Secret::from_core),
                set_cookie: secrets(s.set_cookie),
                continue_with: s.continue_with,
                ..empty("success")
            },
            ory_iam::dto::FlowResult::Continue { flow } => {
                FlowResult { tenant: Some(flow.tenant.clone()), flow: Some(flow.into()), ..empty("continue") }
            }
            ory_iam::dto::FlowResult::Redirect { redirect_browser_to, set_cookie } => FlowResult {
                redirect_browser_to: Some(redirect_browser_to),
                set_cookie: secrets(set_cookie),
                ..empty("redirect")
            },
        }
    }
}

#[napi(object, object_from_js = false)]
pub struct LogoutFlow {
    pub tenant: String,
    /// Carries the token: a secret.
    pub logout_url: Secret,
    pub logout_token: Secret,
}

/// Options of `flow.initiate*` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct InitiateFlowOptions {
    /// browser | native (default native)
    pub kind: Option<String>,
    pub return_to: Option<String>,
    /// Browser flows: the incoming request's `Cookie` header.
    pub cookie: Option<String>,
    /// Native settings flows: the user's session token.
    pub session_token: Option<String>,
    pub refresh: Option<bool>,
    pub aal: Option<String>,
    /// Native login/registration continuing in a browser (social sign-in): the flow carries
    /// `sessionTokenExchangeCode`, see `flow.exchangeSessionToken`.
    pub return_session_token_exchange_code: Option<bool>,
}

/// Options of `flow.submit*` and `fetchFlow` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct SubmitFlowOptions {
    pub cookie: Option<String>,
    pub csrf_token: Option<String>,
    pub session_token: Option<String>,
}

/// The self-service flow kinds (for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(string_enum = "lowercase")]
pub enum FlowKindName {
    Login,
    Registration,
    Recovery,
    Settings,
    Verification,
}

/// Options of `identity.createRecoveryLink` / `createRecoveryCode` (declared for the typings;
/// parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct RecoveryOptions {
    /// As Kratos reads a duration: `"15m"`, `"1h"`.
    pub expires_in: Option<String>,
}

/// An account recovery made by an administrator: `link` (and `code`) take over the account.
#[napi(object, object_from_js = false)]
pub struct Recovery {
    pub tenant: String,
    pub identity_id: String,
    pub link: Secret,
    pub code: Option<Secret>,
    pub expires_at: Option<String>,
}

impl From<ory_iam::dto::Recovery> for Recovery {
    fn from(r: ory_iam::dto::Recovery) -> Self {
        Recovery {
            tenant: r.tenant,
            identity_id: r.identity_id,
            link: Secret::from_core(r.link),
            code: r.code.map(Secret::from_core),
            expires_at: r.expires_at,
        }
    }
}

/// A self-service error (`flow.getError`): `error` is Kratos' error object.
#[napi(object)]
pub struct FlowError {
    pub tenant: String,
    pub id: String,
    pub error: Value,
    pub created_at: Option<String>,
}

impl From<ory_iam::dto::FlowError> for FlowError {
    fn from(e: ory_iam::dto::FlowError) -> Self {
        FlowError { tenant: e.tenant, id: e.id, error: e.error, created_at: e.created_at }
    }
}

#[napi(object)]
pub struct IdentitySchema {
    pub tenant: String,
    pub id: String,
    pub schema: Value,
}

impl From<ory_iam::dto::IdentitySchema> for IdentitySchema {
    fn from(s: ory_iam::dto::IdentitySchema) -> Self {
        IdentitySchema { tenant: s.tenant, id: s.id, schema: s.schema }
    }
}

/// A courier message. `body` is absent unless asked for, and a `Secret` when present.
#[napi(object, object_from_js = false)]
pub struct CourierMessage {
    pub tenant: String,
    pub id: String,
    /// queued | sent | processing | abandoned
    pub status: String,
    pub message_type: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub template_type: Option<String>,
    pub send_count: i64,
    pub body: Option<Secret>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl From<ory_iam::dto::CourierMessage> for CourierMessage {
    fn from(m: ory_iam::dto::CourierMessage) -> Self {
        CourierMessage {
            tenant: m.tenant,
            id: m.id,
            status: m.status,
            message_type: m.message_type,
            recipient: m.recipient,
            subject: m.subject,
            template_type: m.template_type,
            send_count: m.send_count,
            body: m.body.map(Secret::from_core),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[napi(object, object_from_js = false)]
pub struct CourierMessagePage {
    pub items: Vec<CourierMessage>,
    pub next_page_token: Option<String>,
}

/// Options of `courier.list` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct ListCourierMessagesOptions {
    /// queued | sent | processing | abandoned
    pub status: Option<String>,
    pub recipient: Option<String>,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
    pub include_body: Option<bool>,
}

/// Everyone with `relation` on `namespace:object` (declared for the typings).
#[allow(dead_code)]
#[napi(object)]
pub struct SubjectSet {
    pub namespace: String,
    pub object: String,
    pub relation: String,
}

/// `subject` has `relation` on `namespace:object`; `subject` is an id (a string is always an id,
/// whatever it looks like) or a `SubjectSet` object.
#[napi(object)]
pub struct PermissionTuple {
    pub namespace: String,
    pub object: String,
    pub relation: String,
    #[napi(ts_type = "string | SubjectSet")]
    pub subject: Value,
}

impl From<ory_iam::dto::PermissionTuple> for PermissionTuple {
    fn from(t: ory_iam::dto::PermissionTuple) -> Self {
        PermissionTuple {
            namespace: t.namespace,
            object: t.object,
            relation: t.relation,
            subject: serde_json::to_value(&t.subject).unwrap_or(Value::Null),
        }
    }
}

#[napi(object)]
pub struct PermissionTuplePage {
    pub items: Vec<PermissionTuple>,
    pub next_page_token: Option<String>,
}

/// One `identity.createMany` result, in input order: the new `identityId`, or the `error` code
/// (`validation`, `conflict`, ...) of an identity Kratos refused.
#[napi(object)]
pub struct BatchCreateResult {
    pub identity_id: Option<String>,
    pub error: Option<String>,
}

impl From<ory_iam::dto::BatchCreateResult> for BatchCreateResult {
    fn from(r: ory_iam::dto::BatchCreateResult) -> Self {
        BatchCreateResult { identity_id: r.identity_id, error: r.error }
    }
}

/// One `checkBatch` result; `error` set means the check failed (and `allowed` is false).
#[napi(object)]
pub struct CheckResult {
    pub allowed: bool,
    pub error: Option<String>,
}

impl From<ory_iam::dto::CheckResult> for CheckResult {
    fn from(r: ory_iam::dto::CheckResult) -> Self {
        CheckResult { allowed: r.allowed, error: r.error }
    }
}

#[napi(object)]
pub struct SubjectTree {
    /// union | exclusion | intersection | leaf | …
    pub kind: String,
    pub tuple: Option<PermissionTuple>,
    pub children: Vec<SubjectTree>,
}

impl From<ory_iam::dto::SubjectTree> for SubjectTree {
    fn from(t: ory_iam::dto::SubjectTree) -> Self {
        SubjectTree {
            kind: t.kind,
            tuple: t.tuple.map(Into::into),
            children: t.children.into_iter().map(Into::into).collect(),
        }
    }
}

/// Options of `permission.check` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct CheckOptions {
    pub fresh: Option<bool>,
    pub max_depth: Option<u32>,
}

/// Query of `permission.list` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct PermissionQuery {
    pub namespace: String,
    pub object: Option<String>,
    pub relation: Option<String>,
    #[napi(ts_type = "string | SubjectSet")]
    pub subject: Option<Value>,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// One entry of `permission.patch` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct PermissionPatch {
    #[napi(ts_type = "'insert' | 'delete'")]
    pub action: String,
    pub tuple: PermissionTuple,
}

/// A syntax error `permission.checkOplSyntax` found; lines and columns from 1.
#[napi(object)]
pub struct OplSyntaxError {
    pub message: String,
    pub start: OplPosition,
    pub end: OplPosition,
}

#[napi(object)]
pub struct OplPosition {
    pub line: u32,
    pub column: u32,
}

impl From<ory_iam::dto::OplSyntaxError> for OplSyntaxError {
    fn from(e: ory_iam::dto::OplSyntaxError) -> Self {
        let pos = |p: ory_iam::dto::OplPosition| OplPosition {
            line: p.line.min(u64::from(u32::MAX)) as u32,
            column: p.column.min(u64::from(u32::MAX)) as u32,
        };
        OplSyntaxError { message: e.message, start: pos(e.start), end: pos(e.end) }
    }
}

/// Filter of `permission.deleteMatching` (declared for the typings; parsed by the core):
/// `namespace` and at least one of `object`, `relation`, `subject`.
#[allow(dead_code)]
#[napi(object)]
pub struct DeleteMatchingQuery {
    pub namespace: String,
    pub object: Option<String>,
    pub relation: Option<String>,
    #[napi(ts_type = "string | SubjectSet")]
    pub subject: Option<Value>,
}

/// Query of `permission.expand` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct ExpandQuery {
    pub namespace: String,
    pub object: String,
    pub relation: String,
    pub max_depth: Option<u32>,
}

/// An OAuth2 client; `clientSecret` is set only right after `create`.
#[napi(object, object_from_js = false)]
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
    /// OIDC dynamic registration only (`oauth2Client.register`): the bearer credential of
    /// `getRegistered`/`setRegistered`/`deleteRegistered`; rotated by each update.
    pub registration_access_token: Option<Secret>,
    pub registration_client_uri: Option<String>,
}

impl From<ory_iam::dto::OAuth2Client> for OAuth2Client {
    fn from(c: ory_iam::dto::OAuth2Client) -> Self {
        OAuth2Client {
            tenant: c.tenant,
            client_id: c.client_id,
            client_name: c.client_name,
            client_secret: c.client_secret.map(Secret::from_core),
            grant_types: c.grant_types,
            response_types: c.response_types,
            redirect_uris: c.redirect_uris,
            scope: c.scope,
            audience: c.audience,
            owner: c.owner,
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            metadata: c.metadata,
            created_at: c.created_at,
            updated_at: c.updated_at,
            registration_access_token: c.registration_access_token.map(Secret::from_core),
            registration_client_uri: c.registration_client_uri,
        }
    }
}

/// Options of `consent.listConsentSessions` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct ListConsentSessionsOptions {
    pub subject: String,
    pub login_session_id: Option<String>,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// Input of `consent.revokeConsentSessions`: `subject` and exactly one of `client` or
/// `all: true` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct RevokeConsentSessionsOptions {
    pub subject: String,
    pub client: Option<String>,
    pub all: Option<bool>,
}

/// Input of `consent.revokeLoginSessions`: exactly one of `subject` or `sid` (declared for the
/// typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct RevokeLoginSessionsOptions {
    pub subject: Option<String>,
    pub sid: Option<String>,
}

/// Input of `consent.logoutUrl` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct LogoutUrlOptions {
    #[napi(ts_type = "string | Secret")]
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// Token lifespans of `oauth2Client.setLifespans`, Go durations (`"1h"`, `"90s"`) (declared
/// for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct ClientLifespans {
    pub authorization_code_grant_access_token_lifespan: Option<String>,
    pub authorization_code_grant_id_token_lifespan: Option<String>,
    pub authorization_code_grant_refresh_token_lifespan: Option<String>,
    pub client_credentials_grant_access_token_lifespan: Option<String>,
    pub implicit_grant_access_token_lifespan: Option<String>,
    pub implicit_grant_id_token_lifespan: Option<String>,
    pub jwt_bearer_grant_access_token_lifespan: Option<String>,
    pub refresh_token_grant_access_token_lifespan: Option<String>,
    pub refresh_token_grant_id_token_lifespan: Option<String>,
    pub refresh_token_grant_refresh_token_lifespan: Option<String>,
}

/// A consent a subject gave a client and Hydra remembers ("connected apps").
#[napi(object, object_from_js = false)]
pub struct ConsentSession {
    pub tenant: String,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub grant_scope: Vec<String>,
    pub grant_access_token_audience: Vec<String>,
    pub remember: bool,
    pub remember_for: Option<i64>,
    pub handled_at: Option<String>,
    pub login_session_id: Option<String>,
    pub consent_request_id: Option<String>,
}

impl From<ory_iam::dto::ConsentSession> for ConsentSession {
    fn from(c: ory_iam::dto::ConsentSession) -> Self {
        ConsentSession {
            tenant: c.tenant,
            subject: c.subject,
            client_id: c.client_id,
            client_name: c.client_name,
            grant_scope: c.grant_scope,
            grant_access_token_audience: c.grant_access_token_audience,
            remember: c.remember,
            remember_for: c.remember_for,
            handled_at: c.handled_at,
            login_session_id: c.login_session_id,
            consent_request_id: c.consent_request_id,
        }
    }
}

#[napi(object, object_from_js = false)]
pub struct ConsentSessionPage {
    pub items: Vec<ConsentSession>,
    pub next_page_token: Option<String>,
}

/// Hydra's OpenID Connect discovery document (`token.discover`); `raw` is all of it.
#[napi(object, object_from_js = false)]
pub struct OidcConfiguration {
    pub tenant: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
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
    pub raw: Value,
}

impl From<ory_iam::dto::OidcConfiguration> for OidcConfiguration {
    fn from(d: ory_iam::dto::OidcConfiguration) -> Self {
        OidcConfiguration {
            tenant: d.tenant,
            issuer: d.issuer,
            authorization_endpoint: d.authorization_endpoint,
            token_endpoint: d.token_endpoint,
            jwks_uri: d.jwks_uri,
            userinfo_endpoint: d.userinfo_endpoint,
            revocation_endpoint: d.revocation_endpoint,
            end_session_endpoint: d.end_session_endpoint,
            registration_endpoint: d.registration_endpoint,
            scopes_supported: d.scopes_supported,
            grant_types_supported: d.grant_types_supported,
            response_types_supported: d.response_types_supported,
            subject_types_supported: d.subject_types_supported,
            id_token_signing_alg_values_supported: d.id_token_signing_alg_values_supported,
            token_endpoint_auth_methods_supported: d.token_endpoint_auth_methods_supported,
            code_challenge_methods_supported: d.code_challenge_methods_supported,
            claims_supported: d.claims_supported,
            frontchannel_logout_supported: d.frontchannel_logout_supported,
            backchannel_logout_supported: d.backchannel_logout_supported,
            raw: d.raw,
        }
    }
}

/// OpenID Connect userinfo of an access token (`token.userinfo`): `claims` as Hydra sent them.
#[napi(object, object_from_js = false)]
pub struct UserInfo {
    pub tenant: String,
    pub sub: String,
    pub claims: Value,
}

impl From<ory_iam::dto::UserInfo> for UserInfo {
    fn from(u: ory_iam::dto::UserInfo) -> Self {
        UserInfo { tenant: u.tenant, sub: u.sub, claims: u.claims }
    }
}

#[napi(object, object_from_js = false)]
pub struct OAuth2ClientPage {
    pub items: Vec<OAuth2Client>,
    pub next_page_token: Option<String>,
}

/// Tokens from Hydra; each is a `Secret`.
#[napi(object, object_from_js = false)]
pub struct TokenSet {
    pub tenant: String,
    pub access_token: Secret,
    pub token_type: String,
    pub expires_in: Option<u32>,
    pub scope: Option<String>,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
}

impl From<ory_iam::dto::TokenSet> for TokenSet {
    fn from(t: ory_iam::dto::TokenSet) -> Self {
        TokenSet {
            tenant: t.tenant,
            access_token: Secret::from_core(t.access_token),
            token_type: t.token_type,
            expires_in: t.expires_in.map(|e| e.min(u32::MAX as u64) as u32),
            scope: t.scope,
            refresh_token: t.refresh_token.map(Secret::from_core),
            id_token: t.id_token.map(Secret::from_core),
        }
    }
}

/// `active: false` (unknown, expired or revoked token) is a normal answer.
#[napi(object)]
pub struct Introspection {
    pub tenant: String,
    pub active: bool,
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub iss: Option<String>,
    pub aud: Option<Vec<String>>,
    pub token_type: Option<String>,
    pub token_use: Option<String>,
    pub ext: Option<Value>,
}

impl From<ory_iam::dto::Introspection> for Introspection {
    fn from(i: ory_iam::dto::Introspection) -> Self {
        Introspection {
            tenant: i.tenant,
            active: i.active,
            sub: i.sub,
            client_id: i.client_id,
            scope: i.scope,
            exp: i.exp,
            iat: i.iat,
            iss: i.iss,
            aud: i.aud,
            token_type: i.token_type,
            token_use: i.token_use,
            ext: i.ext,
        }
    }
}

#[napi(object)]
pub struct RedirectTo {
    pub redirect_to: String,
}

impl From<ory_iam::dto::RedirectTo> for RedirectTo {
    fn from(r: ory_iam::dto::RedirectTo) -> Self {
        RedirectTo { redirect_to: r.redirect_to }
    }
}

/// A login, consent or logout request Hydra waits on; `raw` has every field Hydra sent.
#[napi(object)]
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
    pub raw: Value,
}

impl From<ory_iam::dto::ChallengeRequest> for ChallengeRequest {
    fn from(c: ory_iam::dto::ChallengeRequest) -> Self {
        ChallengeRequest {
            tenant: c.tenant,
            challenge: c.challenge,
            subject: c.subject,
            skip: c.skip,
            client_id: c.client_id,
            requested_scope: c.requested_scope,
            requested_access_token_audience: c.requested_access_token_audience,
            request_url: c.request_url,
            session_id: c.session_id,
            raw: c.raw,
        }
    }
}

/// A JSON Web Key set (keys may hold private material).
#[napi(object)]
pub struct JsonWebKeySet {
    pub keys: Vec<Value>,
}

impl From<ory_iam::dto::JsonWebKeySet> for JsonWebKeySet {
    fn from(k: ory_iam::dto::JsonWebKeySet) -> Self {
        JsonWebKeySet { keys: k.keys }
    }
}

#[napi(object)]
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

impl From<ory_iam::dto::TrustedIssuer> for TrustedIssuer {
    fn from(t: ory_iam::dto::TrustedIssuer) -> Self {
        TrustedIssuer {
            tenant: t.tenant,
            id: t.id,
            issuer: t.issuer,
            subject: t.subject,
            allow_any_subject: t.allow_any_subject,
            scope: t.scope,
            key_set: t.key_set,
            key_id: t.key_id,
            expires_at: t.expires_at,
            created_at: t.created_at,
        }
    }
}

#[napi(object)]
pub struct TrustedIssuerPage {
    pub items: Vec<TrustedIssuer>,
    pub next_page_token: Option<String>,
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object)]
pub struct ListOAuth2ClientsOptions {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
    pub client_name: Option<String>,
    pub owner: Option<String>,
}

/// Declared for the typings; parsed by the core. Secrets may be strings or `Secret`s.
#[allow(dead_code)]
#[napi(object)]
pub struct AuthorizationCodeGrant {
    pub code: String,
    pub redirect_uri: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub code_verifier: Option<String>,
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object)]
pub struct RefreshGrant {
    pub refresh_token: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object)]
pub struct JwtBearerGrant {
    pub assertion: String,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object)]
pub struct RevokeTokenOptions {
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object)]
pub struct CreateJwkSetOptions {
    /// RS256, ES256, HS256, …
    pub alg: String,
    /// sig | enc
    #[napi(js_name = "use")]
    pub use_: String,
    pub kid: Option<String>,
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object)]
pub struct TrustIssuerInput {
    pub issuer: String,
    pub subject: Option<String>,
    pub allow_any_subject: Option<bool>,
    pub scope: Vec<String>,
    /// RFC 3339
    pub expires_at: String,
    /// The issuer's public JWK (with `kid`).
    pub public_key: Value,
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object)]
pub struct ListTrustedIssuersOptions {
    pub issuer: Option<String>,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// Who is calling with an OAuth2 bearer token; `verifiedBy` is `jwt` or `introspection`.
#[napi(object)]
pub struct IamMachinePrincipal {
    pub tenant: String,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub scope: Vec<String>,
    pub expires_at: Option<i64>,
    pub verified_by: String,
}

impl From<ory_iam::dto::IamMachinePrincipal> for IamMachinePrincipal {
    fn from(p: ory_iam::dto::IamMachinePrincipal) -> Self {
        IamMachinePrincipal {
            tenant: p.tenant,
            client_id: p.client_id,
            subject: p.subject,
            scope: p.scope,
            expires_at: p.expires_at,
            verified_by: p.verified_by,
        }
    }
}

/// Options of `token.authenticate` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct AuthenticateOptions {
    /// auto | jwt | introspect; default: the tenant's `hydra.bearer_mode` (auto)
    pub mode: Option<String>,
    pub required_scope: Option<Vec<String>>,
    /// Must be in the token's `aud`; default: the tenant's `hydra.audience`
    pub required_audience: Option<String>,
}

/// Public metadata of one credential; hashes, secrets and seeds are never included.
#[napi(object)]
pub struct Credential {
    pub tenant: String,
    /// password | oidc | totp | lookup_secret | webauthn | passkey | code
    pub credential_type: String,
    pub identifiers: Vec<String>,
    pub providers: Vec<String>,
    pub key_names: Vec<String>,
    pub version: Option<i64>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl From<ory_iam::dto::Credential> for Credential {
    fn from(c: ory_iam::dto::Credential) -> Self {
        Credential {
            tenant: c.tenant,
            credential_type: c.credential_type,
            identifiers: c.identifiers,
            providers: c.providers,
            key_names: c.key_names,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[napi(object)]
pub struct Project {
    pub tenant: String,
    pub id: String,
    pub slug: String,
    pub name: String,
    pub environment: String,
    pub home_region: Option<String>,
    pub state: String,
    pub revision_id: Option<String>,
    pub workspace_id: Option<String>,
    pub services: Value,
    /// `{slug}.projects.oryapis.com` and custom domains (filled by `get`).
    pub hosts: Vec<String>,
}

impl From<ory_iam::dto::Project> for Project {
    fn from(p: ory_iam::dto::Project) -> Self {
        Project {
            tenant: p.tenant,
            id: p.id,
            slug: p.slug,
            name: p.name,
            environment: p.environment,
            home_region: p.home_region,
            state: p.state,
            revision_id: p.revision_id,
            workspace_id: p.workspace_id,
            services: p.services,
            hosts: p.hosts,
        }
    }
}

/// A listed project with its `hosts` (`{slug}.projects.oryapis.com` and custom domains).
#[napi(object)]
pub struct ProjectMetadata {
    pub tenant: String,
    pub id: String,
    pub slug: String,
    pub name: String,
    pub environment: Option<String>,
    pub state: String,
    pub hosts: Vec<String>,
    pub workspace_id: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl From<ory_iam::dto::ProjectMetadata> for ProjectMetadata {
    fn from(p: ory_iam::dto::ProjectMetadata) -> Self {
        ProjectMetadata {
            tenant: p.tenant,
            id: p.id,
            slug: p.slug,
            name: p.name,
            environment: p.environment,
            state: p.state,
            hosts: p.hosts,
            workspace_id: p.workspace_id,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[napi(object)]
pub struct Workspace {
    pub tenant: String,
    pub id: String,
    pub name: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl From<ory_iam::dto::Workspace> for Workspace {
    fn from(w: ory_iam::dto::Workspace) -> Self {
        Workspace { tenant: w.tenant, id: w.id, name: w.name, created_at: w.created_at, updated_at: w.updated_at }
    }
}

#[napi(object)]
pub struct WorkspacePage {
    pub items: Vec<Workspace>,
    pub next_page_token: Option<String>,
}

/// A project or workspace API key; `value` (a Secret) only right after creation.
#[napi(object, object_from_js = false)]
pub struct ApiKey {
    pub tenant: String,
    pub id: String,
    pub name: String,
    pub owner_id: Option<String>,
    pub last_characters: Option<String>,
    pub expires_at: Option<String>,
    pub created_at: Option<String>,
    pub value: Option<Secret>,
}

impl From<ory_iam::dto::ApiKey> for ApiKey {
    fn from(k: ory_iam::dto::ApiKey) -> Self {
        ApiKey {
            tenant: k.tenant,
            id: k.id,
            name: k.name,
            owner_id: k.owner_id,
            last_characters: k.last_characters,
            expires_at: k.expires_at,
            created_at: k.created_at,
            value: k.value.map(Secret::from_core),
        }
    }
}

#[napi(object)]
pub struct EventStream {
    pub tenant: String,
    pub id: String,
    pub stream_type: Option<String>,
    pub topic_arn: Option<String>,
    pub role_arn: Option<String>,
    pub https_endpoint: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl From<ory_iam::dto::EventStream> for EventStream {
    fn from(e: ory_iam::dto::EventStream) -> Self {
        EventStream {
            tenant: e.tenant,
            id: e.id,
            stream_type: e.stream_type,
            topic_arn: e.topic_arn,
            role_arn: e.role_arn,
            https_endpoint: e.https_endpoint,
            status: e.status,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object)]
pub struct CreateProjectInput {
    pub name: String,
    pub workspace_id: Option<String>,
    /// prod | stage | dev (default prod)
    pub environment: Option<String>,
    pub home_region: Option<String>,
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object)]
pub struct CreateApiKeyInput {
    pub name: String,
    /// RFC 3339
    pub expires_at: Option<String>,
}

/// Declared for the typings; parsed by the core.
#[allow(dead_code)]
#[napi(object, js_name = "EventStreamInputJs")]
pub struct EventStreamInputJs {
    /// sns | https
    #[napi(js_name = "type")]
    pub stream_type: Option<String>,
    pub topic_arn: Option<String>,
    pub role_arn: Option<String>,
    pub https_endpoint: Option<String>,
    pub status: Option<String>,
}

/// `{ name }` for `workspaceAdmin.create` / `update` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct WorkspaceInput {
    pub name: String,
}

/// Options of `courier.get` (declared for the typings; parsed by the core).
#[allow(dead_code)]
#[napi(object)]
pub struct CourierGetOptions {
    /// Return the body (a Secret) for this call only.
    pub include_body: Option<bool>,
}

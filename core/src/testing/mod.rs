//! In-memory fakes of the Ory servers, so code built on ory-iam can be tested with no servers.
//!
//! [`FakeOry`] keeps Kratos, Keto and Hydra state in memory, per tenant, and answers the HTTP
//! requests the core sends — at the HTTP layer, with the same JSON shapes, status codes and
//! `Link` headers as the real servers. Everything above that (credential extraction, the
//! session cache, DTO mapping, error mapping, audit events, auto-paging) is the real library
//! code, so [`FakeOry::iam`] is an ordinary [`Iam`]: the code under test cannot tell.
//!
//! ```
//! use ory_iam::dto::{AuthenticateOptions, CheckOptions, CreateIdentity, PermissionTuple};
//! use ory_iam::testing::FakeOry;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> ory_iam::Result<()> {
//! let fake = FakeOry::new(&["customer"])?;
//! let iam = fake.iam(); // hand this to the code under test instead of Iam::from_config(..)
//! let new = CreateIdentity { schema_id: "customer".into(), traits: json!({"email": "ada@example.com"}), ..Default::default() };
//! let ada = iam.identity().create(new).await?;
//! let cred = fake.create_session("customer", &ada.id)?;
//! let session = iam.session().whoami(&cred.bearer_headers()).await?; // or cred.cookie_headers()
//! assert_eq!(session.identity.id, ada.id);
//! iam.session().revoke(&cred.session_id).await?;
//! assert!(iam.session().whoami_or_null(&cred.bearer_headers()).await?.is_none());
//!
//! let view = PermissionTuple::new("documents", "readme", "view", &ada.id);
//! iam.permission().grant(&view).await?;
//! assert!(iam.permission().check(&view, CheckOptions::default()).await?);
//!
//! let token = fake.issue_token("customer", "billing", &["invoices.read"])?;
//! let headers = ory_iam::transport::header_map([("authorization", format!("Bearer {}", token.expose()))]);
//! let opts = AuthenticateOptions { required_scope: vec!["invoices.read".into()], ..Default::default() };
//! let machine = iam.token().authenticate(&headers, opts).await?;
//! assert_eq!(machine.client_id.as_deref(), Some("billing"));
//! # Ok(()) }
//! ```
//!
//! # What is emulated
//!
//! Each answer below was compared with the pinned servers (Kratos v1.3.1, Keto v0.14.0, Hydra
//! v2.3.0) on the same requests, quirks included; [`FakeOptions`] sets what their configuration
//! would (identity schemas, Keto namespaces, the tenants' client scopes). The user docs'
//! `docs/api/testing.md` has the method-by-method table.
//!
//! Kratos (admin): identities — create (traits validated against the configured identity
//! schemas with the `jsonschema` crate: an unknown `schema_id` and each violated keyword are
//! `400` with Kratos's `I[#pointer] S[#pointer] message` lines, so `IamValidationError.fields`
//! are the real server's; no `schema_id` is the default schema; an `email` string trait becomes
//! the identity's identifier, verifiable and recovery address; a repeated email is `409`; the
//! email is also the identifier of a `password` credential, as Kratos records it), get (with
//! `include_credential`: credential types and identifiers only), list with `page_size` and
//! Kratos's keyset `page_token` (a token that is not a UUID is `400`) and a `Link` header, JSON
//! Patch (validated like create), PUT, delete (with its sessions), batch create (`PATCH
//! /admin/identities`: per-entry results, and none kept when one conflicts, as Kratos v1.3.1); the identity's sessions (list,
//! offset paging as Kratos — an unreadable token is the first page —, `active` filter),
//! `GET /admin/sessions` (keyset page tokens), `GET`/`DELETE /admin/sessions/{id}`,
//! `PATCH /admin/sessions/{id}/extend`. Kratos (public): `GET`/`DELETE /sessions` and
//! `DELETE /sessions/{id}` (the caller's other sessions, with Kratos's answers);
//! `GET /sessions/whoami` with `X-Session-Token` or `Authorization: Bearer` (the session token),
//! or the `ory_kratos_session` cookie (the session's cookie value, never its token: Kratos
//! refuses a token sent as the cookie); 401 for unknown, revoked or expired sessions and
//! disabled identities. Self-service registration and login with the `password`
//! method and settings (`profile`, `password`), native and browser (browser flows check
//! Kratos's CSRF cookie and masked token and answer the session as a cookie), native and
//! browser logout; recovery and verification with the `code` method, native and browser, whose
//! codes go to an in-memory courier served by `/admin/courier/messages` (a registration sends
//! a verification code too); `/admin/recovery/{code,link}`, credential deletion and
//! `/self-service/errors` (always `404`). Other methods (`link`, `totp`, `oidc`, …) and the
//! session token exchange are not.
//!
//! Keto: only the configured namespaces exist — a write, list, expand or delete naming another
//! (also as a subject set's namespace) is `404`, a check in one is not allowed, a batch check
//! entry carries Keto's error. Check (`/relation-tuples/check/openapi` and
//! `/relation-tuples/check`), batch check, `PUT`/`PATCH`/`DELETE /admin/relation-tuples`, list
//! with paging, expand. Rows have random ids as in Keto v0.14: a repeated grant is a second row
//! (listed and expanded twice), lists come in id order, page tokens are row ids (a token that is
//! not one is Keto's `500`). Subject sets are followed recursively (up to `max-depth`, default 5;
//! `1` is the direct tuples only) for checks and expanded for `expand` (`max-depth` 1 leaves the
//! root unexpanded); a relation without tuples expands to Keto's tuple-less leaf. Ory Permission
//! Language rewrites (`permits`) are not evaluated.
//!
//! Hydra: `POST /oauth2/token` with the `client_credentials` grant (opaque tokens, client
//! authentication by Basic or form, the client's `scope` enforced with Hydra's `wildcard`
//! strategy — `invalid_scope` otherwise; the tenants' own client accepts any scope unless
//! [`FakeOptions::client_scope`] is set), introspection, revocation (RFC 7009: a token of another
//! client is left active, and the answer is still 200), `/admin/clients`
//! create/get/list/set/patch/delete with Hydra's client rules (redirect URIs must parse and have
//! no fragment, a secret has at least 6 characters) and offset page tokens (an unreadable one is
//! the first page); JWK sets (`/admin/keys`: create — `ES256`, `ES384` and `EdDSA` keys are
//! made, `RS*`/`PS*`/`ES512` answer 501, other algorithms 400 —, get, put and delete sets and
//! keys) and `/.well-known/jwks.json` with the public keys of the `hydra.openid.id-token` set
//! (which starts, as a fresh Hydra's, with one RS256 key: a fixed key pair made for the fake,
//! whose private half signs the fake's ID tokens). The authorization-code flow
//! (`hydra_flows.rs`): [`FakeOry::authorize`] and [`FakeOry::follow`] play the browser, the
//! login and consent challenges of `consent` are Hydra's (unknown → `404`; decided again → a new
//! `redirect_to`; a verifier works once), the `authorization_code` grant (client, `redirect_uri`
//! and PKCE checked; a code works once, its replay revokes its tokens) and the `refresh_token`
//! grant (rotation; a reused refresh token revokes its family), `/userinfo`, consent sessions
//! (listed, revoked with their tokens; a remembered consent skips the next one) and login
//! sessions. Also (module `hydra_admin`): trusted
//! JWT-bearer issuers (`/admin/trust/grants/jwt-bearer/issuers`: create with Hydra's checks, get,
//! list with its offset tokens and an `X-Total-Count` of every trust, delete, which also removes
//! the key) and the `urn:ietf:params:oauth:grant-type:jwt-bearer` grant (fosite v0.49's checks:
//! trusted `iss`/`sub`/`kid`, the signature, `aud` holding the token URL, `exp`, `nbf`, `iat`, a
//! `jti` used once, the trust's scopes); `PUT /admin/clients/{id}/lifespans` (Go durations; the
//! `client_credentials` and `jwt_bearer` access-token lifespans apply); OpenID Connect dynamic
//! registration (`/oauth2/register`: the registration access token checked, rotated on every
//! update, revoked by an admin update; admin-created clients get one too, as with registration
//! enabled); `DELETE /admin/oauth2/tokens` (access tokens only, as Hydra v2.3.0); and
//! `/.well-known/openid-configuration` with the tenant's fake URLs. Logout challenges, remembered
//! logins and other grants are not emulated; access tokens are opaque, so `authenticate`
//! introspects them.
//!
//! Anything else answers `501 Not Implemented` with a JSON error, which the library raises as
//! `upstream_unavailable` (status 501), never as success.

mod courier;
mod flows;
mod hydra;
mod hydra_admin;
mod hydra_flows;
mod jwk;
mod keto;
mod kratos;
mod recovery;
mod schema;

pub use hydra_flows::{AuthorizeRequest, CONSENT_URL, ERROR_URL, LOGIN_URL};
pub use schema::DEFAULT_IDENTITY_SCHEMA;

use crate::config::IamConfig;
use crate::error::{Error, Result};
use crate::http::Product;
use crate::secret::Secret;
use crate::Iam;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The client configured as the fake tenants' `hydra.client_id` (its `client_credentials` grant
/// accepts any scope), so `iam.token().client_credentials(..)` works out of the box.
pub const DEFAULT_CLIENT_ID: &str = "ory-iam-fake-client";
const DEFAULT_CLIENT_SECRET: &str = "ory-iam-fake-secret";
/// Kratos's default session cookie name, which the fake tenants use.
pub const SESSION_COOKIE: &str = "ory_kratos_session";
/// How long sessions live (and how far `extend` moves them), like Kratos's default `24h`.
const SESSION_LIFESPAN: time::Duration = time::Duration::hours(24);
/// Lifetime of issued access tokens, like Hydra's default `1h`.
const TOKEN_LIFESPAN_SECS: i64 = 3600;

/// What the HTTP layer hands to an in-memory backend instead of sending it.
pub(crate) struct FakeRequest<'a> {
    pub tenant: &'a str,
    pub product: Product,
    pub method: &'a Method,
    /// Relative to the product's base URL, without a leading `/`.
    pub path: &'a str,
    pub query: &'a [(&'a str, String)],
    pub headers: &'a HeaderMap,
    pub json: Option<&'a Value>,
    pub form: Option<&'a [(&'static str, String)]>,
}

impl FakeRequest<'_> {
    fn q(&self, k: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str())
    }

    fn q_all(&self, k: &str) -> Vec<&str> {
        self.query.iter().filter(|(n, _)| *n == k).map(|(_, v)| v.as_str()).collect()
    }

    fn f(&self, k: &str) -> Option<&str> {
        self.form?.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str())
    }
}

pub(crate) struct FakeResponse {
    pub status: u16,
    /// A list, not a `HeaderMap`: keeps the `Err` side of the handlers' `Result`s small.
    pub headers: Vec<(http::HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
}

impl FakeResponse {
    fn json(status: u16, v: &Value) -> Self {
        let headers = vec![(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"))];
        FakeResponse { status, headers, body: serde_json::to_vec(v).unwrap_or_default() }
    }

    fn empty(status: u16) -> Self {
        FakeResponse { status, headers: Vec::new(), body: Vec::new() }
    }

    /// Kratos's and Keto's generic error shape.
    fn error(status: u16, reason: &str) -> Self {
        let text = http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
        Self::json(status, &json!({"error": {"code": status, "status": text, "reason": reason, "message": text}}))
    }

    fn with_link(mut self, link: Option<String>) -> Self {
        if let Some(l) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
            self.headers.push((http::header::LINK, l));
        }
        self
    }
}

/// A session created with [`FakeOry::create_session`].
#[derive(Clone, Debug)]
pub struct SessionCredential {
    pub session_id: String,
    /// A Kratos session token: works as `X-Session-Token` or `Authorization: Bearer` — not as a
    /// cookie, as with Kratos.
    pub token: Secret,
    /// The value of the `ory_kratos_session` cookie of the same session (what a browser login
    /// sets; Kratos refuses a session token sent as the cookie).
    pub cookie: Secret,
}

impl SessionCredential {
    /// `Authorization: Bearer <token>`.
    pub fn bearer_headers(&self) -> HeaderMap {
        crate::transport::header_map([("authorization", format!("Bearer {}", self.token.expose()))])
    }

    /// `Cookie: ory_kratos_session=<cookie>`.
    pub fn cookie_headers(&self) -> HeaderMap {
        crate::transport::header_map([("cookie", format!("{SESSION_COOKIE}={}", self.cookie.expose()))])
    }
}

/// An OAuth2 client registered with [`FakeOry::add_oauth2_client`].
#[derive(Clone, Debug, Default)]
pub struct FakeClient {
    pub client_id: String,
    /// `None`: a public client (`token_endpoint_auth_method: none`).
    pub client_secret: Option<Secret>,
    /// Scopes the client may ask for.
    pub scope: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct StoredSession {
    pub id: String,
    pub identity_id: String,
    pub token: String,
    /// The browser cookie's value (Kratos's is an encrypted cookie holding the session).
    pub cookie: String,
    pub active: bool,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Default)]
pub(crate) struct TenantState {
    /// Schema id → schema, as Kratos's `identity.schemas`; and `identity.default_schema_id`.
    pub schemas: BTreeMap<String, Arc<schema::IdentitySchema>>,
    pub default_schema_id: String,
    /// Keto's declared namespaces (and their configured order, which `GET /namespaces` keeps).
    pub namespaces: std::collections::BTreeSet<String>,
    pub namespace_order: Vec<String>,
    /// Kratos's schema ids in configured order (`GET /schemas`).
    pub schema_order: Vec<String>,
    pub identities: BTreeMap<String, kratos::StoredIdentity>,
    pub sessions: BTreeMap<String, StoredSession>,
    /// Keto's rows by their (random) id: listed in id order, duplicates kept, as Keto v0.14 does.
    pub tuples: BTreeMap<uuid::Uuid, keto::Tuple>,
    pub clients: BTreeMap<String, hydra::StoredClient>,
    pub tokens: std::collections::HashMap<String, hydra::StoredToken>,
    /// Kratos's self-service flows in progress, by id.
    pub flows: BTreeMap<String, flows::StoredFlow>,
    /// Hydra's JWK sets: set name → keys, newest first.
    pub jwk_sets: BTreeMap<String, Vec<Value>>,
    /// Kratos's courier queue (recovery and verification messages), oldest first.
    pub courier: Vec<courier::Message>,
    /// Browser logout tokens → the session they end.
    pub logout_tokens: BTreeMap<String, String>,
    /// Hydra's trusted issuers, lifespans, registration tokens (see `hydra_admin`).
    pub hydra_admin: hydra_admin::AdminState,
    /// Hydra's authorization-code flows, challenges, codes and consents (`hydra_flows.rs`).
    pub oauth_flows: hydra_flows::FlowState,
}

#[derive(Default)]
pub(crate) struct State {
    pub tenants: BTreeMap<String, TenantState>,
    pub requests: BTreeMap<String, u64>,
}

pub(crate) struct Backend {
    state: Mutex<State>,
}

impl Backend {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in a test thread must not poison the fake for the rest of the suite.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// [`FakeOry`]'s state is the HTTP layer's transport of its `Iam`: every attempt is answered
/// in memory.
impl crate::http::HttpTransport for Backend {
    fn send<'a>(&'a self, req: crate::http::Request<'a>) -> futures::future::BoxFuture<'a, crate::http::Outcome> {
        let r = self.handle(FakeRequest {
            tenant: req.tenant,
            product: req.product,
            method: req.method,
            path: req.path,
            query: req.query,
            headers: req.headers,
            json: req.json,
            form: req.form,
        });
        let headers = r.headers.into_iter().collect();
        Box::pin(std::future::ready(crate::http::Outcome::Answered { status: r.status, headers, body: r.body.into() }))
    }

    fn in_memory(&self) -> bool {
        true
    }
}

impl Backend {
    fn handle(&self, req: FakeRequest<'_>) -> FakeResponse {
        let mut st = self.lock();
        *st.requests.entry(endpoint_name(&req)).or_default() += 1;
        let Some(t) = st.tenants.get_mut(req.tenant) else {
            return not_emulated(&req);
        };
        let path = req.path.trim_end_matches('/');
        let segs: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('/').collect() };
        if req.method == Method::GET && matches!(segs.as_slice(), ["health", _] | ["admin", "health", _]) {
            return FakeResponse::json(200, &json!({"status": "ok"}));
        }
        let answer = match req.product {
            Product::KratosPublic | Product::KratosAdmin => kratos::handle(t, &req, &segs),
            Product::KetoRead | Product::KetoWrite => keto::handle(t, &req, &segs),
            Product::HydraPublic | Product::HydraAdmin => {
                hydra_flows::handle(t, &req, &segs).or_else(|| hydra::handle(t, &req, &segs))
            }
            Product::KetoOpl | Product::Console | Product::OathkeeperJwks => None,
        };
        answer.unwrap_or_else(|| not_emulated(&req))
    }
}

fn not_emulated(req: &FakeRequest<'_>) -> FakeResponse {
    FakeResponse::error(
        501,
        &format!("ory-iam FakeOry does not emulate {} {} /{}", req.product.as_str(), req.method, req.path),
    )
}

/// `kratos-admin GET admin/identities/{id}`: ids replaced so counts group by endpoint.
fn endpoint_name(req: &FakeRequest<'_>) -> String {
    let path: Vec<&str> = req
        .path
        .trim_end_matches('/')
        .split('/')
        .map(|s| if uuid::Uuid::parse_str(s).is_ok() { "{id}" } else { s })
        .collect();
    format!("{} {} {}", req.product.as_str(), req.method, path.join("/"))
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub(crate) fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A random token with a recognisable prefix (`ory_st_`, `ory_at_`, …), like Ory's.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 43);
    s.push_str(prefix);
    for _ in 0..43 {
        s.push(fastrand::alphanumeric());
    }
    s
}

/// Keto's namespaces when [`FakeOptions::keto_namespaces`] is not given (those of the project's
/// test stack).
pub const DEFAULT_KETO_NAMESPACES: &[&str] = &["documents", "groups", "folders"];

/// How the fake servers are configured; every tenant gets the same configuration.
#[derive(Clone, Debug, Default)]
pub struct FakeOptions {
    /// Tenant names; the first is the default tenant. Must not be empty.
    pub tenants: Vec<String>,
    /// Kratos's `identity.schemas`: `(schema id, JSON Schema)`, traits validated against them.
    /// Empty: [`DEFAULT_IDENTITY_SCHEMA`] under the id `default` and under each tenant's name.
    pub identity_schemas: Vec<(String, Value)>,
    /// Per-tenant `identity.schemas` (each tenant is its own Kratos): `(tenant, schemas)`; a
    /// tenant listed here uses these instead of `identity_schemas`, its first being its default
    /// unless `default_schema_id` is one of them.
    pub tenant_identity_schemas: Vec<(String, Vec<(String, Value)>)>,
    /// Kratos's `identity.default_schema_id` (the schema of a create that names none). `None`:
    /// the first of `identity_schemas` (with the default schemas: the tenant's name).
    pub default_schema_id: Option<String>,
    /// Keto's declared namespaces; a request naming another is `404` (`check`: not allowed), as
    /// with Keto. `None`: [`DEFAULT_KETO_NAMESPACES`].
    pub keto_namespaces: Option<Vec<String>>,
    /// The scopes the tenants' own client ([`DEFAULT_CLIENT_ID`]) is registered with, enforced
    /// like any client's. `None`: any scope (so `client_credentials` works as is).
    pub client_scope: Option<Vec<String>>,
}

impl FakeOptions {
    /// Options from JSON, as the bindings pass them: `tenants`, `identity_schemas` (an object of
    /// schema id → schema, or Kratos's list `[{"id", "schema"}]`), `default_schema_id`,
    /// `keto_namespaces` (names, or Keto's list `[{"id", "name"}]`), `client_scope` (a list or a
    /// space-separated string).
    pub fn from_value(v: &Value) -> Result<FakeOptions> {
        let obj = v.as_object().ok_or_else(|| Error::invalid_field("options", "must be an object"))?;
        const KEYS: &[&str] = &[
            "tenants",
            "identity_schemas",
            "tenant_identity_schemas",
            "default_schema_id",
            "keto_namespaces",
            "client_scope",
        ];
        if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(Error::invalid_field(k.as_str(), "is not a FakeOry option"));
        }
        let strings = |key: &str, v: &Value| -> Result<Vec<String>> {
            match v {
                Value::String(s) => Ok(s.split_whitespace().map(str::to_owned).collect()),
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_owned).ok_or_else(|| Error::invalid_field(key, "must be strings")))
                    .collect(),
                _ => Err(Error::invalid_field(key, "must be a list of strings")),
            }
        };
        let mut o = FakeOptions::default();
        if let Some(t) = obj.get("tenants").filter(|t| !t.is_null()) {
            o.tenants = strings("tenants", t)?;
        } else {
            o.tenants = vec!["customer".to_owned()];
        }
        match obj.get("identity_schemas") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => o.identity_schemas = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(Value::Array(a)) => {
                for (i, x) in a.iter().enumerate() {
                    let (Some(id), Some(schema)) = (x.get("id").and_then(Value::as_str), x.get("schema")) else {
                        return Err(Error::invalid_field(format!("identity_schemas[{i}]"), "needs `id` and `schema`"));
                    };
                    o.identity_schemas.push((id.to_owned(), schema.clone()));
                }
            }
            Some(_) => return Err(Error::invalid_field("identity_schemas", "must be an object or a list")),
        }
        match obj.get("tenant_identity_schemas") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (tenant, set) in m {
                    let Some(set) = set.as_object() else {
                        return Err(Error::invalid_field(
                            format!("tenant_identity_schemas.{tenant}"),
                            "must be an object of schema id → schema",
                        ));
                    };
                    o.tenant_identity_schemas
                        .push((tenant.clone(), set.iter().map(|(k, v)| (k.clone(), v.clone())).collect()));
                }
            }
            Some(_) => return Err(Error::invalid_field("tenant_identity_schemas", "must be an object")),
        }
        match obj.get("default_schema_id") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => o.default_schema_id = Some(s.clone()),
            Some(_) => return Err(Error::invalid_field("default_schema_id", "must be a string")),
        }
        match obj.get("keto_namespaces") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                let mut names = Vec::new();
                for (i, x) in a.iter().enumerate() {
                    match x.as_str().or_else(|| x.get("name").and_then(Value::as_str)) {
                        Some(n) => names.push(n.to_owned()),
                        None => {
                            return Err(Error::invalid_field(
                                format!("keto_namespaces[{i}]"),
                                "must be a name or {\"name\": ...}",
                            ))
                        }
                    }
                }
                o.keto_namespaces = Some(names);
            }
            Some(_) => return Err(Error::invalid_field("keto_namespaces", "must be a list")),
        }
        if let Some(s) = obj.get("client_scope").filter(|s| !s.is_null()) {
            o.client_scope = Some(strings("client_scope", s)?);
        }
        Ok(o)
    }
}

/// In-memory Kratos, Keto and Hydra for tests: see the [module docs](self) for what is emulated.
/// Cheap to clone; clones share state.
#[derive(Clone)]
pub struct FakeOry {
    backend: Arc<Backend>,
    iam: Iam,
}

impl std::fmt::Debug for FakeOry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOry").field("tenants", &self.iam.tenants()).finish()
    }
}

impl FakeOry {
    /// Fake servers for these tenants (the first is the default tenant), with the default
    /// configuration (see [`FakeOptions`]).
    pub fn new(tenants: &[&str]) -> Result<FakeOry> {
        Self::with_options(FakeOptions {
            tenants: tenants.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        })
    }

    /// Fake servers configured with `options`.
    pub fn with_options(options: FakeOptions) -> Result<FakeOry> {
        let tenants: Vec<&str> = options.tenants.iter().map(String::as_str).collect();
        let Some(first) = tenants.first() else {
            return Err(Error::invalid_field("tenants", "must name at least one tenant"));
        };
        type Compiled = Vec<(String, Arc<schema::IdentitySchema>)>;
        let compile_set = |key: &str, set: &[(String, Value)]| -> Result<Compiled> {
            let mut out: Compiled = Vec::new();
            for (id, s) in set {
                if id.is_empty() || out.iter().any(|(c, _)| c == id) {
                    return Err(Error::invalid_field(key, "schema ids must be unique and not empty"));
                }
                let c = schema::IdentitySchema::compile(s)
                    .map_err(|why| Error::invalid_field(format!("{key}.{id}"), why))?;
                out.push((id.clone(), Arc::new(c)));
            }
            Ok(out)
        };
        let compiled = compile_set("identity_schemas", &options.identity_schemas)?;
        let mut per_tenant: BTreeMap<String, Compiled> = BTreeMap::new();
        for (tenant, set) in &options.tenant_identity_schemas {
            if !tenants.contains(&tenant.as_str()) {
                return Err(Error::invalid_field(
                    format!("tenant_identity_schemas.{tenant}"),
                    "is not one of the tenants",
                ));
            }
            let c = compile_set(&format!("tenant_identity_schemas.{tenant}"), set)?;
            if c.is_empty() {
                return Err(Error::invalid_field(format!("tenant_identity_schemas.{tenant}"), "must hold a schema"));
            }
            per_tenant.insert(tenant.clone(), c);
        }
        let default_schema = if compiled.is_empty() {
            let v: Value =
                serde_json::from_str(DEFAULT_IDENTITY_SCHEMA).map_err(|e| Error::configuration(e.to_string()))?;
            Some(Arc::new(schema::IdentitySchema::compile(&v).map_err(Error::configuration)?))
        } else {
            None
        };
        if let Some(d) = &options.default_schema_id {
            let known = if compiled.is_empty() {
                d == "default"
                    || tenants.contains(&d.as_str())
                    || per_tenant.values().any(|c| c.iter().any(|(id, _)| id == d))
            } else {
                compiled.iter().any(|(id, _)| id == d)
            };
            if !known {
                return Err(Error::invalid_field("default_schema_id", "must be one of the identity schemas' ids"));
            }
        }
        let mut namespace_order: Vec<String> = match &options.keto_namespaces {
            Some(n) => n.clone(),
            None => DEFAULT_KETO_NAMESPACES.iter().map(|n| (*n).to_owned()).collect(),
        };
        let mut seen = std::collections::BTreeSet::new();
        namespace_order.retain(|n| seen.insert(n.clone()));
        let namespaces: std::collections::BTreeSet<String> = seen;
        let mut cfg_tenants = serde_json::Map::new();
        let mut state = State::default();
        for (i, name) in tenants.iter().enumerate() {
            // Never contacted: the hostnames only keep tenants' circuit breakers apart.
            let base = |product: &str| format!("http://{product}.t{i}.fake.ory-iam.invalid");
            cfg_tenants.insert(
                (*name).to_owned(),
                json!({
                    "mode": "self-hosted",
                    "transport": "cookie-or-bearer",
                    "kratos": {"public_url": base("kratos-public"), "admin_url": base("kratos-admin")},
                    "keto": {"read_url": base("keto-read"), "write_url": base("keto-write")},
                    "hydra": {
                        "public_url": base("hydra-public"),
                        "admin_url": base("hydra-admin"),
                        "client_id": DEFAULT_CLIENT_ID,
                        "client_secret": DEFAULT_CLIENT_SECRET,
                    },
                    "cache": {"session_ttl_ms": 60_000},
                }),
            );
            let mut t = TenantState::default();
            t.hydra_admin.public_url = base("hydra-public");
            t.jwk_sets.insert(jwk::ID_TOKEN_SET.to_owned(), vec![jwk::startup_id_token_key()]);
            t.oauth_flows.public_url = format!("{}/", base("hydra-public"));
            match (per_tenant.get(*name), &default_schema) {
                (Some(own), _) => {
                    t.schemas = own.iter().cloned().collect();
                    t.schema_order = own.iter().map(|(id, _)| id.clone()).collect();
                    t.default_schema_id = options
                        .default_schema_id
                        .clone()
                        .filter(|d| t.schemas.contains_key(d))
                        .unwrap_or_else(|| own[0].0.clone());
                }
                (None, Some(d)) => {
                    t.schemas.insert("default".to_owned(), d.clone());
                    t.schemas.insert((*name).to_owned(), d.clone());
                    t.schema_order = vec![(*name).to_owned()];
                    if *name != "default" {
                        t.schema_order.push("default".to_owned());
                    }
                    t.default_schema_id = options.default_schema_id.clone().unwrap_or_else(|| (*name).to_owned());
                }
                (None, None) => {
                    t.schemas = compiled.iter().cloned().collect();
                    t.schema_order = compiled.iter().map(|(id, _)| id.clone()).collect();
                    t.default_schema_id = options.default_schema_id.clone().unwrap_or_else(|| compiled[0].0.clone());
                }
            }
            t.namespaces = namespaces.clone();
            t.namespace_order = namespace_order.clone();
            let scope = options.client_scope.as_ref().map(|s| s.join(" ")).unwrap_or_default();
            t.clients.insert(
                DEFAULT_CLIENT_ID.to_owned(),
                hydra::StoredClient::new(
                    json!({"client_id": DEFAULT_CLIENT_ID, "client_name": "ory-iam FakeOry",
                           "grant_types": ["client_credentials"], "scope": scope,
                           "token_endpoint_auth_method": "client_secret_basic"}),
                    Some(DEFAULT_CLIENT_SECRET.to_owned()),
                    options.client_scope.is_none(),
                ),
            );
            state.tenants.insert((*name).to_owned(), t);
        }
        let config = IamConfig::from_value(&json!({
            "default_tenant": first,
            "tenants": cfg_tenants,
            "session_cache": "memory",
        }))?;
        let backend = Arc::new(Backend { state: Mutex::new(state) });
        let iam = Iam::builder(config).transport(backend.clone()).build()?;
        Ok(FakeOry { backend, iam })
    }

    /// An ordinary [`Iam`] whose tenants talk to this fake (same instance on every call, so its
    /// session cache is shared).
    pub fn iam(&self) -> Iam {
        self.iam.clone()
    }

    pub fn default_tenant(&self) -> &str {
        self.iam.default_tenant()
    }

    pub fn tenants(&self) -> Vec<String> {
        self.iam.tenants()
    }

    fn with_tenant<R>(&self, tenant: &str, f: impl FnOnce(&mut TenantState) -> Result<R>) -> Result<R> {
        let mut st = self.backend.lock();
        let t = st.tenants.get_mut(tenant).ok_or_else(|| {
            Error::configuration(format!("unknown tenant {tenant:?}; the fake has {:?}", self.iam.tenants()))
        })?;
        f(t)
    }

    /// Log the identity in: a new active session (24 h) and its session token, as a native login
    /// would give.
    pub fn create_session(&self, tenant: &str, identity_id: &str) -> Result<SessionCredential> {
        self.with_tenant(tenant, |t| {
            if !t.identities.contains_key(identity_id) {
                return Err(Error::new(crate::ErrorKind::NotFound, "no such identity in the fake").with_tenant(tenant));
            }
            let at = now();
            let s = StoredSession {
                id: uuid::Uuid::new_v4().to_string(),
                identity_id: identity_id.to_owned(),
                token: random_token("ory_st_"),
                cookie: random_token("MTc"),
                active: true,
                issued_at: at,
                expires_at: at + SESSION_LIFESPAN,
            };
            let out = SessionCredential {
                session_id: s.id.clone(),
                token: Secret::new(s.token.clone()),
                cookie: Secret::new(s.cookie.clone()),
            };
            t.sessions.insert(s.id.clone(), s);
            Ok(out)
        })
    }

    /// Make a session expire now (as time passing would), and drop it from the session cache.
    pub async fn expire_session(&self, tenant: &str, session_id: &str) -> Result<()> {
        self.with_tenant(tenant, |t| {
            let s = t.sessions.get_mut(session_id).ok_or_else(|| {
                Error::new(crate::ErrorKind::NotFound, "no such session in the fake").with_tenant(tenant)
            })?;
            s.expires_at = now() - time::Duration::seconds(1);
            Ok(())
        })?;
        if let Some(ctx) = self.iam.reg.tenants.get(tenant) {
            ctx.sessions.evict_session(tenant, session_id).await?;
        }
        Ok(())
    }

    /// Register an OAuth2 client allowed the `client_credentials` grant for `scope`.
    pub fn add_oauth2_client(&self, tenant: &str, client: FakeClient) -> Result<()> {
        if client.client_id.is_empty() {
            return Err(Error::invalid_field("client_id", "must not be empty"));
        }
        self.with_tenant(tenant, |t| {
            let method = if client.client_secret.is_some() { "client_secret_basic" } else { "none" };
            let doc = json!({
                "client_id": client.client_id,
                "grant_types": ["client_credentials"],
                "scope": client.scope.join(" "),
                "token_endpoint_auth_method": method,
            });
            let secret = client.client_secret.as_ref().map(|s| s.expose().to_owned());
            t.clients.insert(client.client_id.clone(), hydra::StoredClient::new(doc, secret, false));
            Ok(())
        })
    }

    /// An access token Hydra would have issued to `client_id` for `scope` (the client need not be
    /// registered): introspection reports it active until it expires in an hour or is revoked.
    pub fn issue_token(&self, tenant: &str, client_id: &str, scope: &[&str]) -> Result<Secret> {
        if client_id.is_empty() {
            return Err(Error::invalid_field("client_id", "must not be empty"));
        }
        self.with_tenant(tenant, |t| {
            Ok(Secret::new(t.mint_token(client_id, scope.iter().map(|s| s.to_string()).collect())))
        })
    }

    /// How many requests each emulated endpoint received, e.g.
    /// `"kratos-public GET sessions/whoami" → 3` (ids in paths read `{id}`).
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.backend.lock().requests.clone()
    }
}

/// The offset page token of Kratos's and Hydra's offset paging: unpadded base64url of
/// `{"offset":"N","v":2}`.
pub(crate) fn offset_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"offset\":\"{offset}\",\"v\":2}}"))
}

/// The offset of an offset page token; a token that cannot be read is the first page, as the
/// servers treat it.
pub(crate) fn read_offset_token(token: Option<&str>) -> usize {
    use base64::Engine;
    let Some(t) = token.filter(|t| !t.is_empty()) else { return 0 };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("offset").and_then(|o| o.as_str().and_then(|s| s.parse().ok()).or_else(|| o.as_u64())))
        .map(|o| o as usize)
        .unwrap_or(0)
}

//! # ory-iam
//!
//! One async client for the whole Ory identity stack — Kratos, Keto, Hydra and the Ory Network
//! control plane — for many tenants at once. Every service has `for_tenant(name)`, returns
//! library-owned DTOs, audits sensitive actions and fails closed.
//!
//! ```no_run
//! # async fn demo() -> ory_iam::Result<()> {
//! let iam = ory_iam::Iam::from_file("ory-iam.yaml")?;
//! let admins = iam.identity().for_tenant("admin")?;
//! let who = admins.get("9f425a8d-7efc-4768-8f23-7647a74fdf13").await?;
//! assert!(who.traits.is_none()); // `get` is sanitized; `get_with_traits` is not
//! # Ok(()) }
//! ```

pub mod answer;
pub mod audit;
pub(crate) mod cache;
pub mod config;
pub mod dto;
pub mod error;
/// Parser entry points for `core/fuzz`; not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod http;
#[doc(hidden)]
pub mod hydra;
mod ids;
pub mod keto;
pub mod kratos;
pub mod metadata;
pub mod network;
pub mod paging;
pub mod runtime;
pub mod secret;
pub mod telemetry;
pub(crate) mod tenancy;
pub mod testing;
pub mod transport;

pub use answer::{http_answer, AnswerContext, ErrorBody, ErrorFacts, HttpAnswer};
pub use audit::{AuditEvent, AuditSink, Redactor};
pub use config::{IamConfig, Transport};
pub use error::{Error, ErrorKind, FieldError, Result};
pub use http::Product;
pub use hydra::{ConsentService, JwkService, OAuth2ClientService, TokenService, TrustedIssuerService};
pub use keto::PermissionService;
pub use kratos::{CourierService, FlowService, IdentityService, SchemaService, SessionService};
pub use metadata::MetadataService;
pub use network::{EventsService, ProjectAdminService, WorkspaceAdminService};
pub use paging::Pager;
pub use secret::Secret;
pub use telemetry::request_id_for;

use audit::{AuditEvent as Event, Auditor, LogSink, NoneSink};
use config::AuditSinkKind;
use std::sync::Arc;
use std::time::Duration;
use tenancy::Registry;

/// The entry point. Cheap to clone; all clones share tenants, pools and caches.
#[derive(Clone)]
pub struct Iam {
    reg: Arc<Registry>,
}

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iam")
            .field("tenants", &self.tenants())
            .field("default_tenant", &&*self.reg.default.name)
            .finish()
    }
}

/// Builds an [`Iam`] with options that are not plain data (an audit callback).
pub struct IamBuilder {
    config: IamConfig,
    sink: Option<Arc<dyn AuditSink>>,
    /// Answers every request instead of the network (`testing::FakeOry`).
    transport: Option<Arc<dyn http::HttpTransport>>,
}

impl IamBuilder {
    /// Where audit events go when `audit.sink` is `callback`.
    pub fn audit_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Route every request to another transport (`testing::FakeOry`'s in-memory backend).
    pub(crate) fn transport(mut self, transport: Arc<dyn http::HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    pub fn build(self) -> Result<Iam> {
        let sink: Arc<dyn AuditSink> = match (self.config.audit.sink, self.sink) {
            (AuditSinkKind::Callback, Some(s)) => s,
            (AuditSinkKind::Callback, None) => {
                return Err(Error::configuration_fields(vec![FieldError {
                    path: "audit.sink".into(),
                    reason: "callback needs a callback (Iam::builder().audit_sink, or the binding's audit callback)"
                        .into(),
                    ..Default::default()
                }]))
            }
            (AuditSinkKind::Log, _) => Arc::new(LogSink),
            (AuditSinkKind::None, _) => Arc::new(NoneSink),
        };
        let redactor = audit::Redactor::new(&self.config.audit.redact_patterns).map_err(|(i, reason)| {
            Error::configuration_fields(vec![FieldError {
                path: format!("audit.redact_patterns[{i}]"),
                reason,
                ..Default::default()
            }])
        })?;
        let auditor = Auditor::with_redactor(sink, redactor);
        match Registry::build(&self.config, auditor.clone(), self.transport) {
            Ok(reg) => Ok(Iam { reg: Arc::new(reg) }),
            Err(e) => {
                let mut ev = Event::new(audit::names::CONFIG_BOOT_FAILURE, "", "failure");
                ev.attributes
                    .insert("paths".into(), e.fields().iter().map(|f| f.path.clone()).collect::<Vec<_>>().into());
                auditor.emit(ev);
                Err(e)
            }
        }
    }
}

/// One probe of `iam.health()`: tenant and product only — no URLs, no tokens.
#[derive(Clone, Debug, serde::Serialize, PartialEq)]
pub struct HealthProbe {
    pub tenant: String,
    pub product: String,
    pub healthy: bool,
    pub status: Option<u16>,
    /// `timeout`, `connection_failed`, `status` … when unhealthy.
    pub reason: Option<String>,
    /// The host's circuit breaker: `closed`, `open` or `half_open`.
    pub breaker: String,
}

#[derive(Clone, Debug, serde::Serialize, PartialEq)]
pub struct Health {
    pub healthy: bool,
    pub probes: Vec<HealthProbe>,
    /// Servers whose major version ory-iam is not tested against (tenant, product, version);
    /// credentials configured to travel over plain `http://` to a host that is not loopback
    /// (the config keys, never the values); and caches configured to honour a change made
    /// elsewhere late by more than [`STALENESS_WARN_MS`].
    pub warnings: Vec<String>,
    /// How late, at most, each enabled cache of each tenant sees a change made outside this
    /// process (another service, the Ory console, another instance without a shared Redis).
    /// Changes made through this `Iam` are seen at once.
    pub staleness: Vec<Staleness>,
}

impl Health {
    /// What a readiness route answers for this report: see [`answer::health_answer`].
    pub fn answer(&self) -> (u16, serde_json::Value) {
        answer::health_answer(
            self.healthy,
            self.probes.iter().map(|p| (p.tenant.as_str(), p.product.as_str(), p.healthy)),
        )
    }
}

/// One cache's bound on staleness (see `docs/SECURITY.md`, "What stays the operator's job").
#[derive(Clone, Debug, serde::Serialize, PartialEq)]
pub struct Staleness {
    pub tenant: String,
    /// `sessions`, `decisions`, `introspections` or `jwt`.
    pub cache: String,
    /// At most this late; `None` for `jwt`: a locally verified JWT access token stays valid
    /// until its `exp` whatever happens at Hydra (use `hydra.bearer_mode: introspect`).
    pub max_stale_ms: Option<u64>,
    /// The config key that sets the bound.
    pub config_key: String,
}

/// A bound longer than this (5 minutes) is also listed in `Health::warnings`.
pub const STALENESS_WARN_MS: u64 = 300_000;

/// The staleness bounds of every tenant's caches, from config alone.
fn staleness(reg: &tenancy::Registry) -> Vec<Staleness> {
    let mut out = Vec::new();
    for t in reg.tenants.values() {
        let c = &t.config.cache;
        let mut push = |cache: &str, ms: Option<u64>, key: &str| {
            out.push(Staleness {
                tenant: t.name.to_string(),
                cache: cache.into(),
                max_stale_ms: ms,
                config_key: format!("tenants.{}.{key}", t.name),
            })
        };
        if t.sessions.enabled() && c.session_ttl_ms > 0 && t.config.kratos.is_some() {
            push("sessions", Some(c.session_ttl_ms), "cache.session_ttl_ms");
        }
        if c.permission_ttl_ms > 0 && t.config.keto.is_some() {
            push("decisions", Some(c.permission_ttl_ms), "cache.permission_ttl_ms");
        }
        if let Some(h) = &t.config.hydra {
            if c.introspection_ttl_ms > 0 {
                push("introspections", Some(c.introspection_ttl_ms), "cache.introspection_ttl_ms");
            }
            if h.bearer_mode.as_deref().is_none_or(|m| m != "introspect") {
                push("jwt", None, "hydra.bearer_mode");
            }
        }
    }
    out
}

/// Major versions the test suite runs against (and their Ory Network equivalents).
const TESTED_MAJORS: &[(&str, &[u64])] = &[("kratos", &[1, 25, 26]), ("keto", &[0, 25, 26]), ("hydra", &[2, 25, 26])];

fn untested(product: &str, version: &str) -> bool {
    let major = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse::<u64>().ok());
    match (major, TESTED_MAJORS.iter().find(|(p, _)| *p == product)) {
        (Some(m), Some((_, ok))) => !ok.contains(&m),
        // "master" or a custom build: nothing to compare.
        _ => false,
    }
}

impl Iam {
    pub fn builder(config: IamConfig) -> IamBuilder {
        IamBuilder { config, sink: None, transport: None }
    }

    /// Validate the config (every problem at once) and build clients for every tenant.
    pub fn from_config(config: IamConfig) -> Result<Iam> {
        Self::builder(config).build()
    }

    pub fn from_value(value: &serde_json::Value) -> Result<Iam> {
        Self::from_config(IamConfig::from_value(value)?)
    }

    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Iam> {
        Self::from_config(IamConfig::from_file(path)?)
    }

    pub fn from_env() -> Result<Iam> {
        Self::from_config(IamConfig::from_env()?)
    }

    /// Configured tenant names, sorted.
    pub fn tenants(&self) -> Vec<String> {
        self.reg.tenants.keys().cloned().collect()
    }

    pub fn default_tenant(&self) -> &str {
        &self.reg.default.name
    }

    /// Record that a framework adapter refused a request for want of a role: `authz.role.deny`
    /// (`denied`) through the tenant's audit sink (`None`: the default tenant), redacted like
    /// every event. `actor` is the caller (identity id or OAuth2 client id), `required` the roles
    /// the route asked for, `route` the handler (e.g. `GET /staff`), `request_id` the request's
    /// correlation id. The adapters call this; the roles decision itself is theirs
    /// ([`answer::roles_of_identity`]). Unknown tenants are a configuration error.
    pub fn audit_role_denial(
        &self,
        tenant: Option<&str>,
        actor: Option<&str>,
        required: &[String],
        route: Option<&str>,
        request_id: Option<&str>,
    ) -> Result<()> {
        let t = match tenant {
            Some(name) => self.reg.get(name)?,
            None => self.reg.default.clone(),
        };
        let mut ev = Event::new(audit::names::AUTHZ_ROLE_DENY, &t.name, "denied")
            .request_id(request_id.filter(|s| !s.is_empty()).map(str::to_owned))
            .attr("roles", required.to_vec());
        ev.actor = actor.filter(|s| !s.is_empty()).map(str::to_owned);
        if let Some(r) = route.filter(|s| !s.is_empty()) {
            ev = ev.attr("route", r);
        }
        t.emit(ev);
        Ok(())
    }

    /// The `transport` a tenant is configured with (`None`: the default tenant): where its
    /// session credentials are looked for, and so which challenge its 401s carry
    /// ([`answer::http_answer`]). Unknown names are a configuration error.
    pub fn transport_of(&self, tenant: Option<&str>) -> Result<Transport> {
        let t = match tenant {
            Some(name) => self.reg.get(name)?,
            None => self.reg.default.clone(),
        };
        Ok(t.config_transport())
    }

    pub fn identity(&self) -> IdentityService {
        IdentityService::new(self.reg.clone())
    }

    pub fn token(&self) -> TokenService {
        TokenService::new(self.reg.clone())
    }

    pub fn oauth2_client(&self) -> OAuth2ClientService {
        OAuth2ClientService::new(self.reg.clone())
    }

    pub fn consent(&self) -> ConsentService {
        ConsentService::new(self.reg.clone())
    }

    pub fn jwk(&self) -> JwkService {
        JwkService::new(self.reg.clone())
    }

    pub fn trusted_issuer(&self) -> TrustedIssuerService {
        TrustedIssuerService::new(self.reg.clone())
    }

    pub fn permission(&self) -> PermissionService {
        PermissionService::new(self.reg.clone())
    }

    pub fn project_admin(&self) -> ProjectAdminService {
        ProjectAdminService::new(self.reg.clone())
    }

    pub fn workspace_admin(&self) -> WorkspaceAdminService {
        WorkspaceAdminService::new(self.reg.clone())
    }

    pub fn events(&self) -> EventsService {
        EventsService::new(self.reg.clone())
    }

    pub fn schema(&self) -> SchemaService {
        SchemaService::new(self.reg.clone())
    }

    pub fn courier(&self) -> CourierService {
        CourierService::new(self.reg.clone())
    }

    pub fn flow(&self) -> FlowService {
        FlowService::new(self.reg.clone())
    }

    pub fn session(&self) -> SessionService {
        SessionService::new(self.reg.clone())
    }

    pub fn metadata(&self) -> MetadataService {
        MetadataService::new(self.reg.clone())
    }

    /// Probe every configured tenant × product readiness endpoint concurrently.
    ///
    /// Self-hosted: each server's `/health/ready`. On Ory Network (`mode: cloud`), which
    /// documents no health operation, one operation of the Network API document per API
    /// surface: Kratos public `GET /schemas` and Hydra public
    /// `GET /.well-known/openid-configuration` (no key), Kratos admin `GET /version`, Keto
    /// `GET /namespaces` and Hydra admin `GET /admin/clients?page_size=1` (with the project API
    /// key, so a rejected key shows as an unhealthy probe with status 401). Keto's write API has
    /// no read-only operation to probe; it is the same host as Keto's read API.
    pub async fn health(&self) -> Health {
        let timeout = Duration::from_millis(1_500);
        let mut probes = Vec::new();
        type Target<'a> = (Option<&'a http::OryClient>, &'static str, &'static [(&'static str, &'static str)]);
        for t in self.reg.tenants.values() {
            let targets: Vec<Target<'_>> = if t.config.mode == config::Mode::Cloud {
                vec![
                    (t.kratos_public.as_ref(), "schemas", &[]),
                    (t.kratos_admin.as_ref(), "version", &[]),
                    (t.keto_read.as_ref(), "namespaces", &[]),
                    (t.hydra_public.as_ref(), ".well-known/openid-configuration", &[]),
                    (t.hydra_admin.as_ref(), "admin/clients", &[("page_size", "1")]),
                ]
            } else {
                vec![
                    (t.kratos_public.as_ref(), "health/ready", &[]),
                    (t.kratos_admin.as_ref(), "admin/health/ready", &[]),
                    (t.keto_read.as_ref(), "health/ready", &[]),
                    (t.keto_write.as_ref(), "health/ready", &[]),
                    (t.hydra_public.as_ref(), "health/ready", &[]),
                    (t.hydra_admin.as_ref(), "health/ready", &[]),
                ]
            };
            for (c, path, query) in targets {
                if let Some(c) = c.cloned() {
                    let t = t.clone();
                    probes.push(async move {
                        let res = c.probe(path, query, timeout).await;
                        let p = HealthProbe {
                            tenant: t.name.to_string(),
                            product: c.product().as_str().to_owned(),
                            healthy: matches!(res, Ok(200)),
                            status: res.ok(),
                            reason: match res {
                                Ok(200) => None,
                                Ok(_) => Some("status".to_owned()),
                                Err(w) => Some(w.to_owned()),
                            },
                            breaker: c.breaker_state().to_owned(),
                        };
                        if !p.healthy {
                            t.emit(
                                Event::new(audit::names::HEALTH_PROBE_FAILURE, &t.name, "failure")
                                    .attr("product", p.product.clone())
                                    .attr("reason", p.reason.clone().unwrap_or_default()),
                            );
                        }
                        p
                    });
                }
            }
        }
        let versions = self.reg.tenants.values().map(|t| {
            let m = MetadataService { reg: self.reg.clone(), t: t.clone() };
            async move { (t.name.to_string(), tokio::time::timeout(timeout, m.version_for_health()).await) }
        });
        // Hydra's discovery document names the issuer its tokens carry: one that differs from
        // the configured `hydra.issuer` (default `hydra.public_url`) makes every JWT fail the
        // issuer check, so it is a warning here.
        let issuers =
            self.reg.tenants.values().filter(|t| t.config.hydra.is_some() && t.hydra_public.is_some()).map(|t| {
                let svc = TokenService { reg: self.reg.clone(), t: t.clone() };
                async move { (t.name.to_string(), tokio::time::timeout(timeout, svc.check_issuer()).await) }
            });
        let ((probes, versions), issuers) = futures::future::join(
            futures::future::join(futures::future::join_all(probes), futures::future::join_all(versions)),
            futures::future::join_all(issuers),
        )
        .await;
        let mut warnings = Vec::new();
        for (tenant, v) in versions {
            let Ok(Ok(v)) = v else { continue };
            for (product, ver) in [("kratos", v.kratos), ("keto", v.keto), ("hydra", v.hydra)] {
                if let Some(ver) = ver.filter(|ver| untested(product, ver)) {
                    tracing::warn!(target: "ory_iam::health", tenant = %tenant, product, version = %ver, "server major version is not one ory-iam is tested against");
                    warnings.push(format!("{product} {ver} (tenant {tenant}): major version not tested by ory-iam"));
                }
            }
        }
        for (tenant, r) in issuers {
            if let Ok(Ok(Some((configured, found)))) = r {
                tracing::warn!(target: "ory_iam::health", tenant = %tenant, configured = %configured, discovered = %found, "hydra issuer mismatch");
                warnings.push(format!(
                    "tenants.{tenant}.hydra.issuer is {configured} but Hydra's discovery document names {found}: JWT access tokens will be refused (set hydra.issuer)"
                ));
            }
        }
        for t in self.reg.tenants.values() {
            for (key, url_key) in t.plaintext_credentials.iter() {
                let name = &t.name;
                warnings.push(format!(
                    "tenants.{name}.{key} is sent over plain http:// to a host that is not loopback (tenants.{name}.{url_key}); use https"
                ));
            }
        }
        let staleness = staleness(&self.reg);
        for s in &staleness {
            if let Some(ms) = s.max_stale_ms.filter(|ms| *ms > STALENESS_WARN_MS) {
                warnings.push(format!(
                    "{} (tenant {}): changes made outside this process are seen up to {} s late ({})",
                    s.cache,
                    s.tenant,
                    ms / 1000,
                    s.config_key
                ));
            }
        }
        Health { healthy: probes.iter().all(|p| p.healthy), probes, warnings, staleness }
    }

    /// Shut down, for every clone and every service handle of this `Iam`: each tenant's
    /// connection pool is emptied (requests already under way finish, then their connections
    /// close), the Redis connection of the session cache is dropped and the in-memory session
    /// cache cleared. Every call afterwards fails with `IamConfigurationError`, cached answers
    /// included; `health()` reports every probe failed with `closed`. Audit events reach their
    /// sink as they happen, so none is held back to flush. Idempotent.
    pub async fn close(&self) {
        for t in self.reg.tenants.values() {
            t.pool.close();
        }
        self.reg.default.sessions.close().await;
        tracing::debug!(target: "ory_iam", "closed");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_check() {
        assert!(!super::untested("kratos", "v1.3.1"));
        assert!(!super::untested("kratos", "v26.2.0"));
        assert!(super::untested("kratos", "v2.0.0"));
        assert!(!super::untested("keto", "v0.13.0-alpha.0"));
        assert!(!super::untested("keto", "v0.14.0"));
        assert!(super::untested("hydra", "v1.11.0"));
        assert!(!super::untested("hydra", "master"));
    }
}

//! The tenant registry: one `TenantContext` (clients, config, audit) per configured tenant,
//! built once. Service handles hold an `Arc` to their tenant, so `for_tenant` is a map lookup.

use crate::audit::{AuditEvent, Auditor};
use crate::cache::SessionStore;
use crate::config::{IamConfig, TenantConfig, Transport};
use crate::error::{Error, Result};
use crate::http::transport::Reqwest;
use crate::http::{closed_error, Breakers, ClientSpec, HttpPool, HttpTransport, OryClient, Product};
use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Everything one tenant needs at call time. Cloning shares every cache and pool (a traced
/// handle is a clone whose clients carry an `OpContext`).
#[derive(Clone)]
pub(crate) struct TenantContext {
    pub name: Arc<str>,
    pub config: Arc<TenantConfig>,
    /// What each service keeps for this tenant (Keto decisions, Hydra token caches and JWKS,
    /// …), owned and typed by the service module: tenancy does not know the types.
    state: Arc<ServiceState>,
    /// Shared by all tenants; keys include the tenant.
    pub sessions: Arc<SessionStore>,
    cookie_name: String,
    /// Set when the transport is `oathkeeper`.
    pub oathkeeper: Option<Arc<crate::transport::oathkeeper::Verifier>>,
    pub kratos_public: Option<OryClient>,
    pub kratos_admin: Option<OryClient>,
    pub keto_read: Option<OryClient>,
    pub keto_write: Option<OryClient>,
    pub keto_opl: Option<OryClient>,
    pub hydra_public: Option<OryClient>,
    pub hydra_admin: Option<OryClient>,
    /// Oathkeeper's published keys (`oathkeeper.jwks.url`, `jwt` verifier).
    pub oathkeeper_jwks: Option<OryClient>,
    /// The Ory Network console, when a workspace API key is configured.
    pub console: Option<OryClient>,
    /// The tenant's connection pool (every client above shares it), emptied by `Iam::close`.
    pub pool: Arc<HttpPool>,
    pub audit: Auditor,
    /// Set on the context of a `traced` handle.
    pub op: Option<Arc<crate::telemetry::OpContext>>,
    /// Set on the context of a handle narrowed to one credential (`SessionService::with_transport`).
    pub narrowed: Option<Transport>,
    /// Credentials configured for plain `http://` to a host that is not loopback (config keys,
    /// see [`TenantConfig::plaintext_credentials`]); empty for an in-memory backend, which sends
    /// nothing anywhere.
    pub plaintext_credentials: Arc<[(&'static str, &'static str)]>,
}

impl TenantContext {
    fn build(
        name: &str,
        cfg: &TenantConfig,
        audit: Auditor,
        sessions: Arc<SessionStore>,
        breakers: &Breakers,
        transport: Option<Arc<dyn HttpTransport>>,
        shared_envelopes: bool,
    ) -> Result<Self> {
        let name: Arc<str> = Arc::from(name);
        let in_memory = transport.as_ref().is_some_and(|t| t.in_memory());
        let plaintext: Arc<[_]> = if in_memory { Arc::new([]) } else { cfg.plaintext_credentials().into() };
        for (key, url_key) in plaintext.iter() {
            tracing::warn!(target: "ory_iam::config", tenant = %name, key = %format!("tenants.{name}.{key}"), url_key = %format!("tenants.{name}.{url_key}"), "credential would be sent over plain http:// to a host that is not loopback; use https");
        }
        // One connection pool per tenant, shared by its products.
        let pool = HttpPool::new(&name, &cfg.http)?;
        let transport = transport.unwrap_or_else(|| Arc::new(Reqwest(pool.clone())));
        let client = |base: &str, token, product| {
            OryClient::new(ClientSpec {
                transport: transport.clone(),
                pool: pool.clone(),
                base,
                token,
                cfg: &cfg.http,
                tenant: name.clone(),
                product,
                breakers,
            })
        };
        let kratos = cfg.effective_kratos();
        let keto = cfg.effective_keto();
        let hydra = cfg.effective_hydra();
        Ok(TenantContext {
            kratos_public: kratos.as_ref().map(|k| client(&k.public_url, None, Product::KratosPublic)).transpose()?,
            kratos_admin: kratos
                .as_ref()
                .and_then(|k| k.admin_url.as_ref().map(|u| client(u, k.admin_token.clone(), Product::KratosAdmin)))
                .transpose()?,
            keto_read: keto.as_ref().map(|k| client(&k.read_url, k.api_key.clone(), Product::KetoRead)).transpose()?,
            keto_write: keto
                .as_ref()
                .map(|k| client(&k.write_url, k.api_key.clone(), Product::KetoWrite))
                .transpose()?,
            keto_opl: keto
                .as_ref()
                .and_then(|k| k.opl_url.as_ref().map(|u| client(u, k.api_key.clone(), Product::KetoOpl)))
                .transpose()?,
            hydra_public: hydra.as_ref().map(|h| client(&h.public_url, None, Product::HydraPublic)).transpose()?,
            hydra_admin: hydra
                .as_ref()
                .map(|h| client(&h.admin_url, h.admin_token.clone(), Product::HydraAdmin))
                .transpose()?,
            oathkeeper_jwks: cfg
                .oathkeeper
                .as_ref()
                .filter(|o| cfg.transport == Transport::Oathkeeper && o.is_jwt())
                .and_then(|o| o.jwks.as_ref()?.split_url())
                .map(|(folder, _)| client(&folder, None, Product::OathkeeperJwks))
                .transpose()?,
            console: cfg
                .console
                .as_ref()
                .and_then(|c| {
                    let key = c.workspace_api_key.clone()?;
                    Some(client(
                        c.url.as_deref().unwrap_or(crate::config::DEFAULT_CONSOLE_URL),
                        Some(key),
                        Product::Console,
                    ))
                })
                .transpose()?,
            cookie_name: kratos.as_ref().map(|k| k.session_cookie_name().to_owned()).unwrap_or_default(),
            oathkeeper: cfg.oathkeeper.as_ref().filter(|_| cfg.transport == Transport::Oathkeeper).map(|o| {
                let mut v = crate::transport::oathkeeper::Verifier::new(o, shared_envelopes);
                // Replays are checked across every process sharing the Redis cache.
                v.shared_replay = sessions.shared();
                Arc::new(v)
            }),
            state: Default::default(),
            config: Arc::new(cfg.clone()),
            pool,
            sessions,
            name,
            audit,
            op: None,
            narrowed: None,
            plaintext_credentials: plaintext,
        })
    }

    /// A copy sharing every cache and pool whose clients send `op`'s trace context and request
    /// id, and fill its report.
    pub(crate) fn traced(&self, op: Arc<crate::telemetry::OpContext>) -> TenantContext {
        let with = |c: &Option<OryClient>| c.as_ref().map(|c| c.with_op(op.clone()));
        TenantContext {
            kratos_public: with(&self.kratos_public),
            kratos_admin: with(&self.kratos_admin),
            keto_read: with(&self.keto_read),
            keto_write: with(&self.keto_write),
            keto_opl: with(&self.keto_opl),
            hydra_public: with(&self.hydra_public),
            hydra_admin: with(&self.hydra_admin),
            oathkeeper_jwks: with(&self.oathkeeper_jwks),
            console: with(&self.console),
            op: Some(op.clone()),
            ..self.clone()
        }
    }

    pub(crate) fn missing(&self, key: &str, op: &str) -> Error {
        Error::configuration(format!("tenants.{}.{key} is not configured; {op} needs it", self.name))
            .with_tenant(&*self.name)
    }

    /// `Err` once the `Iam` was closed. Checked where a call can be answered without a request
    /// (caches, Oathkeeper envelopes), so a closed `Iam` refuses every call alike; requests are
    /// refused by the pool.
    pub fn ensure_open(&self) -> Result<()> {
        if !self.pool.is_open() {
            Err(closed_error(&self.name))
        } else {
            Ok(())
        }
    }

    pub fn kratos_admin(&self, op: &str) -> Result<&OryClient> {
        self.kratos_admin.as_ref().ok_or_else(|| self.missing("kratos.admin_url", op))
    }

    pub fn kratos_public(&self, op: &str) -> Result<&OryClient> {
        self.kratos_public.as_ref().ok_or_else(|| self.missing("kratos.public_url", op))
    }

    /// The transport `whoami` reads credentials with: the tenant's, or a narrower one a handle
    /// asked for.
    pub fn config_transport(&self) -> Transport {
        self.narrowed.unwrap_or(self.config.transport)
    }

    pub fn session_cookie_name(&self) -> &str {
        &self.cookie_name
    }

    pub fn emit(&self, event: AuditEvent) {
        self.audit.emit(event)
    }

    /// [`emit`](Self::emit) the event `make` builds, building it only when a sink takes it (for
    /// the events of every `whoami`).
    pub fn emit_with(&self, make: impl FnOnce() -> AuditEvent) {
        if self.audit.enabled() {
            self.audit.emit(make())
        }
    }

    /// The service state of type `T` for this tenant, made on first use. Shared by every handle
    /// and traced copy of the tenant.
    pub fn state<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        self.state.get_or(|| T::default())
    }

    /// [`state`](Self::state) for a type made from the tenant's configuration.
    pub fn state_with<T: Any + Send + Sync>(&self, init: impl FnOnce(&TenantConfig) -> T) -> Arc<T> {
        self.state.get_or(|| init(&self.config))
    }
}

/// Per-tenant state of the services, by type.
#[derive(Default)]
pub(crate) struct ServiceState(std::sync::RwLock<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl ServiceState {
    fn get_or<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        let id = TypeId::of::<T>();
        if let Some(v) = self.0.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
            if let Ok(t) = v.clone().downcast::<T>() {
                return t;
            }
        }
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        let v = map.entry(id).or_insert_with(|| Arc::new(init())).clone();
        v.downcast::<T>().unwrap_or_else(|_| unreachable!("the entry of a type is of that type"))
    }
}

pub(crate) struct Registry {
    pub tenants: BTreeMap<String, Arc<TenantContext>>,
    pub default: Arc<TenantContext>,
}

impl Registry {
    pub fn build(cfg: &IamConfig, audit: Auditor, transport: Option<Arc<dyn HttpTransport>>) -> Result<Registry> {
        cfg.validate()?;
        let sessions = Arc::new(SessionStore::new(&cfg.session_cache)?);
        let breakers = Breakers::default();
        let mut tenants = BTreeMap::new();
        // With more than one Oathkeeper tenant, every envelope must name its tenant.
        let shared_envelopes = cfg.tenants.values().filter(|t| t.transport == Transport::Oathkeeper).count() > 1;
        for (name, t) in &cfg.tenants {
            tenants.insert(
                name.clone(),
                Arc::new(TenantContext::build(
                    name,
                    t,
                    audit.clone(),
                    sessions.clone(),
                    &breakers,
                    transport.clone(),
                    shared_envelopes,
                )?),
            );
        }
        let default_name = match &cfg.default_tenant {
            Some(d) => d.clone(),
            // validate() guarantees exactly one tenant here.
            None => cfg.tenants.keys().next().cloned().unwrap_or_default(),
        };
        let default = tenants
            .get(&default_name)
            .cloned()
            .ok_or_else(|| Error::configuration("default_tenant names no configured tenant"))?;
        Ok(Registry { tenants, default })
    }

    pub fn get(&self, name: &str) -> Result<Arc<TenantContext>> {
        self.tenants.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.tenants.keys().map(String::as_str).collect();
            Error::configuration(format!("unknown tenant {name:?}; configured tenants: {}", known.join(", ")))
        })
    }
}

/// Shared shape of every service handle: a registry and the tenant it is bound to.
macro_rules! service_handle {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone)]
        pub struct $name {
            pub(crate) reg: std::sync::Arc<crate::tenancy::Registry>,
            pub(crate) t: std::sync::Arc<crate::tenancy::TenantContext>,
        }

        impl $name {
            pub(crate) fn new(reg: std::sync::Arc<crate::tenancy::Registry>) -> Self {
                let t = reg.default.clone();
                $name { reg, t }
            }

            /// The same service bound to another tenant. Unknown names fail here, not later.
            pub fn for_tenant(&self, name: &str) -> crate::error::Result<Self> {
                Ok($name { reg: self.reg.clone(), t: self.reg.get(name)? })
            }

            /// The tenant this handle is bound to.
            pub fn tenant(&self) -> &str {
                &self.t.name
            }

            /// A handle for one traced call: its Ory requests carry `traceparent` (a W3C
            /// `00-…` value; an invalid one is ignored, as propagators do) and what they did is
            /// readable afterwards with [`op_report`](Self::op_report). Used by the OpenTelemetry
            /// adapters of the bindings; caches and pools are shared with `self`.
            pub fn traced(&self, traceparent: Option<&str>) -> Self {
                let op = crate::telemetry::OpContext::traced_from(self.t.op.as_deref(), traceparent);
                $name { reg: self.reg.clone(), t: std::sync::Arc::new(self.t.traced(op)) }
            }

            /// A handle whose Ory requests carry `X-Request-Id: request_id` (the application
            /// request being served; see [`request_id_for`](crate::telemetry::request_id_for)),
            /// keeping this handle's trace context. An invalid id (empty, over 200 characters,
            /// not visible ASCII) is ignored. Caches and pools are shared with `self`.
            pub fn correlated(&self, request_id: &str) -> Self {
                let op = crate::telemetry::OpContext::correlated_from(self.t.op.as_deref(), request_id);
                $name { reg: self.reg.clone(), t: std::sync::Arc::new(self.t.traced(op)) }
            }

            /// What the calls made through a `traced` handle did; `None` on an untraced handle.
            pub fn op_report(&self) -> Option<crate::telemetry::OpReport> {
                self.t.op.as_ref().filter(|o| o.traced).map(|o| o.report())
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                std::sync::Arc::ptr_eq(&self.reg, &other.reg) && self.t.name == other.t.name
            }
        }

        impl Eq for $name {}

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("tenant", &&*self.t.name).finish()
            }
        }
    };
}
pub(crate) use service_handle;

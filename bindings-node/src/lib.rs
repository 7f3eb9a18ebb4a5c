//! Node binding of ory-iam: thin napi classes over the Rust core. Each method clones a handle,
//! converts arguments, awaits the core and converts the result — no business rules here.

// `#[napi]` items are not compiled into test builds, which leaves their helpers unused there.
#[cfg_attr(test, allow(dead_code))]
mod answer;
mod config;
mod dto;
mod errors;
mod flow;
mod handle;
mod hydra;
mod identity;
mod kratos_misc;
#[cfg_attr(test, allow(dead_code))] // (as `answer`)
mod logging;
mod metadata;
mod network;
mod pager;
mod permission;
mod runtime;
mod secret;
mod session;
mod testing;

use errors::IntoNapi;
use flow::FlowService;
use hydra::{ConsentService, JwkService, OAuth2ClientService, TokenService, TrustedIssuerService};
use identity::IdentityService;
use kratos_misc::{CourierService, SchemaService};
use metadata::MetadataService;
use napi_derive::napi;
use network::{EventsService, ProjectAdminService, WorkspaceAdminService};
use permission::PermissionService;
use serde_json::Value;
use session::SessionService;

/// What `Iam.auditRoleDenial` records.
#[napi(object)]
pub struct RoleDenial {
    /// The caller: identity id or OAuth2 client id.
    pub actor: Option<String>,
    /// The roles the route asked for.
    pub required_roles: Vec<String>,
    /// The handler, e.g. `GET /staff`.
    pub route: Option<String>,
    pub request_id: Option<String>,
}

/// The entry point. Build once per process and share; services are cheap handles.
#[napi]
pub struct Iam(ory_iam::Iam);

#[napi]
impl Iam {
    /// From an object of the API.md config shape (camelCase or snake_case keys). With
    /// `audit: { sink: 'callback' }`, pass `onAudit` to receive the (redacted) audit events.
    #[napi(factory, ts_args_type = "config: Record<string, unknown>, onAudit?: (event: AuditEvent) => void")]
    pub fn from_config(config: Value, on_audit: Option<logging::AuditCallback>) -> napi::Result<Iam> {
        errors::catch(|| {
            let cfg = config::config_from_js(config).napi()?;
            let mut b = ory_iam::Iam::builder(cfg);
            if let Some(cb) = on_audit {
                b = b.audit_sink(std::sync::Arc::new(logging::JsAuditSink(cb)));
            }
            b.build().napi().map(Iam)
        })
    }

    /// From a YAML or JSON file.
    #[napi(factory)]
    pub fn from_file(path: String) -> napi::Result<Iam> {
        errors::catch(|| ory_iam::Iam::from_file(path).napi().map(Iam))
    }

    /// From `ORY_IAM_CONFIG_FILE` and/or `ORY_IAM__<PATH>` environment variables.
    #[napi(factory)]
    pub fn from_env() -> napi::Result<Iam> {
        errors::catch(|| ory_iam::Iam::from_env().napi().map(Iam))
    }

    #[napi(getter)]
    pub fn identity(&self) -> IdentityService {
        IdentityService(self.0.identity())
    }

    #[napi(getter)]
    pub fn project_admin(&self) -> ProjectAdminService {
        ProjectAdminService(self.0.project_admin())
    }

    #[napi(getter)]
    pub fn workspace_admin(&self) -> WorkspaceAdminService {
        WorkspaceAdminService(self.0.workspace_admin())
    }

    #[napi(getter)]
    pub fn events(&self) -> EventsService {
        EventsService(self.0.events())
    }

    #[napi(getter)]
    pub fn token(&self) -> TokenService {
        TokenService(self.0.token())
    }

    #[napi(getter)]
    pub fn oauth2_client(&self) -> OAuth2ClientService {
        OAuth2ClientService(self.0.oauth2_client())
    }

    #[napi(getter)]
    pub fn consent(&self) -> ConsentService {
        ConsentService(self.0.consent())
    }

    #[napi(getter)]
    pub fn jwk(&self) -> JwkService {
        JwkService(self.0.jwk())
    }

    #[napi(getter)]
    pub fn trusted_issuer(&self) -> TrustedIssuerService {
        TrustedIssuerService(self.0.trusted_issuer())
    }

    #[napi(getter)]
    pub fn permission(&self) -> PermissionService {
        PermissionService(self.0.permission())
    }

    #[napi(getter)]
    pub fn schema(&self) -> SchemaService {
        SchemaService(self.0.schema())
    }

    #[napi(getter)]
    pub fn courier(&self) -> CourierService {
        CourierService(self.0.courier())
    }

    #[napi(getter)]
    pub fn flow(&self) -> FlowService {
        FlowService(self.0.flow())
    }

    #[napi(getter)]
    pub fn session(&self) -> SessionService {
        SessionService(self.0.session())
    }

    #[napi(getter)]
    pub fn metadata(&self) -> MetadataService {
        MetadataService(self.0.metadata())
    }

    #[napi(getter)]
    pub fn tenants(&self) -> Vec<String> {
        self.0.tenants()
    }

    #[napi(getter)]
    pub fn default_tenant(&self) -> String {
        self.0.default_tenant().to_owned()
    }

    /// Audit a framework adapter's role refusal: `authz.role.deny` (`denied`) through the
    /// tenant's sink (default: the default tenant); unknown tenants throw
    /// `IamConfigurationError`. The guards of `ory-iam/express` and `ory-iam/nestjs` call it.
    #[napi]
    pub fn audit_role_denial(&self, tenant: Option<String>, denial: RoleDenial) -> napi::Result<()> {
        errors::catch(|| {
            self.0
                .audit_role_denial(
                    tenant.as_deref(),
                    denial.actor.as_deref(),
                    &denial.required_roles,
                    denial.route.as_deref(),
                    denial.request_id.as_deref(),
                )
                .napi()
        })
    }

    /// The `transport` a tenant is configured with (default: the default tenant's); unknown
    /// names throw `IamConfigurationError`.
    #[napi(ts_return_type = "'cookie' | 'bearer' | 'cookie-or-bearer' | 'oathkeeper'")]
    pub fn transport_of(&self, tenant: Option<String>) -> napi::Result<String> {
        errors::catch(|| self.0.transport_of(tenant.as_deref()).napi().map(|t| t.as_str().to_owned()))
    }

    /// Probe every tenant × product readiness endpoint (names only, no URLs).
    #[napi]
    pub async fn health(&self) -> napi::Result<dto::Health> {
        Ok(self.0.health().await.into())
    }

    /// Shut down this Iam (every handle and copy): connection pools emptied (calls under way
    /// finish first), the session cache's Redis connection dropped, its memory entries cleared.
    /// Every later call throws `IamConfigurationError`, cached answers included. Idempotent.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        self.0.close().await;
        Ok(())
    }
}

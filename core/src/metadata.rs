//! `MetadataService`: server versions (and, later, JWKS discovery).

use crate::config::Mode;
use crate::dto::{ServerVersions, UnknownVersion};
use crate::error::Result;
use crate::http::{Call, OryClient};
use crate::kratos::wire::Version;
use crate::tenancy::service_handle;

service_handle!(
    /// Diagnostics about the Ory servers of one tenant.
    MetadataService
);

async fn version_of(c: Option<&OryClient>, path: &str, breaker_neutral: bool) -> Result<Option<String>> {
    let Some(c) = c else { return Ok(None) };
    let mut call = Call::get(path);
    call.breaker_neutral = breaker_neutral;
    let r = c.send(call).await?;
    Ok(Some(c.decode::<Version>(&r)?.version))
}

impl MetadataService {
    /// Hydra's published signing keys (`/.well-known/jwks.json`): public keys only.
    pub async fn discover_jwks(&self) -> Result<crate::dto::JsonWebKeySet> {
        let c =
            self.t.hydra_public.as_ref().ok_or_else(|| self.t.missing("hydra.public_url", "metadata.discover_jwks"))?;
        let r = c.send(Call::get(".well-known/jwks.json")).await?;
        let v: serde_json::Value = c.decode(&r)?;
        let keys = v.get("keys").and_then(|k| k.as_array()).cloned().unwrap_or_default();
        Ok(crate::dto::JsonWebKeySet { keys })
    }

    /// The version each configured server reports (`/version` endpoints), fetched concurrently.
    ///
    /// On Ory Network (`mode: cloud`) the project host documents one version operation,
    /// `GET /version` (with the project API key), and it reports Kratos's version: `kratos` is
    /// that, `keto` and `hydra` are `None` and listed in `unknown` with the reason.
    pub async fn version(&self) -> Result<ServerVersions> {
        self.versions(false).await
    }

    /// `version()` for `Iam::health()`: leaves the circuit breakers alone, so a health check
    /// polled every second can neither reset a failing host's count nor be its half-open probe.
    pub(crate) async fn version_for_health(&self) -> Result<ServerVersions> {
        self.versions(true).await
    }

    async fn versions(&self, breaker_neutral: bool) -> Result<ServerVersions> {
        let t = &self.t;
        if t.config.mode == Mode::Cloud {
            // Keto's and Hydra's `/version` are not operations of the Network document: on the
            // one project host `/version` is Kratos's, so asking it "for Keto" would report
            // Kratos's version as Keto's.
            let kratos = version_of(t.kratos_admin.as_ref(), "version", breaker_neutral).await?;
            let unknown = [("keto", t.keto_read.is_some()), ("hydra", t.hydra_admin.is_some())]
                .into_iter()
                .filter(|(_, configured)| *configured)
                .map(|(product, _)| UnknownVersion {
                    product: product.to_owned(),
                    reason: UnknownVersion::NOT_PUBLISHED_BY_ORY_NETWORK.to_owned(),
                })
                .collect();
            return Ok(ServerVersions { tenant: t.name.to_string(), kratos, keto: None, hydra: None, unknown });
        }
        let (kratos, keto, hydra) = tokio::try_join!(
            version_of(t.kratos_admin.as_ref(), "admin/version", breaker_neutral),
            version_of(t.keto_read.as_ref(), "version", breaker_neutral),
            version_of(t.hydra_admin.as_ref(), "version", breaker_neutral),
        )?;
        Ok(ServerVersions { tenant: t.name.to_string(), kratos, keto, hydra, unknown: Vec::new() })
    }
}

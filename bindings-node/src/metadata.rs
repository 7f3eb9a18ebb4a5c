use crate::dto::ServerVersions;
use crate::errors::IntoNapi;
use napi_derive::napi;

/// Diagnostics about the Ory servers of one tenant.
#[napi]
#[derive(Clone)]
pub struct MetadataService(pub(crate) ory_iam::MetadataService);
crate::handle::basics!(MetadataService);

#[napi]
impl MetadataService {
    /// Hydra's published (public) signing keys.
    #[napi]
    pub async fn discover_jwks(&self) -> napi::Result<crate::dto::JsonWebKeySet> {
        self.0.discover_jwks().await.napi().map(Into::into)
    }

    /// The version each configured server reports.
    #[napi]
    pub async fn version(&self) -> napi::Result<ServerVersions> {
        self.0.version().await.napi().map(Into::into)
    }
}

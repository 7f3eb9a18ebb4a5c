use serde::Serialize;

/// Versions reported by the servers configured for one tenant (`None`: not configured, or not
/// knowable — then [`unknown`](Self::unknown) says why).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ServerVersions {
    pub tenant: String,
    pub kratos: Option<String>,
    pub keto: Option<String>,
    pub hydra: Option<String>,
    /// Products that are configured but whose version cannot be known, each with the reason.
    /// Empty for self-hosted tenants.
    pub unknown: Vec<UnknownVersion>,
}

/// A configured product whose version `version()` cannot tell.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct UnknownVersion {
    /// `kratos`, `keto` or `hydra`.
    pub product: String,
    /// Stable code: `not_published_by_ory_network` — the Ory Network API document has one
    /// version operation (`GET /version`), Kratos's; Keto's and Hydra's versions are not published.
    pub reason: String,
}

impl UnknownVersion {
    pub const NOT_PUBLISHED_BY_ORY_NETWORK: &'static str = "not_published_by_ory_network";
}

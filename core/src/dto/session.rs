use super::Identity;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A Kratos session, as resolved by `SessionService::whoami` for one tenant.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub tenant: String,
    pub id: String,
    pub active: bool,
    /// RFC 3339.
    pub expires_at: Option<String>,
    pub authenticated_at: Option<String>,
    pub issued_at: Option<String>,
    /// `aal1`, `aal2`, …
    pub authenticator_assurance_level: Option<String>,
    /// The identity with its traits (the caller is that user).
    pub identity: Identity,
    /// Methods used to authenticate (`password`, `code`, …), in order.
    pub authentication_methods: Vec<String>,
    /// Whether this came from the session cache rather than Kratos.
    #[serde(default)]
    pub cache_hit: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .field("active", &self.active)
            .field("expires_at", &self.expires_at)
            .field("aal", &self.authenticator_assurance_level)
            .field("identity", &self.identity)
            .field("cache_hit", &self.cache_hit)
            .finish()
    }
}

/// Options of `IdentityService::list_sessions`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSessions {
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
    /// Only active (true) or only inactive (false) sessions.
    #[serde(default)]
    pub active: Option<bool>,
}

/// Options of `SessionService::list_mine`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListMySessions {
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
}

use serde::Serialize;

/// Versions reported by the servers configured for one tenant (`None`: not configured).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ServerVersions {
    pub tenant: String,
    pub kratos: Option<String>,
    pub keto: Option<String>,
    pub hydra: Option<String>,
}

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An Ory Network project (configuration in `services`, as the console returns it).
#[derive(Clone, Debug, Serialize, PartialEq)]
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
    /// The project's hosts (`{slug}.projects.oryapis.com` and custom domains), from the
    /// project metadata; filled by `get`.
    pub hosts: Vec<String>,
}

/// A project as listed: its hosts (`{slug}.projects.oryapis.com` and custom domains).
#[derive(Clone, Debug, Serialize, PartialEq)]
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

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Workspace {
    pub tenant: String,
    pub id: String,
    pub name: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// A project or workspace API key. `value` is set only by `create_api_key` (shown once).
#[derive(Clone, Debug, Serialize)]
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

/// An event stream of a project (`sns` or `https`).
#[derive(Clone, Debug, Serialize, PartialEq)]
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

/// Input of `ProjectAdminService::create`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub name: String,
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// `prod`, `stage` or `dev` (default `prod`).
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub home_region: Option<String>,
}

/// Input of `create_api_key`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
    /// RFC 3339.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// Input of `EventsService::create` / `set`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventStreamInput {
    /// `sns` or `https` (required on create).
    #[serde(default, rename = "type")]
    pub stream_type: Option<String>,
    #[serde(default)]
    pub topic_arn: Option<String>,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub https_endpoint: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// Options of `WorkspaceAdminService::list`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListWorkspaces {
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
}

/// The name argument of `WorkspaceAdminService::create` / `update` as the bindings take it:
/// the name, or `{name}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum WorkspaceName {
    Name(String),
    Input(WorkspaceInput),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceInput {
    pub name: String,
}

impl WorkspaceName {
    pub fn name(self) -> String {
        match self {
            WorkspaceName::Name(n) | WorkspaceName::Input(WorkspaceInput { name: n }) => n,
        }
    }
}

//! Ory Network control plane: projects, workspaces, event streams.

use crate::dto::{ApiKey, EventStream, Project, ProjectMetadata, Workspace, WorkspacePage};
use crate::errors::IntoNapi;
use crate::pager::WorkspacePager;
use napi_derive::napi;
use ory_iam::dto::{CreateApiKey, CreateProject, EventStreamInput, ListWorkspaces, WorkspaceName};
use serde_json::Value;

/// Ory Network projects (needs `mode: 'cloud'` and `console.workspaceApiKey`).
#[napi]
#[derive(Clone)]
pub struct ProjectAdminService(pub(crate) ory_iam::ProjectAdminService);
crate::handle::basics!(ProjectAdminService);

#[napi]
impl ProjectAdminService {
    /// `{name, workspaceId?, environment? (prod|stage|dev), homeRegion?}`.
    #[napi(ts_args_type = "project: CreateProjectInput")]
    pub async fn create(&self, project: Value) -> napi::Result<Project> {
        self.0.create(crate::handle::input::<CreateProject>(Some(project), "project")?).await.napi().map(Into::into)
    }
    #[napi]
    pub async fn list(&self) -> napi::Result<Vec<ProjectMetadata>> {
        Ok(self.0.list().await.napi()?.into_iter().map(Into::into).collect())
    }
    #[napi]
    pub async fn get(&self, id: String) -> napi::Result<Project> {
        self.0.get(&id).await.napi().map(Into::into)
    }
    /// Replace `name`, `services`, `cors_admin`, `cors_public`, `organizations` (Ory's fields).
    #[napi(ts_args_type = "id: string, project: Record<string, unknown>")]
    pub async fn set(&self, id: String, project: Value) -> napi::Result<Project> {
        self.0.set(&id, project).await.napi().map(Into::into)
    }
    /// Delete the project for good (audited `project.purge`).
    #[napi]
    pub async fn purge(&self, id: String) -> napi::Result<()> {
        self.0.purge(&id).await.napi()
    }
    #[napi]
    pub async fn list_members(&self, id: String) -> napi::Result<Vec<Value>> {
        self.0.list_members(&id).await.napi()
    }
}

/// Ory Network workspaces (needs `mode: 'cloud'` and `console.workspaceApiKey`).
#[napi]
#[derive(Clone)]
pub struct WorkspaceAdminService(pub(crate) ory_iam::WorkspaceAdminService);
crate::handle::basics!(WorkspaceAdminService);

#[napi]
impl WorkspaceAdminService {
    /// `create('Team')` or `create({ name: 'Team' })`.
    #[napi(ts_args_type = "name: string | WorkspaceInput")]
    pub async fn create(&self, name: Value) -> napi::Result<Workspace> {
        let name = crate::handle::input::<WorkspaceName>(Some(name), "name")?.name();
        self.0.create(&name).await.napi().map(Into::into)
    }
    #[napi(ts_args_type = "options?: { pageSize?: number, pageToken?: string }")]
    pub async fn list(&self, options: Option<Value>) -> napi::Result<WorkspacePage> {
        let p = self.0.list(crate::handle::input::<ListWorkspaces>(options, "options")?).await.napi()?;
        Ok(WorkspacePage { items: p.items.into_iter().map(Into::into).collect(), next_page_token: p.next_page_token })
    }
    #[napi(ts_return_type = "AsyncIterable<Workspace>")]
    pub fn list_all(&self, page_size: Option<u32>) -> WorkspacePager {
        WorkspacePager::new(self.0.list_all(page_size))
    }
    #[napi]
    pub async fn get(&self, id: String) -> napi::Result<Workspace> {
        self.0.get(&id).await.napi().map(Into::into)
    }
    /// `update(id, 'Team')` or `update(id, { name: 'Team' })`.
    #[napi(ts_args_type = "id: string, name: string | WorkspaceInput")]
    pub async fn update(&self, id: String, name: Value) -> napi::Result<Workspace> {
        let name = crate::handle::input::<WorkspaceName>(Some(name), "name")?.name();
        self.0.update(&id, &name).await.napi().map(Into::into)
    }

    #[napi]
    pub async fn list_projects(&self, id: String) -> napi::Result<Vec<ProjectMetadata>> {
        Ok(self.0.list_projects(&id).await.napi()?.into_iter().map(Into::into).collect())
    }
}

/// Event streams of Ory Network projects.
#[napi]
#[derive(Clone)]
pub struct EventsService(pub(crate) ory_iam::EventsService);
crate::handle::basics!(EventsService);

#[napi]
impl EventsService {
    /// `{type: 'sns' | 'https', topicArn?, roleArn?, httpsEndpoint?, status?}`.
    #[napi(ts_args_type = "projectId: string, stream: EventStreamInputJs")]
    pub async fn create(&self, project_id: String, stream: Value) -> napi::Result<EventStream> {
        self.0
            .create(&project_id, crate::handle::input::<EventStreamInput>(Some(stream), "stream")?)
            .await
            .napi()
            .map(Into::into)
    }
    #[napi]
    pub async fn list(&self, project_id: String) -> napi::Result<Vec<EventStream>> {
        Ok(self.0.list(&project_id).await.napi()?.into_iter().map(Into::into).collect())
    }
    /// Omitted fields keep their value.
    #[napi(ts_args_type = "projectId: string, streamId: string, stream: EventStreamInputJs")]
    pub async fn set(&self, project_id: String, stream_id: String, stream: Value) -> napi::Result<EventStream> {
        self.0
            .set(&project_id, &stream_id, crate::handle::input::<EventStreamInput>(Some(stream), "stream")?)
            .await
            .napi()
            .map(Into::into)
    }
    /// Audited `event_stream.delete`.
    #[napi]
    pub async fn delete(&self, project_id: String, stream_id: String) -> napi::Result<()> {
        self.0.delete(&project_id, &stream_id).await.napi()
    }
}

/// The API-key methods projects and workspaces share (one implementation in the core,
/// `network::KeyScope`), written once for both classes.
macro_rules! api_key_methods {
    ($ty:ident) => {
        #[napi]
        impl $ty {
            /// `{name, expiresAt?}`; the key's `value` (a Secret) is returned this once.
            #[napi(ts_args_type = "id: string, key: CreateApiKeyInput")]
            pub async fn create_api_key(&self, id: String, key: Value) -> napi::Result<ApiKey> {
                self.0
                    .create_api_key(&id, crate::handle::input::<CreateApiKey>(Some(key), "api_key")?)
                    .await
                    .napi()
                    .map(Into::into)
            }
            #[napi]
            pub async fn list_api_keys(&self, id: String) -> napi::Result<Vec<ApiKey>> {
                Ok(self.0.list_api_keys(&id).await.napi()?.into_iter().map(Into::into).collect())
            }
            /// Audited `project.api_key.delete` / `workspace.api_key.delete`.
            #[napi]
            pub async fn delete_api_key(&self, id: String, key_id: String) -> napi::Result<()> {
                self.0.delete_api_key(&id, &key_id).await.napi()
            }
        }
    };
}

api_key_methods!(ProjectAdminService);
api_key_methods!(WorkspaceAdminService);

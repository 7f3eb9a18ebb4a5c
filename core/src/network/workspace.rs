//! `WorkspaceAdminService`: Ory Network workspaces, their projects and API keys.

use super::{array, check_id, console, metadata, workspace};
use crate::audit::{names, AuditEvent};
use crate::dto::{ApiKey, CreateApiKey, ListWorkspaces, Page, ProjectMetadata, Workspace};
use crate::error::Result;
use crate::http::Call;
use crate::paging::{page_query, pages, Pager};
use crate::tenancy::service_handle;
use serde_json::{json, Value};

service_handle!(
    /// Ory Network workspaces (console API, workspace API key).
    WorkspaceAdminService
);

impl WorkspaceAdminService {
    pub async fn create(&self, name: &str) -> Result<Workspace> {
        super::check_name("name", name)?;
        let c = console(&self.t, "workspace_admin.create")?;
        let res = c
            .send(Call::post("workspaces").json(json!({"name": name})))
            .await
            .and_then(|r| Ok((workspace(&self.t.name, &c.decode(&r)?), r.request_id)));
        self.t.emit(
            AuditEvent::mutation(names::WORKSPACE_CREATE, &self.t.name, res.as_ref().map(|(_, rid)| rid.as_str()))
                .target_opt(res.as_ref().ok().map(|(x, _)| x.id.as_str())),
        );
        Ok(res?.0)
    }

    pub async fn list(&self, opts: ListWorkspaces) -> Result<Page<Workspace>> {
        let c = console(&self.t, "workspace_admin.list")?;
        let mut call = Call::get("workspaces");
        call = page_query(call, opts.page_size, opts.page_token, 1000)?;
        let r = c.send(call).await?;
        let v: Value = c.decode(&r)?;
        let items =
            v.get("workspaces").map(array).unwrap_or_default().iter().map(|w| workspace(&self.t.name, w)).collect();
        let more = v.get("has_next_page").and_then(Value::as_bool).unwrap_or(false);
        let token =
            v.get("next_page_token").and_then(Value::as_str).filter(|t| more && !t.is_empty()).map(str::to_owned);
        Ok(Page { items, next_page_token: token })
    }

    pub fn list_all(&self, page_size: Option<u32>) -> Pager<Workspace> {
        pages(
            self.clone(),
            move |svc, token| async move { svc.list(ListWorkspaces { page_size, page_token: token }).await },
        )
    }

    pub async fn get(&self, id: &str) -> Result<Workspace> {
        check_id("id", id)?;
        let c = console(&self.t, "workspace_admin.get")?;
        let path = format!("workspaces/{}", crate::ids::seg(id));
        let r = c.send(Call::get(&path)).await?;
        Ok(workspace(&self.t.name, &c.decode(&r)?))
    }

    /// Rename the workspace.
    pub async fn update(&self, id: &str, name: &str) -> Result<Workspace> {
        check_id("id", id)?;
        super::check_name("name", name)?;
        let c = console(&self.t, "workspace_admin.update")?;
        let path = format!("workspaces/{}", crate::ids::seg(id));
        let res = c.send(Call::new(http::Method::PUT, &path).json(json!({"name": name}))).await;
        self.t.emit(
            AuditEvent::mutation(names::WORKSPACE_UPDATE, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(id),
        );
        Ok(workspace(&self.t.name, &c.decode(&res?)?))
    }

    pub async fn list_projects(&self, id: &str) -> Result<Vec<ProjectMetadata>> {
        check_id("id", id)?;
        let c = console(&self.t, "workspace_admin.list_projects")?;
        let path = format!("workspaces/{}/projects", crate::ids::seg(id));
        let r = c.send(Call::get(&path)).await?;
        let v: Value = c.decode(&r)?;
        Ok(v.get("projects").map(array).unwrap_or_default().iter().map(|p| metadata(&self.t.name, p)).collect())
    }

    /// A new API key; its `value` (a secret) is returned this once.
    pub async fn create_api_key(&self, id: &str, input: CreateApiKey) -> Result<ApiKey> {
        super::create_api_key(&self.t, &KEYS, id, input).await
    }

    pub async fn list_api_keys(&self, id: &str) -> Result<Vec<ApiKey>> {
        super::list_api_keys(&self.t, &KEYS, id).await
    }

    /// Audited `workspace.api_key.delete`.
    pub async fn delete_api_key(&self, id: &str, key_id: &str) -> Result<()> {
        super::delete_api_key(&self.t, &KEYS, id, key_id).await
    }
}

const KEYS: super::KeyScope = super::KeyScope {
    owner: "workspaces",
    service: "workspace_admin",
    owner_attr: "workspace_id",
    create_event: names::WORKSPACE_API_KEY_CREATE,
    delete_event: names::WORKSPACE_API_KEY_DELETE,
};

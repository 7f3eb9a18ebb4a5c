//! `ProjectAdminService`: Ory Network projects, their members and API keys (console API).

use super::{array, check_id, console, metadata, project};
use crate::audit::{names, AuditEvent};
use crate::dto::{ApiKey, CreateApiKey, CreateProject, Project, ProjectMetadata};
use crate::error::{Error, Result};
use crate::http::Call;
use crate::tenancy::service_handle;
use serde_json::{json, Value};

service_handle!(
    /// Ory Network projects (console API, workspace API key).
    ProjectAdminService
);

const ENVIRONMENTS: &[&str] = &["prod", "stage", "dev"];

impl ProjectAdminService {
    pub async fn create(&self, input: CreateProject) -> Result<Project> {
        super::check_name("name", &input.name)?;
        let environment = input.environment.unwrap_or_else(|| "prod".into());
        if !ENVIRONMENTS.contains(&environment.as_str()) {
            return Err(Error::invalid_field("environment", "must be prod, stage or dev"));
        }
        if let Some(w) = &input.workspace_id {
            check_id("workspace_id", w)?;
        }
        let mut body = json!({"name": input.name, "environment": environment});
        if let Some(w) = input.workspace_id {
            body["workspace_id"] = json!(w);
        }
        if let Some(r) = input.home_region {
            body["home_region"] = json!(r);
        }
        let c = console(&self.t, "project_admin.create")?;
        let res = c
            .send(Call::post("projects").json(body))
            .await
            .and_then(|r| Ok((project(&self.t.name, c.decode(&r)?), r.request_id)));
        self.t.emit(
            AuditEvent::mutation(names::PROJECT_CREATE, &self.t.name, res.as_ref().map(|(_, rid)| rid.as_str()))
                .target_opt(res.as_ref().ok().map(|(x, _)| x.id.as_str())),
        );
        Ok(res?.0)
    }

    /// Every project the workspace key can see, with their hosts.
    pub async fn list(&self) -> Result<Vec<ProjectMetadata>> {
        let c = console(&self.t, "project_admin.list")?;
        let r = c.send(Call::get("projects")).await?;
        Ok(array(&c.decode(&r)?).iter().map(|v| metadata(&self.t.name, v)).collect())
    }

    /// The project, with its `hosts`. The console's project document has no hosts; they come
    /// from the project metadata (`GET /projects`), fetched alongside.
    pub async fn get(&self, id: &str) -> Result<Project> {
        check_id("id", id)?;
        let c = console(&self.t, "project_admin.get")?;
        let path = format!("projects/{}", crate::ids::seg(id));
        let (r, listed) = tokio::try_join!(c.send(Call::get(&path)), self.list())?;
        let mut p = project(&self.t.name, c.decode(&r)?);
        p.hosts = listed.into_iter().find(|m| m.id == p.id).map(|m| m.hosts).unwrap_or_default();
        Ok(p)
    }

    /// Replace the project's configuration (`name`, `services`, `cors_admin`, `cors_public`,
    /// `organizations`).
    pub async fn set(&self, id: &str, body: Value) -> Result<Project> {
        check_id("id", id)?;
        if !body.is_object() {
            return Err(Error::invalid_field("project", "must be an object"));
        }
        let c = console(&self.t, "project_admin.set")?;
        let path = format!("projects/{}", crate::ids::seg(id));
        let res = c.send(Call::new(http::Method::PUT, &path).json(body)).await;
        self.t.emit(
            AuditEvent::mutation(names::PROJECT_SET, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(id),
        );
        let v: Value = c.decode(&res?)?;
        Ok(project(&self.t.name, v.get("project").cloned().unwrap_or(Value::Null)))
    }

    /// Delete the project for good (audited `project.purge`).
    pub async fn purge(&self, id: &str) -> Result<()> {
        check_id("id", id)?;
        let c = console(&self.t, "project_admin.purge")?;
        let path = format!("projects/{}", crate::ids::seg(id));
        let res = c.send(Call::delete(&path)).await;
        self.t.emit(
            AuditEvent::mutation(names::PROJECT_PURGE, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(id),
        );
        res.map(|_| ())
    }

    pub async fn list_members(&self, id: &str) -> Result<Vec<Value>> {
        check_id("id", id)?;
        let c = console(&self.t, "project_admin.list_members")?;
        let path = format!("projects/{}/members", crate::ids::seg(id));
        let r = c.send(Call::get(&path)).await?;
        Ok(array(&c.decode(&r)?))
    }

    /// A new API key; its `value` (a secret) is returned this once.
    pub async fn create_api_key(&self, id: &str, input: CreateApiKey) -> Result<ApiKey> {
        super::create_api_key(&self.t, &KEYS, id, input).await
    }

    pub async fn list_api_keys(&self, id: &str) -> Result<Vec<ApiKey>> {
        super::list_api_keys(&self.t, &KEYS, id).await
    }

    /// Audited `project.api_key.delete`.
    pub async fn delete_api_key(&self, id: &str, key_id: &str) -> Result<()> {
        super::delete_api_key(&self.t, &KEYS, id, key_id).await
    }
}

const KEYS: super::KeyScope = super::KeyScope {
    owner: "projects",
    service: "project_admin",
    owner_attr: "project_id",
    create_event: names::PROJECT_API_KEY_CREATE,
    delete_event: names::PROJECT_API_KEY_DELETE,
};

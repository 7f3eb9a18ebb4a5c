//! The Ory Network control plane (console API): projects, workspaces, event streams. Needs a
//! tenant in `mode: cloud` with `console.workspace_api_key`.

pub mod events;
pub mod project;
pub mod workspace;

pub use events::EventsService;
pub use project::ProjectAdminService;
pub use workspace::WorkspaceAdminService;

use crate::audit::AuditEvent;
use crate::config::Mode;
use crate::dto;
use crate::error::{Error, Result};
use crate::http::Call;
use crate::http::OryClient;
use crate::secret::Secret;
use crate::tenancy::TenantContext;
use serde_json::Value;

pub(crate) fn console<'a>(t: &'a TenantContext, op: &str) -> Result<&'a OryClient> {
    if t.config.mode != Mode::Cloud {
        return Err(Error::configuration(format!(
            "tenants.{}.mode must be cloud for {op} (Ory Network control plane)",
            t.name
        ))
        .with_tenant(&*t.name));
    }
    t.console.as_ref().ok_or_else(|| t.missing("console.workspace_api_key", op))
}

/// Console ids are UUIDs; workspace ids too.
pub(crate) fn check_id(field: &str, id: &str) -> Result<()> {
    crate::ids::check_uuid(field, id)
}

/// Names shown in the console: non-empty and of a sane length (a megabyte is a caller's bug).
pub(crate) fn check_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid_field(field, "must not be empty"));
    }
    if name.len() > 1024 {
        return Err(Error::invalid_field(field, "must be at most 1024 bytes"));
    }
    Ok(())
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

pub(crate) fn project(tenant: &str, v: Value) -> dto::Project {
    dto::Project {
        tenant: tenant.to_owned(),
        id: s(&v, "id").unwrap_or_default(),
        slug: s(&v, "slug").unwrap_or_default(),
        name: s(&v, "name").unwrap_or_default(),
        environment: s(&v, "environment").unwrap_or_default(),
        home_region: s(&v, "home_region"),
        state: s(&v, "state").unwrap_or_default(),
        revision_id: s(&v, "revision_id"),
        workspace_id: s(&v, "workspace_id"),
        services: v.get("services").cloned().unwrap_or(Value::Null),
        hosts: Vec::new(),
    }
}

pub(crate) fn metadata(tenant: &str, v: &Value) -> dto::ProjectMetadata {
    dto::ProjectMetadata {
        tenant: tenant.to_owned(),
        id: s(v, "id").unwrap_or_default(),
        slug: s(v, "slug").unwrap_or_default(),
        name: s(v, "name").unwrap_or_default(),
        environment: s(v, "environment"),
        state: s(v, "state").unwrap_or_default(),
        hosts: v
            .get("hosts")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        workspace_id: s(v, "workspace_id"),
        created_at: s(v, "created_at"),
        updated_at: s(v, "updated_at"),
    }
}

pub(crate) fn api_key(tenant: &str, v: &Value) -> dto::ApiKey {
    dto::ApiKey {
        tenant: tenant.to_owned(),
        id: s(v, "id").unwrap_or_default(),
        name: s(v, "name").unwrap_or_default(),
        owner_id: s(v, "owner_id"),
        last_characters: s(v, "last_characters"),
        expires_at: s(v, "expires_at"),
        created_at: s(v, "created_at"),
        value: s(v, "value").filter(|x| !x.is_empty()).map(Secret::new),
    }
}

pub(crate) fn workspace(tenant: &str, v: &Value) -> dto::Workspace {
    dto::Workspace {
        tenant: tenant.to_owned(),
        id: s(v, "id").unwrap_or_default(),
        name: s(v, "name").unwrap_or_default(),
        created_at: s(v, "created_at"),
        updated_at: s(v, "updated_at"),
    }
}

pub(crate) fn stream(tenant: &str, v: &Value) -> dto::EventStream {
    dto::EventStream {
        tenant: tenant.to_owned(),
        id: s(v, "id").unwrap_or_default(),
        stream_type: s(v, "type"),
        topic_arn: s(v, "topic_arn"),
        role_arn: s(v, "role_arn"),
        https_endpoint: s(v, "https_endpoint"),
        status: s(v, "status"),
        created_at: s(v, "created_at"),
        updated_at: s(v, "updated_at"),
    }
}

pub(crate) fn array(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Projects and workspaces keep API keys under `{owner}/{id}/tokens` with the same shapes.
pub(crate) struct KeyScope {
    /// `projects` or `workspaces`.
    pub owner: &'static str,
    /// `project_admin` or `workspace_admin` (names the operation in errors).
    pub service: &'static str,
    /// Audit attribute naming the owner (`project_id`, `workspace_id`).
    pub owner_attr: &'static str,
    pub create_event: &'static str,
    pub delete_event: &'static str,
}

pub(crate) async fn create_api_key(
    t: &TenantContext,
    k: &KeyScope,
    id: &str,
    input: dto::CreateApiKey,
) -> Result<dto::ApiKey> {
    check_id("id", id)?;
    if input.name.trim().is_empty() {
        return Err(Error::invalid_field("name", "must not be empty"));
    }
    let mut body = serde_json::json!({"name": input.name});
    if let Some(e) = input.expires_at {
        body["expires_at"] = serde_json::json!(e);
    }
    let c = console(t, &format!("{}.create_api_key", k.service))?;
    let path = format!("{}/{}/tokens", k.owner, crate::ids::seg(id));
    let res =
        c.send(Call::post(&path).json(body)).await.and_then(|r| Ok((api_key(&t.name, &c.decode(&r)?), r.request_id)));
    t.emit(
        AuditEvent::mutation(k.create_event, &t.name, res.as_ref().map(|(_, rid)| rid.as_str()))
            .target_opt(res.as_ref().ok().map(|(x, _)| x.id.as_str()))
            .attr(k.owner_attr, id),
    );
    Ok(res?.0)
}

pub(crate) async fn list_api_keys(t: &TenantContext, k: &KeyScope, id: &str) -> Result<Vec<dto::ApiKey>> {
    check_id("id", id)?;
    let c = console(t, &format!("{}.list_api_keys", k.service))?;
    let path = format!("{}/{}/tokens", k.owner, crate::ids::seg(id));
    let r = c.send(Call::get(&path)).await?;
    Ok(array(&c.decode(&r)?).iter().map(|v| api_key(&t.name, v)).collect())
}

/// Audited with the scope's delete event.
pub(crate) async fn delete_api_key(t: &TenantContext, k: &KeyScope, id: &str, key_id: &str) -> Result<()> {
    check_id("id", id)?;
    check_id("key_id", key_id)?;
    let c = console(t, &format!("{}.delete_api_key", k.service))?;
    let path = format!("{}/{}/tokens/{}", k.owner, crate::ids::seg(id), crate::ids::seg(key_id));
    let res = c.send(Call::delete(&path)).await;
    t.emit(
        AuditEvent::mutation(k.delete_event, &t.name, res.as_ref().map(|r| r.request_id.as_str()))
            .target(key_id)
            .attr(k.owner_attr, id),
    );
    res.map(|_| ())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_non_empty_and_bounded() {
        assert!(super::check_name("name", "Acme").is_ok());
        assert!(super::check_name("name", " ").is_err());
        assert!(super::check_name("name", &"a".repeat(1025)).is_err());
    }
}

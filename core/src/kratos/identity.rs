//! `IdentityService`: Kratos admin identities.

use super::wire;
use crate::audit::{names, AuditEvent};
use crate::dto::{CreateIdentity, Identity, ListIdentities, Page};
use crate::error::{Error, Result};
use crate::http::Call;
use crate::paging::{next_token_from_link, Pager};
use crate::tenancy::service_handle;
use serde_json::{json, Value};

service_handle!(
    /// Kratos identities of one tenant (admin API).
    IdentityService
);

/// Kratos ids are UUIDs; anything else is refused before a request is sent.
pub(crate) fn check_uuid(field: &str, id: &str) -> Result<()> {
    match uuid::Uuid::parse_str(id) {
        Ok(_) if id.len() == 36 => Ok(()),
        _ => Err(Error::invalid_field(field, "must be a UUID")),
    }
}

impl IdentityService {
    /// The identity without traits, admin metadata or addresses.
    pub async fn get(&self, id: &str) -> Result<Identity> {
        Ok(self.get_with_traits(id).await?.sanitized())
    }

    /// The whole identity, traits included.
    pub async fn get_with_traits(&self, id: &str) -> Result<Identity> {
        check_uuid("id", id)?;
        let c = self.t.kratos_admin("identity.get")?;
        let path = format!("admin/identities/{id}");
        let r = c.send(Call::get(&path)).await?;
        Ok(c.decode::<wire::Identity>(&r)?.into_dto(&self.t.name))
    }

    /// Create an identity. Kratos validates `traits` against the schema (400 → validation).
    pub async fn create(&self, input: CreateIdentity) -> Result<Identity> {
        if input.schema_id.trim().is_empty() {
            return Err(Error::invalid_field("schema_id", "must not be empty"));
        }
        if !input.traits.is_object() {
            return Err(Error::invalid_field("traits", "must be an object"));
        }
        if let Some(s) = &input.state {
            if s != "active" && s != "inactive" {
                return Err(Error::invalid_field("state", "must be active or inactive"));
            }
        }
        let mut body = json!({"schema_id": input.schema_id, "traits": input.traits});
        if let Some(s) = input.state {
            body["state"] = Value::String(s);
        }
        if let Some(m) = input.metadata_public {
            body["metadata_public"] = m;
        }
        if let Some(m) = input.metadata_admin {
            body["metadata_admin"] = m;
        }
        if let Some(addrs) = input.verified_addresses {
            body["verifiable_addresses"] = Value::Array(
                addrs
                    .into_iter()
                    .map(|a| json!({"value": a, "via": "email", "verified": true, "status": "completed"}))
                    .collect(),
            );
        }
        let c = self.t.kratos_admin("identity.create")?;
        let r = c.send(Call::post("admin/identities").json(body)).await?;
        Ok(c.decode::<wire::Identity>(&r)?.into_dto(&self.t.name))
    }

    /// One page of identities (sanitized, like `get`).
    pub async fn list(&self, opts: ListIdentities) -> Result<Page<Identity>> {
        let c = self.t.kratos_admin("identity.list")?;
        let mut call = Call::get("admin/identities");
        if let Some(n) = opts.page_size {
            if n == 0 || n > 500 {
                return Err(Error::invalid_field(
                    "page_size",
                    "must be between 1 and 500",
                ));
            }
            call = call.query("page_size", n.to_string());
        }
        if let Some(t) = opts.page_token {
            call = call.query("page_token", t);
        }
        let r = c.send(call).await?;
        let items: Vec<wire::Identity> = c.decode(&r)?;
        Ok(Page {
            items: items
                .into_iter()
                .map(|i| i.into_dto(&self.t.name).sanitized())
                .collect(),
            next_page_token: next_token_from_link(&r.headers),
        })
    }

    /// Every identity, page after page.
    pub fn list_all(&self, page_size: Option<u32>) -> Pager<Identity> {
        let svc = self.clone();
        Pager::new(move |token| {
            let svc = svc.clone();
            async move {
                svc.list(ListIdentities {
                    page_size,
                    page_token: token,
                })
                .await
            }
        })
    }

    /// Delete an identity (audited as `identity.delete`).
    pub async fn delete(&self, id: &str) -> Result<()> {
        check_uuid("id", id)?;
        let c = self.t.kratos_admin("identity.delete")?;
        let path = format!("admin/identities/{id}");
        let res = c.send(Call::delete(&path)).await;
        let (result, request_id) = match &res {
            Ok(r) => ("success", Some(r.request_id.clone())),
            Err(e) => ("failure", e.request_id().map(str::to_owned)),
        };
        self.t.emit(
            AuditEvent::new(names::IDENTITY_DELETE, &self.t.name, result)
                .target(id)
                .request_id(request_id)
                .attr(
                    "error",
                    res.as_ref()
                        .err()
                        .map(|e| Value::from(e.code()))
                        .unwrap_or(Value::Null),
                ),
        );
        res.map(|_| ())
    }
}

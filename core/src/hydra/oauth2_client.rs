//! `OAuth2ClientService`: Hydra admin `/admin/clients`.

use super::{check_path_id, wire};
use crate::audit::{names, AuditEvent};
use crate::dto::{ClientLifespans, ListOAuth2Clients, OAuth2Client, Page};
use crate::error::{Error, Result};
use crate::http::{Call, OryClient};
use crate::paging::{next_token_from_link, page_query, pages, Pager};
use crate::secret::Secret;
use crate::tenancy::service_handle;
use serde_json::Value;

service_handle!(
    /// OAuth2 clients of one tenant (Hydra admin API).
    OAuth2ClientService
);

impl OAuth2ClientService {
    fn admin(&self, op: &str) -> Result<&OryClient> {
        self.t.hydra_admin.as_ref().ok_or_else(|| self.t.missing("hydra.admin_url", op))
    }

    /// Create a client from Hydra's client fields (`client_name`, `grant_types`, `scope`,
    /// `redirect_uris`, …). The returned `client_secret` is shown this once.
    pub async fn create(&self, client: Value) -> Result<OAuth2Client> {
        check_client(&client)?;
        let c = self.admin("oauth2_client.create")?;
        let res = c.send(Call::post("admin/clients").json(client)).await.and_then(|r| {
            let created = c.decode::<wire::Client>(&r)?.into_dto(&self.t.name);
            Ok((created, r.request_id))
        });
        self.t.emit(
            AuditEvent::mutation(names::OAUTH2_CLIENT_CREATE, &self.t.name, res.as_ref().map(|(_, rid)| rid.as_str()))
                .target_opt(res.as_ref().ok().map(|(cl, _)| cl.client_id.as_str())),
        );
        Ok(res?.0)
    }

    pub async fn get(&self, id: &str) -> Result<OAuth2Client> {
        check_path_id("id", id)?;
        let c = self.admin("oauth2_client.get")?;
        let path = format!("admin/clients/{}", crate::ids::seg(id));
        let r = c.send(Call::get(&path)).await?;
        Ok(c.decode::<wire::Client>(&r)?.into_dto(&self.t.name))
    }

    pub async fn list(&self, opts: ListOAuth2Clients) -> Result<Page<OAuth2Client>> {
        let c = self.admin("oauth2_client.list")?;
        let mut call = Call::get("admin/clients");
        call = page_query(call, opts.page_size, opts.page_token, 500)?;
        if let Some(n) = opts.client_name {
            call = call.query("client_name", n);
        }
        if let Some(o) = opts.owner {
            call = call.query("owner", o);
        }
        let r = c.send(call).await?;
        let items: Vec<wire::Client> = c.decode(&r)?;
        Ok(Page {
            items: items.into_iter().map(|x| x.into_dto(&self.t.name)).collect(),
            next_page_token: next_token_from_link(&r.headers),
        })
    }

    pub fn list_all(&self, opts: ListOAuth2Clients) -> Pager<OAuth2Client> {
        pages(self.clone(), move |svc, token| {
            let opts = ListOAuth2Clients { page_token: token, ..opts.clone() };
            async move { svc.list(opts).await }
        })
    }

    /// Replace the client (an omitted `client_secret` keeps the current one).
    pub async fn set(&self, id: &str, client: Value) -> Result<OAuth2Client> {
        check_path_id("id", id)?;
        check_client(&client)?;
        let c = self.admin("oauth2_client.set")?;
        let path = format!("admin/clients/{}", crate::ids::seg(id));
        let res = c.send(Call::new(http::Method::PUT, &path).json(client)).await;
        self.t.emit(
            AuditEvent::mutation(names::OAUTH2_CLIENT_SET, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(id),
        );
        Ok(c.decode::<wire::Client>(&res?)?.into_dto(&self.t.name))
    }

    /// RFC 6902 JSON Patch (patching `/client_secret` rotates it; the new one is returned once).
    pub async fn patch(&self, id: &str, ops: Value) -> Result<OAuth2Client> {
        check_path_id("id", id)?;
        let Some(list) = ops.as_array().filter(|a| !a.is_empty()) else {
            return Err(Error::invalid_field("ops", "must be a non-empty list of JSON Patch operations"));
        };
        for (i, op) in list.iter().enumerate() {
            let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
            if !matches!(kind, "add" | "remove" | "replace" | "move" | "copy" | "test") {
                return Err(Error::invalid_field(
                    format!("ops[{i}].op"),
                    "must be one of add, remove, replace, move, copy, test",
                ));
            }
            if !op.get("path").and_then(Value::as_str).is_some_and(|p| p.starts_with('/')) {
                return Err(Error::invalid_field(format!("ops[{i}].path"), "must be a JSON Pointer"));
            }
            if op.get("path").and_then(Value::as_str) == Some("/client_id") {
                return Err(Error::invalid_field(format!("ops[{i}].path"), "the client id cannot be changed"));
            }
        }
        let c = self.admin("oauth2_client.patch")?;
        let path = format!("admin/clients/{}", crate::ids::seg(id));
        let res = c.send(Call::patch(&path).json(ops)).await;
        self.t.emit(
            AuditEvent::mutation(names::OAUTH2_CLIENT_PATCH, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(id),
        );
        Ok(c.decode::<wire::Client>(&res?)?.into_dto(&self.t.name))
    }

    /// Delete the client (audited `oauth2_client.delete`).
    pub async fn delete(&self, id: &str) -> Result<()> {
        check_path_id("id", id)?;
        let c = self.admin("oauth2_client.delete")?;
        let path = format!("admin/clients/{}", crate::ids::seg(id));
        let res = c.send(Call::delete(&path)).await;
        self.t.emit(
            AuditEvent::mutation(
                names::OAUTH2_CLIENT_DELETE,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(id),
        );
        res.map(|_| ())
    }
}

impl OAuth2ClientService {
    fn public(&self, op: &str) -> Result<&OryClient> {
        self.t.hydra_public.as_ref().ok_or_else(|| self.t.missing("hydra.public_url", op))
    }

    /// Set the client's token lifespans (`PUT /admin/clients/{id}/lifespans`,
    /// `setOAuth2ClientLifespans`); the whole set is replaced (an unset one falls back to
    /// Hydra's default). Audited `oauth2_client.lifespans.set`.
    pub async fn set_lifespans(&self, id: &str, lifespans: ClientLifespans) -> Result<OAuth2Client> {
        check_path_id("id", id)?;
        let body = serde_json::to_value(&lifespans).map_err(|_| Error::internal("cannot encode lifespans"))?;
        for (k, v) in body.as_object().into_iter().flatten() {
            if v.as_str().is_none_or(|d| d.is_empty() || d.len() > 32) {
                return Err(Error::invalid_field(format!("lifespans.{k}"), "must be a duration such as \"1h\""));
            }
        }
        let c = self.admin("oauth2_client.set_lifespans")?;
        let path = format!("admin/clients/{}/lifespans", crate::ids::seg(id));
        let res = c.send(Call::new(http::Method::PUT, &path).json(body)).await;
        self.t.emit(
            AuditEvent::mutation(
                names::OAUTH2_CLIENT_LIFESPANS_SET,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(id),
        );
        Ok(c.decode::<wire::Client>(&res?)?.into_dto(&self.t.name))
    }

    /// OpenID Connect dynamic client registration (`POST /oauth2/register` on Hydra's public
    /// URL, `createOidcDynamicClient`; Hydra needs `oidc.dynamic_client_registration.enabled`).
    /// The result carries `client_secret` and `registration_access_token` (both secrets, shown
    /// this once) and `registration_client_uri`. Not retried. Audited `oauth2_client.register`.
    pub async fn register(&self, client: Value) -> Result<OAuth2Client> {
        check_client(&client)?;
        let c = self.public("oauth2_client.register")?;
        let res = c.send(Call::post("oauth2/register").json(client)).await.and_then(|r| {
            let created = c.decode::<wire::Client>(&r)?.into_dto(&self.t.name);
            Ok((created, r.request_id))
        });
        self.t.emit(
            AuditEvent::mutation(
                names::OAUTH2_CLIENT_REGISTER,
                &self.t.name,
                res.as_ref().map(|(_, rid)| rid.as_str()),
            )
            .target_opt(res.as_ref().ok().map(|(cl, _)| cl.client_id.as_str())),
        );
        Ok(res?.0)
    }

    fn check_registration(id: &str, token: &Secret) -> Result<()> {
        check_path_id("id", id)?;
        if token.is_empty() || token.expose().chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::invalid_field("registration_access_token", "must be the token registration returned"));
        }
        Ok(())
    }

    /// A dynamically registered client, read with its registration access token
    /// (`GET /oauth2/register/{id}`, `getOidcDynamicClient`). A wrong token is `unauthorized`.
    pub async fn get_registered(&self, id: &str, registration_access_token: &Secret) -> Result<OAuth2Client> {
        Self::check_registration(id, registration_access_token)?;
        let c = self.public("oauth2_client.get_registered")?;
        let path = format!("oauth2/register/{}", crate::ids::seg(id));
        let r = c.send(Call::get(&path).bearer(registration_access_token)).await?;
        Ok(c.decode::<wire::Client>(&r)?.into_dto(&self.t.name))
    }

    /// Replace a dynamically registered client with its registration access token
    /// (`PUT /oauth2/register/{id}`, `setOidcDynamicClient`). Audited
    /// `oauth2_client.registered.set`.
    pub async fn set_registered(
        &self,
        id: &str,
        registration_access_token: &Secret,
        client: Value,
    ) -> Result<OAuth2Client> {
        Self::check_registration(id, registration_access_token)?;
        check_client(&client)?;
        let c = self.public("oauth2_client.set_registered")?;
        let path = format!("oauth2/register/{}", crate::ids::seg(id));
        let mut call = Call::new(http::Method::PUT, &path).json(client).bearer(registration_access_token);
        // Hydra rotates the registration access token on every update: a retry after a lost
        // answer would be refused with the old one.
        call.idempotent = false;
        let res = c.send(call).await;
        self.t.emit(
            AuditEvent::mutation(
                names::OAUTH2_CLIENT_REGISTERED_SET,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(id),
        );
        Ok(c.decode::<wire::Client>(&res?)?.into_dto(&self.t.name))
    }

    /// Delete a dynamically registered client with its registration access token
    /// (`DELETE /oauth2/register/{id}`, `deleteOidcDynamicClient`). Audited
    /// `oauth2_client.registered.delete`.
    pub async fn delete_registered(&self, id: &str, registration_access_token: &Secret) -> Result<()> {
        Self::check_registration(id, registration_access_token)?;
        let c = self.public("oauth2_client.delete_registered")?;
        let path = format!("oauth2/register/{}", crate::ids::seg(id));
        let res = c.send(Call::delete(&path).bearer(registration_access_token)).await;
        self.t.emit(
            AuditEvent::mutation(
                names::OAUTH2_CLIENT_REGISTERED_DELETE,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(id),
        );
        res.map(|_| ())
    }
}

/// Hydra's list-valued client fields, when present, are lists of strings.
const LIST_FIELDS: &[&str] = &[
    "redirect_uris",
    "grant_types",
    "response_types",
    "audience",
    "allowed_cors_origins",
    "post_logout_redirect_uris",
    "contacts",
    "request_uris",
];

fn check_client(client: &Value) -> Result<()> {
    let Some(o) = client.as_object() else {
        return Err(Error::invalid_field("client", "must be an object of OAuth2 client fields"));
    };
    for k in LIST_FIELDS {
        match o.get(*k) {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
            Some(_) => return Err(Error::invalid_field(format!("client.{k}"), "must be a list of strings")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_client;
    use serde_json::json;

    #[test]
    fn list_fields_must_be_lists_of_strings() {
        assert!(check_client(&json!({"redirect_uris": ["https://a"], "grant_types": null})).is_ok());
        for bad in [json!({"redirect_uris": "https://a"}), json!({"audience": [1]}), json!("x"), json!([])] {
            let e = check_client(&bad).unwrap_err();
            assert_eq!(e.code(), "validation");
        }
    }
}

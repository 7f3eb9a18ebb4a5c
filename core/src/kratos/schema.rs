//! `SchemaService`: the identity schemas a tenant's Kratos serves.

use super::wire;
use crate::dto::IdentitySchema;
use crate::error::Result;
use crate::http::Call;
use crate::tenancy::service_handle;

service_handle!(
    /// Identity schemas of one tenant (Kratos public API).
    SchemaService
);

impl SchemaService {
    /// Every schema (Kratos pages by offset; all pages are read).
    pub async fn list(&self) -> Result<Vec<IdentitySchema>> {
        let c = self.t.kratos_public("schema.list")?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut call = Call::get("schemas").query("page_size", "250");
            if let Some(t) = token.take() {
                call = call.query("page_token", t);
            }
            let r = c.send(call).await?;
            let page: Vec<wire::SchemaContainer> = c.decode(&r)?;
            let n = page.len();
            out.extend(page.into_iter().map(|s| IdentitySchema {
                tenant: self.t.name.to_string(),
                id: s.id,
                schema: s.schema,
            }));
            token = crate::paging::next_token_from_link(&r.headers);
            if token.is_none() || n == 0 {
                return Ok(out);
            }
        }
    }

    /// One schema document by id.
    pub async fn get(&self, id: &str) -> Result<IdentitySchema> {
        crate::ids::check_segment("id", id)?;
        let c = self.t.kratos_public("schema.get")?;
        let path = format!("schemas/{}", crate::ids::seg(id));
        let r = c.send(Call::get(&path)).await?;
        Ok(IdentitySchema { tenant: self.t.name.to_string(), id: id.to_owned(), schema: c.decode(&r)? })
    }
}

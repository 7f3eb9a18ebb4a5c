//! `CourierService`: messages Kratos queued (recovery codes, verification links). Bodies are
//! left out unless a call asks for them.

use super::wire;
use crate::audit::{names, AuditEvent};
use crate::dto::{CourierMessage, ListCourierMessages, Page};
use crate::error::{Error, Result};
use crate::http::Call;
use crate::ids::check_uuid;
use crate::paging::{next_token_from_link, page_query, pages, Pager};
use crate::tenancy::service_handle;

service_handle!(
    /// Courier messages of one tenant (Kratos admin API).
    CourierService
);

const STATUSES: &[&str] = &["queued", "sent", "processing", "abandoned"];

impl CourierService {
    /// One page of messages, newest first; filter by `status` and `recipient`.
    pub async fn list(&self, opts: ListCourierMessages) -> Result<Page<CourierMessage>> {
        let c = self.t.kratos_admin("courier.list")?;
        let mut call = Call::get("admin/courier/messages");
        if let Some(s) = &opts.status {
            if !STATUSES.contains(&s.as_str()) {
                return Err(Error::invalid_field("status", "must be one of queued, sent, processing, abandoned"));
            }
            call = call.query("status", s.clone());
        }
        if let Some(r) = opts.recipient {
            call = call.query("recipient", r);
        }
        call = page_query(call, opts.page_size, opts.page_token, 500)?;
        let include = opts.include_body.unwrap_or(false);
        let r = c.send(call).await?;
        let items: Vec<wire::CourierMessage> = c.decode(&r)?;
        Ok(Page {
            items: items.into_iter().map(|m| m.into_dto(&self.t.name, include)).collect(),
            next_page_token: next_token_from_link(&r.headers),
        })
    }

    /// Every message matching the filters, page after page.
    pub fn list_all(&self, opts: ListCourierMessages) -> Pager<CourierMessage> {
        pages(self.clone(), move |svc, token| {
            let opts = ListCourierMessages { page_token: token, ..opts.clone() };
            async move { svc.list(opts).await }
        })
    }

    /// One message; `include_body` returns its body (a secret) for this call only.
    pub async fn get(&self, id: &str, include_body: bool) -> Result<CourierMessage> {
        check_uuid("id", id)?;
        let c = self.t.kratos_admin("courier.get")?;
        let path = format!("admin/courier/messages/{}", crate::ids::seg(id));
        let res = c.send(Call::get(&path)).await;
        // Reading a body (it may hold a recovery code or a login link) is audited; listing is not.
        if include_body {
            self.t.emit(
                AuditEvent::mutation(
                    names::COURIER_MESSAGE_BODY_READ,
                    &self.t.name,
                    res.as_ref().map(|r| r.request_id.as_str()),
                )
                .target(id),
            );
        }
        Ok(c.decode::<wire::CourierMessage>(&res?)?.into_dto(&self.t.name, include_body))
    }
}

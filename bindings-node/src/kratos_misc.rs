//! SchemaService and CourierService.

use crate::dto::{CourierMessage, CourierMessagePage, IdentitySchema};
use crate::errors::IntoNapi;
use crate::pager::CourierMessagePager;
use napi_derive::napi;
use ory_iam::dto::{parse_input, ListCourierMessages};
use serde_json::Value;

/// Identity schemas of one tenant.
#[napi]
#[derive(Clone)]
pub struct SchemaService(pub(crate) ory_iam::SchemaService);
crate::handle::basics!(SchemaService);

#[napi]
impl SchemaService {
    #[napi]
    pub async fn list(&self) -> napi::Result<Vec<IdentitySchema>> {
        Ok(self.0.list().await.napi()?.into_iter().map(Into::into).collect())
    }

    #[napi]
    pub async fn get(&self, id: String) -> napi::Result<IdentitySchema> {
        self.0.get(&id).await.napi().map(Into::into)
    }
}

/// Courier messages of one tenant; bodies only when asked for.
#[napi]
#[derive(Clone)]
pub struct CourierService(pub(crate) ory_iam::CourierService);
crate::handle::basics!(CourierService);

fn list_opts(v: Option<Value>) -> napi::Result<ListCourierMessages> {
    parse_input("options", v.unwrap_or(Value::Null)).napi()
}

#[napi]
impl CourierService {
    /// One page of messages (`status`, `recipient`, `pageSize`, `pageToken`, `includeBody`).
    #[napi(ts_args_type = "options?: ListCourierMessagesOptions")]
    pub async fn list(&self, options: Option<Value>) -> napi::Result<CourierMessagePage> {
        let p = self.0.list(list_opts(options)?).await.napi()?;
        Ok(CourierMessagePage {
            items: p.items.into_iter().map(Into::into).collect(),
            next_page_token: p.next_page_token,
        })
    }

    /// Every matching message: `for await (const m of iam.courier.listAll({recipient}))`.
    #[napi(ts_args_type = "options?: ListCourierMessagesOptions", ts_return_type = "AsyncIterable<CourierMessage>")]
    pub fn list_all(&self, options: Option<Value>) -> napi::Result<CourierMessagePager> {
        Ok(CourierMessagePager::new(self.0.list_all(list_opts(options)?)))
    }

    /// One message; `includeBody` (a boolean, or `{ includeBody }`) returns its body (a Secret)
    /// for this call only.
    #[napi(ts_args_type = "id: string, options?: boolean | CourierGetOptions | undefined | null")]
    pub async fn get(&self, id: String, options: Option<Value>) -> napi::Result<CourierMessage> {
        let include_body = match options {
            None | Some(Value::Null) => false,
            Some(v) => crate::handle::input::<ory_iam::dto::CourierGet>(Some(v), "options")?.include_body(),
        };
        self.0.get(&id, include_body).await.napi().map(Into::into)
    }
}

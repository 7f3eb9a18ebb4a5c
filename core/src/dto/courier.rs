use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A courier message (email/SMS Kratos queued). `body` is `None` unless asked for per call; the
/// recipient is personal data and is hidden from `Debug`.
#[derive(Clone, Serialize)]
pub struct CourierMessage {
    pub tenant: String,
    pub id: String,
    /// `queued`, `sent`, `processing`, `abandoned`.
    pub status: String,
    /// `email` or `phone`.
    pub message_type: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub template_type: Option<String>,
    pub send_count: i64,
    pub body: Option<Secret>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl fmt::Debug for CourierMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CourierMessage")
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .field("status", &self.status)
            .field("template_type", &self.template_type)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// Options of `CourierService::list`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListCourierMessages {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
    /// Return message bodies (they hold recovery codes and links). Off by default.
    #[serde(default)]
    pub include_body: Option<bool>,
}

/// An identity schema: its id and the JSON Schema document.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct IdentitySchema {
    pub tenant: String,
    pub id: String,
    pub schema: serde_json::Value,
}

/// The second argument of `courier.get` in Node: `includeBody` as a boolean, or
/// `{includeBody}` (the contract's shape).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum CourierGet {
    Flag(bool),
    Options(CourierGetOptions),
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourierGetOptions {
    #[serde(default)]
    pub include_body: Option<bool>,
}

impl CourierGet {
    pub fn include_body(self) -> bool {
        match self {
            CourierGet::Flag(b) => b,
            CourierGet::Options(o) => o.include_body.unwrap_or(false),
        }
    }
}

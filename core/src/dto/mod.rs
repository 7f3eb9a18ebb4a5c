//! Library-owned data types returned to users. Ory's wire shapes stay private (`*/wire.rs`).
//! `Debug` of anything holding personal data or secrets prints `***` for those fields.

mod courier;
mod flow;
mod hydra;
mod identity;
mod metadata;
mod network;
mod permission;
mod session;

pub use courier::*;
pub use flow::*;
pub use hydra::*;
pub use identity::*;
pub use metadata::*;
pub use network::*;
pub use permission::*;
pub use session::*;

/// One page of a list, with the token for the next page (`None` on the last page).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

/// Parse a method's option object (a Python dict, a JS object) into its typed input.
/// Errors name the field and the rule, never the value that was given (it may be a trait).
/// Top-level keys may be camelCase (Node style); nested values (traits) are left untouched.
pub fn parse_input<T: serde::de::DeserializeOwned>(what: &str, v: serde_json::Value) -> crate::Result<T> {
    let v = match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(m.into_iter().map(|(k, v)| (snake(&k), v)).collect()),
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        other => other,
    };
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let reason = if let Some(rest) = inner.strip_prefix("unknown field ") {
            // "unknown field `x`, expected one of ..." — the field names are ours, not data.
            format!("unknown field {}", rest.split(',').next().unwrap_or(rest))
        } else if inner.starts_with("missing field") {
            inner.split(" at line").next().unwrap_or(&inner).to_owned()
        } else {
            "has the wrong type or value".to_owned()
        };
        let path = if path == "." { what.to_owned() } else { format!("{what}.{path}") };
        crate::Error::invalid_field(path, reason)
    })
}

fn snake(k: &str) -> String {
    let mut out = String::with_capacity(k.len() + 4);
    for ch in k.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

//! Audit events (names from API.md), sinks, and the redactor every event passes through before
//! any sink sees it.

use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The event catalogue. Names are identical in every language.
pub mod names {
    pub const AUTH_SUCCESS: &str = "auth.success";
    pub const AUTH_FAILURE_MISSING_CREDENTIAL: &str = "auth.failure.missing_credential";
    pub const AUTH_FAILURE_EXPIRED: &str = "auth.failure.expired";
    pub const AUTH_FAILURE_MALFORMED: &str = "auth.failure.malformed";
    pub const AUTH_FAILURE_TOKEN_INACTIVE: &str = "auth.failure.token_inactive";
    pub const AUTH_FAILURE_UNSIGNED_HEADER: &str = "auth.failure.unsigned_header";
    pub const AUTH_FAILURE_UPSTREAM: &str = "auth.failure.upstream";
    pub const AUTH_FAILURE_INVALID_SIGNATURE: &str = "auth.failure.invalid_signature";
    pub const AUTH_FAILURE_AUDIENCE_MISMATCH: &str = "auth.failure.audience_mismatch";
    pub const AUTH_FAILURE_REPLAY: &str = "auth.failure.replay";
    pub const AUTH_TENANT_MISMATCH: &str = "auth.tenant_mismatch";
    pub const SESSION_CACHE_REJECTED: &str = "session.cache_rejected";
    pub const AUTHZ_PERMISSION_GRANT: &str = "authz.permission.grant";
    pub const AUTHZ_PERMISSION_DENY: &str = "authz.permission.deny";
    pub const AUTHZ_PERMISSION_REVOKE: &str = "authz.permission.revoke";
    pub const AUTHZ_UPSTREAM_UNAVAILABLE: &str = "authz.upstream_unavailable";
    pub const AUTHZ_SESSION_REVOKE: &str = "authz.session.revoke";
    pub const IDENTITY_DELETE: &str = "identity.delete";
    pub const IDENTITY_CREDENTIAL_DELETE: &str = "identity.credential.delete";
    pub const PROJECT_PURGE: &str = "project.purge";
    pub const PROJECT_API_KEY_DELETE: &str = "project.api_key.delete";
    pub const WORKSPACE_API_KEY_DELETE: &str = "workspace.api_key.delete";
    pub const EVENT_STREAM_DELETE: &str = "event_stream.delete";
    pub const OAUTH2_CLIENT_DELETE: &str = "oauth2_client.delete";
    pub const HEALTH_PROBE_FAILURE: &str = "health.probe_failure";
    pub const CONFIG_BOOT_FAILURE: &str = "config.boot_failure";
}

/// One audit event, after redaction.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AuditEvent {
    pub name: String,
    pub tenant: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    pub request_id: Option<String>,
    pub actor: Option<String>,
    pub target_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub result: String,
    pub attributes: Map<String, Value>,
}

impl AuditEvent {
    pub fn new(name: &str, tenant: &str, result: &str) -> Self {
        AuditEvent {
            name: name.to_owned(),
            tenant: tenant.to_owned(),
            timestamp: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0),
            request_id: None,
            actor: None,
            target_id: None,
            result: result.to_owned(),
            attributes: Map::new(),
        }
    }

    pub fn target(mut self, id: impl Into<String>) -> Self {
        self.target_id = Some(id.into());
        self
    }

    pub fn request_id(mut self, id: Option<String>) -> Self {
        self.request_id = id;
        self
    }

    pub fn attr(mut self, k: &str, v: impl Into<Value>) -> Self {
        self.attributes.insert(k.to_owned(), v.into());
        self
    }
}

/// Where events go. Implemented by the bindings for Python callables and JS functions.
pub trait AuditSink: Send + Sync + 'static {
    fn emit(&self, event: &AuditEvent);
}

/// Writes events through `tracing` at INFO on target `ory_iam::audit`.
pub struct LogSink;

impl AuditSink for LogSink {
    fn emit(&self, event: &AuditEvent) {
        let json = serde_json::to_string(event).unwrap_or_default();
        tracing::info!(target: "ory_iam::audit", name = %event.name, tenant = %event.tenant, event = %json);
    }
}

pub struct NoneSink;

impl AuditSink for NoneSink {
    fn emit(&self, _: &AuditEvent) {}
}

/// A `tracing` event of this library as (message, fields), for the bindings' log bridges. An
/// audit event's JSON (field `event`) is unpacked into an object.
pub fn log_record(event: &tracing::Event<'_>) -> (String, Map<String, Value>) {
    struct Fields(Map<String, Value>);
    impl tracing::field::Visit for Fields {
        fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
            self.0.insert(f.name().to_owned(), Value::String(v.to_owned()));
        }
        fn record_bool(&mut self, f: &tracing::field::Field, v: bool) {
            self.0.insert(f.name().to_owned(), Value::Bool(v));
        }
        fn record_i64(&mut self, f: &tracing::field::Field, v: i64) {
            self.0.insert(f.name().to_owned(), v.into());
        }
        fn record_u64(&mut self, f: &tracing::field::Field, v: u64) {
            self.0.insert(f.name().to_owned(), v.into());
        }
        fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
            self.0.insert(f.name().to_owned(), Value::String(format!("{v:?}")));
        }
    }
    let mut f = Fields(Map::new());
    event.record(&mut f);
    let mut fields = f.0;
    if let Some(Value::String(json)) = fields.remove("event") {
        if let Ok(v) = serde_json::from_str::<Value>(&json) {
            fields.insert("event".into(), v);
        }
    }
    let message = fields.remove("message").and_then(|m| m.as_str().map(str::to_owned)).unwrap_or_else(|| {
        fields
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| event.metadata().target().to_owned())
    });
    (message, fields)
}

/// Redacts, then hands to the sink. Sinks never see an unredacted event.
#[derive(Clone)]
pub struct Auditor {
    sink: Arc<dyn AuditSink>,
}

impl Auditor {
    pub fn new(sink: Arc<dyn AuditSink>) -> Self {
        Auditor { sink }
    }

    pub fn emit(&self, mut event: AuditEvent) {
        redact_event(&mut event);
        self.sink.emit(&event);
    }
}

const SECRET_KEYS: &[&str] = &[
    "token",
    "session_token",
    "cookie",
    "set_cookie",
    "authorization",
    "password",
    "secret",
    "client_secret",
    "api_key",
    "admin_token",
    "traits",
    "body",
    "assertion",
    "code",
    "refresh_token",
    "access_token",
    "id_token",
];

/// Redact an event in place: secret-named attributes, JWT-shaped strings, Ory token prefixes.
pub fn redact_event(e: &mut AuditEvent) {
    for v in [&mut e.actor, &mut e.target_id, &mut e.request_id].into_iter().flatten() {
        if looks_secret(v) {
            *v = "***".into();
        }
    }
    for (k, v) in e.attributes.iter_mut() {
        redact_value(k, v);
    }
}

fn redact_value(key: &str, v: &mut Value) {
    let lk = key.to_ascii_lowercase();
    // `key` is `s` or ends with `_s`; no allocation: this runs for every attribute of every event.
    if SECRET_KEYS.iter().any(|s| lk == *s || lk.strip_suffix(s).is_some_and(|p| p.ends_with('_'))) {
        *v = Value::String("***".into());
        return;
    }
    match v {
        Value::String(s) if looks_secret(s) => *s = "***".into(),
        Value::Array(a) => a.iter_mut().for_each(|x| redact_value("", x)),
        Value::Object(m) => m.iter_mut().for_each(|(k, x)| redact_value(k, x)),
        _ => {}
    }
}

/// JWTs (three base64url segments), Ory session/API tokens, cookie pairs.
pub fn looks_secret(s: &str) -> bool {
    const PREFIXES: &[&str] =
        &["ory_st_", "ory_pat_", "ory_apikey_", "ory_ht_", "ory_at_", "ory_rt_", "ory_ac_", "ory_wak_"];
    if PREFIXES.iter().any(|p| s.contains(p)) {
        return true;
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() == 3
        && parts.iter().all(|p| p.len() >= 4 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        && s.starts_with("ey")
    {
        return true;
    }
    s.contains('=') && s.contains("ory_kratos_session")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_before_sinks() {
        let mut e = AuditEvent::new(names::AUTH_SUCCESS, "t", "success")
            .attr("session_token", "ory_st_abc")
            .attr("note", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
            .attr("traits", serde_json::json!({"email": "a@b.c"}))
            .attr("cache_hit", true);
        redact_event(&mut e);
        let s = serde_json::to_string(&e).unwrap();
        assert!(!s.contains("ory_st_abc") && !s.contains("eyJ") && !s.contains("a@b.c"), "{s}");
        assert_eq!(e.attributes["cache_hit"], Value::Bool(true));
    }
}

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
    pub const AUTHZ_ROLE_DENY: &str = "authz.role.deny";
    pub const AUTHZ_PERMISSION_REVOKE: &str = "authz.permission.revoke";
    pub const AUTHZ_PERMISSION_DELETE_MATCHING: &str = "authz.permission.delete_matching";
    pub const AUTHZ_UPSTREAM_UNAVAILABLE: &str = "authz.upstream_unavailable";
    pub const AUTHZ_SESSION_REVOKE: &str = "authz.session.revoke";
    pub const AUTHZ_SESSION_REVOKE_ALL: &str = "authz.session.revoke_all";
    pub const IDENTITY_RECOVERY_CREATE: &str = "identity.recovery.create";
    pub const IDENTITY_DELETE: &str = "identity.delete";
    pub const IDENTITY_CREDENTIAL_DELETE: &str = "identity.credential.delete";
    pub const PROJECT_PURGE: &str = "project.purge";
    pub const PROJECT_API_KEY_DELETE: &str = "project.api_key.delete";
    pub const WORKSPACE_API_KEY_DELETE: &str = "workspace.api_key.delete";
    pub const EVENT_STREAM_DELETE: &str = "event_stream.delete";
    pub const OAUTH2_CLIENT_DELETE: &str = "oauth2_client.delete";
    pub const IDENTITY_CREATE: &str = "identity.create";
    pub const IDENTITY_UPDATE: &str = "identity.update";
    pub const IDENTITY_PATCH: &str = "identity.patch";
    pub const SESSION_EXTEND: &str = "session.extend";
    pub const SESSION_LOGOUT: &str = "session.logout";
    pub const COURIER_MESSAGE_BODY_READ: &str = "courier.message.body_read";
    pub const JWK_SET_CREATE: &str = "jwk.set.create";
    pub const JWK_SET_UPDATE: &str = "jwk.set.update";
    pub const JWK_SET_DELETE: &str = "jwk.set.delete";
    pub const JWK_KEY_UPDATE: &str = "jwk.key.update";
    pub const JWK_KEY_DELETE: &str = "jwk.key.delete";
    pub const TRUSTED_ISSUER_TRUST: &str = "trusted_issuer.trust";
    pub const TRUSTED_ISSUER_DELETE: &str = "trusted_issuer.delete";
    pub const OAUTH2_CLIENT_CREATE: &str = "oauth2_client.create";
    pub const OAUTH2_CLIENT_SET: &str = "oauth2_client.set";
    pub const OAUTH2_CLIENT_PATCH: &str = "oauth2_client.patch";
    pub const OAUTH2_CLIENT_LIFESPANS_SET: &str = "oauth2_client.lifespans.set";
    pub const OAUTH2_CLIENT_ACCESS_TOKENS_DELETE: &str = "oauth2_client.access_tokens.delete";
    pub const OAUTH2_CLIENT_REGISTER: &str = "oauth2_client.register";
    pub const OAUTH2_CLIENT_REGISTERED_SET: &str = "oauth2_client.registered.set";
    pub const OAUTH2_CLIENT_REGISTERED_DELETE: &str = "oauth2_client.registered.delete";
    pub const OAUTH2_CONSENT_REVOKE: &str = "oauth2.consent.revoke";
    pub const OAUTH2_LOGIN_SESSION_REVOKE: &str = "oauth2.login_session.revoke";
    pub const PROJECT_CREATE: &str = "project.create";
    pub const PROJECT_SET: &str = "project.set";
    pub const PROJECT_API_KEY_CREATE: &str = "project.api_key.create";
    pub const WORKSPACE_CREATE: &str = "workspace.create";
    pub const WORKSPACE_UPDATE: &str = "workspace.update";
    pub const WORKSPACE_API_KEY_CREATE: &str = "workspace.api_key.create";
    pub const EVENT_STREAM_CREATE: &str = "event_stream.create";
    pub const EVENT_STREAM_SET: &str = "event_stream.set";
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

    /// The event of one mutation sent to Ory: `success`, `denied` when Ory refused this library's
    /// credential (401/403), else `failure` with attribute `error` (the error code); the request
    /// id of the Ory call either way. `outcome` is `Ok(request id)` or the call's error.
    pub(crate) fn mutation(name: &str, tenant: &str, outcome: std::result::Result<&str, &crate::Error>) -> Self {
        match outcome {
            Ok(rid) => AuditEvent::new(name, tenant, "success").request_id(Some(rid.to_owned())),
            Err(e) => {
                let result = match e.kind() {
                    crate::ErrorKind::Unauthorized | crate::ErrorKind::Forbidden => "denied",
                    _ => "failure",
                };
                AuditEvent::new(name, tenant, result)
                    .request_id(e.request_id().map(str::to_owned))
                    .attr("error", e.code())
            }
        }
    }

    pub(crate) fn target_opt(mut self, id: Option<&str>) -> Self {
        self.target_id = id.filter(|s| !s.is_empty()).map(str::to_owned);
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

    /// True for a sink that drops every event (`audit.sink: none`): events for it are then not
    /// built or redacted at all.
    fn discards(&self) -> bool {
        false
    }
}

/// Writes events through `tracing` on target `ory_iam::audit`: successes at INFO, failures and
/// denials at WARN (what an operator's default filter should not hide).
pub struct LogSink;

impl AuditSink for LogSink {
    fn emit(&self, event: &AuditEvent) {
        let json = serde_json::to_string(event).unwrap_or_default();
        if event.result == "success" {
            tracing::info!(target: "ory_iam::audit", name = %event.name, tenant = %event.tenant, event = %json);
        } else {
            tracing::warn!(target: "ory_iam::audit", name = %event.name, tenant = %event.tenant, event = %json);
        }
    }
}

pub struct NoneSink;

impl AuditSink for NoneSink {
    fn emit(&self, _: &AuditEvent) {}

    fn discards(&self) -> bool {
        true
    }
}

/// For the bindings' log bridges: whether a callsite is one they forward, i.e. an event (or an
/// `enabled!` hint) of this library. Never a span: nothing in Python or JS reads them (their
/// OpenTelemetry helpers use each operation's report), and a span per Ory request would
/// otherwise be made, entered on every poll and closed in the subscriber's registry.
pub fn bridged(meta: &tracing::Metadata<'_>) -> bool {
    !meta.is_span() && meta.target().starts_with("ory_iam")
}

/// [`bridged`] as a bridge layer's `register_callsite` answer: `sometimes` (the layer's
/// `enabled` decides per record, from its level) or `never`.
pub fn bridge_interest(meta: &tracing::Metadata<'_>) -> tracing::subscriber::Interest {
    if bridged(meta) {
        tracing::subscriber::Interest::sometimes()
    } else {
        tracing::subscriber::Interest::never()
    }
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
    redactor: Arc<Redactor>,
}

impl Auditor {
    pub fn new(sink: Arc<dyn AuditSink>) -> Self {
        Auditor { sink, redactor: Arc::new(Redactor::default()) }
    }

    /// With the user's redaction patterns (`audit.redact_patterns`) besides the built-in rules.
    pub fn with_redactor(sink: Arc<dyn AuditSink>, redactor: Redactor) -> Self {
        Auditor { sink, redactor: Arc::new(redactor) }
    }

    pub fn emit(&self, mut event: AuditEvent) {
        if self.sink.discards() {
            return;
        }
        self.redactor.redact(&mut event);
        self.sink.emit(&event);
    }

    /// Whether events reach a sink (not `audit.sink: none`): a hot path builds its event only then.
    pub fn enabled(&self) -> bool {
        !self.sink.discards()
    }
}

/// The built-in redaction rules plus user-added regular expressions: every part of a string
/// value (actor, target, request id, attributes at any depth) that one of them matches becomes
/// `***`.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    patterns: Vec<regex::Regex>,
}

impl Redactor {
    /// Compiles each pattern (Rust `regex` syntax); the error names the offending index.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> std::result::Result<Self, (usize, String)> {
        let patterns = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| {
                regex::RegexBuilder::new(p.as_ref()).size_limit(1 << 20).build().map_err(|e| (i, short_regex_error(&e)))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Redactor { patterns })
    }

    pub fn redact(&self, e: &mut AuditEvent) {
        redact_event(e);
        if self.patterns.is_empty() {
            return;
        }
        for v in [&mut e.actor, &mut e.target_id, &mut e.request_id].into_iter().flatten() {
            self.apply(v);
        }
        e.attributes.values_mut().for_each(|v| self.apply_value(v));
    }

    fn apply(&self, s: &mut String) {
        for p in &self.patterns {
            if p.is_match(s) {
                *s = p.replace_all(s, "***").into_owned();
            }
        }
    }

    fn apply_value(&self, v: &mut Value) {
        match v {
            Value::String(s) => self.apply(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.apply_value(x)),
            Value::Object(m) => m.values_mut().for_each(|x| self.apply_value(x)),
            _ => {}
        }
    }
}

/// The regex error's kind without echoing the pattern back (it may hold what it redacts).
fn short_regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(_) => "is too large".into(),
        _ => "is not a valid regular expression".into(),
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
    // Self-hosted Kratos's cookie, and Ory Network's `ory_session_<slug>`.
    s.contains('=') && (s.contains("ory_kratos_session") || s.contains("ory_session_"))
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

    #[test]
    fn session_cookie_pairs_look_secret_self_hosted_and_on_ory_network() {
        assert!(looks_secret("a=1; ory_kratos_session=MTYy"));
        assert!(looks_secret("ory_session_happycat123=MTYy"));
        assert!(!looks_secret("ory_session_happycat123"), "a cookie name alone is no secret");
    }

    #[test]
    fn user_patterns_redact_every_string_at_any_depth() {
        let r = Redactor::new(&[r"[\w.+-]+@[\w-]+\.[\w.]+", "acct-[0-9]+"]).unwrap();
        let mut e = AuditEvent::new(names::IDENTITY_CREATE, "t", "success")
            .target("acct-42")
            .attr("note", "mail ada@example.com now")
            .attr("deep", serde_json::json!({"list": ["x acct-7 y"]}));
        r.redact(&mut e);
        let s = serde_json::to_string(&e).unwrap();
        assert!(!s.contains("example.com") && !s.contains("acct-"), "{s}");
        assert_eq!(e.attributes["note"], Value::String("mail *** now".into()));
        assert_eq!(Redactor::new(&["ok", "(unclosed"]).unwrap_err().0, 1);
    }
}

//! The HTTP answer for an ory-iam error, written once for every framework adapter (Express,
//! NestJS, Starlette/FastAPI): the status per error kind, the `WWW-Authenticate` challenge per
//! transport (RFC 9110 §11.6.1, RFC 6750 §3), `Retry-After`, the JSON body and the roles a
//! session holds by default. The adapters collect the facts (what an error carries, what the
//! request showed) and send whatever [`http_answer`] returns.
//!
//! The body is `{"statusCode", "error", "requestId"?, "fields"?}`: the stable error code, never
//! the error's message, never anything from upstream and never a credential. `fields` (the
//! offending inputs, named and explained by this library) only on a 400.

use crate::config::Transport;
use crate::error::{Error, ErrorKind, FieldError};
use serde_json::Value;
use std::time::Duration;

/// The realm of a challenge when neither the caller nor the error names a tenant.
pub const DEFAULT_REALM: &str = "ory-iam";

/// What is known about the error: what the bindings' error objects carry.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorFacts {
    pub kind: ErrorKind,
    /// Ory's request id (or the incoming `X-Request-Id`), echoed so support can find the call.
    pub request_id: Option<String>,
    /// How long the outage lasts, when the library knows (an open breaker, a 429/503 with
    /// `Retry-After`).
    pub retry_after: Option<Duration>,
    /// Offending inputs (answered on a 400 only).
    pub fields: Vec<FieldError>,
    /// The tenant the error happened in: the challenge's realm unless the context names one.
    pub tenant: Option<String>,
}

impl ErrorFacts {
    pub fn new(kind: ErrorKind) -> Self {
        ErrorFacts { kind, request_id: None, retry_after: None, fields: Vec::new(), tenant: None }
    }

    /// The facts of an error code as the bindings hand it over; a code that is not one of ours
    /// is answered as `internal` (500), never echoed.
    pub fn from_code(code: &str) -> Self {
        Self::new(ErrorKind::from_code(code).unwrap_or(ErrorKind::Internal))
    }
}

impl From<&Error> for ErrorFacts {
    fn from(e: &Error) -> Self {
        ErrorFacts {
            kind: e.kind(),
            request_id: e.request_id().map(str::to_owned),
            retry_after: e.retry_after(),
            fields: e.fields().to_vec(),
            tenant: e.tenant().map(str::to_owned),
        }
    }
}

/// What the adapter knows about the request and the route.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnswerContext {
    /// Which credentials the route accepts: picks the challenge of a 401. A route that takes
    /// OAuth2 tokens only says `Bearer`.
    pub transport: Transport,
    /// The challenge's realm; default the error's tenant, else [`DEFAULT_REALM`].
    pub realm: Option<String>,
    /// The request carried a bearer token (then a 401 says `error="invalid_token"`).
    pub bearer_presented: bool,
    /// The scopes the route needs: a 403 with scopes is a bearer `insufficient_scope`.
    pub required_scopes: Vec<String>,
    /// `Retry-After` for an outage whose length the library does not know.
    pub retry_after_fallback: Option<Duration>,
}

/// The JSON body of an error answer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status_code: u16,
    /// The error code (`unauthorized`, `forbidden`, …).
    pub error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// On a 400 with named inputs only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

/// Status, headers (lower-case names) and body to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: ErrorBody,
}

impl HttpAnswer {
    pub fn body_json(&self) -> Value {
        serde_json::to_value(&self.body).unwrap_or(Value::Null)
    }
}

/// The status per error kind.
pub fn status_of(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::Unauthorized => 401,
        ErrorKind::Forbidden => 403,
        ErrorKind::Validation => 400,
        ErrorKind::NotFound => 404,
        ErrorKind::Conflict => 409,
        ErrorKind::UpstreamUnavailable => 503,
        ErrorKind::Configuration | ErrorKind::Internal => 500,
    }
}

/// The HTTP answer for an error.
///
/// - 401: `WWW-Authenticate` for the context's transport (see [`www_authenticate`]), with
///   `error="invalid_token"` in the Bearer challenge when a bearer token was presented.
/// - 403 with required scopes: `WWW-Authenticate: Bearer …, error="insufficient_scope",
///   scope="…"`; any other 403 has no challenge.
/// - 503: `Retry-After` when the error carries a wait or the context has a fallback (whole
///   seconds, rounded up, at least 1); a refused connection says nothing about when.
pub fn http_answer(facts: &ErrorFacts, ctx: &AnswerContext) -> HttpAnswer {
    let status = status_of(facts.kind);
    let realm = [ctx.realm.as_deref(), facts.tenant.as_deref()]
        .into_iter()
        .flatten()
        .find(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REALM);
    let mut headers = Vec::new();
    match facts.kind {
        ErrorKind::Unauthorized => {
            let error = ctx.bearer_presented.then_some("invalid_token");
            headers.push(("www-authenticate", www_authenticate(ctx.transport, realm, error, &[])));
        }
        ErrorKind::Forbidden if !ctx.required_scopes.is_empty() => {
            let challenge =
                www_authenticate(Transport::Bearer, realm, Some("insufficient_scope"), &ctx.required_scopes);
            headers.push(("www-authenticate", challenge));
        }
        ErrorKind::UpstreamUnavailable => {
            let secs = facts
                .retry_after
                .and_then(retry_after_seconds)
                .or_else(|| ctx.retry_after_fallback.and_then(retry_after_seconds));
            if let Some(s) = secs {
                headers.push(("retry-after", s.to_string()));
            }
        }
        _ => {}
    }
    let fields = (status == 400 && !facts.fields.is_empty()).then(|| facts.fields.clone());
    let body = ErrorBody {
        status_code: status,
        error: facts.kind.code(),
        request_id: facts.request_id.clone().filter(|r| !r.is_empty()),
        fields,
    };
    HttpAnswer { status, headers, body }
}

/// The challenge for a transport. `bearer` → `Bearer realm="t"` (+ RFC 6750 `error`, `scope`);
/// `cookie` → `Cookie realm="t"` (no standard scheme exists for session cookies, and browsers
/// ignore it, but RFC 9110 wants a challenge on every 401 and it tells API clients which
/// credential to bring); `cookie-or-bearer` and `oathkeeper` (whose proxy accepts either) →
/// both, Bearer first. `error` and `scope` belong to the Bearer challenge only.
pub fn www_authenticate(transport: Transport, realm: &str, error: Option<&str>, scope: &[String]) -> String {
    let mut bearer = format!("Bearer realm={}", quote(realm));
    if let Some(e) = error {
        bearer.push_str(&format!(", error={}", quote(e)));
    }
    if !scope.is_empty() {
        bearer.push_str(&format!(", scope={}", quote(&scope.join(" "))));
    }
    let cookie = format!("Cookie realm={}", quote(realm));
    match transport {
        Transport::Bearer => bearer,
        Transport::Cookie => cookie,
        Transport::CookieOrBearer | Transport::Oathkeeper => format!("{bearer}, {cookie}"),
    }
}

/// An RFC 9110 quoted-string. Anything but printable ASCII becomes `?`, so a header value can
/// neither break a line nor be refused by the framework (Node rejects most non-Latin-1 text).
fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

/// `Retry-After` seconds for a wait: rounded up, at least 1; `None` for no wait at all.
pub fn retry_after_seconds(wait: Duration) -> Option<u64> {
    if wait.is_zero() {
        return None;
    }
    let up = u64::from(wait.subsec_nanos() > 0);
    Some(wait.as_secs().saturating_add(up).max(1))
}

/// Seconds as the bindings hand them over (a float) → a wait: `None` for NaN, zero or less;
/// anything too large for a `Duration` saturates.
pub fn wait_from_secs(secs: f64) -> Option<Duration> {
    if secs.is_nan() || secs <= 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// The answer of a readiness route over `Iam::health` (every framework adapter's health helper,
/// the same in each language): 200 when `healthy`, else 503, and the body
/// `{"status": "up"|"down", "tenants": {"<tenant>": {"<product>": "up"|"down"}}}`. Names and
/// states only — no URL, reason, version, warning or credential: such routes are often public,
/// and must not describe the deployment. `probes`: (tenant, product, healthy).
pub fn health_answer<'a>(healthy: bool, probes: impl IntoIterator<Item = (&'a str, &'a str, bool)>) -> (u16, Value) {
    let state = |up: bool| Value::from(if up { "up" } else { "down" });
    let mut tenants = serde_json::Map::new();
    for (tenant, product, up) in probes {
        let t = tenants.entry(tenant).or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(t) = t {
            // A product probed twice (it never is) is up only if every probe is.
            let was = t.get(product).is_none_or(|v| v == "up");
            t.insert(product.to_owned(), state(up && was));
        }
    }
    let status = if healthy { 200 } else { 503 };
    (status, serde_json::json!({"status": state(healthy), "tenants": tenants}))
}

/// The ory-nestjs roles rule: `identity.metadata_public.roles` when that key is present, else
/// `identity.traits.roles`; the strings of the array found (anything else: no roles). The
/// framework adapters' default passes no traits ([`roles_from_metadata`]); apps opt into this
/// rule with a `roles` callback.
///
/// Public metadata is the admin's channel (only the admin API writes it) and wins outright, even
/// when it is an empty list: traits are edited by the user through the settings flow, so an app
/// that reads them must keep users from writing a `roles` trait (docs/api/frameworks.md).
pub fn roles_of_identity(metadata_public: Option<&Value>, traits: Option<&Value>) -> Vec<String> {
    let strings = |v: &Value| match v {
        Value::Array(roles) => roles.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    match metadata_public.and_then(|m| m.get("roles")) {
        Some(v) if !v.is_null() => strings(v),
        _ => traits.and_then(|t| t.get("roles")).map(strings).unwrap_or_default(),
    }
}

/// The roles a session holds by default (the rule of every framework adapter, in every
/// language): `identity.metadata_public.roles` alone, never traits (users write their own).
pub fn roles_from_metadata(metadata_public: Option<&Value>) -> Vec<String> {
    roles_of_identity(metadata_public, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(kind: ErrorKind) -> ErrorFacts {
        ErrorFacts { tenant: Some("t".into()), ..ErrorFacts::new(kind) }
    }

    fn header<'a>(a: &'a HttpAnswer, name: &str) -> Option<&'a str> {
        a.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn status_per_kind() {
        let want = [
            (ErrorKind::Configuration, 500),
            (ErrorKind::Unauthorized, 401),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::Conflict, 409),
            (ErrorKind::Validation, 400),
            (ErrorKind::UpstreamUnavailable, 503),
            (ErrorKind::Internal, 500),
        ];
        for (kind, status) in want {
            let a = http_answer(&facts(kind), &AnswerContext::default());
            assert_eq!(a.status, status, "{kind:?}");
            assert_eq!(a.body_json(), json!({"statusCode": status, "error": kind.code()}), "{kind:?}");
        }
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
        }
    }

    #[test]
    fn unknown_code_is_internal_and_not_echoed() {
        let a = http_answer(&ErrorFacts::from_code("ENOENT <script>"), &AnswerContext::default());
        assert_eq!(a.status, 500);
        assert_eq!(a.body.error, "internal");
        assert!(a.headers.is_empty());
    }

    #[test]
    fn challenge_per_transport() {
        let cases = [
            (Transport::Bearer, false, r#"Bearer realm="t""#),
            (Transport::Bearer, true, r#"Bearer realm="t", error="invalid_token""#),
            (Transport::Cookie, false, r#"Cookie realm="t""#),
            (Transport::Cookie, true, r#"Cookie realm="t""#),
            (Transport::CookieOrBearer, false, r#"Bearer realm="t", Cookie realm="t""#),
            (Transport::CookieOrBearer, true, r#"Bearer realm="t", error="invalid_token", Cookie realm="t""#),
            (Transport::Oathkeeper, false, r#"Bearer realm="t", Cookie realm="t""#),
        ];
        for (transport, bearer_presented, want) in cases {
            let ctx = AnswerContext { transport, bearer_presented, ..Default::default() };
            let a = http_answer(&facts(ErrorKind::Unauthorized), &ctx);
            assert_eq!(a.headers, vec![("www-authenticate", want.to_owned())], "{transport:?} {bearer_presented}");
        }
    }

    #[test]
    fn realm_from_context_then_tenant_then_default() {
        let ctx = AnswerContext { transport: Transport::Cookie, realm: Some("r".into()), ..Default::default() };
        assert_eq!(
            header(&http_answer(&facts(ErrorKind::Unauthorized), &ctx), "www-authenticate"),
            Some(r#"Cookie realm="r""#)
        );
        let ctx = AnswerContext { transport: Transport::Cookie, ..Default::default() };
        assert_eq!(
            header(&http_answer(&facts(ErrorKind::Unauthorized), &ctx), "www-authenticate"),
            Some(r#"Cookie realm="t""#)
        );
        let bare = ErrorFacts::new(ErrorKind::Unauthorized);
        assert_eq!(header(&http_answer(&bare, &ctx), "www-authenticate"), Some(r#"Cookie realm="ory-iam""#));
        let ctx = AnswerContext { transport: Transport::Cookie, realm: Some(String::new()), ..Default::default() };
        assert_eq!(header(&http_answer(&bare, &ctx), "www-authenticate"), Some(r#"Cookie realm="ory-iam""#));
    }

    #[test]
    fn quoting_escapes_and_replaces_what_a_header_cannot_carry() {
        let ctx = AnswerContext {
            transport: Transport::Cookie,
            realm: Some("a\"b\\c\r\nX-Evil: 1 é".into()),
            ..Default::default()
        };
        let a = http_answer(&facts(ErrorKind::Unauthorized), &ctx);
        assert_eq!(header(&a, "www-authenticate"), Some(r#"Cookie realm="a\"b\\c??X-Evil: 1 ?""#));
    }

    #[test]
    fn insufficient_scope() {
        let ctx = AnswerContext {
            transport: Transport::Cookie,
            required_scopes: vec!["read".into(), "write".into()],
            bearer_presented: true,
            ..Default::default()
        };
        let a = http_answer(&facts(ErrorKind::Forbidden), &ctx);
        assert_eq!(a.status, 403);
        assert_eq!(
            header(&a, "www-authenticate"),
            Some(r#"Bearer realm="t", error="insufficient_scope", scope="read write""#)
        );
        // A 403 without scopes (a role, a Keto denial) has no challenge.
        let a = http_answer(&facts(ErrorKind::Forbidden), &AnswerContext::default());
        assert!(a.headers.is_empty());
        // A 401 never names the scope.
        let a = http_answer(&facts(ErrorKind::Unauthorized), &ctx);
        assert_eq!(header(&a, "www-authenticate"), Some(r#"Cookie realm="t""#));
    }

    #[test]
    fn retry_after() {
        let with = |retry: Option<Duration>, fallback: Option<Duration>| {
            let f = ErrorFacts { retry_after: retry, ..facts(ErrorKind::UpstreamUnavailable) };
            let a = http_answer(&f, &AnswerContext { retry_after_fallback: fallback, ..Default::default() });
            header(&a, "retry-after").map(str::to_owned)
        };
        assert_eq!(with(None, None), None);
        assert_eq!(with(Some(Duration::ZERO), None), None);
        assert_eq!(with(Some(Duration::from_millis(1)), None).as_deref(), Some("1"));
        assert_eq!(with(Some(Duration::from_millis(2_500)), None).as_deref(), Some("3"));
        assert_eq!(with(Some(Duration::from_secs(4)), Some(Duration::from_secs(9))).as_deref(), Some("4"));
        assert_eq!(with(None, Some(Duration::from_millis(7_500))).as_deref(), Some("8"));
        assert_eq!(with(Some(Duration::ZERO), Some(Duration::from_secs(2))).as_deref(), Some("2"));
        assert_eq!(with(Some(Duration::MAX), None), Some(u64::MAX.to_string()));
        // Only a 503 says when to come back.
        let f = ErrorFacts { retry_after: Some(Duration::from_secs(3)), ..facts(ErrorKind::Forbidden) };
        assert!(http_answer(&f, &AnswerContext::default()).headers.is_empty());
    }

    #[test]
    fn seconds_from_the_bindings() {
        assert_eq!(wait_from_secs(f64::NAN), None);
        assert_eq!(wait_from_secs(0.0), None);
        assert_eq!(wait_from_secs(-3.0), None);
        assert_eq!(wait_from_secs(f64::NEG_INFINITY), None);
        assert_eq!(wait_from_secs(0.25), Some(Duration::from_millis(250)));
        assert_eq!(wait_from_secs(f64::INFINITY), Some(Duration::MAX));
        assert_eq!(wait_from_secs(1e300), Some(Duration::MAX));
        assert_eq!(retry_after_seconds(Duration::from_nanos(1)), Some(1));
        assert_eq!(retry_after_seconds(Duration::new(u64::MAX, 1)), Some(u64::MAX));
    }

    #[test]
    fn body_request_id_and_fields() {
        let field = FieldError { path: "id".into(), reason: "must be a UUID".into(), ..Default::default() };
        let f = ErrorFacts {
            request_id: Some("req-1".into()),
            fields: vec![field.clone()],
            ..facts(ErrorKind::Validation)
        };
        let a = http_answer(&f, &AnswerContext::default());
        assert_eq!(
            a.body_json(),
            json!({"statusCode": 400, "error": "validation", "requestId": "req-1",
                   "fields": [{"path": "id", "reason": "must be a UUID"}]})
        );
        // Fields are a 400's only (a configuration error's are config paths, not for clients).
        let f = ErrorFacts { fields: vec![field], request_id: Some(String::new()), ..facts(ErrorKind::Configuration) };
        assert_eq!(
            http_answer(&f, &AnswerContext::default()).body_json(),
            json!({"statusCode": 500, "error": "configuration"})
        );
    }

    #[test]
    fn facts_of_an_error_never_carry_its_message() {
        let e = Error::new(ErrorKind::Validation, "secret-looking ory_st_abcdefgh").with_tenant("customer");
        let a = http_answer(&ErrorFacts::from(&e), &AnswerContext::default());
        let text = a.body_json().to_string() + &format!("{:?}", a.headers);
        assert!(!text.contains("ory_st_"), "{text}");
        let v = Error::invalid_field("id", "must be a UUID").with_tenant("customer").with_request_id("r-9");
        let a = http_answer(&ErrorFacts::from(&v), &AnswerContext::default());
        assert_eq!(
            a.body_json(),
            json!({"statusCode": 400, "error": "validation", "requestId": "r-9",
                   "fields": [{"path": "id", "reason": "must be a UUID"}]})
        );
        let u = Error::new(ErrorKind::UpstreamUnavailable, "down")
            .with_tenant("customer")
            .with_retry_after(Some(Duration::from_millis(1_200)));
        let a = http_answer(&ErrorFacts::from(&u), &AnswerContext::default());
        assert_eq!(header(&a, "retry-after"), Some("2"));
    }

    #[test]
    fn roles() {
        assert_eq!(roles_from_metadata(None), Vec::<String>::new());
        assert_eq!(roles_from_metadata(Some(&json!(null))), Vec::<String>::new());
        assert_eq!(roles_from_metadata(Some(&json!({"roles": "admin"}))), Vec::<String>::new());
        assert_eq!(roles_from_metadata(Some(&json!(["admin"]))), Vec::<String>::new());
        assert_eq!(
            roles_from_metadata(Some(&json!({"roles": ["admin", 1, null, {"x": 1}, "billing"]}))),
            ["admin", "billing"]
        );
    }

    #[test]
    fn roles_metadata_first_then_traits() {
        let traits = json!({"email": "a@example.com", "roles": ["editor", 7]});
        // No `roles` in metadata (or no metadata, or null): the traits' roles.
        assert_eq!(roles_of_identity(None, Some(&traits)), ["editor"]);
        assert_eq!(roles_of_identity(Some(&json!({"plan": "pro"})), Some(&traits)), ["editor"]);
        assert_eq!(roles_of_identity(Some(&json!({"roles": null})), Some(&traits)), ["editor"]);
        // Metadata's roles win outright, an empty list or a non-list included: traits are
        // self-service and never add to (or replace) what the admin set.
        assert_eq!(roles_of_identity(Some(&json!({"roles": ["admin"]})), Some(&traits)), ["admin"]);
        assert_eq!(roles_of_identity(Some(&json!({"roles": []})), Some(&traits)), Vec::<String>::new());
        assert_eq!(roles_of_identity(Some(&json!({"roles": "admin"})), Some(&traits)), Vec::<String>::new());
        assert_eq!(roles_of_identity(None, Some(&json!({"roles": "admin"}))), Vec::<String>::new());
        assert_eq!(roles_of_identity(None, None), Vec::<String>::new());
    }

    #[test]
    fn health_answer_names_states_only() {
        let probes =
            [("customer", "kratos-public", false), ("customer", "keto-read", true), ("admin", "hydra-admin", true)];
        let (status, body) = health_answer(false, probes);
        assert_eq!(status, 503);
        assert_eq!(
            body,
            json!({"status": "down", "tenants": {
                "customer": {"kratos-public": "down", "keto-read": "up"},
                "admin": {"hydra-admin": "up"}}})
        );
        let (status, body) = health_answer(true, [("customer", "kratos-public", true)]);
        assert_eq!((status, &body["status"]), (200, &json!("up")));
        // A product probed twice is up only if every probe is.
        let (_, body) = health_answer(false, [("t", "kratos-admin", true), ("t", "kratos-admin", false)]);
        assert_eq!(body["tenants"]["t"]["kratos-admin"], "down");
    }
}

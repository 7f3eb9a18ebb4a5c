//! The core's HTTP answer policy (`ory_iam::answer`) for the Express and NestJS adapters:
//! convert the facts, call the core, convert the answer.

use crate::errors::IntoNapi;
use napi_derive::napi;
use ory_iam::answer::{self, AnswerContext, ErrorFacts};
use ory_iam::Transport;
use serde_json::Value;
use std::collections::HashMap;

/// One offending input, as `IamError.fields` lists it.
#[napi(object)]
pub struct HttpFieldError {
    pub path: String,
    pub reason: String,
}

/// What an error carries (an `IamError`'s `code`, `requestId`, `retryAfter`, `fields`, `tenant`).
#[napi(object)]
pub struct HttpAnswerFacts {
    /// The error code; one that is not ory-iam's is answered as `internal` (500).
    pub code: String,
    pub request_id: Option<String>,
    /// Seconds.
    pub retry_after: Option<f64>,
    pub fields: Option<Vec<HttpFieldError>>,
    pub tenant: Option<String>,
}

/// What the adapter knows about the request and the route.
#[napi(object)]
pub struct HttpAnswerContext {
    /// Picks the 401 challenge; default `cookie-or-bearer`.
    #[napi(ts_type = "'cookie' | 'bearer' | 'cookie-or-bearer' | 'oathkeeper'")]
    pub transport: Option<String>,
    /// The challenge's realm; default the error's tenant, else `ory-iam`.
    pub realm: Option<String>,
    /// The request carried a bearer token (a 401 then says `error="invalid_token"`).
    pub bearer_presented: Option<bool>,
    /// The route's scopes: a 403 with scopes is a Bearer `insufficient_scope`.
    pub required_scopes: Option<Vec<String>>,
    /// `Retry-After` seconds for an outage of unknown length.
    pub retry_after_fallback: Option<f64>,
}

/// The JSON body: the code, never the message.
#[napi(object)]
pub struct HttpErrorBody {
    pub status_code: u32,
    pub error: String,
    pub request_id: Option<String>,
    /// On a 400 with named inputs only.
    pub fields: Option<Vec<HttpFieldError>>,
}

/// Status, headers (lower-case names) and body to send.
#[napi(object)]
pub struct HttpAnswer {
    pub status: u32,
    pub headers: HashMap<String, String>,
    pub body: HttpErrorBody,
}

fn field(f: ory_iam::FieldError) -> HttpFieldError {
    HttpFieldError { path: f.path, reason: f.reason }
}

/// The HTTP answer for an error (the same in Python): status per code, `WWW-Authenticate`
/// per transport, `Retry-After` on a 503 when the wait is known or a fallback is given, and
/// the body `{ statusCode, error, requestId?, fields? }`.
#[napi]
pub fn http_answer(facts: HttpAnswerFacts, context: Option<HttpAnswerContext>) -> napi::Result<HttpAnswer> {
    crate::errors::catch(|| {
        let ctx = context.unwrap_or(HttpAnswerContext {
            transport: None,
            realm: None,
            bearer_presented: None,
            required_scopes: None,
            retry_after_fallback: None,
        });
        let transport = match ctx.transport.as_deref() {
            None => Transport::default(),
            Some(t) => Transport::parse(t)
                .ok_or_else(|| {
                    ory_iam::Error::invalid_field(
                        "transport",
                        "must be one of cookie, bearer, cookie-or-bearer, oathkeeper",
                    )
                })
                .napi()?,
        };
        let f = ErrorFacts {
            request_id: facts.request_id,
            retry_after: facts.retry_after.and_then(answer::wait_from_secs),
            fields: facts
                .fields
                .unwrap_or_default()
                .into_iter()
                .map(|f| ory_iam::FieldError { path: f.path, reason: f.reason, ..Default::default() })
                .collect(),
            tenant: facts.tenant,
            ..ErrorFacts::from_code(&facts.code)
        };
        let c = AnswerContext {
            transport,
            realm: ctx.realm,
            bearer_presented: ctx.bearer_presented.unwrap_or(false),
            required_scopes: ctx.required_scopes.unwrap_or_default(),
            retry_after_fallback: ctx.retry_after_fallback.and_then(answer::wait_from_secs),
        };
        let a = answer::http_answer(&f, &c);
        Ok(HttpAnswer {
            status: a.status.into(),
            headers: a.headers.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            body: HttpErrorBody {
                status_code: a.body.status_code.into(),
                error: a.body.error.to_owned(),
                request_id: a.body.request_id,
                fields: a.body.fields.map(|v| v.into_iter().map(field).collect()),
            },
        })
    })
}

/// The roles of an identity: `metadataPublic.roles` when that key is set, else `traits.roles`
/// (strings only; the core's rule, the same in Python).
#[napi(ts_args_type = "metadataPublic: unknown, traits?: unknown")]
pub fn roles_of(metadata_public: Option<Value>, traits: Option<Value>) -> Vec<String> {
    answer::roles_of_identity(metadata_public.as_ref(), traits.as_ref())
}

/// One probe of a health report, as `healthAnswer` reads it.
#[napi(object)]
pub struct HealthAnswerProbe {
    pub tenant: String,
    pub product: String,
    pub healthy: bool,
}

/// Status and body of a readiness route.
#[napi(object)]
pub struct HealthAnswer {
    pub status: u32,
    /// `{ status: 'up' | 'down', tenants: { [tenant]: { [product]: 'up' | 'down' } } }`.
    pub body: Value,
}

/// The answer of a readiness route for a health report (the same in Python): 200 when
/// `healthy`, else 503; the body names tenants, products and states only.
#[napi]
pub fn health_answer(healthy: bool, probes: Vec<HealthAnswerProbe>) -> HealthAnswer {
    let (status, body) =
        answer::health_answer(healthy, probes.iter().map(|p| (p.tenant.as_str(), p.product.as_str(), p.healthy)));
    HealthAnswer { status: u32::from(status), body }
}

/// The request id to serve one application request under: `incoming` (an `X-Request-Id`
/// header) when it is 1–200 visible ASCII characters, else a new UUID v4.
#[napi]
pub fn request_id_for(incoming: Option<String>) -> String {
    ory_iam::request_id_for(incoming.as_deref())
}

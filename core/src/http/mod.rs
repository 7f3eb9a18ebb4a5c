//! One HTTP client per tenant × Ory surface: timeouts, retries with backoff and jitter for
//! idempotent requests, `Retry-After`, a response size cap, `X-Request-Id`, and status → error
//! mapping. Upstream bodies are parsed into private wire types or dropped; never copied into
//! errors or logs.

mod breaker;
mod limiter;
pub(crate) mod tls;
pub(crate) mod transport;

pub(crate) use breaker::Breakers;
pub(crate) use transport::{HttpTransport, Outcome, Request};

use crate::config::HttpConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use breaker::{Admit, Breaker};
use bytes::Bytes;
use http::{HeaderMap, Method};
use limiter::TokenBucket;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// Which Ory API a client talks to; appears in errors, audit and health results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Product {
    KratosPublic,
    KratosAdmin,
    KetoRead,
    KetoWrite,
    /// Keto's OPL server (`serve.opl`): the syntax check only.
    KetoOpl,
    HydraPublic,
    HydraAdmin,
    Console,
    /// Oathkeeper's JWKS (the `jwt` verifier of the `oathkeeper` transport).
    OathkeeperJwks,
}

impl Product {
    pub fn as_str(self) -> &'static str {
        match self {
            Product::KratosPublic => "kratos-public",
            Product::KratosAdmin => "kratos-admin",
            Product::KetoRead => "keto-read",
            Product::KetoWrite => "keto-write",
            Product::KetoOpl => "keto-opl",
            Product::HydraPublic => "hydra-public",
            Product::HydraAdmin => "hydra-admin",
            Product::Console => "console",
            Product::OathkeeperJwks => "oathkeeper-jwks",
        }
    }
}

/// A client bound to one base URL. Cheap to clone.
#[derive(Clone)]
pub(crate) struct OryClient {
    inner: Arc<ClientInner>,
    /// Set on the clients of a `traced` handle: trace context to send, report to fill.
    op: Option<Arc<crate::telemetry::OpContext>>,
}

struct ClientInner {
    transport: Arc<dyn HttpTransport>,
    /// The tenant's pool: once closed, every request is refused, in-memory ones too.
    pool: Arc<HttpPool>,
    base: url::Url,
    token: Option<Secret>,
    cfg: HttpConfig,
    tenant: Arc<str>,
    product: Product,
    breaker: Arc<Breaker>,
    limiter: Option<TokenBucket>,
}

/// Everything an [`OryClient`] is built from.
pub(crate) struct ClientSpec<'a> {
    /// The tenant's transport (its connection pool, or an in-memory backend).
    pub transport: Arc<dyn HttpTransport>,
    pub pool: Arc<HttpPool>,
    pub base: &'a str,
    pub token: Option<Secret>,
    pub cfg: &'a HttpConfig,
    pub tenant: Arc<str>,
    pub product: Product,
    /// Shared by every client of the `Iam`: one breaker per host.
    pub breakers: &'a Breakers,
}

/// What to send. Built with the helpers below; `idempotent` decides whether retries are allowed.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: Vec<(&'a str, String)>,
    pub json: Option<serde_json::Value>,
    /// `application/x-www-form-urlencoded` body (OAuth2 endpoints).
    pub form: Option<Vec<(&'static str, String)>>,
    /// `text/plain` body (Keto's OPL syntax check).
    pub text: Option<String>,
    pub headers: HeaderMap,
    pub idempotent: bool,
    /// Neither asks nor informs the host's circuit breaker (diagnostics such as `health()`'s
    /// version lookups: a `/version` answer says nothing about the endpoints calls depend on).
    pub breaker_neutral: bool,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, path: &'a str) -> Self {
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS);
        Call {
            method,
            path,
            query: Vec::new(),
            json: None,
            form: None,
            text: None,
            headers: HeaderMap::new(),
            idempotent,
            breaker_neutral: false,
        }
    }
    pub fn get(path: &'a str) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn post(path: &'a str) -> Self {
        Self::new(Method::POST, path)
    }
    pub fn delete(path: &'a str) -> Self {
        Self::new(Method::DELETE, path)
    }
    pub fn patch(path: &'a str) -> Self {
        Self::new(Method::PATCH, path)
    }
    pub fn query(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.query.push((k, v.into()));
        self
    }
    pub fn json(mut self, v: serde_json::Value) -> Self {
        self.json = Some(v);
        self
    }
    pub fn form(mut self, fields: Vec<(&'static str, String)>) -> Self {
        self.form = Some(fields);
        self
    }
    pub fn text(mut self, body: String) -> Self {
        self.text = Some(body);
        self
    }
    /// `Authorization: Bearer <token>` for this call (an access token at `/userinfo`, a
    /// registration access token at `/oauth2/register/{id}`); it replaces the tenant's API key.
    pub fn bearer(mut self, token: &Secret) -> Self {
        if let Ok(mut h) = http::HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
            h.set_sensitive(true);
            self.headers.insert(http::header::AUTHORIZATION, h);
        }
        self
    }
    /// HTTP Basic client authentication (RFC 6749 §2.3.1: id and secret form-urlencoded first).
    pub fn basic_auth(mut self, id: &str, secret: &Secret) -> Self {
        use base64::Engine;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let raw = format!("{}:{}", enc(id), enc(secret.expose()));
        let v = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw));
        if let Ok(h) = http::HeaderValue::from_str(&v) {
            self.headers.insert(http::header::AUTHORIZATION, h);
        }
        self
    }
}

/// The path with ids replaced by `{id}`, so operation names stay low-cardinality and never
/// carry values (Keto objects, challenge strings).
fn route(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    path.split('/')
        .map(|seg| {
            let looks_like_id = seg.len() >= 16
                || (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
                || seg.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'));
            if looks_like_id {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A response whose body has been read (within the size cap).
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub request_id: String,
}

impl OryClient {
    pub fn new(spec: ClientSpec<'_>) -> Result<Self> {
        let ClientSpec { transport, pool, base, token, cfg, tenant, product, breakers } = spec;
        let mut base =
            url::Url::parse(base).map_err(|_| Error::configuration(format!("invalid {} URL", product.as_str())))?;
        // Join paths onto the base without dropping a path prefix (e.g. behind a proxy).
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let host = format!(
            "{}://{}:{}",
            base.scheme(),
            base.host_str().unwrap_or(""),
            base.port_or_known_default().unwrap_or(0)
        );
        let breaker = breakers.get(&host, cfg.breaker_threshold, Duration::from_millis(cfg.breaker_open_ms));
        let limiter = (cfg.rate_limit_per_sec > 0).then(|| {
            let burst = if cfg.rate_limit_burst > 0 { cfg.rate_limit_burst } else { cfg.rate_limit_per_sec };
            TokenBucket::new(cfg.rate_limit_per_sec as f64, burst.min(u32::MAX as u64) as u32)
        });
        Ok(OryClient {
            inner: Arc::new(ClientInner {
                transport,
                pool,
                base,
                token,
                cfg: cfg.clone(),
                tenant,
                product,
                breaker,
                limiter,
            }),
            op: None,
        })
    }

    /// The same client, reporting into `op` and sending its trace context.
    pub fn with_op(&self, op: Arc<crate::telemetry::OpContext>) -> OryClient {
        OryClient { inner: self.inner.clone(), op: Some(op) }
    }

    /// `closed`, `open` or `half_open`.
    pub fn breaker_state(&self) -> &'static str {
        self.inner.breaker.state_name()
    }

    pub fn product(&self) -> Product {
        self.inner.product
    }

    fn err(&self, kind: ErrorKind, msg: String, request_id: &str) -> Error {
        Error::new(kind, msg).with_tenant(&*self.inner.tenant).with_request_id(request_id)
    }

    /// Send and map any non-2xx status to an error.
    pub async fn send(&self, call: Call<'_>) -> Result<Reply> {
        let what = format!("{} {}", call.method, call.path);
        let r = self.send_raw(call).await?;
        if (200..300).contains(&r.status) {
            Ok(r)
        } else {
            Err(self.status_error(&what, &r))
        }
    }

    /// Send; statuses that are not retried come back as a `Reply` for the caller to interpret
    /// (e.g. 401 from whoami, 403 from a Keto check). 5xx/429 after retries, network errors and
    /// timeouts become `upstream_unavailable`.
    pub async fn send_raw(&self, call: Call<'_>) -> Result<Reply> {
        self.send_raw_inner(call).await
    }

    async fn send_raw_inner(&self, mut call: Call<'_>) -> Result<Reply> {
        use tracing::Instrument;
        if let Some(tp) = self.op.as_ref().and_then(|o| o.traceparent.as_ref()) {
            if let Ok(v) = http::HeaderValue::from_str(tp.as_str()) {
                call.headers.insert("traceparent", v);
            }
        }
        let span = tracing::debug_span!(
            target: "ory_iam.request",
            "ory_iam.request",
            tenant = &*self.inner.tenant,
            service = self.inner.product.as_str(),
            operation = tracing::field::Empty,
            retries = tracing::field::Empty,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        // The operation's name only when a subscriber takes the span or the event (the Python
        // binding's logging bridge takes neither unless the `ory_iam.op` logger is at DEBUG).
        let operation = (!span.is_disabled() || tracing::enabled!(target: "ory_iam.op", tracing::Level::DEBUG))
            .then(|| format!("{} {}", call.method, route(call.path)));
        if let Some(op) = &operation {
            span.record("operation", op.as_str());
        }
        let started = std::time::Instant::now();
        let mut attempts = 0;
        let res = self.send_attempts(call, &mut attempts).instrument(span.clone()).await;
        let retries = attempts.saturating_sub(1);
        let (status, request_id) = match &res {
            Ok(r) => (Some(r.status), r.request_id.clone()),
            Err(e) => (e.status(), e.request_id().unwrap_or_default().to_owned()),
        };
        span.record("retries", retries);
        span.record("status", status.unwrap_or(0));
        span.record("request_id", request_id.as_str());
        if let Some(operation) = &operation {
            crate::telemetry::op_event(
                &self.inner.tenant,
                self.inner.product.as_str(),
                operation,
                retries,
                status,
                &request_id,
                started.elapsed(),
            );
        }
        if let Some(op) = &self.op {
            op.record(|r| {
                r.requests += 1;
                r.retries += retries;
                r.status = status;
                r.request_id = Some(request_id.clone());
                r.service = Some(self.inner.product.as_str().to_owned());
            });
        }
        res
    }

    /// The headers of every attempt: the call's, the request id (replacing any the call
    /// carries, so it is sent once), `Accept`, and the client's token unless the call brings
    /// its own `Authorization`.
    fn attempt_headers(&self, call: &Call<'_>, request_id: &str) -> HeaderMap {
        let mut headers = call.headers.clone();
        if let Ok(v) = http::HeaderValue::from_str(request_id) {
            headers.insert("x-request-id", v);
        }
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
        if let Some(t) = &self.inner.token {
            if !headers.contains_key(http::header::AUTHORIZATION) {
                if let Ok(mut v) = http::HeaderValue::from_str(&format!("Bearer {}", t.expose())) {
                    v.set_sensitive(true);
                    headers.insert(http::header::AUTHORIZATION, v);
                }
            }
        }
        headers
    }

    fn request<'a>(&'a self, call: &'a Call<'a>, headers: &'a HeaderMap, timeout: Duration) -> Request<'a> {
        Request {
            tenant: &self.inner.tenant,
            product: self.inner.product,
            method: &call.method,
            base: &self.inner.base,
            path: call.path.trim_start_matches('/'),
            query: &call.query,
            headers,
            json: call.json.as_ref(),
            form: call.form.as_deref(),
            text: call.text.as_deref(),
            timeout,
            max_body_bytes: self.inner.cfg.max_body_bytes,
        }
    }

    async fn send_attempts(&self, call: Call<'_>, attempts_made: &mut u32) -> Result<Reply> {
        let request_id = call
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| self.op.as_ref().and_then(|o| o.request_id.clone()))
            .unwrap_or_else(crate::telemetry::new_request_id);
        if !self.inner.pool.is_open() {
            return Err(closed_error(&self.inner.tenant));
        }
        if !path_stays_under_base(call.path) {
            // Ids are checked and encoded by the services (`crate::ids`); this is the net under
            // them: no request ever leaves the product's base path.
            return Err(Error::validation(format!("invalid path for {}", self.inner.product.as_str())));
        }
        let cfg = &self.inner.cfg;
        let headers = self.attempt_headers(&call, &request_id);
        let timeout = Duration::from_millis(cfg.timeout_ms);
        let transport = &self.inner.transport;
        if transport.in_memory() {
            // In memory: one attempt, no breaker or rate limit; outages map as on the network.
            *attempts_made += 1;
            return match transport.send(self.request(&call, &headers, timeout)).await {
                Outcome::Answered { status, .. } if status == 429 || status >= 500 => Err(self
                    .err(
                        ErrorKind::UpstreamUnavailable,
                        format!("{} answered {status} to {}", self.inner.product.as_str(), call.path),
                        &request_id,
                    )
                    .with_status(status)),
                Outcome::Answered { status, headers, body } => Ok(Reply { status, headers, body, request_id }),
                Outcome::TooLarge => Err(self.too_large(&request_id, &call)),
                Outcome::Closed => Err(closed_error(&self.inner.tenant)),
                Outcome::Failed { why } => Err(self.err(
                    ErrorKind::UpstreamUnavailable,
                    format!("{} {} {why}", self.inner.product.as_str(), call.path),
                    &request_id,
                )),
            };
        }
        let attempts = if call.idempotent { cfg.retries + 1 } else { 1 };
        let mut last: Option<Error> = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                let wait = last.as_ref().and_then(|e| e.retry_after()).unwrap_or_else(|| backoff(cfg, attempt));
                if wait > Duration::from_millis(cfg.backoff_max_ms.max(cfg.timeout_ms)) {
                    // The server asked for more patience than our budget: give up now and let
                    // the caller see `retry_after`.
                    break;
                }
                tokio::time::sleep(wait).await;
            }
            // A half-open probe that does not complete (refused below, cancelled, dropped) puts
            // the breaker back to open when `probe` is dropped unsettled.
            let probe = if call.breaker_neutral {
                None
            } else {
                match self.inner.breaker.admit() {
                    Admit::Yes(probe) => probe,
                    Admit::No(wait) => {
                        // An open breaker answers at once; retrying against it would only wait.
                        last = Some(
                            self.err(
                                ErrorKind::UpstreamUnavailable,
                                format!("{} circuit breaker is open", self.inner.product.as_str()),
                                &request_id,
                            )
                            .with_retry_after(Some(wait)),
                        );
                        break;
                    }
                }
            };
            if let Some(l) = &self.inner.limiter {
                if !l.acquire(timeout).await {
                    return Err(self.err(
                        ErrorKind::UpstreamUnavailable,
                        format!("client-side rate limit for {} (http.rate_limit_per_sec)", self.inner.product.as_str()),
                        &request_id,
                    ));
                }
            }
            *attempts_made += 1;
            let outcome = transport.send(self.request(&call, &headers, timeout)).await;
            if !call.breaker_neutral {
                match &outcome {
                    // Any status below 500 but 429 is an answer: the host is up (4xx do not
                    // count), once its body arrived too (a host that always breaks off must
                    // still open the breaker). An oversized body is an answer as well.
                    Outcome::Answered { status, .. } if *status != 429 && *status < 500 => self.inner.breaker.success(),
                    Outcome::TooLarge => self.inner.breaker.success(),
                    Outcome::Closed => {}
                    _ => self.inner.breaker.failure(),
                }
            }
            if let Some(p) = probe {
                p.settle();
            }
            match outcome {
                Outcome::Closed => return Err(closed_error(&self.inner.tenant)),
                Outcome::TooLarge => return Err(self.too_large(&request_id, &call)),
                Outcome::Failed { why } => {
                    last = Some(self.err(
                        ErrorKind::UpstreamUnavailable,
                        format!("{} {} {why}", self.inner.product.as_str(), call.path),
                        &request_id,
                    ));
                }
                Outcome::Answered { status, headers, .. } if status == 429 || status >= 500 => {
                    last = Some(
                        self.err(
                            ErrorKind::UpstreamUnavailable,
                            format!("{} answered {status} to {}", self.inner.product.as_str(), call.path),
                            &request_id,
                        )
                        .with_status(status)
                        .with_retry_after(retry_after(&headers)),
                    );
                }
                Outcome::Answered { status, headers, body } => return Ok(Reply { status, headers, body, request_id }),
            }
        }
        Err(last.unwrap_or_else(|| self.err(ErrorKind::UpstreamUnavailable, "no attempt made".into(), &request_id)))
    }

    fn too_large(&self, request_id: &str, call: &Call<'_>) -> Error {
        self.err(
            ErrorKind::UpstreamUnavailable,
            format!(
                "{} response to {} exceeds the {} byte cap (http.max_body_bytes)",
                self.inner.product.as_str(),
                call.path,
                self.inner.cfg.max_body_bytes
            ),
            request_id,
        )
    }

    /// One GET with a short deadline and no retries, for health checks. `Ok(status)` or the
    /// reason it failed (a word, never a URL or a token).
    pub async fn probe(
        &self,
        path: &str,
        query: &[(&'static str, &'static str)],
        timeout: Duration,
    ) -> std::result::Result<u16, &'static str> {
        if !self.inner.pool.is_open() {
            return Err("closed");
        }
        let mut call = Call::get(path);
        call.query = query.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let headers = self.attempt_headers(&call, &crate::telemetry::new_request_id());
        match self.inner.transport.send(self.request(&call, &headers, timeout)).await {
            Outcome::Answered { status, .. } => Ok(status),
            Outcome::TooLarge => Ok(200),
            Outcome::Closed => Err("closed"),
            Outcome::Failed { why } if why.starts_with("timed out") => Err("timeout"),
            Outcome::Failed { why: "connection failed" } => Err("connection_failed"),
            Outcome::Failed { .. } => Err("request_failed"),
        }
    }

    /// Map a non-2xx reply to the taxonomy. The body is not copied: only the status is kept.
    pub fn status_error(&self, what: &str, r: &Reply) -> Error {
        let kind = match r.status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 | 410 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            429 | 500..=599 => ErrorKind::UpstreamUnavailable,
            _ => ErrorKind::Validation,
        };
        // Ory's error `reason` can quote the submitted value (a trait, an email): never copied.
        let mut e = self
            .err(kind, format!("{} rejected {what} with {}", self.inner.product.as_str(), r.status), &r.request_id)
            .with_status(r.status);
        // Which fields a Kratos schema violation names (pointers and masked messages only).
        if kind == ErrorKind::Validation && matches!(self.inner.product, Product::KratosAdmin | Product::KratosPublic) {
            e.fields = crate::kratos::violations::schema_violations(&r.body);
        }
        e
    }

    /// Parse a JSON body into a private wire type; a body that does not fit is an upstream fault.
    pub fn decode<T: DeserializeOwned>(&self, r: &Reply) -> Result<T> {
        if let Some(ct) = r.headers.get(http::header::CONTENT_TYPE) {
            let mime = ct.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            // An HTML page from a misconfigured proxy or portal is not Ory's answer, even when its
            // body happens to parse.
            if mime != "application/json" && !mime.ends_with("+json") {
                return Err(self
                    .err(
                        ErrorKind::UpstreamUnavailable,
                        format!("{} answered with a non-JSON content type", self.inner.product.as_str()),
                        &r.request_id,
                    )
                    .with_status(r.status));
            }
        }
        serde_json::from_slice(&r.body).map_err(|e| {
            // serde's message may quote the payload: keep only the category and position.
            self.err(
                ErrorKind::UpstreamUnavailable,
                format!(
                    "{} sent a response that does not match the expected shape ({:?} at line {} column {})",
                    self.inner.product.as_str(),
                    e.classify(),
                    e.line(),
                    e.column()
                ),
                &r.request_id,
            )
            .with_status(r.status)
        })
    }
}

fn backoff(cfg: &HttpConfig, attempt: u32) -> Duration {
    let exp = cfg.backoff_base_ms.saturating_mul(1u64 << (attempt - 1).min(16));
    let capped = exp.min(cfg.backoff_max_ms);
    // Full jitter: spreads retries of many clients hitting the same failure.
    Duration::from_millis(fastrand::u64(capped / 2..=capped.max(1)))
}

/// Whether a relative call path resolves below the client's base: no `.`/`..` segment (in any
/// spelling `Url::join` resolves, `%2e` included), no `\` (read as `/`), no scheme or
/// authority.
fn path_stays_under_base(path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or("");
    !path.starts_with("//")
        && !path.contains(['\\', ':'])
        && path
            .split('/')
            .all(|seg| ![".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"].iter().any(|dot| seg.eq_ignore_ascii_case(dot)))
}

/// `Retry-After` as delay-seconds or an HTTP-date in any of RFC 9110's three forms (parsed
/// by the `httpdate` crate); a date in the past is no wait.
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// One tenant's connection pool, emptied by `Iam::close`. A request takes the client out for
/// its own duration, so closing never cuts one off; once every request holding it has ended,
/// reqwest's idle connections close with the last clone. A closed pool hands out nothing: every
/// request afterwards is refused with [`closed_error`].
///
/// After a `fork()` the child gets a new client on first use: the parent's pooled connections
/// are its sockets, and are neither used nor closed in the child (see [`crate::runtime`]).
pub(crate) struct HttpPool {
    /// Names this pool in the threads' local clients (never reused, so an entry of a dropped
    /// pool is never served).
    id: u64,
    cfg: HttpConfig,
    /// Read from the files once: a client rebuilt after `fork()` gets the same certificates.
    tls: tls::TlsMaterial,
    slot: arc_swap::ArcSwapOption<PoolGeneration>,
}

/// A client and the fork generation it was built in.
struct PoolGeneration {
    generation: u64,
    client: std::mem::ManuallyDrop<reqwest::Client>,
}

impl Drop for PoolGeneration {
    fn drop(&mut self) {
        // In a forked child the parent's connections are left alone: dropping them would
        // deregister the parent's sockets from the epoll instance both share.
        if self.generation == crate::runtime::fork_generation() {
            // SAFETY: dropped once, here; never used again.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.client) }
        }
    }
}

impl HttpPool {
    /// `tenant` names the config keys of TLS files that cannot be used.
    pub fn new(tenant: &str, cfg: &HttpConfig) -> Result<Arc<HttpPool>> {
        let tls = tls::PemFiles::load(
            &format!("tenants.{tenant}.http"),
            cfg.ca_file.as_deref(),
            cfg.client_cert_file.as_deref(),
            cfg.client_key_file.as_deref(),
        )?
        .material();
        let first = PoolGeneration {
            generation: crate::runtime::fork_generation(),
            client: std::mem::ManuallyDrop::new(build_http(cfg, &tls)?),
        };
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Arc::new(HttpPool { id, cfg: cfg.clone(), tls, slot: arc_swap::ArcSwapOption::from_pointee(first) }))
    }

    /// This process's client, or `None` once closed. A call on a local runtime (the blocking
    /// API) gets its thread's own client of this pool: reqwest runs each pooled connection as a
    /// task of the runtime that made it, and a local runtime only runs while its thread is in a
    /// call, so its connections must serve that thread alone (see [`crate::runtime`]).
    pub fn client(&self) -> Option<reqwest::Client> {
        let generation = crate::runtime::fork_generation();
        loop {
            let cur = self.slot.load_full()?;
            if cur.generation == generation {
                if crate::runtime::is_local() {
                    return local::client(self);
                }
                return Some((*cur.client).clone());
            }
            let client = build_http(&self.cfg, &self.tls).ok()?;
            let fresh = Arc::new(PoolGeneration { generation, client: std::mem::ManuallyDrop::new(client) });
            let prev = self.slot.compare_and_swap(&cur, Some(fresh.clone()));
            if prev.as_ref().is_some_and(|p| Arc::ptr_eq(p, &cur)) {
                return Some((*fresh.client).clone());
            }
            // Closed or replaced meanwhile: look again.
        }
    }

    pub fn is_open(&self) -> bool {
        self.slot.load().is_some()
    }

    pub fn close(&self) {
        self.slot.store(None);
    }
}

/// The clients of this thread's local runtime, one per pool, in bounded storage.
mod local {
    use super::HttpPool;
    use std::cell::RefCell;
    use std::num::NonZeroUsize;

    /// Pools (tenants) one thread keeps a client for; the least recently used goes first. A
    /// pool whose client was evicted gets a new one (and new connections) on its next call.
    const CAPACITY: NonZeroUsize = NonZeroUsize::new(8).expect("non-zero");

    /// A thread's clients and the fork generation they were built in. Dropped when the thread
    /// exits, but never in a forked child: there they hold the parent's sockets.
    struct Clients {
        generation: u64,
        by_pool: std::mem::ManuallyDrop<lru::LruCache<u64, reqwest::Client>>,
    }

    impl Drop for Clients {
        fn drop(&mut self) {
            if self.generation == crate::runtime::fork_generation() {
                // SAFETY: dropped once, here; never used again.
                unsafe { std::mem::ManuallyDrop::drop(&mut self.by_pool) }
            }
        }
    }

    thread_local! {
        static CLIENTS: RefCell<Option<Clients>> = const { RefCell::new(None) };
    }

    /// This thread's client of `pool` (which is open), built like the shared one.
    pub(super) fn client(pool: &HttpPool) -> Option<reqwest::Client> {
        let generation = crate::runtime::fork_generation();
        CLIENTS
            .try_with(|cell| {
                let mut slot = cell.borrow_mut();
                if slot.as_ref().is_none_or(|c| c.generation != generation) {
                    // A parent's set (this thread forked) is left alone by its Drop.
                    *slot = Some(Clients {
                        generation,
                        by_pool: std::mem::ManuallyDrop::new(lru::LruCache::new(CAPACITY)),
                    });
                }
                let clients = &mut slot.as_mut()?.by_pool;
                if let Some(c) = clients.get(&pool.id) {
                    return Some(c.clone());
                }
                let c = super::build_http(&pool.cfg, &pool.tls).ok()?;
                clients.put(pool.id, c.clone());
                Some(c)
            })
            .ok()
            .flatten()
    }

    /// How many clients this thread keeps.
    #[cfg(test)]
    pub(super) fn len() -> usize {
        CLIENTS.with(|c| c.borrow().as_ref().map_or(0, |c| c.by_pool.len()))
    }
}

/// What every call of a closed `Iam` fails with.
pub(crate) fn closed_error(tenant: &str) -> Error {
    Error::configuration("this Iam was closed (Iam.close()); build a new one to make calls").with_tenant(tenant)
}

/// Build the shared `reqwest` client for one tenant. No redirects are followed: every redirect
/// Ory sends is something the caller must see (browser flows) or a misconfiguration. Servers are
/// trusted when their certificate chains to the OS trust store, the bundled webpki roots or the
/// tenant's `http.ca_file`.
pub(crate) fn build_http(cfg: &HttpConfig, tls: &tls::TlsMaterial) -> Result<reqwest::Client> {
    // The bundled webpki roots are reqwest's; the OS store is added from the process-wide copy.
    let mut b = reqwest::Client::builder();
    for root in tls::os_roots().iter().chain(&tls.roots) {
        b = b.add_root_certificate(root.clone());
    }
    if let Some(id) = &tls.identity {
        b = b.identity(id.clone());
    }
    b.connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        // Below the servers' idle timeouts, so a pooled connection is not reused just as the server
        // closes it.
        .pool_idle_timeout(Duration::from_secs(20))
        .user_agent(concat!("ory-iam/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| Error::configuration("cannot build the HTTP client (TLS backend)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        for past in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            h.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static(past));
            assert_eq!(retry_after(&h), Some(Duration::ZERO), "{past}");
        }
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        h.insert(http::header::RETRY_AFTER, http::HeaderValue::from_str(&soon).unwrap());
        assert!(retry_after(&h).is_some_and(|d| d > Duration::from_secs(100) && d <= Duration::from_secs(120)));
        for junk in ["soon", "-1", "Sun, 32 Nov 1994 08:49:37 GMT", "99999999999999999999999"] {
            h.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static(junk));
            assert_eq!(retry_after(&h), None, "{junk}");
        }
    }

    #[test]
    fn paths_that_would_leave_the_base_are_refused() {
        for ok in ["admin/clients/a%2Fb", "admin/keys/x.y", "sessions/whoami", "admin/identities/%2E%2E%5C"] {
            assert!(path_stays_under_base(ok), "{ok}");
        }
        for bad in ["..", "admin/..", "admin/%2e%2E/keys", "a/./b", "a\\b", "//evil/x", "http:x", "a/.%2e"] {
            assert!(!path_stays_under_base(bad), "{bad}");
        }
    }

    /// A call on a local runtime gets its thread's client of the pool (connections of that
    /// runtime), kept for its next calls in bounded storage; a closed pool hands out nothing.
    #[test]
    fn local_calls_get_their_threads_own_client() {
        std::thread::spawn(|| {
            let cfg = HttpConfig::default();
            let pool = HttpPool::new("t", &cfg).unwrap();
            assert!(pool.client().is_some());
            assert_eq!(local::len(), 0, "a call off local runtimes built a local client");
            let on_local = |p: &HttpPool| crate::runtime::block_on_local(async { p.client() });
            assert!(on_local(&pool).is_some() && on_local(&pool).is_some());
            assert_eq!(local::len(), 1, "one client per pool and thread");
            let others: Vec<_> = (0..20).map(|_| HttpPool::new("t", &cfg).unwrap()).collect();
            for p in &others {
                assert!(on_local(p).is_some());
            }
            assert_eq!(local::len(), 8, "bounded");
            pool.close();
            assert!(on_local(&pool).is_none(), "a closed pool served a local client");
            assert!(pool.client().is_none());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let cfg = HttpConfig { backoff_base_ms: 100, backoff_max_ms: 400, ..HttpConfig::default() };
        for _ in 0..50 {
            assert!(backoff(&cfg, 1) <= Duration::from_millis(100));
            assert!(backoff(&cfg, 5) <= Duration::from_millis(400));
            assert!(backoff(&cfg, 5) >= Duration::from_millis(200));
        }
    }
}

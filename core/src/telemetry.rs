//! Tracing of Ory operations: W3C `traceparent` propagation into Ory requests and a per-call
//! report (cache hit, retries, status) for OpenTelemetry adapters.
//!
//! Every request to an Ory server runs inside a `tracing` span named `ory_iam.request` with the
//! fields `tenant`, `service`, `operation`, `retries`, `status`, `request_id` (never tokens,
//! cookies or bodies) and ends with one `ory_iam.op` event carrying the same fields; a session
//! served from the cache emits `ory_iam.op` with `cache_hit = true`. Rust users see these through
//! any `tracing` subscriber (e.g. `tracing-opentelemetry`); the bindings forward the events to
//! Python `logging` and Node's `setLogCallback`.
//!
//! A handle made with `traced(Some(traceparent))` (every service has it) sends
//! `traceparent: 00-<trace id>-<parent id>-<flags>` on its Ory requests, so the servers' spans
//! become children of the caller's span, and records what happened in an [`OpReport`] that the
//! Python and Node OpenTelemetry adapters read back as span attributes.
//!
//! A handle made with `correlated(request_id)` sends `X-Request-Id: <request_id>` on every Ory
//! request it makes (unless the call carries its own, as whoami does behind a trusted proxy), so
//! the Ory servers' logs of every call made while serving one application request share the
//! application's request id. The bindings make such a handle for each call made inside
//! `runWithRequestId` (Node, AsyncLocalStorage) / `request_id_scope` (Python, contextvars).

use std::sync::{Arc, Mutex};

/// What one traced call did. Read it with `op_report()` after the call completed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OpReport {
    /// Requests sent to Ory (0 when served from a cache).
    pub requests: u32,
    /// Attempts beyond the first, over all requests.
    pub retries: u32,
    /// Status of the last answer, when one arrived.
    pub status: Option<u16>,
    /// The session came from the session cache.
    pub cache_hit: bool,
    /// `X-Request-Id` of the last request.
    pub request_id: Option<String>,
    /// Ory surface of the last request (`kratos-public`, `keto-read`, ...).
    pub service: Option<String>,
}

/// A W3C trace context, validated: `00-<32 hex>-<16 hex>-<2 hex>`, ids not all zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceParent(String);

impl TraceParent {
    /// `None` for anything that is not a valid version-00 `traceparent` (as propagators do:
    /// an invalid header starts a new trace instead of failing the call).
    pub fn parse(s: &str) -> Option<TraceParent> {
        let s = s.trim();
        let parts: Vec<&str> = s.split('-').collect();
        let hex =
            |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let nonzero = |p: &str| p.bytes().any(|b| b != b'0');
        if parts.len() != 4 || parts[0] != "00" || !hex(parts[1], 32) || !hex(parts[2], 16) || !hex(parts[3], 2) {
            return None;
        }
        if !nonzero(parts[1]) || !nonzero(parts[2]) {
            return None;
        }
        Some(TraceParent(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest request id carried (longer incoming ids are replaced by a generated one).
pub const MAX_REQUEST_ID_LEN: usize = 200;

/// True for a request id worth carrying: 1 to [`MAX_REQUEST_ID_LEN`] visible ASCII characters
/// (no spaces, no control characters: it ends up in Ory's logs and in audit events).
pub fn valid_request_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_REQUEST_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// The request id to serve one application request under: the incoming `X-Request-Id` when it
/// is [valid](valid_request_id), else a new UUID v4.
pub fn request_id_for(incoming: Option<&str>) -> String {
    match incoming.map(str::trim) {
        Some(s) if valid_request_id(s) => s.to_owned(),
        _ => new_request_id(),
    }
}

/// A new request id: a UUID v4 drawn from the thread's CSPRNG (`rand::rng()`, ChaCha seeded
/// from the OS), not one `getrandom` system call per Ory request as `Uuid::new_v4` makes. A
/// `fork()` copies that generator's state into the child, so each thread reseeds it before its
/// first id of a process generation: a child never repeats its parent's ids.
pub(crate) fn new_request_id() -> String {
    use rand::RngExt as _;
    thread_local!(static GENERATION: std::cell::Cell<u64> = const { std::cell::Cell::new(u64::MAX) });
    let generation = crate::runtime::fork_generation();
    let mut rng = rand::rng();
    if GENERATION.with(|g| g.replace(generation)) != generation {
        // If the OS refuses, the generator keeps its state: ids stay unique within the process.
        let _ = rng.reseed();
    }
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Builder::from_random_bytes(rng.random()).into_uuid().hyphenated().encode_lower(&mut buf).to_owned()
}

/// The trace context, correlation id and report of a traced or correlated handle.
#[derive(Debug, Default)]
pub struct OpContext {
    pub(crate) traceparent: Option<TraceParent>,
    /// `X-Request-Id` for every request made through the handle (always valid).
    pub(crate) request_id: Option<String>,
    /// Shared by the handles derived from one another (`traced` then `correlated`).
    report: Arc<Mutex<OpReport>>,
    /// Whether [`report`](Self::report) means anything: false on a correlated-only handle.
    pub(crate) traced: bool,
}

impl OpContext {
    /// A traced context keeping `prev`'s request id.
    pub(crate) fn traced_from(prev: Option<&OpContext>, traceparent: Option<&str>) -> Arc<OpContext> {
        Arc::new(OpContext {
            traceparent: traceparent.and_then(TraceParent::parse),
            request_id: prev.and_then(|p| p.request_id.clone()),
            report: Arc::default(),
            traced: true,
        })
    }

    /// `prev` (its trace context and report) with `request_id`; an invalid id leaves `prev`'s.
    pub(crate) fn correlated_from(prev: Option<&OpContext>, request_id: &str) -> Arc<OpContext> {
        let request_id = request_id.trim();
        Arc::new(OpContext {
            traceparent: prev.and_then(|p| p.traceparent.clone()),
            request_id: if valid_request_id(request_id) {
                Some(request_id.to_owned())
            } else {
                prev.and_then(|p| p.request_id.clone())
            },
            report: prev.map(|p| p.report.clone()).unwrap_or_default(),
            traced: prev.is_some_and(|p| p.traced),
        })
    }

    pub(crate) fn record(&self, f: impl FnOnce(&mut OpReport)) {
        if let Ok(mut r) = self.report.lock() {
            f(&mut r)
        }
    }

    pub fn report(&self) -> OpReport {
        self.report.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// One structured event per finished Ory request (target `ory_iam.op`).
pub(crate) fn op_event(
    tenant: &str,
    service: &str,
    operation: &str,
    retries: u32,
    status: Option<u16>,
    request_id: &str,
    elapsed: std::time::Duration,
) {
    tracing::debug!(
        target: "ory_iam.op",
        tenant,
        service,
        operation,
        retries,
        status = status.unwrap_or(0),
        request_id,
        cache_hit = false,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "ory operation"
    );
}

/// The event for a session served from the cache (no request sent).
pub(crate) fn cache_hit_event(tenant: &str, operation: &str) {
    tracing::debug!(target: "ory_iam.op", tenant, service = "session-cache", operation, cache_hit = true, "ory operation");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_request_ids_are_distinct_uuid_v4s_on_every_thread() {
        let ids: Vec<String> = std::thread::scope(|s| {
            let hs: Vec<_> =
                (0..4).map(|_| s.spawn(|| (0..500).map(|_| new_request_id()).collect::<Vec<_>>())).collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        for id in &ids {
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version_num(), 4);
            assert_eq!(u.hyphenated().to_string(), *id, "lowercase, hyphenated");
            assert!(valid_request_id(id));
        }
        assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), ids.len());
    }

    #[test]
    fn traceparent_is_validated() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(TraceParent::parse(ok).unwrap().as_str(), ok);
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nx: y",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn report_accumulates() {
        let op = OpContext::traced_from(None, None);
        op.record(|r| {
            r.requests += 1;
            r.retries += 2;
            r.status = Some(503)
        });
        op.record(|r| r.cache_hit = true);
        let r = op.report();
        assert_eq!((r.requests, r.retries, r.status, r.cache_hit), (1, 2, Some(503), true));
    }

    #[test]
    fn request_ids_are_validated() {
        for ok in ["abc", "req-1f2e", "a/b:c=d", &"x".repeat(MAX_REQUEST_ID_LEN)] {
            assert_eq!(request_id_for(Some(ok)), ok);
        }
        for bad in ["", " ", "a b", "a\r\nx-admin: 1", "caf\u{e9}", &"x".repeat(MAX_REQUEST_ID_LEN + 1)] {
            let got = request_id_for(Some(bad));
            assert_ne!(got, bad);
            assert!(uuid::Uuid::parse_str(&got).is_ok(), "{bad:?} → {got:?}");
        }
        assert!(uuid::Uuid::parse_str(&request_id_for(None)).is_ok());
    }

    #[test]
    fn correlation_keeps_the_trace_and_its_report() {
        let traced = OpContext::traced_from(None, Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        let both = OpContext::correlated_from(Some(&traced), "req-7");
        assert_eq!(both.request_id.as_deref(), Some("req-7"));
        assert_eq!(both.traceparent, traced.traceparent);
        both.record(|r| r.requests += 1);
        assert_eq!(traced.report().requests, 1, "one report for the traced call");
        // An invalid id keeps the previous one; tracing again keeps the id.
        assert_eq!(OpContext::correlated_from(Some(&both), "bad id").request_id.as_deref(), Some("req-7"));
        assert_eq!(OpContext::traced_from(Some(&both), None).request_id.as_deref(), Some("req-7"));
        let plain = OpContext::correlated_from(None, "req-8");
        assert!(!plain.traced && plain.traceparent.is_none());
    }
}

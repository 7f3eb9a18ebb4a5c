//! `SessionService::whoami_direct`, the `whoami` whose request a binding sends on its own event
//! loop (the Python lane), driven here with a plain blocking socket against the real Kratos and
//! the fault proxy: the same session, cache store and audit events as `whoami`; the paths it
//! refuses; and a failed first attempt resumed on the async path with the same budget.

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use common::Collect;
use fault_proxy::FaultProxy;
use ory_iam::dto::{FlowResult, InitiateFlow, SubmitFlow};
use ory_iam::h1::{parse_response, Parsed};
use ory_iam::kratos::session::{DirectWhoami, Settled, WhoamiOutcome, WhoamiStep};
use ory_iam::transport::header_map;
use ory_iam::{DirectFailure, ErrorKind, Iam, IamConfig};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::sync::Arc;

fn iam_with(session_cache: Value, kratos_public: Option<&str>, http: Value, sink: Arc<Collect>) -> Iam {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = session_cache;
    let t = &mut cfg["tenants"]["customer"];
    t["cache"] = json!({"session_ttl_ms": 60_000});
    t["http"] = http;
    if let Some(u) = kratos_public {
        t["kratos"]["public_url"] = json!(u);
    }
    cfg["audit"] = json!({"sink": "callback"});
    Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink).build().unwrap()
}

async fn new_session(iam: &Iam) -> String {
    let flows = iam.flow();
    let flow = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
    let body = json!({"method": "password", "password": "a-Long-and-unique-passphrase-42",
                      "traits": {"email": common::unique_email("direct")}});
    match flows.submit_registration(&flow.id, body, SubmitFlow::default()).await.unwrap() {
        FlowResult::Success(s) => s.session_token.unwrap().expose().to_owned(),
        other => panic!("expected success, got {other:?}"),
    }
}

fn direct(step: WhoamiStep) -> DirectWhoami {
    match step {
        WhoamiStep::Direct(d) => d,
        WhoamiStep::Ready(_) => panic!("expected a direct request, got a ready answer"),
        WhoamiStep::Async => panic!("expected a direct request, got the async path"),
    }
}

/// What the Python lane does, with a blocking socket: write the request, read until a whole
/// response is in, hand it to the core.
fn exchange(d: DirectWhoami) -> WhoamiOutcome {
    let mut s = std::net::TcpStream::connect(d.authority()).unwrap();
    s.write_all(d.request()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).unwrap();
        buf.extend_from_slice(&chunk[..n]);
        match parse_response(&buf, n == 0, d.limits().max_body_bytes) {
            Parsed::Partial if n > 0 => continue,
            Parsed::Done(r) => return d.answered(r.status, r.headers, r.body),
            other => panic!("no response: {other:?}"),
        }
    }
}

/// The result delivered to (and audited for) the caller who made the request.
fn done(o: WhoamiOutcome) -> ory_iam::Result<ory_iam::dto::Session> {
    settled(o).deliver()
}

fn settled(o: WhoamiOutcome) -> Settled {
    match o {
        WhoamiOutcome::Done(s) => s,
        WhoamiOutcome::Resume(_) => panic!("expected a result, got a resumption"),
    }
}

#[tokio::test]
async fn a_direct_whoami_is_whoami() {
    let sink = Arc::new(Collect::default());
    let iam = iam_with(json!("memory"), None, json!({}), sink.clone());
    let token = new_session(&iam).await;
    let req = header_map([("authorization", format!("Bearer {token}").as_str())]);
    let sessions = iam.session();
    let d = direct(sessions.whoami_direct(&req));
    let text = String::from_utf8(d.request().to_vec()).unwrap();
    assert!(text.starts_with("GET /sessions/whoami HTTP/1.1\r\n") && text.ends_with("\r\n\r\n"));
    assert!(text.contains(&format!("\r\nx-session-token: {token}\r\n")));
    let s = tokio::task::spawn_blocking(move || done(exchange(d))).await.unwrap().unwrap();
    assert!(!s.cache_hit && s.active);
    // Cached as `whoami` caches: the next call is answered without I/O, with the same session.
    match sessions.whoami_direct(&req) {
        WhoamiStep::Ready(Ok(hit)) => assert!(hit.cache_hit && hit.id == s.id && hit.identity == s.identity),
        _ => panic!("expected a cache hit"),
    }
    let via_whoami = iam.session().whoami(&req).await.unwrap();
    assert_eq!((via_whoami.id, via_whoami.identity), (s.id.clone(), s.identity.clone()));
    let events = sink.0.lock().unwrap().clone();
    let hits: Vec<bool> = events
        .iter()
        .filter(|e| e.name == "auth.success")
        .map(|e| e.attributes["cache_hit"].as_bool().unwrap())
        .collect();
    assert_eq!(hits, [false, true, true]);
    // A joiner gets the leader's result, audited for itself.
    let joiner = iam_with(json!("none"), None, json!({}), sink.clone());
    let j = direct(joiner.session().whoami_direct(&req));
    assert!(!j.shares_flights(), "no single flight without a session cache");
    let before = sink.0.lock().unwrap().len();
    assert_eq!(j.join(&Ok(s.clone())).unwrap().id, s.id);
    assert_eq!(sink.0.lock().unwrap()[before..].iter().filter(|e| e.name == "auth.success").count(), 1);
}

#[tokio::test]
async fn what_needs_the_async_path_is_not_direct() {
    let sink = Arc::new(Collect::default());
    let token = new_session(&iam_with(json!("none"), None, json!({}), sink.clone())).await;
    let req = header_map([("x-session-token", token.as_str())]);
    let redis = common::stack()["redis"]["url"].clone();
    for (cache, http) in
        [(json!({"redis": {"url": redis}}), json!({})), (json!("none"), json!({"rate_limit_per_sec": 100}))]
    {
        let iam = iam_with(cache.clone(), None, http.clone(), sink.clone());
        assert!(matches!(iam.session().whoami_direct(&req), WhoamiStep::Async), "{cache} {http}");
    }
    // A missing credential is refused without I/O, audited, on every path.
    let iam = iam_with(json!("none"), None, json!({}), sink.clone());
    match iam.session().whoami_direct(&header_map::<_, &str, &str>([])) {
        WhoamiStep::Ready(Err(e)) => assert_eq!(e.kind(), ErrorKind::Unauthorized),
        _ => panic!("expected a local refusal"),
    }
}

#[tokio::test]
async fn a_failed_first_attempt_resumes_with_the_remaining_budget() {
    let sink = Arc::new(Collect::default());
    let kratos = common::stack()["kratos"]["customer"]["public_url"].as_str().unwrap().to_owned();
    let token = new_session(&iam_with(json!("none"), None, json!({}), sink.clone())).await;
    let req = header_map([("x-session-token", token.as_str())]);
    let proxy = FaultProxy::start(&kratos);
    let http = json!({"retries": 2, "backoff_base_ms": 10, "backoff_max_ms": 40, "breaker_threshold": 0});
    let iam = iam_with(json!("none"), Some(&proxy.url), http, sink.clone());

    // 503 on the direct attempt and on every retry: 1 + 2 requests, then the runtime's error.
    proxy.fault(json!({"mode": "status", "status": 503, "path": "/sessions/whoami"})).await;
    let d = direct(iam.session().whoami_direct(&req));
    let resume = match tokio::task::spawn_blocking(move || exchange(d)).await.unwrap() {
        WhoamiOutcome::Resume(r) => r,
        WhoamiOutcome::Done(_) => panic!("a 503 must be resumed"),
    };
    let e = resume.run().await.deliver().unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::UpstreamUnavailable, Some(503)));
    assert_eq!(proxy.requests("/sessions/whoami").await, 3);

    // A timed-out direct attempt, then Kratos answers: one more request, the session.
    proxy.reset().await;
    let d = direct(iam.session().whoami_direct(&req));
    let resume = match d.failed(DirectFailure::Timeout) {
        WhoamiOutcome::Resume(r) => r,
        WhoamiOutcome::Done(_) => panic!("a timeout must be resumed"),
    };
    let s = resume.run().await.deliver().unwrap();
    assert!(s.active && !s.cache_hit);
    assert_eq!(proxy.requests("/sessions/whoami").await, 1);

    // An oversized answer is final: no retry.
    let d = direct(iam.session().whoami_direct(&req));
    let e = done(d.failed(DirectFailure::TooLarge)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
    assert_eq!(proxy.requests("/sessions/whoami").await, 1);
    let audited = |name: &str| sink.0.lock().unwrap().iter().filter(|e| e.name == name).count();
    assert_eq!(audited("auth.failure.upstream"), 2);

    // A result nobody waits for any more (the caller was cancelled) is not audited for it: a
    // cancelled `whoami` audits nothing either. The session is still cached.
    let successes = audited("auth.success");
    let cached = iam_with(json!("memory"), Some(&proxy.url), json!({}), sink.clone());
    let d = direct(cached.session().whoami_direct(&req));
    let s = tokio::task::spawn_blocking(move || settled(exchange(d))).await.unwrap();
    assert!(s.result().is_ok());
    drop(s);
    assert_eq!(audited("auth.success"), successes);
    assert!(matches!(cached.session().whoami_direct(&req), WhoamiStep::Ready(Ok(hit)) if hit.cache_hit));
}

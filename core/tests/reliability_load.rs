//! Load (issue 8), through `tests/reliability/fault_proxy.py` in front of the real Kratos, which
//! counts the upstream requests:
//! - 1,000 concurrent `whoami` on one credential with the memory cache → exactly 1 upstream call
//!   (single-flight), every caller gets the same session;
//! - N distinct credentials (N real sessions from native registrations; 1,000 by default,
//!   `RELIABILITY_LOAD_SESSIONS` to change) whoami'd all at once → each caller gets its own
//!   identity, one upstream call per credential; a second concurrent round is served from the
//!   cache, still without cross-talk.
//!
//! Writes `.stack/reliability/load.json`.

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use fault_proxy::FaultProxy;
use futures::stream::{self, StreamExt};
use ory_iam::dto::{FlowResult, InitiateFlow, SubmitFlow};
use ory_iam::transport::header_map;
use ory_iam::Iam;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Instant;

const CONCURRENT: usize = 1_000;
/// Registrations in flight at once: the stack's Kratos writes to SQLite, and concurrent
/// registrations stall on its write lock (15 s timeouts at 8 in flight); one at a time takes ~16 ms.
const REGISTER_CONCURRENCY: usize = 1;

fn cached_iam(stack: &Value, kratos_public: &str) -> Iam {
    let mut cfg = stack["iam_config"].clone();
    let t = &mut cfg["tenants"]["customer"];
    t["kratos"]["public_url"] = json!(kratos_public);
    t["cache"] = json!({"session_ttl_ms": 300_000});
    t["http"] = json!({"timeout_ms": 60_000, "retries": 0});
    cfg["session_cache"] = json!("memory");
    cfg["audit"] = json!({"sink": "none"});
    Iam::from_value(&cfg).unwrap()
}

/// (session token, identity id, session id)
async fn register(iam: &Iam, i: usize) -> Option<(String, String, String)> {
    let flows = iam.flow();
    for _ in 0..3 {
        let Ok(flow) = flows.initiate_registration(InitiateFlow::default()).await else { continue };
        let email = common::unique_email(&format!("load{i}"));
        let body =
            json!({"method": "password", "password": "a-Long-and-unique-passphrase-42", "traits": {"email": email}});
        if let Ok(FlowResult::Success(s)) = flows.submit_registration(&flow.id, body, SubmitFlow::default()).await {
            return Some((s.session_token?.expose().to_owned(), s.identity?.id, s.session_id?));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_and_no_cross_talk() {
    let stack = common::stack();
    let direct = Iam::from_value(&stack["iam_config"]).unwrap();
    let proxy = FaultProxy::start(stack["kratos"]["customer"]["public_url"].as_str().unwrap());
    let n: usize = std::env::var("RELIABILITY_LOAD_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000);

    // Sessions first, straight to Kratos (not counted by the proxy).
    let t0 = Instant::now();
    let sessions: Vec<(String, String, String)> = stream::iter(0..n.max(1))
        .map(|i| {
            let direct = direct.clone();
            async move { register(&direct, i).await }
        })
        .buffer_unordered(REGISTER_CONCURRENCY)
        .filter_map(|s| async move { s })
        .collect()
        .await;
    let creation_s = t0.elapsed().as_secs_f64();
    println!("created {} of {n} sessions in {creation_s:.1} s", sessions.len());
    assert_eq!(sessions.len(), n.max(1), "Kratos refused some registrations");

    // 1) One credential, CONCURRENT callers, cache on: one upstream call.
    let iam = cached_iam(&stack, &proxy.url);
    let (token, identity, session) = sessions[0].clone();
    let req = header_map([("authorization", format!("Bearer {token}"))]);
    let t0 = Instant::now();
    let calls: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let iam = iam.clone();
            let req = req.clone();
            tokio::spawn(async move { iam.session().whoami(&req).await })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut errors = 0;
    for c in calls {
        match c.await.unwrap() {
            Ok(s) => {
                ids.insert((s.id, s.identity.id));
            }
            Err(_) => errors += 1,
        }
    }
    let single_ms = t0.elapsed().as_millis();
    let single_upstream = proxy.requests("/sessions/whoami").await;
    println!("single credential: {CONCURRENT} concurrent whoami → {single_upstream} upstream request(s), {errors} errors, {single_ms} ms");
    assert_eq!(errors, 0);
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![(session, identity)], "everyone got that session");
    assert_eq!(single_upstream, 1, "single-flight: exactly one upstream call");

    // 2) Distinct credentials, all at once, twice.
    proxy.reset().await;
    let iam = cached_iam(&stack, &proxy.url);
    let mut rounds = Vec::new();
    for round in 0..2 {
        let t0 = Instant::now();
        let calls: Vec<_> = sessions
            .iter()
            .cloned()
            .map(|(token, identity, session)| {
                let iam = iam.clone();
                tokio::spawn(async move {
                    let req = header_map([("authorization", format!("Bearer {token}"))]);
                    match iam.session().whoami(&req).await {
                        Ok(s) => Ok(s.identity.id == identity && s.id == session),
                        Err(e) => Err(e.code()),
                    }
                })
            })
            .collect();
        let (mut own, mut crossed, mut errors) = (0, 0, 0);
        for c in calls {
            match c.await.unwrap() {
                Ok(true) => own += 1,
                Ok(false) => crossed += 1,
                Err(_) => errors += 1,
            }
        }
        let upstream = proxy.requests("/sessions/whoami").await;
        let ms = t0.elapsed().as_millis();
        println!(
            "distinct credentials, round {}: {} callers → {own} own identity, {crossed} cross-talk, {errors} errors, {upstream} upstream total, {ms} ms",
            round + 1,
            sessions.len()
        );
        rounds.push(json!({"callers": sessions.len(), "own_identity": own, "cross_talk": crossed, "errors": errors,
                           "upstream_requests_total": upstream, "elapsed_ms": ms}));
        assert_eq!(crossed, 0, "cross-talk");
        assert_eq!(errors, 0);
        assert_eq!(own, sessions.len());
        assert_eq!(upstream, sessions.len() as u64, "one upstream call per credential; the second round is cached");
    }

    let out = json!({
        "single_credential": {"callers": CONCURRENT, "upstream_requests": single_upstream, "errors": 0, "elapsed_ms": single_ms},
        "distinct_credentials": {"requested": n, "sessions_created": sessions.len(), "creation_s": creation_s,
                                 "register_concurrency": REGISTER_CONCURRENCY, "rounds": rounds},
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.stack/reliability");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("load.json"), serde_json::to_string_pretty(&out).unwrap()).unwrap();

    // Clean up the identities (their sessions go with them).
    let ids: Vec<String> = sessions.into_iter().map(|(_, id, _)| id).collect();
    stream::iter(ids)
        .map(|id| {
            let direct = direct.clone();
            async move {
                let _ = direct.identity().delete(&id).await;
            }
        })
        .buffer_unordered(REGISTER_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
}

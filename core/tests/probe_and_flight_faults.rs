//! Faults that must not change later answers (issue 19, items 3 and 4), against the real Kratos
//! behind the fault proxy: a half-open probe refused by the rate limiter or cancelled by its caller
//! re-opens the breaker, which then lets a later probe reach the healed server; a single flight
//! whose every caller was cancelled is gone, and the next caller starts its own request.

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use fault_proxy::FaultProxy;
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam};
use serde_json::{json, Value};
use std::time::Duration;

fn iam_via(proxy: &FaultProxy, http: Value, session_cache: Value) -> Iam {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = session_cache;
    let t = &mut cfg["tenants"]["customer"];
    t["kratos"]["public_url"] = json!(proxy.url);
    t["http"] = http;
    t["cache"] = json!({"session_ttl_ms": 60_000});
    Iam::from_value(&cfg).unwrap()
}

async fn token() -> http::HeaderMap {
    let iam = Iam::from_value(&common::iam_config()).unwrap();
    let (_, token) = common::native_session(&iam, "customer").await;
    header_map([("authorization", format!("Bearer {}", token.expose()))])
}

fn kratos() -> String {
    common::stack()["kratos"]["customer"]["public_url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_rate_limited_probe_reopens_the_breaker() {
    let req = token().await;
    let proxy = FaultProxy::start(&kratos());
    let http = json!({"timeout_ms": 400, "retries": 0, "breaker_threshold": 1, "breaker_open_ms": 300,
                      "rate_limit_per_sec": 1, "rate_limit_burst": 1});
    let iam = iam_via(&proxy, http, json!("none"));
    proxy.fault(json!({"mode": "status", "status": 503})).await;
    assert_eq!(iam.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
    tokio::time::sleep(Duration::from_millis(350)).await;
    // The probe: no rate-limit token within the 400 ms timeout.
    assert_eq!(iam.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
    proxy.reset().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(iam.session().whoami(&req).await.expect("the healed server is reached again").active);
}

#[tokio::test]
async fn a_cancelled_probe_reopens_the_breaker() {
    let req = token().await;
    let proxy = FaultProxy::start(&kratos());
    let http = json!({"timeout_ms": 5000, "retries": 0, "breaker_threshold": 1, "breaker_open_ms": 300});
    let iam = iam_via(&proxy, http, json!("none"));
    proxy.fault(json!({"mode": "status", "status": 503})).await;
    assert_eq!(iam.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
    tokio::time::sleep(Duration::from_millis(350)).await;
    proxy.fault(json!({"mode": "hang"})).await;
    // The probe hangs; its caller gives up (the future is dropped).
    assert!(tokio::time::timeout(Duration::from_millis(200), iam.session().whoami(&req)).await.is_err());
    proxy.reset().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(iam.session().whoami(&req).await.expect("the breaker half-opens again").active);
}

#[tokio::test]
async fn cancelled_single_flight_waiters_leave_no_flight_behind() {
    let req = token().await;
    let proxy = FaultProxy::start(&kratos());
    let http = json!({"timeout_ms": 8000, "retries": 0, "breaker_threshold": 0});
    let iam = iam_via(&proxy, http, json!({"memory": {"max_entries": 100}}));
    proxy.fault(json!({"mode": "hang"})).await;
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (iam, req) = (iam.clone(), req.clone());
            tokio::spawn(async move { iam.session().whoami(&req).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for w in &waiters {
        w.abort();
    }
    for w in waiters {
        assert!(w.await.unwrap_err().is_cancelled());
    }
    proxy.reset().await;
    let s = tokio::time::timeout(Duration::from_secs(3), iam.session().whoami(&req))
        .await
        .expect("joined the abandoned flight")
        .unwrap();
    assert!(s.active && !s.cache_hit);
}

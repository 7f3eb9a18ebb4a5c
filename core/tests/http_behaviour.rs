//! The HTTP layer against real servers: circuit breaker, client-side rate limit.

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use fault_proxy::FaultProxy;
use ory_iam::{ErrorKind, Iam};
use serde_json::json;
use std::time::{Duration, Instant};

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn breaker_opens_on_failures_and_ignores_4xx() {
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["kratos"]["admin_url"] = json!(format!("http://127.0.0.1:{}/", closed_port()));
    cfg["tenants"]["customer"]["http"] = json!({"retries": 0, "breaker_threshold": 2, "breaker_open_ms": 60000});
    cfg["tenants"]["admin"]["http"] = json!({"retries": 0, "breaker_threshold": 2, "breaker_open_ms": 60000});
    let iam = Iam::from_value(&cfg).unwrap();
    let id = "9f425a8d-7efc-4768-8f23-7647a74fdf13";
    for _ in 0..2 {
        let e = iam.identity().get(id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
        assert!(e.retry_after().is_none(), "a connection failure, not the breaker");
    }
    let e = iam.identity().get(id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
    assert!(
        e.retry_after().is_some_and(|d| d > Duration::from_secs(50)),
        "the open breaker answers, with when to come back"
    );

    // 404s are answers: the admin tenant's (real) Kratos breaker stays closed.
    let admin = iam.identity().for_tenant("admin").unwrap();
    for _ in 0..5 {
        assert_eq!(admin.get(id).await.unwrap_err().kind(), ErrorKind::NotFound);
    }
}

#[tokio::test]
async fn client_side_rate_limit_paces_requests() {
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["http"] = json!({"rate_limit_per_sec": 20, "rate_limit_burst": 2});
    let iam = Iam::from_value(&cfg).unwrap();
    let t0 = Instant::now();
    for _ in 0..6 {
        iam.schema().list().await.unwrap();
    }
    // 2 at once, then 4 more at 20/s: at least ~200 ms.
    assert!(t0.elapsed() >= Duration::from_millis(180), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn health_reports_breaker_state() {
    let mut cfg = common::iam_config();
    cfg["tenants"]["admin"]["kratos"]["public_url"] = json!(format!("http://127.0.0.1:{}/", closed_port()));
    let iam = Iam::from_value(&cfg).unwrap();
    let h = iam.health().await;
    assert!(!h.healthy);
    let bad: Vec<_> = h.probes.iter().filter(|p| !p.healthy).collect();
    assert_eq!(bad.len(), 1);
    assert_eq!((bad[0].tenant.as_str(), bad[0].product.as_str()), ("admin", "kratos-public"));
    assert_eq!(bad[0].reason.as_deref(), Some("connection_failed"));
    assert!(h.probes.iter().all(|p| p.breaker == "closed"), "probes do not trip breakers");
}

#[tokio::test]
async fn health_neither_resets_nor_probes_a_breaker() {
    // The customer tenant's Kratos admin API behind a proxy that fails identity reads.
    let stack = common::stack();
    let proxy = FaultProxy::start(stack["kratos"]["customer"]["admin_url"].as_str().unwrap());
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["kratos"]["admin_url"] = json!(proxy.url);
    cfg["tenants"]["customer"]["http"] = json!({"retries": 0, "breaker_threshold": 3, "breaker_open_ms": 60000});
    let iam = Iam::from_value(&cfg).unwrap();
    proxy.fault(json!({"mode": "status", "status": 500, "path": "/admin/identities"})).await;
    let id = "9f425a8d-7efc-4768-8f23-7647a74fdf13";
    let admin_breaker = |h: &ory_iam::Health| {
        h.probes.iter().find(|p| p.tenant == "customer" && p.product == "kratos-admin").unwrap().breaker.clone()
    };

    for _ in 0..2 {
        assert_eq!(iam.identity().get(id).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
    }
    // Health's version lookup on the same host succeeds; the two failures still count.
    let h = iam.health().await;
    assert!(proxy.requests("/admin/version").await >= 1, "health asked the proxied host");
    assert_eq!(admin_breaker(&h), "closed");
    assert!(iam.identity().get(id).await.unwrap_err().retry_after().is_none(), "third failure, from the server");
    let before = proxy.requests("/admin/identities").await;
    let e = iam.identity().get(id).await.unwrap_err();
    assert!(e.retry_after().is_some(), "the breaker opened after 3 consecutive failures");
    assert_eq!(proxy.requests("/admin/identities").await, before, "nothing sent while open");

    // While it is open, health still looks the versions up and leaves it open.
    let versions_before = proxy.requests("/admin/version").await;
    let h = iam.health().await;
    assert!(proxy.requests("/admin/version").await > versions_before);
    assert_eq!(admin_breaker(&h), "open");
    assert!(h.warnings.is_empty());
}

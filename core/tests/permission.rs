//! PermissionService against the real Keto of `tests/stack`.

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use fault_proxy::FaultProxy;
use futures::StreamExt;
use ory_iam::dto::{CheckOptions, ExpandQuery, PermissionQuery, PermissionTuple, Subject};
use ory_iam::{ErrorKind, Iam, IamConfig};
use serde_json::json;
use std::sync::Arc;

fn iam_with_cache(ttl_ms: u64) -> Iam {
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["cache"] = json!({"permission_ttl_ms": ttl_ms});
    Iam::from_value(&cfg).unwrap()
}

fn obj() -> String {
    format!("doc-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn grant_check_revoke_are_idempotent() {
    let iam = iam_with_cache(0);
    let p = iam.permission();
    let t = PermissionTuple::new("documents", &obj(), "view", "alice");
    assert!(!p.check(&t, CheckOptions::default()).await.unwrap());
    p.grant(&t).await.unwrap();
    p.grant(&t).await.unwrap();
    assert!(p.check(&t, CheckOptions::default()).await.unwrap());
    p.revoke(&t).await.unwrap();
    p.revoke(&t).await.unwrap();
    assert!(!p.check(&t, CheckOptions::default()).await.unwrap(), "revoke removes every copy");
    let bad = PermissionTuple::new("documents", "", "view", "alice");
    assert_eq!(p.check(&bad, CheckOptions::default()).await.unwrap_err().kind(), ErrorKind::Validation);
}

#[tokio::test]
async fn subject_sets_and_expand() {
    let iam = iam_with_cache(0);
    let p = iam.permission();
    let group = obj();
    let doc = obj();
    p.grant(&PermissionTuple::new("groups", &group, "member", "bob")).await.unwrap();
    let via_group = PermissionTuple::with_subject("documents", &doc, "view", Subject::set("groups", &group, "member"));
    assert!(matches!(via_group.subject, Subject::Set { .. }));
    p.grant(&via_group).await.unwrap();
    assert!(p.check(&PermissionTuple::new("documents", &doc, "view", "bob"), CheckOptions::default()).await.unwrap());
    let tree = p
        .expand(ExpandQuery {
            namespace: "documents".into(),
            object: doc.clone(),
            relation: "view".into(),
            max_depth: Some(3),
        })
        .await
        .unwrap();
    let text = serde_json::to_string(&tree).unwrap();
    assert!(text.contains("bob"), "the tree reaches the group member: {text}");
    assert_eq!(tree.kind, "union");

    // Nothing granted on the relation: an empty tree, not an outage.
    let empty = p
        .expand(ExpandQuery {
            namespace: "documents".into(),
            object: format!("nothing-{}", uuid::Uuid::new_v4()),
            relation: "view".into(),
            max_depth: None,
        })
        .await
        .unwrap();
    assert_eq!((empty.kind.as_str(), empty.tuple.is_none(), empty.children.len()), ("leaf", true, 0));
}

#[tokio::test]
async fn list_pages_across_several_pages() {
    let iam = iam_with_cache(0);
    let p = iam.permission();
    let doc = obj();
    for i in 0..7 {
        p.grant(&PermissionTuple::new("documents", &doc, "edit", &format!("user-{i}"))).await.unwrap();
    }
    let q = PermissionQuery {
        namespace: "documents".into(),
        object: Some(doc.clone()),
        page_size: Some(3),
        ..Default::default()
    };
    let first = p.list(q.clone()).await.unwrap();
    assert_eq!(first.items.len(), 3);
    assert!(first.next_page_token.is_some());
    let all: Vec<PermissionTuple> = p.list_all(q).map(|r| r.unwrap()).collect().await;
    assert_eq!(all.len(), 7);
    assert!(all.iter().all(|t| t.object == doc && t.relation == "edit"));
}

#[tokio::test]
async fn check_batch_keeps_order_and_isolates_failures() {
    let iam = iam_with_cache(0);
    let p = iam.permission();
    let doc = obj();
    let mut tuples = Vec::new();
    for i in 0..25 {
        let t = PermissionTuple::new("documents", &doc, "view", &format!("u{i}"));
        if i % 3 == 0 {
            p.grant(&t).await.unwrap();
        }
        tuples.push(t);
    }
    tuples.insert(5, PermissionTuple::new("documents", &doc, "", "broken"));
    let results = p.check_batch(&tuples).await.unwrap();
    assert_eq!(results.len(), 26, "more tuples than one server batch (10)");
    for (i, r) in results.iter().enumerate() {
        if i == 5 {
            assert!(!r.allowed && r.error.is_some(), "an invalid tuple fails alone");
            continue;
        }
        let n = if i < 5 { i } else { i - 1 };
        assert_eq!(r.allowed, n % 3 == 0, "result {i} is in input order");
        assert!(r.error.is_none());
    }
}

/// The stack's Keto `limit.max_batch_check_size` (above Keto's default of 10).
fn server_batch_limit() -> u64 {
    common::stack()["keto"]["max_batch_check_size"].as_u64().unwrap()
}

/// A fresh `Iam` whose Keto read API is reached through a fault proxy in front of the real Keto.
fn through_proxy(http: serde_json::Value) -> (Iam, FaultProxy) {
    through_proxy_with(http, None)
}

/// The stack's config with the customer tenant's Keto read API behind a fresh fault proxy.
fn proxied_config() -> (serde_json::Value, FaultProxy) {
    let proxy = FaultProxy::start(common::stack()["keto"]["read_url"].as_str().unwrap());
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["keto"]["read_url"] = json!(proxy.url);
    (cfg, proxy)
}

fn through_proxy_with(http: serde_json::Value, batch_size: Option<u64>) -> (Iam, FaultProxy) {
    let (mut cfg, proxy) = proxied_config();
    if let Some(n) = batch_size {
        cfg["tenants"]["customer"]["keto"]["batch_size"] = json!(n);
    }
    cfg["tenants"]["customer"]["cache"] = json!({"permission_ttl_ms": 0});
    cfg["tenants"]["customer"]["http"] = http;
    (Iam::from_value(&cfg).unwrap(), proxy)
}

/// `n` tuples on a fresh object, every third one granted; returns them and the expected answers.
async fn granted_every_third(iam: &Iam, n: usize) -> (Vec<PermissionTuple>, Vec<bool>) {
    let doc = obj();
    let mut tuples = Vec::new();
    let mut expect = Vec::new();
    for i in 0..n {
        let t = PermissionTuple::new("documents", &doc, "view", &format!("u{i}"));
        if i % 3 == 0 {
            iam.permission().grant(&t).await.unwrap();
        }
        expect.push(i % 3 == 0);
        tuples.push(t);
    }
    (tuples, expect)
}

#[tokio::test]
async fn check_batch_uses_ketos_batch_endpoint_in_chunks() {
    let (iam, proxy) = through_proxy(json!({}));
    let (tuples, expect) = granted_every_third(&iam, 95).await;
    let results = iam.permission().check_batch(&tuples).await.unwrap();
    assert_eq!(results.iter().map(|r| r.allowed).collect::<Vec<_>>(), expect, "answers in input order");
    assert!(results.iter().all(|r| r.error.is_none()));
    assert_eq!(proxy.requests("batch/check").await, 10, "95 tuples = 10 requests of at most 10");
    assert_eq!(proxy.requests("").await, 10, "no single checks");
}

#[tokio::test]
async fn keto_batch_size_sets_the_tuples_per_request() {
    let limit = server_batch_limit();
    let (iam, proxy) = through_proxy_with(json!({}), Some(limit));
    let (tuples, expect) = granted_every_third(&iam, limit as usize + 5).await;
    let results = iam.permission().check_batch(&tuples).await.unwrap();
    assert_eq!(results.iter().map(|r| r.allowed).collect::<Vec<_>>(), expect);
    assert!(results.iter().all(|r| r.error.is_none()));
    assert_eq!(proxy.requests("batch/check").await, 2, "one full request and the 5 left over");
    assert_eq!(proxy.requests("").await, 2);
}

#[tokio::test]
async fn a_batch_size_above_the_servers_limit_falls_back_to_single_checks() {
    let (iam, proxy) = through_proxy_with(json!({}), Some(server_batch_limit() + 1));
    let (tuples, expect) = granted_every_third(&iam, server_batch_limit() as usize + 1).await;
    // Keto refuses the oversized batch with 400; the answers still come, one check each.
    let results = iam.permission().check_batch(&tuples).await.unwrap();
    assert_eq!(results.iter().map(|r| r.allowed).collect::<Vec<_>>(), expect);
    assert!(results.iter().all(|r| r.error.is_none()));
    assert_eq!(proxy.requests("batch/check").await, 1);
    assert_eq!(proxy.requests("").await, 1 + tuples.len() as u64);
}

#[tokio::test]
async fn check_batch_falls_back_to_single_checks_once_keto_has_no_batch_endpoint() {
    let (iam, proxy) = through_proxy(json!({}));
    let (tuples, expect) = granted_every_third(&iam, 25).await;
    // A Keto before v0.14 answers the batch path with 404.
    proxy.fault(json!({"mode": "status", "status": 404, "path": "batch/check"})).await;
    let results = iam.permission().check_batch(&tuples).await.unwrap();
    assert_eq!(results.iter().map(|r| r.allowed).collect::<Vec<_>>(), expect);
    assert!(results.iter().all(|r| r.error.is_none()));
    assert_eq!(proxy.requests("batch/check").await, 1, "one chunk asks alone first");
    assert_eq!(proxy.requests("").await, 26, "then one check per tuple");
    // Remembered for the tenant: the next batch goes straight to single checks.
    let again = iam.permission().check_batch(&tuples[..5]).await.unwrap();
    assert_eq!(again.iter().map(|r| r.allowed).collect::<Vec<_>>(), expect[..5]);
    assert_eq!(proxy.requests("batch/check").await, 1);
    assert_eq!(proxy.requests("").await, 31);
}

#[tokio::test]
async fn a_failed_batch_request_fails_only_its_own_tuples() {
    let (iam, proxy) = through_proxy(json!({"retries": 0}));
    let (tuples, expect) = granted_every_third(&iam, 30).await;
    // The first request (the probe chunk: tuples 0..10) gets a 503; the other two are answered.
    proxy.fault(json!({"mode": "status", "status": 503, "path": "batch/check", "times": 1})).await;
    let results = iam.permission().check_batch(&tuples).await.unwrap();
    for (i, r) in results.iter().enumerate() {
        if i < 10 {
            assert!(!r.allowed && r.error.is_some(), "tuple {i}: never allowed on an error");
        } else {
            assert_eq!((r.allowed, r.error.is_none()), (expect[i], true), "tuple {i}");
        }
    }
    // A failure says nothing about the endpoint: the next call still uses batches.
    let again = iam.permission().check_batch(&tuples[..10]).await.unwrap();
    assert_eq!(again.iter().map(|r| r.allowed).collect::<Vec<_>>(), expect[..10]);
    assert_eq!(proxy.requests("batch/check").await, 4);
    assert_eq!(proxy.requests("").await, 4, "no single checks");
}

#[tokio::test]
async fn check_batch_settles_each_tuple_like_check() {
    // Decision cache on, audit collected, Keto reached through a counting proxy.
    let (mut cfg, proxy) = proxied_config();
    cfg["tenants"]["customer"]["cache"] = json!({"permission_ttl_ms": 60_000});
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(common::Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    let (mut tuples, mut expect) = granted_every_third(&iam, 12).await;
    // Keto reports an error for a tuple in a namespace it does not know.
    tuples.push(PermissionTuple::new("no-such-namespace", "o", "view", "u0"));
    expect.push(false);
    let count = |name: &str| sink.0.lock().unwrap().iter().filter(|e| e.name == name).count();

    let p = iam.permission();
    let first = p.check_batch(&tuples).await.unwrap();
    assert_eq!(first.iter().map(|r| r.allowed).collect::<Vec<_>>(), expect);
    assert!(first[..12].iter().all(|r| r.error.is_none()));
    assert!(first[12].error.is_some(), "Keto's per-tuple error fails that tuple");
    assert_eq!(proxy.requests("").await, 2, "13 tuples: the probe chunk of 10, then 3");
    assert_eq!(count("authz.permission.deny"), 8, "every denial audited, as by check");
    assert_eq!(count("authz.upstream_unavailable"), 1);

    // The decisions are cached for check_batch and check alike; the failed tuple is not.
    let second = p.check_batch(&tuples).await.unwrap();
    assert_eq!(second.iter().map(|r| r.allowed).collect::<Vec<_>>(), expect);
    assert!(p.check(&tuples[1], CheckOptions::default()).await.is_ok_and(|a| !a));
    assert_eq!(proxy.requests("").await, 3, "only the failed tuple is asked again");
    assert_eq!(count("authz.permission.deny"), 8, "a cached decision is not audited again");
    assert_eq!(count("authz.upstream_unavailable"), 2);
}

#[tokio::test]
async fn decision_cache_is_invalidated_by_grant_and_revoke() {
    let iam = iam_with_cache(60_000);
    let other = iam_with_cache(0); // writes that bypass the first instance's cache
    let p = iam.permission();
    let t = PermissionTuple::new("documents", &obj(), "view", "carol");
    assert!(!p.check(&t, CheckOptions::default()).await.unwrap());
    other.permission().grant(&t).await.unwrap();
    assert!(!p.check(&t, CheckOptions::default()).await.unwrap(), "cached decision");
    assert!(p.check(&t, CheckOptions { fresh: true, max_depth: None }).await.unwrap(), "fresh asks Keto");
    p.revoke(&t).await.unwrap();
    assert!(!p.check(&t, CheckOptions::default()).await.unwrap(), "revoke through this instance invalidates");
    p.grant(&t).await.unwrap();
    assert!(p.check(&t, CheckOptions::default()).await.unwrap(), "grant invalidates");
}

#[tokio::test]
async fn keto_down_never_reads_as_allowed() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["keto"]["read_url"] = json!(format!("http://127.0.0.1:{port}/"));
    cfg["tenants"]["customer"]["http"] = json!({"retries": 1, "backoff_base_ms": 10});
    let iam = Iam::from_value(&cfg).unwrap();
    let t = PermissionTuple::new("documents", "d", "view", "alice");
    assert_eq!(
        iam.permission().check(&t, CheckOptions::default()).await.unwrap_err().kind(),
        ErrorKind::UpstreamUnavailable
    );
    let r = iam.permission().check_batch(&[t.clone(), t]).await.unwrap();
    assert!(r.iter().all(|r| !r.allowed && r.error.is_some()));
}

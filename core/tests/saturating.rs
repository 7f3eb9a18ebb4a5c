//! Numbers from config and from servers at their extremes (issue 19, item 10): every duration key
//! at `u64::MAX` ms, and real answers of the real Kratos and Hydra with `expires_in`, `exp`,
//! `iat` and `expires_at` pushed to the limits of their types (through the fault proxy's
//! `patch_json` mode). Arithmetic on them must saturate: the calls answer (or refuse with a
//! typed error), never panic or wrap, and caches stay usable.

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use fault_proxy::FaultProxy;
use ory_iam::dto::{AuthenticateOptions, CheckOptions, PermissionTuple};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam};
use serde_json::{json, Value};

const MAX: u64 = u64::MAX;

fn extreme_durations() -> Value {
    json!({"timeout_ms": MAX, "connect_timeout_ms": MAX, "backoff_base_ms": MAX, "backoff_max_ms": MAX,
           "breaker_threshold": 1, "breaker_open_ms": MAX, "retries": 0})
}

fn extreme_caches() -> Value {
    json!({"session_ttl_ms": MAX, "permission_ttl_ms": MAX, "jwks_ttl_ms": MAX, "jwks_stale_ms": MAX,
           "introspection_ttl_ms": MAX})
}

/// A client-credentials client of the real Hydra and the tenant config that uses it.
async fn client(iam: &Iam, strategy: &str) -> (String, String) {
    let c = iam
        .oauth2_client()
        .create(json!({"grant_types": ["client_credentials"], "scope": "read", "access_token_strategy": strategy}))
        .await
        .unwrap();
    (c.client_id, c.client_secret.unwrap().expose().to_owned())
}

#[tokio::test]
async fn config_durations_at_u64_max_never_panic() {
    let admin = Iam::from_value(&common::iam_config()).unwrap();
    let (cid, secret) = client(&admin, "jwt").await;
    let mut cfg = common::iam_config();
    cfg["session_cache"] = json!({"memory": {"max_entries": 100}});
    let t = &mut cfg["tenants"]["customer"];
    t["http"] = extreme_durations();
    t["cache"] = extreme_caches();
    t["hydra"]["client_id"] = json!(cid);
    t["hydra"]["client_secret"] = json!(secret);
    let iam = Iam::from_value(&cfg).unwrap();

    // Sessions: cached for min(session lifetime, u64::MAX ms).
    let (_, token) = common::native_session(&iam, "customer").await;
    let req = header_map([("authorization", format!("Bearer {}", token.expose()))]);
    assert!(!iam.session().whoami(&req).await.unwrap().cache_hit);
    assert!(iam.session().whoami(&req).await.unwrap().cache_hit);
    // Decisions: cached for u64::MAX ms (moka's TTL is bounded).
    let tuple = PermissionTuple::new("documents", "sat-doc", "view", "nobody-sat");
    assert!(!iam.permission().check(&tuple, CheckOptions::default()).await.unwrap());
    assert!(!iam.permission().check(&tuple, CheckOptions::default()).await.unwrap());
    // Tokens, introspection, JWKS: cached for u64::MAX ms.
    let t = iam.token().client_credentials(Some("read")).await.unwrap();
    assert!(iam.token().introspect(&t.access_token).await.unwrap().active);
    assert!(iam.token().introspect(&t.access_token).await.unwrap().active);
    let bearer = header_map([("authorization", format!("Bearer {}", t.access_token.expose()))]);
    for _ in 0..2 {
        assert_eq!(iam.token().authenticate(&bearer, AuthenticateOptions::default()).await.unwrap().verified_by, "jwt");
    }

    // A breaker opened for u64::MAX ms: the failure that opens it and the refusals after it.
    let mut down = common::iam_config();
    down["tenants"]["customer"]["kratos"]["admin_url"] = json!(format!("http://127.0.0.1:{}/", closed_port()));
    down["tenants"]["customer"]["http"] = extreme_durations();
    let down = Iam::from_value(&down).unwrap();
    let id = "00000000-0000-4000-8000-000000000000";
    assert_eq!(down.identity().get(id).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
    let refused = down.identity().get(id).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::UpstreamUnavailable);
    assert!(refused.retry_after().is_some(), "an open breaker says how long");
    assert!(refused.to_json()["retry_after"].as_f64().is_some_and(|s| s > 0.0));
    admin.oauth2_client().delete(&cid).await.unwrap();
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn upstream_numbers_at_their_limits_never_panic() {
    let stack = common::stack();
    let admin = Iam::from_value(&common::iam_config()).unwrap();
    let (cid, secret) = client(&admin, "opaque").await;
    let kratos = FaultProxy::start(stack["kratos"]["customer"]["public_url"].as_str().unwrap());
    let hydra_public = FaultProxy::start(stack["hydra"]["public_url"].as_str().unwrap());
    let hydra_admin = FaultProxy::start(stack["hydra"]["admin_url"].as_str().unwrap());
    let mut cfg = common::iam_config();
    cfg["session_cache"] = json!({"memory": {"max_entries": 100}});
    let t = &mut cfg["tenants"]["customer"];
    t["kratos"]["public_url"] = json!(kratos.url);
    t["hydra"]["public_url"] = json!(hydra_public.url);
    t["hydra"]["admin_url"] = json!(hydra_admin.url);
    t["hydra"]["client_id"] = json!(cid);
    t["hydra"]["client_secret"] = json!(secret);
    t["cache"] = extreme_caches();
    let iam = Iam::from_value(&cfg).unwrap();
    let (_, token) = common::native_session(&iam, "customer").await;
    let req = header_map([("authorization", format!("Bearer {}", token.expose()))]);

    // A session that ends at the last second RFC 3339 can name.
    kratos
        .fault(json!({"mode": "patch_json", "path": "/sessions/whoami", "set": {"expires_at": "9999-12-31T23:59:59Z"}}))
        .await;
    let s = iam.session().whoami(&req).await.unwrap();
    assert_eq!(s.expires_at.as_deref(), Some("9999-12-31T23:59:59Z"), "the proxy patched the real answer");
    assert!(iam.session().whoami(&req).await.unwrap().cache_hit);

    // A token that lives u64::MAX seconds, then one whose `expires_in` does not fit in u64.
    for expires_in in [json!(u64::MAX), json!(1e30), json!(-1)] {
        hydra_public
            .fault(json!({"mode": "patch_json", "path": "/oauth2/token", "set": {"expires_in": expires_in}}))
            .await;
        match iam.token().client_credentials(Some("read")).await {
            Ok(t) => assert!(!t.access_token.expose().is_empty()),
            Err(e) => assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{expires_in}: a malformed answer"),
        }
    }
    hydra_public.reset().await;
    let t = iam.token().client_credentials(Some("read")).await.unwrap();

    // Introspection answers whose `exp`/`iat` sit at the ends of i64.
    for (exp, iat) in [(i64::MAX, i64::MIN), (i64::MIN, i64::MAX), (0, 0)] {
        hydra_admin
            .fault(json!({"mode": "patch_json", "path": "/admin/oauth2/introspect", "set": {"exp": exp, "iat": iat}}))
            .await;
        // A fresh instance each time: the first answer would otherwise be served from the cache.
        let iam = Iam::from_value(&cfg).unwrap();
        let i = iam.token().introspect(&t.access_token).await.unwrap();
        assert!(i.active);
        assert_eq!(i.exp, Some(exp), "the proxy patched the real answer");
        let bearer = header_map([("authorization", format!("Bearer {}", t.access_token.expose()))]);
        let fresh = AuthenticateOptions { mode: Some(ory_iam::dto::BearerMode::Introspect), ..Default::default() };
        // Expired or not, an answer (principal or a typed refusal), never a panic.
        match iam.token().authenticate(&bearer, fresh).await {
            Ok(p) => assert_eq!(p.verified_by, "introspection"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Unauthorized),
        }
    }
    admin.oauth2_client().delete(&cid).await.unwrap();
}

#[test]
fn retry_after_beyond_u64_seconds_is_clamped_not_wrapped() {
    // A caller-supplied wait (the bindings' `retry_after=`) of any size becomes a whole number of
    // seconds in the 503 answer, never a wrapped or negative one.
    for secs in [f64::MAX, 1e300, 1e20] {
        let w = ory_iam::answer::wait_from_secs(secs).unwrap();
        assert!(w >= std::time::Duration::from_secs(u64::MAX / 2));
    }
}

//! `SessionService::whoami_ready`, the no-I/O answer the bindings use for cache hits, against the
//! real Kratos: it answers exactly when `whoami` would not need a request, with the same
//! session and the same audit events, and leaves everything else to `whoami`.

mod common;

use common::Collect;
use ory_iam::dto::{FlowResult, InitiateFlow, SubmitFlow};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam, IamConfig};
use serde_json::{json, Value};
use std::sync::Arc;

fn iam(session_cache: Value, sink: Arc<Collect>) -> Iam {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = session_cache;
    cfg["tenants"]["customer"]["cache"] = json!({"session_ttl_ms": 60_000});
    cfg["audit"] = json!({"sink": "callback"});
    Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink).build().unwrap()
}

async fn new_session(iam: &Iam) -> String {
    let flows = iam.flow();
    let flow = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
    let body = json!({"method": "password", "password": "a-Long-and-unique-passphrase-42",
                      "traits": {"email": common::unique_email("ready")}});
    match flows.submit_registration(&flow.id, body, SubmitFlow::default()).await.unwrap() {
        FlowResult::Success(s) => s.session_token.unwrap().expose().to_owned(),
        other => panic!("expected success, got {other:?}"),
    }
}

#[tokio::test]
async fn memory_cache_hit_is_answered_without_io_like_whoami() {
    let sink = Arc::new(Collect::default());
    let iam = iam(json!("memory"), sink.clone());
    let token = new_session(&iam).await;
    let req = header_map([("x-session-token", token.as_str())]);
    let sessions = iam.session();

    assert!(sessions.whoami_ready(&req).is_none(), "nothing cached yet: Kratos must be asked");
    let fetched = sessions.whoami(&req).await.unwrap();
    assert!(!fetched.cache_hit);
    let ready = sessions.whoami_ready(&req).expect("cached now").unwrap();
    let awaited = sessions.whoami(&req).await.unwrap();
    assert!(ready.cache_hit && awaited.cache_hit);
    assert_eq!(ready, awaited, "same session either way");
    assert_eq!(
        (ready.id.as_str(), ready.identity.traits.as_ref()),
        (fetched.id.as_str(), fetched.identity.traits.as_ref())
    );

    let hits: Vec<bool> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.name == "auth.success")
        .map(|e| e.attributes["cache_hit"].as_bool().unwrap())
        .collect();
    assert_eq!(hits, vec![false, true, true], "a ready hit is audited like an awaited one");

    // After revoke the entry is gone: no ready answer, and whoami asks Kratos, which refuses.
    sessions.revoke(&fetched.id).await.unwrap();
    assert!(sessions.whoami_ready(&req).is_none());
    assert_eq!(sessions.whoami(&req).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    iam.identity().delete(&fetched.identity.id).await.unwrap();
}

#[tokio::test]
async fn locally_refused_credentials_are_ready_and_remote_caches_are_not() {
    let sink = Arc::new(Collect::default());
    let mem = iam(json!("memory"), sink.clone());
    let missing = mem.session().whoami_ready(&header_map([("accept", "application/json")]));
    assert_eq!(missing.expect("refused locally").unwrap_err().kind(), ErrorKind::Unauthorized);
    let malformed = mem.session().whoami_ready(&header_map([("authorization", "Bearer ")]));
    assert_eq!(malformed.expect("refused locally").unwrap_err().kind(), ErrorKind::Unauthorized);
    let names: Vec<String> = sink.0.lock().unwrap().iter().map(|e| e.name.clone()).collect();
    assert_eq!(names.len(), 2, "each refusal audited once: {names:?}");

    // Redis is I/O: a ready answer is never given for a credential, even a cached one.
    let redis = iam(common::redis_cache(), Arc::new(Collect::default()));
    let token = new_session(&redis).await;
    let req = header_map([("x-session-token", token.as_str())]);
    let s = redis.session().whoami(&req).await.unwrap();
    assert!(redis.session().whoami(&req).await.unwrap().cache_hit, "cached in Redis");
    assert!(redis.session().whoami_ready(&req).is_none());
    redis.identity().delete(&s.identity.id).await.unwrap();
}

#[tokio::test]
async fn whoami_or_null_ready_matches_whoami_or_null() {
    let sink = Arc::new(Collect::default());
    let iam = iam(json!("memory"), sink.clone());
    let sessions = iam.session();
    // No credential: "no session", known without I/O.
    let none = sessions.whoami_or_null_ready(&header_map([("accept", "application/json")]));
    assert_eq!(none.expect("refused locally").unwrap(), None);
    assert_eq!(sessions.whoami_or_null(&header_map([("accept", "application/json")])).await.unwrap(), None);

    let token = new_session(&iam).await;
    let req = header_map([("x-session-token", token.as_str())]);
    assert!(sessions.whoami_or_null_ready(&req).is_none(), "not cached: Kratos must be asked");
    let fetched = sessions.whoami_or_null(&req).await.unwrap().expect("a session");
    let ready = sessions.whoami_or_null_ready(&req).expect("cached now").unwrap().expect("a session");
    assert!(ready.cache_hit && ready.id == fetched.id);

    // Another tenant's cache entry is never handed out; whoami_or_null then asks its Kratos.
    let admin = sessions.for_tenant("admin").unwrap();
    assert!(admin.whoami_or_null_ready(&req).is_none());
    assert_eq!(admin.whoami_or_null(&req).await.unwrap(), None);
    iam.identity().delete(&fetched.identity.id).await.unwrap();
}

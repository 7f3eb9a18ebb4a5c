//! Path safety (issue 19, item 2): ids that go into URL paths never reach another endpoint. The
//! cases live in tests/security/hostile_ids.json, shared with Python and Node. Every Ory URL of
//! the Iam under test points at the fault proxy armed to answer 404 to everything: it records
//! each request's raw path and forwards none.

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use fault_proxy::FaultProxy;
use ory_iam::{ErrorKind, Iam, IamConfig};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn cases() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/security/hostile_ids.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn place(v: &Value, id: &str) -> Value {
    match v {
        Value::String(s) if s == "$id" => json!(id),
        Value::Array(a) => Value::Array(a.iter().map(|x| place(x, id)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), place(x, id))).collect()),
        other => other.clone(),
    }
}

fn captured_iam(url: &str) -> Iam {
    let mut customer = common::iam_config()["tenants"]["customer"].clone();
    for product in ["kratos", "keto", "hydra"] {
        let keys: Vec<String> = customer[product].as_object().unwrap().keys().cloned().collect();
        for k in keys.iter().filter(|k| k.ends_with("_url")) {
            customer[product][k] = json!(url);
        }
    }
    customer["http"] = json!({"timeout_ms": 2000, "retries": 0});
    let cfg = json!({"default_tenant": "customer", "tenants": {"customer": customer}, "audit": {"sink": "none"}});
    Iam::from_config(IamConfig::from_value(&cfg).unwrap()).unwrap()
}

/// One method of the case file, called with its arguments; the error it ended with, if any.
async fn call(iam: &Iam, service: &str, method: &str, args: &[Value]) -> Option<ory_iam::Error> {
    let s = |i: usize| args[i].as_str().unwrap().to_owned();
    let v = |i: usize| args[i].clone();
    let r: ory_iam::Result<()> = match (service, method) {
        ("oauth2_client", "get") => iam.oauth2_client().get(&s(0)).await.map(drop),
        ("oauth2_client", "delete") => iam.oauth2_client().delete(&s(0)).await,
        ("oauth2_client", "set") => iam.oauth2_client().set(&s(0), v(1)).await.map(drop),
        ("oauth2_client", "patch") => iam.oauth2_client().patch(&s(0), v(1)).await.map(drop),
        ("oauth2_client", "set_lifespans") => {
            iam.oauth2_client().set_lifespans(&s(0), serde_json::from_value(v(1)).unwrap()).await.map(drop)
        }
        ("oauth2_client", "get_registered") => {
            iam.oauth2_client().get_registered(&s(0), &ory_iam::Secret::new(s(1))).await.map(drop)
        }
        ("oauth2_client", "set_registered") => {
            iam.oauth2_client().set_registered(&s(0), &ory_iam::Secret::new(s(1)), v(2)).await.map(drop)
        }
        ("oauth2_client", "delete_registered") => {
            iam.oauth2_client().delete_registered(&s(0), &ory_iam::Secret::new(s(1))).await
        }
        ("jwk", "get_set") => iam.jwk().get_set(&s(0)).await.map(drop),
        ("jwk", "delete_set") => iam.jwk().delete_set(&s(0)).await,
        ("jwk", "create_set") => iam.jwk().create_set(&s(0), serde_json::from_value(v(1)).unwrap()).await.map(drop),
        ("jwk", "update_set") => {
            let keys = v(1)["keys"].as_array().cloned().unwrap_or_default();
            iam.jwk().update_set(&s(0), ory_iam::dto::JsonWebKeySet { keys }).await.map(drop)
        }
        ("jwk", "get_key") => iam.jwk().get_key(&s(0), &s(1)).await.map(drop),
        ("jwk", "delete_key") => iam.jwk().delete_key(&s(0), &s(1)).await,
        ("jwk", "update_key") => iam.jwk().update_key(&s(0), &s(1), v(2)).await.map(drop),
        ("trusted_issuer", "get") => iam.trusted_issuer().get(&s(0)).await.map(drop),
        ("trusted_issuer", "delete") => iam.trusted_issuer().delete(&s(0)).await,
        ("schema", "get") => iam.schema().get(&s(0)).await.map(drop),
        other => panic!("no dispatch for {other:?}: add it here"),
    };
    r.err()
}

fn stays_in_place(path: &str, m: &Value, id: &str) -> bool {
    let Some(rest) = path.strip_prefix(m["prefix"].as_str().unwrap()) else { return false };
    let Some(seg) = rest.strip_suffix(m["suffix"].as_str().unwrap_or("")) else { return false };
    !seg.contains('/') && percent_decode(seg).as_deref() == Some(id)
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

async fn by_path(p: &FaultProxy) -> BTreeMap<String, u64> {
    serde_json::from_value(p.stats().await["by_path"].clone()).unwrap()
}

#[tokio::test]
async fn hostile_ids_stay_one_segment_of_their_own_endpoint() {
    let proxy = FaultProxy::start(common::iam_config()["tenants"]["customer"]["kratos"]["admin_url"].as_str().unwrap());
    proxy.fault(json!({"mode": "status", "status": 404})).await;
    let iam = captured_iam(&proxy.url);
    let c = cases();
    let mut failures = Vec::new();
    for m in c["methods"].as_array().unwrap() {
        let (svc, method) = (m["service"].as_str().unwrap(), m["call"].as_str().unwrap());
        for id in c["hostile"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()) {
            let before = by_path(&proxy).await;
            let args: Vec<Value> = m["args"].as_array().unwrap().iter().map(|a| place(a, id)).collect();
            call(&iam, svc, method, &args).await;
            let after = by_path(&proxy).await;
            let sent: Vec<&String> = after.iter().filter(|(p, n)| before.get(*p) != Some(n)).map(|(p, _)| p).collect();
            if sent.is_empty() {
                failures.push(format!("{svc}.{method}({id:?}): no request"));
            }
            for p in sent.into_iter().filter(|p| !stays_in_place(p, m, id)) {
                failures.push(format!("{svc}.{method}({id:?}) sent {p}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn ids_no_server_can_hold_are_refused_locally() {
    let proxy = FaultProxy::start(common::iam_config()["tenants"]["customer"]["kratos"]["admin_url"].as_str().unwrap());
    proxy.fault(json!({"mode": "status", "status": 404})).await;
    let iam = captured_iam(&proxy.url);
    let c = cases();
    let mut failures = Vec::new();
    for m in c["methods"].as_array().unwrap() {
        let (svc, method) = (m["service"].as_str().unwrap(), m["call"].as_str().unwrap());
        for id in c["refused"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()) {
            let before = proxy.requests("").await;
            let args: Vec<Value> = m["args"].as_array().unwrap().iter().map(|a| place(a, id)).collect();
            match call(&iam, svc, method, &args).await {
                Some(e) if e.kind() == ErrorKind::Validation && !e.fields().is_empty() => {}
                other => failures.push(format!("{svc}.{method}({id:?}): {:?}", other.map(|e| e.kind()))),
            }
            if proxy.requests("").await != before {
                failures.push(format!("{svc}.{method}({id:?}) sent a request"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

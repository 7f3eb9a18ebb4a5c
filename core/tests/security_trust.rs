//! Issue 19's attack scenarios, from the file shared with the Python and Node drivers
//! (`tests/security/trust_attacks.json`), against the real stack: token confusion and forged
//! tokens, the expected audience, the JWKS under a flood of unknown key ids and during an outage,
//! cache coherence after writes made through the library, configuration bounds; and the index
//! of every attack of the issue, whose Rust references must name tests that exist.

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/hydra_flow.rs"]
mod hydra_flow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fault_proxy::FaultProxy;
use hmac::Mac;
use ory_iam::dto::{AuthenticateOptions, BearerMode, TokenSet};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn scenarios() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/security/trust_attacks.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn iam() -> Iam {
    Iam::from_value(&common::iam_config()).unwrap()
}

fn bearer(t: &str) -> http::HeaderMap {
    header_map([("authorization", format!("Bearer {t}"))])
}

fn mode(m: &str) -> BearerMode {
    BearerMode::parse(m).unwrap()
}

fn b64json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn enc(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// The token of kind `kind` from a real flow's token set, or one forged from them (the kinds
/// are described in the scenario file).
fn token_of(kind: &str, t: &TokenSet) -> String {
    let access = t.access_token.expose();
    let id = t.id_token.as_ref().unwrap().expose();
    let parts = |jwt: &str| -> (Value, Value, String) {
        let p: Vec<&str> = jwt.split('.').collect();
        (b64json(p[0]), b64json(p[1]), p[2].to_owned())
    };
    match kind {
        "access" => access.to_owned(),
        "id" => id.to_owned(),
        "refresh" => t.refresh_token.as_ref().unwrap().expose().to_owned(),
        "alg_none" => {
            let (mut h, c, _) = parts(access);
            h["alg"] = json!("none");
            format!("{}.{}.", enc(&h), enc(&c))
        }
        "alg_hs256" => {
            let (mut h, c, _) = parts(access);
            h["alg"] = json!("HS256");
            let input = format!("{}.{}", enc(&h), enc(&c));
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"attacker-chosen-key").unwrap();
            mac.update(input.as_bytes());
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
        }
        "tampered_sub" => {
            let (h, mut c, sig) = parts(access);
            c["sub"] = json!("someone-else");
            format!("{}.{}.{sig}", enc(&h), enc(&c))
        }
        "unknown_kid" => {
            let (mut h, c, sig) = parts(access);
            h["kid"] = json!(format!("made-up-{}", uuid::Uuid::new_v4().simple()));
            format!("{}.{}.{sig}", enc(&h), enc(&c))
        }
        "id_token_header_typ_at" => {
            let (mut h, c, sig) = parts(id);
            h["typ"] = json!("at+jwt");
            format!("{}.{}.{sig}", enc(&h), enc(&c))
        }
        other => panic!("unknown token kind {other}"),
    }
}

#[tokio::test]
async fn token_confusion_cases() {
    let sc = scenarios();
    let iam = iam();
    let mut flows: HashMap<String, (TokenSet, String)> = HashMap::new();
    for strategy in ["jwt", "opaque"] {
        let (tokens, client_id, _) = hydra_flow::code_flow(&iam, strategy, &[]).await;
        flows.insert(strategy.into(), (tokens, client_id));
    }
    let mut failures = Vec::new();
    let cases = sc["token_confusion"]["cases"].as_array().unwrap();
    for c in cases {
        let (tokens, client_id) = &flows[c["strategy"].as_str().unwrap()];
        let token = token_of(c["token"].as_str().unwrap(), tokens);
        let opts = AuthenticateOptions { mode: Some(mode(c["mode"].as_str().unwrap())), ..Default::default() };
        let got = iam.token().authenticate(&bearer(&token), opts).await;
        let ok = match (c["expect"].as_str().unwrap(), &got) {
            ("ok", Ok(p)) => {
                p.verified_by == c["verified_by"].as_str().unwrap()
                    && p.subject.as_deref() == Some("user-1")
                    && p.client_id.as_deref() == Some(client_id.as_str())
            }
            ("unauthorized", Err(e)) => e.kind() == ErrorKind::Unauthorized,
            _ => false,
        };
        if !ok {
            failures.push(format!("{c}: got {:?}", got.map(|p| p.verified_by).map_err(|e| e.code())));
        }
    }
    for (_, client_id) in flows.values() {
        iam.oauth2_client().delete(client_id).await.unwrap();
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[tokio::test]
async fn audience_cases() {
    let sc = scenarios();
    let iam = iam();
    let mut flows: HashMap<(String, String), (TokenSet, String)> = HashMap::new();
    let mut failures = Vec::new();
    for c in sc["audience"]["cases"].as_array().unwrap() {
        let strategy = c["strategy"].as_str().unwrap().to_owned();
        let aud: Vec<&str> = c["client_audience"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let key = (strategy.clone(), aud.join(" "));
        if !flows.contains_key(&key) {
            let (t, id, _) = hydra_flow::code_flow(&iam, &strategy, &aud).await;
            flows.insert(key.clone(), (t, id));
        }
        let (tokens, _) = &flows[&key];
        let required = c["required"].as_str().unwrap().to_owned();
        let at = bearer(tokens.access_token.expose());
        let got = match c["where"].as_str().unwrap() {
            "call" => {
                let opts = AuthenticateOptions { required_audience: Some(required), ..Default::default() };
                iam.token().authenticate(&at, opts).await
            }
            _ => {
                let mut cfg = common::iam_config();
                cfg["tenants"]["customer"]["hydra"]["audience"] = json!(required);
                Iam::from_value(&cfg).unwrap().token().authenticate(&at, Default::default()).await
            }
        };
        let ok = match (c["expect"].as_str().unwrap(), &got) {
            ("ok", Ok(_)) => true,
            ("unauthorized", Err(e)) => e.kind() == ErrorKind::Unauthorized,
            _ => false,
        };
        if !ok {
            failures.push(format!("{c}: got {:?}", got.map(|p| p.verified_by).map_err(|e| e.code())));
        }
    }
    for (_, id) in flows.values() {
        iam.oauth2_client().delete(id).await.unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A real JWT access token (client credentials) and a config whose Hydra public URL is `proxy`.
async fn jwt_through(proxy: &FaultProxy, cache: Value) -> (Iam, String, String) {
    let admin = iam();
    let client = admin
        .oauth2_client()
        .create(json!({"grant_types": ["client_credentials"], "scope": "read", "access_token_strategy": "jwt"}))
        .await
        .unwrap();
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["hydra"]["client_id"] = json!(client.client_id);
    cfg["tenants"]["customer"]["hydra"]["client_secret"] = json!(client.client_secret.as_ref().unwrap().expose());
    let token = Iam::from_value(&cfg).unwrap().token().client_credentials(Some("read")).await.unwrap();
    let t = &mut cfg["tenants"]["customer"];
    // Tokens name the real issuer; only the JWKS goes through the proxy.
    if t["hydra"]["issuer"].is_null() {
        t["hydra"]["issuer"] = t["hydra"]["public_url"].clone();
    }
    t["hydra"]["public_url"] = json!(proxy.url);
    t["cache"] = cache;
    t["http"] = json!({"retries": 0, "timeout_ms": 2000});
    (Iam::from_value(&cfg).unwrap(), token.access_token.expose().to_owned(), client.client_id)
}

#[tokio::test]
async fn jwks_cases() {
    let sc = scenarios();
    let j = &sc["jwks"];
    let public = common::stack()["hydra"]["public_url"].as_str().unwrap().to_owned();
    let jwks = j["path"].as_str().unwrap();

    // A flood of tokens with made-up key ids: at most one JWKS fetch per cooldown.
    let f = &j["flood"];
    let proxy = FaultProxy::start(&public);
    let (via, token, client) = jwt_through(&proxy, json!({})).await;
    assert_eq!(via.token().authenticate(&bearer(&token), Default::default()).await.unwrap().verified_by, "jwt");
    let first = proxy.requests(jwks).await;
    assert_eq!(first, 1, "the first verification fetches the set");
    let t0 = Instant::now();
    let forged: Vec<String> = (0..f["tokens"].as_u64().unwrap())
        .map(|i| {
            let p: Vec<&str> = token.split('.').collect();
            let mut h = b64json(p[0]);
            h["kid"] = json!(format!("made-up-{i}"));
            format!("{}.{}.{}", enc(&h), p[1], p[2])
        })
        .collect();
    let answers = futures::future::join_all(forged.iter().map(|t| {
        let via = via.clone();
        async move { via.token().authenticate(&bearer(t), Default::default()).await }
    }))
    .await;
    let elapsed = t0.elapsed();
    assert!(answers.iter().all(|a| a.as_ref().is_err_and(|e| e.kind() == ErrorKind::Unauthorized)));
    let cooldown = Duration::from_millis(f["cooldown_ms"].as_u64().unwrap());
    let allowed = 1 + (elapsed.as_millis() / cooldown.as_millis()) as u64 + 1;
    let fetched = proxy.requests(jwks).await;
    assert!(fetched <= allowed, "{fetched} JWKS fetches for {} forged kids in {elapsed:?}", forged.len());
    iam().oauth2_client().delete(&client).await.unwrap();

    // Hydra's JWKS unreachable once the set is past its TTL: known kids keep verifying for the
    // stale window; without one the outage is an outage (never a principal).
    for case in j["outage"].as_array().unwrap() {
        let proxy = FaultProxy::start(&public);
        let (via, token, client) = jwt_through(&proxy, case["cache"].clone()).await;
        via.token().authenticate(&bearer(&token), Default::default()).await.unwrap();
        proxy.fault(json!({"mode": "status", "status": 503, "path": jwks})).await;
        tokio::time::sleep(Duration::from_millis(case["wait_ms"].as_u64().unwrap())).await;
        let got = via.token().authenticate(&bearer(&token), Default::default()).await;
        match case["expect"].as_str().unwrap() {
            "ok" => assert_eq!(got.unwrap().verified_by, "jwt", "{case}"),
            kind => assert_eq!(got.unwrap_err().code(), kind, "{case}"),
        }
        iam().oauth2_client().delete(&client).await.unwrap();
    }
}

fn cache_config(kind: &str) -> Value {
    match kind {
        "memory" => json!({"memory": {"max_entries": 1000}}),
        _ => common::redis_cache(),
    }
}

#[tokio::test]
async fn coherence_cases() {
    let sc = scenarios();
    let mut failures = Vec::new();
    for c in sc["coherence"]["cases"].as_array().unwrap() {
        let mut cfg = common::iam_config();
        cfg["session_cache"] = cache_config(c["cache"].as_str().unwrap());
        cfg["tenants"]["customer"]["cache"] = json!({"session_ttl_ms": 60_000});
        let iam = Iam::from_value(&cfg).unwrap();
        let (id, token) = common::native_session(&iam, "customer").await;
        let h = bearer(token.expose());
        iam.session().whoami(&h).await.unwrap();
        assert!(iam.session().whoami(&h).await.unwrap().cache_hit, "{c}: cached before the write");
        let session_id =
            || async { iam.identity().list_sessions(&id, Default::default()).await.unwrap().items[0].id.clone() };
        match c["write"].as_str().unwrap() {
            "identity.deactivate" => iam
                .identity()
                .patch(&id, json!([{"op": "replace", "path": "/state", "value": "inactive"}]))
                .await
                .map(|_| ()),
            "identity.delete" => iam.identity().delete(&id).await,
            "identity.update_traits" => {
                iam.identity().update_traits(&id, json!({"email": common::unique_email("changed")})).await.map(|_| ())
            }
            "identity.patch_metadata" => iam
                .identity()
                .patch(&id, json!([{"op": "add", "path": "/metadata_public", "value": {"roles": ["x"]}}]))
                .await
                .map(|_| ()),
            "identity.revoke_session" => {
                let sid = session_id().await;
                iam.identity().revoke_session(&sid).await
            }
            "session.revoke" => {
                let sid = session_id().await;
                iam.session().revoke(&sid).await
            }
            other => panic!("unknown write {other}"),
        }
        .unwrap();
        let got = iam.session().whoami(&h).await;
        let ok = match (c["expect"].as_str().unwrap(), &got) {
            ("unauthorized", Err(e)) => e.kind() == ErrorKind::Unauthorized,
            ("fresh", Ok(s)) => !s.cache_hit,
            _ => false,
        };
        if !ok {
            failures.push(format!("{c}: got {:?}", got.map(|s| s.cache_hit).map_err(|e| e.code())));
        }
        let _ = iam.identity().delete(&id).await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `a.b.c` set to `v` in `doc`.
fn set_path(doc: &mut Value, path: &str, v: Value) {
    let mut at = doc;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        if !at[*p].is_object() {
            at[*p] = json!({});
        }
        at = &mut at[*p];
    }
    at[parts[parts.len() - 1]] = v;
}

#[test]
fn config_bound_cases() {
    for c in scenarios()["config_bounds"]["cases"].as_array().unwrap() {
        let mut cfg = common::iam_config();
        if let Some(t) = c["transport"].as_str() {
            cfg["tenants"]["customer"]["transport"] = json!(t);
            cfg["tenants"]["customer"]["oathkeeper"] = json!({"signer_keys": ["k-0123456789abcdef"]});
        }
        let path = c["path"].as_str().unwrap();
        set_path(&mut cfg, path, c["value"].clone());
        let e = Iam::from_value(&cfg).err().unwrap_or_else(|| panic!("{c}: accepted"));
        assert_eq!(e.kind(), ErrorKind::Configuration, "{c}");
        let fields = e.to_json()["fields"].clone();
        assert!(fields.as_array().unwrap().iter().any(|f| f["path"] == json!(path)), "{c}: {fields}");
    }
}

/// The index names, for each attack of issue 19, the Rust tests that try it: each must exist.
#[test]
fn every_item_names_existing_tests() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let items = scenarios()["items"].as_array().unwrap().clone();
    assert!(items.len() >= 10, "every item of the issue is listed");
    for it in &items {
        let refs = it["rust"].as_array().unwrap_or_else(|| panic!("{}: no Rust tests", it["item"]));
        assert!(!refs.is_empty(), "{}: no Rust tests", it["item"]);
        for r in refs {
            let (file, name) = r.as_str().unwrap().split_once("::").unwrap();
            let text =
                std::fs::read_to_string(format!("{root}/{file}")).unwrap_or_else(|_| panic!("{r}: no such file"));
            assert!(text.contains(&format!("fn {name}(")), "{r}: no such test");
        }
    }
}

//! The `oathkeeper` transport behind a real Ory Oathkeeper (issue 22): the stack's Oathkeeper
//! authenticates a real Kratos session (token or cookie) and hands the echo upstream an
//! `id_token` JWT; the app's `whoami` (`verifier: jwt`, keys from Oathkeeper's JWKS) resolves the
//! identity and session from it. Tokens the proxy did not issue, or issued for someone else, are
//! refused with the audit event naming why.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::Collect;
use ory_iam::dto::{FlowResult, FlowType, InitiateFlow, SubmitFlow};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam, IamConfig, Secret};
use serde_json::{json, Value};
use std::sync::Arc;

fn stack() -> Value {
    common::stack()
}

/// A tenant that trusts the stack's Oathkeeper, with `edit` applied to its `oathkeeper` section.
fn edge(edit: impl FnOnce(&mut Value)) -> (Iam, Arc<Collect>) {
    let s = stack();
    let ok = &s["oathkeeper"];
    let mut o =
        json!({"verifier": "jwt", "jwks": {"url": ok["jwks_url"]}, "audience": ok["audience"], "issuer": ok["issuer"]});
    edit(&mut o);
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["transport"] = json!("oathkeeper");
    cfg["tenants"]["customer"]["oathkeeper"] = o;
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    (iam, sink)
}

/// What Oathkeeper's `rule` (bearer, cookie) hands the upstream for a request with `headers`.
async fn through_oathkeeper(rule: &str, headers: &[(&str, String)]) -> (u16, Value) {
    let url = format!("{}{rule}/anything", stack()["oathkeeper"]["proxy_url"].as_str().unwrap());
    let mut rb = reqwest::Client::new().get(url);
    for (k, v) in headers {
        rb = rb.header(*k, v);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A native session (Kratos token) and the `Authorization` header Oathkeeper's id_token mutator
/// put on the request it forwarded for it.
async fn bearer_jwt(iam_for_flows: &Iam) -> (String, String, String) {
    let (identity_id, token) = common::native_session(iam_for_flows, "customer").await;
    let (status, echo) = through_oathkeeper("bearer", &[("authorization", format!("Bearer {}", token.expose()))]).await;
    assert_eq!(status, 200, "{echo}");
    let auth = echo["headers"]["authorization"].as_str().expect("the id_token mutator sets Authorization").to_owned();
    (identity_id, token.expose().to_owned(), auth)
}

fn names(sink: &Collect) -> Vec<String> {
    sink.0.lock().unwrap().iter().map(|e| e.name.clone()).collect()
}

/// Oathkeeper's own signing key (the stack generated it), to forge tokens the real key signs
/// but whose claims are wrong (expired, another audience).
fn oathkeeper_signer() -> (jsonwebtoken::EncodingKey, String) {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let path =
        std::path::Path::new(stack()["logs_dir"].as_str().unwrap()).parent().unwrap().join("oathkeeper.jwks.json");
    let set: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let k = &set["keys"][0];
    let n = |f: &str| rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(k[f].as_str().unwrap()).unwrap());
    let key = rsa::RsaPrivateKey::from_components(n("n"), n("e"), n("d"), vec![n("p"), n("q")]).unwrap();
    let der = key.to_pkcs1_der().unwrap();
    (jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()), k["kid"].as_str().unwrap().to_owned())
}

fn claims_of(auth: &str) -> Value {
    let jwt = auth.strip_prefix("Bearer ").unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

#[tokio::test]
async fn a_session_token_through_oathkeeper_is_the_identity() {
    let plain = Iam::from_value(&common::iam_config()).unwrap();
    let (identity_id, token, auth) = bearer_jwt(&plain).await;
    let (iam, sink) = edge(|_| {});
    let req = header_map([("authorization", auth.clone())]);
    let s = iam.session().whoami(&req).await.unwrap();
    assert_eq!(s.identity.id, identity_id);
    assert!(s.identity.traits.as_ref().unwrap()["email"].as_str().unwrap().ends_with("@example.test"));
    assert_eq!(s.id, claims_of(&auth)["session"]["id"].as_str().unwrap(), "the Kratos session's id");
    assert_eq!(s.authentication_methods, vec!["oathkeeper".to_owned()]);
    // Oathkeeper caches its JWT per session: the same one (same jti) arrives again and again.
    assert_eq!(iam.session().whoami(&req).await.unwrap().identity.id, identity_id);
    let (_, echo) = through_oathkeeper("bearer", &[("authorization", format!("Bearer {token}"))]).await;
    assert_eq!(echo["headers"]["authorization"].as_str(), Some(auth.as_str()), "Oathkeeper hands out its cached JWT");
    assert!(iam.session().whoami(&req).await.is_ok());
    assert!(names(&sink).iter().all(|n| n == "auth.success"), "{:?}", names(&sink));
    plain.identity().delete(&identity_id).await.unwrap();
}

#[tokio::test]
async fn a_browser_cookie_through_oathkeeper_is_the_identity() {
    let plain = Iam::from_value(&common::iam_config()).unwrap();
    let flows = plain.flow();
    let flow = flows
        .initiate_registration(InitiateFlow { kind: Some(FlowType::Browser), ..Default::default() })
        .await
        .unwrap();
    let csrf_cookie =
        flow.set_cookie.iter().map(|c| c.expose().split(';').next().unwrap().to_owned()).collect::<Vec<_>>().join("; ");
    let email = common::unique_email("oathkeeper-cookie");
    let reg = flows
        .submit_registration(
            &flow.id,
            json!({"method": "password", "password": "a-Long-and-unique-passphrase-42", "traits": {"email": email}}),
            SubmitFlow {
                cookie: Some(Secret::new(csrf_cookie)),
                csrf_token: flow.csrf_token.clone(),
                session_token: None,
            },
        )
        .await
        .unwrap();
    let FlowResult::Success(reg) = reg else { panic!("registration did not succeed") };
    let cookie = reg
        .set_cookie
        .iter()
        .map(|c| c.expose().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("ory_kratos_session_customer="))
        .expect("the session cookie");
    let (status, echo) = through_oathkeeper("cookie", &[("cookie", cookie)]).await;
    assert_eq!(status, 200, "{echo}");
    let auth = echo["headers"]["authorization"].as_str().unwrap().to_owned();
    let (iam, _) = edge(|_| {});
    let s = iam.session().whoami(&header_map([("authorization", auth)])).await.unwrap();
    assert_eq!(s.identity.traits.as_ref().unwrap()["email"], json!(email));
    plain.identity().delete(&s.identity.id).await.unwrap();
}

#[tokio::test]
async fn tokens_oathkeeper_did_not_issue_for_this_app_are_refused() {
    let plain = Iam::from_value(&common::iam_config()).unwrap();
    let (identity_id, _, auth) = bearer_jwt(&plain).await;
    let jwt = auth.strip_prefix("Bearer ").unwrap().to_owned();
    let parts: Vec<&str> = jwt.split('.').collect();
    let (signer, kid) = oathkeeper_signer();
    let claims = claims_of(&auth);
    let sign = |c: Value| {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.kid = Some(kid.clone());
        format!("Bearer {}", jsonwebtoken::encode(&h, &c, &signer).unwrap())
    };
    // Sanity: the stack's key signs tokens the verifier accepts.
    let (iam, sink) = edge(|_| {});
    assert!(iam.session().whoami(&header_map([("authorization", sign(claims.clone()))])).await.is_ok());

    let mut tampered = claims.clone();
    tampered["sub"] = json!("00000000-0000-4000-8000-000000000000");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 120);
    expired["iat"] = json!(now - 180);
    expired["nbf"] = json!(now - 180);
    let mut other_aud = claims.clone();
    other_aud["aud"] = json!(["another-app"]);
    let other_key = {
        use p256::ecdsa::signature::Signer;
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": kid, "typ": "JWT"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig: p256::ecdsa::Signature = sk.sign(input.as_bytes());
        format!("Bearer {input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    };
    let mut unknown_kid_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    unknown_kid_header.kid = Some("not-oathkeepers".into());
    let unknown_kid = format!("Bearer {}", jsonwebtoken::encode(&unknown_kid_header, &claims, &signer).unwrap());
    let cases = [
        (
            "tampered claims, original signature",
            format!("Bearer {}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(tampered.to_string()), parts[2]),
            "auth.failure.invalid_signature",
        ),
        ("signed by another key (ES256 under Oathkeeper's kid)", other_key, "auth.failure.invalid_signature"),
        ("a kid Oathkeeper never published", unknown_kid, "auth.failure.invalid_signature"),
        ("expired", sign(expired), "auth.failure.expired"),
        ("for another audience", sign(other_aud), "auth.failure.audience_mismatch"),
        (
            "alg none",
            format!("Bearer {}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]),
            "auth.failure.malformed",
        ),
        ("no token", String::new(), "auth.failure.missing_credential"),
    ];
    for (what, header, event) in cases {
        sink.0.lock().unwrap().clear();
        let req = if header.is_empty() {
            header_map(Vec::<(String, String)>::new())
        } else {
            header_map([("authorization", header)])
        };
        let e = iam.session().whoami(&req).await.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::Unauthorized, "{what}");
        assert_eq!(names(&sink), vec![event.to_owned()], "{what}");
    }
    // The header mutator's unsigned X-User-Id is never an identity.
    let plain_token = common::native_session(&plain, "customer").await.1;
    let (_, echo) =
        through_oathkeeper("header", &[("authorization", format!("Bearer {}", plain_token.expose()))]).await;
    let forwarded: Vec<(String, String)> = echo["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
        .filter(|(k, _)| k != "host" && k != "content-length")
        .collect();
    assert!(iam.session().whoami(&header_map(forwarded)).await.is_err());
    plain.identity().delete(&identity_id).await.unwrap();
}

#[tokio::test]
async fn replay_protection_is_explicit_and_audience_issuer_are_enforced() {
    let plain = Iam::from_value(&common::iam_config()).unwrap();
    let (identity_id, _, auth) = bearer_jwt(&plain).await;
    let req = header_map([("authorization", auth)]);
    let (strict, sink) = edge(|o| o["replay_protection"] = json!({"enabled": true}));
    assert!(strict.session().whoami(&req).await.is_ok());
    assert_eq!(strict.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert_eq!(names(&sink).last().map(String::as_str), Some("auth.failure.replay"));
    let (other_app, sink) = edge(|o| o["audience"] = json!("another-app"));
    assert!(other_app.session().whoami(&req).await.is_err());
    assert_eq!(names(&sink), vec!["auth.failure.audience_mismatch".to_owned()]);
    let (other_issuer, _) = edge(|o| o["issuer"] = json!("https://oathkeeper.example/"));
    assert_eq!(other_issuer.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    plain.identity().delete(&identity_id).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_jwks_is_an_outage_and_bad_configs_are_refused() {
    let plain = Iam::from_value(&common::iam_config()).unwrap();
    let (identity_id, _, auth) = bearer_jwt(&plain).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (down, _) = edge(|o| o["jwks"]["url"] = json!(format!("http://127.0.0.1:{port}/.well-known/jwks.json")));
    let e = down.session().whoami(&header_map([("authorization", auth)])).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "fail closed, never anonymous");
    for (edit, path) in [
        (json!({"verifier": "jwt"}), "tenants.customer.oathkeeper.jwks"),
        (json!({"verifier": "maybe", "signer_keys": ["k"]}), "tenants.customer.oathkeeper.verifier"),
        (
            json!({"verifier": "jwt", "jwks": {"url": "x", "algorithms": ["HS256"]}}),
            "tenants.customer.oathkeeper.jwks.algorithms",
        ),
        (json!({"verifier": "jwt", "jwks": {"keys": {"nope": 1}}}), "tenants.customer.oathkeeper.jwks.keys"),
    ] {
        let mut cfg = common::iam_config();
        cfg["tenants"]["customer"]["transport"] = json!("oathkeeper");
        cfg["tenants"]["customer"]["oathkeeper"] = edit;
        let e = Iam::from_value(&cfg).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(e.fields().iter().any(|f| f.path == path), "{path}: {:?}", e.fields());
    }
    plain.identity().delete(&identity_id).await.unwrap();
}

/// Oathkeeper's signing key rotated (a new key added to its JWKS, the old one kept): tokens it
/// signs with the new key verify in an `Iam` that had cached the old set (unknown `kid` →
/// refetch), and tokens signed with the old key still verify.
#[tokio::test]
async fn a_key_rotation_at_oathkeeper_is_picked_up() {
    let s = stack();
    let ok = &s["oathkeeper"];
    let file = ok["jwks_file"].as_str().unwrap();
    let plain = Iam::from_value(&common::iam_config()).unwrap();
    let (first_id, _, before) = bearer_jwt(&plain).await;
    let (iam, _) = edge(|_| {});
    iam.session().whoami(&header_map([("authorization", before.clone())])).await.unwrap();

    let kid = format!("rotated-{}", uuid::Uuid::new_v4().simple());
    let out = std::process::Command::new(ok["bin"].as_str().unwrap())
        .args(["credentials", "generate", "--alg", "RS256", "--kid", &kid])
        .output()
        .unwrap();
    assert!(out.status.success());
    let new: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut set: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    // Oathkeeper v0.40.9 signs with the last private key of the set (credentials/signer_default.go).
    let mut keys = set["keys"].as_array().unwrap().clone();
    keys.extend(new["keys"].as_array().unwrap().iter().cloned());
    set["keys"] = json!(keys);
    let tmp = format!("{file}.tmp");
    std::fs::write(&tmp, set.to_string()).unwrap();
    std::fs::rename(&tmp, file).unwrap();

    // Oathkeeper re-reads its keys within its 1 s jwks_ttl (tests/stack/oathkeeper.yml.tmpl); a
    // new session's JWT then names the new kid.
    let header_kid = |auth: &str| {
        let h = auth.strip_prefix("Bearer ").unwrap().split('.').next().unwrap().to_owned();
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()["kid"].clone()
    };
    let mut rotated = None;
    let t0 = std::time::Instant::now();
    while rotated.is_none() && t0.elapsed() < std::time::Duration::from_secs(15) {
        let (id, _, auth) = bearer_jwt(&plain).await;
        if header_kid(&auth) == json!(kid) {
            rotated = Some((id, auth));
        } else {
            plain.identity().delete(&id).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
    let (id, auth) = rotated.expect("Oathkeeper signs with the new key");
    // An unknown kid refetches the keys at most once per 2 s (forged kids cannot make us hammer
    // the JWKS): a rotation is seen by the first token after that.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let s2 = iam.session().whoami(&header_map([("authorization", auth)])).await.unwrap();
    assert_eq!(s2.identity.id, id, "the new kid was fetched");
    assert!(iam.session().whoami(&header_map([("authorization", before)])).await.is_ok(), "the old key still verifies");
    plain.identity().delete(&id).await.unwrap();
    plain.identity().delete(&first_id).await.unwrap();
}

/// Replay protection shared through the Redis session cache: an envelope one instance accepted
/// is a replay at every other instance with the same Redis and keys; `ttl_ms` bounds how long an
/// id is remembered; Oathkeeper JWTs too when `replay_protection.enabled`.
#[tokio::test]
async fn replay_protection_is_shared_through_redis() {
    let key = "shared-signer-key-0123456789";
    let instance = |replay: Value| {
        let mut cfg = common::iam_config();
        cfg["session_cache"] = common::redis_cache();
        cfg["tenants"]["customer"]["transport"] = json!("oathkeeper");
        cfg["tenants"]["customer"]["oathkeeper"] = json!({"signer_keys": [key], "replay_protection": replay});
        Iam::from_value(&cfg).unwrap()
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let envelope = |jti: &str| {
        let claims = json!({"sub": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "iat": now, "exp": now + 300, "jti": jti});
        let (p, s) = ory_iam::transport::oathkeeper::sign_envelope(&claims, &Secret::new(key));
        header_map([("x-user", p), ("x-user-signature", s)])
    };
    let (a, b) = (instance(json!({"enabled": true})), instance(json!({"enabled": true})));
    let req = envelope(&format!("shared-{}", uuid::Uuid::new_v4().simple()));
    assert!(a.session().whoami(&req).await.is_ok());
    assert_eq!(
        b.session().whoami(&req).await.unwrap_err().kind(),
        ErrorKind::Unauthorized,
        "replayed at another instance"
    );
    assert_eq!(a.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::Unauthorized);

    // Remembered for ttl_ms only.
    let (c, d) = (instance(json!({"enabled": true, "ttl_ms": 500})), instance(json!({"enabled": true, "ttl_ms": 500})));
    let req = envelope(&format!("short-{}", uuid::Uuid::new_v4().simple()));
    assert!(c.session().whoami(&req).await.is_ok());
    assert!(d.session().whoami(&req).await.is_err());
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(d.session().whoami(&req).await.is_ok(), "forgotten after ttl_ms");

    // Oathkeeper's JWT, replay protection on: the second instance refuses the same token.
    let plain = Iam::from_value(&common::iam_config()).unwrap();
    let (identity_id, _, auth) = bearer_jwt(&plain).await;
    let jwt_instance = || {
        let s = stack();
        let ok = &s["oathkeeper"];
        let mut cfg = common::iam_config();
        cfg["session_cache"] = common::redis_cache();
        cfg["tenants"]["customer"]["transport"] = json!("oathkeeper");
        cfg["tenants"]["customer"]["oathkeeper"] = json!({"verifier": "jwt", "jwks": {"url": ok["jwks_url"]},
            "audience": ok["audience"], "replay_protection": {"enabled": true}});
        Iam::from_value(&cfg).unwrap()
    };
    let (e, f) = (jwt_instance(), jwt_instance());
    let jreq = header_map([("authorization", auth)]);
    assert!(e.session().whoami(&jreq).await.is_ok());
    assert_eq!(f.session().whoami(&jreq).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    plain.identity().delete(&identity_id).await.unwrap();
}

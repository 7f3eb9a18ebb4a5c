//! FlowService and SessionService against the real Kratos instances: full registration → login
//! → whoami → logout for native and browser flows, the session cache with both backends, and
//! the failure modes of whoami.

mod common;

use ory_iam::dto::{FlowResult, FlowSuccess, FlowType, InitiateFlow, SubmitFlow};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam, IamConfig, Secret};
use serde_json::{json, Value};
use std::sync::Arc;

const PASSWORD: &str = "a-Long-and-unique-passphrase-42";

fn iam_with(session_cache: Value) -> Iam {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = session_cache;
    for t in ["customer", "admin"] {
        cfg["tenants"][t]["cache"] = json!({"session_ttl_ms": 60_000});
    }
    Iam::from_value(&cfg).unwrap()
}

fn success(r: FlowResult) -> FlowSuccess {
    match r {
        FlowResult::Success(s) => s,
        other => panic!("expected success, got {other:?}"),
    }
}

/// `Cookie` request header from `Set-Cookie` response headers (what a browser would send).
fn cookie_header(set_cookie: &[Secret], jar: &mut Vec<(String, String)>) -> String {
    for sc in set_cookie {
        let pair = sc.expose().split(';').next().unwrap_or("");
        if let Some((k, v)) = pair.split_once('=') {
            jar.retain(|(name, _)| name != k);
            if !v.is_empty() {
                jar.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
}

async fn register_native(iam: &Iam, tenant: &str, email: &str) -> FlowSuccess {
    let flows = iam.flow().for_tenant(tenant).unwrap();
    let flow = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
    assert_eq!(flow.flow_type, FlowType::Native);
    assert!(
        flow.ui.nodes.iter().any(|n| n.attributes["name"] == "password"),
        "one-step registration shows the password"
    );
    let body = json!({"method": "password", "password": PASSWORD, "traits": {"email": email}});
    success(flows.submit_registration(&flow.id, body, SubmitFlow::default()).await.unwrap())
}

#[tokio::test]
async fn native_registration_login_whoami_logout() {
    let iam = iam_with(json!("none"));
    let email = common::unique_email("native");
    let reg = register_native(&iam, "customer", &email).await;
    let token = reg.session_token.clone().expect("the session hook hands out a token");
    assert!(!format!("{reg:?}").contains(token.expose()), "Debug hides the token");
    assert_eq!(reg.identity.as_ref().unwrap().traits.as_ref().unwrap()["email"], json!(email));

    // whoami with Authorization: Bearer and with X-Session-Token.
    let bearer = header_map([("authorization", format!("Bearer {}", token.expose()))]);
    let s = iam.session().whoami(&bearer).await.unwrap();
    assert_eq!(s.tenant, "customer");
    assert_eq!(Some(s.id.clone()), reg.session_id);
    assert_eq!(s.identity.traits.as_ref().unwrap()["email"], json!(email));
    assert!(!s.cache_hit);
    let x = header_map([("x-session-token", token.expose())]);
    assert_eq!(iam.session().whoami(&x).await.unwrap().id, s.id);

    // A password login gives a second, different session.
    let flows = iam.flow();
    let login = flows.initiate_login(InitiateFlow::default()).await.unwrap();
    let wrong = flows
        .submit_login(
            &login.id,
            json!({"method": "password", "identifier": email, "password": "wrong-password-123"}),
            SubmitFlow::default(),
        )
        .await
        .unwrap();
    let FlowResult::Continue { flow } = wrong else { panic!("a wrong password continues the flow") };
    assert!(flow.ui.messages.iter().any(|m| m.kind == "error"));
    let ok = success(
        flows
            .submit_login(
                &flow.id,
                json!({"method": "password", "identifier": email, "password": PASSWORD}),
                SubmitFlow::default(),
            )
            .await
            .unwrap(),
    );
    let token2 = ok.session_token.unwrap();
    assert_ne!(token2.expose(), token.expose());

    flows.perform_native_logout(&token2).await.unwrap();
    let bearer2 = header_map([("authorization", format!("Bearer {}", token2.expose()))]);
    assert_eq!(iam.session().whoami(&bearer2).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert!(iam.session().whoami_or_null(&bearer2).await.unwrap().is_none());
    // The first session is untouched.
    assert!(iam.session().whoami(&bearer).await.is_ok());
    iam.identity().delete(&reg.identity.unwrap().id).await.unwrap();
}

#[tokio::test]
async fn browser_registration_whoami_logout_with_cookies() {
    let iam = iam_with(json!("none"));
    let flows = iam.flow();
    let email = common::unique_email("browser");
    let mut jar = Vec::new();
    let flow = flows
        .initiate_registration(InitiateFlow { kind: Some(FlowType::Browser), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(flow.flow_type, FlowType::Browser);
    assert!(flow.csrf_token.is_some(), "browser flows carry a CSRF token");
    assert!(!flow.ui.nodes.iter().any(|n| n.attributes["name"] == "csrf_token"), "it is lifted out of the nodes");
    let cookie = cookie_header(&flow.set_cookie, &mut jar);
    assert!(cookie.contains("csrf_token"), "the CSRF cookie is relayed");

    // Without the CSRF token Kratos refuses the submit.
    let no_csrf = flows
        .submit_registration(
            &flow.id,
            json!({"method": "password", "password": PASSWORD, "traits": {"email": email}}),
            SubmitFlow { cookie: Some(Secret::new(cookie.clone())), ..Default::default() },
        )
        .await;
    assert!(no_csrf.is_err() || matches!(no_csrf, Ok(FlowResult::Continue { .. })));

    let flow = flows
        .initiate_registration(InitiateFlow { kind: Some(FlowType::Browser), ..Default::default() })
        .await
        .unwrap();
    let cookie = cookie_header(&flow.set_cookie, &mut jar);
    let reg = success(
        flows
            .submit_registration(
                &flow.id,
                json!({"method": "password", "password": PASSWORD, "traits": {"email": email}}),
                SubmitFlow {
                    cookie: Some(Secret::new(cookie)),
                    csrf_token: flow.csrf_token.clone(),
                    session_token: None,
                },
            )
            .await
            .unwrap(),
    );
    assert!(reg.session_token.is_none(), "browser flows use cookies, not tokens");
    let cookie = cookie_header(&reg.set_cookie, &mut jar);
    assert!(cookie.contains("ory_kratos_session_customer="), "the session cookie is set");

    let req = header_map([("cookie", cookie.clone())]);
    let s = iam.session().whoami(&req).await.unwrap();
    assert_eq!(s.identity.traits.as_ref().unwrap()["email"], json!(email));
    // The admin tenant's cookie name differs: the customer cookie means nothing there.
    assert_eq!(
        iam.session().for_tenant("admin").unwrap().whoami(&req).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );

    let logout = flows.initiate_browser_logout(&Secret::new(cookie.clone()), None).await.unwrap();
    assert!(logout.logout_url.expose().contains("logout"));
    assert!(!format!("{logout:?}").contains(logout.logout_token.expose()));
    let cleared = flows.submit_browser_logout(&logout.logout_token, Some(&Secret::new(cookie.clone()))).await.unwrap();
    assert!(cleared.iter().any(|c| c.expose().starts_with("ory_kratos_session_customer=")));
    assert!(iam.session().whoami_or_null(&req).await.unwrap().is_none());
    iam.identity().delete(&s.identity.id).await.unwrap();
}

#[tokio::test]
async fn whoami_failure_modes() {
    let iam = iam_with(json!("none"));
    let sessions = iam.session();
    for (headers, what) in [
        (header_map(Vec::<(String, String)>::new()), "missing"),
        (header_map([("authorization", "Bearer ")]), "malformed"),
        (header_map([("authorization", "Bearer ory_st_notARealToken")]), "invalid"),
        (header_map([("cookie", "ory_kratos_session_customer=bogus")]), "invalid cookie"),
    ] {
        let e = sessions.whoami(&headers).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthorized, "{what}");
        assert!(sessions.whoami_or_null(&headers).await.unwrap().is_none(), "{what}");
    }
    // Kratos not running (a loopback port nobody listens on): an outage, never "anonymous".
    let mut cfg = common::iam_config();
    let dead = format!("http://127.0.0.1:{}/", closed_port());
    cfg["tenants"]["customer"]["kratos"]["public_url"] = json!(dead);
    cfg["tenants"]["customer"]["http"] = json!({"timeout_ms": 1000, "retries": 1, "backoff_base_ms": 10});
    let down = Iam::from_value(&cfg).unwrap();
    let req = header_map([("authorization", "Bearer ory_st_whatever")]);
    assert_eq!(down.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
    assert_eq!(down.session().whoami_or_null(&req).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
    // Missing credentials are decided locally even when Kratos is down.
    assert!(down.session().whoami_or_null(&header_map(Vec::<(String, String)>::new())).await.unwrap().is_none());
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

use common::Collect;

async fn cache_hit_miss_evict(session_cache: Value) {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = session_cache;
    cfg["tenants"]["customer"]["cache"] = json!({"session_ttl_ms": 60_000});
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    let email = common::unique_email("cache");
    let reg = register_native(&iam, "customer", &email).await;
    let token = reg.session_token.unwrap();
    let req = header_map([("authorization", format!("Bearer {}", token.expose()))]);

    let first = iam.session().whoami(&req).await.unwrap();
    assert!(!first.cache_hit, "miss");
    let second = iam.session().whoami(&req).await.unwrap();
    assert!(second.cache_hit, "hit");
    assert_eq!(second.id, first.id);
    // The cache is per tenant: the admin tenant asks its own Kratos, which rejects the token.
    assert_eq!(
        iam.session().for_tenant("admin").unwrap().whoami(&req).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );

    // revoke evicts: the next whoami goes to Kratos and is refused.
    iam.session().revoke(&first.id).await.unwrap();
    assert_eq!(iam.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::Unauthorized);

    let events = sink.0.lock().unwrap().clone();
    let hits: Vec<bool> = events
        .iter()
        .filter(|e| e.name == "auth.success")
        .map(|e| e.attributes["cache_hit"].as_bool().unwrap())
        .collect();
    assert_eq!(hits, vec![false, true]);
    assert!(events
        .iter()
        .any(|e| e.name == "authz.session.revoke" && e.target_id.as_deref() == Some(first.id.as_str())));
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(token.expose()) && !all.contains(&email), "no token or trait in audit events");
    iam.identity().delete(&first.identity.id).await.unwrap();
}

#[tokio::test]
async fn memory_cache_hit_miss_evict() {
    cache_hit_miss_evict(json!("memory")).await;
}

#[tokio::test]
async fn redis_cache_hit_miss_evict() {
    cache_hit_miss_evict(common::redis_cache()).await;
}

#[tokio::test]
async fn redis_down_falls_back_to_kratos() {
    let iam = iam_with(common::redis_cache_at(&format!("redis://127.0.0.1:{}/0", closed_port())));
    let reg = register_native(&iam, "customer", &common::unique_email("redis-down")).await;
    let req = header_map([("authorization", format!("Bearer {}", reg.session_token.unwrap().expose()))]);
    let s = iam.session().whoami(&req).await.unwrap();
    assert!(!s.cache_hit);
    assert!(!iam.session().whoami(&req).await.unwrap().cache_hit, "no cache, still authenticated");
    // A write the shared cache cannot take is an outage (done in Kratos: retry once Redis is
    // back), never a silent success that could leave a revoked session cached.
    assert_eq!(iam.session().revoke(&s.id).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
    assert_eq!(iam.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::Unauthorized, "revoked in Kratos");
    assert_eq!(iam.identity().delete(&s.identity.id).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
}

#[tokio::test]
async fn concurrent_whoami_share_one_upstream_call() {
    let iam = iam_with(json!("memory"));
    let reg = register_native(&iam, "customer", &common::unique_email("flight")).await;
    let req = header_map([("authorization", format!("Bearer {}", reg.session_token.unwrap().expose()))]);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let iam = iam.clone();
            let req = req.clone();
            tokio::spawn(async move { iam.session().whoami(&req).await.unwrap() })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for c in calls {
        ids.insert(c.await.unwrap().id);
    }
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn identity_sessions_list_extend_revoke() {
    let iam = iam_with(json!("memory"));
    let reg = register_native(&iam, "customer", &common::unique_email("sessions")).await;
    let id = reg.identity.unwrap().id;
    let page = iam.identity().list_sessions(&id, Default::default()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let sid = page.items[0].id.clone();
    assert_eq!(Some(sid.clone()), reg.session_id);
    assert!(page.items[0].identity.traits.is_none(), "listed sessions carry no traits");
    let all: Vec<String> = futures::StreamExt::collect::<Vec<_>>(iam.identity().list_sessions_all(&id, Some(true)))
        .await
        .into_iter()
        .map(|s| s.unwrap().id)
        .collect();
    assert_eq!(all, vec![sid.clone()]);
    let extended = iam.identity().extend_session(&sid).await.unwrap();
    assert_eq!(extended.id, sid);
    iam.identity().revoke_session(&sid).await.unwrap();
    let req = header_map([("authorization", format!("Bearer {}", reg.session_token.unwrap().expose()))]);
    assert!(iam.session().whoami_or_null(&req).await.unwrap().is_none());
    assert_eq!(iam.identity().revoke_session("not-a-uuid").await.unwrap_err().kind(), ErrorKind::Validation);
    iam.identity().delete(&id).await.unwrap();
}

#[tokio::test]
async fn oathkeeper_envelopes_are_verified_locally() {
    let mut cfg = common::iam_config();
    // Kratos is unreachable for this tenant: the oathkeeper path must never ask it.
    cfg["tenants"]["customer"]["kratos"]["public_url"] = json!(format!("http://127.0.0.1:{}/", closed_port()));
    cfg["tenants"]["customer"]["transport"] = json!("oathkeeper");
    cfg["tenants"]["customer"]["oathkeeper"] =
        json!({"signer_keys": ["previous-key-0123456789", "current-key-0123456789"]});
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = |jti: &str| json!({"sub": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "iat": now, "exp": now + 300, "jti": jti, "sid": "s-1"});
    let req = |payload: &str, sig: &str| header_map([("x-user", payload), ("x-user-signature", sig)]);

    for (i, key) in ["previous-key-0123456789", "current-key-0123456789"].iter().enumerate() {
        let (p, s) = ory_iam::transport::oathkeeper::sign_envelope(&claims(&format!("jti-{i}")), &Secret::new(*key));
        let session = iam.session().whoami(&req(&p, &s)).await.unwrap();
        assert_eq!(session.identity.id, "9f425a8d-7efc-4768-8f23-7647a74fdf13");
        assert_eq!(session.id, "s-1");
        // The same envelope again is a replay.
        assert_eq!(iam.session().whoami(&req(&p, &s)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    }
    let (p, _) = ory_iam::transport::oathkeeper::sign_envelope(&claims("unsigned"), &Secret::new("x"));
    assert!(iam.session().whoami_or_null(&header_map([("x-user", p.as_str())])).await.unwrap().is_none());
    let (p, s) =
        ory_iam::transport::oathkeeper::sign_envelope(&claims("forged"), &Secret::new("attacker-key-0123456789"));
    assert!(iam.session().whoami_or_null(&req(&p, &s)).await.unwrap().is_none());
    let mut other = claims("other-tenant");
    other["tenant"] = json!("admin");
    let (p, s) = ory_iam::transport::oathkeeper::sign_envelope(&other, &Secret::new("current-key-0123456789"));
    assert!(iam.session().whoami_or_null(&req(&p, &s)).await.unwrap().is_none());

    let names: Vec<String> = sink.0.lock().unwrap().iter().map(|e| e.name.clone()).collect();
    for want in ["auth.success", "auth.failure.replay", "auth.failure.unsigned_header", "auth.tenant_mismatch"] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
}

#[tokio::test]
async fn expired_sessions_are_unauthorized_even_when_cached() {
    // The admin tenant's Kratos gives sessions a 3 s lifespan (tests/stack).
    let mut cfg = common::iam_config();
    cfg["session_cache"] = json!("memory");
    cfg["tenants"]["admin"]["cache"] = json!({"session_ttl_ms": 60_000});
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    let flows = iam.flow().for_tenant("admin").unwrap();
    let flow = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
    let reg = success(
        flows
            .submit_registration(
                &flow.id,
                json!({"method": "password", "password": PASSWORD, "traits": {"email": common::unique_email("expiry")}}),
                SubmitFlow::default(),
            )
            .await
            .unwrap(),
    );
    let sessions = iam.session().for_tenant("admin").unwrap();
    let req = header_map([("authorization", format!("Bearer {}", reg.session_token.unwrap().expose()))]);
    assert!(!sessions.whoami(&req).await.unwrap().cache_hit);
    assert!(sessions.whoami(&req).await.unwrap().cache_hit, "cached, but only until the session expires");
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert_eq!(sessions.whoami(&req).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert!(sessions.whoami_or_null(&req).await.unwrap().is_none());
    assert!(sink.0.lock().unwrap().iter().any(|e| e.name == "auth.failure.expired"));
    iam.identity().for_tenant("admin").unwrap().delete(&reg.identity.unwrap().id).await.unwrap();
}

#[tokio::test]
async fn browser_login_settings_verification_and_fetch_flow() {
    let iam = iam_with(json!("none"));
    let flows = iam.flow();
    let email = common::unique_email("settings");
    let reg = register_native(&iam, "customer", &email).await;
    let token = reg.session_token.clone().unwrap();

    // Browser login with the CSRF dance.
    let mut jar = Vec::new();
    let login =
        flows.initiate_login(InitiateFlow { kind: Some(FlowType::Browser), ..Default::default() }).await.unwrap();
    let cookie = cookie_header(&login.set_cookie, &mut jar);
    let fetched = flows
        .fetch_flow(
            ory_iam::dto::FlowKind::Login,
            &login.id,
            SubmitFlow { cookie: Some(Secret::new(cookie.clone())), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(fetched.id, login.id);
    let ok = success(
        flows
            .submit_login(
                &login.id,
                json!({"method": "password", "identifier": email, "password": PASSWORD}),
                SubmitFlow {
                    cookie: Some(Secret::new(cookie)),
                    csrf_token: login.csrf_token.clone(),
                    session_token: None,
                },
            )
            .await
            .unwrap(),
    );
    let cookie = cookie_header(&ok.set_cookie, &mut jar);
    assert_eq!(
        iam.session().whoami(&header_map([("cookie", cookie)])).await.unwrap().identity.id,
        reg.identity.as_ref().unwrap().id
    );

    // Native settings: change a trait with the session token.
    let settings = flows
        .initiate_settings(InitiateFlow { session_token: Some(token.clone()), ..Default::default() })
        .await
        .unwrap();
    let done = flows
        .submit_settings(
            &settings.id,
            json!({"method": "profile", "traits": {"email": email, "name": {"first": "Grace"}}}),
            SubmitFlow { session_token: Some(token.clone()), ..Default::default() },
        )
        .await
        .unwrap();
    let done = success(done);
    assert_eq!(done.flow.as_ref().unwrap().state.as_deref(), Some("success"));
    let id = reg.identity.unwrap().id;
    assert_eq!(iam.identity().get_with_traits(&id).await.unwrap().traits.unwrap()["name"]["first"], json!("Grace"));
    assert_eq!(
        flows.initiate_settings(InitiateFlow::default()).await.unwrap_err().kind(),
        ErrorKind::Unauthorized,
        "settings need a session"
    );

    // Verification by code: the flow moves to sent_email and can be fetched again.
    let v = flows.initiate_verification(InitiateFlow::default()).await.unwrap();
    let FlowResult::Continue { flow } = flows
        .submit_verification(&v.id, json!({"method": "code", "email": email}), SubmitFlow::default())
        .await
        .unwrap()
    else {
        panic!("verification continues with the code form")
    };
    assert_eq!(flow.state.as_deref(), Some("sent_email"));
    let again = flows.fetch_flow(ory_iam::dto::FlowKind::Verification, &v.id, SubmitFlow::default()).await.unwrap();
    assert_eq!(again.state.as_deref(), Some("sent_email"));
    assert_eq!(
        flows.fetch_flow(ory_iam::dto::FlowKind::Login, "not-a-uuid", SubmitFlow::default()).await.unwrap_err().kind(),
        ErrorKind::Validation
    );
    assert_eq!(
        flows.submit_login(&v.id, json!({"identifier": "x"}), SubmitFlow::default()).await.unwrap_err().kind(),
        ErrorKind::Validation,
        "a body without a method is refused locally"
    );
    iam.identity().delete(&id).await.unwrap();
}

/// Issue 27: a handle narrowed to one credential accepts only that one (a bearer-only API next
/// to a cookie UI); widening the tenant's transport is refused.
#[tokio::test]
async fn a_narrowed_handle_accepts_only_its_credential() {
    use ory_iam::config::Transport;
    let iam = Iam::from_value(&common::iam_config()).unwrap();
    let (id, token) = common::native_session(&iam, "customer").await;
    let with_token = ory_iam::transport::header_map([("authorization", format!("Bearer {}", token.expose()))]);
    let cookie_only = iam.session().with_transport(Transport::Cookie).unwrap();
    assert_eq!(cookie_only.whoami(&with_token).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    let bearer_only = iam.session().with_transport(Transport::Bearer).unwrap();
    assert_eq!(bearer_only.whoami(&with_token).await.unwrap().identity.id, id);
    assert_eq!(bearer_only.tenant(), "customer");
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["transport"] = serde_json::json!("bearer");
    let strict = Iam::from_value(&cfg).unwrap();
    for wider in [Transport::Cookie, Transport::CookieOrBearer, Transport::Oathkeeper] {
        assert_eq!(strict.session().with_transport(wider).unwrap_err().kind(), ErrorKind::Configuration, "{wider:?}");
    }
    iam.identity().delete(&id).await.unwrap();
}

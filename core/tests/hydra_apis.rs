//! Issue 25, the Hydra part, against the real Hydra of `tests/stack`: consent sessions listed
//! and revoked after a real authorization-code flow, login sessions revoked, every token of a
//! client revoked (through the introspection cache), client lifespans, the discovery document
//! (and `health()`'s issuer check), userinfo, OIDC dynamic client registration and the
//! RP-initiated logout URL.

mod common;
#[path = "support/hydra_flow.rs"]
mod hydra_flow;

use hydra_flow::{code_flow_as, query_param, step};
use ory_iam::dto::{
    ClientLifespans, ListConsentSessions, LogoutUrlOptions, RefreshGrant, RevokeConsentSessions, RevokeLoginSessions,
};
use ory_iam::{AuditEvent, ErrorKind, Iam, IamConfig, Secret};
use serde_json::{json, Value};
use std::sync::Arc;

fn iam_with(cfg: Value) -> (Iam, Arc<common::Collect>) {
    let sink = Arc::new(common::Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    (iam, sink)
}

/// The stack's config with an introspection cache, audited into a sink.
fn cached() -> (Iam, Arc<common::Collect>) {
    let mut cfg = common::iam_config();
    cfg["audit"] = json!({"sink": "callback"});
    cfg["tenants"]["customer"]["cache"] = json!({"introspection_ttl_ms": 600_000});
    iam_with(cfg)
}

fn subject() -> String {
    format!("user-{}", uuid::Uuid::new_v4().simple())
}

fn events(sink: &common::Collect, name: &str) -> Vec<AuditEvent> {
    sink.0.lock().unwrap().iter().filter(|e| e.name == name).cloned().collect()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(0).build().unwrap()
}

fn refresh(f: &hydra_flow::Flow) -> RefreshGrant {
    RefreshGrant {
        refresh_token: f.tokens.refresh_token.clone().unwrap(),
        client_id: Some(f.client_id.clone()),
        client_secret: Some(f.client_secret.clone()),
        scope: None,
    }
}

#[tokio::test]
async fn connected_apps_are_listed_and_revoking_one_refuses_its_refresh_token() {
    let (iam, sink) = cached();
    let who = subject();
    let f = code_flow_as(&iam, "opaque", &[], &who, true).await;
    let other = code_flow_as(&iam, "opaque", &[], &who, true).await;
    let consent = iam.consent();

    let all: Vec<_> = {
        use futures::StreamExt;
        consent
            .list_consent_sessions_all(ListConsentSessions {
                subject: who.clone(),
                page_size: Some(1),
                ..Default::default()
            })
            .map(|r| r.unwrap())
            .collect()
            .await
    };
    let mut clients: Vec<_> = all.iter().filter_map(|c| c.client_id.clone()).collect();
    clients.sort();
    let mut want = vec![f.client_id.clone(), other.client_id.clone()];
    want.sort();
    assert_eq!(clients, want, "one consent per client, page after page");
    let mine = all.iter().find(|c| c.client_id.as_deref() == Some(f.client_id.as_str())).unwrap();
    assert_eq!(mine.subject.as_deref(), Some(who.as_str()));
    assert!(mine.grant_scope.contains(&"offline_access".to_owned()));
    assert!(mine.remember);
    assert_eq!(mine.tenant, "customer");
    let page =
        consent.list_consent_sessions(ListConsentSessions { subject: subject(), ..Default::default() }).await.unwrap();
    assert!(page.items.is_empty(), "a subject without consents has none");

    // The access token is cached active; revoking the consent revokes it and its refresh token.
    let token = iam.token();
    assert!(token.introspect(&f.tokens.access_token).await.unwrap().active);
    consent
        .revoke_consent_sessions(RevokeConsentSessions {
            subject: who.clone(),
            client: Some(f.client_id.clone()),
            all: None,
        })
        .await
        .unwrap();
    assert!(!token.introspect(&f.tokens.access_token).await.unwrap().active, "the cache was dropped");
    let refused = token.refresh(refresh(&f)).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Validation, "invalid_grant: {refused:?}");
    let left = consent
        .list_consent_sessions(ListConsentSessions { subject: who.clone(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(
        left.items.iter().filter_map(|c| c.client_id.clone()).collect::<Vec<_>>(),
        vec![other.client_id.clone()],
        "the other app stays connected"
    );
    assert!(token.refresh(refresh(&other)).await.is_ok(), "its tokens too");

    // Everything at once.
    consent
        .revoke_consent_sessions(RevokeConsentSessions { subject: who.clone(), client: None, all: Some(true) })
        .await
        .unwrap();
    assert!(consent
        .list_consent_sessions(ListConsentSessions { subject: who.clone(), ..Default::default() })
        .await
        .unwrap()
        .items
        .is_empty());

    let revokes = events(&sink, "oauth2.consent.revoke");
    assert_eq!(revokes.len(), 2);
    assert!(revokes.iter().all(|e| e.result == "success" && e.target_id.as_deref() == Some(who.as_str())));
    assert_eq!(revokes[0].attributes["client"], json!(f.client_id));
    assert_eq!(revokes[1].attributes["all"], json!(true));

    // Neither or both of client/all is refused before any request.
    for bad in [
        RevokeConsentSessions { subject: who.clone(), client: None, all: None },
        RevokeConsentSessions { subject: who.clone(), client: Some("c".into()), all: Some(true) },
        RevokeConsentSessions { subject: who.clone(), client: None, all: Some(false) },
        RevokeConsentSessions { subject: String::new(), client: None, all: Some(true) },
    ] {
        assert_eq!(consent.revoke_consent_sessions(bad).await.unwrap_err().kind(), ErrorKind::Validation);
    }
    assert_eq!(
        consent
            .list_consent_sessions(ListConsentSessions { subject: String::new(), ..Default::default() })
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    for id in [&f.client_id, &other.client_id] {
        iam.oauth2_client().delete(id).await.unwrap();
    }
}

#[tokio::test]
async fn consents_listed_by_login_session() {
    let (iam, _) = cached();
    let who = subject();
    let f = code_flow_as(&iam, "opaque", &[], &who, true).await;
    let sid = f.login_session_id.clone().expect("a remembered login has a session id");
    let consent = iam.consent();
    let by_sid = consent
        .list_consent_sessions(ListConsentSessions {
            subject: who.clone(),
            login_session_id: Some(sid.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_sid.items.len(), 1);
    assert_eq!(by_sid.items[0].login_session_id.as_deref(), Some(sid.as_str()));
    let none = consent
        .list_consent_sessions(ListConsentSessions {
            subject: who.clone(),
            login_session_id: Some(uuid::Uuid::new_v4().to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.items.is_empty());
    iam.oauth2_client().delete(&f.client_id).await.unwrap();
}

/// The next authorization request of the same browser: whether Hydra skips the login step.
async fn login_skipped(iam: &Iam, f: &hydra_flow::Flow) -> bool {
    let mut jar = f.jar.clone();
    let to_login = step(&http(), &f.auth_url, &mut jar).await;
    let challenge = query_param(&to_login, "login_challenge");
    let skip = iam.consent().get_login_request(&challenge).await.unwrap().skip;
    iam.consent().reject_login_request(&challenge, json!({"error": "access_denied"})).await.unwrap();
    skip
}

#[tokio::test]
async fn revoking_login_sessions_makes_hydra_ask_for_the_login_again() {
    let (iam, sink) = cached();
    let consent = iam.consent();
    // By subject.
    let who = subject();
    let f = code_flow_as(&iam, "opaque", &[], &who, true).await;
    assert!(login_skipped(&iam, &f).await, "remembered");
    consent.revoke_login_sessions(RevokeLoginSessions { subject: Some(who.clone()), sid: None }).await.unwrap();
    assert!(!login_skipped(&iam, &f).await, "forgotten");
    // By session id.
    let who2 = subject();
    let g = code_flow_as(&iam, "opaque", &[], &who2, true).await;
    assert!(login_skipped(&iam, &g).await);
    let sid = g.login_session_id.clone().unwrap();
    consent.revoke_login_sessions(RevokeLoginSessions { subject: None, sid: Some(sid.clone()) }).await.unwrap();
    assert!(!login_skipped(&iam, &g).await);

    let ev = events(&sink, "oauth2.login_session.revoke");
    assert_eq!(ev.len(), 2);
    assert_eq!((ev[0].target_id.as_deref(), &ev[0].attributes["by"]), (Some(who.as_str()), &json!("subject")));
    assert_eq!((ev[1].target_id.as_deref(), &ev[1].attributes["by"]), (Some(sid.as_str()), &json!("sid")));
    for bad in [
        RevokeLoginSessions { subject: None, sid: None },
        RevokeLoginSessions { subject: Some("a".into()), sid: Some("b".into()) },
        RevokeLoginSessions { subject: Some("..".into()), sid: None },
    ] {
        assert_eq!(consent.revoke_login_sessions(bad).await.unwrap_err().kind(), ErrorKind::Validation);
    }
    for id in [&f.client_id, &g.client_id] {
        iam.oauth2_client().delete(id).await.unwrap();
    }
}

#[tokio::test]
async fn deleting_the_access_tokens_of_a_client_reaches_the_introspection_cache() {
    let (iam, sink) = cached();
    let f = code_flow_as(&iam, "opaque", &[], &subject(), false).await;
    let token = iam.token();
    assert!(token.introspect(&f.tokens.access_token).await.unwrap().active, "now cached as active");
    token.delete_access_tokens(&f.client_id).await.unwrap();
    assert!(!token.introspect(&f.tokens.access_token).await.unwrap().active);
    // Hydra v2.3.0 deletes access tokens only (as its document says): the refresh token still
    // works, and what it is exchanged for is a new, active access token.
    let renewed = token.refresh(refresh(&f)).await.expect("the refresh token survives");
    assert!(token.introspect(&renewed.access_token).await.unwrap().active);
    let ev = events(&sink, "oauth2_client.access_tokens.delete");
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].result.as_str(), ev[0].target_id.as_deref()), ("success", Some(f.client_id.as_str())));
    assert_eq!(token.delete_access_tokens("").await.unwrap_err().kind(), ErrorKind::Validation);
    iam.oauth2_client().delete(&f.client_id).await.unwrap();
}

#[tokio::test]
async fn client_lifespans_bound_the_tokens_issued() {
    let (iam, sink) = cached();
    let clients = iam.oauth2_client();
    let c = clients.create(json!({"grant_types": ["client_credentials"], "scope": "read"})).await.unwrap();
    let lifespans =
        ClientLifespans { client_credentials_grant_access_token_lifespan: Some("90s".into()), ..Default::default() };
    let updated = clients.set_lifespans(&c.client_id, lifespans).await.unwrap();
    assert_eq!(updated.client_id, c.client_id);
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["hydra"]["client_id"] = json!(c.client_id);
    cfg["tenants"]["customer"]["hydra"]["client_secret"] = json!(c.client_secret.clone().unwrap().expose());
    let t = Iam::from_value(&cfg).unwrap().token().client_credentials(Some("read")).await.unwrap();
    assert!(t.expires_in.is_some_and(|s| s <= 90), "Hydra's default is an hour: {:?}", t.expires_in);
    let ev = events(&sink, "oauth2_client.lifespans.set");
    assert_eq!((ev.len(), ev[0].target_id.as_deref()), (1, Some(c.client_id.as_str())));
    let bad = ClientLifespans { implicit_grant_id_token_lifespan: Some(String::new()), ..Default::default() };
    let e = clients.set_lifespans(&c.client_id, bad).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(e.fields()[0].path, "lifespans.implicit_grant_id_token_lifespan");
    let not_duration = ClientLifespans { implicit_grant_id_token_lifespan: Some("soon".into()), ..Default::default() };
    assert_eq!(clients.set_lifespans(&c.client_id, not_duration).await.unwrap_err().kind(), ErrorKind::Validation);
    assert_eq!(
        clients.set_lifespans("no-such-client", ClientLifespans::default()).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    clients.delete(&c.client_id).await.unwrap();
}

#[tokio::test]
async fn discovery_names_the_issuer_and_health_warns_when_the_config_disagrees() {
    let (iam, _) = cached();
    let d = iam.token().discover().await.unwrap();
    let public = common::stack()["hydra"]["public_url"].as_str().unwrap().to_owned();
    assert_eq!(d.issuer.trim_end_matches('/'), public.trim_end_matches('/'));
    assert_eq!(d.token_endpoint, format!("{}/oauth2/token", public.trim_end_matches('/')));
    // Hydra v2.3.0 advertises `registration_endpoint` only when
    // `webfinger.oidc_discovery.client_registration_url` is set, not because dynamic
    // registration is enabled (the stack enables it and sets no URL).
    assert_eq!(d.registration_endpoint, None);
    assert!(d.end_session_endpoint.is_some());
    assert!(d.grant_types_supported.contains(&"authorization_code".to_owned()));
    assert!(d.raw.get("jwks_uri").is_some());
    let h = iam.health().await;
    assert!(!h.warnings.iter().any(|w| w.contains("hydra.issuer")), "{:?}", h.warnings);

    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["hydra"]["issuer"] = json!("https://issuer.example.test/");
    let wrong = Iam::from_value(&cfg).unwrap();
    let h = wrong.health().await;
    assert!(h.warnings.iter().any(|w| w.contains("tenants.customer.hydra.issuer")), "{:?}", h.warnings);
}

#[tokio::test]
async fn userinfo_of_an_access_token_until_it_is_revoked() {
    let (iam, _) = cached();
    let who = subject();
    let f = code_flow_as(&iam, "opaque", &[], &who, false).await;
    let token = iam.token();
    let info = token.userinfo(&f.tokens.access_token).await.unwrap();
    assert_eq!(info.sub, who);
    assert_eq!(info.claims["email"], json!(format!("{who}@example.test")), "the consent's id_token claims");
    assert!(!format!("{info:?}").contains("example.test"), "Debug shows no claim");
    token.delete_access_tokens(&f.client_id).await.unwrap();
    assert_eq!(token.userinfo(&f.tokens.access_token).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert_eq!(token.userinfo(&Secret::new("not-a-token")).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert_eq!(token.userinfo(&Secret::new("")).await.unwrap_err().kind(), ErrorKind::Validation);
    iam.oauth2_client().delete(&f.client_id).await.unwrap();
}

#[tokio::test]
async fn dynamic_client_registration_lifecycle() {
    let (iam, sink) = cached();
    let clients = iam.oauth2_client();
    let redirect = format!("{}callback", common::stack()["helper"]["base_url"].as_str().unwrap());
    let c = clients
        .register(json!({"client_name": "dyn", "redirect_uris": [redirect], "grant_types": ["authorization_code"]}))
        .await
        .unwrap();
    let rat = c.registration_access_token.clone().expect("a registration access token");
    assert!(c.client_secret.is_some());
    // The leak scan of this binary (common::leak_capture) looks for both in every log line.
    common::leak_capture::register_secret(rat.expose());
    common::leak_capture::register_secret(c.client_secret.as_ref().unwrap().expose());
    assert!(c.registration_client_uri.as_deref().is_some_and(|u| u.ends_with(&c.client_id)));
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(rat.expose()) && !dbg.contains(c.client_secret.as_ref().unwrap().expose()));
    let got = clients.get_registered(&c.client_id, &rat).await.unwrap();
    assert_eq!(got.client_name.as_deref(), Some("dyn"));
    assert!(got.client_secret.is_none());
    let wrong = format!("wrong-{}", uuid::Uuid::new_v4().simple());
    common::leak_capture::register_secret(&wrong);
    let e = clients.get_registered(&c.client_id, &Secret::new(wrong.clone())).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert!(!format!("{e} {e:?}").contains(&wrong));
    let set = clients
        .set_registered(&c.client_id, &rat, json!({"client_name": "renamed", "redirect_uris": [redirect]}))
        .await
        .unwrap();
    assert_eq!(set.client_name.as_deref(), Some("renamed"));
    // Hydra v2.3.0 hands out a new registration access token with every update; the old one
    // stops working.
    let rat2 = set.registration_access_token.clone().expect("a rotated token");
    common::leak_capture::register_secret(rat2.expose());
    assert_ne!(rat2.expose(), rat.expose());
    assert_eq!(clients.get_registered(&c.client_id, &rat).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert_eq!(clients.get(&c.client_id).await.unwrap().client_name.as_deref(), Some("renamed"));
    clients.delete_registered(&c.client_id, &rat2).await.unwrap();
    assert_eq!(clients.get(&c.client_id).await.unwrap_err().kind(), ErrorKind::NotFound);
    for (name, n) in
        [("oauth2_client.register", 1), ("oauth2_client.registered.set", 1), ("oauth2_client.registered.delete", 1)]
    {
        let ev = events(&sink, name);
        assert_eq!(ev.len(), n, "{name}");
        assert_eq!(ev[0].target_id.as_deref(), Some(c.client_id.as_str()));
        assert_eq!(ev[0].result, "success");
    }
    let leaked = serde_json::to_string(&*sink.0.lock().unwrap()).unwrap();
    assert!(!leaked.contains(rat.expose()) && !leaked.contains(rat2.expose()));
    assert_eq!(common::leak_capture::counts().1, 0, "no log line carried a registration secret");
}

#[tokio::test]
async fn the_logout_url_starts_hydras_logout_flow() {
    let (iam, _) = cached();
    let who = subject();
    let f = code_flow_as(&iam, "opaque", &[], &who, true).await;
    let consent = iam.consent();
    let id_token = f.tokens.id_token.clone().unwrap();
    let url =
        consent.logout_url(LogoutUrlOptions { id_token_hint: Some(id_token.clone()), ..Default::default() }).unwrap();
    let public = common::stack()["hydra"]["public_url"].as_str().unwrap().to_owned();
    assert!(url.expose().starts_with(&format!("{public}oauth2/sessions/logout?id_token_hint=")));
    let mut jar = f.jar.clone();
    let to_logout = step(&http(), url.expose(), &mut jar).await;
    let challenge = query_param(&to_logout, "logout_challenge");
    let l = consent.get_logout_request(&challenge).await.unwrap();
    assert_eq!(l.subject.as_deref(), Some(who.as_str()));
    consent.accept_logout_request(&challenge).await.unwrap();
    assert_eq!(
        consent
            .logout_url(LogoutUrlOptions {
                post_logout_redirect_uri: Some("https://app.example.test/".into()),
                ..Default::default()
            })
            .unwrap_err()
            .kind(),
        ErrorKind::Validation,
        "Hydra requires id_token_hint with post_logout_redirect_uri"
    );
    assert_eq!(
        consent
            .logout_url(LogoutUrlOptions { id_token_hint: Some(Secret::new("x")), ..Default::default() })
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    let bare = consent.logout_url(LogoutUrlOptions::default()).unwrap();
    assert_eq!(bare.expose(), format!("{public}oauth2/sessions/logout"));
    iam.oauth2_client().delete(&f.client_id).await.unwrap();
}

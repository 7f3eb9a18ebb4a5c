//! Hydra services against the real Hydra of `tests/stack`: client CRUD, client credentials,
//! the full authorization-code + PKCE flow through ConsentService, refresh, introspection,
//! revocation, logout; JWK sets; trusted issuers and the JWT-bearer grant.

mod common;
#[path = "support/hydra_flow.rs"]
mod hydra_flow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::StreamExt;
use hydra_flow::{code_flow, query_param, step};
use ory_iam::dto::{
    AuthorizationCodeGrant, CreateJwkSet, JwtBearerGrant, ListOAuth2Clients, RefreshGrant, RevokeOptions, TrustIssuer,
};
use ory_iam::{ErrorKind, Iam, IamConfig, Secret};
use p256::ecdsa::signature::Signer;
use serde_json::{json, Value};
use sha2::Digest;
use std::sync::Arc;

fn iam() -> Iam {
    Iam::from_value(&common::iam_config()).unwrap()
}

use common::Collect;

#[tokio::test]
async fn oauth2_client_crud_and_client_credentials() {
    let mut cfg = common::iam_config();
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    let clients = iam.oauth2_client();
    let name = format!("svc-{}", uuid::Uuid::new_v4().simple());
    let created = clients
        .create(json!({"client_name": name, "grant_types": ["client_credentials"], "scope": "read write", "owner": "team-a"}))
        .await
        .unwrap();
    let secret = created.client_secret.clone().expect("the secret is shown once");
    assert!(!format!("{created:?}").contains(secret.expose()));
    let got = clients.get(&created.client_id).await.unwrap();
    assert!(got.client_secret.is_none(), "never again after create");
    assert_eq!(got.client_name.as_deref(), Some(name.as_str()));
    let listed: Vec<String> = clients
        .list_all(ListOAuth2Clients { client_name: Some(name.clone()), page_size: Some(1), ..Default::default() })
        .map(|c| c.unwrap().client_id)
        .collect()
        .await;
    assert_eq!(listed, vec![created.client_id.clone()]);
    let patched = clients
        .patch(&created.client_id, json!([{"op": "replace", "path": "/client_name", "value": "renamed"}]))
        .await
        .unwrap();
    assert_eq!(patched.client_name.as_deref(), Some("renamed"));
    assert_eq!(
        clients
            .patch(&created.client_id, json!([{"op": "replace", "path": "/client_id", "value": "x"}]))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );

    // Client credentials through the tenant's configured client, cached ahead of expiry.
    let mut cfg2 = common::iam_config();
    cfg2["tenants"]["customer"]["hydra"]["client_id"] = json!(created.client_id);
    cfg2["tenants"]["customer"]["hydra"]["client_secret"] = json!(secret.expose());
    let with_client = Iam::from_value(&cfg2).unwrap();
    let t1 = with_client.token().client_credentials(Some("read")).await.unwrap();
    let t2 = with_client.token().client_credentials(Some("read")).await.unwrap();
    assert_eq!(t1.access_token, t2.access_token, "served from the token cache");
    assert!(!format!("{t1:?}").contains(t1.access_token.expose()));
    let i = with_client.token().introspect(&t1.access_token).await.unwrap();
    assert!(i.active);
    assert_eq!(i.client_id.as_deref(), Some(created.client_id.as_str()));
    assert_eq!(i.scope.as_deref(), Some("read"));
    with_client.token().revoke(&t1.access_token, RevokeOptions::default()).await.unwrap();
    assert!(!with_client.token().introspect(&t1.access_token).await.unwrap().active, "inactive is a normal answer");
    assert_eq!(
        with_client.token().client_credentials(Some("admin")).await.unwrap_err().kind(),
        ErrorKind::Validation,
        "a scope the client may not have"
    );
    assert_eq!(
        iam.token().client_credentials(None).await.unwrap_err().kind(),
        ErrorKind::Configuration,
        "no hydra.client_id"
    );

    clients.delete(&created.client_id).await.unwrap();
    assert_eq!(clients.get(&created.client_id).await.unwrap_err().kind(), ErrorKind::NotFound);
    let events = sink.0.lock().unwrap();
    assert!(events
        .iter()
        .any(|e| e.name == "oauth2_client.delete" && e.target_id.as_deref() == Some(created.client_id.as_str())));
}

#[tokio::test]
async fn authorization_code_with_pkce_refresh_revoke_logout() {
    let iam = iam();
    let stack = common::stack();
    let redirect = format!("{}callback", stack["helper"]["base_url"].as_str().unwrap());
    let client = iam
        .oauth2_client()
        .create(json!({
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code", "id_token"],
            "redirect_uris": [redirect],
            "scope": "openid offline_access profile",
        }))
        .await
        .unwrap();
    let secret = client.client_secret.clone().unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
        + &URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let public = stack["hydra"]["public_url"].as_str().unwrap();
    let mut auth = url::Url::parse(&format!("{public}oauth2/auth")).unwrap();
    auth.query_pairs_mut()
        .append_pair("client_id", &client.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "state-123456789")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let http = hydra_flow::browser();
    let mut jar = Vec::new();

    let to_login = step(&http, auth.as_str(), &mut jar).await;
    let login_challenge = query_param(&to_login, "login_challenge");
    let consent = iam.consent();
    let login = consent.get_login_request(&login_challenge).await.unwrap();
    assert_eq!(login.client_id.as_deref(), Some(client.client_id.as_str()));
    assert!(login.requested_scope.contains(&"offline_access".to_owned()));
    let next = consent
        .accept_login_request(&login_challenge, json!({"subject": "user-1", "remember": true, "remember_for": 3600}))
        .await
        .unwrap();
    let to_consent = step(&http, &next.redirect_to, &mut jar).await;
    let consent_challenge = query_param(&to_consent, "consent_challenge");
    let c = consent.get_consent_request(&consent_challenge).await.unwrap();
    assert_eq!(c.subject.as_deref(), Some("user-1"));
    let next = consent
        .accept_consent_request(&consent_challenge, json!({"grant_scope": c.requested_scope, "remember": false, "session": {"id_token": {"email": "u@example.test"}}}))
        .await
        .unwrap();
    let back = step(&http, &next.redirect_to, &mut jar).await;
    assert!(back.starts_with(&redirect));
    let code = query_param(&back, "code");
    assert_eq!(
        consent.accept_login_request(&login_challenge, json!({})).await.unwrap_err().kind(),
        ErrorKind::Validation,
        "subject is required"
    );
    assert_eq!(consent.get_login_request("").await.unwrap_err().kind(), ErrorKind::Validation);

    let tokens = iam
        .token()
        .authorization_code(AuthorizationCodeGrant {
            code: Secret::new(code),
            redirect_uri: redirect.clone(),
            client_id: Some(client.client_id.clone()),
            client_secret: Some(secret.clone()),
            code_verifier: Some(Secret::new(verifier)),
        })
        .await
        .unwrap();
    let refresh = tokens.refresh_token.clone().expect("offline_access gives a refresh token");
    let id_token = tokens.id_token.clone().expect("openid gives an id token");
    let i = iam.token().introspect(&tokens.access_token).await.unwrap();
    assert!(i.active);
    assert_eq!(i.sub.as_deref(), Some("user-1"));

    let renewed = iam
        .token()
        .refresh(RefreshGrant {
            refresh_token: refresh.clone(),
            client_id: Some(client.client_id.clone()),
            client_secret: Some(secret.clone()),
            scope: None,
        })
        .await
        .unwrap();
    assert_ne!(renewed.access_token, tokens.access_token);
    let reused = iam
        .token()
        .refresh(RefreshGrant {
            refresh_token: refresh,
            client_id: Some(client.client_id.clone()),
            client_secret: Some(secret.clone()),
            scope: None,
        })
        .await
        .unwrap_err();
    assert_eq!(reused.kind(), ErrorKind::Validation, "a rotated refresh token is invalid_grant");
    let opts = RevokeOptions {
        token_type_hint: Some("access_token".into()),
        client_id: Some(client.client_id.clone()),
        client_secret: Some(secret.clone()),
    };
    iam.token().revoke(&renewed.access_token, opts).await.unwrap();
    assert!(!iam.token().introspect(&renewed.access_token).await.unwrap().active);

    // RP-initiated logout: Hydra asks the logout URL with a challenge.
    let mut logout = url::Url::parse(&format!("{public}oauth2/sessions/logout")).unwrap();
    logout.query_pairs_mut().append_pair("id_token_hint", id_token.expose());
    let to_logout = step(&http, logout.as_str(), &mut jar).await;
    let logout_challenge = query_param(&to_logout, "logout_challenge");
    let l = consent.get_logout_request(&logout_challenge).await.unwrap();
    assert_eq!(l.subject.as_deref(), Some("user-1"));
    assert!(!consent.accept_logout_request(&logout_challenge).await.unwrap().redirect_to.is_empty());
    iam.oauth2_client().delete(&client.client_id).await.unwrap();
}

#[tokio::test]
async fn jwk_set_lifecycle() {
    let jwk = iam().jwk();
    let set = format!("set-{}", uuid::Uuid::new_v4().simple());
    let created = jwk
        .create_set(&set, CreateJwkSet { alg: "ES256".into(), use_: "sig".into(), kid: Some("k1".into()) })
        .await
        .unwrap();
    assert_eq!(created.keys.len(), 1);
    assert!(!format!("{created:?}").contains("\"d\""), "Debug shows key ids only");
    jwk.create_set(&set, CreateJwkSet { alg: "ES256".into(), use_: "sig".into(), kid: Some("k2".into()) })
        .await
        .unwrap();
    assert_eq!(jwk.get_set(&set).await.unwrap().keys.len(), 2);
    let k1 = jwk.get_key(&set, "k1").await.unwrap();
    assert_eq!(k1.keys[0]["kid"], json!("k1"));
    jwk.delete_key(&set, "k1").await.unwrap();
    assert_eq!(jwk.get_key(&set, "k1").await.unwrap_err().kind(), ErrorKind::NotFound);
    jwk.delete_set(&set).await.unwrap();
    assert_eq!(jwk.get_set(&set).await.unwrap_err().kind(), ErrorKind::NotFound);
    // An id with a slash is one encoded segment (Hydra: no such set), never a path to elsewhere;
    // `..` names nothing any server holds and is refused locally.
    assert_eq!(jwk.get_set("a/b").await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(jwk.get_set("..").await.unwrap_err().kind(), ErrorKind::Validation);
    assert!(!iam().metadata().discover_jwks().await.unwrap().keys.is_empty());
}

#[tokio::test]
async fn trusted_issuer_and_jwt_bearer() {
    let iam = iam();
    let stack = common::stack();
    // A key pair of ours (Hydra generates it; we keep the private half to sign assertions).
    let set = format!("issuer-{}", uuid::Uuid::new_v4().simple());
    let pair = iam
        .jwk()
        .create_set(&set, CreateJwkSet { alg: "ES256".into(), use_: "sig".into(), kid: Some("ik".into()) })
        .await
        .unwrap();
    let private = pair.keys[0].clone();
    let mut public: Value = private.clone();
    public.as_object_mut().unwrap().remove("d");
    let issuer = format!("https://issuer-{}.example.test", uuid::Uuid::new_v4().simple());
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let trusted = iam
        .trusted_issuer()
        .trust(TrustIssuer {
            issuer: issuer.clone(),
            subject: Some("svc-1".into()),
            allow_any_subject: None,
            scope: vec!["read".into()],
            expires_at: expires.clone(),
            public_key: public.clone(),
        })
        .await
        .unwrap();
    assert_eq!(iam.trusted_issuer().get(&trusted.id).await.unwrap().issuer, issuer);
    let listed: Vec<String> = iam
        .trusted_issuer()
        .list_all(ory_iam::dto::ListTrustedIssuers { issuer: Some(issuer.clone()), ..Default::default() })
        .map(|t| t.unwrap().id)
        .collect()
        .await;
    assert_eq!(listed, vec![trusted.id.clone()]);
    let bad = iam
        .trusted_issuer()
        .trust(TrustIssuer {
            issuer: issuer.clone(),
            subject: None,
            allow_any_subject: None,
            scope: vec![],
            expires_at: expires,
            public_key: public,
        })
        .await
        .unwrap_err();
    assert_eq!((bad.kind(), bad.status()), (ErrorKind::Validation, None));

    let client = iam
        .oauth2_client()
        .create(json!({"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"], "scope": "read"}))
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token_url = format!("{}oauth2/token", stack["hydra"]["public_url"].as_str().unwrap());
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": "ik", "typ": "JWT"}).to_string());
    let claims = URL_SAFE_NO_PAD.encode(
        json!({"iss": issuer, "sub": "svc-1", "aud": token_url, "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string()})
            .to_string(),
    );
    let d = URL_SAFE_NO_PAD.decode(private["d"].as_str().unwrap()).unwrap();
    let key = p256::ecdsa::SigningKey::from_slice(&d).unwrap();
    let sig: p256::ecdsa::Signature = key.sign(format!("{header}.{claims}").as_bytes());
    let assertion = format!("{header}.{claims}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()));
    let tokens = iam
        .token()
        .jwt_bearer(JwtBearerGrant {
            assertion: Secret::new(assertion),
            scope: Some("read".into()),
            client_id: Some(client.client_id.clone()),
            client_secret: client.client_secret.clone(),
        })
        .await
        .unwrap();
    let i = iam.token().introspect(&tokens.access_token).await.unwrap();
    assert_eq!(i.sub.as_deref(), Some("svc-1"));
    iam.trusted_issuer().delete(&trusted.id).await.unwrap();
    assert_eq!(iam.trusted_issuer().get(&trusted.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    iam.oauth2_client().delete(&client.client_id).await.unwrap();
    iam.jwk().delete_set(&set).await.unwrap();
}

#[tokio::test]
async fn resource_server_authenticates_bearer_tokens() {
    let iam = iam();
    let mut tokens = Vec::new();
    for strategy in ["jwt", "opaque"] {
        let client = iam
            .oauth2_client()
            .create(json!({"grant_types": ["client_credentials"], "scope": "read write", "access_token_strategy": strategy}))
            .await
            .unwrap();
        let mut cfg = common::iam_config();
        cfg["tenants"]["customer"]["hydra"]["client_id"] = json!(client.client_id);
        cfg["tenants"]["customer"]["hydra"]["client_secret"] = json!(client.client_secret.clone().unwrap().expose());
        let t = Iam::from_value(&cfg).unwrap().token().client_credentials(Some("read")).await.unwrap();
        tokens.push((strategy, client.client_id, t.access_token));
    }
    let bearer = |t: &str| ory_iam::transport::header_map([("authorization", format!("Bearer {t}"))]);
    let opts = || ory_iam::dto::AuthenticateOptions::default();
    for (strategy, client_id, token) in &tokens {
        let p = iam.token().authenticate(&bearer(token.expose()), opts()).await.unwrap();
        assert_eq!(p.client_id.as_deref(), Some(client_id.as_str()));
        assert_eq!(p.scope, vec!["read".to_owned()]);
        assert_eq!(p.verified_by, if *strategy == "jwt" { "jwt" } else { "introspection" }, "{strategy}");
        let need_write =
            ory_iam::dto::AuthenticateOptions { required_scope: vec!["write".into()], ..Default::default() };
        assert_eq!(
            iam.token().authenticate(&bearer(token.expose()), need_write).await.unwrap_err().kind(),
            ErrorKind::Forbidden
        );
    }
    let (_, _, jwt) = &tokens[0];
    assert!(jwt.expose().starts_with("ey"), "a JWT access token");
    // Flip one character of the signature: forged.
    let mut forged = jwt.expose().to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(iam.token().authenticate(&bearer(&forged), opts()).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert_eq!(
        iam.token()
            .authenticate(&ory_iam::transport::header_map(Vec::<(String, String)>::new()), opts())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unauthorized
    );
    assert_eq!(
        iam.token().authenticate(&bearer("ory_at_unknown"), opts()).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    // Hydra unreachable: an outage, never a principal.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["hydra"]["admin_url"] = json!(format!("http://127.0.0.1:{port}/"));
    cfg["tenants"]["customer"]["hydra"]["public_url"] = json!(format!("http://127.0.0.1:{port}/"));
    cfg["tenants"]["customer"]["http"] = json!({"retries": 0});
    let down = Iam::from_value(&cfg).unwrap();
    assert_eq!(
        down.token().authenticate(&bearer("ory_at_x"), opts()).await.unwrap_err().kind(),
        ErrorKind::UpstreamUnavailable
    );
    assert_eq!(
        down.token().authenticate(&bearer(jwt.expose()), opts()).await.unwrap_err().kind(),
        ErrorKind::UpstreamUnavailable
    );
}

fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let v: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn jwks_cache_follows_key_rotation_and_introspection_cache() {
    let iam = iam();
    let client = iam
        .oauth2_client()
        .create(json!({"grant_types": ["client_credentials"], "scope": "read", "access_token_strategy": "jwt"}))
        .await
        .unwrap();
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["hydra"]["client_id"] = json!(client.client_id);
    cfg["tenants"]["customer"]["hydra"]["client_secret"] = json!(client.client_secret.clone().unwrap().expose());
    cfg["tenants"]["customer"]["cache"] = json!({"introspection_ttl_ms": 60_000});
    let with_client = Iam::from_value(&cfg).unwrap();
    let bearer = |t: &str| ory_iam::transport::header_map([("authorization", format!("Bearer {t}"))]);
    let first = with_client.token().client_credentials(Some("read")).await.unwrap();
    let p = with_client.token().authenticate(&bearer(first.access_token.expose()), Default::default()).await.unwrap();
    assert_eq!(p.verified_by, "jwt");

    // Rotate Hydra's access-token signing key; new tokens carry the new kid.
    let rotated = iam
        .jwk()
        .create_set("hydra.jwt.access-token", CreateJwkSet { alg: "RS256".into(), use_: "sig".into(), kid: None })
        .await
        .unwrap();
    let new_kid = rotated.keys[0]["kid"].as_str().unwrap().to_owned();
    let other = Iam::from_value(&cfg).unwrap(); // a fresh token cache, same client
    let second = other.token().client_credentials(Some("read")).await.unwrap();
    if kid_of(second.access_token.expose()) == new_kid {
        // The cached JWKS lacks the new kid: after the short refetch cooldown it is fetched again.
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let p =
            with_client.token().authenticate(&bearer(second.access_token.expose()), Default::default()).await.unwrap();
        assert_eq!(p.client_id.as_deref(), Some(client.client_id.as_str()));
    } else {
        panic!("Hydra kept signing with the old key after rotation");
    }

    // Introspection cache: a revocation made elsewhere is only seen after the cached entry ends,
    // but a revocation through this instance evicts at once.
    let opaque =
        iam.oauth2_client().create(json!({"grant_types": ["client_credentials"], "scope": "read"})).await.unwrap();
    let mut cfg2 = cfg.clone();
    cfg2["tenants"]["customer"]["hydra"]["client_id"] = json!(opaque.client_id);
    cfg2["tenants"]["customer"]["hydra"]["client_secret"] = json!(opaque.client_secret.clone().unwrap().expose());
    let cached = Iam::from_value(&cfg2).unwrap();
    let t = cached.token().client_credentials(Some("read")).await.unwrap();
    assert!(cached.token().introspect(&t.access_token).await.unwrap().active);
    Iam::from_value(&cfg2).unwrap().token().revoke(&t.access_token, Default::default()).await.unwrap();
    assert!(cached.token().introspect(&t.access_token).await.unwrap().active, "served from the introspection cache");
    cached.token().revoke(&t.access_token, Default::default()).await.unwrap();
    assert!(!cached.token().introspect(&t.access_token).await.unwrap().active, "own revoke evicts");
    // The rotated key stays: a concurrently running test may hold a token it signed.
    iam.oauth2_client().delete(&client.client_id).await.unwrap();
    iam.oauth2_client().delete(&opaque.client_id).await.unwrap();
}

#[tokio::test]
async fn jwk_update_set_and_key() {
    let jwk = iam().jwk();
    let set = format!("upd-{}", uuid::Uuid::new_v4().simple());
    let created = jwk
        .create_set(&set, CreateJwkSet { alg: "ES256".into(), use_: "sig".into(), kid: Some("a".into()) })
        .await
        .unwrap();
    let mut key = created.keys[0].clone();
    key.as_object_mut().unwrap().remove("d");
    key["use"] = json!("sig");
    let updated = jwk.update_key(&set, "a", key.clone()).await.unwrap();
    assert_eq!(updated["kid"], json!("a"));
    assert!(updated.get("d").is_none(), "now only the public half is stored");
    let mut b = key.clone();
    b["kid"] = json!("b");
    let replaced = jwk.update_set(&set, ory_iam::dto::JsonWebKeySet { keys: vec![key, b] }).await.unwrap();
    assert_eq!(replaced.keys.len(), 2);
    assert_eq!(
        jwk.update_key(&set, "a", json!({"kid": "zzz", "kty": "EC", "alg": "ES256", "use": "sig"}))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    jwk.delete_set(&set).await.unwrap();
}

#[tokio::test]
async fn set_client_and_reject_login_consent_logout() {
    let iam = iam();
    let stack = common::stack();
    let redirect = format!("{}callback", stack["helper"]["base_url"].as_str().unwrap());
    let client = iam
        .oauth2_client()
        .create(json!({"grant_types": ["authorization_code"], "response_types": ["code"], "redirect_uris": [redirect], "scope": "openid"}))
        .await
        .unwrap();
    let replaced = iam
        .oauth2_client()
        .set(
            &client.client_id,
            json!({"client_name": "replaced", "grant_types": ["authorization_code"], "response_types": ["code"], "redirect_uris": [redirect], "scope": "openid"}),
        )
        .await
        .unwrap();
    assert_eq!(replaced.client_name.as_deref(), Some("replaced"));
    let public = stack["hydra"]["public_url"].as_str().unwrap();
    let auth = |state: &str| {
        let mut u = url::Url::parse(&format!("{public}oauth2/auth")).unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", &client.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &redirect)
            .append_pair("scope", "openid")
            .append_pair("state", state);
        u.to_string()
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let consent = iam.consent();

    // Reject the login: the browser goes back to the client with an error.
    let mut jar = Vec::new();
    let ch = query_param(&step(&http, &auth("state-reject-login"), &mut jar).await, "login_challenge");
    let r =
        consent.reject_login_request(&ch, json!({"error": "access_denied", "error_description": "no"})).await.unwrap();
    let back = step(&http, &r.redirect_to, &mut jar).await;
    assert_eq!(query_param(&back, "error"), "access_denied");

    // Accept the login, reject the consent.
    let mut jar = Vec::new();
    let ch = query_param(&step(&http, &auth("state-reject-consent"), &mut jar).await, "login_challenge");
    let r = consent
        .accept_login_request(&ch, json!({"subject": "user-2", "remember": true, "remember_for": 3600}))
        .await
        .unwrap();
    let cc = query_param(&step(&http, &r.redirect_to, &mut jar).await, "consent_challenge");
    let r = consent.reject_consent_request(&cc, json!({"error": "access_denied"})).await.unwrap();
    assert_eq!(query_param(&step(&http, &r.redirect_to, &mut jar).await, "error"), "access_denied");

    // A logout the user declines: Hydra answers 204.
    let lc = query_param(&step(&http, &format!("{public}oauth2/sessions/logout"), &mut jar).await, "logout_challenge");
    assert!(consent.reject_logout_request(&lc).await.unwrap().redirect_to.is_empty());
    iam.oauth2_client().delete(&client.client_id).await.unwrap();
}

/// Local JWT verification cannot see revocation: after a refresh Hydra reports the old JWT
/// access token inactive; `auto` still accepts it until it expires, `introspect` refuses it,
/// and a tenant can make introspection its default (`hydra.bearer_mode`).
#[tokio::test]
async fn local_verification_cannot_see_revocation_and_introspection_can() {
    let iam = iam();
    let bearer = |t: &str| ory_iam::transport::header_map([("authorization", format!("Bearer {t}"))]);
    let (tokens, client_id, secret) = code_flow(&iam, "jwt", &[]).await;
    iam.token()
        .refresh(RefreshGrant {
            refresh_token: tokens.refresh_token.clone().unwrap(),
            client_id: Some(client_id.clone()),
            client_secret: Some(secret),
            scope: None,
        })
        .await
        .unwrap();
    let old = bearer(tokens.access_token.expose());
    assert!(!iam.token().introspect(&tokens.access_token).await.unwrap().active, "Hydra revoked the old token");
    let p = iam.token().authenticate(&old, Default::default()).await.unwrap();
    assert_eq!(p.verified_by, "jwt", "documented: local verification accepts it until exp");
    let introspect =
        ory_iam::dto::AuthenticateOptions { mode: Some(ory_iam::dto::BearerMode::Introspect), ..Default::default() };
    assert_eq!(iam.token().authenticate(&old, introspect).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["hydra"]["bearer_mode"] = json!("introspect");
    let strict = Iam::from_value(&cfg).unwrap();
    assert_eq!(
        strict.token().authenticate(&old, Default::default()).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    iam.oauth2_client().delete(&client_id).await.unwrap();
}

//! `FakeOry`'s authorization-code flow (`hydra_flows.rs`): a login/consent app driven with
//! `FakeOry::authorize` / `FakeOry::follow`, ending in tokens that authenticate, with Hydra
//! v2.3.0's answers to replayed codes and refresh tokens, foreign clients and unknown challenges.

use ory_iam::dto::{
    AuthenticateOptions, AuthorizationCodeGrant, ListConsentSessions, RefreshGrant, RevokeConsentSessions,
    RevokeLoginSessions,
};
use ory_iam::testing::{AuthorizeRequest, FakeOry, CONSENT_URL, LOGIN_URL};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam, Secret};
use serde_json::json;

const REDIRECT: &str = "https://app.example.test/callback";

fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn bearer(token: &Secret) -> http::HeaderMap {
    header_map([("authorization", format!("Bearer {}", token.expose()))])
}

async fn client(iam: &Iam) -> (String, Secret) {
    let c = iam
        .oauth2_client()
        .create(json!({"grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                       "redirect_uris": [REDIRECT], "scope": "openid offline_access read"}))
        .await
        .unwrap();
    (c.client_id, c.client_secret.unwrap())
}

fn pkce() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = "a-verifier-of-more-than-forty-three-characters-0123456789".to_owned();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `fake.authorize` for `client_id` at [`REDIRECT`] with `scope` and `state` (no PKCE).
fn authorize(fake: &FakeOry, client_id: &str, scope: &str, state: &str) -> String {
    let req = AuthorizeRequest {
        client_id: client_id.into(),
        redirect_uri: REDIRECT.into(),
        scope: scope.into(),
        state: state.into(),
        ..Default::default()
    };
    fake.authorize("customer", req).unwrap()
}

/// The login/consent app: accepts login for `who` and consent for what was asked; the code.
async fn login_and_consent(fake: &FakeOry, client_id: &str, who: &str, challenge: &str) -> String {
    let iam = fake.iam();
    let to_login = fake
        .authorize(
            "customer",
            AuthorizeRequest {
                client_id: client_id.into(),
                redirect_uri: REDIRECT.into(),
                scope: "openid offline_access read".into(),
                state: "state-123456789".into(),
                code_challenge: Some(challenge.into()),
                code_challenge_method: Some("S256".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(to_login.starts_with(LOGIN_URL));
    let lc = param(&to_login, "login_challenge").unwrap();
    let login = iam.consent().get_login_request(&lc).await.unwrap();
    assert_eq!((login.client_id.as_deref(), login.skip), (Some(client_id), false));
    assert_eq!(login.requested_scope, ["openid", "offline_access", "read"]);
    let next = iam.consent().accept_login_request(&lc, json!({"subject": who})).await.unwrap();
    let to_consent = fake.follow("customer", &next.redirect_to).unwrap();
    assert!(to_consent.starts_with(CONSENT_URL));
    let cc = param(&to_consent, "consent_challenge").unwrap();
    let c = iam.consent().get_consent_request(&cc).await.unwrap();
    assert_eq!(c.subject.as_deref(), Some(who));
    let next = iam
        .consent()
        .accept_consent_request(
            &cc,
            json!({"grant_scope": c.requested_scope, "session": {"id_token": {"email": "u@example.test"}}}),
        )
        .await
        .unwrap();
    let back = fake.follow("customer", &next.redirect_to).unwrap();
    assert!(back.starts_with(REDIRECT));
    assert_eq!(param(&back, "state").as_deref(), Some("state-123456789"));
    // The verifier works once, as Hydra's.
    let again = fake.follow("customer", &next.redirect_to).unwrap();
    assert_eq!(param(&again, "error").as_deref(), Some("access_denied"));
    param(&back, "code").unwrap()
}

#[tokio::test]
async fn code_flow_tokens_authenticate_and_rotate() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let (id, secret) = client(&iam).await;
    let (other, other_secret) = client(&iam).await;
    let (verifier, challenge) = pkce();
    let code = login_and_consent(&fake, &id, "user-1", &challenge).await;
    let grant = |client: &str, s: &Secret| AuthorizationCodeGrant {
        code: Secret::new(code.clone()),
        redirect_uri: REDIRECT.into(),
        client_id: Some(client.into()),
        client_secret: Some(s.clone()),
        code_verifier: Some(Secret::new(verifier.clone())),
    };
    // Another client cannot redeem it, and the code stays usable.
    let e = iam.token().authorization_code(grant(&other, &other_secret)).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Validation, Some(400)), "{e:?}");
    let tokens = iam.token().authorization_code(grant(&id, &secret)).await.unwrap();
    let who = iam.token().authenticate(&bearer(&tokens.access_token), AuthenticateOptions::default()).await.unwrap();
    assert_eq!((who.subject.as_deref().unwrap_or_default(), who.client_id.as_deref()), ("user-1", Some(id.as_str())));
    let info = iam.token().userinfo(&tokens.access_token).await.unwrap();
    assert_eq!((info.sub.as_str(), info.claims["email"].as_str()), ("user-1", Some("u@example.test")));
    // The ID token verifies against the fake's published ID-token keys (and, as with Hydra, is
    // no access token: `authenticate` refuses it).
    let id_token = tokens.id_token.clone().unwrap();
    let jwks = iam.metadata().discover_jwks().await.unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks.keys[0].clone()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[&id]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        id_token.expose(),
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!((claims["sub"].as_str(), claims["email"].as_str()), (Some("user-1"), Some("u@example.test")));
    let e = iam.token().authenticate(&bearer(&id_token), AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    // A replayed code is refused and revokes what it gave.
    let e = iam.token().authorization_code(grant(&id, &secret)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(!iam.token().introspect(&tokens.access_token).await.unwrap().active);

    // Refresh rotation: the old refresh token is refused after use, and its reuse revokes the family.
    let code = login_and_consent(&fake, &id, "user-1", &challenge).await;
    let tokens = iam
        .token()
        .authorization_code(AuthorizationCodeGrant { code: Secret::new(code), ..grant(&id, &secret) })
        .await
        .unwrap();
    let refresh = |rt: &Secret| RefreshGrant {
        refresh_token: rt.clone(),
        client_id: Some(id.clone()),
        client_secret: Some(secret.clone()),
        scope: None,
    };
    let rt = tokens.refresh_token.clone().unwrap();
    let new = iam.token().refresh(refresh(&rt)).await.unwrap();
    assert!(!iam.token().introspect(&tokens.access_token).await.unwrap().active);
    assert!(iam.token().introspect(&new.access_token).await.unwrap().active);
    assert_eq!(iam.token().refresh(refresh(&rt)).await.unwrap_err().kind(), ErrorKind::Validation);
    assert!(!iam.token().introspect(&new.access_token).await.unwrap().active);
}

#[tokio::test]
async fn consent_sessions_and_challenges() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let (id, secret) = client(&iam).await;
    let (verifier, challenge) = pkce();
    let code = login_and_consent(&fake, &id, "user-2", &challenge).await;
    let tokens = iam
        .token()
        .authorization_code(AuthorizationCodeGrant {
            code: Secret::new(code),
            redirect_uri: REDIRECT.into(),
            client_id: Some(id.clone()),
            client_secret: Some(secret.clone()),
            code_verifier: Some(Secret::new(verifier)),
        })
        .await
        .unwrap();
    let consent = iam.consent();
    let list = |s: &str| consent.list_consent_sessions(ListConsentSessions { subject: s.into(), ..Default::default() });
    let page = list("user-2").await.unwrap();
    assert_eq!((page.items.len(), page.items[0].client_id.as_deref()), (1, Some(id.as_str())));
    // Ending login sessions leaves tokens and consents, as Hydra.
    iam.consent()
        .revoke_login_sessions(RevokeLoginSessions { subject: Some("user-2".into()), sid: None })
        .await
        .unwrap();
    assert!(iam.token().introspect(&tokens.access_token).await.unwrap().active);
    iam.consent()
        .revoke_consent_sessions(RevokeConsentSessions {
            subject: "user-2".into(),
            client: Some(id.clone()),
            all: None,
        })
        .await
        .unwrap();
    assert!(list("user-2").await.unwrap().items.is_empty());
    assert!(!iam.token().introspect(&tokens.access_token).await.unwrap().active);
    assert!(!iam.token().introspect(tokens.refresh_token.as_ref().unwrap()).await.unwrap().active);
    assert_eq!(iam.token().userinfo(&tokens.access_token).await.unwrap_err().kind(), ErrorKind::Unauthorized);

    // Unknown and hostile challenges are Hydra's 404; a rejected login goes back to the client.
    for c in ["bogus-challenge", "../x"] {
        let e = iam.consent().get_login_request(c).await.unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::NotFound, Some(404)));
        assert_eq!(iam.consent().accept_logout_request(c).await.unwrap_err().status(), Some(404));
    }
    let to_login = authorize(&fake, &id, "openid", "state-123456789");
    let lc = param(&to_login, "login_challenge").unwrap();
    let next = iam
        .consent()
        .reject_login_request(&lc, json!({"error": "access_denied", "error_description": "nope"}))
        .await
        .unwrap();
    let back = fake.follow("customer", &next.redirect_to).unwrap();
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    // A scope the client may not ask for goes back to the client as invalid_scope.
    let bad = authorize(&fake, &id, "admin", "state-123456789");
    assert_eq!(param(&bad, "error").as_deref(), Some("invalid_scope"));
    // As Hydra v2.3.0: a state under 8 characters is `invalid_state`; a client whose
    // `response_types` lack `code` gets `unsupported_response_type`.
    let weak = authorize(&fake, &id, "openid", "abc");
    assert_eq!(param(&weak, "error").as_deref(), Some("invalid_state"));
    let implicit = iam
        .oauth2_client()
        .create(
            json!({"grant_types": ["authorization_code"], "response_types": ["token"], "redirect_uris": [REDIRECT]}),
        )
        .await
        .unwrap();
    let refused = authorize(&fake, &implicit.client_id, "openid", "state-123456789");
    assert_eq!(param(&refused, "error").as_deref(), Some("unsupported_response_type"));
    assert_eq!(
        fake.follow("customer", "https://elsewhere.test/oauth2/auth?login_verifier=x").unwrap_err().kind(),
        ErrorKind::Validation
    );
}

//! A real authorization-code flow against the stack's Hydra, for the integration tests.
//! Include with `#[path = "support/hydra_flow.rs"] mod hydra_flow;` (after `mod common;`).

#![allow(dead_code)]

use crate::common;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ory_iam::dto::AuthorizationCodeGrant;
use ory_iam::{Iam, Secret};
use serde_json::json;
use sha2::Digest;

/// The HTTP client that plays the browser: redirects are not followed (each is a [`step`]),
/// and no connection is reused (a reused idle connection the server already closed would fail
/// the step).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(0).build().unwrap()
}

/// A cookie-carrying GET that does not follow redirects: returns the Location.
pub async fn step(http: &reqwest::Client, url: &str, jar: &mut Vec<(String, String)>) -> String {
    let cookie = jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let r = http.get(url).header("cookie", cookie).send().await.unwrap();
    for sc in r.headers().get_all("set-cookie") {
        let pair = sc.to_str().unwrap().split(';').next().unwrap().to_owned();
        if let Some((k, v)) = pair.split_once('=') {
            jar.retain(|(n, _)| n != k);
            jar.push((k.to_owned(), v.to_owned()));
        }
    }
    assert!(r.status().is_redirection(), "{url} answered {}", r.status());
    r.headers()["location"].to_str().unwrap().to_owned()
}

pub fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} in {url}"))
}

/// A real authorization-code flow (PKCE, login and consent accepted for `user-1`) for a new
/// client with the given access-token strategy: the token set and the client's credentials.
pub async fn code_flow(iam: &Iam, strategy: &str, audience: &[&str]) -> (ory_iam::dto::TokenSet, String, Secret) {
    let f = code_flow_as(iam, strategy, audience, "user-1", false).await;
    (f.tokens, f.client_id, f.client_secret)
}

/// What [`code_flow_as`] did: the tokens, the client, the browser's cookies at Hydra and the
/// Hydra login session id.
pub struct Flow {
    pub tokens: ory_iam::dto::TokenSet,
    pub client_id: String,
    pub client_secret: Secret,
    pub jar: Vec<(String, String)>,
    pub auth_url: String,
    pub login_session_id: Option<String>,
}

/// [`code_flow`] for `subject`; `remember` makes Hydra remember the login and the consent.
pub async fn code_flow_as(iam: &Iam, strategy: &str, audience: &[&str], subject: &str, remember: bool) -> Flow {
    let stack = common::stack();
    let redirect = format!("{}callback", stack["helper"]["base_url"].as_str().unwrap());
    let client = iam
        .oauth2_client()
        .create(json!({
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code", "id_token"],
            "redirect_uris": [redirect],
            "scope": "openid offline_access read",
            "audience": audience,
            "access_token_strategy": strategy,
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
        .append_pair("scope", "openid offline_access read")
        .append_pair("state", "state-123456789")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if !audience.is_empty() {
        auth.query_pairs_mut().append_pair("audience", &audience.join(" "));
    }
    let http = browser();
    let mut jar = Vec::new();
    let consent = iam.consent();
    let to_login = step(&http, auth.as_str(), &mut jar).await;
    let login_challenge = query_param(&to_login, "login_challenge");
    let login = consent.get_login_request(&login_challenge).await.unwrap();
    let next = consent
        .accept_login_request(&login_challenge, json!({"subject": subject, "remember": remember, "remember_for": 0}))
        .await
        .unwrap();
    let to_consent = step(&http, &next.redirect_to, &mut jar).await;
    let consent_challenge = query_param(&to_consent, "consent_challenge");
    let c = consent.get_consent_request(&consent_challenge).await.unwrap();
    let next = consent
        .accept_consent_request(
            &consent_challenge,
            json!({"grant_scope": c.requested_scope, "grant_access_token_audience": c.requested_access_token_audience, "remember": remember, "remember_for": 0, "session": {"id_token": {"email": format!("{subject}@example.test")}}}),
        )
        .await
        .unwrap();
    let back = step(&http, &next.redirect_to, &mut jar).await;
    let code = query_param(&back, "code");
    let tokens = iam
        .token()
        .authorization_code(AuthorizationCodeGrant {
            code: Secret::new(code),
            redirect_uri: redirect,
            client_id: Some(client.client_id.clone()),
            client_secret: Some(secret.clone()),
            code_verifier: Some(Secret::new(verifier)),
        })
        .await
        .unwrap();
    Flow {
        tokens,
        client_id: client.client_id,
        client_secret: secret,
        jar,
        auth_url: auth.to_string(),
        login_session_id: login.session_id.or(c.session_id),
    }
}

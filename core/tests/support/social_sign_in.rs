//! The browser part of a social sign-in against the stack: Kratos's OpenID Connect provider is
//! the stack's own Hydra (tests/stack/kratos.yml.tmpl); the test accepts Hydra's login and
//! consent itself, like a login UI would, and follows the redirects back through Kratos.
//! Include with `#[path = "support/social_sign_in.rs"] mod social_sign_in;` (after `mod common;`).

#![allow(dead_code)]

#[path = "hydra_flow.rs"]
mod hydra_flow;

use hydra_flow::{query_param, step};
use ory_iam::Iam;
use serde_json::json;

/// Follow `redirect_browser_to` (what Kratos answered to `{"method": "oidc", "provider":
/// "hydra"}`) as a browser would, signing in at Hydra as `email`: the URL Kratos sends the
/// browser to at the end (the flow's `return_to`, with `?code=` for a token exchange).
pub async fn browser_leg(iam: &Iam, redirect_browser_to: &str, email: &str) -> String {
    let http = hydra_flow::browser();
    let mut jar = Vec::new();
    let consent = iam.consent();
    let to_login = step(&http, redirect_browser_to, &mut jar).await;
    let login_challenge = query_param(&to_login, "login_challenge");
    let next = consent.accept_login_request(&login_challenge, json!({"subject": email})).await.unwrap();
    let to_consent = step(&http, &next.redirect_to, &mut jar).await;
    let consent_challenge = query_param(&to_consent, "consent_challenge");
    let c = consent.get_consent_request(&consent_challenge).await.unwrap();
    let next = consent
        .accept_consent_request(
            &consent_challenge,
            json!({"grant_scope": c.requested_scope, "session": {"id_token": {"email": email}}}),
        )
        .await
        .unwrap();
    let to_kratos = step(&http, &next.redirect_to, &mut jar).await;
    step(&http, &to_kratos, &mut jar).await
}

pub use hydra_flow::query_param as param;

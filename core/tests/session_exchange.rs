//! `flow.exchange_session_token` (issue 25, Kratos `exchangeSessionToken`): a native app's
//! sign-in that continues in a browser (social sign-in with the stack's Hydra as the OpenID
//! Connect provider) ends with a session token for the app, against the real servers.

mod common;
#[path = "support/social_sign_in.rs"]
mod social_sign_in;

use ory_iam::dto::{FlowKind, FlowResult, FlowType, InitiateFlow};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam, Secret};
use serde_json::json;

fn iam() -> Iam {
    Iam::from_value(&common::iam_config()).unwrap()
}

fn return_to() -> String {
    format!("{}app-callback", common::stack()["helper"]["base_url"].as_str().unwrap())
}

/// A native registration started for a token exchange, submitted with the Hydra provider: the
/// flow (with the first code) and where Kratos sends the browser.
async fn social_registration(iam: &Iam) -> (ory_iam::dto::Flow, String) {
    let opts = InitiateFlow {
        return_to: Some(return_to()),
        return_session_token_exchange_code: Some(true),
        ..Default::default()
    };
    let flow = iam.flow().initiate_registration(opts).await.unwrap();
    assert!(flow.session_token_exchange_code.is_some(), "asked for, so Kratos returns the first code");
    let body = json!({"method": "oidc", "provider": "hydra"});
    match iam.flow().submit(FlowKind::Registration, &flow.id, body, Default::default()).await.unwrap() {
        FlowResult::Redirect { redirect_browser_to, .. } => (flow, redirect_browser_to),
        other => panic!("expected a browser redirect, got {other:?}"),
    }
}

#[tokio::test]
async fn a_social_sign_in_ends_with_a_session_token_for_the_app() {
    let iam = iam();
    let email = common::unique_email("social");
    let (flow, browser) = social_registration(&iam).await;
    let init = flow.session_token_exchange_code.clone().unwrap();
    assert!(!format!("{flow:?}").contains(init.expose()), "the code is a secret in Debug");

    // Before the browser part is done there is nothing to exchange.
    let early = iam.flow().exchange_session_token(&init, &Secret::new("not-yet-a-code-0123456789")).await;
    assert_eq!(early.unwrap_err().kind(), ErrorKind::NotFound);

    let back = social_sign_in::browser_leg(&iam, &browser, &email).await;
    assert!(back.starts_with(&return_to()), "Kratos sends the browser back to the app: {back}");
    let code = Secret::new(social_sign_in::param(&back, "code"));

    let done = iam.flow().exchange_session_token(&init, &code).await.unwrap();
    let token = done.session_token.clone().expect("a session token for the app");
    let session = done.session.clone().expect("the new session");
    assert_eq!(session.identity.traits.as_ref().unwrap()["email"], json!(email), "the mapper made the email a trait");
    assert_eq!(done.identity.as_ref().map(|i| i.id.as_str()), Some(session.identity.id.as_str()));
    let me = iam.session().whoami(&header_map([("x-session-token", token.expose())])).await.unwrap();
    assert_eq!(me.id, session.id);
    assert!(!format!("{done:?}").contains(token.expose()));

    // Another flow's codes do not combine with this one's.
    let (other, other_browser) = social_registration(&iam).await;
    let other_back = social_sign_in::browser_leg(&iam, &other_browser, &common::unique_email("social-b")).await;
    let other_code = Secret::new(social_sign_in::param(&other_back, "code"));
    let other_init = other.session_token_exchange_code.clone().unwrap();
    for (i, c) in [(&init, &other_code), (&other_init, &code)] {
        assert_eq!(
            iam.flow().exchange_session_token(i, c).await.unwrap_err().kind(),
            ErrorKind::NotFound,
            "crossed codes"
        );
    }
    let theirs = iam.flow().exchange_session_token(&other_init, &other_code).await.unwrap();
    assert_ne!(theirs.session.unwrap().identity.id, session.identity.id);

    iam.flow().perform_native_logout(&token).await.unwrap();
    iam.identity().delete(&session.identity.id).await.unwrap();
}

#[tokio::test]
async fn bad_exchange_input_is_refused_before_any_request() {
    // Kratos is unreachable: anything that got as far as a request would be an outage.
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["kratos"]["public_url"] = json!("http://127.0.0.1:9/");
    let iam = Iam::from_value(&cfg).unwrap();
    let ok = Secret::new("code-0123456789");
    for bad in ["", "has space", "line\r\nbreak", &"x".repeat(513)] {
        for (i, c) in [(Secret::new(bad), ok.clone()), (ok.clone(), Secret::new(bad))] {
            let e = iam.flow().exchange_session_token(&i, &c).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Validation, "{bad:?}");
        }
    }
    let exchange = |kind: Option<FlowType>| InitiateFlow {
        kind,
        return_session_token_exchange_code: Some(true),
        ..Default::default()
    };
    for (k, t) in [
        (FlowKind::Login, Some(FlowType::Browser)),
        (FlowKind::Registration, Some(FlowType::Browser)),
        (FlowKind::Recovery, None),
        (FlowKind::Settings, None),
        (FlowKind::Verification, None),
    ] {
        let e = iam.flow().initiate(k, exchange(t)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation, "{k:?} {t:?}");
    }
}

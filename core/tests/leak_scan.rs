//! The Rust suite's leak scan (issue 8): `common::stack()` installs a tracing subscriber that
//! captures everything the core logs in every integration test binary and scans it for the
//! secrets the tests use (see `support/leak_capture.rs`). This file proves the capture works (a
//! planted probe is found) and runs calls whose logs would carry a secret if redaction failed.

mod common;

use common::leak_capture::{counts, forget_probe, hits, register_secret};
use ory_iam::dto::CreateIdentity;
use ory_iam::{ErrorKind, Iam};
use serde_json::json;

#[test]
fn a_planted_probe_is_detected() {
    common::stack();
    let probe = format!("leak-probe-{}", uuid::Uuid::new_v4().simple());
    register_secret(&probe);
    let (events, leaks) = counts();
    tracing::warn!(target: "ory_iam::probe", value = %probe, "probe");
    tracing::debug!(target: "ory_iam::probe", "session ory_st_{}", "AbCdEf123456");
    let (events_after, leaks_after) = counts();
    assert_eq!(events_after, events + 2, "the subscriber captures every event");
    assert_eq!(leaks_after, leaks + 2, "the probe and the token shape are both found");
    assert!(hits("ory_st_*** and someone@example.test").len() == 1, "masked tokens are not leaks, addresses are");
    forget_probe(leaks);
    println!("leak scan (rust): planted probe detected");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_handled_by_the_core_are_not_logged() {
    let mut cfg = common::iam_config();
    cfg["audit"] = json!({"sink": "log"});
    let iam = Iam::from_value(&cfg).unwrap();
    let email = common::unique_email("rust-leak");
    register_secret(&email);
    let created = iam
        .identity()
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": email, "name": {"first": "Leaky"}}),
            ..Default::default()
        })
        .await
        .unwrap();
    let full = iam.identity().get_with_traits(&created.id).await.unwrap();
    assert_eq!(full.traits.unwrap()["email"], json!(email));
    // A token Kratos refuses: the audit event and the logs must not carry it.
    let token = format!("ory_st_{}", uuid::Uuid::new_v4().simple());
    register_secret(&token);
    let headers = ory_iam::transport::header_map([("authorization", format!("Bearer {token}"))]);
    let e = iam.session().whoami(&headers).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert!(!format!("{e} {e:?}").contains(&token));
    // Kratos refuses a schema violation; its error body quotes the email.
    let e = iam.identity().update_traits(&created.id, json!({"email": email, "shoe_size": 44})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(!format!("{e} {e:?}").contains(&email));
    iam.identity().delete(&created.id).await.unwrap();
    let (events, leaks) = counts();
    println!("leak scan (rust, this binary): {events} events captured, {leaks} leaks");
    assert!(events > 0);
    assert_eq!(leaks, 0);
}

//! IdentityService credentials against real Kratos: public metadata only, deletion, refusals.

mod common;

use ory_iam::dto::CreateIdentity;
use ory_iam::{AuditEvent, ErrorKind, Iam, IamConfig};
use serde_json::json;
use std::sync::Arc;

const PASSWORD: &str = "a-Long-and-unique-passphrase-42";

use common::Collect;

#[tokio::test]
async fn credentials_are_public_metadata_and_deletable_where_allowed() {
    let mut cfg = common::iam_config();
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    let email = common::unique_email("creds");
    let who = iam
        .identity()
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": email}),
            credentials: Some(json!({
                "password": {"config": {"password": PASSWORD}},
                "oidc": {"config": {"providers": [{"provider": "github", "subject": "gh-4242"}]}},
            })),
            ..Default::default()
        })
        .await
        .unwrap();
    let creds = iam.identity().get_credentials(&who.id).await.unwrap();
    let types: Vec<&str> = creds.iter().map(|c| c.credential_type.as_str()).collect();
    assert_eq!(types, vec!["oidc", "password"]);
    let oidc = &creds[0];
    assert_eq!(oidc.providers, vec!["github"]);
    assert_eq!(oidc.identifiers, vec!["github:gh-4242"]);
    assert_eq!(creds[1].identifiers, vec![email.clone()]);
    let dump = serde_json::to_string(&creds).unwrap() + &format!("{creds:?}");
    assert!(
        !dump.contains("$2a$") && !dump.contains("hashed_password") && !dump.contains(PASSWORD),
        "no hash or secret"
    );
    assert!(!format!("{creds:?}").contains(&email), "Debug hides identifiers");
    // get_with_traits never carries credentials either.
    let full = serde_json::to_string(&iam.identity().get_with_traits(&who.id).await.unwrap()).unwrap();
    assert!(!full.contains("$2a$"));

    // Kratos v1.3.1 refuses to delete a first factor: a typed error naming the type.
    let e = iam.identity().delete_credential(&who.id, "password", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(e.fields()[0].path, "type");
    assert_eq!(e.status(), Some(400));
    iam.identity().delete_credential(&who.id, "oidc", Some("github:gh-4242")).await.unwrap();
    let left: Vec<String> =
        iam.identity().get_credentials(&who.id).await.unwrap().into_iter().map(|c| c.credential_type).collect();
    assert_eq!(left, vec!["password"]);
    assert_eq!(
        iam.identity().delete_credential(&who.id, "carrier-pigeon", None).await.unwrap_err().kind(),
        ErrorKind::Validation
    );
    // Another tenant cannot read them.
    assert_eq!(
        iam.identity().for_tenant("admin").unwrap().get_credentials(&who.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let events = sink.0.lock().unwrap().clone();
    let deletes: Vec<&AuditEvent> = events.iter().filter(|e| e.name == "identity.credential.delete").collect();
    assert_eq!(deletes.iter().map(|e| e.result.as_str()).collect::<Vec<_>>(), vec!["failure", "success"]);
    assert!(!serde_json::to_string(&events).unwrap().contains(&email));
    iam.identity().delete(&who.id).await.unwrap();
}

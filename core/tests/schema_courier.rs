//! SchemaService and CourierService against the real Kratos instances.

mod common;

use ory_iam::dto::{CreateIdentity, FlowResult, InitiateFlow, ListCourierMessages, SubmitFlow};
use ory_iam::{ErrorKind, Iam};
use serde_json::json;

fn iam() -> Iam {
    Iam::from_value(&common::iam_config()).unwrap()
}

#[tokio::test]
async fn schemas_per_tenant() {
    let iam = iam();
    let customer: Vec<String> = iam.schema().list().await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(customer, vec!["customer"]);
    let admin = iam.schema().for_tenant("admin").unwrap();
    assert_eq!(admin.list().await.unwrap()[0].id, "admin");
    let s = admin.get("admin").await.unwrap();
    assert!(s.schema["properties"]["traits"]["properties"]["department"].is_object());
    assert_eq!(admin.get("customer").await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(admin.get("").await.unwrap_err().kind(), ErrorKind::Validation);
}

#[tokio::test]
async fn courier_bodies_only_when_asked() {
    let iam = iam();
    let email = common::unique_email("courier");
    let who = iam
        .identity()
        .create(CreateIdentity { schema_id: "customer".into(), traits: json!({"email": email}), ..Default::default() })
        .await
        .unwrap();
    // A recovery flow makes Kratos queue an email with a code (no SMTP server: it stays queued).
    let flow = iam.flow().initiate_recovery(InitiateFlow::default()).await.unwrap();
    let sent = iam
        .flow()
        .submit_recovery(&flow.id, json!({"method": "code", "email": email}), SubmitFlow::default())
        .await
        .unwrap();
    assert!(matches!(sent, FlowResult::Continue { .. }), "the flow moves on to entering the code");

    let courier = iam.courier();
    let page =
        courier.list(ListCourierMessages { recipient: Some(email.clone()), ..Default::default() }).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let m = &page.items[0];
    assert_eq!(m.status, "queued");
    assert!(m.body.is_none(), "bodies are left out by default");
    assert!(!format!("{m:?}").contains(&email), "Debug hides the recipient");

    let with_body = courier
        .list(ListCourierMessages { recipient: Some(email.clone()), include_body: Some(true), ..Default::default() })
        .await
        .unwrap();
    let body = with_body.items[0].body.as_ref().expect("asked for the body");
    assert!(body.expose().chars().filter(|c| c.is_ascii_digit()).count() >= 6, "the recovery code is in the body");
    assert!(!format!("{:?}", with_body.items[0]).contains(body.expose()));

    assert!(courier.get(&m.id, false).await.unwrap().body.is_none());
    assert!(courier.get(&m.id, true).await.unwrap().body.is_some());
    // Messages are per tenant.
    assert_eq!(courier.for_tenant("admin").unwrap().get(&m.id, false).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        courier
            .list(ListCourierMessages { status: Some("lost".into()), ..Default::default() })
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    iam.identity().delete(&who.id).await.unwrap();
}

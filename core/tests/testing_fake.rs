//! `ory_iam::testing::FakeOry`: the in-memory servers answer the library's real code paths the
//! way Kratos, Keto and Hydra do. No servers are involved (the stack file is never read).

use futures::StreamExt;
use ory_iam::dto::{
    AuthenticateOptions, CheckOptions, CreateIdentity, ExpandQuery, ListIdentities, ListSessions, PermissionQuery,
    PermissionTuple, RevokeOptions, Subject,
};
use ory_iam::testing::{FakeClient, FakeOry};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Secret};
use serde_json::json;

fn new_identity(email: &str) -> CreateIdentity {
    CreateIdentity { schema_id: "customer".into(), traits: json!({"email": email}), ..Default::default() }
}

fn bearer(token: &Secret) -> http::HeaderMap {
    header_map([("authorization", format!("Bearer {}", token.expose()))])
}

#[tokio::test]
async fn identity_crud_paging_and_errors() {
    let fake = FakeOry::new(&["customer", "admin"]).unwrap();
    let ids = fake.iam().identity();

    let ada = ids.create(new_identity("Ada@Example.com")).await.unwrap();
    assert_eq!(ada.tenant, "customer");
    assert_eq!(ada.state.as_deref(), Some("active"));
    let full = ids.get_with_traits(&ada.id).await.unwrap();
    assert_eq!(full.traits, Some(json!({"email": "Ada@Example.com"})));
    let addr = full.verifiable_addresses.as_ref().unwrap();
    assert_eq!((addr.len(), addr[0].value.as_str(), addr[0].verified), (1, "ada@example.com", false));
    assert_eq!(full.recovery_addresses.as_ref().unwrap().len(), 1);
    // Like Kratos with the usual schemas: the email is a `password` identifier, no secret shown.
    let creds = ids.get_credentials(&ada.id).await.unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(
        (creds[0].credential_type.as_str(), creds[0].identifiers.clone()),
        ("password", vec!["ada@example.com".to_owned()])
    );
    // `get` is sanitized by the library, whatever the server sends.
    assert!(ids.get(&ada.id).await.unwrap().traits.is_none());

    // Kratos refuses a second identity with the same email identifier (case-insensitively).
    let dup = ids.create(new_identity("ada@example.com")).await.unwrap_err();
    assert_eq!((dup.kind(), dup.status()), (ErrorKind::Conflict, Some(409)));

    let verified = ids
        .create(CreateIdentity {
            verified_addresses: Some(vec!["grace@example.com".into()]),
            ..new_identity("grace@example.com")
        })
        .await
        .unwrap();
    let v = ids.get_with_traits(&verified.id).await.unwrap();
    assert!(v.verifiable_addresses.unwrap()[0].verified);

    // Update and patch go through Kratos's JSON Patch; a change to a taken email conflicts.
    let upd = ids.update_traits(&ada.id, json!({"email": "ada@lovelace.org", "name": {"first": "Ada"}})).await.unwrap();
    assert_eq!(upd.traits.unwrap()["name"]["first"], "Ada");
    let e = ids.update_traits(&ada.id, json!({"email": "grace@example.com"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let patched =
        ids.patch(&ada.id, json!([{"op": "add", "path": "/metadata_public/plan", "value": "pro"}])).await.unwrap();
    assert_eq!(patched.metadata_public, Some(json!({"plan": "pro"})));

    // Paging: Kratos's `Link` header is followed by the real auto-pager.
    for i in 0..5 {
        ids.create(new_identity(&format!("user{i}@example.com"))).await.unwrap();
    }
    let first = ids.list(ListIdentities { page_size: Some(3), ..Default::default() }).await.unwrap();
    assert_eq!(first.items.len(), 3);
    assert!(first.next_page_token.is_some());
    let all: Vec<_> = ids.list_all(Some(2)).map(|r| r.unwrap().id).collect().await;
    assert_eq!(all.len(), 7);
    let unique: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), 7);
    assert_eq!(fake.requests()["kratos-admin GET admin/identities"], 5, "1 page of 3, then 4 pages of 2");

    // Tenants are separate servers.
    let other = ids.for_tenant("admin").unwrap();
    assert_eq!(other.get(&ada.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    // Each tenant's Kratos has its own schemas (by default: `default` and the tenant's name).
    assert!(other
        .create(CreateIdentity { schema_id: "admin".into(), ..new_identity("ada@lovelace.org") })
        .await
        .is_ok());

    ids.delete(&ada.id).await.unwrap();
    let gone = ids.get(&ada.id).await.unwrap_err();
    assert_eq!((gone.kind(), gone.status()), (ErrorKind::NotFound, Some(404)));
    assert_eq!(ids.delete(&ada.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn sessions_whoami_revoke_expire() {
    let fake = FakeOry::new(&["customer", "admin"]).unwrap();
    let iam = fake.iam();
    let ada = iam.identity().create(new_identity("ada@example.com")).await.unwrap();
    let cred = fake.create_session("customer", &ada.id).unwrap();
    assert!(!format!("{cred:?}").contains(cred.token.expose()), "the token never shows in Debug");

    let via_bearer = iam.session().whoami(&cred.bearer_headers()).await.unwrap();
    let via_cookie = iam.session().whoami(&cred.cookie_headers()).await.unwrap();
    let via_header = iam.session().whoami(&header_map([("x-session-token", cred.token.expose())])).await.unwrap();
    for s in [&via_bearer, &via_cookie, &via_header] {
        assert_eq!(
            (s.id.as_str(), s.identity.id.as_str(), s.tenant.as_str()),
            (cred.session_id.as_str(), ada.id.as_str(), "customer")
        );
        assert!(s.active);
    }
    assert_eq!(via_bearer.identity.traits, Some(json!({"email": "ada@example.com"})));

    // Unknown token: rejected by Kratos → None / unauthorized. No credential at all likewise.
    let bad = bearer(&Secret::new("ory_st_not-a-session"));
    assert!(iam.session().whoami_or_null(&bad).await.unwrap().is_none());
    assert_eq!(iam.session().whoami(&bad).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert!(iam.session().whoami_or_null(&http::HeaderMap::new()).await.unwrap().is_none());
    // A session of one tenant is not one of another.
    let cross = iam.session().for_tenant("admin").unwrap().whoami(&cred.bearer_headers()).await.unwrap_err();
    assert_eq!(cross.kind(), ErrorKind::Unauthorized);

    let sessions = iam.identity().list_sessions(&ada.id, ListSessions::default()).await.unwrap();
    assert_eq!(sessions.items.len(), 1);
    let extended = iam.identity().extend_session(&cred.session_id).await.unwrap();
    assert_eq!(extended.id, cred.session_id);

    // Revoking through the normal API: whoami fails afterwards (the cache is evicted too).
    iam.session().revoke(&cred.session_id).await.unwrap();
    assert_eq!(iam.session().whoami(&cred.bearer_headers()).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    let inactive = iam
        .identity()
        .list_sessions(&ada.id, ListSessions { active: Some(false), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(inactive.items.len(), 1);
    assert!(!inactive.items[0].active);

    // Expiry, with a warm session cache in front: the fake evicts, so whoami sees it.
    let second = fake.create_session("customer", &ada.id).unwrap();
    assert!(!iam.session().whoami(&second.bearer_headers()).await.unwrap().cache_hit);
    assert!(iam.session().whoami(&second.bearer_headers()).await.unwrap().cache_hit);
    fake.expire_session("customer", &second.session_id).await.unwrap();
    assert_eq!(iam.session().whoami(&second.cookie_headers()).await.unwrap_err().kind(), ErrorKind::Unauthorized);

    // A disabled identity's sessions stop working, as in Kratos.
    let third = fake.create_session("customer", &ada.id).unwrap();
    iam.identity().patch(&ada.id, json!([{"op": "replace", "path": "/state", "value": "inactive"}])).await.unwrap();
    assert_eq!(iam.session().whoami(&third.bearer_headers()).await.unwrap_err().kind(), ErrorKind::Unauthorized);

    // Deleting the identity removes its sessions; sessions need an existing identity.
    assert_eq!(fake.create_session("customer", uuid_like()).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(fake.create_session("nope", &ada.id).unwrap_err().kind(), ErrorKind::Configuration);
    assert!(fake.requests()["kratos-public GET sessions/whoami"] >= 6);
}

fn uuid_like() -> &'static str {
    "6f1c3c2e-8d55-4b1e-9f0a-3d2b1c0e9a77"
}

#[tokio::test]
async fn permissions_grant_check_list_expand_revoke() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let perms = fake.iam().permission();
    let doc = PermissionTuple::new("documents", "readme", "view", "alice");
    assert!(!perms.check(&doc, CheckOptions::default()).await.unwrap());
    perms.grant(&doc).await.unwrap();
    perms.grant(&doc).await.unwrap(); // idempotent
    assert!(perms.check(&doc, CheckOptions::default()).await.unwrap());
    assert!(!perms
        .check(&PermissionTuple::new("documents", "readme", "view", "bob"), CheckOptions::default())
        .await
        .unwrap());

    // Subject sets: members of groups:admins may edit.
    perms
        .grant(&PermissionTuple::with_subject(
            "documents",
            "readme",
            "edit",
            Subject::set("groups", "admins", "member"),
        ))
        .await
        .unwrap();
    let bob_edits = PermissionTuple::new("documents", "readme", "edit", "bob");
    assert!(!perms.check(&bob_edits, CheckOptions::default()).await.unwrap());
    perms.grant(&PermissionTuple::new("groups", "admins", "member", "bob")).await.unwrap();
    assert!(perms.check(&bob_edits, CheckOptions::default()).await.unwrap());
    assert!(!perms.check(&bob_edits, CheckOptions { max_depth: Some(1), ..Default::default() }).await.unwrap());

    let batch = perms
        .check_batch(&[doc.clone(), bob_edits.clone(), PermissionTuple::new("documents", "x", "view", "alice")])
        .await
        .unwrap();
    assert_eq!(batch.iter().map(|r| r.allowed).collect::<Vec<_>>(), vec![true, true, false]);

    for i in 0..5 {
        perms.grant(&PermissionTuple::new("documents", &format!("doc{i}"), "view", "carol")).await.unwrap();
    }
    let carol = PermissionQuery {
        namespace: "documents".into(),
        subject: Some(Subject::Id("carol".into())),
        page_size: Some(2),
        ..Default::default()
    };
    let page = perms.list(carol.clone()).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.next_page_token.is_some());
    let mut all: Vec<_> = perms.list_all(carol).map(|r| r.unwrap().object).collect().await;
    all.sort(); // Keto lists in the order of its rows' random ids
    assert_eq!(all, vec!["doc0", "doc1", "doc2", "doc3", "doc4"]);

    let tree = perms
        .expand(ExpandQuery {
            namespace: "documents".into(),
            object: "readme".into(),
            relation: "edit".into(),
            max_depth: None,
        })
        .await
        .unwrap();
    assert_eq!(tree.kind, "union");
    let leaves: Vec<_> = tree.children.iter().flat_map(|c| c.children.iter()).filter_map(|l| l.tuple.clone()).collect();
    assert_eq!(leaves.iter().map(|t| t.subject.clone()).collect::<Vec<_>>(), vec![Subject::Id("bob".into())]);

    perms.revoke(&doc).await.unwrap();
    perms.revoke(&doc).await.unwrap(); // idempotent
    assert!(!perms.check(&doc, CheckOptions::default()).await.unwrap());
}

#[tokio::test]
async fn tokens_issue_introspect_authenticate_revoke() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let tokens = fake.iam().token();
    let tok = fake.issue_token("customer", "billing-service", &["invoices.read", "invoices.write"]).unwrap();
    let i = tokens.introspect(&tok).await.unwrap();
    assert!(i.active);
    assert_eq!(
        (i.client_id.as_deref(), i.scope.as_deref()),
        (Some("billing-service"), Some("invoices.read invoices.write"))
    );
    assert!(i.exp.unwrap() > i.iat.unwrap());

    let ok = tokens
        .authenticate(
            &bearer(&tok),
            AuthenticateOptions { required_scope: vec!["invoices.read".into()], ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!((ok.client_id.as_deref(), ok.verified_by.as_str()), (Some("billing-service"), "introspection"));
    let e = tokens
        .authenticate(&bearer(&tok), AuthenticateOptions { required_scope: vec!["admin".into()], ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden);
    let unknown = Secret::new("ory_at_unknown");
    assert!(!tokens.introspect(&unknown).await.unwrap().active);
    assert_eq!(
        tokens.authenticate(&bearer(&unknown), Default::default()).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );

    // Only the client a token was issued to can revoke it (another client's revoke is a no-op).
    let secret = Secret::new("billing-secret");
    let client = FakeClient { client_id: "billing-service".into(), client_secret: Some(secret.clone()), scope: vec![] };
    fake.add_oauth2_client("customer", client).unwrap();
    let own =
        RevokeOptions { client_id: Some("billing-service".into()), client_secret: Some(secret), ..Default::default() };
    tokens.revoke(&tok, own).await.unwrap();
    assert!(!tokens.introspect(&tok).await.unwrap().active);
    assert_eq!(
        tokens.authenticate(&bearer(&tok), Default::default()).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );

    // The client-credentials grant of the tenant's configured client.
    let cc = tokens.client_credentials(Some("reports.read")).await.unwrap();
    assert_eq!(cc.scope.as_deref(), Some("reports.read"));
    assert!(tokens.introspect(&cc.access_token).await.unwrap().active);

    // A registered client: its secret and scopes are enforced by the token endpoint.
    fake.add_oauth2_client(
        "customer",
        FakeClient { client_id: "svc".into(), client_secret: Some(Secret::new("s3cret")), scope: vec!["a".into()] },
    )
    .unwrap();
    let good = RevokeOptions {
        client_id: Some("svc".into()),
        client_secret: Some(Secret::new("s3cret")),
        ..Default::default()
    };
    tokens.revoke(&Secret::new("whatever"), good).await.unwrap();
    let wrong =
        RevokeOptions { client_id: Some("svc".into()), client_secret: Some(Secret::new("nope")), ..Default::default() };
    assert_eq!(tokens.revoke(&Secret::new("whatever"), wrong).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    let clients = fake.iam().oauth2_client().get("svc").await.unwrap();
    assert_eq!(clients.scope.as_deref(), Some("a"));
}

#[tokio::test]
async fn health_is_green() {
    // What is not emulated answers 501: fake_fidelity.rs `what_is_not_emulated_answers_501`.
    let fake = FakeOry::new(&["customer"]).unwrap();
    let h = fake.iam().health().await;
    assert!(h.healthy, "{h:?}");
    assert!(h.warnings.is_empty());
    assert!(FakeOry::new(&[]).is_err());
}

//! IdentityService and MetadataService against the real Kratos instances of `tests/stack`.

mod common;

use futures::StreamExt;
use ory_iam::dto::{CreateIdentity, ListIdentities};
use ory_iam::{AuditEvent, ErrorKind, Iam};
use serde_json::json;
use std::sync::Arc;

fn iam() -> Iam {
    Iam::from_value(&common::iam_config()).expect("stack config is valid")
}

fn customer(email: &str) -> CreateIdentity {
    CreateIdentity {
        schema_id: "customer".into(),
        traits: json!({"email": email, "name": {"first": "Ada"}}),
        ..Default::default()
    }
}

#[tokio::test]
async fn server_versions_match_the_stack() {
    let stack = common::stack();
    let v = iam().metadata().version().await.unwrap();
    println!("servers: kratos {:?}, keto {:?}, hydra {:?}", v.kratos, v.keto, v.hydra);
    assert_eq!(v.tenant, "customer");
    assert_eq!(v.kratos.as_deref(), stack["versions"]["kratos"].as_str());
    assert_eq!(v.keto.as_deref(), stack["versions"]["keto"].as_str());
    assert_eq!(v.hydra.as_deref(), stack["versions"]["hydra"].as_str());
}

#[tokio::test]
async fn create_get_get_with_traits_delete() {
    let iam = iam();
    let ids = iam.identity();
    let email = common::unique_email("rust");
    let created = ids.create(customer(&email)).await.unwrap();
    assert_eq!(created.tenant, "customer");
    assert_eq!(created.schema_id, "customer");
    assert_eq!(created.traits.as_ref().unwrap()["email"], json!(email));

    let plain = ids.get(&created.id).await.unwrap();
    assert_eq!(plain.id, created.id);
    assert!(plain.traits.is_none(), "get() must not carry traits");
    assert!(plain.verifiable_addresses.is_none() && plain.recovery_addresses.is_none());
    assert!(!format!("{plain:?}").contains(&email));

    let full = ids.get_with_traits(&created.id).await.unwrap();
    assert_eq!(full.traits.as_ref().unwrap()["email"], json!(email));
    assert_eq!(full.traits.as_ref().unwrap()["name"]["first"], json!("Ada"));
    assert!(!format!("{full:?}").contains(&email), "Debug must hide traits");

    ids.delete(&created.id).await.unwrap();
    let gone = ids.get(&created.id).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    assert_eq!(gone.status(), Some(404));
    assert_eq!(gone.tenant(), Some("customer"));
    assert!(gone.request_id().is_some());
    assert_eq!(ids.delete(&created.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn tenants_never_see_each_others_identities() {
    let iam = iam();
    let customer_ids = iam.identity().for_tenant("customer").unwrap();
    let admin_ids = iam.identity().for_tenant("admin").unwrap();
    assert_eq!(customer_ids, iam.identity(), "the default tenant is customer");
    assert_ne!(customer_ids, admin_ids);

    let c = customer_ids.create(customer(&common::unique_email("iso"))).await.unwrap();
    let a = admin_ids
        .create(CreateIdentity {
            schema_id: "admin".into(),
            traits: json!({"email": common::unique_email("iso-admin")}),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(a.tenant, "admin");
    assert_eq!(admin_ids.get(&c.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(customer_ids.get(&a.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    // The customer schema does not exist on the admin instance.
    let wrong_schema = admin_ids.create(customer(&common::unique_email("x"))).await.unwrap_err();
    assert_eq!(wrong_schema.kind(), ErrorKind::Validation);
    customer_ids.delete(&c.id).await.unwrap();
    admin_ids.delete(&a.id).await.unwrap();
}

#[tokio::test]
async fn bad_input_is_refused_with_typed_errors() {
    let iam = iam();
    let ids = iam.identity();
    for bad in ["", "not-a-uuid", "9f425a8d7efc47688f237647a74fdf13x"] {
        let e = ids.get(bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert_eq!(e.fields()[0].path, "id");
        assert_eq!(e.status(), None, "refused locally, no request sent");
    }
    let e =
        ids.create(CreateIdentity { schema_id: "".into(), traits: json!({}), ..Default::default() }).await.unwrap_err();
    assert_eq!(e.fields()[0].path, "schema_id");
    // Kratos rejects traits that break the schema: 400 → validation; the value is not echoed.
    let e = ids
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": "not-an-email-SECRETVALUE"}),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(e.status(), Some(400));
    assert!(!e.to_string().contains("SECRETVALUE") && !format!("{e:?}").contains("SECRETVALUE"));
    // Unknown tenant: at the call.
    assert_eq!(ids.for_tenant("nope").unwrap_err().kind(), ErrorKind::Configuration);
    let dup_email = common::unique_email("dup");
    let first = ids.create(customer(&dup_email)).await.unwrap();
    assert_eq!(ids.create(customer(&dup_email)).await.unwrap_err().kind(), ErrorKind::Conflict);
    ids.delete(&first.id).await.unwrap();
}

#[tokio::test]
async fn admin_operations_without_admin_url_are_configuration_errors() {
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["kratos"].as_object_mut().unwrap().remove("admin_url");
    let iam = Iam::from_value(&cfg).unwrap();
    let e = iam.identity().get("9f425a8d-7efc-4768-8f23-7647a74fdf13").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.message().contains("kratos.admin_url"));
}

#[tokio::test]
async fn list_pages_and_auto_pages() {
    let iam = iam();
    let ids = iam.identity().for_tenant("admin").unwrap();
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(
            ids.create(CreateIdentity {
                schema_id: "admin".into(),
                traits: json!({"email": common::unique_email("page")}),
                ..Default::default()
            })
            .await
            .unwrap()
            .id,
        );
    }
    let first = ids.list(ListIdentities { page_size: Some(1), ..Default::default() }).await.unwrap();
    assert_eq!(first.items.len(), 1);
    assert!(first.items[0].traits.is_none(), "list is sanitized");
    assert!(first.next_page_token.is_some());
    let all: Vec<String> = ids.list_all(Some(1)).map(|r| r.unwrap().id).collect().await;
    for id in &made {
        assert!(all.contains(id), "auto-paging reaches every identity");
    }
    assert_eq!(
        ids.list(ListIdentities { page_size: Some(0), ..Default::default() }).await.unwrap_err().kind(),
        ErrorKind::Validation
    );
    for id in made {
        ids.delete(&id).await.unwrap();
    }
}

use common::Collect;

#[tokio::test]
async fn delete_is_audited_without_personal_data() {
    let mut cfg = common::iam_config();
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(Collect::default());
    let iam = Iam::builder(ory_iam::IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    let email = common::unique_email("audit");
    let created = iam.identity().create(customer(&email)).await.unwrap();
    iam.identity().delete(&created.id).await.unwrap();
    let events = sink.0.lock().unwrap().clone();
    let del: Vec<&AuditEvent> = events.iter().filter(|e| e.name == "identity.delete").collect();
    assert_eq!(del.len(), 1);
    assert_eq!(del[0].target_id.as_deref(), Some(created.id.as_str()));
    assert_eq!(del[0].tenant, "customer");
    assert_eq!(del[0].result, "success");
    assert!(del[0].request_id.is_some());
    assert!(!serde_json::to_string(&events).unwrap().contains(&email));
}

#[tokio::test]
async fn health_names_tenants_and_products_only() {
    let h = iam().health().await;
    assert!(h.healthy, "{h:?}");
    let s = serde_json::to_string(&h).unwrap();
    assert!(!s.contains("http://") && !s.contains("127.0.0.1"));
    assert!(h.probes.iter().any(|p| p.tenant == "admin" && p.product == "kratos-admin"));
    assert!(h.warnings.is_empty(), "the stack runs tested versions: {:?}", h.warnings);
}

/// Every enabled cache states how late it may see a change made outside this process; a bound
/// over 5 minutes is also a warning; `bearer_mode: introspect` removes the JWT entry.
#[tokio::test]
async fn health_states_each_caches_staleness_bound() {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = serde_json::json!({"memory": {}});
    cfg["tenants"]["customer"]["cache"] =
        serde_json::json!({"session_ttl_ms": 30_000, "permission_ttl_ms": 600_000, "introspection_ttl_ms": 5_000});
    cfg["tenants"]["customer"]["hydra"]["bearer_mode"] = serde_json::json!("introspect");
    let h = Iam::from_value(&cfg).unwrap().health().await;
    let mut got: Vec<(String, Option<u64>, String)> = h
        .staleness
        .iter()
        .filter(|s| s.tenant == "customer")
        .map(|s| (s.cache.clone(), s.max_stale_ms, s.config_key.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("decisions".into(), Some(600_000), "tenants.customer.cache.permission_ttl_ms".into()),
            ("introspections".into(), Some(5_000), "tenants.customer.cache.introspection_ttl_ms".into()),
            ("sessions".into(), Some(30_000), "tenants.customer.cache.session_ttl_ms".into()),
        ]
    );
    assert_eq!(h.warnings.len(), 1, "only the 10-minute bound warns: {:?}", h.warnings);
    assert!(h.warnings[0].contains("tenants.customer.cache.permission_ttl_ms"));
    // Defaults: nothing cached but JWTs verified locally (valid until `exp` after a revoke).
    let h = iam().health().await;
    assert!(h.staleness.iter().all(|s| s.cache == "jwt" && s.max_stale_ms.is_none()), "{:?}", h.staleness);
    assert!(h.staleness.iter().any(|s| s.tenant == "customer"));
}

#[tokio::test]
async fn update_traits_and_patch_keep_what_they_do_not_touch() {
    let iam = iam();
    let ids = iam.identity();
    let email = common::unique_email("patch");
    let created = ids
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": email}),
            metadata_public: Some(json!({"plan": "pro"})),
            ..Default::default()
        })
        .await
        .unwrap();
    let new_email = common::unique_email("patched");
    let updated = ids.update_traits(&created.id, json!({"email": new_email, "roles": ["editor"]})).await.unwrap();
    assert_eq!(updated.traits.as_ref().unwrap()["roles"], json!(["editor"]));
    assert_eq!(updated.metadata_public, Some(json!({"plan": "pro"})), "update_traits keeps metadata");
    let patched = ids
        .patch(
            &created.id,
            json!([
                {"op": "replace", "path": "/state", "value": "inactive"},
                {"op": "add", "path": "/metadata_admin", "value": {"note": "vip"}},
                {"op": "add", "path": "/traits/roles/-", "value": "admin"},
            ]),
        )
        .await
        .unwrap();
    assert_eq!(patched.state.as_deref(), Some("inactive"));
    assert_eq!(patched.traits.as_ref().unwrap()["roles"], json!(["editor", "admin"]));
    assert_eq!(patched.metadata_admin, Some(json!({"note": "vip"})));
    let e = ids.patch(&created.id, json!([{"op": "remove", "path": "/credentials"}])).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Validation, None));
    ids.delete(&created.id).await.unwrap();
}

/// Kratos v1.3.1 links a next page from every offset-paged session list, even an empty one:
/// the auto-pager must still end.
#[tokio::test]
async fn list_sessions_all_ends_on_the_real_server() {
    let iam = Iam::from_value(&common::iam_config()).unwrap();
    let (id, _token) = common::native_session(&iam, "customer").await;
    let walk = iam.identity().list_sessions_all(&id, None).collect::<Vec<_>>();
    let all = tokio::time::timeout(std::time::Duration::from_secs(10), walk).await.expect("the walk ends");
    assert_eq!(all.len(), 1, "the registration's session");
    assert!(all.into_iter().all(|r| r.is_ok()));
    let other = iam
        .identity()
        .create(
            serde_json::from_value(
                json!({"schema_id": "customer", "traits": {"email": common::unique_email("nosess")}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let none = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        iam.identity().list_sessions_all(&other.id, None).collect::<Vec<_>>(),
    )
    .await
    .expect("the walk ends");
    assert!(none.is_empty());
    iam.identity().delete(&id).await.unwrap();
    iam.identity().delete(&other.id).await.unwrap();
}

#[tokio::test]
async fn sdk_fields_address_objects_and_list_filters() {
    use ory_iam::dto::AddressInput;
    let iam = iam();
    let ids = iam.identity();
    let email = common::unique_email("sdk");
    let created = ids
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": email}),
            credentials: Some(json!({"password": {"config": {"password": "a-Long-and-unique-passphrase-42"}}})),
            verifiable_addresses: Some(vec![AddressInput {
                value: email.clone(),
                via: Some("email".into()),
                verified: Some(true),
                status: Some("completed".into()),
            }]),
            recovery_addresses: Some(vec![AddressInput { value: email.clone(), ..Default::default() }]),
            ..Default::default()
        })
        .await
        .unwrap();
    let full = ids.get_with_traits(&created.id).await.unwrap();
    assert!(full.state_changed_at.is_some(), "state_changed_at");
    assert!(full.schema_url.as_deref().is_some_and(|u| u.contains("/schemas/")), "schema_url");
    let v = &full.verifiable_addresses.as_ref().unwrap()[0];
    assert!(v.verified && v.status == "completed", "the address object's verified/status were kept");
    assert!(v.verified_at.is_some() && v.created_at.is_some() && v.updated_at.is_some());
    let r = &full.recovery_addresses.as_ref().unwrap()[0];
    assert!(r.created_at.is_some() && r.updated_at.is_some());

    // Find by email without paging through everyone.
    let other = ids.create(customer(&common::unique_email("sdk-other"))).await.unwrap();
    let found =
        ids.list(ListIdentities { credentials_identifier: Some(email.clone()), ..Default::default() }).await.unwrap();
    assert_eq!(found.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), [created.id.as_str()]);
    assert!(found.items[0].traits.is_none(), "sanitized like get");
    // Kratos's offset paging (the contract's page / per_page) next to page tokens.
    let page = |n| ids.list(ListIdentities { page: Some(n), per_page: Some(1), ..Default::default() });
    let (first, second) = (page(0).await.unwrap(), page(1).await.unwrap());
    assert_eq!((first.items.len(), second.items.len()), (1, 1));
    assert_ne!(first.items[0].id, second.items[0].id);
    let mixed = ListIdentities { page: Some(0), page_size: Some(1), ..Default::default() };
    assert_eq!(ids.list(mixed).await.unwrap_err().kind(), ErrorKind::Validation);
    let by_ids = ids.list(ListIdentities { ids: Some(vec![other.id.clone()]), ..Default::default() }).await.unwrap();
    assert_eq!(by_ids.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), [other.id.as_str()]);
    let similar = ids
        .list(ListIdentities { preview_credentials_identifier_similar: Some(email.clone()), ..Default::default() })
        .await
        .unwrap();
    assert!(similar.items.iter().any(|i| i.id == created.id), "the pinned Kratos serves the similar filter");
    let bad = ids
        .list(ListIdentities { ids: Some(vec![other.id.clone(), "nope".into()]), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!((bad.kind(), bad.fields()[0].path.as_str()), (ErrorKind::Validation, "ids[1]"));
    let bad = ids
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": email}),
            verifiable_addresses: Some(vec![AddressInput {
                value: email.clone(),
                status: Some("done".into()),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.fields()[0].path, "verifiable_addresses[0].status");
    ids.delete(&created.id).await.unwrap();
    ids.delete(&other.id).await.unwrap();
}

#[tokio::test]
async fn schema_violations_name_each_field_without_its_value() {
    let ids = iam().identity();
    let secret = format!("not-an-email-{}", uuid::Uuid::new_v4().simple());
    let e = ids
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": secret, "name": {"first": 5}, "shoe_size": 44}),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Validation, Some(400)));
    let mut got: Vec<(&str, &str)> =
        e.fields().iter().map(|f| (f.path.as_str(), f.pointer.as_deref().unwrap_or(""))).collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("traits.email", "/traits/email"),
            ("traits.name.first", "/traits/name/first"),
            ("traits.shoe_size", "/traits/shoe_size")
        ]
    );
    assert!(e.fields().iter().all(|f| !f.reason.is_empty() && f.message_id.is_none()));
    let all = format!("{e} {e:?} {}", e.to_json());
    assert!(!all.contains(&secret), "the submitted value never appears");

    // A missing required trait points at the trait; the same through update_traits and patch.
    let created = ids.create(customer(&common::unique_email("viol"))).await.unwrap();
    let e = ids.update_traits(&created.id, json!({"name": {"first": "x"}})).await.unwrap_err();
    assert_eq!(e.fields().iter().map(|f| f.pointer.as_deref().unwrap()).collect::<Vec<_>>(), ["/traits/email"]);
    let e =
        ids.patch(&created.id, json!([{"op": "replace", "path": "/traits/email", "value": secret}])).await.unwrap_err();
    assert_eq!(e.fields().iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["traits.email"]);
    assert!(!format!("{e:?} {}", e.to_json()).contains(&secret));
    ids.delete(&created.id).await.unwrap();
}

//! A cloud tenant end to end through one Ory Network project host: `tests/network/emulator.py`
//! in front of the stack's Kratos, Keto and Hydra, strict to the Network API document (only its
//! operations are routed; the project API key is enforced exactly where `oryAccessToken` is
//! required; the session cookie is `ory_session_<slug without dashes>`). Every service of the
//! tenant, `health()` and `version()`, a wrong key, and what the host saw of the key.

mod common;
#[path = "support/ory_network.rs"]
mod ory_network;

use ory_iam::dto::{
    CheckOptions, CreateIdentity, CreateJwkSet, FlowResult, FlowType, InitiateFlow, ListIdentities, PermissionQuery,
    PermissionTuple, SubmitFlow, UnknownVersion,
};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam, Secret};
use ory_network::{assert_key_discipline, OryNetwork};
use serde_json::json;

const PASSWORD: &str = "a-Long-and-unique-passphrase-42";

fn cookie_header(set_cookie: &[Secret]) -> String {
    set_cookie
        .iter()
        .filter_map(|sc| sc.expose().split(';').next().map(str::to_owned))
        .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn every_service_of_a_cloud_tenant_through_one_project_host() {
    let stack = common::stack();
    let net = OryNetwork::start();
    let iam = Iam::from_value(&net.config(&net.key, None)).unwrap();

    // Identities (admin API, with the key).
    let email = common::unique_email("cloud");
    let created = iam
        .identity()
        .create(CreateIdentity { schema_id: "customer".into(), traits: json!({"email": email}), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(iam.identity().get(&created.id).await.unwrap().id, created.id);
    let page = iam.identity().list(ListIdentities { page_size: Some(1), ..Default::default() }).await.unwrap();
    assert_eq!(page.items.len(), 1);

    // Sessions: a browser registration; the project's cookie carries the session, and the
    // cookie transport finds it under the name derived from the slug.
    let flows = iam.flow();
    let flow = flows
        .initiate_registration(InitiateFlow { kind: Some(FlowType::Browser), ..Default::default() })
        .await
        .unwrap();
    let user = common::unique_email("cloud-browser");
    let reg = match flows
        .submit_registration(
            &flow.id,
            json!({"method": "password", "password": PASSWORD, "traits": {"email": user}}),
            SubmitFlow {
                cookie: Some(Secret::new(cookie_header(&flow.set_cookie))),
                csrf_token: flow.csrf_token.clone(),
                session_token: None,
            },
        )
        .await
        .unwrap()
    {
        FlowResult::Success(s) => s,
        other => panic!("expected success, got {other:?}"),
    };
    let cookie = cookie_header(&reg.set_cookie);
    let session_pair = cookie.split("; ").find(|c| c.starts_with(&format!("{}=", net.cookie_name)));
    let session_pair = session_pair.expect("the project's session cookie is set").to_owned();
    common::leak_capture::register_secret(session_pair.split_once('=').unwrap().1);
    let req = header_map([("cookie", cookie.clone())]);
    let session = iam.session().whoami(&req).await.unwrap();
    assert_eq!(session.identity.traits.as_ref().unwrap()["email"], json!(user));
    // Kratos's self-hosted name means nothing to the project host.
    let value = session_pair.split_once('=').unwrap().1;
    let self_hosted = header_map([("cookie", format!("ory_kratos_session={value}"))]);
    let mut old = net.config(&net.key, None);
    old["tenants"]["cloud"]["kratos"]["session_cookie_name"] = json!("ory_kratos_session");
    let overridden = Iam::from_value(&old).unwrap();
    assert_eq!(overridden.session().whoami(&self_hosted).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    let sessions = iam.identity().list_sessions(&session.identity.id, Default::default()).await.unwrap();
    assert!(!sessions.items.is_empty());

    // Permissions (Keto read and write, with the key).
    let doc = format!("doc-{}", uuid::Uuid::new_v4().simple());
    let tuple = PermissionTuple::new("documents", &doc, "view", "alice");
    let p = iam.permission();
    p.grant(&tuple).await.unwrap();
    assert!(p.check(&tuple, CheckOptions::default()).await.unwrap());
    let batch = p.check_batch(&[tuple.clone(), PermissionTuple::new("documents", &doc, "view", "bob")]).await.unwrap();
    assert_eq!(batch.iter().map(|r| r.allowed).collect::<Vec<_>>(), vec![true, false]);
    let listed = p
        .list(PermissionQuery { namespace: "documents".into(), object: Some(doc.clone()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    p.revoke(&tuple).await.unwrap();
    assert!(!p.check(&tuple, CheckOptions::default()).await.unwrap());

    // OAuth2 clients (Hydra admin) and tokens (Hydra public + introspection).
    let client =
        iam.oauth2_client().create(json!({"grant_types": ["client_credentials"], "scope": "read"})).await.unwrap();
    assert_eq!(iam.oauth2_client().get(&client.client_id).await.unwrap().client_id, client.client_id);
    let secret = client.client_secret.clone().unwrap();
    let with_client = Iam::from_value(&net.config(&net.key, Some((&client.client_id, secret.expose())))).unwrap();
    let tokens = with_client.token().client_credentials(Some("read")).await.unwrap();
    assert!(with_client.token().introspect(&tokens.access_token).await.unwrap().active);
    let bearer = header_map([("authorization", format!("Bearer {}", tokens.access_token.expose()))]);
    let principal = with_client.token().authenticate(&bearer, Default::default()).await.unwrap();
    assert_eq!(principal.client_id.as_deref(), Some(client.client_id.as_str()));
    with_client.token().revoke(&tokens.access_token, Default::default()).await.unwrap();
    assert!(!with_client.token().introspect(&tokens.access_token).await.unwrap().active);

    // JWKs (Hydra admin) and the published keys (Hydra public, no key).
    let set = format!("ory-iam-cloud-{}", uuid::Uuid::new_v4().simple());
    let keys = iam.jwk().create_set(&set, CreateJwkSet { alg: "ES256".into(), use_: "sig".into(), kid: None }).await;
    assert_eq!(keys.unwrap().keys.len(), 1);
    assert_eq!(iam.jwk().get_set(&set).await.unwrap().keys.len(), 1);
    iam.jwk().delete_set(&set).await.unwrap();
    assert!(!iam.metadata().discover_jwks().await.unwrap().keys.is_empty());

    // Schemas (Kratos public, no key).
    assert!(iam.schema().list().await.unwrap().iter().any(|s| s.id == "customer"));
    assert_eq!(iam.schema().get("customer").await.unwrap().id, "customer");

    // version(): Kratos's from the one documented operation; Keto's and Hydra's unknown, said so.
    let v = iam.metadata().version().await.unwrap();
    assert_eq!(v.kratos.as_deref(), stack["versions"]["kratos"].as_str());
    assert_eq!((v.keto.as_deref(), v.hydra.as_deref()), (None, None), "not Kratos's version copied");
    let unknown: Vec<(&str, &str)> = v.unknown.iter().map(|u| (u.product.as_str(), u.reason.as_str())).collect();
    assert_eq!(
        unknown,
        vec![
            ("keto", UnknownVersion::NOT_PUBLISHED_BY_ORY_NETWORK),
            ("hydra", UnknownVersion::NOT_PUBLISHED_BY_ORY_NETWORK)
        ]
    );

    // health(): only documented operations, all healthy, no false version warnings.
    let h = iam.health().await;
    assert!(h.healthy, "{h:?}");
    let products: Vec<&str> = h.probes.iter().map(|p| p.product.as_str()).collect();
    assert_eq!(products, vec!["kratos-public", "kratos-admin", "keto-read", "hydra-public", "hydra-admin"]);
    assert!(!h.warnings.iter().any(|w| w.contains("major version")), "{:?}", h.warnings);

    iam.oauth2_client().delete(&client.client_id).await.unwrap();
    iam.identity().delete(&created.id).await.unwrap();
    iam.identity().delete(&session.identity.id).await.unwrap();

    // What the host saw: documented operations only, the key only in Authorization and only
    // where the document requires it, and never refused.
    let seen = net.requests();
    assert_key_discipline(&seen);
    for op in ["getVersion", "listIdentitySchemas", "discoverOidcConfiguration", "listRelationshipNamespaces"] {
        assert!(seen.iter().any(|r| r["operation"] == op), "health/version used {op}");
    }
    let refused: Vec<_> = seen.iter().filter(|r| r["status"] == 401 || r["status"] == 404).collect();
    // The one expected refusal: whoami with Kratos's self-hosted cookie name.
    assert_eq!(refused.iter().map(|r| &r["operation"]).collect::<Vec<_>>(), vec!["toSession"], "{refused:?}");
}

#[tokio::test]
async fn a_wrong_project_key_is_unauthorized_and_never_echoed() {
    common::stack();
    let net = OryNetwork::start();
    let wrong = format!("ory_pat_wrong_{}", uuid::Uuid::new_v4().simple());
    common::leak_capture::register_secret(&wrong);
    let iam = Iam::from_value(&net.config(&wrong, None)).unwrap();

    let e = iam.identity().get("00000000-0000-0000-0000-000000000000").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert_eq!(e.code(), "unauthorized");
    for text in [format!("{e}"), format!("{e:?}")] {
        assert!(!text.contains(&wrong), "the key is echoed: {text}");
    }
    let t = PermissionTuple::new("documents", "d", "view", "alice");
    assert_eq!(iam.permission().check(&t, CheckOptions::default()).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert_eq!(iam.metadata().version().await.unwrap_err().kind(), ErrorKind::Unauthorized);
    // Public operations still answer; every keyed probe reports the 401.
    assert_eq!(iam.schema().get("customer").await.unwrap().id, "customer");
    let h = iam.health().await;
    assert!(!h.healthy);
    for p in &h.probes {
        let keyed = matches!(p.product.as_str(), "kratos-admin" | "keto-read" | "hydra-admin");
        assert_eq!(p.status, Some(if keyed { 401 } else { 200 }), "{p:?}");
    }
    assert!(!format!("{h:?}").contains(&wrong));

    // The wrong key travelled as the right one would have: in Authorization, to keyed
    // operations only (each refused); public operations got no Authorization at all.
    let seen: Vec<serde_json::Value> = net.requests();
    for r in &seen {
        if r["key_required"] == json!(true) {
            assert_eq!((&r["authorization"], &r["status"]), (&json!("other"), &json!(401)), "{r}");
        } else {
            assert_eq!(r["authorization"], json!("none"), "{r}");
        }
    }
    assert_key_discipline(&seen);
}

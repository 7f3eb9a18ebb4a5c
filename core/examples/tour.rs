//! A short tour of ory-iam against the local stack (`tests/stack/up`). Prints what it does.
//!
//! cargo run -p ory-iam --example tour [-- path/to/stack.json]

use ory_iam::dto::{CreateIdentity, FlowResult, PermissionTuple};
use ory_iam::{ErrorKind, Iam};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../.stack/stack.json").to_owned());
    let stack: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;

    println!("1. Build Iam from the stack's config (tenants: customer, admin)");
    let iam = Iam::from_value(&stack["iam_config"])?;
    println!("   {iam:?}");

    println!("2. Health of every tenant × product");
    let h = iam.health().await;
    for p in &h.probes {
        println!("   {:<9} {:<13} {}", p.tenant, p.product, if p.healthy { "ready" } else { "NOT READY" });
    }

    println!("3. Server versions");
    let v = iam.metadata().version().await?;
    println!(
        "   kratos {} · keto {} · hydra {}",
        v.kratos.unwrap_or_default(),
        v.keto.unwrap_or_default(),
        v.hydra.unwrap_or_default()
    );

    let email = format!("tour-{}@example.test", std::process::id());
    println!("4. Create an identity in tenant 'customer'");
    let created = iam
        .identity()
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": email, "name": {"first": "Ada"}}),
            ..Default::default()
        })
        .await?;
    println!("   id {} (schema {})", created.id, created.schema_id);

    println!("5. get() is sanitized; get_with_traits() is not");
    let plain = iam.identity().get(&created.id).await?;
    println!("   get:             traits = {:?}", plain.traits);
    let full = iam.identity().get_with_traits(&created.id).await?;
    println!("   get_with_traits: traits = {}", full.traits.unwrap_or_default());
    println!("   Debug never prints traits: {full:?}", full = iam.identity().get_with_traits(&created.id).await?);

    println!("6. Tenant 'admin' cannot see it");
    match iam.identity().for_tenant("admin")?.get(&created.id).await {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            println!("   admin: {} ({})", e.code(), e.status().unwrap_or_default())
        }
        other => println!("   unexpected: {other:?}"),
    }

    println!("7. Bad input is refused locally with a typed error");
    let e = iam.identity().get("not-a-uuid").await.unwrap_err();
    println!("   {}: {}", e.code(), e);

    println!("8. Delete (audited) and see it gone");
    iam.identity().delete(&created.id).await?;
    let e = iam.identity().get(&created.id).await.unwrap_err();
    println!("   after delete: {} (request {})", e.code(), e.request_id().unwrap_or("-"));

    println!("9. Self-service: native registration, then whoami with the session token");
    let flow = iam.flow().initiate_registration(Default::default()).await?;
    let email = format!("tour-user-{}@example.test", std::process::id());
    let body = json!({"method": "password", "password": "a-Long-and-unique-passphrase-42", "traits": {"email": email}});
    let FlowResult::Success(done) = iam.flow().submit_registration(&flow.id, body, Default::default()).await? else {
        return Err("registration did not complete".into());
    };
    let token = done.session_token.expect("session hook");
    println!("   session token: {token} (a Secret: printed as ***)");
    let req = ory_iam::transport::header_map([("authorization", format!("Bearer {}", token.expose()))]);
    let who = iam.session().whoami(&req).await?;
    println!("   whoami: identity {} via {:?}", who.identity.id, who.authentication_methods);
    iam.flow().perform_native_logout(&token).await?;
    println!("   after logout, whoami_or_null: {:?}", iam.session().whoami_or_null(&req).await?.map(|s| s.id));

    println!("10. Keto: grant, check, revoke");
    let t = PermissionTuple::new("documents", "tour-doc", "view", &who.identity.id);
    iam.permission().grant(&t).await?;
    println!("   allowed after grant: {}", iam.permission().check(&t, Default::default()).await?);
    iam.permission().revoke(&t).await?;
    println!("   allowed after revoke: {}", iam.permission().check(&t, Default::default()).await?);
    iam.identity().delete(&who.identity.id).await?;

    println!("11. Hydra: an OAuth2 client, a client-credentials token, the resource-server check");
    let client = iam.oauth2_client().create(json!({"grant_types": ["client_credentials"], "scope": "read"})).await?;
    let mut cfg = stack["iam_config"].clone();
    cfg["tenants"]["customer"]["hydra"]["client_id"] = json!(client.client_id);
    cfg["tenants"]["customer"]["hydra"]["client_secret"] =
        json!(client.client_secret.clone().map(|s| s.expose().to_owned()));
    let machine = Iam::from_value(&cfg)?;
    let tokens = machine.token().client_credentials(Some("read")).await?;
    let req = ory_iam::transport::header_map([("authorization", format!("Bearer {}", tokens.access_token.expose()))]);
    let p = iam.token().authenticate(&req, Default::default()).await?;
    println!("   principal: client {:?}, scope {:?}, verified by {}", p.client_id, p.scope, p.verified_by);
    iam.oauth2_client().delete(&client.client_id).await?;
    iam.close().await;
    println!("Tour done.");
    Ok(())
}

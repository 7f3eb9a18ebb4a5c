//! A short tour of ory-iam against the local stack (`tests/stack/up`). Prints what it does.
//!
//! cargo run -p ory-iam --example tour [-- path/to/stack.json]

use ory_iam::dto::CreateIdentity;
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
    iam.close().await;
    println!("Tour done.");
    Ok(())
}

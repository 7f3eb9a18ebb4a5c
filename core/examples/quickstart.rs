//! The README's Rust quick start, verbatim (tests/packaging/check.sh keeps them equal).

use ory_iam::dto::{CheckOptions, CreateIdentity, PermissionTuple};

#[tokio::main]
async fn main() -> ory_iam::Result<()> {
    let iam = ory_iam::Iam::from_env()?;
    let email = format!("ada-{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let input: CreateIdentity =
        serde_json::from_value(serde_json::json!({"schema_id": "customer", "traits": {"email": email}})).unwrap();
    let ident = iam.identity().create(input).await?;
    println!("created {} {:?}", ident.id, ident.state);
    let doc = PermissionTuple::new("documents", "readme", "view", &ident.id);
    println!("may view before grant: {}", iam.permission().check(&doc, CheckOptions::default()).await?);
    iam.permission().grant(&doc).await?;
    println!("may view after grant: {}", iam.permission().check(&doc, CheckOptions::default()).await?);
    iam.permission().revoke(&doc).await?;
    iam.identity().delete(&ident.id).await?;
    iam.close().await;
    Ok(())
}

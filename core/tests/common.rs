//! Shared by the integration tests: the real stack started by `tests/stack/up`.

#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

#[path = "support/leak_capture.rs"]
pub mod leak_capture;

/// `.stack/stack.json` written by `tests/stack/up` (or `$ORY_IAM_STACK`).
pub fn stack() -> Value {
    let path = std::env::var_os("ORY_IAM_STACK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.stack/stack.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("the integration tests need the local Ory stack: run `tests/stack/up` first ({}: {e})", path.display())
    });
    let stack: Value = serde_json::from_str(&text).expect("stack.json is JSON");
    // Every test that uses the stack runs under the leak scan of what the core logs.
    leak_capture::install(&stack);
    stack
}

pub fn iam_config() -> Value {
    stack()["iam_config"].clone()
}

/// This process's session-cache key (base64 of 32 random bytes): every Redis config of the
/// tests uses it, so Iam instances of one test binary share entries.
pub fn redis_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        use base64::Engine as _;
        let mut raw = Vec::with_capacity(32);
        raw.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        raw.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        let key = base64::engine::general_purpose::STANDARD.encode(raw);
        leak_capture::register_secret(&key);
        key
    })
}

/// `session_cache` for the stack's Redis (or `url`), with [`redis_key`].
pub fn redis_cache_at(url: &str) -> Value {
    serde_json::json!({"redis": {"url": url, "keys": [redis_key()]}})
}

/// `session_cache` for the stack's Redis, with [`redis_key`].
pub fn redis_cache() -> Value {
    redis_cache_at(stack()["redis"]["url"].as_str().expect("stack.json has redis.url"))
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.test", uuid::Uuid::new_v4().simple())
}

/// An audit sink that keeps every event, for assertions.
#[derive(Default)]
pub struct Collect(pub std::sync::Mutex<Vec<ory_iam::AuditEvent>>);

impl ory_iam::AuditSink for Collect {
    fn emit(&self, e: &ory_iam::AuditEvent) {
        self.0.lock().unwrap().push(e.clone());
    }
}

/// A config with one cloud tenant pointed at the stack's spec-checking fake console.
pub fn cloud_config() -> serde_json::Value {
    let s = stack();
    serde_json::json!({
        "tenants": {"cloud": {
            "mode": "cloud",
            "cloud": {"project_slug": "ory-iam-test", "api_key": "ory_pat_ory_iam_test_project_key"},
            "console": {"url": s["console"]["url"], "workspace_api_key": s["console"]["workspace_api_key"]},
            "http": {"timeout_ms": 5000, "retries": 2, "backoff_base_ms": 10},
        }},
        "audit": {"sink": "none"},
    })
}

/// What the fake console recorded against the OpenAPI document (must stay empty).
pub async fn console_violations() -> Vec<String> {
    let url = format!("{}__violations", stack()["console"]["url"].as_str().unwrap());
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Make the fake console answer the next `count` requests with `status`.
pub async fn console_fault(status: u16, count: u32, retry_after: Option<u32>) {
    let url = format!("{}__fault", stack()["console"]["url"].as_str().unwrap());
    reqwest::Client::new()
        .post(url)
        .json(&serde_json::json!({"status": status, "count": count, "retry_after": retry_after}))
        .send()
        .await
        .unwrap();
}

/// A fresh identity registered through the native registration flow (the session hook logs it
/// in): `(identity id, session token)`.
pub async fn native_session(iam: &ory_iam::Iam, tenant: &str) -> (String, ory_iam::Secret) {
    use ory_iam::dto::{FlowResult, InitiateFlow, SubmitFlow};
    let flows = iam.flow().for_tenant(tenant).unwrap();
    let flow = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
    let email = unique_email("native");
    let body = serde_json::json!({"method": "password", "password": "a-Long-and-unique-passphrase-42", "traits": {"email": email}});
    match flows.submit_registration(&flow.id, body, SubmitFlow::default()).await.unwrap() {
        FlowResult::Success(s) => (
            s.identity.expect("registration returns the identity").id,
            s.session_token.expect("native flows hand out a token"),
        ),
        other => panic!("expected success, got {other:?}"),
    }
}

//! Shared by the integration tests: the real stack started by `tests/stack/up`.

#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

/// `.stack/stack.json` written by `tests/stack/up` (or `$ORY_IAM_STACK`).
pub fn stack() -> Value {
    let path = std::env::var_os("ORY_IAM_STACK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.stack/stack.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("the integration tests need the local Ory stack: run `tests/stack/up` first ({}: {e})", path.display())
    });
    serde_json::from_str(&text).expect("stack.json is JSON")
}

pub fn iam_config() -> Value {
    stack()["iam_config"].clone()
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

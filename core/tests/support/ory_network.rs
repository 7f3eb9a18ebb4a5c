//! Starts `tests/network/emulator.py` (one Ory Network project host in front of the stack's
//! Kratos, Keto and Hydra, strict to the Network API document) and reads what it recorded.
//! Include with `#[path = "support/ory_network.rs"] mod ory_network;`.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const SLUG: &str = "ory-iam-emulated";

pub struct OryNetwork {
    child: Child,
    /// `http://127.0.0.1:PORT/`: the project host (a custom domain, as far as the library knows).
    pub url: String,
    /// The project API key the host accepts.
    pub key: String,
    /// The session cookie the host sets: `ory_session_<slug without dashes>`.
    pub cookie_name: String,
    record: PathBuf,
}

impl OryNetwork {
    pub fn start() -> OryNetwork {
        let stack_json = std::env::var("ORY_IAM_STACK")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../.stack/stack.json").into());
        let key = format!("ory_pat_emulated_{}", uuid::Uuid::new_v4().simple());
        // The leak scan of the core's logs looks for the key too.
        crate::common::leak_capture::register_secret(&key);
        let record = std::env::temp_dir().join(format!("ory-network-{}.jsonl", uuid::Uuid::new_v4().simple()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/network/emulator.py");
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .args([script, "--stack", &stack_json, "--key", &key, "--slug", SLUG, "--record"])
            .arg(&record)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs emulator.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the emulator announces its port");
        let hello: Value = serde_json::from_str(&line).expect("{\"port\": N, ...}");
        OryNetwork {
            child,
            url: hello["url"].as_str().unwrap().to_owned(),
            cookie_name: hello["cookie_name"].as_str().unwrap().to_owned(),
            key,
            record,
        }
    }

    /// A cloud tenant `cloud` on this host: `kratos.public_url` is the project's custom domain,
    /// so Keto and Hydra follow it; `hydra` is given only to carry an OAuth2 client.
    pub fn config(&self, api_key: &str, client: Option<(&str, &str)>) -> Value {
        let mut tenant = json!({
            "mode": "cloud",
            "cloud": {"project_slug": SLUG, "api_key": api_key},
            "kratos": {"public_url": self.url},
            "http": {"timeout_ms": 15000, "retries": 2, "backoff_base_ms": 10},
        });
        if let Some((id, secret)) = client {
            tenant["hydra"] =
                json!({"public_url": self.url, "admin_url": self.url, "client_id": id, "client_secret": secret});
        }
        json!({"tenants": {"cloud": tenant}, "audit": {"sink": "none"}})
    }

    /// Every request the host received, in order.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
            .collect()
    }
}

impl Drop for OryNetwork {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.record);
    }
}

/// The key was sent only in `Authorization` and only to operations that require it; every
/// request was a documented operation.
pub fn assert_key_discipline(requests: &[Value]) {
    assert!(!requests.is_empty());
    for r in requests {
        assert!(!r["operation"].is_null(), "not an operation of the Network document: {r}");
        let places: Vec<&str> = r["key_in"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        if r["key_required"] == json!(true) {
            assert!(places.iter().all(|p| *p == "header:authorization"), "key outside Authorization: {r}");
        } else {
            assert!(places.is_empty(), "key sent to a public operation: {r}");
        }
    }
}

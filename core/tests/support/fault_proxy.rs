//! Starts `tests/reliability/fault_proxy.py` in front of a real server and drives it.
//! Include with `#[path = "support/fault_proxy.rs"] mod fault_proxy;`.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct FaultProxy {
    child: Child,
    pub port: u16,
    /// `http://127.0.0.1:PORT/`, what the library is pointed at.
    pub url: String,
    http: reqwest::Client,
}

impl FaultProxy {
    pub fn start(upstream: &str) -> FaultProxy {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/reliability/fault_proxy.py");
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .args([script, "--upstream", upstream.trim_end_matches('/')])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs fault_proxy.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("proxy announces its port");
        let port = serde_json::from_str::<Value>(&line).expect("{\"port\": N}")["port"].as_u64().unwrap() as u16;
        FaultProxy { child, port, url: format!("http://127.0.0.1:{port}/"), http: reqwest::Client::new() }
    }

    async fn control(&self, method: reqwest::Method, action: &str, body: Option<Value>) -> Value {
        let mut rb = self.http.request(method, format!("{}__proxy/{action}", self.url));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("fault proxy control endpoint");
        assert!(r.status().is_success(), "fault proxy {action}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Arm a fault: `json!({"mode": "status", "status": 503, "times": 3, "path": "/sessions"})`.
    pub async fn fault(&self, spec: Value) {
        self.control(reqwest::Method::POST, "fault", Some(spec)).await;
    }

    /// Disarm and zero the counters.
    pub async fn reset(&self) {
        self.control(reqwest::Method::POST, "reset", Some(json!({}))).await;
    }

    pub async fn stats(&self) -> Value {
        self.control(reqwest::Method::GET, "stats", None).await
    }

    /// Requests received whose path contains `fragment` (all when empty).
    pub async fn requests(&self, fragment: &str) -> u64 {
        let s = self.stats().await;
        if fragment.is_empty() {
            return s["requests"].as_u64().unwrap();
        }
        s["by_path"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.contains(fragment))
            .map(|(_, n)| n.as_u64().unwrap())
            .sum()
    }

    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

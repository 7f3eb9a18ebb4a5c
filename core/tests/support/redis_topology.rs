//! A Redis Cluster or Sentinel setup of `tests/stack/redis-topology`, started for one test and
//! stopped when dropped.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Topology {
    pub info: Value,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/stack/redis-topology")
}

impl Topology {
    /// `kind`: `cluster` (3 masters, 3 replicas) or `sentinel` (master, replica, 3 Sentinels).
    pub fn up(kind: &str) -> Topology {
        let out = Command::new(script()).args(["up", kind]).output().expect("run tests/stack/redis-topology");
        assert!(out.status.success(), "redis-topology up {kind}: {}", String::from_utf8_lossy(&out.stderr));
        Topology { info: serde_json::from_slice(&out.stdout).expect("redis-topology prints JSON") }
    }

    pub fn urls(&self) -> Vec<String> {
        self.info["urls"].as_array().unwrap().iter().map(|u| u.as_str().unwrap().to_owned()).collect()
    }

    /// `session_cache` for this topology with the tests' key and `prefix`.
    pub fn session_cache(&self, prefix: &str) -> Value {
        let mut r = serde_json::json!({"keys": [crate::common::redis_key()], "key_prefix": prefix});
        match self.info["kind"].as_str() {
            Some("cluster") => r["cluster"] = self.urls().into(),
            _ => r["sentinel"] = serde_json::json!({"urls": self.urls(), "master_name": self.info["master_name"]}),
        }
        serde_json::json!({ "redis": r })
    }

    /// Ports of the nodes with `role` (`master`, `replica`, `sentinel`) when started.
    pub fn nodes(&self, role: &str) -> Vec<(u16, u32)> {
        self.info["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["role"] == role)
            .map(|n| (n["port"].as_u64().unwrap() as u16, n["pid"].as_u64().unwrap() as u32))
            .collect()
    }

    /// SIGKILL one process of the topology.
    /// SIGKILL the node and return once it is gone: `kill` only sends the signal, and a node
    /// still running for a moment could acknowledge a write (a revoke's eviction) that its
    /// replica never sees, which is the asynchronous-replication window the docs describe, not
    /// the "master down" case the tests mean.
    pub fn kill(&self, pid: u32) {
        let st = Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
        assert!(st.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            // Gone, or a zombie waiting for its parent: either way it answers nothing more.
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return,
                Ok(stat) if stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')) => return,
                Ok(_) => {}
            }
            assert!(std::time::Instant::now() < deadline, "redis node {pid} survived SIGKILL");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Start again the killed node that listened on `port`, as it was started (a killed master
    /// rejoins as a replica of the node promoted in its place); its pid.
    pub fn restart(&self, port: u16) -> u32 {
        let dir = self.info["dir"].as_str().unwrap();
        let out = Command::new(script()).args(["restart", dir, &port.to_string()]).output().unwrap();
        assert!(out.status.success(), "redis-topology restart: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["pid"].as_u64().unwrap() as u32
    }

    /// SIGSTOP the node and return once it is stopped: it answers nothing (a replica
    /// acknowledges no replication) until [`Topology::resume`], its connections staying open.
    pub fn pause(&self, pid: u32) {
        assert!(Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap().success());
        Self::wait_until("node stopped", || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('T')))
        });
    }

    /// SIGCONT a node [`Topology::pause`]d.
    pub fn resume(&self, pid: u32) {
        assert!(Command::new("kill").args(["-CONT", &pid.to_string()]).status().unwrap().success());
    }

    /// The number of replicas connected to the master on `port`, as it reports them.
    pub fn connected_replicas(port: u16) -> usize {
        let info = Self::cli(port, &["info", "replication"]);
        info.lines().find_map(|l| l.trim().strip_prefix("connected_slaves:")).and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// `redis-cli -p port args...`, its output.
    pub fn cli(port: u16, args: &[&str]) -> String {
        let out = Command::new("redis-cli").args(["-h", "127.0.0.1", "-p", &port.to_string()]).args(args).output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
    }

    /// Wait (up to 60 s) until `ok` holds, polling every 100 ms.
    pub fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ok() {
            assert!(Instant::now() < deadline, "{what}: not after 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if let Some(dir) = self.info["dir"].as_str() {
            let _ = Command::new(script()).args(["down", dir]).status();
        }
    }
}

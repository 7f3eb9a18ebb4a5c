//! `Iam::close` against the real stack: the process's connections to Kratos, Keto and Redis are
//! closed (counted from `/proc`), every call through any handle or clone is refused with
//! `configuration` afterwards (cached answers included, and without a request), `health`
//! reports every probe `closed`, closing twice is fine, and another `Iam` is untouched.

mod common;

use ory_iam::dto::{CheckOptions, ListIdentities, PermissionTuple};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam, IamConfig};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn port_of(url: &Value) -> u16 {
    url::Url::parse(url.as_str().unwrap()).unwrap().port().unwrap()
}

/// This process's established TCP connections to `port` on loopback: the sockets among our
/// file descriptors (`/proc/self/fd`) whose `/proc/net/tcp` entry has that remote port.
fn connections_to(port: u16) -> usize {
    let mine: HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned))
        .collect();
    let mut n = 0;
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let remote_port = f[2].rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            // st 01 = ESTABLISHED; f[9] is the inode.
            if remote_port == Some(port) && f[3] == "01" && mine.contains(f[9]) {
                n += 1;
            }
        }
    }
    n
}

/// Wait (up to 3 s) until no connection to any of `ports` is left.
async fn all_closed(ports: &[u16]) -> Vec<(u16, usize)> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let open: Vec<(u16, usize)> = ports.iter().map(|&p| (p, connections_to(p))).filter(|&(_, n)| n > 0).collect();
        if open.is_empty() || Instant::now() > deadline {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn config(session_cache: Value) -> IamConfig {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = session_cache;
    cfg["tenants"]["customer"]["cache"] = json!({"session_ttl_ms": 60_000, "permission_ttl_ms": 60_000});
    cfg["audit"] = json!({"sink": "none"});
    IamConfig::from_value(&cfg).unwrap()
}

fn kind<T: std::fmt::Debug>(r: ory_iam::Result<T>) -> ErrorKind {
    r.expect_err("a closed Iam refuses").kind()
}

async fn close_releases_and_refuses(session_cache: Value, extra_ports: &[u16]) {
    let stack = common::stack();
    let kratos = port_of(&stack["iam_config"]["tenants"]["customer"]["kratos"]["public_url"]);
    let keto = port_of(&stack["iam_config"]["tenants"]["customer"]["keto"]["read_url"]);
    let iam = Iam::from_config(config(session_cache.clone())).unwrap();
    let other = Iam::from_config(config(session_cache)).unwrap();
    let (_, token) = common::native_session(&iam, "customer").await;
    let headers = header_map([("authorization", format!("Bearer {}", token.expose()).as_str())]);

    // Handles and a clone taken before the close, each with something cached.
    let (session, permission, identity, clone) = (iam.session(), iam.permission(), iam.identity(), iam.clone());
    assert!(!session.whoami(&headers).await.unwrap().cache_hit);
    assert!(session.whoami(&headers).await.unwrap().cache_hit, "cached");
    let object = format!("close-{}", uuid::Uuid::new_v4().simple());
    let tuple = PermissionTuple::new("documents", &object, "view", "nobody");
    assert!(!permission.check(&tuple, CheckOptions::default()).await.unwrap());
    let mut ports = vec![kratos, keto];
    ports.extend_from_slice(extra_ports);
    for &p in &ports {
        assert!(connections_to(p) > 0, "a pooled connection to port {p} before the close");
    }

    clone.close().await;
    iam.close().await; // twice: nothing more to do
    assert_eq!(all_closed(&ports).await, vec![], "connections left open after close (port, count)");

    assert_eq!(kind(session.whoami(&headers).await), ErrorKind::Configuration, "cached session");
    assert_eq!(kind(session.whoami_ready(&headers).expect("answered without I/O")), ErrorKind::Configuration);
    assert_eq!(kind(session.whoami_or_null(&headers).await), ErrorKind::Configuration);
    assert_eq!(kind(permission.check(&tuple, CheckOptions::default()).await), ErrorKind::Configuration, "cached");
    assert_eq!(kind(permission.check_batch(std::slice::from_ref(&tuple)).await), ErrorKind::Configuration);
    assert_eq!(kind(identity.list(ListIdentities::default()).await), ErrorKind::Configuration);
    assert_eq!(kind(iam.session().for_tenant("admin").unwrap().whoami(&headers).await), ErrorKind::Configuration);
    let health = iam.health().await;
    assert!(!health.healthy);
    assert!(health.probes.iter().all(|p| p.reason.as_deref() == Some("closed")), "{:?}", health.probes);
    assert_eq!(all_closed(&ports).await, vec![], "a refused call opened a connection");

    // Another Iam on the same servers (and Redis) is untouched.
    assert!(other.session().whoami(&headers).await.is_ok());
    assert!(other.permission().check(&tuple, CheckOptions::default()).await.is_ok());
}

#[tokio::test]
async fn close_with_the_memory_cache() {
    close_releases_and_refuses(json!("memory"), &[]).await;
}

#[tokio::test]
async fn close_with_the_redis_cache_drops_its_connection() {
    let stack = common::stack();
    let redis = stack["redis"]["port"].as_u64().unwrap() as u16;
    close_releases_and_refuses(common::redis_cache(), &[redis]).await;
}

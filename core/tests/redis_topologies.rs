//! The session cache and the shared replay store on a real Redis Cluster (3 masters, 3
//! replicas) and a real Sentinel setup (master, replica, 3 Sentinels), each started by
//! `tests/stack/redis-topology` for the test (issue 24, items 1, 4, 5): sessions cached through
//! them are shared between instances, a revoke through one instance is refused by another, an
//! Oathkeeper envelope accepted by one is a replay at another, and a master killed under load
//! leaves every call correct or a typed outage (never a wrong allow), the cache serving again
//! once the failover is done. Keto decisions cached in memory by one instance are dropped when
//! another revokes (the invalidation channel), and when the channel is lost; so are cached
//! token introspections when another instance revokes the token.

mod common;
#[path = "support/redis_topology.rs"]
mod redis_topology;

use ory_iam::dto::{CheckOptions, PermissionTuple, Subject};
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam, Secret};
use redis_topology::Topology;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn prefix() -> String {
    format!("topo-{}", uuid::Uuid::new_v4().simple())
}

fn iam(session_cache: Value) -> Iam {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = session_cache;
    cfg["tenants"]["customer"]["cache"] = json!({"session_ttl_ms": 600_000});
    Iam::from_value(&cfg).unwrap()
}

fn bearer(token: &Secret) -> http::HeaderMap {
    header_map([("authorization", format!("Bearer {}", token.expose()))])
}

/// Two instances sharing the topology: B reads what A cached, and a revoke through A is
/// refused by B (whose cache had the session).
async fn shared_between_instances(t: &Topology) {
    let cache = t.session_cache(&prefix());
    let (a, b) = (iam(cache.clone()), iam(cache));
    let (id, token) = common::native_session(&a, "customer").await;
    let s = a.session().whoami(&bearer(&token)).await.unwrap();
    assert!(!s.cache_hit);
    let s = b.session().whoami(&bearer(&token)).await.unwrap();
    assert!(s.cache_hit, "B read the entry A cached");
    assert_eq!(s.identity.id, id);
    a.session().revoke(&s.id).await.unwrap();
    assert_eq!(b.session().whoami(&bearer(&token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    a.identity().delete(&id).await.unwrap();
}

/// What went wrong under load, if anything: a valid session refused by anything but a typed
/// outage, or a revoked one allowed.
#[derive(Default)]
struct Outcomes {
    ok: usize,
    outages: usize,
    wrong: Vec<String>,
}

/// Load on `iam` with `valid` and `revoked` sessions while `kill` runs, then until the cache
/// serves every valid session again.
///
/// A session revoked while the master is down: the revoke is an outage (`upstream_unavailable`)
/// as long as the shared cache cannot drop the entry (which the promoted replica still holds),
/// and once it succeeds the session is refused. `entry_on_dead_master`: the topology has one
/// master, so the entry surely was on the one killed.
async fn master_killed_under_load(
    t: &Topology,
    kill: impl FnOnce(&Topology),
    failed_over: impl FnOnce(&Topology),
    entry_on_dead_master: bool,
) {
    let iam = Arc::new(iam(t.session_cache(&prefix())));
    let (victim_id, victim) = common::native_session(&iam, "customer").await;
    let victim_session = iam.session().whoami(&bearer(&victim)).await.unwrap();
    assert!(iam.session().whoami(&bearer(&victim)).await.unwrap().cache_hit);
    let mut valid = Vec::new();
    for _ in 0..6 {
        let (id, token) = common::native_session(&iam, "customer").await;
        assert!(!iam.session().whoami(&bearer(&token)).await.unwrap().cache_hit);
        assert!(iam.session().whoami(&bearer(&token)).await.unwrap().cache_hit, "cached before the kill");
        valid.push((id, token));
    }
    let mut revoked = Vec::new();
    for _ in 0..2 {
        let (id, token) = common::native_session(&iam, "customer").await;
        let s = iam.session().whoami(&bearer(&token)).await.unwrap();
        iam.session().revoke(&s.id).await.unwrap();
        revoked.push((id, token));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(std::sync::Mutex::new(Outcomes::default()));
    let mut tasks = Vec::new();
    for (id, token, ok) in valid.iter().map(|(i, t)| (i, t, true)).chain(revoked.iter().map(|(i, t)| (i, t, false))) {
        for _ in 0..2 {
            let (iam, stop, outcomes, id, token) =
                (iam.clone(), stop.clone(), outcomes.clone(), id.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = iam.session().whoami(&bearer(&token)).await;
                    let mut o = outcomes.lock().unwrap();
                    match (ok, r) {
                        (true, Ok(s)) if s.identity.id == id => o.ok += 1,
                        (false, Err(e)) if e.kind() == ErrorKind::Unauthorized => o.ok += 1,
                        (_, Err(e)) if e.kind() == ErrorKind::UpstreamUnavailable => o.outages += 1,
                        (true, r) => o.wrong.push(format!("valid session: {:?}", r.map(|s| s.identity.id))),
                        (false, r) => o.wrong.push(format!("revoked session: {:?}", r.map(|s| s.identity.id))),
                    }
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = outcomes.lock().unwrap().ok;
    assert!(during > 0, "load is running");
    tokio::task::block_in_place(|| kill(t));
    let during_outage = iam.session().revoke(&victim_session.id).await;
    match &during_outage {
        Ok(()) => assert!(!entry_on_dead_master, "a revoke the shared cache could not take reported success"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable),
    }
    tokio::task::block_in_place(|| failed_over(t));
    // Load goes on across the failover, then a little after it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    {
        let o = outcomes.lock().unwrap();
        assert!(o.wrong.is_empty(), "wrong answers across the failover: {:?}", o.wrong);
        assert!(o.ok > during, "calls kept being answered ({} ok, {} outages)", o.ok, o.outages);
    }
    // Recovered: every valid session is served from the cache again (entries that lived on the
    // dead master are cached again on the promoted replica).
    for (id, token) in &valid {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let s = iam.session().whoami(&bearer(token)).await.unwrap();
            assert_eq!(&s.identity.id, id);
            if s.cache_hit {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the cache did not serve again after the failover");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The revoke that was an outage, retried as its error says, takes; then the session is
    // refused (the promoted replica held its entry).
    if during_outage.is_err() {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while let Err(e) = iam.session().revoke(&victim_session.id).await {
            assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
            assert!(std::time::Instant::now() < deadline, "the revoke never took after the failover");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(iam.session().whoami(&bearer(&victim)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    iam.identity().delete(&victim_id).await.unwrap();
    for (id, token) in &revoked {
        assert_eq!(iam.session().whoami(&bearer(token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
        iam.identity().delete(id).await.unwrap();
    }
    for (id, _) in &valid {
        iam.identity().delete(id).await.unwrap();
    }
}

/// An Oathkeeper envelope accepted by one instance is a replay at another sharing the topology.
async fn replay_refused_across_instances(t: &Topology) {
    let key = "topology-signer-key-0123456789";
    let cache = t.session_cache(&prefix());
    let instance = || {
        let mut cfg = common::iam_config();
        cfg["session_cache"] = cache.clone();
        cfg["tenants"]["customer"]["transport"] = json!("oathkeeper");
        cfg["tenants"]["customer"]["oathkeeper"] =
            json!({"signer_keys": [key], "replay_protection": {"enabled": true}});
        Iam::from_value(&cfg).unwrap()
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (a, b) = (instance(), instance());
    for i in 0..20 {
        // Several ids: they land on different masters.
        let claims = json!({"sub": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "iat": now, "exp": now + 300,
                            "jti": format!("topo-{i}-{}", uuid::Uuid::new_v4().simple())});
        let (p, s) = ory_iam::transport::oathkeeper::sign_envelope(&claims, &Secret::new(key));
        let req = header_map([("x-user", p), ("x-user-signature", s)]);
        assert!(a.session().whoami(&req).await.is_ok());
        assert_eq!(b.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::Unauthorized, "replayed at B");
    }
}

fn keto_iam(session_cache: Value) -> Iam {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = session_cache;
    cfg["tenants"]["customer"]["cache"] = json!({"permission_ttl_ms": 600_000});
    Iam::from_value(&cfg).unwrap()
}

/// `b` holds `allowed` for `q` in its decision cache while Keto no longer has the tuple: granted
/// and revoked by `outside`, which shares no Redis (so nobody is told). Retried until `b`'s
/// invalidation channel is up (until then it caches nothing).
async fn cached_allow_revoked_behind_its_back(b: &Iam, outside: &Iam, q: &PermissionTuple) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        outside.permission().grant(q).await.unwrap();
        // Fresh: asks Keto, and caches the answer (replacing a cached denial of a round before).
        assert!(b.permission().check(q, CheckOptions { fresh: true, ..Default::default() }).await.unwrap());
        outside.permission().revoke(q).await.unwrap();
        if b.permission().check(q, CheckOptions::default()).await.unwrap() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the decision was never cached");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait until `b` denies `q` (it held a cached allow); how long that took.
async fn denied_within(b: &Iam, q: &PermissionTuple, what: &str) -> Duration {
    let start = std::time::Instant::now();
    while b.permission().check(q, CheckOptions::default()).await.unwrap() {
        assert!(start.elapsed() < Duration::from_secs(10), "{what}: the cached allow was still served after 10 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

/// A Keto revoke through instance A is denied by instance B, whose decision cache held the
/// allow, within the channel's propagation delay (printed).
async fn keto_revoke_reaches_other_instances(cache: Value) {
    let (a, b, outside) = (keto_iam(cache.clone()), keto_iam(cache), keto_iam(json!("none")));
    let u = uuid::Uuid::new_v4().simple().to_string();
    let q = PermissionTuple {
        namespace: "documents".into(),
        object: format!("doc-{u}"),
        relation: "view".into(),
        subject: Subject::Id(format!("bob-{u}")),
    };
    cached_allow_revoked_behind_its_back(&b, &outside, &q).await;
    a.permission().revoke(&q).await.unwrap();
    let took = denied_within(&b, &q, "revoke through another instance").await;
    eprintln!("keto revoke → denied at another instance: {took:?}");
}

/// B's invalidation channel lost (its pub/sub connections killed on `ports`): B no longer
/// serves what it cached before, so a revoke it could have missed cannot keep an allow alive.
async fn a_lost_channel_drops_cached_answers(cache: Value, ports: &[u16]) {
    let (b, outside) = (keto_iam(cache), keto_iam(json!("none")));
    let u = uuid::Uuid::new_v4().simple().to_string();
    let q = PermissionTuple {
        namespace: "documents".into(),
        object: format!("doc-{u}"),
        relation: "view".into(),
        subject: Subject::Id(format!("carol-{u}")),
    };
    cached_allow_revoked_behind_its_back(&b, &outside, &q).await;
    tokio::task::block_in_place(|| {
        for p in ports {
            Topology::cli(*p, &["client", "kill", "type", "pubsub"]);
        }
    });
    denied_within(&b, &q, "channel lost").await;
}

/// A replica that took over from a killed master, as the cluster sees it from `port`.
fn cluster_failed_over(port: u16, dead: u16) -> bool {
    let info = Topology::cli(port, &["cluster", "info"]);
    let nodes = Topology::cli(port, &["cluster", "nodes"]);
    info.contains("cluster_state:ok")
        && nodes.lines().any(|l| l.contains(&format!(":{dead}@")) && l.contains("fail"))
        && nodes.lines().filter(|l| l.contains("master") && !l.contains("fail")).count() == 3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster() {
    let t = Topology::up("cluster");
    shared_between_instances(&t).await;
    replay_refused_across_instances(&t).await;
    keto_revoke_reaches_other_instances(t.session_cache(&prefix())).await;
    token_revoke_reaches_other_instances(t.session_cache(&prefix())).await;
    let ports: Vec<u16> = t.nodes("master").into_iter().chain(t.nodes("replica")).map(|(p, _)| p).collect();
    a_lost_channel_drops_cached_answers(t.session_cache(&prefix()), &ports).await;
    let masters = t.nodes("master");
    let ((dead, pid), alive) = (masters[0], masters[1].0);
    master_killed_under_load(
        &t,
        |t| t.kill(pid),
        |_| Topology::wait_until("cluster failover", || cluster_failed_over(alive, dead)),
        false,
    )
    .await;
    // And after the failover, sharing, replay protection and invalidation work as before.
    shared_between_instances(&t).await;
    replay_refused_across_instances(&t).await;
    keto_revoke_reaches_other_instances(t.session_cache(&prefix())).await;
}

/// A revoke while the master holding the session's entry is down, its eviction set being on
/// another master: an outage, and once retried after the failover the session is refused.
/// (The eviction used to drop the set with the entries in one multi-slot DEL: the set went, the
/// entry stayed on the dead master's promoted replica, and the retry found nothing to delete.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_revoke_with_the_entry_on_a_dead_master() {
    let t = Topology::up("cluster");
    let masters = t.nodes("master");
    let holder = |pattern: &str| {
        masters.iter().copied().find(|(p, _)| !Topology::cli(*p, &["--scan", "--pattern", pattern]).trim().is_empty())
    };
    // A session whose entry and eviction set landed on different masters (a fresh prefix each
    // try, so the scan finds only this session's entry).
    let (iam, id, token, session, (dead, pid)) = loop {
        let prefix = prefix();
        let iam = iam(t.session_cache(&prefix));
        let (id, token) = common::native_session(&iam, "customer").await;
        let s = iam.session().whoami(&bearer(&token)).await.unwrap();
        let entry = holder(&format!("{prefix}:session:*")).expect("the entry is cached");
        let set = holder(&format!("{prefix}:sid:customer:{}", s.id)).expect("the eviction set is written");
        if entry != set {
            break (iam, id, token, s, entry);
        }
        iam.identity().delete(&id).await.unwrap();
    };
    assert!(iam.session().whoami(&bearer(&token)).await.unwrap().cache_hit);
    tokio::task::block_in_place(|| t.kill(pid));
    let e = iam.session().revoke(&session.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "the entry's master is down");
    let alive = masters.iter().find(|(p, _)| *p != dead).unwrap().0;
    tokio::task::block_in_place(|| Topology::wait_until("cluster failover", || cluster_failed_over(alive, dead)));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Err(e) = iam.session().revoke(&session.id).await {
        assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
        assert!(std::time::Instant::now() < deadline, "the revoke never took after the failover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = iam.session().whoami(&bearer(&token)).await;
    assert_eq!(r.map(|s| s.cache_hit).unwrap_err().kind(), ErrorKind::Unauthorized, "revoked, yet served");
    iam.identity().delete(&id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel() {
    let t = Topology::up("sentinel");
    shared_between_instances(&t).await;
    replay_refused_across_instances(&t).await;
    keto_revoke_reaches_other_instances(t.session_cache(&prefix())).await;
    token_revoke_reaches_other_instances(t.session_cache(&prefix())).await;
    let ports: Vec<u16> = t.nodes("master").into_iter().chain(t.nodes("replica")).map(|(p, _)| p).collect();
    a_lost_channel_drops_cached_answers(t.session_cache(&prefix()), &ports).await;
    let (dead, pid) = t.nodes("master")[0];
    let (replica, _) = t.nodes("replica")[0];
    let (sentinel, _) = t.nodes("sentinel")[0];
    master_killed_under_load(
        &t,
        |t| t.kill(pid),
        |_| {
            Topology::wait_until("sentinel failover", || {
                let addr = Topology::cli(sentinel, &["sentinel", "get-master-addr-by-name", "main"]);
                !addr.contains(&dead.to_string()) && Topology::cli(replica, &["role"]).starts_with("master")
            })
        },
        true,
    )
    .await;
    shared_between_instances(&t).await;
    replay_refused_across_instances(&t).await;
    keto_revoke_reaches_other_instances(t.session_cache(&prefix())).await;
}

/// A token revoke through instance A drops B's cached introspection of it (B held `active`
/// while Hydra had already revoked the token behind its back).
async fn token_revoke_reaches_other_instances(cache: Value) {
    let admin = Iam::from_value(&common::iam_config()).unwrap();
    let client =
        admin.oauth2_client().create(json!({"grant_types": ["client_credentials"], "scope": "read"})).await.unwrap();
    let config = |session_cache: Value| {
        let mut cfg = common::iam_config();
        cfg["session_cache"] = session_cache;
        cfg["tenants"]["customer"]["hydra"]["client_id"] = json!(client.client_id);
        cfg["tenants"]["customer"]["hydra"]["client_secret"] = json!(client.client_secret.clone().unwrap().expose());
        cfg["tenants"]["customer"]["cache"] = json!({"introspection_ttl_ms": 600_000});
        Iam::from_value(&cfg).unwrap()
    };
    let (a, b, outside) = (config(cache.clone()), config(cache), config(json!("none")));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let token = loop {
        // A new Iam each round: client_credentials caches its token.
        let t = config(json!("none")).token().client_credentials(Some("read")).await.unwrap().access_token;
        assert!(b.token().introspect(&t).await.unwrap().active);
        outside.token().revoke(&t, Default::default()).await.unwrap();
        if b.token().introspect(&t).await.unwrap().active {
            break t; // cached by B (its channel is up), revoked in Hydra
        }
        assert!(std::time::Instant::now() < deadline, "the introspection was never cached");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    a.token().revoke(&token, Default::default()).await.unwrap();
    let start = std::time::Instant::now();
    while b.token().introspect(&token).await.unwrap().active {
        assert!(start.elapsed() < Duration::from_secs(10), "the cached introspection was still served after 10 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    eprintln!("token revoke → inactive at another instance: {:?}", start.elapsed());
    admin.oauth2_client().delete(&client.client_id).await.unwrap();
}

/// Deleting a client's access tokens through instance A (`token.delete_access_tokens`, a
/// revoke of tokens no instance names) drops B's cached introspections too.
async fn client_token_delete_reaches_other_instances(cache: Value) {
    let admin = Iam::from_value(&common::iam_config()).unwrap();
    let client =
        admin.oauth2_client().create(json!({"grant_types": ["client_credentials"], "scope": "read"})).await.unwrap();
    let config = |session_cache: Value| {
        let mut cfg = common::iam_config();
        cfg["session_cache"] = session_cache;
        cfg["tenants"]["customer"]["hydra"]["client_id"] = json!(client.client_id);
        cfg["tenants"]["customer"]["hydra"]["client_secret"] = json!(client.client_secret.clone().unwrap().expose());
        cfg["tenants"]["customer"]["cache"] = json!({"introspection_ttl_ms": 600_000});
        Iam::from_value(&cfg).unwrap()
    };
    let (a, b, outside) = (config(cache.clone()), config(cache), config(json!("none")));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let token = loop {
        let t = config(json!("none")).token().client_credentials(Some("read")).await.unwrap().access_token;
        assert!(b.token().introspect(&t).await.unwrap().active);
        outside.token().delete_access_tokens(&client.client_id).await.unwrap();
        if b.token().introspect(&t).await.unwrap().active {
            break t; // cached by B (its channel is up), deleted in Hydra
        }
        assert!(std::time::Instant::now() < deadline, "the introspection was never cached");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    a.token().delete_access_tokens(&client.client_id).await.unwrap();
    let start = std::time::Instant::now();
    while b.token().introspect(&token).await.unwrap().active {
        assert!(start.elapsed() < Duration::from_secs(10), "the cached introspection was still served after 10 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    admin.oauth2_client().delete(&client.client_id).await.unwrap();
}

/// With Redis unreachable, the shared replay check fails closed: a typed outage, audited, never
/// an envelope accepted on this process's memory alone (another may have accepted it).
#[tokio::test]
async fn the_shared_replay_store_fails_closed() {
    let key = "closed-signer-key-0123456789";
    let mut cfg = common::iam_config();
    cfg["session_cache"] = json!({"redis": {"url": "redis://127.0.0.1:1/0", "keys": [common::redis_key()]}});
    cfg["tenants"]["customer"]["transport"] = json!("oathkeeper");
    cfg["tenants"]["customer"]["oathkeeper"] = json!({"signer_keys": [key], "replay_protection": {"enabled": true}});
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(common::Collect::default());
    let iam = Iam::builder(ory_iam::IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = json!({"sub": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "iat": now, "exp": now + 300,
                        "jti": format!("closed-{}", uuid::Uuid::new_v4().simple())});
    let (p, s) = ory_iam::transport::oathkeeper::sign_envelope(&claims, &Secret::new(key));
    let req = header_map([("x-user", p), ("x-user-signature", s)]);
    assert_eq!(iam.session().whoami(&req).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
    let last = sink.0.lock().unwrap().last().map(|e| e.name.clone());
    assert_eq!(last.as_deref(), Some("auth.failure.upstream"));
}

/// The same on one Redis node (the stack's).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_node_invalidation() {
    let cache = || json!({"redis": {"url": common::stack()["redis"]["url"], "keys": [common::redis_key()], "key_prefix": prefix()}});
    keto_revoke_reaches_other_instances(cache()).await;
    token_revoke_reaches_other_instances(cache()).await;
    client_token_delete_reaches_other_instances(cache()).await;
    let port = common::stack()["redis"]["port"].as_u64().unwrap() as u16;
    a_lost_channel_drops_cached_answers(cache(), &[port]).await;
}

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
use std::process::Command;
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
    revoke_until_it_takes(&a, &s.id).await;
    assert_eq!(b.session().whoami(&bearer(&token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    remove(&a, &id).await;
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
        revoke_until_it_takes(&iam, &s.id).await;
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
    remove(&iam, &victim_id).await;
    for (id, token) in &revoked {
        assert_eq!(iam.session().whoami(&bearer(token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
        remove(&iam, id).await;
    }
    for (id, _) in &valid {
        remove(&iam, id).await;
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

/// Restart the killed master that listened on `port` and wait until it is a replica of the
/// node promoted in its place, in sync: the promoted master has a replica again, so evictions
/// (which wait for one, `wait_replicas`) can be confirmed again.
fn rejoin(t: &Topology, port: u16) {
    t.restart(port);
    Topology::wait_until("the old master rejoins as a replica", || {
        let info = Topology::cli(port, &["info", "replication"]);
        info.contains("role:slave") && info.contains("master_link_status:up")
    });
}

/// The replica (port, pid) of the master listening on `master`.
fn replica_of(t: &Topology, master: u16) -> (u16, u32) {
    t.nodes("replica")
        .into_iter()
        .find(|(p, _)| {
            Topology::cli(*p, &["info", "replication"]).lines().any(|l| l.trim() == format!("master_port:{master}"))
        })
        .expect("the master has a replica")
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
        |t| {
            Topology::wait_until("cluster failover", || cluster_failed_over(alive, dead));
            rejoin(t, dead);
        },
        false,
    )
    .await;
    // And after the failover, sharing, replay protection and invalidation work as before.
    shared_between_instances(&t).await;
    replay_refused_across_instances(&t).await;
    keto_revoke_reaches_other_instances(t.session_cache(&prefix())).await;
}

/// A session cached through a fresh `Iam` (its own key prefix, so a scan finds only this
/// session's keys) whose entry is on a master `wanted` accepts (port); the `Iam`, its
/// `session_cache`, the identity, the token, the session and the entry's master.
async fn session_on(
    t: &Topology,
    wanted: impl Fn(u16, u16) -> bool,
) -> (Iam, Value, String, Secret, ory_iam::dto::Session, (u16, u32)) {
    let masters = t.nodes("master");
    let holder = |pattern: &str| {
        masters.iter().copied().find(|(p, _)| !Topology::cli(*p, &["--scan", "--pattern", pattern]).trim().is_empty())
    };
    for _ in 0..60 {
        let prefix = prefix();
        let cache = t.session_cache(&prefix);
        let iam = iam(cache.clone());
        let (id, token) = common::native_session(&iam, "customer").await;
        let s = iam.session().whoami(&bearer(&token)).await.unwrap();
        let entry = holder(&format!("{prefix}:session:*")).expect("the entry is cached");
        let set = holder(&format!("{prefix}:sid:customer:{}", s.id)).expect("the eviction set is written");
        if wanted(entry.0, set.0) {
            assert!(iam.session().whoami(&bearer(&token)).await.unwrap().cache_hit);
            return (iam, cache, id, token, s, entry);
        }
        remove(&iam, &id).await;
    }
    panic!("no session landed where wanted in 60 tries");
}

/// Revoke through `iam` until it succeeds (each failure an outage), within 30 s.
async fn revoke_until_it_takes(iam: &Iam, session_id: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Err(e) = iam.session().revoke(session_id).await {
        assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
        assert!(std::time::Instant::now() < deadline, "the revoke never took");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Test clean-up: delete the identity. An eviction a replica acknowledged late (a busy machine)
/// is an outage the caller would retry, though Kratos deleted the identity: not a test failure.
async fn remove(iam: &Iam, id: &str) {
    if let Err(e) = iam.identity().delete(id).await {
        assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "deleting a test identity");
    }
}

/// A revoke while the master holding the session's entry is down, its eviction set being on
/// another master: an outage; after the failover still an outage while the promoted master has
/// no replica to acknowledge the eviction; once the old master is back as its replica, the
/// retried revoke takes and the session is refused.
/// (The eviction used to drop the set with the entries in one multi-slot DEL: the set went, the
/// entry stayed on the dead master's promoted replica, and the retry found nothing to delete.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_revoke_with_the_entry_on_a_dead_master() {
    let t = Topology::up("cluster");
    let (iam, _, id, token, session, (dead, pid)) = session_on(&t, |entry, set| entry != set).await;
    let (promoted, _) = replica_of(&t, dead);
    tokio::task::block_in_place(|| t.kill(pid));
    let e = iam.session().revoke(&session.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "the entry's master is down");
    let alive = t.nodes("master").iter().find(|(p, _)| *p != dead).unwrap().0;
    tokio::task::block_in_place(|| Topology::wait_until("cluster failover", || cluster_failed_over(alive, dead)));
    // Failed over: the entry is on the promoted replica, which has no replica of its own.
    tokio::task::block_in_place(|| {
        Topology::wait_until("the slot map shows the promotion", || {
            Topology::cli(promoted, &["role"]).starts_with("master")
        })
    });
    assert_eq!(Topology::connected_replicas(promoted), 0);
    let e = iam.session().revoke(&session.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "no replica can acknowledge the eviction");
    tokio::task::block_in_place(|| rejoin(&t, dead));
    revoke_until_it_takes(&iam, &session.id).await;
    let r = iam.session().whoami(&bearer(&token)).await;
    assert_eq!(r.map(|s| s.cache_hit).unwrap_err().kind(), ErrorKind::Unauthorized, "revoked, yet served");
    // Clean-up only: the old master has just rejoined, and its first acknowledgements can be
    // late (the eviction is then an outage, though Kratos deleted the identity).
    remove(&iam, &id).await;
}

/// Make `iam`'s connections (the eviction one included) by caching and revoking a throwaway
/// session: a cluster connection is made to every node, and a stopped node never answers a new
/// connection's handshake.
async fn connected(iam: &Iam) {
    let (id, token) = common::native_session(iam, "customer").await;
    let s = iam.session().whoami(&bearer(&token)).await.unwrap();
    revoke_until_it_takes(iam, &s.id).await;
    remove(iam, &id).await;
}

/// `session_cache` with `wait_replicas: 0` (an eviction acknowledged by its master is done).
fn without_wait(mut cache: Value) -> Value {
    cache["redis"]["wait_replicas"] = json!(0);
    cache
}

/// A revoke reports success only once a replica of the entry's master acknowledged the
/// eviction (`WAIT`): with that replica stopped (SIGSTOP: connected, acknowledging nothing), the
/// revoke is an outage, not a success a failover could undo; an instance configured with
/// `wait_replicas: 0` accepts it; once the replica is back, the retried revoke takes. A stopped
/// replica of another master does not matter (the `WAIT` goes to the entry's master only).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_eviction_waits_for_a_replica_of_the_entrys_master() {
    let t = Topology::up("cluster");
    let (iam, _, id, token, session, (master, _)) = session_on(&t, |_, _| true).await;
    let other = t.nodes("master").into_iter().find(|(p, _)| *p != master).unwrap().0;
    let (_, other_replica) = replica_of(&t, other);
    connected(&iam).await;
    tokio::task::block_in_place(|| t.pause(other_replica));
    let r = iam.session().revoke(&session.id).await;
    tokio::task::block_in_place(|| t.resume(other_replica));
    r.expect("another master's replica does not hold up this eviction");
    assert_eq!(iam.session().whoami(&bearer(&token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    remove(&iam, &id).await;

    let (iam, cache, id, token, session, _) = session_on(&t, |entry, _| entry == master).await;
    let (_, replica) = replica_of(&t, master);
    let lax = self::iam(without_wait(cache));
    connected(&iam).await;
    connected(&lax).await;
    revoke_with_the_replica_paused(&t, replica, &iam, &lax, &session.id, &token).await;
    remove(&iam, &id).await;
}

/// `replica` (of the master holding the session's entry) paused: the revoke through `iam`
/// (waiting for a replica) is an outage, through `lax` (`wait_replicas: 0`) a success; once the
/// replica is back, the retried revoke takes and the session is refused.
async fn revoke_with_the_replica_paused(
    t: &Topology,
    replica: u32,
    iam: &Iam,
    lax: &Iam,
    session_id: &str,
    token: &Secret,
) {
    tokio::task::block_in_place(|| t.pause(replica));
    let strict = iam.session().revoke(session_id).await;
    let lax = lax.session().revoke(session_id).await;
    tokio::task::block_in_place(|| t.resume(replica));
    assert_eq!(strict.unwrap_err().kind(), ErrorKind::UpstreamUnavailable, "unacknowledged, yet reported done");
    lax.expect("wait_replicas: 0 accepts an eviction only the master acknowledged");
    revoke_until_it_takes(iam, session_id).await;
    assert_eq!(iam.session().whoami(&bearer(token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
}

/// The same with Sentinel: the master's one replica stopped, a revoke is an outage (with
/// `wait_replicas: 0`, a success); once it is back, the retried revoke takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_eviction_waits_for_a_replica() {
    let t = Topology::up("sentinel");
    let cache = t.session_cache(&prefix());
    let iam = iam(cache.clone());
    let (_, replica) = t.nodes("replica")[0];
    let (id, token) = common::native_session(&iam, "customer").await;
    let session = iam.session().whoami(&bearer(&token)).await.unwrap();
    assert!(iam.session().whoami(&bearer(&token)).await.unwrap().cache_hit);
    let lax = self::iam(without_wait(cache.clone()));
    revoke_with_the_replica_paused(&t, replica, &iam, &lax, &session.id, &token).await;
    remove(&iam, &id).await;

    // A replica that is only slow (stopped for a while, as a busy host stalls it) gets
    // `wait_timeout_ms` to acknowledge: the revoke waits for it and succeeds, rather than
    // failing once a fixed 200 ms have passed.
    let mut patient = cache;
    patient["redis"]["wait_timeout_ms"] = json!(10_000);
    let patient = self::iam(patient);
    let (id, token) = common::native_session(&patient, "customer").await;
    let session = patient.session().whoami(&bearer(&token)).await.unwrap();
    assert!(patient.session().whoami(&bearer(&token)).await.unwrap().cache_hit);
    connected(&patient).await;
    tokio::task::block_in_place(|| t.pause(replica));
    let slow = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        Command::new("kill").args(["-CONT", &replica.to_string()]).status().unwrap()
    });
    let r = patient.session().revoke(&session.id).await;
    assert!(tokio::task::block_in_place(|| slow.join().unwrap()).success());
    r.expect("a replica that acknowledges within wait_timeout_ms confirms the eviction");
    assert_eq!(patient.session().whoami(&bearer(&token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    remove(&patient, &id).await;
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
        |t| {
            Topology::wait_until("sentinel failover", || {
                let addr = Topology::cli(sentinel, &["sentinel", "get-master-addr-by-name", "main"]);
                !addr.contains(&dead.to_string()) && Topology::cli(replica, &["role"]).starts_with("master")
            });
            rejoin(t, dead);
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
    hydra_write_reaches_other_instances(cache, HydraWrite::Revoke).await;
}

/// Deleting a client's access tokens through instance A (`token.delete_access_tokens`, a
/// revoke of tokens no instance names) drops B's cached introspections too.
async fn client_token_delete_reaches_other_instances(cache: Value) {
    hydra_write_reaches_other_instances(cache, HydraWrite::DeleteClientTokens).await;
}

/// A Hydra write that makes a token inactive.
#[derive(Clone, Copy)]
enum HydraWrite {
    Revoke,
    DeleteClientTokens,
}

impl HydraWrite {
    async fn run(self, iam: &Iam, token: &Secret, client_id: &str) {
        match self {
            HydraWrite::Revoke => iam.token().revoke(token, Default::default()).await.unwrap(),
            HydraWrite::DeleteClientTokens => iam.token().delete_access_tokens(client_id).await.unwrap(),
        }
    }
}

/// B caches a token's introspection as `active`; `write` through A makes it inactive in Hydra;
/// B answers inactive soon after (the invalidation channel), not after its 10-minute TTL.
async fn hydra_write_reaches_other_instances(cache: Value, write: HydraWrite) {
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
        write.run(&outside, &t, &client.client_id).await;
        if b.token().introspect(&t).await.unwrap().active {
            break t; // cached by B (its channel is up), inactive in Hydra
        }
        assert!(std::time::Instant::now() < deadline, "the introspection was never cached");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    write.run(&a, &token, &client.client_id).await;
    let start = std::time::Instant::now();
    while b.token().introspect(&token).await.unwrap().active {
        assert!(start.elapsed() < Duration::from_secs(10), "the cached introspection was still served after 10 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    if matches!(write, HydraWrite::Revoke) {
        eprintln!("token revoke → inactive at another instance: {:?}", start.elapsed());
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

/// Another OS process sharing the Redis: this test binary running [`peer_process`] with
/// `ORY_IAM_TOPOLOGY_PEER` set to its `Iam`'s config. Each request is a JSON line on its stdin;
/// each answer `PEER <json>` on its stdout (libtest's own output is skipped).
struct PeerProcess {
    child: std::process::Child,
    out: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl PeerProcess {
    fn spawn(config: &Value) -> PeerProcess {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "peer_process", "--ignored", "--nocapture", "--test-threads", "1"])
            .env("ORY_IAM_TOPOLOGY_PEER", config.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        PeerProcess { child, out }
    }

    fn ask(&mut self, req: Value) -> Value {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{req}").unwrap();
        stdin.flush().unwrap();
        loop {
            let line = self.out.next().expect("the peer answers").unwrap();
            // The first one follows libtest's `test peer_process ... ` on the same line.
            if let Some((_, json)) = line.split_once("PEER ") {
                return serde_json::from_str(json).unwrap();
            }
        }
    }

    /// `{"identity", "cache_hit"}` or `{"code"}`.
    fn whoami(&mut self, token: &Secret) -> Value {
        tokio::task::block_in_place(|| self.ask(json!({"whoami": token.expose()})))
    }

    fn revoke(&mut self, session_id: &str) -> Value {
        tokio::task::block_in_place(|| self.ask(json!({"revoke": session_id})))
    }

    fn check(&mut self, q: &PermissionTuple, fresh: bool) -> bool {
        let r = tokio::task::block_in_place(|| self.ask(json!({"check": q, "fresh": fresh})));
        r["allowed"].as_bool().unwrap_or_else(|| panic!("check answered {r}"))
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The peer's side: answers requests on stdin until it is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by separate_processes in child processes"]
async fn peer_process() {
    use std::io::{BufRead, Write};
    let Ok(config) = std::env::var("ORY_IAM_TOPOLOGY_PEER") else { return };
    let iam = Iam::from_value(&serde_json::from_str(&config).unwrap()).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        let req: Value = serde_json::from_str(&line).unwrap();
        let code = |e: ory_iam::Error| json!({"code": format!("{:?}", e.kind())});
        let out = if let Some(token) = req["whoami"].as_str() {
            match iam.session().whoami(&bearer(&Secret::new(token))).await {
                Ok(s) => json!({"identity": s.identity.id, "cache_hit": s.cache_hit}),
                Err(e) => code(e),
            }
        } else if let Some(id) = req["revoke"].as_str() {
            iam.session().revoke(id).await.map_or_else(code, |()| json!({"ok": true}))
        } else {
            let q: PermissionTuple = serde_json::from_value(req["check"].clone()).unwrap();
            let opts = CheckOptions { fresh: req["fresh"].as_bool().unwrap_or(false), ..Default::default() };
            iam.permission().check(&q, opts).await.map_or_else(code, |allowed| json!({"allowed": allowed}))
        };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "PEER {out}").unwrap();
        stdout.flush().unwrap();
    }
}

/// N instances as separate OS processes sharing one Redis (`cache`): a session cached by this
/// process is a hit in each; revoked through one of them, it is refused by all (this one
/// included); a Keto decision each of them cached is denied by all once this process revoked
/// the tuple. The propagation delays are printed.
async fn separate_processes_share(cache: Value, what: &str) {
    const N: usize = 3;
    let mut cfg = common::iam_config();
    cfg["session_cache"] = cache;
    cfg["tenants"]["customer"]["cache"] = json!({"session_ttl_ms": 600_000, "permission_ttl_ms": 600_000});
    let here = Iam::from_value(&cfg).unwrap();
    let mut peers: Vec<PeerProcess> = (0..N).map(|_| PeerProcess::spawn(&cfg)).collect();

    let (id, token) = common::native_session(&here, "customer").await;
    let s = here.session().whoami(&bearer(&token)).await.unwrap();
    for p in &mut peers {
        assert_eq!(p.whoami(&token), json!({"identity": id, "cache_hit": true}), "the entry this process cached");
    }
    // An eviction a replica did not acknowledge in time is an outage the caller retries (a
    // replica of a busy machine can be late); anything else must be a success.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = peers[0].revoke(&s.id);
        if r == json!({"ok": true}) {
            break;
        }
        assert_eq!(r, json!({"code": "UpstreamUnavailable"}), "the revoke through a peer");
        assert!(std::time::Instant::now() < deadline, "the revoke never took");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start = std::time::Instant::now();
    let mut took = Vec::new();
    for p in &mut peers[1..] {
        assert_eq!(p.whoami(&token), json!({"code": "Unauthorized"}), "revoked through another process");
        took.push(start.elapsed());
    }
    assert_eq!(here.session().whoami(&bearer(&token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    eprintln!("{what}: session revoke in one process → refused by the other {}: {took:?}", N - 1);
    remove(&here, &id).await;

    // Each peer caches `allowed` while Keto no longer has the tuple (granted and revoked by an
    // instance sharing no Redis; retried until each peer's invalidation channel is up).
    let outside = keto_iam(json!("none"));
    let u = uuid::Uuid::new_v4().simple().to_string();
    let q = PermissionTuple {
        namespace: "documents".into(),
        object: format!("doc-{u}"),
        relation: "view".into(),
        subject: Subject::Id(format!("dave-{u}")),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for p in &mut peers {
        loop {
            outside.permission().grant(&q).await.unwrap();
            assert!(p.check(&q, true));
            outside.permission().revoke(&q).await.unwrap();
            if p.check(&q, false) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "a peer never cached the decision");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    here.permission().revoke(&q).await.unwrap();
    let start = std::time::Instant::now();
    let mut took = Vec::new();
    for p in &mut peers {
        while p.check(&q, false) {
            assert!(start.elapsed() < Duration::from_secs(10), "a peer served its cached allow 10 s after the revoke");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        took.push(start.elapsed());
    }
    eprintln!("{what}: keto revoke in one process → denied by {N} others: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn separate_processes() {
    let prefix = prefix();
    let node =
        json!({"redis": {"url": common::stack()["redis"]["url"], "keys": [common::redis_key()], "key_prefix": prefix}});
    separate_processes_share(node, "one node").await;
    let t = Topology::up("cluster");
    separate_processes_share(t.session_cache(&self::prefix()), "cluster").await;
}

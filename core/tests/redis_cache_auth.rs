//! The Redis session cache does not trust Redis (issue 19, item 8), against the real Kratos and
//! Redis of the stack: a session planted in Redis by someone without the cache key is never
//! handed out (whoami asks Kratos, the entry is deleted, `session.cache_rejected` is audited); a
//! real entry copied under another token's, prefix's or deployment's name is refused too;
//! deployments with other keys or prefixes do not read each other's entries, those with the
//! same do; rotation reads entries sealed with a key listed second; Redis holds neither tokens,
//! trait values nor a stable token hash in clear; bad cache keys and prefixes are configuration
//! errors. Scenario data: tests/security/redis_cache.json.

mod common;

use base64::Engine as _;
use common::Collect;
use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam, IamConfig, Secret};
use serde_json::{json, Value};
use std::sync::Arc;

fn scenario() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/security/redis_cache.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn new_key() -> String {
    let mut raw = Vec::with_capacity(32);
    raw.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    raw.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let key = base64::engine::general_purpose::STANDARD.encode(raw);
    common::leak_capture::register_secret(&key);
    key
}

/// A key prefix no other test uses, so this test's entries can be listed.
fn new_prefix() -> String {
    format!("t-{}", uuid::Uuid::new_v4().simple())
}

fn iam(prefix: &str, keys: &[&str], sink: Arc<Collect>) -> Iam {
    iam_ttl(prefix, keys, sink, 60_000)
}

fn iam_ttl(prefix: &str, keys: &[&str], sink: Arc<Collect>, session_ttl_ms: u64) -> Iam {
    let mut cfg = common::iam_config();
    cfg["session_cache"] =
        json!({"redis": {"url": common::stack()["redis"]["url"], "key_prefix": prefix, "keys": keys}});
    cfg["tenants"]["customer"]["cache"] = json!({ "session_ttl_ms": session_ttl_ms });
    cfg["audit"] = json!({"sink": "callback"});
    Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink).build().unwrap()
}

async fn redis() -> redis::aio::MultiplexedConnection {
    let url = common::stack()["redis"]["url"].as_str().unwrap().to_owned();
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

async fn cmd<T: redis::FromRedisValue>(c: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await.unwrap()
}

/// The session entries under `prefix`, sorted.
async fn session_names(prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = cmd(&mut redis().await, &["KEYS", &format!("{prefix}:session:*")]).await;
    names.sort();
    names
}

fn token_req(token: &Secret) -> http::HeaderMap {
    header_map([("x-session-token", token.expose())])
}

fn rejected(sink: &Collect) -> Vec<ory_iam::AuditEvent> {
    sink.0.lock().unwrap().iter().filter(|e| e.name == "session.cache_rejected").cloned().collect()
}

/// A user whose session is cached by `iam`: (identity id, token, the one new entry's name).
async fn cached_user(iam: &Iam, prefix: &str) -> (String, Secret, String) {
    let before = session_names(prefix).await;
    let (id, token) = common::native_session(iam, "customer").await;
    let s = iam.session().whoami(&token_req(&token)).await.unwrap();
    assert!(!s.cache_hit);
    assert!(iam.session().whoami(&token_req(&token)).await.unwrap().cache_hit, "cached");
    let new: Vec<String> = session_names(prefix).await.into_iter().filter(|n| !before.contains(n)).collect();
    assert_eq!(new.len(), 1, "one entry per cached credential: {new:?}");
    (id, token, new[0].clone())
}

fn forged_json() -> String {
    serde_json::to_string(&scenario()["forged_session"]).unwrap()
}

/// (a) A plain session JSON planted under the name a token's session is cached under is not a
/// session: whoami asks Kratos (the real user), deletes it, audits; once Kratos no longer
/// knows the token, the planted session does not keep it alive.
#[tokio::test]
async fn a_planted_session_is_never_handed_out() {
    let (sink, prefix) = (Arc::new(Collect::default()), new_prefix());
    let iam = iam(&prefix, &[&new_key()], sink.clone());
    let (id, token, name) = cached_user(&iam, &prefix).await;
    let mut r = redis().await;
    let forged = forged_json();
    let _: () = cmd(&mut r, &["SET", &name, &forged, "PX", "600000"]).await;

    let s = iam.session().whoami(&token_req(&token)).await.unwrap();
    assert_eq!(s.identity.id, id, "Kratos' session, not the planted one");
    assert!(!s.cache_hit, "the planted entry is a miss");
    let ev = rejected(&sink);
    assert_eq!(ev.len(), 1, "audited once");
    assert_eq!((ev[0].tenant.as_str(), ev[0].result.as_str()), ("customer", "denied"));
    assert_eq!(ev[0].attributes.get("reason"), Some(&json!("unauthenticated")));
    assert!(!serde_json::to_string(&ev[0]).unwrap().contains(token.expose()));
    let now: Option<String> = cmd(&mut r, &["GET", &name]).await;
    assert_ne!(now.as_deref(), Some(forged.as_str()), "the planted value was replaced");

    // Kratos forgets the session (revoked through the library: its entry is evicted); the
    // attacker plants it again under the same name.
    iam.session().revoke(&s.id).await.unwrap();
    let _: () = cmd(&mut r, &["SET", &name, &forged, "PX", "600000"]).await;
    let e = iam.session().whoami(&token_req(&token)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert_eq!(rejected(&sink).len(), 2);
    let gone: Option<String> = cmd(&mut r, &["GET", &name]).await;
    assert_eq!(gone, None, "the planted value was deleted");
    iam.identity().delete(&id).await.unwrap();
}

/// A genuine entry saved by someone with access to Redis and written back, without an expiry,
/// after the session was revoked: once the time it was cached for has passed, it is not read
/// (its deadline is sealed with it), so a saved entry cannot outlive `session_ttl_ms`.
#[tokio::test]
async fn a_saved_entry_written_back_later_is_not_read_past_its_ttl() {
    let (sink, prefix) = (Arc::new(Collect::default()), new_prefix());
    let iam = iam_ttl(&prefix, &[&new_key()], sink.clone(), 300);
    let (id, token, name) = cached_user(&iam, &prefix).await;
    let mut r = redis().await;
    let saved: String = cmd(&mut r, &["GET", &name]).await;
    let s = iam.session().whoami(&token_req(&token)).await.unwrap();
    iam.session().revoke(&s.id).await.unwrap();
    // Waits out the cache lifetime (300 ms) the entry was sealed with; nothing is synchronised
    // by this sleep.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let _: () = cmd(&mut r, &["SET", &name, &saved]).await;
    let e = iam.session().whoami(&token_req(&token)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "the revoked session came back from the saved entry");
    iam.identity().delete(&id).await.unwrap();
}

/// (b) A genuine entry copied under another token's name, or under the same token's name of
/// another prefix, fails authentication: a miss, never the other session.
#[tokio::test]
async fn a_real_entry_copied_to_another_slot_is_refused() {
    let (sink, prefix) = (Arc::new(Collect::default()), new_prefix());
    let key = new_key();
    let iam = iam(&prefix, &[&key], sink.clone());
    let (id1, _t1, name1) = cached_user(&iam, &prefix).await;
    let (id2, t2, name2) = cached_user(&iam, &prefix).await;
    let mut r = redis().await;
    let _: bool = cmd(&mut r, &["COPY", &name1, &name2, "REPLACE"]).await;
    let s = iam.session().whoami(&token_req(&t2)).await.unwrap();
    assert_eq!(s.identity.id, id2, "never the session copied from another token's slot");
    assert!(!s.cache_hit);
    assert_eq!(rejected(&sink).len(), 1);

    // Same key, other prefix: the same token's own session, moved, is refused as well.
    let (sink_b, prefix_b) = (Arc::new(Collect::default()), new_prefix());
    let other = self::iam(&prefix_b, &[&key], sink_b.clone());
    assert!(!other.session().whoami(&token_req(&t2)).await.unwrap().cache_hit, "prefixes do not share");
    let [name_b] = <[String; 1]>::try_from(session_names(&prefix_b).await).unwrap();
    let _: bool = cmd(&mut r, &["COPY", &name2, &name_b, "REPLACE"]).await;
    assert!(!other.session().whoami(&token_req(&t2)).await.unwrap().cache_hit);
    assert_eq!(rejected(&sink_b).len(), 1, "an entry of another prefix does not authenticate here");
    for id in [id1, id2] {
        iam.identity().delete(&id).await.unwrap();
    }
}

/// (c) Two deployments sharing one Redis and tenant name: with other keys, or another prefix,
/// neither reads the other's entries (and nothing is reported: they never look at them); with
/// the same key and prefix, they share.
#[tokio::test]
async fn only_the_same_key_and_prefix_share_entries() {
    let sink = Arc::new(Collect::default());
    let (prefix, key) = (new_prefix(), new_key());
    let a = iam(&prefix, &[&key], sink.clone());
    let (id, token, _) = cached_user(&a, &prefix).await;
    let same = iam(&prefix, &[&key], sink.clone());
    let s = same.session().whoami(&token_req(&token)).await.unwrap();
    assert!(s.cache_hit, "same key and prefix: a hit across instances");
    assert_eq!(s.identity.id, id);
    let other_key = iam(&prefix, &[&new_key()], sink.clone());
    assert!(!other_key.session().whoami(&token_req(&token)).await.unwrap().cache_hit, "another key");
    let other_prefix = iam(&new_prefix(), &[&key], sink.clone());
    assert!(!other_prefix.session().whoami(&token_req(&token)).await.unwrap().cache_hit, "another prefix");
    assert!(rejected(&sink).is_empty(), "their entries are under other names: never even read");
    // A revoke through one instance evicts the shared entry for all of them.
    same.session().revoke(&s.id).await.unwrap();
    assert_eq!(a.session().whoami(&token_req(&token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    a.identity().delete(&id).await.unwrap();
}

/// A key rotation under way: a user cached by `before` (keys `[old]`), read by `rotated`
/// (keys `[new, old]`) as a hit.
struct Rotation {
    sink: Arc<Collect>,
    prefix: String,
    new: String,
    before: Iam,
    rotated: Iam,
    id: String,
    token: Secret,
    session: ory_iam::dto::Session,
}

async fn rotation() -> Rotation {
    let sink = Arc::new(Collect::default());
    let (prefix, old, new) = (new_prefix(), new_key(), new_key());
    let before = iam(&prefix, &[&old], sink.clone());
    let (id, token, _) = cached_user(&before, &prefix).await;
    let rotated = iam(&prefix, &[&new, &old], sink.clone());
    let session = rotated.session().whoami(&token_req(&token)).await.unwrap();
    assert!(session.cache_hit, "sealed with the old key, read with it listed second");
    assert_eq!(session.identity.id, id);
    Rotation { sink, prefix, new, before, rotated, id, token, session }
}

/// (d) Rotation: with `[new, old]`, entries sealed with `old` are still hits and new entries
/// are sealed with `new`; an instance that knows only `old` reads none of those.
#[tokio::test]
async fn rotation_reads_entries_of_the_second_key() {
    let Rotation { sink, prefix, new, before, rotated, id, token, .. } = rotation().await;
    let only_new = iam(&prefix, &[&new], sink.clone());
    assert!(!only_new.session().whoami(&token_req(&token)).await.unwrap().cache_hit, "the old key is gone");
    let (id2, token2, _) = cached_user(&rotated, &prefix).await;
    assert!(only_new.session().whoami(&token_req(&token2)).await.unwrap().cache_hit, "the first key seals");
    assert!(!before.session().whoami(&token_req(&token2)).await.unwrap().cache_hit);
    assert!(rejected(&sink).is_empty());
    for id in [id, id2] {
        before.identity().delete(&id).await.unwrap();
    }
}

/// (d2) Rotation and revoke tombstones: an admin revoke through an instance with `[new, old]`
/// leaves a tombstone sealed with `new` under an entry named by `old`; every instance that lists
/// `new` first refuses the credential from Redis (no session handed out, not a rejected value),
/// and an instance that knows only `old` cannot open it and asks Kratos (who refuses too).
#[tokio::test]
async fn a_revoke_tombstone_under_an_old_keys_name_is_read() {
    let Rotation { sink, prefix, new, before, rotated, id, token, session: s, .. } = rotation().await;
    rotated.session().revoke(&s.id).await.unwrap();
    let mut c = redis().await;
    let names: Vec<String> = cmd(&mut c, &["KEYS", &format!("{prefix}:session:*")]).await;
    assert_eq!(names.len(), 1, "the tombstone replaces the entry: {names:?}");
    for (name, who, rejections) in [("rotated", &rotated, 0), ("old key only", &before, 1)] {
        let e = who.session().whoami(&token_req(&token)).await.err().unwrap_or_else(|| panic!("{name} served it"));
        assert_eq!(e.kind(), ErrorKind::Unauthorized, "{name}");
        assert_eq!(rejected(&sink).len(), rejections, "{name}: {:?}", rejected(&sink));
    }
    let only_new = iam(&prefix, &[&new], sink.clone());
    assert_eq!(only_new.session().whoami(&token_req(&token)).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    // The old-key-only instance could not open the tombstone: reported and deleted like any
    // value it did not seal (counted above). The rotated ones read it.
    before.identity().delete(&id).await.unwrap();
}

/// (e) Redis without a key, keys that are not base64 of 32 bytes, and bad prefixes are
/// configuration errors naming the path, never the value.
#[tokio::test]
async fn bad_cache_keys_and_prefixes_are_configuration_errors() {
    for case in scenario()["bad_configs"].as_array().unwrap() {
        let mut redis = json!({"url": common::stack()["redis"]["url"]});
        redis.as_object_mut().unwrap().extend(case["redis"].as_object().unwrap().clone());
        let mut cfg = common::iam_config();
        cfg["session_cache"] = json!({ "redis": redis });
        let e = Iam::from_value(&cfg).err().unwrap_or_else(|| panic!("{} accepted", case["name"]));
        assert_eq!(e.kind(), ErrorKind::Configuration, "{}", case["name"]);
        let paths: Vec<&str> = e.fields().iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&case["path"].as_str().unwrap()), "{}: {paths:?}", case["name"]);
        for k in case["redis"]["keys"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            assert!(!e.to_string().contains(k), "{}: the key is echoed", case["name"]);
        }
    }
}

/// (f) What Redis holds for a cached session: no token, no trait value, not even the unkeyed
/// hash of the token (a stable token fingerprint); the session id and identity id name the
/// eviction sets.
#[tokio::test]
async fn redis_holds_no_token_traits_or_token_hash_in_clear() {
    let (sink, prefix) = (Arc::new(Collect::default()), new_prefix());
    let iam = iam(&prefix, &[&new_key()], sink);
    let (id, token, _) = cached_user(&iam, &prefix).await;
    let s = iam.session().whoami(&token_req(&token)).await.unwrap();
    let email = s.identity.traits.as_ref().unwrap()["email"].as_str().unwrap().to_owned();
    let plain_hash = sha2_hex(format!("customer\0token\0{}", token.expose()));
    let mut r = redis().await;
    let names: Vec<String> = cmd(&mut r, &["KEYS", &format!("{prefix}:*")]).await;
    assert_eq!(names.len(), 3, "the entry and the session's and identity's eviction sets: {names:?}");
    let mut dump = String::new();
    for n in &names {
        dump.push_str(n);
        let ty: String = cmd(&mut r, &["TYPE", n]).await;
        match ty.as_str() {
            "string" => dump.push_str(&cmd::<String>(&mut r, &["GET", n]).await),
            "set" => dump.push_str(&cmd::<Vec<String>>(&mut r, &["SMEMBERS", n]).await.join(" ")),
            other => panic!("unexpected {other}"),
        }
    }
    let token_part = token.expose().trim_start_matches("ory_st_");
    assert!(!dump.contains(token_part), "the token");
    assert!(!dump.contains(&email) && !dump.contains(email.split('@').next().unwrap()), "a trait value");
    assert!(!dump.contains("\"traits\"") && !dump.contains("\"identity\""), "session JSON in clear");
    assert!(!dump.contains(&plain_hash), "the unkeyed token hash");
    iam.identity().delete(&id).await.unwrap();
}

fn sha2_hex(s: String) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

//! In-process LRU session cache with per-entry expiry.
//!
//! Entries are kept compact: a decoded `Session` is ~2.4 KB of small allocations (two dozen
//! strings, a `BTreeMap` node for the traits, the address lists), its JSON ~0.9 KB, so 100,000
//! cached sessions take ~240 MB decoded; stored as JSON arrays (no field names, ~0.5 KB) they
//! take about half (bench/REPORT.md). Decoding costs a few µs, so the most recently used
//! sessions are also kept decoded in a small hot tier: a hit there is a clone, as before.

use crate::dto::{Identity, RecoveryAddress, Session, VerifiableAddress};
use lru::LruCache;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Decoded sessions kept for the most recently used keys (a few MB at most).
const HOT_ENTRIES: usize = 1024;

type Key = [u8; 32];

struct Entry {
    json: Box<[u8]>,
    until: Instant,
    /// `session_tag(tenant, session id)`, so `evict_session` needs no decoding. A collision only
    /// evicts one more entry (a cache miss), never keeps a revoked session.
    tag: u64,
    /// `session_tag(tenant, identity id)`, for `evict_identity`, the same way.
    ident: u64,
}

struct Inner {
    cold: LruCache<Key, Entry>,
    hot: LruCache<Key, (Session, Instant)>,
}

pub(crate) struct MemoryCache {
    inner: Mutex<Inner>,
}

/// Keys are the 64-hex-digit hashes of `cache::key`; stored as their 32 bytes.
fn key_bytes(key: &str) -> Key {
    let b = key.as_bytes();
    let mut out = [0u8; 32];
    let hex = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if b.len() == 64 {
        let mut ok = true;
        for (i, o) in out.iter_mut().enumerate() {
            match (hex(b[2 * i]), hex(b[2 * i + 1])) {
                (Some(h), Some(l)) => *o = h << 4 | l,
                _ => ok = false,
            }
        }
        if ok {
            return out;
        }
    }
    Sha256::digest(b).into()
}

type PackedVerifiable = (Option<String>, String, String, bool, String, Option<String>, Option<String>, Option<String>);
type PackedRecovery = (Option<String>, String, String, Option<String>, Option<String>);
#[allow(clippy::type_complexity)]
type PackedIdentity = (
    String,
    String,
    String,
    Option<String>,
    Option<Value>,
    Option<Value>,
    Option<Value>,
    Option<Vec<PackedVerifiable>>,
    Option<Vec<PackedRecovery>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
#[allow(clippy::type_complexity)]
type Packed = (
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    PackedIdentity,
    Vec<String>,
    bool,
);

/// A session as nested JSON arrays: the same data without the field names (~45 % of the JSON).
/// The exhaustive patterns make a field added to the DTOs a compile error here until stored.
fn pack(s: &Session) -> serde_json::Result<Vec<u8>> {
    let Session {
        tenant,
        id,
        active,
        expires_at,
        authenticated_at,
        issued_at,
        authenticator_assurance_level,
        identity,
        authentication_methods,
        cache_hit,
    } = s;
    let Identity {
        tenant: i_tenant,
        id: i_id,
        schema_id,
        state,
        traits,
        metadata_public,
        metadata_admin,
        verifiable_addresses,
        recovery_addresses,
        created_at,
        updated_at,
        state_changed_at,
        schema_url,
    } = identity;
    let verifiable = verifiable_addresses.as_ref().map(|v| {
        v.iter()
            .map(|VerifiableAddress { id, value, via, verified, status, verified_at, created_at, updated_at }| {
                (id, value, via, verified, status, verified_at, created_at, updated_at)
            })
            .collect::<Vec<_>>()
    });
    let recovery = recovery_addresses.as_ref().map(|v| {
        v.iter()
            .map(|RecoveryAddress { id, value, via, created_at, updated_at }| (id, value, via, created_at, updated_at))
            .collect::<Vec<_>>()
    });
    let identity = (
        i_tenant,
        i_id,
        schema_id,
        state,
        traits,
        metadata_public,
        metadata_admin,
        verifiable,
        recovery,
        created_at,
        updated_at,
        state_changed_at,
        schema_url,
    );
    serde_json::to_vec(&(
        tenant,
        id,
        active,
        expires_at,
        authenticated_at,
        issued_at,
        authenticator_assurance_level,
        identity,
        authentication_methods,
        cache_hit,
    ))
}

fn unpack(b: &[u8]) -> serde_json::Result<Session> {
    let (
        tenant,
        id,
        active,
        expires_at,
        authenticated_at,
        issued_at,
        authenticator_assurance_level,
        i,
        authentication_methods,
        cache_hit,
    ): Packed = serde_json::from_slice(b)?;
    let identity = Identity {
        tenant: i.0,
        id: i.1,
        schema_id: i.2,
        state: i.3,
        traits: i.4,
        metadata_public: i.5,
        metadata_admin: i.6,
        verifiable_addresses: i.7.map(|v| {
            v.into_iter()
                .map(|(id, value, via, verified, status, verified_at, created_at, updated_at)| VerifiableAddress {
                    id,
                    value,
                    via,
                    verified,
                    status,
                    verified_at,
                    created_at,
                    updated_at,
                })
                .collect()
        }),
        recovery_addresses: i.8.map(|v| {
            v.into_iter()
                .map(|(id, value, via, created_at, updated_at)| RecoveryAddress {
                    id,
                    value,
                    via,
                    created_at,
                    updated_at,
                })
                .collect()
        }),
        created_at: i.9,
        updated_at: i.10,
        state_changed_at: i.11,
        schema_url: i.12,
    };
    Ok(Session {
        tenant,
        id,
        active,
        expires_at,
        authenticated_at,
        issued_at,
        authenticator_assurance_level,
        identity,
        authentication_methods,
        cache_hit,
    })
}

fn session_tag(tenant: &str, session_id: &str) -> u64 {
    let d =
        Sha256::new().chain_update(tenant.as_bytes()).chain_update([0]).chain_update(session_id.as_bytes()).finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

impl MemoryCache {
    pub fn new(max_entries: usize) -> Self {
        let cap = NonZeroUsize::new(max_entries.max(1)).expect("non-zero");
        let hot = NonZeroUsize::new(max_entries.clamp(1, HOT_ENTRIES)).expect("non-zero");
        MemoryCache { inner: Mutex::new(Inner { cold: LruCache::new(cap), hot: LruCache::new(hot) }) }
    }

    pub fn get(&self, key: &str) -> Option<Session> {
        let k = key_bytes(key);
        let mut inner = self.inner.lock().ok()?;
        let now = Instant::now();
        if let Some((s, until)) = inner.hot.get(&k) {
            if *until > now {
                let s = s.clone();
                // Keep the entry's place in the size-bounded LRU in step with its use.
                inner.cold.promote(&k);
                return Some(s);
            }
        }
        let (json, until) = match inner.cold.get(&k) {
            Some(e) if e.until > now => (e.json.clone(), e.until),
            Some(_) => {
                inner.cold.pop(&k);
                inner.hot.pop(&k);
                return None;
            }
            None => {
                inner.hot.pop(&k);
                return None;
            }
        };
        drop(inner);
        // An entry that no longer decodes (it cannot happen with entries we wrote) is a miss.
        let s = unpack(&json).ok()?;
        if let Ok(mut inner) = self.inner.lock() {
            // Only if it was not evicted or replaced meanwhile.
            if inner.cold.peek(&k).is_some_and(|e| e.until == until) {
                inner.hot.put(k, (s.clone(), until));
            }
        }
        Some(s)
    }

    pub fn put(&self, key: &str, s: &Session, ttl: Duration) {
        let Ok(buf) = pack(s) else { return };
        // An exact-size copy: shrinking the grown buffer in place would leave a small free hole
        // after every long-lived entry (~25 % more RSS at 100,000 entries).
        let json: Box<[u8]> = buf.as_slice().into();
        drop(buf);
        let k = key_bytes(key);
        let until = crate::runtime::instant_after(ttl);
        let tag = session_tag(&s.tenant, &s.id);
        let ident = session_tag(&s.tenant, &s.identity.id);
        if let Ok(mut inner) = self.inner.lock() {
            inner.cold.put(k, Entry { json, until, tag, ident });
            inner.hot.put(k, (s.clone(), until));
        }
    }

    /// Drop every entry (`Iam::close`).
    pub fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.cold.clear();
            inner.hot.clear();
        }
    }

    pub fn evict_key(&self, key: &str) {
        let k = key_bytes(key);
        if let Ok(mut inner) = self.inner.lock() {
            inner.cold.pop(&k);
            inner.hot.pop(&k);
        }
    }

    /// Drop every session of one identity (it was deleted, deactivated or changed).
    pub fn evict_identity(&self, tenant: &str, identity_id: &str) {
        let ident = session_tag(tenant, identity_id);
        self.evict_where(|e| e.ident == ident, |s| s.identity.id == identity_id && s.tenant == tenant);
    }

    pub fn evict_session(&self, tenant: &str, session_id: &str) {
        let tag = session_tag(tenant, session_id);
        self.evict_where(|e| e.tag == tag, |s| s.id == session_id && s.tenant == tenant);
    }

    /// Drop every entry whose compact form matches `cold` (and its decoded twin), then any
    /// decoded entry matching `hot` whose compact twin is gone (it cannot be, but cheap to be
    /// sure).
    fn evict_where(&self, cold: impl Fn(&Entry) -> bool, hot: impl Fn(&Session) -> bool) {
        if let Ok(mut inner) = self.inner.lock() {
            let doomed: Vec<Key> = inner.cold.iter().filter(|(_, e)| cold(e)).map(|(k, _)| *k).collect();
            for k in doomed {
                inner.cold.pop(&k);
                inner.hot.pop(&k);
            }
            let doomed: Vec<Key> = inner.hot.iter().filter(|(_, (s, _))| hot(s)).map(|(k, _)| *k).collect();
            for k in doomed {
                inner.hot.pop(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::Identity;
    use serde_json::json;

    fn session(tenant: &str, id: &str) -> Session {
        let mut identity = Identity::reference(tenant, "0b7d1c35-4c5b-4e9e-9d65-5b0c6f3f0a11");
        identity.traits = Some(json!({"email": "a@example.com", "name": {"first": "Ada"}}));
        Session {
            tenant: tenant.into(),
            id: id.into(),
            active: true,
            expires_at: Some("2999-01-01T00:00:00Z".into()),
            authenticated_at: None,
            issued_at: None,
            authenticator_assurance_level: Some("aal1".into()),
            identity,
            authentication_methods: vec!["password".into()],
            cache_hit: false,
        }
    }

    fn key(n: u8) -> String {
        crate::cache::key("t", "token", &format!("tok-{n}"))
    }

    #[test]
    fn hot_and_cold_hits_return_the_same_session() {
        let c = MemoryCache::new(2000);
        for n in 0..=200u8 {
            c.put(&key(n), &session("t", &format!("s{n}")), Duration::from_secs(60));
        }
        // More keys than the hot tier holds (when HOT_ENTRIES is small) are still answered, decoded.
        for n in 0..=200u8 {
            assert_eq!(c.get(&key(n)), Some(session("t", &format!("s{n}"))));
        }
        assert_eq!(c.get(&crate::cache::key("t", "token", "other")), None);
    }

    #[test]
    fn cold_entries_decode_after_the_hot_tier_forgets_them() {
        let c = MemoryCache::new(HOT_ENTRIES * 2);
        let n = HOT_ENTRIES + 10;
        let k = |i: usize| crate::cache::key("t", "token", &i.to_string());
        for i in 0..n {
            c.put(&k(i), &session("t", &i.to_string()), Duration::from_secs(60));
        }
        assert!(c.inner.lock().unwrap().hot.peek(&key_bytes(&k(0))).is_none(), "the oldest left the hot tier");
        assert_eq!(c.get(&k(0)), Some(session("t", "0")));
        assert!(c.inner.lock().unwrap().hot.peek(&key_bytes(&k(0))).is_some(), "a cold hit is promoted");
    }

    #[test]
    fn packing_round_trips_every_field() {
        let mut s = session("t", "s1");
        s.issued_at = Some("2026-01-01T00:00:00Z".into());
        s.cache_hit = true;
        s.identity.metadata_public = Some(json!({"plan": "pro"}));
        s.identity.verifiable_addresses = Some(vec![VerifiableAddress {
            id: Some("a1".into()),
            value: "a@example.com".into(),
            via: "email".into(),
            verified: true,
            status: "completed".into(),
            verified_at: Some("2026-01-01T00:00:01Z".into()),
            created_at: Some("2026-01-01T00:00:00Z".into()),
            updated_at: None,
        }]);
        s.identity.recovery_addresses = Some(vec![RecoveryAddress {
            id: None,
            value: "a@example.com".into(),
            via: "email".into(),
            created_at: None,
            updated_at: Some("2026-01-01T00:00:02Z".into()),
        }]);
        s.identity.state_changed_at = Some("2026-01-01T00:00:03Z".into());
        s.identity.schema_url = Some("http://127.0.0.1/schemas/Y3VzdG9tZXI".into());
        s.identity.created_at = Some("2026-01-01T00:00:00Z".into());
        let b = pack(&s).unwrap();
        assert_eq!(unpack(&b).unwrap(), s);
        assert!(b.len() < serde_json::to_vec(&s).unwrap().len() * 3 / 4, "smaller than the JSON object");
    }

    #[test]
    fn expiry_capacity_and_eviction() {
        let c = MemoryCache::new(2);
        c.put(&key(1), &session("t", "s1"), Duration::ZERO);
        assert_eq!(c.get(&key(1)), None, "expired");
        c.put(&key(1), &session("t", "s1"), Duration::from_secs(60));
        c.put(&key(2), &session("t", "s2"), Duration::from_secs(60));
        c.put(&key(3), &session("t", "s3"), Duration::from_secs(60));
        assert_eq!(c.get(&key(1)), None, "least recently used went over capacity");
        c.put(&key(4), &session("u", "s2"), Duration::from_secs(60));
        c.evict_session("t", "s2");
        assert_eq!(c.get(&key(2)), None);
        assert!(c.get(&key(4)).is_some(), "same session id, other tenant: kept");
        c.evict_key(&key(4));
        assert_eq!(c.get(&key(4)), None);
    }
}

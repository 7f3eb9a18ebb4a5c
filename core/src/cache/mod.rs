//! The session cache: none, in-memory LRU, or Redis; shared by all tenants with the tenant in
//! every key. Cache trouble never fails a request: it is logged and Kratos is asked instead
//! (fail-open for the cache, never for authentication).

pub(crate) mod invalidation;
mod memory;
mod redis_store;
mod sealed;

use crate::config::SessionCacheConfig;
use crate::dto::Session;
use crate::error::{FieldError, Result};
use futures::future::{BoxFuture, FutureExt, Shared};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A configured lifetime for a moka cache: at least 1 ms, and at most 100 years (moka panics
/// on more than 1000; a config value is never a reason to panic).
pub(crate) fn bounded_ttl(ms: u64) -> Duration {
    Duration::from_millis(ms.clamp(1, 100 * 365 * 24 * 3600 * 1000))
}

/// How long a cache backend may take before we give up on it for this call.
pub(crate) const CACHE_OP_TIMEOUT: Duration = Duration::from_millis(250);

/// Redis calls are boxed: their futures (three topologies, each with its own connection type)
/// would otherwise nest into every caller's state machine, past the compiler's layout depth.
pub(crate) enum Backend {
    None,
    Memory(memory::MemoryCache),
    Redis(SharedRedis),
}

/// The Redis cache, whose operations can only be run through [`SharedRedis::run`]: the redis
/// crate starts each connection's driver task (and reconnections) on the runtime that polls the
/// connecting call, and one connection serves every thread, so a blocking call on its thread's
/// local runtime runs the operation on the shared runtime (see [`crate::runtime::on_shared`]).
/// An operation added later cannot forget it: there is no other way to the `RedisCache`.
pub(crate) struct SharedRedis(Arc<redis_store::RedisCache>);

impl SharedRedis {
    async fn run<T, Fut>(&self, op: impl FnOnce(Arc<redis_store::RedisCache>) -> Fut) -> T
    where
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        crate::runtime::on_shared(Box::pin(op(self.0.clone()))).await
    }

    fn epochs(&self) -> Arc<invalidation::Epochs> {
        self.0.epochs()
    }

    /// Starts its task on the shared runtime when the caller is on a local one (see
    /// `RedisCache::subscribe`).
    fn subscribe(&self) {
        self.0.subscribe()
    }
}

/// What the session cache holds for a credential.
// Made and taken apart once per lookup, like `Option<Session>` before: boxing would only add
// an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Lookup {
    Hit(Session),
    Miss,
    /// Something was there that this deployment did not write (a miss, deleted; audited by
    /// the caller as `session.cache_rejected`).
    Rejected(Rejection),
    /// A tombstone: an admin revoked this credential's session and Kratos confirmed it (see
    /// `SessionStore::revoke_session`). Refused without asking Kratos.
    Revoked,
}

/// Why a cached value was refused; the `reason` of `session.cache_rejected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Not sealed by any of our keys for this name and tenant: forged, copied from another
    /// slot, tenant or deployment, or tampered with.
    Unauthenticated,
    /// Authentic, but not a session this version can read.
    Malformed,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Unauthenticated => "unauthenticated",
            Rejection::Malformed => "malformed",
        }
    }
}

type Flight = Shared<BoxFuture<'static, Result<Session>>>;

/// One shared `whoami` request: removed from the map when it ends, or when its last waiter
/// goes (every caller cancelled), so a later caller never joins a flight nobody drives.
struct FlightEntry {
    id: u64,
    /// The fork generation it started in: a child never joins its parent's flights.
    generation: u64,
    fut: Flight,
    waiters: usize,
}

/// Cache plus single-flight for `whoami`.
/// When a fetch began: this process's eviction count and the time (see [`SessionStore::put`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Since {
    evictions: u64,
    at: std::time::Instant,
}

pub(crate) struct SessionStore {
    backend: Backend,
    inflight: Mutex<HashMap<String, FlightEntry>>,
    /// Bumped by every eviction: a `whoami` that was asking Kratos across an eviction (a revoke,
    /// an identity change) stores nothing, so it cannot put the revoked session back.
    evictions: std::sync::atomic::AtomicU64,
}

/// A caller waiting on a flight; dropping it (done or cancelled) counts the caller out.
struct Waiter<'a> {
    store: &'a SessionStore,
    key: &'a str,
    id: u64,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let mut map = self.store.flights();
        if let Some(e) = map.get_mut(self.key).filter(|e| e.id == self.id) {
            e.waiters -= 1;
            if e.waiters == 0 {
                // Nobody is left to drive it: dropping the last handle cancels the request.
                map.remove(self.key);
            }
        }
    }
}

/// A Redis eviction's outcome as the write's: not confirmed, the write is an outage.
fn evicted(done: bool, tenant: &str) -> Result<()> {
    if done {
        Ok(())
    } else {
        Err(crate::Error::new(
            crate::ErrorKind::UpstreamUnavailable,
            "done in Kratos, but the shared session cache could not be updated (redis unavailable); retry",
        )
        .with_tenant(tenant))
    }
}

/// The cache key of a credential for a tenant: a hash, so no token sits in memory or Redis keys.
pub(crate) fn key(tenant: &str, kind: &str, material: &str) -> String {
    let mut h = Sha256::new();
    h.update(tenant.as_bytes());
    h.update([0]);
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(material.as_bytes());
    hex(&h.finalize())
}

/// Lower-case hex, by table: this runs on every whoami, cache hits included.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
    out
}

impl SessionStore {
    pub fn new(cfg: &SessionCacheConfig) -> crate::Result<Self> {
        let backend = match cfg {
            SessionCacheConfig::None => Backend::None,
            SessionCacheConfig::Memory { max_entries } => Backend::Memory(memory::MemoryCache::new(*max_entries)),
            SessionCacheConfig::Redis { topology, keys, tls, wait_replicas, wait_timeout_ms, .. } => {
                // Checked by the config's validation too; a hand-built config that skipped it
                // still never gets an unauthenticated shared cache.
                let keys = crate::config::decode_redis_keys(keys).map_err(|problems| {
                    crate::Error::configuration_fields(
                        problems
                            .into_iter()
                            .map(|(path, reason)| FieldError { path, reason: reason.into(), ..Default::default() })
                            .collect(),
                    )
                })?;
                let prefix = cfg.redis_key_prefix().unwrap_or(crate::config::DEFAULT_REDIS_KEY_PREFIX);
                Backend::Redis(SharedRedis(Arc::new(redis_store::RedisCache::new(
                    topology,
                    tls,
                    redis_store::Replicas {
                        wait: wait_replicas.unwrap_or_else(|| topology.default_wait_replicas()),
                        timeout: std::time::Duration::from_millis(
                            wait_timeout_ms.unwrap_or(crate::config::DEFAULT_REDIS_WAIT_TIMEOUT_MS),
                        ),
                    },
                    sealed::Namespace::new(prefix, &keys),
                )?)))
            }
        };
        Ok(SessionStore { backend, inflight: Mutex::new(HashMap::new()), evictions: Default::default() })
    }

    /// The epochs the in-memory tiers (Keto decisions, introspections) are kept under: moved by
    /// other instances' writes through Redis, always served without Redis.
    pub fn epochs(&self) -> Arc<invalidation::Epochs> {
        match &self.backend {
            Backend::Redis(r) => r.epochs(),
            _ => invalidation::Epochs::local(),
        }
    }

    /// Listen for other instances' writes (with Redis; see `RedisCache::subscribe`).
    pub fn subscribe(&self) {
        if let Backend::Redis(r) = &self.backend {
            r.subscribe();
        }
    }

    /// Tell every instance sharing this Redis that `tier` of `tenant` changed.
    pub async fn publish(&self, tier: invalidation::Tier, tenant: &str) {
        if let Backend::Redis(r) = &self.backend {
            let tenant = tenant.to_owned();
            r.run(|r| async move { r.publish(tier, &tenant).await }).await
        }
    }

    pub fn enabled(&self) -> bool {
        !matches!(self.backend, Backend::None)
    }

    /// The cached session of credential `key` of `tenant`.
    pub async fn get(&self, tenant: &str, key: &str) -> Lookup {
        match &self.backend {
            Backend::None => Lookup::Miss,
            Backend::Memory(m) => m.get(key).map_or(Lookup::Miss, Lookup::Hit),
            Backend::Redis(r) => {
                let (tenant, key) = (tenant.to_owned(), key.to_owned());
                r.run(|r| async move { r.get(&tenant, &key).await }).await
            }
        }
    }

    /// A lookup that never waits: the in-memory cache only (`None` for the other backends).
    pub fn get_now(&self, key: &str) -> Option<Session> {
        match &self.backend {
            Backend::Memory(m) => m.get(key),
            _ => None,
        }
    }

    /// The eviction count now: pass it to [`put`](Self::put) with what is fetched after it.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Mark the start of a fetch: pass it to [`put`](Self::put) with what it fetched.
    pub fn since(&self) -> Since {
        Since { evictions: self.evictions(), at: std::time::Instant::now() }
    }

    fn evicted(&self) {
        self.evictions.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Cache a session fetched after [`since`](Self::since); nothing when this process evicted
    /// anything meanwhile. With Redis, another process's eviction since then is seen by its
    /// fences (see `RedisCache::put`), and a fetch older than half a fence's life is not cached.
    pub async fn put(&self, key: &str, s: &Session, ttl: Duration, since: Since) {
        if ttl.is_zero() || self.evictions() != since.evictions {
            return;
        }
        match &self.backend {
            Backend::None => {}
            Backend::Memory(m) => m.put(key, s, ttl),
            Backend::Redis(r) => {
                if since.at.elapsed() < redis_store::FENCE_TTL / 2 {
                    let (key, s) = (key.to_owned(), s.clone());
                    r.run(|r| async move { r.put(&key, &s, ttl).await }).await
                }
            }
        }
    }

    /// `Iam::close`: the in-memory entries are dropped, the Redis connection closed (its entries
    /// stay, for other processes and the next `Iam`).
    pub async fn close(&self) {
        match &self.backend {
            Backend::None => {}
            Backend::Memory(m) => m.clear(),
            Backend::Redis(r) => r.run(|r| async move { r.close().await }).await,
        }
    }

    /// Drop one cached credential.
    /// Whether the cache is shared between processes (Redis).
    pub fn shared(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    /// Replay protection shared through Redis (see `RedisCache::first_sighting`); `None`
    /// without Redis or when it is unavailable.
    pub async fn first_sighting(&self, tenant: &str, jti: &str, ttl: Duration) -> Option<bool> {
        match &self.backend {
            Backend::Redis(r) => {
                let (tenant, jti) = (tenant.to_owned(), jti.to_owned());
                r.run(|r| async move { r.first_sighting(&tenant, &jti, ttl).await }).await
            }
            _ => None,
        }
    }

    /// Every eviction says whether it is done: `Err(upstream_unavailable)` when Redis could not
    /// confirm it (the entries may still be there, and be read by other processes: the caller
    /// reports the write as an outage, so it is retried).
    pub async fn evict_key(&self, tenant: &str, key: &str) -> Result<()> {
        self.evicted();
        match &self.backend {
            Backend::None => Ok(()),
            Backend::Memory(m) => {
                m.evict_key(key);
                Ok(())
            }
            Backend::Redis(r) => {
                let key = key.to_owned();
                evicted(r.run(|r| async move { r.evict_key(&key).await }).await, tenant)
            }
        }
    }

    /// Drop every cached credential of one session.
    pub async fn evict_session(&self, tenant: &str, session_id: &str) -> Result<()> {
        self.drop_session(tenant, session_id, false).await
    }

    /// After an admin revoke of `session_id` that Kratos confirmed: like
    /// [`evict_session`](Self::evict_session), but with Redis each of the session's entries is
    /// replaced by a sealed tombstone for the rest of its time, so every instance refuses the
    /// credential from Redis instead of asking Kratos (a refused whoami under load waits for
    /// Kratos' answer; the tombstone is one Redis read). Only a confirmed revoke of one session
    /// may leave tombstones: a revoked session never comes back, and the session's eviction set
    /// lists only its own credentials (an identity's set may meanwhile list a new session, and
    /// `revoke_mine` is answered 204 for someone else's session that Kratos left alone).
    pub async fn revoke_session(&self, tenant: &str, session_id: &str) -> Result<()> {
        self.drop_session(tenant, session_id, true).await
    }

    /// `evict_session`, leaving tombstones in Redis when `tombstones` (`revoke_session`).
    async fn drop_session(&self, tenant: &str, session_id: &str, tombstones: bool) -> Result<()> {
        self.evicted();
        match &self.backend {
            Backend::None => Ok(()),
            Backend::Memory(m) => {
                m.evict_session(tenant, session_id);
                Ok(())
            }
            Backend::Redis(r) => {
                let (t, id) = (tenant.to_owned(), session_id.to_owned());
                evicted(r.run(|r| async move { r.evict_session(&t, &id, tombstones).await }).await, tenant)
            }
        }
    }

    /// Drop every cached session of one identity (deleted, deactivated, its traits, metadata
    /// or credentials changed).
    pub async fn evict_identity(&self, tenant: &str, identity_id: &str) -> Result<()> {
        self.evicted();
        match &self.backend {
            Backend::None => Ok(()),
            Backend::Memory(m) => {
                m.evict_identity(tenant, identity_id);
                Ok(())
            }
            Backend::Redis(r) => {
                let (t, id) = (tenant.to_owned(), identity_id.to_owned());
                evicted(r.run(|r| async move { r.evict_identity(&t, &id).await }).await, tenant)
            }
        }
    }

    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<String, FlightEntry>> {
        self.inflight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `fetch` once for all concurrent callers with the same key.
    ///
    /// A flight is polled by whichever of its waiters gets there first, so its I/O and timers
    /// are registered on that waiter's runtime. Had a blocking call on its thread's local
    /// runtime led (or driven) it, the other waiters would stall as soon as that thread stopped
    /// running it (interrupted, or its own deadline passed). A call on a local runtime therefore
    /// joins or leads on the shared runtime: every flight runs on shared runtimes only.
    pub async fn single_flight<F>(self: &Arc<Self>, key: &str, fetch: F) -> Result<Session>
    where
        F: Future<Output = Result<Session>> + Send + 'static,
    {
        if crate::runtime::is_local() {
            let (me, key) = (self.clone(), key.to_owned());
            return crate::runtime::on_shared(async move { me.flight(&key, fetch).await }).await;
        }
        self.flight(key, fetch).await
    }

    async fn flight<F>(self: &Arc<Self>, key: &str, fetch: F) -> Result<Session>
    where
        F: Future<Output = Result<Session>> + Send + 'static,
    {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let generation = crate::runtime::fork_generation();
        let (id, flight) = {
            let mut map = self.flights();
            match map.get_mut(key) {
                Some(e) if e.generation == generation => {
                    e.waiters += 1;
                    (e.id, e.fut.clone())
                }
                other => {
                    if other.is_some() {
                        // A parent's flight, inherited through fork(): its request belongs to the
                        // parent's connections, so it is neither joined nor dropped here.
                        if let Some(old) = map.remove(key) {
                            std::mem::forget(old.fut);
                        }
                    }
                    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let me = Arc::downgrade(self);
                    let k = key.to_owned();
                    let fut = async move {
                        let out = fetch.await;
                        if let Some(me) = me.upgrade() {
                            let mut map = me.flights();
                            if map.get(&k).is_some_and(|e| e.id == id) {
                                map.remove(&k);
                            }
                        }
                        out
                    }
                    .boxed()
                    .shared();
                    map.insert(key.to_owned(), FlightEntry { id, generation, fut: fut.clone(), waiters: 1 });
                    (id, fut)
                }
            }
        };
        let _waiter = Waiter { store: self, key, id };
        flight.await
    }

    #[cfg(test)]
    pub fn inflight_len(&self) -> usize {
        self.flights().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let store = Arc::new(SessionStore::new(&SessionCacheConfig::None).unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let store = store.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .single_flight("k", async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err(crate::Error::validation("x"))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_err());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(store.inflight_len(), 0);
    }

    /// Every waiter of a flight cancelled: the flight goes with them, and the next caller with
    /// the same key starts its own instead of inheriting a future nobody drives.
    #[tokio::test]
    async fn a_flight_whose_waiters_all_left_is_gone() {
        let store = Arc::new(SessionStore::new(&SessionCacheConfig::None).unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let slow = |calls: Arc<AtomicUsize>| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(30)).await;
            Err(crate::Error::validation("never"))
        };
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let (store, calls) = (store.clone(), calls.clone());
                tokio::spawn(async move { store.single_flight("k", slow(calls)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(store.inflight_len(), 1);
        for w in &waiters {
            w.abort();
        }
        for w in waiters {
            assert!(w.await.unwrap_err().is_cancelled());
        }
        assert_eq!(store.inflight_len(), 0, "the abandoned flight stayed in the map");
        let quick = {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(crate::Error::new(crate::ErrorKind::Conflict, "fresh"))
            }
        };
        let r = tokio::time::timeout(Duration::from_secs(5), store.single_flight("k", quick)).await;
        assert_eq!(r.expect("joined the abandoned flight").unwrap_err().kind(), crate::ErrorKind::Conflict);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one shared fetch, then a fresh one");
        assert_eq!(store.inflight_len(), 0);
    }

    /// A blocking call (on its thread's local runtime) starts a flight, then stops running it
    /// (interrupted: its future is dropped between slices), while a caller on the shared runtime
    /// waits on the same flight. The flight's timers and I/O must not be on the local runtime,
    /// or the other caller would wait forever (nothing runs that runtime any more).
    #[test]
    fn a_flight_outlives_the_blocking_call_that_started_it() {
        let store = Arc::new(SessionStore::new(&SessionCacheConfig::None).unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let fetch = |calls: Arc<AtomicUsize>| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            // Registered on the runtime of whoever polls the flight first.
            tokio::time::sleep(Duration::from_millis(300)).await;
            Err(crate::Error::new(crate::ErrorKind::Conflict, "answered"))
        };
        let interrupted = {
            let (store, calls) = (store.clone(), calls.clone());
            std::thread::spawn(move || {
                let mut call = std::pin::pin!(store.single_flight("k", fetch(calls)));
                // One slice, then the caller gives up (as Ctrl-C does): the call is dropped.
                crate::runtime::block_on_local(async {
                    tokio::time::timeout(Duration::from_millis(50), call.as_mut()).await
                })
                .is_err()
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        let follower = {
            let (store, calls) = (store.clone(), calls.clone());
            crate::runtime::binding().spawn(async move { store.single_flight("k", fetch(calls)).await })
        };
        assert!(interrupted.join().unwrap(), "the blocking call ended before the flight");
        let r =
            crate::runtime::binding().block_on(async { tokio::time::timeout(Duration::from_secs(5), follower).await });
        let r = r.expect("the follower stalled on a flight driven by a stopped local runtime").unwrap();
        assert_eq!(r.unwrap_err().kind(), crate::ErrorKind::Conflict);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the follower joined the flight");
    }

    #[test]
    fn keys_hide_credentials_and_include_tenant() {
        let a = key("a", "token", "ory_st_secret");
        assert!(!a.contains("secret"));
        assert_ne!(a, key("b", "token", "ory_st_secret"));
        assert_eq!(a.len(), 64);
        // Same keys as before the table-driven hex: entries already in Redis stay reachable.
        assert_eq!(a, format!("{:x}", Sha256::digest(b"a\0token\0ory_st_secret")));
    }
}

//! Redis session cache. Values are sealed session JSON under `<prefix>:session:<keyed hash>`
//! (see `sealed`); a set `<prefix>:sid:<tenant>:<session id>` lists the entry names of one
//! session so revoke can evict them, `<prefix>:identity:<tenant>:<id>` those of one identity.
//! An admin revoke Kratos confirmed leaves a sealed tombstone under each of its entries instead
//! (see `SessionStore::revoke_session`), read as a refusal.
//! Every operation has a short deadline; failures are logged and read as a miss, and so is a
//! value this deployment did not seal (deleted, and reported to the caller for audit).
//!
//! One node, a Redis Cluster or a Sentinel-managed master (`Client`), with the redis crate's own
//! routing; no pipeline spans two cluster slots. A subscriber task listens on the invalidation
//! channel (`super::invalidation`).

use super::invalidation::{message, Epochs, Tier};
use super::sealed::{self, Namespace};
use super::{Lookup, Rejection, CACHE_OP_TIMEOUT};
use crate::config::{RedisTlsConfig, RedisTopology};
use crate::dto::Session;
use crate::error::{Error, Result};
use crate::http::tls::PemFiles;
use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::{AsyncCommands, IntoConnectionInfo};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct RedisCache {
    client: Arc<Client>,
    /// Connected on first use (and again in a forked child: a Redis connection shared by two
    /// processes would hand each one the other's replies); `None` again after `close`, which
    /// also sets `closed`, and (Sentinel) after an error, so the next call asks the Sentinels
    /// where the master is now.
    conn: tokio::sync::Mutex<Option<Connection>>,
    /// The evictions' own connection when they wait for replicas (`replicas.wait` > 0): a
    /// `WAIT` blocks its connection until the replicas answer (up to `replicas.timeout`), and
    /// must not hold up the reads queued behind it on `conn`; its response timeout is the
    /// eviction's budget ([`Replicas::budget`]), not a read's.
    evict_conn: tokio::sync::Mutex<Option<Connection>>,
    replicas: Replicas,
    closed: AtomicBool,
    ns: Namespace,
    /// `<prefix>:invalidate`, the channel of cross-instance invalidations.
    channel: String,
    /// Served-or-not epochs of the in-memory tiers, moved by the subscriber.
    epochs: Arc<Epochs>,
    /// The subscriber task of this process generation (see `subscribe`).
    subscriber: std::sync::Mutex<Option<Subscriber>>,
    /// `fork generation + 1` of the subscriber task while it runs, 0 when none does.
    running: Arc<AtomicU64>,
}

struct Subscriber {
    generation: u64,
    abort: tokio::task::AbortHandle,
}

impl Subscriber {
    /// Stop the task, if it belongs to this process (a parent's, inherited through fork(), is
    /// left alone).
    fn stop(self) {
        if self.generation == crate::runtime::fork_generation() {
            self.abort.abort();
        } else {
            std::mem::forget(self);
        }
    }
}

impl Drop for RedisCache {
    /// An `Iam` dropped without `close`: its subscriber does not outlive it.
    fn drop(&mut self) {
        if let Some(s) = self.subscriber.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            s.stop();
        }
    }
}

/// Marks the subscriber gone (and the tiers unserved) however its task ends: aborted by
/// `close`, or dropped with the runtime it ran on.
struct Running {
    running: Arc<AtomicU64>,
    me: u64,
    epochs: Arc<Epochs>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.epochs.down();
        let _ = self.running.compare_exchange(self.me, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// How to reach Redis, by topology. Routing, redirections and failover discovery are the
/// redis crate's: `ClusterClient` follows `MOVED`/`ASK` and refreshes its slot map,
/// `SentinelClient` asks the Sentinels for the current master (and checks its `ROLE`).
enum Client {
    /// With a client per seed node for pub/sub (a `PUBLISH` reaches every node of a cluster, so
    /// the subscription can be on any).
    Cluster(Box<ClusterClients>),
    /// With the evictions' response timeout.
    Sentinel(tokio::sync::Mutex<redis::sentinel::SentinelClient>, Duration),
    /// With the evictions' response timeout.
    Node(redis::Client, Duration),
}

struct ClusterClients {
    /// Reads and writes: [`CACHE_OP_TIMEOUT`] per response.
    ops: redis::cluster::ClusterClient,
    /// Evictions: their budget per response (a `WAIT` may take that long).
    evictions: redis::cluster::ClusterClient,
    seeds: Vec<redis::Client>,
}

/// One connection of any topology; cheap to clone (each is a handle on a multiplexed
/// connection).
#[derive(Clone)]
enum Conn {
    /// Reconnects by itself.
    Node(ConnectionManager),
    /// Reconnects and follows the slot map by itself.
    Cluster(redis::cluster_async::ClusterConnection),
    /// To the master the Sentinels named; dropped on error (see `RedisCache::run`).
    Sentinel(MultiplexedConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::Node(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Sentinel(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Sentinel(c) => c.get_db(),
        }
    }
}

/// A connection and the fork generation it was made in.
struct Connection {
    generation: u64,
    conn: std::mem::ManuallyDrop<Conn>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // In a forked child the parent's connection is left alone (see `crate::runtime`).
        if self.generation == crate::runtime::fork_generation() {
            // SAFETY: dropped once, here; never used again.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.conn) }
        }
    }
}

/// How long an eviction's fence stays in Redis. A session fetched from Kratos before another
/// process evicted it (a revoke, a logout, an identity change made meanwhile) must not then be
/// written into the shared cache: the eviction first leaves a fence under the credential's,
/// the session's or the identity's name, and a write finding a fence is not made (or is undone).
/// A fetch older than half this is never cached, so its write always meets the fence.
pub(crate) const FENCE_TTL: Duration = Duration::from_secs(20);

/// The sealed deadline of a tombstone. Redis drops it with the entry's own expiry (`KEEPTTL`);
/// the deadline only bounds a tombstone saved and written back without one.
const TOMBSTONE_DEADLINE: Duration = Duration::from_secs(24 * 3600);

/// What an eviction waits for: `wait` replicas of the entry's master
/// (`session_cache.redis.wait_replicas`) to acknowledge it within `timeout`
/// (`session_cache.redis.wait_timeout_ms`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Replicas {
    pub wait: u64,
    pub timeout: Duration,
}

impl Replicas {
    /// The whole time an eviction may take: its `WAIT` plus an ordinary operation's time for
    /// the `DEL` and the round trip. A busy replica gets `timeout` to acknowledge; a read never
    /// waits this long (reads keep [`CACHE_OP_TIMEOUT`]).
    fn budget(&self) -> Duration {
        if self.wait == 0 {
            CACHE_OP_TIMEOUT
        } else {
            self.timeout.saturating_add(CACHE_OP_TIMEOUT)
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The TLS material of `tls`, or `None` when none is configured (the OS trust store).
fn certificates(tls: &RedisTlsConfig) -> Result<Option<redis::TlsCertificates>> {
    if *tls == RedisTlsConfig::default() {
        return Ok(None);
    }
    let pem = PemFiles::load(
        "session_cache.redis",
        tls.ca_file.as_deref(),
        tls.client_cert_file.as_deref(),
        tls.client_key_file.as_deref(),
    )?;
    Ok(Some(redis::TlsCertificates {
        client_tls: pem.client.map(|(client_cert, client_key)| redis::ClientTlsConfig { client_cert, client_key }),
        root_cert: pem.ca,
    }))
}

impl Client {
    /// A `rediss://` URL connects with TLS (rustls): the server's certificate must chain to
    /// `tls.ca_file` when set, else to the OS trust store; `tls.client_cert_file`/`client_key_file`
    /// are presented to a Redis that asks for a client certificate. Nothing connects here.
    /// `eviction_budget`: the response timeout of the evictions' connections.
    fn new(topology: &RedisTopology, tls: &RedisTlsConfig, eviction_budget: Duration) -> Result<Self> {
        let certs = certificates(tls)?;
        let invalid = |key: &str| Error::configuration(format!("session_cache.redis.{key} is not a valid Redis URL"));
        Ok(match topology {
            RedisTopology::Node(url) => Client::Node(
                match certs {
                    None => redis::Client::open(url.expose()).map_err(|_| invalid("url"))?,
                    Some(certs) => redis::Client::build_with_tls(url.expose(), certs).map_err(|_| invalid("url"))?,
                },
                eviction_budget,
            ),
            RedisTopology::Cluster(urls) => {
                let build = |response_timeout: Duration| {
                    let b = redis::cluster::ClusterClientBuilder::new(urls.iter().map(|u| u.expose()))
                        .connection_timeout(CACHE_OP_TIMEOUT * 4)
                        .response_timeout(response_timeout);
                    match &certs {
                        Some(certs) => b.certs(certs.clone()),
                        None => b,
                    }
                    .build()
                    .map_err(|_| invalid("cluster"))
                };
                let seeds = urls
                    .iter()
                    .map(|u| match &certs {
                        None => redis::Client::open(u.expose()),
                        Some(c) => redis::Client::build_with_tls(u.expose(), c.clone()),
                    })
                    .collect::<redis::RedisResult<Vec<_>>>()
                    .map_err(|_| invalid("cluster"))?;
                Client::Cluster(Box::new(ClusterClients {
                    ops: build(CACHE_OP_TIMEOUT)?,
                    evictions: build(eviction_budget)?,
                    seeds,
                }))
            }
            RedisTopology::Sentinel(s) => {
                let infos = s
                    .urls
                    .iter()
                    .map(|u| u.expose().into_connection_info().map_err(|_| invalid("sentinel.urls")))
                    .collect::<Result<Vec<_>>>()?;
                let mut b = redis::sentinel::SentinelClientBuilder::new(
                    infos.iter().map(|i| i.addr().clone()),
                    &s.master_name,
                    redis::sentinel::SentinelServerType::Master,
                )
                .map_err(|_| invalid("sentinel.urls"))?;
                // The Sentinels' credentials: those of their URLs (the same for all of them).
                if let Some(r) = infos.iter().map(|i| i.redis_settings()).find(|r| r.password().is_some()) {
                    if let Some(u) = r.username() {
                        b = b.set_client_to_sentinel_username(u);
                    }
                    if let Some(p) = r.password() {
                        b = b.set_client_to_sentinel_password(p);
                    }
                }
                if let Some(u) = &s.master_username {
                    b = b.set_client_to_redis_username(u);
                }
                if let Some(p) = &s.master_password {
                    b = b.set_client_to_redis_password(p.expose());
                }
                if let Some(db) = s.db {
                    b = b.set_client_to_redis_db(db.min(i64::MAX as u64) as i64);
                }
                if s.urls.iter().any(|u| u.expose().starts_with("rediss://")) {
                    b = b
                        .set_client_to_sentinel_tls_mode(redis::TlsMode::Secure)
                        .set_client_to_redis_tls_mode(redis::TlsMode::Secure);
                    if let Some(certs) = certs {
                        b = b
                            .set_client_to_sentinel_certificates(certs.clone())
                            .set_client_to_redis_certificates(certs);
                    }
                }
                Client::Sentinel(
                    tokio::sync::Mutex::new(b.build().map_err(|_| invalid("sentinel.urls"))?),
                    eviction_budget,
                )
            }
        })
    }

    /// A connection for reads and writes, or (`evictions`) one with the evictions' response
    /// timeout.
    async fn connect(&self, evictions: bool) -> redis::RedisResult<Conn> {
        Ok(match self {
            Client::Node(c, budget) => Conn::Node(if evictions {
                let config = redis::aio::ConnectionManagerConfig::new().set_response_timeout(Some(*budget));
                ConnectionManager::new_with_config(c.clone(), config).await?
            } else {
                ConnectionManager::new(c.clone()).await?
            }),
            Client::Cluster(c) => {
                Conn::Cluster(if evictions { &c.evictions } else { &c.ops }.get_async_connection().await?)
            }
            Client::Sentinel(c, budget) => Conn::Sentinel(if evictions {
                let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(*budget));
                c.lock().await.get_async_connection_with_config(&config).await?
            } else {
                c.lock().await.get_async_connection().await?
            }),
        })
    }

    /// A pub/sub connection; `attempt` picks the seed node of a cluster, in turn.
    async fn pubsub(&self, attempt: usize) -> redis::RedisResult<redis::aio::PubSub> {
        match self {
            Client::Node(c, _) => c.get_async_pubsub().await,
            Client::Cluster(c) => c.seeds[attempt % c.seeds.len()].get_async_pubsub().await,
            Client::Sentinel(c, _) => {
                let master = c.lock().await.async_get_client().await?;
                master.get_async_pubsub().await
            }
        }
    }
}

/// Stay on `channel` for as long as the task lives: each message applied to `epochs`; the
/// tiers served only while subscribed (a lost connection, or a ping unanswered for a second,
/// puts them down until the subscription is back).
async fn subscriber(client: Arc<Client>, channel: String, epochs: Arc<Epochs>) {
    use futures::StreamExt;
    let mut attempt = 0usize;
    let mut backoff = Duration::from_millis(50);
    loop {
        let subscribed = tokio::time::timeout(CACHE_OP_TIMEOUT * 4, async {
            let mut ps = client.pubsub(attempt).await?;
            ps.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(ps)
        })
        .await;
        match subscribed {
            Ok(Ok(ps)) => {
                epochs.up();
                backoff = Duration::from_millis(50);
                let (mut sink, mut stream) = ps.split();
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tokio::select! {
                        m = stream.next() => match m {
                            Some(m) => epochs.apply(m.get_payload_bytes()),
                            None => break,
                        },
                        _ = tick.tick() => {
                            let pong = tokio::time::timeout(CACHE_OP_TIMEOUT * 4, sink.ping::<redis::Value>()).await;
                            if !matches!(pong, Ok(Ok(_))) {
                                break;
                            }
                        }
                    }
                }
                epochs.down();
                tracing::warn!(target: "ory_iam::cache", "redis invalidation channel lost; in-memory caches not served until it is back");
            }
            Ok(Err(e)) => {
                tracing::warn!(target: "ory_iam::cache", kind = ?e.kind(), "redis invalidation channel unavailable; in-memory caches not served");
            }
            Err(_) => {
                tracing::warn!(target: "ory_iam::cache", "redis invalidation channel: connect timed out; in-memory caches not served");
            }
        }
        attempt = attempt.wrapping_add(1);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

impl RedisCache {
    pub fn new(topology: &RedisTopology, tls: &RedisTlsConfig, replicas: Replicas, ns: Namespace) -> Result<Self> {
        let client = Arc::new(Client::new(topology, tls, replicas.budget())?);
        Ok(RedisCache {
            client,
            conn: tokio::sync::Mutex::new(None),
            evict_conn: tokio::sync::Mutex::new(None),
            replicas,
            closed: AtomicBool::new(false),
            channel: ns.channel_name(),
            ns,
            epochs: Epochs::unsubscribed(),
            subscriber: std::sync::Mutex::new(None),
            running: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Whether this is a Redis Cluster (pipelines must stay within one slot).
    fn cluster(&self) -> bool {
        matches!(*self.client, Client::Cluster(..))
    }

    pub fn epochs(&self) -> Arc<Epochs> {
        self.epochs.clone()
    }

    /// Make sure this process listens on the invalidation channel: started on the caller's
    /// runtime at the first use of an in-memory tier, again in a forked child, and again after
    /// the runtime it ran on is gone. Until it is subscribed, the tiers are not served.
    pub fn subscribe(&self) {
        let generation = crate::runtime::fork_generation();
        let me = generation.wrapping_add(1);
        if self.running.load(Ordering::Acquire) == me || self.closed.load(Ordering::SeqCst) {
            return;
        }
        // Never a blocking call's local runtime: the task must outlive the call and its thread.
        let Some(rt) = crate::runtime::spawn_handle() else { return };
        let mut slot = self.subscriber.lock().unwrap_or_else(|e| e.into_inner());
        if self.running.load(Ordering::Acquire) == me {
            return;
        }
        if let Some(old) = slot.take() {
            old.stop();
        }
        // Whatever the epochs said in the parent (or before a runtime went away): not
        // subscribed here yet.
        self.epochs.down();
        self.running.store(me, Ordering::Release);
        let guard = Running { running: self.running.clone(), me, epochs: self.epochs.clone() };
        let (client, channel, epochs) = (self.client.clone(), self.channel.clone(), self.epochs.clone());
        let task = rt.spawn(async move {
            let _guard = guard;
            subscriber(client, channel, epochs).await
        });
        *slot = Some(Subscriber { generation, abort: task.abort_handle() });
    }

    /// Tell every instance on the channel that `tier` of `tenant` changed (this one included).
    pub async fn publish(&self, tier: Tier, tenant: &str) {
        let Some(mut c) = self.conn().await else {
            tracing::warn!(target: "ory_iam::cache", tier = tier.as_str(), "redis unavailable: other instances not told of this write");
            return;
        };
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(&self.channel).arg(message(tier, tenant));
        let _: Option<i64> = self.run("publish", cmd.query_async(&mut c)).await;
    }

    /// Drop the connection (operations under way keep their clone until they end) and make no
    /// new one; stop listening on the invalidation channel.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(s) = self.subscriber.lock().unwrap_or_else(|e| e.into_inner()).take() {
            s.stop();
        }
        self.conn.lock().await.take();
        self.evict_conn.lock().await.take();
    }

    async fn conn(&self) -> Option<Conn> {
        self.open(&self.conn, false).await
    }

    /// The connection evictions are made on (and waited for, see `evict_conn`).
    async fn evict_conn(&self) -> Option<Conn> {
        if self.replicas.wait > 0 {
            self.open(&self.evict_conn, true).await
        } else {
            self.conn().await
        }
    }

    async fn open(&self, conn: &tokio::sync::Mutex<Option<Connection>>, evictions: bool) -> Option<Conn> {
        if self.closed.load(Ordering::SeqCst) {
            return None;
        }
        let r = tokio::time::timeout(CACHE_OP_TIMEOUT * 4, async {
            // Held while connecting: concurrent first callers wait for one connection.
            let mut slot = conn.lock().await;
            let generation = crate::runtime::fork_generation();
            if let Some(c) = slot.as_ref().filter(|c| c.generation == generation) {
                return Ok((*c.conn).clone());
            }
            let c = self.client.connect(evictions).await?;
            if !self.closed.load(Ordering::SeqCst) {
                *slot = Some(Connection { generation, conn: std::mem::ManuallyDrop::new(c.clone()) });
            }
            Ok::<_, redis::RedisError>(c)
        })
        .await;
        match r {
            Ok(Ok(c)) => Some(c),
            Ok(Err(e)) => {
                tracing::warn!(target: "ory_iam::cache", kind = ?e.kind(), "redis session cache unavailable; asking Kratos");
                None
            }
            Err(_) => {
                tracing::warn!(target: "ory_iam::cache", "redis session cache connect timed out; asking Kratos");
                None
            }
        }
    }

    /// After a failed operation on a Sentinel-found master: forget the connection, so the next
    /// operation asks the Sentinels again (the master may have failed over, or been demoted to
    /// a read-only replica). The other topologies reconnect by themselves.
    async fn failed(&self) {
        if matches!(*self.client, Client::Sentinel(..)) {
            for conn in [&self.conn, &self.evict_conn] {
                let mut slot = conn.lock().await;
                if slot.as_ref().is_some_and(|c| c.generation == crate::runtime::fork_generation()) {
                    slot.take();
                }
            }
        }
    }

    async fn run<T, F>(&self, what: &'static str, f: F) -> Option<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.run_within(what, CACHE_OP_TIMEOUT, f).await
    }

    async fn run_within<T, F>(&self, what: &'static str, budget: Duration, f: F) -> Option<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(budget, f).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(target: "ory_iam::cache", op = what, kind = ?e.kind(), "redis session cache error; asking Kratos");
                self.failed().await;
                None
            }
            Err(_) => {
                tracing::warn!(target: "ory_iam::cache", op = what, "redis session cache timed out; asking Kratos");
                self.failed().await;
                None
            }
        }
    }

    pub async fn get(&self, tenant: &str, key: &str) -> Lookup {
        let Some(mut c) = self.conn().await else { return Lookup::Miss };
        let names = self.ns.read_names(key);
        // MGET, not GET: one reply per name even for one key, whatever the key count.
        let found: Option<Vec<Option<Vec<u8>>>> =
            self.run("get", redis::cmd("MGET").arg(&names).query_async(&mut c)).await;
        let mut rejected = None;
        for (i, (name, value)) in names.iter().zip(found.unwrap_or_default()).enumerate() {
            let Some(value) = value else { continue };
            let opened = self.ns.open(i, name, tenant, &value).or_else(|e| {
                // A tombstone is sealed with the first key whatever key named the entry (the
                // revoking process cannot tell which key an entry's name came from).
                if i == 0 {
                    return Err(e);
                }
                self.ns.open(0, name, tenant, &value).ok().filter(|(_, plain)| plain == sealed::REVOKED).ok_or(e)
            });
            if let Ok((until, plain)) = &opened {
                if plain == sealed::REVOKED {
                    if *until > now_ms() {
                        return Lookup::Revoked;
                    }
                    continue;
                }
            }
            let session = opened.and_then(|(until, plain)| {
                Ok((until, serde_json::from_slice::<Session>(&plain).map_err(|_| Rejection::Malformed)?))
            });
            match session {
                Ok((until, s)) if until > now_ms() => return Lookup::Hit(s),
                // Sealed by us but past its time: Redis keeps it a little longer than our clock
                // says, or it was saved and written back. A plain miss either way.
                Ok(_) => {}
                Err(why) => {
                    tracing::warn!(target: "ory_iam::cache", tenant, reason = why.as_str(), "redis session cache entry refused (not a session sealed by this deployment); deleted, asking Kratos");
                    // Best effort: a planted value must not be read (and reported) again.
                    let _: Option<()> = self.run("evict", c.del(name)).await;
                    rejected.get_or_insert(why);
                }
            }
        }
        rejected.map_or(Lookup::Miss, Lookup::Rejected)
    }

    /// Cache `s` under credential `key`, unless another process evicted it since it was fetched:
    /// its eviction left a fence (see [`FENCE_TTL`]). Checked before the write, and again after
    /// it (an eviction may run between the check and the write; it sets its fence before it
    /// reads the eviction sets, so either it finds this entry or this check finds its fence),
    /// then the entry is deleted again. Redis not answering either check: no entry is left.
    pub async fn put(&self, key: &str, s: &Session, ttl: Duration) {
        let fences = [
            self.ns.key_fence(0, key),
            self.ns.sid_fence(&s.tenant, &s.id),
            self.ns.identity_fence(&s.tenant, &s.identity.id),
        ];
        if self.fenced(&fences).await != Some(false) {
            return;
        }
        let name = self.ns.write_name(key);
        self.write(&name, s, ttl).await;
        if self.fenced(&fences).await != Some(false) {
            if let Some(mut c) = self.conn().await {
                let _: Option<()> = self.run("put", c.del(&name)).await;
            }
        }
    }

    /// Whether any of `fences` is in Redis; `None` when Redis did not say.
    async fn fenced(&self, fences: &[String]) -> Option<bool> {
        let mut c = self.conn().await?;
        if !self.cluster() {
            let n: i64 = self.run("put", redis::cmd("EXISTS").arg(fences).query_async(&mut c)).await?;
            return Some(n > 0);
        }
        // One command per name (each routed to its own slot's master): a multi-slot command is
        // split by the client, which may skip a slot whose master it cannot reach.
        let checks = fences.iter().map(|f| {
            let mut c = c.clone();
            async move { self.run::<i64, _>("put", redis::cmd("EXISTS").arg(f).query_async(&mut c)).await }
        });
        let found = futures::future::join_all(checks).await;
        found.iter().try_fold(false, |any, n| Some(any || (*n)? > 0))
    }

    /// Leave `fences` for [`FENCE_TTL`]; whether Redis confirmed every one.
    async fn fence(&self, fences: &[String]) -> bool {
        let Some(c) = self.conn().await else { return false };
        let ms = FENCE_TTL.as_millis() as u64;
        let sets = fences.iter().map(|f| {
            let mut c = c.clone();
            async move {
                let set = redis::cmd("SET").arg(f).arg(1).arg("PX").arg(ms).to_owned();
                self.run::<(), _>("evict", set.query_async(&mut c)).await.is_some()
            }
        });
        futures::future::join_all(sets).await.into_iter().all(|ok| ok)
    }

    async fn write(&self, name: &str, s: &Session, ttl: Duration) {
        let Some(mut c) = self.conn().await else { return };
        let Ok(json) = serde_json::to_vec(s) else { return };
        let name = name.to_owned();
        let ms = ttl.as_millis().clamp(1, u64::MAX as u128) as u64;
        let Some(value) = self.ns.seal(&name, &s.tenant, now_ms().saturating_add(ms), &json) else { return };
        let sk = self.ns.sid_name(&s.tenant, &s.id);
        let ik = self.ns.identity_name(&s.tenant, &s.identity.id);
        let index_ttl = ms.max(60_000);
        let index = |set: &str| {
            let mut p = redis::pipe();
            p.atomic().cmd("SADD").arg(set).arg(&name).ignore().cmd("PEXPIRE").arg(set).arg(index_ttl).ignore();
            p
        };
        let mut set = redis::cmd("SET");
        set.arg(&name).arg(value).arg("PX").arg(ms);
        if self.cluster() {
            // Three slots: a cluster pipeline stays within one. The eviction sets first, so an
            // entry that exists can always be found by `evict_session`/`evict_identity`.
            let (a, b) = (index(&sk), index(&ik));
            let (mut c1, mut c2) = (c.clone(), c.clone());
            let (x, y) = futures::join!(
                self.run::<(), _>("put", a.query_async(&mut c1)),
                self.run::<(), _>("put", b.query_async(&mut c2))
            );
            if x.is_some() && y.is_some() {
                let _: Option<()> = self.run("put", set.query_async(&mut c)).await;
            }
            return;
        }
        let mut pipe = index(&sk);
        for cmd in index(&ik).cmd_iter().chain([&set]) {
            pipe.add_command(cmd.clone()).ignore();
        }
        let _: Option<()> = self.run("put", pipe.query_async(&mut c)).await;
    }

    /// Record `jti` for `ttl` unless some process sharing this Redis did: `Some(true)` the first
    /// sighting, `Some(false)` a replay, `None` Redis unavailable.
    pub async fn first_sighting(&self, tenant: &str, jti: &str, ttl: Duration) -> Option<bool> {
        let mut c = self.conn().await?;
        let ms = ttl.as_millis().clamp(1, u128::from(u64::MAX)) as u64;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.ns.jti_name(tenant, jti)).arg(1).arg("NX").arg("PX").arg(ms);
        let set: Option<Option<String>> = self.run("replay", cmd.query_async(&mut c)).await;
        set.map(|r| r.is_some())
    }

    /// Delete `names`, saying whether Redis confirmed every one: each deleted on its master
    /// and, with `wait_replicas`, acknowledged by that many of its replicas (`WAIT` right after
    /// the `DEL`, in one pipeline on the connection that made it: `WAIT` counts the replicas
    /// that have every write of its connection so far). Replication is asynchronous: a delete
    /// only the master saw is lost if a replica is promoted before it arrives, and the promoted
    /// replica then serves the revoked session. A master with fewer replicas connected (one
    /// down, lagging, or none left after a failover) leaves the eviction unconfirmed.
    ///
    /// On a cluster, one pipeline per name, sent to the master of the name's slot: a multi-slot
    /// DEL is split by the client, which silently skips a slot whose master it has no
    /// connection to (a dead master before the failover) and answers OK for the rest; and the
    /// client would send a bare `WAIT` to every master (taking the smallest count), so that
    /// one master without replicas would fail every eviction.
    ///
    /// With `revoked` (the tenant), each entry is replaced by a sealed tombstone instead (`SET …
    /// XX KEEPTTL`: only an entry still there, for the rest of its time), with the same
    /// acknowledgement rules; see `SessionStore::revoke_session`.
    async fn delete(&self, names: Vec<String>, revoked: Option<&str>) -> bool {
        if names.is_empty() {
            return true;
        }
        let Some(mut c) = self.evict_conn().await else { return false };
        let wait = self.replicas.wait;
        let budget = self.replicas.budget();
        let until = now_ms().saturating_add(TOMBSTONE_DEADLINE.as_millis() as u64);
        let with_wait = |keys: &[String]| {
            let mut p = redis::pipe();
            for key in keys {
                match revoked.and_then(|tenant| self.ns.seal(key, tenant, until, sealed::REVOKED)) {
                    Some(tomb) => p.cmd("SET").arg(key).arg(tomb).arg("XX").arg("KEEPTTL").ignore(),
                    None => p.cmd("DEL").arg(key).ignore(),
                };
            }
            if wait > 0 {
                p.cmd("WAIT").arg(wait).arg(self.replicas.timeout.as_millis().min(u128::from(u64::MAX)) as u64);
            }
            p
        };
        let acknowledged = |replies: Option<Vec<i64>>| match replies {
            None => false,
            Some(_) if wait == 0 => true,
            Some(r) => {
                let ok = r.first().is_some_and(|n| u64::try_from(*n).is_ok_and(|n| n >= wait));
                if !ok {
                    tracing::warn!(target: "ory_iam::cache", replicas = r.first().copied().unwrap_or(0), wanted = wait, "redis eviction not acknowledged by enough replicas (session_cache.redis.wait_replicas)");
                }
                ok
            }
        };
        let Conn::Cluster(cluster) = &c else {
            let pipe = with_wait(&names);
            return acknowledged(self.run_within("evict", budget, pipe.query_async(&mut c)).await);
        };
        let dels = names.into_iter().map(|name| {
            let mut c = cluster.clone();
            let pipe = with_wait(std::slice::from_ref(&name));
            let count = if wait > 0 { 2 } else { 1 };
            async move {
                use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
                let route = SingleNodeRoutingInfo::SpecificNode(Route::with_key(&name, SlotAddr::Master));
                let replies = self
                    .run_within("evict", budget, async {
                        let values = c.route_pipeline(pipe, 0, count, route).await?;
                        // Every reply checked (an error for the DEL fails the eviction); the
                        // WAIT's count, if any, returned.
                        let mut counts = Vec::new();
                        for (i, v) in values.into_iter().enumerate() {
                            if let redis::Value::ServerError(e) = v {
                                return Err(redis::RedisError::from(e));
                            }
                            if i > 0 {
                                counts.push(redis::from_redis_value::<i64>(v).map_err(redis::RedisError::from)?);
                            }
                        }
                        Ok(counts)
                    })
                    .await;
                acknowledged(replies)
            }
        });
        futures::future::join_all(dels).await.into_iter().all(|done| done)
    }

    /// Delete the session entries listed in the eviction set `index`, then take them out of
    /// the set: in that order, so an eviction that fails half-way leaves the set to find the
    /// entries again when it is retried (on a cluster the set and the entries live on different
    /// masters), and a set member added meanwhile (a concurrent put) is kept.
    async fn evict_indexed(&self, index: String, revoked: Option<&str>) -> bool {
        let Some(mut c) = self.conn().await else { return false };
        let Some(names) = self.run::<Vec<String>, _>("smembers", c.smembers(&index)).await else { return false };
        let doomed: Vec<String> = names.iter().filter(|n| self.ns.is_session_name(n)).cloned().collect();
        if !self.delete(doomed, revoked).await {
            return false;
        }
        // Foreign members too: only our entries were deleted through the set, the rest goes.
        names.is_empty() || self.run::<(), _>("evict", c.srem(&index, names)).await.is_some()
    }

    /// The evictions say whether Redis confirmed them (`false`: Redis could not be reached, the
    /// entries may still be there).
    /// Each leaves its fence first (see [`FENCE_TTL`]).
    pub async fn evict_key(&self, key: &str) -> bool {
        self.fence(&self.ns.key_fences(key)).await && self.delete(self.ns.read_names(key), None).await
    }

    pub async fn evict_identity(&self, tenant: &str, identity_id: &str) -> bool {
        self.fence(&[self.ns.identity_fence(tenant, identity_id)]).await
            && self.evict_indexed(self.ns.identity_name(tenant, identity_id), None).await
    }

    /// With `tombstones`, the entries are replaced by tombstones (see
    /// `SessionStore::revoke_session`).
    pub async fn evict_session(&self, tenant: &str, session_id: &str, tombstones: bool) -> bool {
        self.fence(&[self.ns.sid_fence(tenant, session_id)]).await
            && self.evict_indexed(self.ns.sid_name(tenant, session_id), tombstones.then_some(tenant)).await
    }
}

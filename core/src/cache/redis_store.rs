//! Redis session cache. Values are sealed session JSON under `<prefix>:session:<keyed hash>`
//! (see `sealed`); a set `<prefix>:sid:<tenant>:<session id>` lists the entry names of one
//! session so revoke can evict them, `<prefix>:identity:<tenant>:<id>` those of one identity.
//! Every operation has a short deadline; failures are logged and read as a miss, and so is a
//! value this deployment did not seal (deleted, and reported to the caller for audit).

use super::sealed::Namespace;
use super::{Lookup, Rejection, CACHE_OP_TIMEOUT};
use crate::config::RedisTlsConfig;
use crate::dto::Session;
use crate::error::{Error, Result};
use crate::http::tls::PemFiles;
use crate::secret::Secret;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub(crate) struct RedisCache {
    client: redis::Client,
    /// Connected on first use (and again in a forked child: a Redis connection shared by two
    /// processes would hand each one the other's replies); `None` again after `close`, which
    /// also sets `closed`.
    conn: tokio::sync::Mutex<Option<Connection>>,
    closed: AtomicBool,
    ns: Namespace,
}

/// A connection and the fork generation it was made in.
struct Connection {
    generation: u64,
    manager: std::mem::ManuallyDrop<ConnectionManager>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // In a forked child the parent's connection is left alone (see `crate::runtime`).
        if self.generation == crate::runtime::fork_generation() {
            // SAFETY: dropped once, here; never used again.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.manager) }
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl RedisCache {
    /// A `rediss://` URL connects with TLS (rustls): the server's certificate must chain to
    /// `tls.ca_file` when set, else to the OS trust store; `tls.client_cert_file`/`client_key_file`
    /// are presented to a Redis that asks for a client certificate.
    pub fn new(url: &Secret, tls: &RedisTlsConfig, ns: Namespace) -> Result<Self> {
        let invalid = || Error::configuration("session_cache.redis.url is not a valid Redis URL");
        let client = if *tls == RedisTlsConfig::default() {
            redis::Client::open(url.expose()).map_err(|_| invalid())?
        } else {
            let pem = PemFiles::load(
                "session_cache.redis",
                tls.ca_file.as_deref(),
                tls.client_cert_file.as_deref(),
                tls.client_key_file.as_deref(),
            )?;
            let certs = redis::TlsCertificates {
                client_tls: pem
                    .client
                    .map(|(client_cert, client_key)| redis::ClientTlsConfig { client_cert, client_key }),
                root_cert: pem.ca,
            };
            redis::Client::build_with_tls(url.expose(), certs).map_err(|_| invalid())?
        };
        Ok(RedisCache { client, conn: tokio::sync::Mutex::new(None), closed: AtomicBool::new(false), ns })
    }

    /// Drop the connection (operations under way keep their clone until they end) and make no
    /// new one.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.conn.lock().await.take();
    }

    async fn conn(&self) -> Option<ConnectionManager> {
        if self.closed.load(Ordering::SeqCst) {
            return None;
        }
        let r = tokio::time::timeout(CACHE_OP_TIMEOUT * 4, async {
            // Held while connecting: concurrent first callers wait for one connection.
            let mut slot = self.conn.lock().await;
            let generation = crate::runtime::fork_generation();
            if let Some(c) = slot.as_ref().filter(|c| c.generation == generation) {
                return Ok((*c.manager).clone());
            }
            let c = ConnectionManager::new(self.client.clone()).await?;
            if !self.closed.load(Ordering::SeqCst) {
                *slot = Some(Connection { generation, manager: std::mem::ManuallyDrop::new(c.clone()) });
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

    async fn run<T, F>(&self, what: &'static str, f: F) -> Option<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(CACHE_OP_TIMEOUT, f).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(target: "ory_iam::cache", op = what, kind = ?e.kind(), "redis session cache error; asking Kratos");
                None
            }
            Err(_) => {
                tracing::warn!(target: "ory_iam::cache", op = what, "redis session cache timed out; asking Kratos");
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
            let session = self.ns.open(i, name, tenant, &value).and_then(|(until, plain)| {
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

    pub async fn put(&self, key: &str, s: &Session, ttl: Duration) {
        let Some(mut c) = self.conn().await else { return };
        let Ok(json) = serde_json::to_vec(s) else { return };
        let name = self.ns.write_name(key);
        let ms = ttl.as_millis().clamp(1, u64::MAX as u128) as u64;
        let Some(value) = self.ns.seal(&name, &s.tenant, now_ms().saturating_add(ms), &json) else { return };
        let sk = self.ns.sid_name(&s.tenant, &s.id);
        let ik = self.ns.identity_name(&s.tenant, &s.identity.id);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(&name)
            .arg(value)
            .arg("PX")
            .arg(ms)
            .ignore()
            .cmd("SADD")
            .arg(&sk)
            .arg(&name)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&sk)
            .arg(ms.max(60_000))
            .ignore()
            .cmd("SADD")
            .arg(&ik)
            .arg(&name)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&ik)
            .arg(ms.max(60_000))
            .ignore();
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

    pub async fn evict_key(&self, key: &str) {
        let Some(mut c) = self.conn().await else { return };
        let _: Option<()> = self.run("evict", c.del(self.ns.read_names(key))).await;
    }

    pub async fn evict_identity(&self, tenant: &str, identity_id: &str) {
        let Some(mut c) = self.conn().await else { return };
        let ik = self.ns.identity_name(tenant, identity_id);
        let Some(names) = self.run::<Vec<String>, _>("smembers", c.smembers(&ik)).await else { return };
        let mut doomed: Vec<String> = names.into_iter().filter(|n| self.ns.is_session_name(n)).collect();
        doomed.push(ik);
        let _: Option<()> = self.run("evict", c.del(doomed)).await;
    }

    pub async fn evict_session(&self, tenant: &str, session_id: &str) {
        let Some(mut c) = self.conn().await else { return };
        let sk = self.ns.sid_name(tenant, session_id);
        let Some(names) = self.run::<Vec<String>, _>("smembers", c.smembers(&sk)).await else { return };
        let mut doomed: Vec<String> = names.into_iter().filter(|n| self.ns.is_session_name(n)).collect();
        doomed.push(sk);
        let _: Option<()> = self.run("evict", c.del(doomed)).await;
    }
}

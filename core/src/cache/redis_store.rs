//! Redis session cache. Values are the session JSON under `ory-iam:session:<hash>`; a set
//! `ory-iam:sid:<tenant>:<session id>` lists the keys of one session so revoke can evict them.
//! Every operation has a short deadline; failures are logged and read as a miss.

use super::CACHE_OP_TIMEOUT;
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

fn session_key(k: &str) -> String {
    format!("ory-iam:session:{k}")
}

fn sid_key(tenant: &str, sid: &str) -> String {
    format!("ory-iam:sid:{tenant}:{sid}")
}

/// The keys of every cached session of one identity.
fn identity_key(tenant: &str, identity_id: &str) -> String {
    format!("ory-iam:identity:{tenant}:{identity_id}")
}

impl RedisCache {
    /// A `rediss://` URL connects with TLS (rustls): the server's certificate must chain to
    /// `tls.ca_file` when set, else to the OS trust store; `tls.client_cert_file`/`client_key_file`
    /// are presented to a Redis that asks for a client certificate.
    pub fn new(url: &Secret, tls: &RedisTlsConfig) -> Result<Self> {
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
        Ok(RedisCache { client, conn: tokio::sync::Mutex::new(None), closed: AtomicBool::new(false) })
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

    pub async fn get(&self, key: &str) -> Option<Session> {
        let mut c = self.conn().await?;
        let raw: Option<String> = self.run("get", c.get(session_key(key))).await?;
        serde_json::from_str(&raw?).ok()
    }

    pub async fn put(&self, key: &str, s: &Session, ttl: Duration) {
        let Some(mut c) = self.conn().await else { return };
        let Ok(json) = serde_json::to_string(s) else { return };
        let ms = ttl.as_millis().max(1) as u64;
        let sk = sid_key(&s.tenant, &s.id);
        let ik = identity_key(&s.tenant, &s.identity.id);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(session_key(key))
            .arg(json)
            .arg("PX")
            .arg(ms)
            .ignore()
            .cmd("SADD")
            .arg(&sk)
            .arg(key)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&sk)
            .arg(ms.max(60_000))
            .ignore()
            .cmd("SADD")
            .arg(&ik)
            .arg(key)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&ik)
            .arg(ms.max(60_000))
            .ignore();
        let _: Option<()> = self.run("put", pipe.query_async(&mut c)).await;
    }

    pub async fn evict_key(&self, key: &str) {
        let Some(mut c) = self.conn().await else { return };
        let _: Option<()> = self.run("evict", c.del(session_key(key))).await;
    }

    pub async fn evict_identity(&self, tenant: &str, identity_id: &str) {
        let Some(mut c) = self.conn().await else { return };
        let ik = identity_key(tenant, identity_id);
        let Some(keys) = self.run::<Vec<String>, _>("smembers", c.smembers(&ik)).await else { return };
        let mut doomed: Vec<String> = keys.iter().map(|k| session_key(k)).collect();
        doomed.push(ik);
        let _: Option<()> = self.run("evict", c.del(doomed)).await;
    }

    pub async fn evict_session(&self, tenant: &str, session_id: &str) {
        let Some(mut c) = self.conn().await else { return };
        let sk = sid_key(tenant, session_id);
        let Some(keys) = self.run::<Vec<String>, _>("smembers", c.smembers(&sk)).await else { return };
        let mut doomed: Vec<String> = keys.iter().map(|k| session_key(k)).collect();
        doomed.push(sk);
        let _: Option<()> = self.run("evict", c.del(doomed)).await;
    }
}

//! Configuration: one shape for Rust structs, Python dicts, JS objects, YAML/JSON files and
//! environment variables. Everything is checked once, at construction, and every problem is
//! reported at once in one `IamConfigurationError` that lists each offending path.

use crate::error::{Error, FieldError, Result};
use crate::secret::Secret;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole library configuration (see API.md "Config").
#[derive(Clone, Debug, Default)]
pub struct IamConfig {
    /// Tenant used by `iam.identity()` etc. Optional when exactly one tenant exists.
    pub default_tenant: Option<String>,
    pub tenants: BTreeMap<String, TenantConfig>,
    pub session_cache: SessionCacheConfig,
    pub audit: AuditConfig,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    SelfHosted,
    Cloud,
}

/// Where `SessionService` looks for credentials in a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    Cookie,
    Bearer,
    /// Cookie first, then `Authorization: Bearer`.
    #[default]
    CookieOrBearer,
    /// A signed identity envelope set by Ory Oathkeeper; Kratos is never called.
    Oathkeeper,
}

impl Transport {
    /// The config spelling: `cookie`, `bearer`, `cookie-or-bearer`, `oathkeeper`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Cookie => "cookie",
            Transport::Bearer => "bearer",
            Transport::CookieOrBearer => "cookie-or-bearer",
            Transport::Oathkeeper => "oathkeeper",
        }
    }

    /// The inverse of [`as_str`](Self::as_str); `None` for anything else.
    pub fn parse(s: &str) -> Option<Transport> {
        match s {
            "cookie" => Some(Transport::Cookie),
            "bearer" => Some(Transport::Bearer),
            "cookie-or-bearer" => Some(Transport::CookieOrBearer),
            "oathkeeper" => Some(Transport::Oathkeeper),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct TenantConfig {
    pub mode: Mode,
    pub transport: Transport,
    pub kratos: Option<KratosConfig>,
    pub keto: Option<KetoConfig>,
    pub hydra: Option<HydraConfig>,
    pub cloud: Option<CloudConfig>,
    pub console: Option<ConsoleConfig>,
    pub oathkeeper: Option<OathkeeperConfig>,
    pub cache: CacheConfig,
    pub http: HttpConfig,
    /// Take `X-Request-Id` (and client addresses) from incoming requests.
    pub trust_proxy: bool,
}

#[derive(Clone, Debug, Default)]
pub struct KratosConfig {
    pub public_url: String,
    pub admin_url: Option<String>,
    pub admin_token: Option<Secret>,
    pub session_cookie_name: Option<String>,
}

impl KratosConfig {
    pub const DEFAULT_SESSION_COOKIE: &'static str = "ory_kratos_session";

    pub fn session_cookie_name(&self) -> &str {
        self.session_cookie_name.as_deref().unwrap_or(Self::DEFAULT_SESSION_COOKIE)
    }
}

#[derive(Clone, Debug, Default)]
pub struct KetoConfig {
    pub read_url: String,
    pub write_url: String,
    pub api_key: Option<Secret>,
    /// Tuples per request to Keto's batch-check endpoint (1..=65535). Must not exceed the
    /// server's `limit.max_batch_check_size`; unset = Keto's default of that limit, 10.
    pub batch_size: Option<u32>,
    /// Keto's OPL server (`serve.opl`), the only one serving `POST /opl/syntax/check`.
    pub opl_url: Option<String>,
}

impl KetoConfig {
    /// Keto's default `limit.max_batch_check_size`.
    pub const DEFAULT_BATCH_SIZE: u32 = 10;
    /// The largest `limit.max_batch_check_size` Keto accepts.
    pub const MAX_BATCH_SIZE: u32 = 65535;

    pub fn batch_size(&self) -> usize {
        self.batch_size.unwrap_or(Self::DEFAULT_BATCH_SIZE) as usize
    }
}

#[derive(Clone, Debug, Default)]
pub struct HydraConfig {
    pub public_url: String,
    /// `iss` of Hydra's tokens (`urls.self.issuer`); defaults to `public_url`.
    pub issuer: Option<String>,
    pub admin_url: String,
    pub admin_token: Option<Secret>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// The audience a bearer token must carry for `token.authenticate` (per call:
    /// `required_audience`); unset: not checked.
    pub audience: Option<String>,
    /// `token.authenticate`'s default mode: `auto` (JWTs verified locally, which cannot see
    /// revocation; others introspected), `jwt` or `introspect` (every token asked of Hydra).
    pub bearer_mode: Option<String>,
    /// Clock skew allowed on `exp`/`nbf`/`iat` of locally verified JWTs (default 5000).
    pub leeway_ms: Option<u64>,
}

impl HydraConfig {
    pub const DEFAULT_LEEWAY_MS: u64 = 5_000;
    pub const BEARER_MODES: [&'static str; 3] = ["auto", "jwt", "introspect"];
}

#[derive(Clone, Debug, Default)]
pub struct CloudConfig {
    pub project_slug: String,
    pub api_key: Secret,
}

#[derive(Clone, Debug, Default)]
pub struct ConsoleConfig {
    pub url: Option<String>,
    pub workspace_api_key: Option<Secret>,
}

#[derive(Clone, Debug, Default)]
pub struct OathkeeperConfig {
    pub identity_header: Option<String>,
    pub signature_header: Option<String>,
    pub signer_keys: Vec<Secret>,
    /// How many envelope ids (`jti`) are remembered to refuse replays (default 100,000). An id
    /// pushed out by newer ones could be replayed until its `exp`: size it above the number of
    /// envelopes one process accepts within the envelopes' lifetime.
    pub replay_max_entries: Option<u64>,
    /// `hmac` (default: our signed envelope, or ory-nestjs's) or `jwt` (Oathkeeper's `id_token`
    /// mutator: `Authorization: Bearer <JWT>` signed by keys Oathkeeper publishes).
    pub verifier: Option<String>,
    /// `jwt` mode: where the keys come from, and which algorithms they may sign with.
    pub jwks: Option<OathkeeperJwks>,
    /// `jwt` mode: the audiences a token must carry one of (unset: not checked).
    pub audience: Vec<String>,
    /// `jwt` mode: the issuer a token must name (unset: not checked).
    pub issuer: Option<String>,
    /// `jwt` mode: tolerance for `exp`/`nbf`/`iat` (default 5000 ms, at most 300000).
    pub clock_skew_ms: Option<u64>,
    /// Refuse an envelope id (`jti`) seen before while still valid. Default: on for `hmac`, off
    /// for `jwt` (Oathkeeper caches its JWT per session, so repeated requests carry one `jti`).
    pub replay_protection: Option<bool>,
    /// `replay_protection.ttl_ms`: remember an id at most this long (default: until its `exp`).
    pub replay_ttl_ms: Option<u64>,
}

impl OathkeeperConfig {
    pub const VERIFIERS: &'static [&'static str] = &["hmac", "jwt"];
    pub const DEFAULT_CLOCK_SKEW_MS: u64 = 5_000;

    pub fn is_jwt(&self) -> bool {
        self.verifier.as_deref() == Some("jwt")
    }
}

/// `oathkeeper.jwks`: Oathkeeper's published keys (`url`, e.g.
/// `http://oathkeeper:4456/.well-known/jwks.json`) or a JWK set given inline (`keys`).
#[derive(Clone, Debug, Default)]
pub struct OathkeeperJwks {
    pub url: Option<String>,
    pub keys: Option<Value>,
    /// Default `RS256`, `ES256`; `none` and `HS*` are never accepted.
    pub algorithms: Vec<String>,
}

impl OathkeeperJwks {
    /// `url` as the folder requests are joined onto and the document's name in it
    /// (`http://h:4456/.well-known/` and `jwks.json`), query kept.
    pub fn split_url(&self) -> Option<(String, String)> {
        let u = url::Url::parse(self.url.as_deref()?).ok()?;
        let name = u.path_segments()?.next_back().unwrap_or("").to_owned();
        let mut folder = u.clone();
        folder.set_query(None);
        folder.path_segments_mut().ok()?.pop().push("");
        let path = match u.query() {
            Some(q) => format!("{name}?{q}"),
            None => name,
        };
        Some((folder.to_string(), path))
    }
}

#[derive(Clone, Debug)]
pub struct CacheConfig {
    pub session_ttl_ms: u64,
    pub permission_ttl_ms: u64,
    pub jwks_ttl_ms: u64,
    /// How long past `jwks_ttl_ms` the last good JWKS still verifies tokens while Hydra cannot
    /// be reached (a refresh failed); 0 = never.
    pub jwks_stale_ms: u64,
    /// Keep active introspection results (never beyond the token's `exp`); 0 = off.
    pub introspection_ttl_ms: u64,
    /// Most Keto decisions kept (least recently used out first).
    pub permission_max_entries: u64,
    /// Most introspection results kept (least recently used out first).
    pub introspection_max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            session_ttl_ms: 0,
            permission_ttl_ms: 0,
            jwks_ttl_ms: 600_000,
            jwks_stale_ms: 3_600_000,
            introspection_ttl_ms: 0,
            permission_max_entries: 100_000,
            introspection_max_entries: 100_000,
        }
    }
}

/// Per-tenant HTTP behaviour towards Ory.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Whole-request deadline, per attempt.
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Extra attempts for idempotent requests on network errors, 5xx and 429.
    pub retries: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Responses larger than this fail with `upstream_unavailable` instead of filling memory.
    pub max_body_bytes: usize,
    /// Consecutive failures (network, 5xx, 429) that open a host's circuit breaker; 0 = off.
    pub breaker_threshold: u32,
    /// How long an open breaker refuses calls before letting one probe through.
    pub breaker_open_ms: u64,
    /// Client-side token bucket: requests per second to this tenant's servers; 0 = off.
    pub rate_limit_per_sec: u64,
    /// Bucket size (bursts); defaults to the rate.
    pub rate_limit_burst: u64,
    /// PEM bundle of CA certificates trusted for this tenant's `https://` servers, on top of the
    /// OS trust store and the bundled webpki roots (a private CA). Read once, at construction.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate (chain) presented to servers that ask for one (mutual TLS); needs
    /// `client_key_file`. Read once, at construction.
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `client_cert_file`.
    pub client_key_file: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout_ms: 5_000,
            connect_timeout_ms: 2_000,
            retries: 2,
            backoff_base_ms: 50,
            backoff_max_ms: 2_000,
            max_body_bytes: 8 * 1024 * 1024,
            breaker_threshold: 5,
            breaker_open_ms: 10_000,
            rate_limit_per_sec: 0,
            rate_limit_burst: 0,
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SessionCacheConfig {
    #[default]
    None,
    Memory {
        max_entries: usize,
    },
    /// Shared by every process using the same Redis, `key_prefix` and keys. Entries are
    /// encrypted and authenticated with `keys` (AES-256-GCM), and their names are keyed hashes:
    /// whoever can write to Redis but holds no key cannot plant a session.
    Redis {
        /// Where Redis is: one node, a cluster or a Sentinel-managed master.
        topology: RedisTopology,
        /// Namespace of every Redis key this library writes; `None` = [`DEFAULT_REDIS_KEY_PREFIX`].
        key_prefix: Option<String>,
        /// Base64 (standard alphabet) of 32 random bytes each. The first encrypts; every one
        /// decrypts (rotation: put the new key first, drop the old one once it is rolled out).
        keys: Vec<Secret>,
        /// Certificates for a `rediss://` URL.
        tls: RedisTlsConfig,
        /// Replicas that must acknowledge an eviction (Redis `WAIT`) before the write that
        /// made it (a revoke, a logout...) reports success; `None` = the topology's
        /// [`RedisTopology::default_wait_replicas`]. 0 accepts that an eviction acknowledged
        /// only by a master that fails right after is lost with it.
        wait_replicas: Option<u64>,
        /// How long an eviction waits for those replicas (the `WAIT` timeout), in milliseconds;
        /// `None` = [`DEFAULT_REDIS_WAIT_TIMEOUT_MS`]. Past it the write reports
        /// `upstream_unavailable` (retryable), never success.
        wait_timeout_ms: Option<u64>,
    },
}

impl SessionCacheConfig {
    /// The Redis key prefix in effect (`session_cache.redis.key_prefix`), `None` without Redis.
    pub fn redis_key_prefix(&self) -> Option<&str> {
        match self {
            SessionCacheConfig::Redis { key_prefix, .. } => {
                Some(key_prefix.as_deref().unwrap_or(DEFAULT_REDIS_KEY_PREFIX))
            }
            _ => None,
        }
    }
}

/// Where the Redis of `session_cache.redis` is. URLs are secrets (they may carry credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisTopology {
    /// `url`: one node (`redis://` or `rediss://`).
    Node(Secret),
    /// `cluster`: seed nodes of a Redis Cluster; the client learns the slot map from them and
    /// follows `MOVED`/`ASK` redirections and failovers itself.
    Cluster(Vec<Secret>),
    /// `sentinel`: the master `master_name` as the Sentinels at `urls` name it, asked again
    /// after every connection failure (a failover).
    Sentinel(Box<RedisSentinelConfig>),
}

impl Default for RedisTopology {
    fn default() -> Self {
        RedisTopology::Node(Secret::new(String::new()))
    }
}

impl RedisTopology {
    /// `session_cache.redis.wait_replicas` when not set: 1 for a cluster and Sentinel (whose
    /// failovers promote replicas), 0 for one node.
    pub fn default_wait_replicas(&self) -> u64 {
        match self {
            RedisTopology::Node(_) => 0,
            RedisTopology::Cluster(_) | RedisTopology::Sentinel(_) => 1,
        }
    }

    /// Every URL of the topology (the Sentinels' for `Sentinel`).
    pub fn urls(&self) -> Vec<&Secret> {
        match self {
            RedisTopology::Node(u) => vec![u],
            RedisTopology::Cluster(us) => us.iter().collect(),
            RedisTopology::Sentinel(s) => s.urls.iter().collect(),
        }
    }
}

/// `session_cache.redis.sentinel`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedisSentinelConfig {
    /// Sentinel URLs (`redis://[:password@]host:26379`); `rediss://` connects to the Sentinels
    /// and to the master with TLS.
    pub urls: Vec<Secret>,
    /// The master's name in the Sentinels' configuration (`sentinel monitor <name> ...`).
    pub master_name: String,
    /// Credentials and database of the master (the Sentinels' own go in their URLs).
    pub master_username: Option<String>,
    pub master_password: Option<Secret>,
    pub db: Option<u64>,
}

/// The 32-byte keys of `session_cache.redis.keys`, decoded, or the problem with each bad one
/// (path, reason). The reason never quotes the value.
pub(crate) fn decode_redis_keys(keys: &[Secret]) -> std::result::Result<Vec<[u8; 32]>, Vec<(String, &'static str)>> {
    use base64::Engine as _;
    let path = "session_cache.redis.keys";
    if keys.is_empty() {
        return Err(vec![(path.into(), "at least one key is required with Redis (base64 of 32 random bytes)")]);
    }
    let mut out = Vec::with_capacity(keys.len());
    let mut bad = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match base64::engine::general_purpose::STANDARD.decode(k.expose()) {
            Ok(b) => match <[u8; 32]>::try_from(b.as_slice()) {
                Ok(key) => out.push(key),
                Err(_) => bad.push((format!("{path}[{i}]"), "must decode to exactly 32 bytes")),
            },
            Err(_) => bad.push((format!("{path}[{i}]"), "must be base64 (standard alphabet, padded)")),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(bad)
    }
}

/// Whether `prefix` may name the Redis namespace: not empty, no whitespace or control
/// characters (they would make keys hard to inspect and split with `redis-cli`).
fn valid_redis_key_prefix(prefix: &str) -> bool {
    !prefix.is_empty() && !prefix.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// TLS material for a `rediss://` session cache; all paths to PEM files, read at construction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedisTlsConfig {
    /// CA bundle Redis's certificate must chain to, instead of the OS trust store.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (chain) for a Redis that requires one (`tls-auth-clients yes`).
    pub client_cert_file: Option<PathBuf>,
    /// Private key of `client_cert_file`.
    pub client_key_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuditSinkKind {
    /// Through `tracing` (bridged to Python `logging` / a Node callback by the bindings).
    #[default]
    Log,
    None,
    /// A user callback given next to the config (a Python callable, a JS function, a Rust sink).
    Callback,
}

#[derive(Clone, Debug, Default)]
pub struct AuditConfig {
    pub sink: AuditSinkKind,
    /// Regular expressions (Rust `regex` syntax) whose matches in any string of an event become
    /// `***`, besides the built-in rules. Checked to compile when the config is read.
    pub redact_patterns: Vec<String>,
}

pub const DEFAULT_MEMORY_CACHE_ENTRIES: usize = 100_000;
/// `session_cache.redis.key_prefix` when not set.
pub const DEFAULT_REDIS_KEY_PREFIX: &str = "ory-iam";
/// Upper bound of `session_cache.redis.wait_replicas`.
pub const MAX_WAIT_REPLICAS: u64 = 16;
/// `session_cache.redis.wait_timeout_ms` when not set.
pub const DEFAULT_REDIS_WAIT_TIMEOUT_MS: u64 = 1_000;
/// Bounds of `session_cache.redis.wait_timeout_ms`.
pub const REDIS_WAIT_TIMEOUT_MS_RANGE: std::ops::RangeInclusive<u64> = 10..=10_000;
pub const CLOUD_PROJECT_URL_TEMPLATE: &str = "https://{slug}.projects.oryapis.com";
pub const DEFAULT_CONSOLE_URL: &str = "https://api.console.ory.sh";
pub const ENV_CONFIG_FILE: &str = "ORY_IAM_CONFIG_FILE";
pub const ENV_PREFIX: &str = "ORY_IAM__";

impl IamConfig {
    /// Parse the shape of API.md from a JSON value (what Python dicts and JS objects become).
    /// Keys may be snake_case or camelCase. Returns every problem at once.
    pub fn from_value(value: &Value) -> Result<IamConfig> {
        let mut r = Reader::default();
        let cfg = r.config(value);
        let mut problems = r.problems;
        if let Some(cfg) = &cfg {
            problems.extend(cfg.problems());
        }
        match cfg {
            Some(cfg) if problems.is_empty() => Ok(cfg),
            _ => Err(Error::configuration_fields(problems)),
        }
    }

    /// A YAML or JSON file (YAML is a superset of JSON, so one parser reads both).
    pub fn from_file(path: impl AsRef<Path>) -> Result<IamConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::configuration_fields(vec![FieldError {
                path: "<file>".into(),
                reason: format!("cannot read {}: {}", path.display(), e.kind()),
                ..Default::default()
            }])
        })?;
        let value: Value = serde_yaml::from_str(&text).map_err(|e| {
            // Location only: a parse error message may quote the offending line (a secret).
            Error::configuration_fields(vec![FieldError {
                path: "<file>".into(),
                reason: format!("{} is not valid YAML/JSON{}", path.display(), yaml_location(&e)),
                ..Default::default()
            }])
        })?;
        Self::from_value(&value)
    }

    /// `ORY_IAM_CONFIG_FILE=<path>` or variables `ORY_IAM__<PATH>` where `__` separates
    /// levels, e.g. `ORY_IAM__TENANTS__CUSTOMER__KRATOS__PUBLIC_URL=http://...`. Tenant names
    /// are lower-cased. Both may be combined: the variables override the file.
    pub fn from_env() -> Result<IamConfig> {
        Self::from_env_vars(std::env::vars())
    }

    pub fn from_env_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<IamConfig> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let mut root = Value::Object(Map::new());
        if let Some((_, path)) = vars.iter().find(|(k, _)| k == ENV_CONFIG_FILE) {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::configuration_fields(vec![FieldError {
                    path: ENV_CONFIG_FILE.into(),
                    reason: format!("cannot read {path}: {}", e.kind()),
                    ..Default::default()
                }])
            })?;
            root = serde_yaml::from_str(&text).map_err(|e| {
                // Location only, as in `from_file`: the message may quote the line (a secret).
                Error::configuration_fields(vec![FieldError {
                    path: ENV_CONFIG_FILE.into(),
                    reason: format!("{path} is not valid YAML/JSON{}", yaml_location(&e)),
                    ..Default::default()
                }])
            })?;
        }
        let mut found = root.as_object().map(|m| !m.is_empty()).unwrap_or(false);
        for (k, v) in &vars {
            let Some(rest) = k.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            found = true;
            let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            insert_path(&mut root, &parts, env_scalar(v));
        }
        if !found {
            return Err(Error::configuration_fields(vec![FieldError {
                path: "<env>".into(),
                reason: format!("neither {ENV_CONFIG_FILE} nor any {ENV_PREFIX}* variable is set"),
                ..Default::default()
            }]));
        }
        Self::from_value(&root)
    }

    /// Check the rules that span fields. Called by every constructor; Rust users who build the
    /// struct by hand get the same checks from `Iam::from_config`.
    pub fn validate(&self) -> Result<()> {
        let p = self.problems();
        if p.is_empty() {
            Ok(())
        } else {
            Err(Error::configuration_fields(p))
        }
    }

    fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        let mut bad =
            |path: String, reason: &str| out.push(FieldError { path, reason: reason.into(), ..Default::default() });
        if self.tenants.is_empty() {
            bad("tenants".into(), "at least one tenant is required");
        }
        match &self.default_tenant {
            Some(d) if !self.tenants.contains_key(d) => bad("default_tenant".into(), "names no configured tenant"),
            None if self.tenants.len() > 1 => {
                bad("default_tenant".into(), "required when several tenants are configured")
            }
            _ => {}
        }
        if let SessionCacheConfig::Redis { topology, key_prefix, keys, tls, wait_replicas, wait_timeout_ms } =
            &self.session_cache
        {
            if wait_replicas.is_some_and(|n| n > MAX_WAIT_REPLICAS) {
                bad("session_cache.redis.wait_replicas".into(), "must be at most 16");
            }
            if wait_timeout_ms.is_some_and(|n| !REDIS_WAIT_TIMEOUT_MS_RANGE.contains(&n)) {
                bad("session_cache.redis.wait_timeout_ms".into(), "must be between 10 and 10000");
            }
            let url_path = |i: usize| match topology {
                RedisTopology::Node(_) => "session_cache.redis.url".to_owned(),
                RedisTopology::Cluster(_) => format!("session_cache.redis.cluster[{i}]"),
                RedisTopology::Sentinel(_) => format!("session_cache.redis.sentinel.urls[{i}]"),
            };
            let urls = topology.urls();
            let scheme_ok = |u: &Secret| u.expose().starts_with("redis://") || u.expose().starts_with("rediss://");
            let tls_urls = urls.iter().filter(|u| u.expose().starts_with("rediss://")).count();
            for (i, u) in urls.iter().enumerate() {
                if !scheme_ok(u) {
                    bad(url_path(i), "must be a redis:// or rediss:// URL");
                }
            }
            match topology {
                RedisTopology::Cluster(us) if us.is_empty() => {
                    bad("session_cache.redis.cluster".into(), "must list at least one node")
                }
                RedisTopology::Sentinel(s) if s.urls.is_empty() => {
                    bad("session_cache.redis.sentinel.urls".into(), "must list at least one Sentinel")
                }
                _ => {}
            }
            if tls_urls != 0 && tls_urls != urls.len() {
                bad(url_path(0), "mixes redis:// and rediss:// URLs: use one scheme for every node");
            }
            if matches!(topology, RedisTopology::Cluster(_))
                && key_prefix.as_deref().is_some_and(|p| p.contains('{') || p.contains('}'))
            {
                bad("session_cache.redis.key_prefix".into(), "must not contain { or } with a cluster (hash tags)");
            }
            if urls.iter().all(|u| scheme_ok(u)) && tls_urls == 0 && *tls != RedisTlsConfig::default() {
                for (key, set) in [
                    ("ca_file", &tls.ca_file),
                    ("client_cert_file", &tls.client_cert_file),
                    ("client_key_file", &tls.client_key_file),
                ] {
                    if set.is_some() {
                        bad(format!("session_cache.redis.{key}"), "needs a rediss:// url (TLS)");
                    }
                }
            }
            check_key_pair(&mut bad, "session_cache.redis", &tls.client_cert_file, &tls.client_key_file);
            if tls.ca_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                bad("session_cache.redis.ca_file".into(), "must not be empty");
            }
            if key_prefix.as_deref().is_some_and(|p| !valid_redis_key_prefix(p)) {
                bad(
                    "session_cache.redis.key_prefix".into(),
                    "must be non-empty, without whitespace or control characters",
                );
            }
            if let Err(problems) = decode_redis_keys(keys) {
                for (path, reason) in problems {
                    bad(path, reason);
                }
            }
        }
        if let SessionCacheConfig::Memory { max_entries: 0 } = &self.session_cache {
            bad("session_cache.memory.max_entries".into(), "must be greater than 0");
        }
        for (name, t) in &self.tenants {
            let at = |k: &str| format!("tenants.{name}.{k}");
            if name.is_empty() {
                bad("tenants".into(), "tenant names must not be empty");
            }
            if let Some(k) = &t.kratos {
                check_url(&mut bad, at("kratos.public_url"), &k.public_url);
                if let Some(u) = &k.admin_url {
                    check_url(&mut bad, at("kratos.admin_url"), u);
                }
                if k.session_cookie_name.as_deref() == Some("") {
                    bad(at("kratos.session_cookie_name"), "must not be empty");
                }
            }
            if let Some(k) = &t.keto {
                check_url(&mut bad, at("keto.read_url"), &k.read_url);
                check_url(&mut bad, at("keto.write_url"), &k.write_url);
                if let Some(u) = &k.opl_url {
                    check_url(&mut bad, at("keto.opl_url"), u);
                }
                if matches!(k.batch_size, Some(n) if n == 0 || n > KetoConfig::MAX_BATCH_SIZE) {
                    bad(at("keto.batch_size"), "must be between 1 and 65535");
                }
            }
            if let Some(h) = &t.hydra {
                check_url(&mut bad, at("hydra.public_url"), &h.public_url);
                check_url(&mut bad, at("hydra.admin_url"), &h.admin_url);
                if matches!(&h.bearer_mode, Some(m) if !HydraConfig::BEARER_MODES.contains(&m.as_str())) {
                    bad(at("hydra.bearer_mode"), "must be auto, jwt or introspect");
                }
                if h.audience.as_deref() == Some("") {
                    bad(at("hydra.audience"), "must not be empty");
                }
                if matches!(h.leeway_ms, Some(ms) if ms > 300_000) {
                    bad(at("hydra.leeway_ms"), "must be at most 300000 (5 minutes)");
                }
            }
            if let Some(c) = &t.console {
                if let Some(u) = &c.url {
                    check_url(&mut bad, at("console.url"), u);
                }
            }
            match (&t.mode, &t.cloud) {
                (Mode::Cloud, None) => {
                    bad(at("cloud.project_slug"), "required when mode is cloud");
                    bad(at("cloud.api_key"), "required when mode is cloud");
                }
                (Mode::Cloud, Some(c)) => {
                    if c.project_slug.is_empty() {
                        bad(at("cloud.project_slug"), "required when mode is cloud");
                    } else if !c.project_slug.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
                        bad(at("cloud.project_slug"), "may contain only letters, digits and '-'");
                    }
                    if c.api_key.is_empty() {
                        bad(at("cloud.api_key"), "required when mode is cloud");
                    }
                }
                (Mode::SelfHosted, _) => {
                    if t.kratos.is_none() && t.keto.is_none() && t.hydra.is_none() && t.console.is_none() {
                        bad(at("kratos"), "a self-hosted tenant needs at least one of kratos, keto, hydra or console");
                    }
                }
            }
            if let Some(o) = t.oathkeeper.as_ref().filter(|_| t.transport == Transport::Oathkeeper) {
                if matches!(&o.verifier, Some(v) if !OathkeeperConfig::VERIFIERS.contains(&v.as_str())) {
                    bad(at("oathkeeper.verifier"), "must be hmac or jwt");
                }
                if o.replay_ttl_ms == Some(0) {
                    bad(at("oathkeeper.replay_protection.ttl_ms"), "must be greater than 0");
                }
                if o.clock_skew_ms.is_some_and(|ms| ms > 300_000) {
                    bad(at("oathkeeper.clock_skew_ms"), "must be at most 300000 (5 minutes)");
                }
                if o.audience.iter().any(String::is_empty) {
                    bad(at("oathkeeper.audience"), "must not be empty");
                }
                if let Some(j) = &o.jwks {
                    for a in &j.algorithms {
                        if !crate::transport::oathkeeper::JWT_ALGORITHMS.contains(&a.as_str()) {
                            bad(
                                at("oathkeeper.jwks.algorithms"),
                                "must be asymmetric: RS256/384/512, PS256/384/512, ES256/384 or EdDSA",
                            );
                        }
                    }
                    if let Some(u) = &j.url {
                        if url::Url::parse(u).map(|u| !matches!(u.scheme(), "http" | "https")).unwrap_or(true) {
                            bad(at("oathkeeper.jwks.url"), "must be an http(s) URL");
                        }
                    }
                    if let Some(k) = &j.keys {
                        if serde_json::from_value::<jsonwebtoken::jwk::JwkSet>(k.clone()).is_err() {
                            bad(at("oathkeeper.jwks.keys"), "must be a JWK set ({\"keys\": [...]})");
                        }
                    }
                }
            }
            if t.transport == Transport::Oathkeeper && t.oathkeeper.as_ref().is_some_and(OathkeeperConfig::is_jwt) {
                let o = t.oathkeeper.as_ref().expect("checked");
                if o.jwks.as_ref().is_none_or(|j| j.url.is_none() && j.keys.is_none()) {
                    bad(at("oathkeeper.jwks"), "url or keys is required when verifier is jwt");
                }
            } else if t.transport == Transport::Oathkeeper {
                match &t.oathkeeper {
                    Some(o) if !o.signer_keys.is_empty() => {
                        if o.signer_keys.iter().any(|k| k.is_empty()) {
                            bad(at("oathkeeper.signer_keys"), "keys must not be empty");
                        }
                    }
                    _ => bad(at("oathkeeper.signer_keys"), "at least one key is required when transport is oathkeeper"),
                }
                match t.oathkeeper.as_ref().and_then(|o| o.replay_max_entries) {
                    Some(0) => bad(at("oathkeeper.replay_max_entries"), "must be greater than 0"),
                    Some(n) if n > 100_000_000 => bad(at("oathkeeper.replay_max_entries"), "must be at most 100000000"),
                    _ => {}
                }
            }
            if t.cache.permission_max_entries == 0 {
                bad(at("cache.permission_max_entries"), "must be greater than 0");
            }
            if t.cache.introspection_max_entries == 0 {
                bad(at("cache.introspection_max_entries"), "must be greater than 0");
            }
            if t.http.timeout_ms == 0 {
                bad(at("http.timeout_ms"), "must be greater than 0");
            }
            if t.http.max_body_bytes == 0 {
                bad(at("http.max_body_bytes"), "must be greater than 0");
            }
            if t.http.retries > 10 {
                bad(at("http.retries"), "must be at most 10");
            }
            if t.http.ca_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                bad(at("http.ca_file"), "must not be empty");
            }
            check_key_pair(&mut bad, &at("http"), &t.http.client_cert_file, &t.http.client_key_file);
        }
        out
    }
}

impl TenantConfig {
    /// The one host serving every project API of a cloud tenant: `kratos.public_url` when given
    /// (a custom domain), else `https://{project_slug}.projects.oryapis.com`. `None` when not in
    /// cloud mode.
    pub fn cloud_host(&self) -> Option<String> {
        match (self.mode, &self.cloud) {
            (Mode::Cloud, Some(c)) => Some(match &self.kratos {
                Some(k) => k.public_url.clone(),
                None => cloud_project_url(&c.project_slug),
            }),
            _ => None,
        }
    }

    /// Kratos URLs and token, derived from `cloud.project_slug` in cloud mode unless given. In
    /// cloud mode the session cookie name defaults to the project's
    /// ([`cloud_session_cookie_name`]).
    pub fn effective_kratos(&self) -> Option<KratosConfig> {
        match (&self.kratos, self.mode, &self.cloud) {
            (Some(k), Mode::Cloud, Some(c)) => Some(KratosConfig {
                admin_url: k.admin_url.clone().or_else(|| Some(k.public_url.clone())),
                admin_token: k.admin_token.clone().or_else(|| Some(c.api_key.clone())),
                session_cookie_name: k
                    .session_cookie_name
                    .clone()
                    .or_else(|| Some(cloud_session_cookie_name(&c.project_slug))),
                ..k.clone()
            }),
            (Some(k), _, _) => Some(k.clone()),
            (None, Mode::Cloud, Some(c)) => {
                let url = cloud_project_url(&c.project_slug);
                Some(KratosConfig {
                    public_url: url.clone(),
                    admin_url: Some(url),
                    admin_token: Some(c.api_key.clone()),
                    session_cookie_name: Some(cloud_session_cookie_name(&c.project_slug)),
                })
            }
            _ => None,
        }
    }

    /// Keto URLs and key; in cloud mode, unless given, the project host ([`cloud_host`](Self::cloud_host)).
    pub fn effective_keto(&self) -> Option<KetoConfig> {
        match (&self.keto, self.mode, &self.cloud) {
            (Some(k), Mode::Cloud, Some(c)) => {
                Some(KetoConfig { api_key: k.api_key.clone().or_else(|| Some(c.api_key.clone())), ..k.clone() })
            }
            (Some(k), _, _) => Some(k.clone()),
            (None, Mode::Cloud, Some(c)) => {
                let url = self.cloud_host().unwrap_or_else(|| cloud_project_url(&c.project_slug));
                Some(KetoConfig {
                    read_url: url.clone(),
                    write_url: url.clone(),
                    api_key: Some(c.api_key.clone()),
                    batch_size: None,
                    opl_url: Some(url),
                })
            }
            _ => None,
        }
    }

    /// Hydra URLs and token; in cloud mode, unless given, the project host ([`cloud_host`](Self::cloud_host)).
    pub fn effective_hydra(&self) -> Option<HydraConfig> {
        match (&self.hydra, self.mode, &self.cloud) {
            (Some(h), Mode::Cloud, Some(c)) => Some(HydraConfig {
                admin_token: h.admin_token.clone().or_else(|| Some(c.api_key.clone())),
                ..h.clone()
            }),
            (Some(h), _, _) => Some(h.clone()),
            (None, Mode::Cloud, Some(c)) => {
                let url = self.cloud_host().unwrap_or_else(|| cloud_project_url(&c.project_slug));
                Some(HydraConfig {
                    public_url: url.clone(),
                    issuer: None,
                    admin_url: url,
                    admin_token: Some(c.api_key.clone()),
                    client_id: None,
                    client_secret: None,
                    audience: None,
                    bearer_mode: None,
                    leeway_ms: None,
                })
            }
            _ => None,
        }
    }
}

impl TenantConfig {
    /// Credentials this tenant would send in the clear: each configured admin token, API key or
    /// client secret whose server URL is plain `http://` to a host that is not loopback
    /// (127.0.0.0/8, ::1, `localhost`). `(credential key, URL key)`, both relative to
    /// `tenants.<name>.`; never the values. Reported as a warning at construction and by
    /// `health()`.
    pub fn plaintext_credentials(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        let cloud_key = "cloud.api_key";
        let mut check = |secret: bool, key: &'static str, url_key: &'static str, url: &str| {
            if secret && !url_is_private(url) {
                out.push((key, url_key));
            }
        };
        if let Some(k) = self.effective_kratos() {
            let key = if self.kratos.as_ref().is_some_and(|k| k.admin_token.is_some()) {
                "kratos.admin_token"
            } else {
                cloud_key
            };
            if let Some(u) = &k.admin_url {
                check(k.admin_token.is_some(), key, "kratos.admin_url", u);
            }
        }
        if let Some(k) = self.effective_keto() {
            let key = if self.keto.as_ref().is_some_and(|k| k.api_key.is_some()) { "keto.api_key" } else { cloud_key };
            check(k.api_key.is_some(), key, "keto.read_url", &k.read_url);
            check(k.api_key.is_some(), key, "keto.write_url", &k.write_url);
            if let Some(u) = &k.opl_url {
                check(k.api_key.is_some(), key, "keto.opl_url", u);
            }
        }
        if let Some(h) = self.effective_hydra() {
            let key = if self.hydra.as_ref().is_some_and(|h| h.admin_token.is_some()) {
                "hydra.admin_token"
            } else {
                cloud_key
            };
            check(h.admin_token.is_some(), key, "hydra.admin_url", &h.admin_url);
            // The client secret goes to the token and revocation endpoints (HTTP Basic).
            check(h.client_secret.is_some(), "hydra.client_secret", "hydra.public_url", &h.public_url);
        }
        if let Some(c) = &self.console {
            if let Some(u) = &c.url {
                check(c.workspace_api_key.is_some(), "console.workspace_api_key", "console.url", u);
            }
        }
        out
    }
}

/// `https://`, or plain `http://` to a loopback host: what may carry a credential. Unparsable
/// URLs are reported by validation, not here.
fn url_is_private(raw: &str) -> bool {
    let Ok(u) = url::Url::parse(raw) else { return true };
    if u.scheme() != "http" {
        return true;
    }
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => true,
    }
}

pub fn cloud_project_url(slug: &str) -> String {
    CLOUD_PROJECT_URL_TEMPLATE.replace("{slug}", slug)
}

/// The session cookie Ory Network sets for a project: `ory_session_` followed by the project
/// slug without its dashes (`happy-cat-123` → `ory_session_happycat123`). Ory publishes no
/// formula; this is what its own documentation shows (docs/ory-network.md cites where).
/// `kratos.session_cookie_name` overrides it.
pub fn cloud_session_cookie_name(slug: &str) -> String {
    format!("ory_session_{}", slug.replace('-', ""))
}

/// A client certificate and its key come together: each names the other when alone.
fn check_key_pair(bad: &mut impl FnMut(String, &str), at: &str, cert: &Option<PathBuf>, key: &Option<PathBuf>) {
    for (name, value) in [("client_cert_file", cert), ("client_key_file", key)] {
        if value.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            bad(format!("{at}.{name}"), "must not be empty");
        }
    }
    match (cert, key) {
        (Some(_), None) => bad(format!("{at}.client_key_file"), "required when client_cert_file is set"),
        (None, Some(_)) => bad(format!("{at}.client_cert_file"), "required when client_key_file is set"),
        _ => {}
    }
}

fn check_url(bad: &mut impl FnMut(String, &str), path: String, raw: &str) {
    match url::Url::parse(raw) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {}
        Ok(_) => bad(path, "must be an http(s) URL with a host"),
        Err(_) => bad(path, "is not a valid URL"),
    }
}

fn insert_path(node: &mut Value, parts: &[String], leaf: Value) {
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Value::Object(obj) = node else { return };
    match parts {
        [] => {}
        [last] => {
            obj.insert(last.clone(), leaf);
        }
        [first, rest @ ..] => {
            let child = obj.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
            insert_path(child, rest, leaf);
        }
    }
}

fn env_scalar(v: &str) -> Value {
    match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(v.to_owned()),
    }
}

/// snake_case → camelCase, for accepting Node-style keys.
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut up = false;
    for ch in key.chars() {
        if ch == '_' {
            up = true;
        } else if up {
            out.extend(ch.to_uppercase());
            up = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// Walks a JSON value, collecting every problem with its path instead of stopping at the first.
#[derive(Default)]
struct Reader {
    problems: Vec<FieldError>,
    /// Every key path looked up (`tenants.customer.http.timeout_ms`), whether present or not:
    /// what [`accepted_keys`] reports.
    asked: Vec<String>,
}

/// One object being read: remembers which keys were consumed to report the unknown ones.
struct Obj<'a> {
    path: String,
    map: Option<&'a Map<String, Value>>,
    seen: Vec<&'a str>,
}

impl Reader {
    fn bad(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(FieldError { path: path.into(), reason: reason.into(), ..Default::default() });
    }

    fn obj<'a>(&mut self, path: &str, v: &'a Value) -> Obj<'a> {
        let map = match v {
            Value::Object(m) => Some(m),
            _ => {
                self.bad(if path.is_empty() { "<root>" } else { path }, "must be an object");
                None
            }
        };
        Obj { path: path.to_owned(), map, seen: Vec::new() }
    }

    fn child<'a>(&mut self, o: &mut Obj<'a>, key: &'static str) -> Option<&'a Value> {
        self.asked.push(join(&o.path, key));
        let m = o.map?;
        let found = m.get_key_value(key).or_else(|| m.get_key_value(camel(key).as_str()));
        match found {
            Some((k, v)) => {
                o.seen.push(k.as_str());
                if v.is_null() {
                    None
                } else {
                    Some(v)
                }
            }
            None => None,
        }
    }

    fn finish(&mut self, o: Obj<'_>) {
        if let Some(m) = o.map {
            for k in m.keys() {
                if !o.seen.contains(&k.as_str()) {
                    let p = join(&o.path, k);
                    self.bad(p, "unknown key");
                }
            }
        }
    }

    fn string(&mut self, o: &mut Obj<'_>, key: &'static str) -> Option<String> {
        let path = join(&o.path, key);
        match self.child(o, key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.bad(path, "must be a string");
                None
            }
        }
    }

    fn required_string(&mut self, o: &mut Obj<'_>, key: &'static str) -> String {
        let path = join(&o.path, key);
        match self.string(o, key) {
            Some(s) if !s.is_empty() => s,
            Some(_) => {
                self.bad(path, "must not be empty");
                String::new()
            }
            None => {
                if o.map.map(|m| !m.contains_key(key) && !m.contains_key(&camel(key))).unwrap_or(false) {
                    self.bad(path, "is required");
                }
                String::new()
            }
        }
    }

    fn secret(&mut self, o: &mut Obj<'_>, key: &'static str) -> Option<Secret> {
        // Never echo the value: the reason names only the expected type.
        self.string(o, key).map(Secret::new)
    }

    fn uint(&mut self, o: &mut Obj<'_>, key: &'static str) -> Option<u64> {
        let path = join(&o.path, key);
        match self.child(o, key)? {
            Value::Number(n) if n.as_u64().is_some() => n.as_u64(),
            Value::Number(n) if n.as_f64().map(|f| f >= 0.0 && f.fract() == 0.0).unwrap_or(false) => {
                n.as_f64().map(|f| f as u64)
            }
            Value::String(s) if s.parse::<u64>().is_ok() => s.parse().ok(),
            _ => {
                self.bad(path, "must be a non-negative integer");
                None
            }
        }
    }

    /// A string, or a list of strings (e.g. an audience).
    fn string_list(&mut self, o: &mut Obj<'_>, key: &'static str) -> Option<Vec<String>> {
        let path = join(&o.path, key);
        match self.child(o, key)? {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(a) if a.iter().all(Value::is_string) => {
                Some(a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            }
            _ => {
                self.bad(path, "must be a string or a list of strings");
                None
            }
        }
    }

    fn boolean(&mut self, o: &mut Obj<'_>, key: &'static str) -> Option<bool> {
        let path = join(&o.path, key);
        match self.child(o, key)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.bad(path, "must be true or false");
                None
            }
        }
    }

    fn config(&mut self, v: &Value) -> Option<IamConfig> {
        let mut o = self.obj("", v);
        o.map?;
        let default_tenant = self.string(&mut o, "default_tenant");
        let mut tenants = BTreeMap::new();
        match self.child(&mut o, "tenants") {
            Some(Value::Object(m)) => {
                for (name, tv) in m {
                    // Tenant names are user data: never case-converted.
                    if let Some(t) = self.tenant(&format!("tenants.{name}"), tv) {
                        tenants.insert(name.clone(), t);
                    }
                }
            }
            Some(_) => self.bad("tenants", "must be an object of tenant name → tenant config"),
            None => self.bad("tenants", "is required"),
        }
        let session_cache = match self.child(&mut o, "session_cache") {
            None => SessionCacheConfig::None,
            Some(v) => self.session_cache(v),
        };
        let audit = match self.child(&mut o, "audit") {
            None => AuditConfig::default(),
            Some(v) => {
                let mut a = self.obj("audit", v);
                let sink = match self.string(&mut a, "sink").as_deref() {
                    None | Some("log") => AuditSinkKind::Log,
                    Some("none") => AuditSinkKind::None,
                    Some("callback") => AuditSinkKind::Callback,
                    Some(_) => {
                        self.bad("audit.sink", "must be one of log, none, callback");
                        AuditSinkKind::Log
                    }
                };
                let redact_patterns = self.string_list(&mut a, "redact_patterns").unwrap_or_default();
                if let Err((i, reason)) = crate::audit::Redactor::new(&redact_patterns) {
                    self.bad(format!("audit.redact_patterns[{i}]"), reason);
                }
                self.finish(a);
                AuditConfig { sink, redact_patterns }
            }
        };
        self.finish(o);
        Some(IamConfig { default_tenant, tenants, session_cache, audit })
    }

    fn session_cache(&mut self, v: &Value) -> SessionCacheConfig {
        match v {
            Value::String(s) if s == "none" => SessionCacheConfig::None,
            Value::String(s) if s == "memory" => {
                SessionCacheConfig::Memory { max_entries: DEFAULT_MEMORY_CACHE_ENTRIES }
            }
            Value::Object(_) => {
                let mut o = self.obj("session_cache", v);
                let out = if let Some(r) = self.child(&mut o, "redis") {
                    let mut ro = self.obj("session_cache.redis", r);
                    let topology = self.redis_topology(&mut ro);
                    let key_prefix = self.string(&mut ro, "key_prefix");
                    let keys = self.redis_keys(&mut ro);
                    let tls = RedisTlsConfig {
                        ca_file: self.string(&mut ro, "ca_file").map(PathBuf::from),
                        client_cert_file: self.string(&mut ro, "client_cert_file").map(PathBuf::from),
                        client_key_file: self.string(&mut ro, "client_key_file").map(PathBuf::from),
                    };
                    let wait_replicas = self.uint(&mut ro, "wait_replicas");
                    let wait_timeout_ms = self.uint(&mut ro, "wait_timeout_ms");
                    self.finish(ro);
                    SessionCacheConfig::Redis { topology, key_prefix, keys, tls, wait_replicas, wait_timeout_ms }
                } else if let Some(m) = self.child(&mut o, "memory") {
                    let mut mo = self.obj("session_cache.memory", m);
                    let max = self.uint(&mut mo, "max_entries").unwrap_or(DEFAULT_MEMORY_CACHE_ENTRIES as u64);
                    self.finish(mo);
                    SessionCacheConfig::Memory { max_entries: max as usize }
                } else {
                    self.bad("session_cache", "must be \"memory\", \"none\", {memory: {...}} or {redis: {url, keys}}");
                    SessionCacheConfig::None
                };
                self.finish(o);
                out
            }
            _ => {
                self.bad("session_cache", "must be \"memory\", \"none\", {memory: {...}} or {redis: {url, keys}}");
                SessionCacheConfig::None
            }
        }
    }

    /// Exactly one of `session_cache.redis.url`, `cluster` and `sentinel` (all three are looked
    /// up, so each is reported as accepted).
    fn redis_topology(&mut self, o: &mut Obj<'_>) -> RedisTopology {
        let url = self.string(o, "url");
        let cluster = self.url_list(o, "cluster");
        let sentinel = match self.child(o, "sentinel") {
            Some(v) => {
                let mut so = self.obj("session_cache.redis.sentinel", v);
                let urls = self.url_list(&mut so, "urls").unwrap_or_default();
                let master_name = self.required_string(&mut so, "master_name");
                let master_username = self.string(&mut so, "master_username");
                let master_password = self.secret(&mut so, "master_password");
                let db = self.uint(&mut so, "db");
                if so.map.is_some() && urls.is_empty() {
                    self.bad("session_cache.redis.sentinel.urls", "must list at least one Sentinel");
                }
                self.finish(so);
                Some(RedisSentinelConfig { urls, master_name, master_username, master_password, db })
            }
            None => None,
        };
        let given = usize::from(url.is_some()) + usize::from(cluster.is_some()) + usize::from(sentinel.is_some());
        if given > 1 {
            self.bad("session_cache.redis", "give one of url, cluster and sentinel");
        }
        if let Some(s) = sentinel {
            RedisTopology::Sentinel(Box::new(s))
        } else if let Some(c) = cluster {
            RedisTopology::Cluster(c)
        } else {
            match url {
                Some(u) if !u.is_empty() => RedisTopology::Node(Secret::new(u)),
                Some(_) => {
                    self.bad(join(&o.path, "url"), "must not be empty");
                    RedisTopology::default()
                }
                None => {
                    if o.map.is_some() {
                        self.bad(join(&o.path, "url"), "is required (or cluster, or sentinel)");
                    }
                    RedisTopology::default()
                }
            }
        }
    }

    /// A list of URLs (secrets), or one string of comma-separated URLs (an environment variable).
    fn url_list(&mut self, o: &mut Obj<'_>, key: &'static str) -> Option<Vec<Secret>> {
        let path = join(&o.path, key);
        match self.child(o, key)? {
            Value::String(s) => Some(s.split(',').map(str::trim).filter(|u| !u.is_empty()).map(Secret::new).collect()),
            Value::Array(a) => {
                let mut out = Vec::new();
                for (i, u) in a.iter().enumerate() {
                    match u {
                        Value::String(s) => out.push(Secret::new(s.clone())),
                        _ => self.bad(format!("{path}[{i}]"), "must be a string"),
                    }
                }
                Some(out)
            }
            _ => {
                self.bad(path, "must be a list of URLs");
                None
            }
        }
    }

    /// `session_cache.redis.keys`: a list of strings, or one string of comma-separated keys
    /// (what an environment variable can carry; base64 has no commas).
    fn redis_keys(&mut self, o: &mut Obj<'_>) -> Vec<Secret> {
        let path = join(&o.path, "keys");
        match self.child(o, "keys") {
            None => Vec::new(),
            Some(Value::String(s)) => s.split(',').map(|k| Secret::new(k.trim())).collect(),
            Some(Value::Array(a)) => {
                let mut keys = Vec::new();
                for (i, k) in a.iter().enumerate() {
                    match k {
                        Value::String(s) => keys.push(Secret::new(s.clone())),
                        _ => self.bad(format!("{path}[{i}]"), "must be a string"),
                    }
                }
                keys
            }
            Some(_) => {
                self.bad(path, "must be a list of strings");
                Vec::new()
            }
        }
    }

    fn tenant(&mut self, path: &str, v: &Value) -> Option<TenantConfig> {
        let mut o = self.obj(path, v);
        o.map?;
        let mut t = TenantConfig::default();
        match self.string(&mut o, "mode").as_deref() {
            None | Some("self-hosted") | Some("self_hosted") => {}
            Some("cloud") => t.mode = Mode::Cloud,
            Some(_) => self.bad(join(path, "mode"), "must be self-hosted or cloud"),
        }
        if let Some(s) = self.string(&mut o, "transport") {
            match Transport::parse(&s) {
                Some(tr) => t.transport = tr,
                None => {
                    self.bad(join(path, "transport"), "must be one of cookie, bearer, cookie-or-bearer, oathkeeper")
                }
            }
        }
        if let Some(v) = self.child(&mut o, "kratos") {
            let mut k = self.obj(&join(path, "kratos"), v);
            t.kratos = Some(KratosConfig {
                public_url: self.required_string(&mut k, "public_url"),
                admin_url: self.string(&mut k, "admin_url"),
                admin_token: self.secret(&mut k, "admin_token"),
                session_cookie_name: self.string(&mut k, "session_cookie_name"),
            });
            self.finish(k);
        }
        if let Some(v) = self.child(&mut o, "keto") {
            let mut k = self.obj(&join(path, "keto"), v);
            t.keto = Some(KetoConfig {
                read_url: self.required_string(&mut k, "read_url"),
                write_url: self.required_string(&mut k, "write_url"),
                api_key: self.secret(&mut k, "api_key"),
                batch_size: self.uint(&mut k, "batch_size").map(|n| n.min(u64::from(u32::MAX)) as u32),
                opl_url: self.string(&mut k, "opl_url"),
            });
            self.finish(k);
        }
        if let Some(v) = self.child(&mut o, "hydra") {
            let mut h = self.obj(&join(path, "hydra"), v);
            t.hydra = Some(HydraConfig {
                public_url: self.required_string(&mut h, "public_url"),
                issuer: self.string(&mut h, "issuer"),
                admin_url: self.required_string(&mut h, "admin_url"),
                admin_token: self.secret(&mut h, "admin_token"),
                client_id: self.string(&mut h, "client_id"),
                client_secret: self.secret(&mut h, "client_secret"),
                audience: self.string(&mut h, "audience"),
                bearer_mode: self.string(&mut h, "bearer_mode"),
                leeway_ms: self.uint(&mut h, "leeway_ms"),
            });
            self.finish(h);
        }
        if let Some(v) = self.child(&mut o, "cloud") {
            let mut c = self.obj(&join(path, "cloud"), v);
            t.cloud = Some(CloudConfig {
                project_slug: self.string(&mut c, "project_slug").unwrap_or_default(),
                api_key: self.secret(&mut c, "api_key").unwrap_or_default(),
            });
            self.finish(c);
        }
        if let Some(v) = self.child(&mut o, "console") {
            let mut c = self.obj(&join(path, "console"), v);
            t.console = Some(ConsoleConfig {
                url: self.string(&mut c, "url"),
                workspace_api_key: self.secret(&mut c, "workspace_api_key"),
            });
            self.finish(c);
        }
        if let Some(v) = self.child(&mut o, "oathkeeper") {
            let mut c = self.obj(&join(path, "oathkeeper"), v);
            let identity_header = self.string(&mut c, "identity_header");
            let signature_header = self.string(&mut c, "signature_header");
            let replay_max_entries = self.uint(&mut c, "replay_max_entries");
            let keys_path = join(&c.path, "signer_keys");
            let signer_keys = match self.child(&mut c, "signer_keys") {
                None => Vec::new(),
                Some(Value::Array(a)) => {
                    let mut keys = Vec::new();
                    for (i, k) in a.iter().enumerate() {
                        match k {
                            Value::String(s) => keys.push(Secret::new(s.clone())),
                            _ => self.bad(format!("{keys_path}[{i}]"), "must be a string"),
                        }
                    }
                    keys
                }
                Some(_) => {
                    self.bad(keys_path, "must be a list of strings");
                    Vec::new()
                }
            };
            let verifier = self.string(&mut c, "verifier");
            let jwks = match self.child(&mut c, "jwks") {
                None => None,
                Some(v) => {
                    let mut j = self.obj(&join(&c.path, "jwks"), v);
                    let url = self.string(&mut j, "url");
                    let keys = self.child(&mut j, "keys").cloned();
                    let algorithms = self.string_list(&mut j, "algorithms").unwrap_or_default();
                    self.finish(j);
                    Some(OathkeeperJwks { url, keys, algorithms })
                }
            };
            let audience = self.string_list(&mut c, "audience").unwrap_or_default();
            let issuer = self.string(&mut c, "issuer");
            let clock_skew_ms = self.uint(&mut c, "clock_skew_ms");
            let (replay_protection, replay_ttl_ms) = match self.child(&mut c, "replay_protection") {
                None => (None, None),
                Some(v) => {
                    let mut r = self.obj(&join(&c.path, "replay_protection"), v);
                    let enabled = self.boolean(&mut r, "enabled");
                    let ttl = self.uint(&mut r, "ttl_ms");
                    self.finish(r);
                    (enabled, ttl)
                }
            };
            t.oathkeeper = Some(OathkeeperConfig {
                identity_header,
                signature_header,
                signer_keys,
                replay_max_entries,
                verifier,
                jwks,
                audience,
                issuer,
                clock_skew_ms,
                replay_protection,
                replay_ttl_ms,
            });
            self.finish(c);
        }
        if let Some(v) = self.child(&mut o, "cache") {
            let mut c = self.obj(&join(path, "cache"), v);
            let d = CacheConfig::default();
            t.cache = CacheConfig {
                session_ttl_ms: self.uint(&mut c, "session_ttl_ms").unwrap_or(d.session_ttl_ms),
                permission_ttl_ms: self.uint(&mut c, "permission_ttl_ms").unwrap_or(d.permission_ttl_ms),
                jwks_ttl_ms: self.uint(&mut c, "jwks_ttl_ms").unwrap_or(d.jwks_ttl_ms),
                jwks_stale_ms: self.uint(&mut c, "jwks_stale_ms").unwrap_or(d.jwks_stale_ms),
                introspection_ttl_ms: self.uint(&mut c, "introspection_ttl_ms").unwrap_or(d.introspection_ttl_ms),
                permission_max_entries: self.uint(&mut c, "permission_max_entries").unwrap_or(d.permission_max_entries),
                introspection_max_entries: self
                    .uint(&mut c, "introspection_max_entries")
                    .unwrap_or(d.introspection_max_entries),
            };
            self.finish(c);
        }
        if let Some(v) = self.child(&mut o, "http") {
            let mut c = self.obj(&join(path, "http"), v);
            let d = HttpConfig::default();
            t.http = HttpConfig {
                timeout_ms: self.uint(&mut c, "timeout_ms").unwrap_or(d.timeout_ms),
                connect_timeout_ms: self.uint(&mut c, "connect_timeout_ms").unwrap_or(d.connect_timeout_ms),
                retries: self.uint(&mut c, "retries").map(|n| n.min(u32::MAX as u64) as u32).unwrap_or(d.retries),
                backoff_base_ms: self.uint(&mut c, "backoff_base_ms").unwrap_or(d.backoff_base_ms),
                backoff_max_ms: self.uint(&mut c, "backoff_max_ms").unwrap_or(d.backoff_max_ms),
                max_body_bytes: self.uint(&mut c, "max_body_bytes").map(|n| n as usize).unwrap_or(d.max_body_bytes),
                breaker_threshold: self
                    .uint(&mut c, "breaker_threshold")
                    .map(|n| n.min(u32::MAX as u64) as u32)
                    .unwrap_or(d.breaker_threshold),
                breaker_open_ms: self.uint(&mut c, "breaker_open_ms").unwrap_or(d.breaker_open_ms),
                rate_limit_per_sec: self.uint(&mut c, "rate_limit_per_sec").unwrap_or(d.rate_limit_per_sec),
                rate_limit_burst: self.uint(&mut c, "rate_limit_burst").unwrap_or(d.rate_limit_burst),
                ca_file: self.string(&mut c, "ca_file").map(PathBuf::from),
                client_cert_file: self.string(&mut c, "client_cert_file").map(PathBuf::from),
                client_key_file: self.string(&mut c, "client_key_file").map(PathBuf::from),
            };
            self.finish(c);
        }
        t.trust_proxy = self.boolean(&mut o, "trust_proxy").unwrap_or(false);
        self.finish(o);
        Some(t)
    }
}

/// ` at line L, column C` of a YAML/JSON parse error (empty when the parser gives none).
fn yaml_location(e: &serde_yaml::Error) -> String {
    e.location().map(|l| format!(" at line {}, column {}", l.line(), l.column())).unwrap_or_default()
}

/// Every key path the config reader accepts, sorted and without duplicates, with tenant names
/// written `<name>` (`tenants.<name>.http.timeout_ms`). The real reader runs over probe
/// documents that open every section, every tenant sub-object and every `session_cache` variant,
/// and reports each key it looks up, so the list cannot drift from the reader. For the
/// documentation check in `core/tests/config_reference.rs`; not part of the API.
#[doc(hidden)]
pub fn accepted_keys() -> Vec<String> {
    // The probe tenant is named `<name>`: tenant names are never converted, so the paths come
    // out as the reference writes them.
    let tenant = serde_json::json!({
        "kratos": {}, "keto": {}, "hydra": {}, "cloud": {}, "console": {}, "oathkeeper": {"jwks": {}, "replay_protection": {}}, "cache": {}, "http": {},
    });
    // `session_cache` looks at `memory` only when there is no `redis`: one probe per variant.
    let probes = [
        serde_json::json!({"tenants": {"<name>": tenant}, "session_cache": {"redis": {"sentinel": {}}}, "audit": {}}),
        serde_json::json!({"session_cache": {"memory": {}}}),
    ];
    let mut r = Reader::default();
    for p in &probes {
        r.config(p);
    }
    let mut keys = r.asked;
    keys.sort();
    keys.dedup();
    keys
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(e: &Error) -> Vec<&str> {
        e.fields().iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn reports_every_problem_at_once() {
        let e = IamConfig::from_value(&json!({
            "tenants": {
                "a": {"mode": "cloud", "kratos": {"public_url": "not a url"}, "bogus": 1},
                "b": {"transport": "oathkeeper", "keto": {"read_url": "http://x"}},
            },
            "session_cache": {"redis": {"url": "http://wrong"}},
        }))
        .unwrap_err();
        assert_eq!(e.code(), "configuration");
        let p = paths(&e);
        for want in [
            "tenants.a.bogus",
            "tenants.b.keto.write_url",
            "default_tenant",
            "tenants.a.kratos.public_url",
            "tenants.a.cloud.project_slug",
            "tenants.a.cloud.api_key",
            "tenants.b.oathkeeper.signer_keys",
            "session_cache.redis.url",
        ] {
            assert!(p.contains(&want), "missing {want} in {p:?}");
        }
    }

    #[test]
    fn keto_batch_size_is_bounded_like_ketos_own_limit() {
        let keto = |n: Value| json!({"tenants": {"t": {"keto": {"read_url": "http://k", "write_url": "http://k", "batch_size": n}}}});
        for bad in [json!(0), json!(65536), json!(-1), json!("ten"), json!(u64::MAX)] {
            let e = IamConfig::from_value(&keto(bad.clone())).unwrap_err();
            assert_eq!(paths(&e), ["tenants.t.keto.batch_size"], "{bad}");
        }
        let c = IamConfig::from_value(&keto(json!(100))).unwrap();
        assert_eq!(c.tenants["t"].keto.as_ref().unwrap().batch_size(), 100);
        let c = IamConfig::from_value(
            &json!({"tenants": {"t": {"keto": {"read_url": "http://k", "write_url": "http://k"}}}}),
        )
        .unwrap();
        assert_eq!(c.tenants["t"].keto.as_ref().unwrap().batch_size(), 10, "Keto's default limit");
    }

    #[test]
    fn accepts_camel_case_keys_and_single_tenant_default() {
        let c = IamConfig::from_value(&json!({
            "tenants": {"my_tenant": {"kratos": {"publicUrl": "http://127.0.0.1:4433", "adminUrl": "http://127.0.0.1:4434"}}},
            "sessionCache": "memory",
        }))
        .unwrap();
        let t = &c.tenants["my_tenant"];
        assert_eq!(t.kratos.as_ref().unwrap().admin_url.as_deref(), Some("http://127.0.0.1:4434"));
        assert_eq!(c.session_cache, SessionCacheConfig::Memory { max_entries: DEFAULT_MEMORY_CACHE_ENTRIES });
    }

    #[test]
    fn secrets_never_appear_in_config_errors_or_debug() {
        let e = IamConfig::from_value(&json!({
            "tenants": {"a": {"kratos": {"public_url": "http://x", "admin_token": 12345}, "cloud": {"api_key": "ory_pat_SECRET"}}}
        }))
        .unwrap_err();
        assert!(paths(&e).contains(&"tenants.a.kratos.admin_token"));
        let c = IamConfig::from_value(&json!({
            "tenants": {"a": {"kratos": {"public_url": "http://x", "admin_token": "ory_pat_SECRET"}}}
        }))
        .unwrap();
        assert!(!format!("{c:?}").contains("SECRET"));
        assert!(!e.to_string().contains("SECRET"));
    }

    #[test]
    fn cloud_mode_derives_project_urls() {
        let c = IamConfig::from_value(&json!({
            "tenants": {"p": {"mode": "cloud", "cloud": {"project_slug": "happy-cat-123", "api_key": "ory_pat_x"}}}
        }))
        .unwrap();
        let k = c.tenants["p"].effective_kratos().unwrap();
        assert_eq!(k.public_url, "https://happy-cat-123.projects.oryapis.com");
        assert_eq!(k.admin_token.unwrap().expose(), "ory_pat_x");
        let h = c.tenants["p"].effective_hydra().unwrap();
        assert_eq!(h.admin_url, "https://happy-cat-123.projects.oryapis.com");
        assert_eq!(
            c.tenants["p"].effective_kratos().unwrap().session_cookie_name(),
            "ory_session_happycat123",
            "Ory Network names the session cookie after the project"
        );
        assert!(c.tenants["p"].effective_keto().unwrap().read_url.starts_with("https://happy-cat-123."));
    }

    #[test]
    fn cloud_custom_domain_serves_every_api_and_keeps_the_cookie_name() {
        let c = IamConfig::from_value(&json!({"tenants": {"p": {
            "mode": "cloud",
            "cloud": {"project_slug": "happy-cat-123", "api_key": "ory_pat_x"},
            "kratos": {"public_url": "https://auth.example.com"},
        }}}))
        .unwrap();
        let t = &c.tenants["p"];
        let k = t.effective_kratos().unwrap();
        assert_eq!(k.admin_url.as_deref(), Some("https://auth.example.com"));
        assert_eq!(k.session_cookie_name(), "ory_session_happycat123");
        let keto = t.effective_keto().unwrap();
        assert_eq!(
            (keto.read_url.as_str(), keto.write_url.as_str()),
            ("https://auth.example.com", "https://auth.example.com")
        );
        let h = t.effective_hydra().unwrap();
        assert_eq!(
            (h.public_url.as_str(), h.admin_url.as_str()),
            ("https://auth.example.com", "https://auth.example.com")
        );
        // The override still wins; self-hosted keeps Kratos's default.
        let c = IamConfig::from_value(&json!({"tenants": {
            "p": {"mode": "cloud", "cloud": {"project_slug": "a-b", "api_key": "k"},
                  "kratos": {"public_url": "https://auth.example.com", "session_cookie_name": "mine"}},
        }}))
        .unwrap();
        assert_eq!(c.tenants["p"].effective_kratos().unwrap().session_cookie_name(), "mine");
        let c = IamConfig::from_value(&json!({"tenants": {"s": {"kratos": {"public_url": "http://k"}}}})).unwrap();
        assert_eq!(c.tenants["s"].effective_kratos().unwrap().session_cookie_name(), "ory_kratos_session");
    }

    #[test]
    fn accepted_keys_come_from_the_reader() {
        let keys = accepted_keys();
        for want in [
            "default_tenant",
            "tenants",
            "tenants.<name>.mode",
            "tenants.<name>.kratos.session_cookie_name",
            "tenants.<name>.keto.batch_size",
            "tenants.<name>.hydra.issuer",
            "tenants.<name>.oathkeeper.signer_keys",
            "tenants.<name>.cache.introspection_ttl_ms",
            "tenants.<name>.http.breaker_threshold",
            "tenants.<name>.http.max_body_bytes",
            "tenants.<name>.trust_proxy",
            "session_cache.redis.url",
            "session_cache.memory.max_entries",
            "audit.sink",
        ] {
            assert!(keys.iter().any(|k| k == want), "{want} missing from {keys:?}");
        }
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "sorted, without duplicates");
    }

    #[test]
    fn env_vars_build_the_same_shape() {
        let c = IamConfig::from_env_vars(vec![
            ("ORY_IAM__TENANTS__CUSTOMER__KRATOS__PUBLIC_URL".into(), "http://127.0.0.1:1".into()),
            ("ORY_IAM__TENANTS__CUSTOMER__HTTP__RETRIES".into(), "4".into()),
            ("ORY_IAM__SESSION_CACHE".into(), "memory".into()),
            ("UNRELATED".into(), "x".into()),
        ])
        .unwrap();
        assert_eq!(c.tenants["customer"].http.retries, 4);
        assert!(IamConfig::from_env_vars(Vec::new()).is_err());
    }

    /// `session_cache.redis` names one node, a cluster or a Sentinel-managed master: exactly
    /// one of them, every URL `redis://`/`rediss://` (one scheme for all), never echoed.
    #[test]
    fn redis_topologies() {
        let good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let redis = |r: Value| {
            let mut r = r;
            r.as_object_mut().unwrap().insert("keys".into(), json!([good]));
            json!({"tenants": {"t": {"kratos": {"public_url": "http://127.0.0.1:1"}}}, "session_cache": {"redis": r}})
        };
        let c =
            IamConfig::from_value(&redis(json!({"cluster": ["redis://:pw@10.0.0.1:7000", "redis://10.0.0.2:7000"]})))
                .unwrap();
        let SessionCacheConfig::Redis { topology: RedisTopology::Cluster(nodes), .. } = &c.session_cache else {
            panic!("cluster")
        };
        assert_eq!(nodes.len(), 2);
        assert!(!format!("{c:?}").contains(":pw@"), "URLs are secrets");
        let c = IamConfig::from_value(&redis(json!({"sentinel": {
            "urls": ["redis://10.0.0.1:26379", "redis://10.0.0.2:26379"], "masterName": "main",
            "master_username": "app", "master_password": "hunter2", "db": 3}})))
        .unwrap();
        let SessionCacheConfig::Redis { topology: RedisTopology::Sentinel(s), .. } = &c.session_cache else {
            panic!("sentinel")
        };
        assert_eq!((s.urls.len(), s.master_name.as_str(), s.db), (2, "main", Some(3)));
        assert!(!format!("{c:?}").contains("hunter2"));
        // A comma-separated string (an environment variable) is a list.
        let c = IamConfig::from_env_vars(vec![
            ("ORY_IAM__TENANTS__T__KRATOS__PUBLIC_URL".into(), "http://127.0.0.1:1".into()),
            ("ORY_IAM__SESSION_CACHE__REDIS__CLUSTER".into(), "redis://a:1, redis://b:2,redis://c:3".into()),
            ("ORY_IAM__SESSION_CACHE__REDIS__KEYS".into(), good.into()),
        ])
        .unwrap();
        assert!(
            matches!(&c.session_cache, SessionCacheConfig::Redis { topology: RedisTopology::Cluster(n), .. } if n.len() == 3)
        );
        let cases = [
            (json!({}), vec!["session_cache.redis.url"]),
            (json!({"url": "redis://a:1", "cluster": ["redis://b:1"]}), vec!["session_cache.redis"]),
            (json!({"cluster": []}), vec!["session_cache.redis.cluster"]),
            (json!({"cluster": ["redis://a:1", "http://b:1"]}), vec!["session_cache.redis.cluster[1]"]),
            (json!({"cluster": ["redis://a:1", 7]}), vec!["session_cache.redis.cluster[1]"]),
            (json!({"cluster": ["rediss://a:1", "redis://b:1"]}), vec!["session_cache.redis.cluster[0]"]),
            (json!({"cluster": ["redis://a:1"], "key_prefix": "{app}"}), vec!["session_cache.redis.key_prefix"]),
            (json!({"cluster": ["redis://a:1"], "ca_file": "/ca.pem"}), vec!["session_cache.redis.ca_file"]),
            (json!({"sentinel": {"master_name": "m"}}), vec!["session_cache.redis.sentinel.urls"]),
            (json!({"sentinel": {"urls": ["redis://s:26379"]}}), vec!["session_cache.redis.sentinel.master_name"]),
            (
                json!({"sentinel": {"urls": ["tcp://s:26379"], "master_name": "m"}}),
                vec!["session_cache.redis.sentinel.urls[0]"],
            ),
            (
                json!({"sentinel": {"urls": ["redis://s:1"], "master_name": "m", "port": 1}}),
                vec!["session_cache.redis.sentinel.port"],
            ),
            (json!({"cluster": ["redis://a:1"], "wait_replicas": 17}), vec!["session_cache.redis.wait_replicas"]),
            (json!({"url": "redis://a:1", "wait_replicas": -1}), vec!["session_cache.redis.wait_replicas"]),
            (json!({"url": "redis://a:1", "wait_timeout_ms": 0}), vec!["session_cache.redis.wait_timeout_ms"]),
            (json!({"url": "redis://a:1", "wait_timeout_ms": 10_001}), vec!["session_cache.redis.wait_timeout_ms"]),
            (json!({"url": "redis://a:1", "wait_timeout_ms": "1s"}), vec!["session_cache.redis.wait_timeout_ms"]),
        ];
        for (r, want) in cases {
            let e = IamConfig::from_value(&redis(r.clone())).unwrap_err();
            let mut p = paths(&e);
            p.dedup();
            assert_eq!(p, want, "{r}");
        }
        // wait_replicas: given, or by topology (a cluster's and Sentinel's failovers promote
        // replicas; one node has none to wait for unless told).
        let wait = |r: Value| match IamConfig::from_value(&redis(r)).unwrap().session_cache {
            SessionCacheConfig::Redis { topology, wait_replicas, .. } => {
                wait_replicas.unwrap_or_else(|| topology.default_wait_replicas())
            }
            _ => panic!("redis"),
        };
        assert_eq!(wait(json!({"url": "redis://a:1"})), 0);
        assert_eq!(wait(json!({"url": "redis://a:1", "waitReplicas": 1})), 1);
        assert_eq!(wait(json!({"cluster": ["redis://a:1"]})), 1);
        assert_eq!(wait(json!({"cluster": ["redis://a:1"], "wait_replicas": 0})), 0);
        assert_eq!(wait(json!({"sentinel": {"urls": ["redis://s:1"], "master_name": "m"}})), 1);
        assert_eq!(wait(json!({"sentinel": {"urls": ["redis://s:1"], "master_name": "m"}, "wait_replicas": 2})), 2);
        // With a single node, braces in the prefix stay allowed (as before clusters).
        IamConfig::from_value(&redis(json!({"url": "redis://a:1", "key_prefix": "{app}"}))).unwrap();
        let timeout = |r: Value| match IamConfig::from_value(&redis(r)).unwrap().session_cache {
            SessionCacheConfig::Redis { wait_timeout_ms, .. } => wait_timeout_ms,
            _ => panic!("redis"),
        };
        assert_eq!(timeout(json!({"cluster": ["redis://a:1"]})), None);
        assert_eq!(timeout(json!({"cluster": ["redis://a:1"], "wait_timeout_ms": 10})), Some(10));
        assert_eq!(timeout(json!({"url": "redis://a:1", "waitTimeoutMs": 10_000})), Some(10_000));
    }

    /// Redis without a key is refused (an unauthenticated shared cache is the vulnerability);
    /// every bad key and prefix is named by path, never echoed.
    #[test]
    fn redis_needs_valid_keys_and_prefix() {
        let good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let redis = |extra: Value| {
            let mut r = json!({"url": "redis://127.0.0.1:6379/0"});
            r.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            json!({"tenants": {"t": {"kratos": {"public_url": "http://127.0.0.1:1"}}}, "session_cache": {"redis": r}})
        };
        let cases = [
            (json!({}), vec!["session_cache.redis.keys"]),
            (json!({"keys": []}), vec!["session_cache.redis.keys"]),
            (json!({"keys": ["c2VjcmV0LXNob3J0"]}), vec!["session_cache.redis.keys[0]"]),
            (json!({"keys": [good, "not base64 at all!"]}), vec!["session_cache.redis.keys[1]"]),
            (json!({"keys": [good, 7]}), vec!["session_cache.redis.keys[1]"]),
            (json!({"keys": {"a": good}}), vec!["session_cache.redis.keys"]),
            (json!({"keys": [good], "key_prefix": ""}), vec!["session_cache.redis.key_prefix"]),
            (json!({"keys": [good], "key_prefix": "my app"}), vec!["session_cache.redis.key_prefix"]),
            (json!({"keys": [good], "key_prefix": "a\u{7}b"}), vec!["session_cache.redis.key_prefix"]),
        ];
        for (extra, want) in cases {
            let e = IamConfig::from_value(&redis(extra.clone())).unwrap_err();
            assert_eq!(e.code(), "configuration");
            let mut p = paths(&e);
            p.dedup();
            assert_eq!(p, want, "{extra}");
            assert!(!e.to_string().contains("c2VjcmV0") && !e.to_string().contains("not base64"), "{e}");
        }
        let c = IamConfig::from_value(&redis(json!({"keys": [good]}))).unwrap();
        assert_eq!(c.session_cache.redis_key_prefix(), Some(DEFAULT_REDIS_KEY_PREFIX));
        assert!(!format!("{c:?}").contains(good));
        let c = IamConfig::from_value(&redis(json!({"keyPrefix": "prod:eu", "keys": [good, good]}))).unwrap();
        assert_eq!(c.session_cache.redis_key_prefix(), Some("prod:eu"));
        // An environment variable carries a list as comma-separated keys.
        let c = IamConfig::from_env_vars(vec![
            ("ORY_IAM__TENANTS__T__KRATOS__PUBLIC_URL".into(), "http://127.0.0.1:1".into()),
            ("ORY_IAM__SESSION_CACHE__REDIS__URL".into(), "redis://127.0.0.1:1/0".into()),
            ("ORY_IAM__SESSION_CACHE__REDIS__KEYS".into(), format!("{good}, {good}")),
        ])
        .unwrap();
        let SessionCacheConfig::Redis { keys, .. } = &c.session_cache else { panic!("redis") };
        assert_eq!(keys.len(), 2);
        // A hand-built config that skips validation is refused when the cache is built.
        let hand = IamConfig {
            session_cache: SessionCacheConfig::Redis {
                topology: RedisTopology::Node("redis://127.0.0.1:1/0".into()),
                key_prefix: None,
                keys: vec![],
                tls: Default::default(),
                wait_replicas: None,
                wait_timeout_ms: None,
            },
            ..c
        };
        let e = crate::cache::SessionStore::new(&hand.session_cache).err().expect("refused");
        assert_eq!(paths(&e), ["session_cache.redis.keys"]);
    }

    #[test]
    fn only_https_or_loopback_may_carry_a_credential() {
        for ok in [
            "https://kratos.example.com/",
            "http://127.0.0.1:4434/",
            "http://127.200.0.9/",
            "http://[::1]:4434/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:4434/",
            "http://LocalHost./",
            "http://admin.localhost/",
        ] {
            assert!(url_is_private(ok), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/",
            "http://kratos-admin:4434/",
            "http://[::2]/",
            "http://localhost.evil.com/",
            "http://0.0.0.0/",
        ] {
            assert!(!url_is_private(bad), "{bad}");
        }
        let c = IamConfig::from_value(&json!({"tenants": {"t": {
            "kratos": {"public_url": "http://k:1/", "admin_url": "http://k:2/", "admin_token": "x"},
            "keto": {"read_url": "http://127.0.0.1:1/", "write_url": "http://keto:2/", "api_key": "y"},
            "hydra": {"public_url": "http://h:1/", "admin_url": "https://h:2/", "admin_token": "z", "client_secret": "s"},
            "console": {"url": "http://c/", "workspace_api_key": "w"},
        }}}))
        .unwrap();
        assert_eq!(
            c.tenants["t"].plaintext_credentials(),
            vec![
                ("kratos.admin_token", "kratos.admin_url"),
                ("keto.api_key", "keto.write_url"),
                ("hydra.client_secret", "hydra.public_url"),
                ("console.workspace_api_key", "console.url"),
            ]
        );
        // No credential, no warning.
        let c = IamConfig::from_value(
            &json!({"tenants": {"t": {"kratos": {"public_url": "http://k/", "admin_url": "http://k:2/"}}}}),
        )
        .unwrap();
        assert!(c.tenants["t"].plaintext_credentials().is_empty());
    }

    #[test]
    fn tls_files_come_in_pairs_and_redis_tls_needs_rediss() {
        let e = IamConfig::from_value(&json!({
            "tenants": {"t": {"kratos": {"public_url": "http://k/"}, "http": {"client_cert_file": "c.pem", "ca_file": ""}}},
            "session_cache": {"redis": {"url": "redis://r/0", "ca_file": "ca.pem", "client_key_file": "k.pem",
                                        "keys": ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]}},
        }))
        .unwrap_err();
        let mut p = paths(&e);
        p.sort();
        assert_eq!(
            p,
            vec![
                "session_cache.redis.ca_file",
                "session_cache.redis.client_cert_file",
                "session_cache.redis.client_key_file",
                "tenants.t.http.ca_file",
                "tenants.t.http.client_key_file",
            ]
        );
    }
}

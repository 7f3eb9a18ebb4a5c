//! Local verification of Hydra-issued JWT access tokens against Hydra's published JWKS, with a
//! rotation-aware cache: keys are kept for `cache.jwks_ttl_ms`; a token signed by an unknown
//! `kid`, or a set past its TTL, triggers one refetch per cooldown (success or failure), by one
//! caller while the others go on with the set they have; when a refresh fails, the last good
//! set is served for `cache.jwks_stale_ms` more.
//!
//! Only access tokens pass: Hydra's JWKS also publishes the key that signs OIDC ID tokens, so
//! the signature alone does not say which kind a token is (see [`check_access_shape`]).

use crate::error::{Error, ErrorKind, Result};
use crate::http::{Call, OryClient};
use crate::tenancy::TenantContext;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::time::{Duration, Instant};

// Short, so a legitimate key rotation is picked up within seconds; long enough that tokens with
// made-up key ids cannot make us hammer Hydra.
const REFETCH_COOLDOWN: Duration = Duration::from_secs(2);
const ALGS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

#[derive(Default)]
pub(crate) struct JwksCache {
    /// The last set fetched, and when. Read without waiting.
    keys: arc_swap::ArcSwapOption<(JwkSet, Instant)>,
    /// Held by the one caller fetching; the time of the last attempt, success or failure.
    fetching: tokio::sync::Mutex<Option<Instant>>,
}

/// The claims we read from a Hydra JWT access token.
#[derive(Deserialize)]
pub(crate) struct AccessClaims {
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// Hydra's default scope claim (`strategies.jwt.scope_claim: list`).
    #[serde(default)]
    pub scp: Option<Vec<String>>,
    #[serde(default)]
    pub scope: Option<String>,
    pub exp: i64,
    /// A string or a list (RFC 7519 §4.1.3).
    #[serde(default)]
    pub aud: Option<Audience>,
    /// Claims only OIDC ID tokens carry (OpenID Connect Core §2, §3.1.3.6, §3.3.2.11): any of them
    /// marks a token that is not an access token.
    #[serde(default)]
    at_hash: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    c_hash: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    nonce: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    auth_time: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(list) => list.iter().any(|a| a == aud),
        }
    }
}

/// Whether verified claims are those of a Hydra access token: Hydra's JWT access tokens carry
/// `client_id` and none of the claims reserved to ID tokens. (ID tokens name the client only
/// in `aud`/`azp`; a refresh token is never a JWT in Hydra.)
fn check_access_shape(c: &AccessClaims) -> bool {
    c.client_id.as_deref().is_some_and(|id| !id.is_empty())
        && c.at_hash.is_none()
        && c.c_hash.is_none()
        && c.nonce.is_none()
        && c.auth_time.is_none()
}

fn unauthorized(t: &TenantContext, why: &str) -> Error {
    Error::new(ErrorKind::Unauthorized, format!("token rejected: {why}")).with_tenant(&*t.name)
}

impl JwksCache {
    async fn fetch(c: &OryClient, path: &str) -> Result<JwkSet> {
        let r = c.send(Call::get(path)).await?;
        c.decode(&r)
    }

    /// A key of the set fetched within `cache.jwks_ttl_ms`, without waiting (`None`: unknown,
    /// or the set is due for a refresh: ask [`key`](Self::key)).
    pub(crate) fn key_now(&self, t: &TenantContext, kid: &str) -> Option<Jwk> {
        let ttl = Duration::from_millis(t.config.cache.jwks_ttl_ms);
        let snap = self.keys.load_full()?;
        (snap.1.elapsed() < ttl).then(|| snap.0.find(kid).cloned()).flatten()
    }

    /// The key `kid` of the set `client` publishes at `path`: from the cache when fresh, else
    /// fetched (one caller at a time, once per cooldown), with the stale window on failures.
    pub(crate) async fn key(&self, t: &TenantContext, client: &OryClient, path: &str, kid: &str) -> Result<Jwk> {
        let ttl = Duration::from_millis(t.config.cache.jwks_ttl_ms);
        let stale = Duration::from_millis(t.config.cache.jwks_stale_ms);
        let known = |snap: Option<std::sync::Arc<(JwkSet, Instant)>>| {
            snap.and_then(|s| s.0.find(kid).cloned().map(|k| (k, s.1.elapsed())))
        };
        let found = known(self.keys.load_full());
        if let Some((k, age)) = &found {
            if *age < ttl {
                return Ok(k.clone());
            }
        }
        // Past its TTL, the last set still serves known kids for the stale window: while a
        // refresh is under way (others do not wait for it) and when it fails (an outage).
        let stale_key = found.filter(|(_, age)| *age < ttl.saturating_add(stale)).map(|(k, _)| k);
        let mut last = match self.fetching.try_lock() {
            Ok(g) => g,
            Err(_) => {
                if let Some(k) = stale_key {
                    return Ok(k);
                }
                // An unknown kid waits for the fetch under way, then reads what it brought.
                drop(self.fetching.lock().await);
                return known(self.keys.load_full())
                    .map(|(k, _)| k)
                    .ok_or_else(|| unauthorized(t, "signed by an unknown key"));
            }
        };
        if last.is_some_and(|at| at.elapsed() < REFETCH_COOLDOWN) {
            // Asked moments ago (answered or failed): tokens with made-up key ids, or a flood
            // during an outage, do not make us ask again.
            if let Some(k) = stale_key {
                return Ok(k);
            }
            return match known(self.keys.load_full()) {
                // Fetched within the cooldown (a TTL shorter than it): as fresh as allowed.
                Some((k, age)) if age < REFETCH_COOLDOWN => Ok(k),
                // A known key whose set is too old, and the last refresh failed: an outage,
                // never "this valid token is invalid".
                Some(_) => Err(Error::new(
                    ErrorKind::UpstreamUnavailable,
                    "hydra's JWKS could not be refreshed (the last attempt failed moments ago)",
                )
                .with_tenant(t.name.to_string())),
                None => Err(unauthorized(t, "signed by an unknown key")),
            };
        }
        *last = Some(Instant::now());
        match Self::fetch(client, path).await {
            Ok(set) => {
                let k = set.find(kid).cloned();
                self.keys.store(Some(std::sync::Arc::new((set, Instant::now()))));
                k.ok_or_else(|| unauthorized(t, "signed by an unknown key"))
            }
            Err(e) => stale_key.ok_or(e),
        }
    }

    /// Verify an access token: signature (asymmetric algorithms only, matching the key's own
    /// `alg` and `use`), issuer, `exp`/`nbf`/`iat` with the tenant's leeway, the access-token
    /// shape, and the expected audience when one is set; return the claims.
    pub async fn verify(&self, t: &TenantContext, token: &str, audience: Option<&str>) -> Result<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized(t, "not a JWT"))?;
        if !ALGS.contains(&header.alg) {
            return Err(unauthorized(t, "unsupported signing algorithm"));
        }
        // RFC 9068 access tokens say `at+jwt`; Hydra writes `JWT`. Anything else is another kind.
        if let Some(typ) = header.typ.as_deref() {
            if !["jwt", "at+jwt", "application/at+jwt"].iter().any(|ok| typ.eq_ignore_ascii_case(ok)) {
                return Err(unauthorized(t, "not an access token"));
            }
        }
        let kid = header.kid.ok_or_else(|| unauthorized(t, "no key id"))?;
        let hydra = t.hydra_public.as_ref().ok_or_else(|| t.missing("hydra.public_url", "token verification"))?;
        let jwk = self.key(t, hydra, ".well-known/jwks.json", &kid).await?;
        if jwk.common.key_algorithm.is_some_and(|a| a.to_string() != format!("{:?}", header.alg)) {
            return Err(unauthorized(t, "the key is for another algorithm"));
        }
        if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature) {
            return Err(unauthorized(t, "the key is not a signing key"));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| unauthorized(t, "unusable signing key"))?;
        let hydra = t.config.effective_hydra();
        let issuer =
            hydra.as_ref().map(|h| h.issuer.clone().unwrap_or_else(|| h.public_url.clone())).unwrap_or_default();
        let mut v = Validation::new(header.alg);
        // Hydra writes the issuer with or without a trailing slash depending on its config.
        v.set_issuer(&[issuer.trim_end_matches('/').to_owned(), format!("{}/", issuer.trim_end_matches('/'))]);
        v.validate_aud = false;
        v.validate_nbf = true;
        let leeway_ms =
            hydra.as_ref().and_then(|h| h.leeway_ms).unwrap_or(crate::config::HydraConfig::DEFAULT_LEEWAY_MS);
        v.leeway = leeway_ms.div_ceil(1000);
        v.set_required_spec_claims(&["exp", "iss"]);
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &key, &v).map(|d| d.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => unauthorized(t, "expired"),
                K::ImmatureSignature => unauthorized(t, "not valid yet (nbf)"),
                K::InvalidIssuer => unauthorized(t, "wrong issuer"),
                _ => unauthorized(t, "invalid signature or claims"),
            }
        })?;
        if !check_access_shape(&claims) {
            return Err(unauthorized(t, "not an access token"));
        }
        if let Some(aud) = audience {
            if !claims.aud.as_ref().is_some_and(|a| a.contains(aud)) {
                return Err(unauthorized(t, "issued for another audience"));
            }
        }
        Ok(claims)
    }
}

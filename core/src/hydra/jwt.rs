//! Local verification of Hydra-issued JWT access tokens against Hydra's published JWKS, with a
//! rotation-aware cache: keys are kept for `cache.jwks_ttl_ms`, and a token signed by an
//! unknown `kid` triggers one refetch (at most once per cooldown) before it is refused.

use crate::error::{Error, ErrorKind, Result};
use crate::http::Call;
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
    state: tokio::sync::Mutex<Option<(JwkSet, Instant)>>,
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
}

fn unauthorized(t: &TenantContext, why: &str) -> Error {
    Error::new(ErrorKind::Unauthorized, format!("token rejected: {why}")).with_tenant(&*t.name)
}

impl JwksCache {
    async fn fetch(t: &TenantContext) -> Result<JwkSet> {
        let c = t.hydra_public.as_ref().ok_or_else(|| t.missing("hydra.public_url", "token verification"))?;
        let r = c.send(Call::get(".well-known/jwks.json")).await?;
        c.decode(&r)
    }

    async fn key(&self, t: &TenantContext, kid: &str) -> Result<Jwk> {
        let ttl = Duration::from_millis(t.config.cache.jwks_ttl_ms);
        let mut state = self.state.lock().await;
        if let Some((set, at)) = state.as_ref() {
            if let Some(k) = set.find(kid) {
                if at.elapsed() < ttl {
                    return Ok(k.clone());
                }
            } else if at.elapsed() < REFETCH_COOLDOWN {
                // Just fetched and the kid is not there: do not hammer Hydra for a forged kid.
                return Err(unauthorized(t, "signed by an unknown key"));
            }
        }
        let set = Self::fetch(t).await?;
        let found = set.find(kid).cloned();
        *state = Some((set, Instant::now()));
        found.ok_or_else(|| unauthorized(t, "signed by an unknown key"))
    }

    /// Verify signature, issuer and expiry; return the claims.
    pub async fn verify(&self, t: &TenantContext, token: &str) -> Result<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized(t, "not a JWT"))?;
        if !ALGS.contains(&header.alg) {
            return Err(unauthorized(t, "unsupported signing algorithm"));
        }
        let kid = header.kid.ok_or_else(|| unauthorized(t, "no key id"))?;
        let jwk = self.key(t, &kid).await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| unauthorized(t, "unusable signing key"))?;
        let hydra = t.config.effective_hydra();
        let issuer =
            hydra.as_ref().map(|h| h.issuer.clone().unwrap_or_else(|| h.public_url.clone())).unwrap_or_default();
        let mut v = Validation::new(header.alg);
        // Hydra writes the issuer with or without a trailing slash depending on its config.
        v.set_issuer(&[issuer.trim_end_matches('/').to_owned(), format!("{}/", issuer.trim_end_matches('/'))]);
        v.validate_aud = false;
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "iss"]);
        jsonwebtoken::decode::<AccessClaims>(token, &key, &v).map(|d| d.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => unauthorized(t, "expired"),
                K::InvalidIssuer => unauthorized(t, "wrong issuer"),
                _ => unauthorized(t, "invalid signature or claims"),
            }
        })
    }
}

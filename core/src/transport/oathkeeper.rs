//! The Oathkeeper transport: the proxy in front of the app authenticates the request and hands
//! over a signed identity envelope; the library verifies it and never calls Kratos.
//!
//! Envelope (two headers, names configurable):
//! - `X-User`: base64url (no padding) of a JSON object with `sub` (identity id), `iat` and `exp`
//!   (Unix seconds), `jti` (unique id); optional `sid` (session id), `tenant`, `traits`, `aal`.
//! - `X-User-Signature`: base64url (no padding) of HMAC-SHA256(key, the `X-User` value), with
//!   `key` one of `oathkeeper.signer_keys`. Several keys may be configured for rotation: a
//!   signature by any of them is accepted.
//!
//! Refused: a missing or wrong signature (`unsigned`), an expired or not-yet-valid envelope, one
//! valid for more than an hour, and a `jti` seen before while still valid (replay).
//!
//! With `oathkeeper.verifier: jwt` the proxy is a stock Oathkeeper with the `id_token` mutator:
//! `Authorization: Bearer <JWT>` (asymmetric signature by a key Oathkeeper publishes at
//! `/.well-known/jwks.json`; `sub` = identity id, `sid`, `exp`, `nbf`, `iat`, `iss`, `aud`,
//! `jti`, plus whatever the mutator's claims template adds: `session` (the Kratos session its
//! `cookie_session` authenticator saw), `traits`, `metadata_public`, `tenant`). Oathkeeper
//! caches the JWT per session, so one `jti` arrives many times: replay protection is off unless
//! `oathkeeper.replay_protection.enabled`.

use crate::config::OathkeeperConfig;
use crate::dto::{Identity, Session};
use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use lru::LruCache;
use serde::Deserialize;
use sha2::Sha256;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub const DEFAULT_IDENTITY_HEADER: &str = "x-user";
pub const DEFAULT_SIGNATURE_HEADER: &str = "x-user-signature";
const MAX_LIFETIME_SECS: i64 = 3600;
const LEEWAY_SECS: i64 = 5;
const REPLAY_CAPACITY: usize = 100_000;

/// Why an envelope was refused; each maps to one audit event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Unsigned,
    /// A signature that does not verify: a wrong key, a tampered token, a refused algorithm.
    InvalidSignature,
    Malformed,
    Expired,
    Replayed,
    TenantMismatch,
    AudienceMismatch,
}

/// The algorithms `oathkeeper.jwks.algorithms` may name: asymmetric only.
pub const JWT_ALGORITHMS: &[&str] = &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
const DEFAULT_JWT_ALGORITHMS: &[&str] = &["RS256", "ES256"];

/// A verified envelope or JWT: the session, and the id (`jti`, expiry) still to check for a
/// replay when replay protection is shared through Redis.
pub struct Verified {
    pub session: Session,
    pub replay: Option<(String, i64)>,
}

/// The per-tenant cache of Oathkeeper's published keys (`TenantContext::state`).
#[derive(Default)]
pub(crate) struct OathkeeperKeys(pub crate::hydra::jwt::JwksCache);

/// `jwt` mode settings.
struct JwtSettings {
    algorithms: Vec<jsonwebtoken::Algorithm>,
    issuer: Option<String>,
    leeway_secs: u64,
    inline: Option<jsonwebtoken::jwk::JwkSet>,
}

#[derive(Deserialize)]
struct JwtClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    traits: Option<serde_json::Value>,
    #[serde(default)]
    metadata_public: Option<serde_json::Value>,
    #[serde(default)]
    aal: Option<String>,
    /// The Kratos session Oathkeeper's `cookie_session`/`bearer_token` authenticator saw, when
    /// the claims template passes it on (`{{ .Extra | toJson }}`).
    #[serde(default)]
    session: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    jti: String,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    traits: Option<serde_json::Value>,
    #[serde(default)]
    aal: Option<String>,
}

/// Verifier for one tenant: its keys and its replay cache.
pub(crate) struct Verifier {
    identity_header: String,
    signature_header: String,
    keys: Vec<Secret>,
    seen: Mutex<LruCache<String, i64>>,
    /// Refuse a `jti` seen before (hmac: always; jwt: when `replay_protection.enabled`).
    replay: bool,
    /// The replay check is left to the caller (shared through Redis): `remember` hands it back.
    pub shared_replay: bool,
    /// `replay_protection.ttl_ms`.
    replay_ttl: Option<std::time::Duration>,
    /// `oathkeeper.audience`: a JWT's `aud`, or an ory-nestjs envelope's `audience`, must hold
    /// one of these (empty: not checked).
    audience: Vec<String>,
    /// Indexes of non-primary signer keys already reported (rotation telemetry).
    rotation_warned: Mutex<Vec<usize>>,
    jwt: Option<JwtSettings>,
    /// Set when more than one tenant of the `Iam` uses the Oathkeeper transport: an envelope
    /// without a `tenant` claim could then be replayed against the other tenants.
    require_tenant: bool,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn rfc3339(secs: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(secs).ok()?.format(&time::format_description::well_known::Rfc3339).ok()
}

impl Verifier {
    pub fn new(cfg: &OathkeeperConfig, require_tenant: bool) -> Self {
        let jwt = cfg.is_jwt().then(|| {
            let names: Vec<&str> = cfg
                .jwks
                .as_ref()
                .filter(|j| !j.algorithms.is_empty())
                .map(|j| j.algorithms.iter().map(String::as_str).collect())
                .unwrap_or_else(|| DEFAULT_JWT_ALGORITHMS.to_vec());
            JwtSettings {
                algorithms: names
                    .iter()
                    .filter(|n| JWT_ALGORITHMS.contains(n))
                    .filter_map(|n| n.parse::<jsonwebtoken::Algorithm>().ok())
                    .collect(),
                issuer: cfg.issuer.clone(),
                leeway_secs: cfg.clock_skew_ms.unwrap_or(OathkeeperConfig::DEFAULT_CLOCK_SKEW_MS).div_ceil(1000),
                inline: cfg.jwks.as_ref().and_then(|j| j.keys.clone()).and_then(|k| serde_json::from_value(k).ok()),
            }
        });
        let default_header = if jwt.is_some() { "authorization" } else { DEFAULT_IDENTITY_HEADER };
        Verifier {
            require_tenant,
            replay: cfg.replay_protection.unwrap_or(jwt.is_none()),
            audience: cfg.audience.clone(),
            shared_replay: false,
            replay_ttl: cfg.replay_ttl_ms.map(std::time::Duration::from_millis),
            rotation_warned: Mutex::new(Vec::new()),
            jwt,
            identity_header: cfg.identity_header.clone().unwrap_or_else(|| default_header.into()).to_ascii_lowercase(),
            signature_header: cfg
                .signature_header
                .clone()
                .unwrap_or_else(|| DEFAULT_SIGNATURE_HEADER.into())
                .to_ascii_lowercase(),
            keys: cfg.signer_keys.clone(),
            seen: Mutex::new(LruCache::new(
                cfg.replay_max_entries
                    .and_then(|n| NonZeroUsize::new(usize::try_from(n).unwrap_or(usize::MAX)))
                    .unwrap_or(NonZeroUsize::new(REPLAY_CAPACITY).expect("non-zero")),
            )),
        }
    }

    /// `jwt` mode: the tenant verifies Oathkeeper's `id_token` JWTs.
    pub fn is_jwt(&self) -> bool {
        self.jwt.is_some()
    }

    /// `jwt` mode: the token in the identity header (a `Bearer ` prefix stripped) and the key id
    /// its header names, refused when absent, not a JWT, or signed with an algorithm not allowed.
    pub fn bearer(&self, headers: &HeaderMap) -> Result<(Secret, String), Refusal> {
        let s = self.jwt.as_ref().ok_or(Refusal::Malformed)?;
        let raw = match headers.get(self.identity_header.as_str()) {
            None => return Err(Refusal::Missing),
            Some(v) => v.to_str().map_err(|_| Refusal::Malformed)?.trim(),
        };
        let token = match raw.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            Some(_) => return Err(Refusal::Malformed),
            None => raw,
        };
        if token.is_empty() {
            return Err(Refusal::Missing);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
        if !s.algorithms.contains(&header.alg) {
            return Err(Refusal::InvalidSignature);
        }
        let kid = header.kid.filter(|k| !k.is_empty() && k.len() <= 256).ok_or(Refusal::Malformed)?;
        Ok((Secret::new(token), kid))
    }

    /// `jwt` mode with keys given inline (`oathkeeper.jwks.keys`): the key `kid`, if any.
    pub fn inline_keys(&self) -> Option<&jsonwebtoken::jwk::JwkSet> {
        self.jwt.as_ref()?.inline.as_ref()
    }

    /// `jwt` mode: verify `token` with `jwk` (signature, algorithm, `exp`/`nbf`/`iat`, issuer and
    /// audience when configured, tenant, replay when enabled) and build the session.
    pub fn verify_jwt(&self, tenant: &str, token: &Secret, jwk: &jsonwebtoken::jwk::Jwk) -> Result<Verified, Refusal> {
        use jsonwebtoken::errors::ErrorKind as K;
        let s = self.jwt.as_ref().ok_or(Refusal::Malformed)?;
        let header = jsonwebtoken::decode_header(token.expose()).map_err(|_| Refusal::Malformed)?;
        if !s.algorithms.contains(&header.alg)
            || jwk.common.key_algorithm.is_some_and(|a| a.to_string() != format!("{:?}", header.alg))
            || jwk.common.public_key_use.as_ref().is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature)
        {
            return Err(Refusal::InvalidSignature);
        }
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|_| Refusal::InvalidSignature)?;
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.leeway = s.leeway_secs;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "sub"]);
        if self.audience.is_empty() {
            v.validate_aud = false;
        } else {
            v.set_audience(&self.audience);
        }
        if let Some(iss) = &s.issuer {
            v.set_issuer(&[iss.trim_end_matches('/').to_owned(), format!("{}/", iss.trim_end_matches('/'))]);
        }
        let c = jsonwebtoken::decode::<JwtClaims>(token.expose(), &key, &v).map(|d| d.claims).map_err(|e| {
            match e.kind() {
                K::ExpiredSignature | K::ImmatureSignature => Refusal::Expired,
                K::InvalidAudience => Refusal::AudienceMismatch,
                K::InvalidSignature | K::InvalidIssuer | K::InvalidAlgorithm | K::InvalidKeyFormat => {
                    Refusal::InvalidSignature
                }
                _ => Refusal::Malformed,
            }
        })?;
        if c.sub.is_empty() || c.jti.as_ref().is_some_and(|j| j.len() > 256) {
            return Err(Refusal::Malformed);
        }
        self.check_tenant(c.tenant.as_deref(), tenant)?;
        let mut pending = None;
        if let Some(jti) = c.jti.as_ref().filter(|_| self.replay) {
            self.remember(jti, c.exp, &mut pending)?;
        }
        // What the claims template passed on: the Kratos session itself, or its parts.
        let kratos = c.session.as_ref().filter(|v| v.is_object());
        let from_session = |path: &[&str]| {
            let mut at = kratos?;
            for p in path {
                at = at.get(*p)?;
            }
            Some(at.clone()).filter(|v| !v.is_null())
        };
        let mut identity = Identity::reference(tenant, &c.sub);
        identity.traits = c.traits.clone().or_else(|| from_session(&["identity", "traits"]));
        identity.metadata_public = c.metadata_public.clone().or_else(|| from_session(&["identity", "metadata_public"]));
        let sid = c.sid.clone().or_else(|| from_session(&["id"]).and_then(|v| v.as_str().map(str::to_owned)));
        let aal = c
            .aal
            .clone()
            .or_else(|| from_session(&["authenticator_assurance_level"]).and_then(|v| v.as_str().map(str::to_owned)));
        let iat = c.iat.unwrap_or(c.exp);
        let session = Session {
            tenant: tenant.to_owned(),
            id: sid.or(c.jti).unwrap_or_default(),
            active: true,
            expires_at: rfc3339(c.exp),
            authenticated_at: rfc3339(iat),
            issued_at: rfc3339(iat),
            authenticator_assurance_level: aal,
            identity,
            authentication_methods: vec!["oathkeeper".to_owned()],
            cache_hit: false,
        };
        Ok(Verified { session, replay: pending })
    }

    /// A signature by a key other than the first: rotation under way. Said once per key (never
    /// the key), so an operator knows when the old key can go.
    fn rotation_warning(&self, index: usize) {
        if let Ok(mut warned) = self.rotation_warned.lock() {
            if !warned.contains(&index) {
                warned.push(index);
                tracing::warn!(
                    target: "ory_iam::oathkeeper",
                    key_index = index,
                    "an Oathkeeper envelope was signed by a non-primary signer key (rotation in progress)"
                );
            }
        }
    }

    /// ory-nestjs's envelope (`{id, schemaId, state, tenant, sessionId, expiresAt, metadataPublic,
    /// verifiedAddressesFlags, jti?, audience?}`), so its Oathkeeper setups keep working. Unlike
    /// ory-nestjs, an envelope without a future `expiresAt` is refused: it would be valid for ever.
    fn nestjs_envelope(&self, tenant: &str, doc: serde_json::Value) -> Result<Verified, Refusal> {
        let str_of = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let id = str_of("id").filter(|s| !s.is_empty() && s.len() <= 256).ok_or(Refusal::Malformed)?;
        if doc.get("state").and_then(|v| v.as_str()).is_some_and(|s| s != "active") {
            return Err(Refusal::Expired);
        }
        let expires = str_of("expiresAt")
            .and_then(|e| time::OffsetDateTime::parse(&e, &time::format_description::well_known::Rfc3339).ok())
            .ok_or(Refusal::Malformed)?;
        let t = now();
        let exp = expires.unix_timestamp();
        if exp.saturating_add(LEEWAY_SECS) < t {
            return Err(Refusal::Expired);
        }
        self.check_tenant(str_of("tenant").as_deref(), tenant)?;
        if !self.audience.is_empty() {
            let aud = &self.audience;
            let theirs: Vec<String> = match doc.get("audience") {
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                _ => Vec::new(),
            };
            if !theirs.iter().any(|a| aud.contains(a)) {
                return Err(Refusal::AudienceMismatch);
            }
        }
        let mut pending = None;
        if let Some(jti) = str_of("jti").filter(|_| self.replay) {
            if jti.len() > 256 {
                return Err(Refusal::Malformed);
            }
            self.remember(&jti, exp, &mut pending)?;
        }
        let mut identity = Identity::reference(tenant, &id);
        identity.schema_id = str_of("schemaId").unwrap_or_else(|| "default".into());
        identity.state = Some("active".into());
        identity.metadata_public = doc.get("metadataPublic").filter(|v| v.is_object()).cloned();
        let session = Session {
            tenant: tenant.to_owned(),
            id: str_of("sessionId").unwrap_or_else(|| format!("oathkeeper:{id}")),
            active: true,
            expires_at: rfc3339(exp),
            authenticated_at: None,
            issued_at: None,
            authenticator_assurance_level: None,
            identity,
            authentication_methods: vec!["oathkeeper".to_owned()],
            cache_hit: false,
        };
        Ok(Verified { session, replay: pending })
    }

    /// The envelope's `tenant` claim against the tenant asking: another tenant's is refused; none
    /// is refused when several tenants use the transport (it could be replayed at each).
    fn check_tenant(&self, claimed: Option<&str>, tenant: &str) -> Result<(), Refusal> {
        match claimed {
            Some(other) if other != tenant => Err(Refusal::TenantMismatch),
            None if self.require_tenant => Err(Refusal::Malformed),
            _ => Ok(()),
        }
    }

    /// How long to remember an id that is valid until `exp`: until then (plus leeway), at most
    /// `replay_protection.ttl_ms`.
    pub fn replay_ttl(&self, exp: i64) -> std::time::Duration {
        let left = std::time::Duration::from_secs(exp.saturating_sub(now()).saturating_add(LEEWAY_SECS).max(1) as u64);
        self.replay_ttl.map_or(left, |cap| left.min(cap))
    }

    /// Check `jti` for a replay: here, or — with `shared_replay` — by the caller, which gets it
    /// back in `pending`.
    fn remember(&self, jti: &str, exp: i64, pending: &mut Option<(String, i64)>) -> Result<(), Refusal> {
        if self.shared_replay {
            *pending = Some((jti.to_owned(), exp));
            return Ok(());
        }
        self.remember_here(jti, exp)
    }

    /// Remember `jti` in this process until `exp` (at most `replay_protection.ttl_ms`); a second
    /// sighting while remembered is a replay.
    pub fn remember_here(&self, jti: &str, exp: i64) -> Result<(), Refusal> {
        let t = now();
        let exp = match self.replay_ttl {
            Some(cap) => exp.min(t.saturating_add(cap.as_secs().min(i64::MAX as u64) as i64)),
            None => exp,
        };
        let mut seen = self.seen.lock().map_err(|_| Refusal::Malformed)?;
        if let Some(&until) = seen.peek(jti) {
            if until.saturating_add(LEEWAY_SECS) >= t {
                return Err(Refusal::Replayed);
            }
        }
        seen.put(jti.to_owned(), exp);
        Ok(())
    }

    /// Verify the envelope in `headers` and build the session it describes (with
    /// `shared_replay`, use [`verify_full`](Self::verify_full): the replay check is the caller's).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn verify(&self, tenant: &str, headers: &HeaderMap) -> Result<Session, Refusal> {
        self.verify_full(tenant, headers).map(|v| v.session)
    }

    /// [`verify`](Self::verify), and the id still to check for a replay when that is shared.
    pub fn verify_full(&self, tenant: &str, headers: &HeaderMap) -> Result<Verified, Refusal> {
        let payload = match headers.get(self.identity_header.as_str()) {
            None => return Err(Refusal::Missing),
            Some(v) => v.to_str().map_err(|_| Refusal::Malformed)?.trim().to_owned(),
        };
        let sig = headers
            .get(self.signature_header.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(Refusal::Unsigned)?;
        let sig = decode_signature(sig).ok_or(Refusal::Unsigned)?;
        let matched = self.keys.iter().position(|k| {
            let mut mac = Hmac::<Sha256>::new_from_slice(k.expose().as_bytes()).expect("HMAC takes any key size");
            mac.update(payload.as_bytes());
            // Constant-time comparison.
            mac.verify_slice(&sig).is_ok()
        });
        let Some(matched) = matched else { return Err(Refusal::Unsigned) };
        if matched > 0 {
            self.rotation_warning(matched);
        }
        // Plain JSON (ory-nestjs allows it) or base64 of it, either alphabet.
        let raw = if payload.starts_with('{') {
            payload.as_bytes().to_vec()
        } else {
            decode_base64(&payload).ok_or(Refusal::Malformed)?
        };
        let doc: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| Refusal::Malformed)?;
        if doc.get("sub").is_none() && doc.get("id").is_some() {
            return self.nestjs_envelope(tenant, doc);
        }
        let c: Claims = serde_json::from_value(doc).map_err(|_| Refusal::Malformed)?;
        if c.sub.is_empty() || c.jti.is_empty() || c.jti.len() > 256 {
            return Err(Refusal::Malformed);
        }
        let t = now();
        // Claims are attacker-sized integers: plain `-`/`+` overflow (a panic in debug builds, and
        // in release a wrapped lifetime that slips under the one-hour limit). Found by cargo-fuzz.
        let lifetime = c.exp.checked_sub(c.iat);
        if c.iat > t.saturating_add(LEEWAY_SECS) || c.exp < c.iat || lifetime.is_none_or(|l| l > MAX_LIFETIME_SECS) {
            return Err(Refusal::Malformed);
        }
        if c.exp.saturating_add(LEEWAY_SECS) < t {
            return Err(Refusal::Expired);
        }
        self.check_tenant(c.tenant.as_deref(), tenant)?;
        let mut pending = None;
        if self.replay {
            self.remember(&c.jti, c.exp, &mut pending)?;
        }
        let mut identity = Identity::reference(tenant, &c.sub);
        identity.traits = c.traits;
        let session = Session {
            tenant: tenant.to_owned(),
            id: c.sid.unwrap_or(c.jti),
            active: true,
            expires_at: rfc3339(c.exp),
            authenticated_at: rfc3339(c.iat),
            issued_at: rfc3339(c.iat),
            authenticator_assurance_level: c.aal,
            identity,
            authentication_methods: vec!["oathkeeper".to_owned()],
            cache_hit: false,
        };
        Ok(Verified { session, replay: pending })
    }
}

/// A signature as base64 (either alphabet, padded or not) or hex: ory-nestjs sends either.
fn decode_signature(s: &str) -> Option<Vec<u8>> {
    // 32 bytes of HMAC-SHA256 are 64 hex digits; base64 of them is 43/44 characters.
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (0..64).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect();
    }
    decode_base64(s)
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
    [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD].iter().find_map(|e| e.decode(s).ok())
}

/// Build the two header values for `claims` signed with `key` — for tests and for services
/// that sign envelopes themselves (e.g. a sidecar in front of the app).
pub fn sign_envelope(claims: &serde_json::Value, key: &Secret) -> (String, String) {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()).expect("HMAC takes any key size");
    mac.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    (payload, sig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verifier(keys: &[&str]) -> Verifier {
        Verifier::new(
            &OathkeeperConfig {
                identity_header: None,
                signature_header: None,
                signer_keys: keys.iter().map(|k| Secret::new(*k)).collect(),
                ..Default::default()
            },
            false,
        )
    }

    fn headers(payload: &str, sig: Option<&str>) -> HeaderMap {
        let mut pairs = vec![("x-user", payload.to_owned())];
        if let Some(s) = sig {
            pairs.push(("x-user-signature", s.to_owned()));
        }
        crate::transport::header_map(pairs)
    }

    fn claims(jti: &str, exp_in: i64) -> serde_json::Value {
        let t = now();
        json!({"sub": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "iat": t, "exp": t + exp_in, "jti": jti, "traits": {"email": "a@b.c"}})
    }

    #[test]
    fn accepts_any_configured_key_and_rejects_replay() {
        let v = verifier(&["old-key-0123456789", "new-key-0123456789"]);
        for (i, key) in ["old-key-0123456789", "new-key-0123456789"].iter().enumerate() {
            let (p, s) = sign_envelope(&claims(&format!("j{i}"), 60), &Secret::new(*key));
            let session = v.verify("t", &headers(&p, Some(&s))).unwrap();
            assert_eq!(session.identity.id, "9f425a8d-7efc-4768-8f23-7647a74fdf13");
            assert_eq!(session.identity.traits.as_ref().unwrap()["email"], json!("a@b.c"));
            assert_eq!(v.verify("t", &headers(&p, Some(&s))).unwrap_err(), Refusal::Replayed);
        }
    }

    /// `oathkeeper.replay_max_entries` bounds the replay cache: with room for 2 ids, the two
    /// newest are refused on replay, the oldest has been pushed out.
    #[test]
    fn the_replay_cache_holds_the_configured_number_of_ids() {
        let key = Secret::new("k-0123456789abcdef");
        let v = Verifier::new(
            &OathkeeperConfig { signer_keys: vec![key.clone()], replay_max_entries: Some(2), ..Default::default() },
            false,
        );
        let envs: Vec<_> = (0..3).map(|i| sign_envelope(&claims(&format!("r{i}"), 60), &key)).collect();
        for (p, s) in &envs {
            v.verify("t", &headers(p, Some(s))).unwrap();
        }
        assert_eq!(v.seen.lock().unwrap().len(), 2);
        for (p, s) in &envs[1..] {
            assert_eq!(v.verify("t", &headers(p, Some(s))).unwrap_err(), Refusal::Replayed);
        }
    }

    /// ory-nestjs's envelope and encodings (plain JSON or base64 payload, base64 or hex
    /// signature) verify like ours; without a future `expiresAt` it is refused.
    #[test]
    fn ory_nestjs_envelopes_are_accepted_by_shape() {
        let key = "nest-key-0123456789";
        let v = verifier(&["primary-key-0123456789", key]);
        let hmac = |payload: &str| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
            mac.update(payload.as_bytes());
            mac.finalize().into_bytes().to_vec()
        };
        let future = rfc3339(now() + 600).unwrap();
        let env = json!({"id": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "schemaId": "customer", "state": "active",
                         "sessionId": "s-1", "expiresAt": future, "metadataPublic": {"roles": ["admin"]},
                         "verifiedAddressesFlags": {"email": true, "phone": false}, "jti": "nest-1"});
        let plain = env.to_string();
        let b64 = base64::engine::general_purpose::STANDARD.encode(plain.as_bytes());
        let hex = |b: Vec<u8>| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let std_b64 = |b: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(b);
        let s = v.verify("t", &headers(&plain, Some(&hex(hmac(&plain))))).unwrap();
        assert_eq!(s.identity.id, "9f425a8d-7efc-4768-8f23-7647a74fdf13");
        assert_eq!(s.id, "s-1");
        assert_eq!(s.identity.metadata_public.as_ref().unwrap()["roles"], json!(["admin"]));
        assert_eq!(s.identity.schema_id, "customer");
        // The same jti again is a replay; a base64 envelope with a base64 signature passes.
        assert_eq!(v.verify("t", &headers(&plain, Some(&hex(hmac(&plain))))).unwrap_err(), Refusal::Replayed);
        let mut e2 = env.clone();
        e2["jti"] = json!("nest-2");
        let b64_2 = base64::engine::general_purpose::STANDARD.encode(e2.to_string());
        assert!(v.verify("t", &headers(&b64_2, Some(&std_b64(hmac(&b64_2))))).is_ok());
        // Tampered, unsigned, expired, without expiry, inactive, another tenant.
        assert_eq!(v.verify("t", &headers(&b64, Some(&std_b64(hmac(&plain))))).unwrap_err(), Refusal::Unsigned);
        let refused = |e: serde_json::Value| {
            let p = e.to_string();
            v.verify("t", &headers(&p, Some(&hex(hmac(&p))))).unwrap_err()
        };
        let mut old = env.clone();
        old["expiresAt"] = json!(rfc3339(now() - 600).unwrap());
        old["jti"] = json!("nest-3");
        assert_eq!(refused(old), Refusal::Expired);
        let mut forever = env.clone();
        forever.as_object_mut().unwrap().remove("expiresAt");
        assert_eq!(refused(forever), Refusal::Malformed);
        let mut inactive = env.clone();
        inactive["state"] = json!("inactive");
        assert_eq!(refused(inactive), Refusal::Expired);
        let mut other = env.clone();
        other["tenant"] = json!("other");
        assert_eq!(refused(other), Refusal::TenantMismatch);
    }

    /// Two tenants sharing the transport: an envelope that names no tenant could be replayed
    /// against the other one, so it is refused; one naming this tenant passes.
    #[test]
    fn with_several_oathkeeper_tenants_the_tenant_claim_is_required() {
        let key = Secret::new("shared-key-0123456789");
        let shared = Verifier::new(&OathkeeperConfig { signer_keys: vec![key.clone()], ..Default::default() }, true);
        let (p, s) = sign_envelope(&claims("no-tenant", 60), &key);
        assert_eq!(shared.verify("t", &headers(&p, Some(&s))).unwrap_err(), Refusal::Malformed);
        let mut c = claims("named", 60);
        c["tenant"] = json!("t");
        let (p, s) = sign_envelope(&c, &key);
        assert_eq!(shared.verify("t", &headers(&p, Some(&s))).unwrap().identity.id, c["sub"].as_str().unwrap());
        assert_eq!(shared.verify("u", &headers(&p, Some(&s))).unwrap_err(), Refusal::TenantMismatch);
    }

    #[test]
    fn refusals() {
        let key = Secret::new("key-0123456789abcdef");
        let v = verifier(&["key-0123456789abcdef"]);
        let (p, s) = sign_envelope(&claims("a", 60), &key);
        assert_eq!(v.verify("t", &HeaderMap::new()).unwrap_err(), Refusal::Missing);
        assert_eq!(v.verify("t", &headers(&p, None)).unwrap_err(), Refusal::Unsigned);
        let (_, other) = sign_envelope(&claims("a", 60), &Secret::new("someone-else-key"));
        assert_eq!(v.verify("t", &headers(&p, Some(&other))).unwrap_err(), Refusal::Unsigned);
        assert_eq!(v.verify("t", &headers(&p, Some("!!"))).unwrap_err(), Refusal::Unsigned);
        let mut old = claims("b", 60);
        old["iat"] = json!(now() - 120);
        old["exp"] = json!(now() - 60);
        let (p2, s2) = sign_envelope(&old, &key);
        assert_eq!(v.verify("t", &headers(&p2, Some(&s2))).unwrap_err(), Refusal::Expired);
        let (p3, s3) = sign_envelope(&claims("c", 7200), &key);
        assert_eq!(v.verify("t", &headers(&p3, Some(&s3))).unwrap_err(), Refusal::Malformed, "too long-lived");
        let (p4, s4) = sign_envelope(&json!({"sub": "x"}), &key);
        assert_eq!(v.verify("t", &headers(&p4, Some(&s4))).unwrap_err(), Refusal::Malformed);
        let mut c = claims("d", 60);
        c["tenant"] = json!("other");
        let (p5, s5) = sign_envelope(&c, &key);
        assert_eq!(v.verify("t", &headers(&p5, Some(&s5))).unwrap_err(), Refusal::TenantMismatch);
        // A tampered payload with the old signature.
        let tampered = format!("{p}x");
        assert_eq!(v.verify("t", &headers(&tampered, Some(&s))).unwrap_err(), Refusal::Unsigned);
        assert!(v.verify("t", &headers(&p, Some(&s))).is_ok());
    }

    /// Regression (cargo-fuzz, target `oathkeeper`): extreme `iat`/`exp` overflowed the lifetime
    /// arithmetic — a panic in debug builds; in release the wrapped lifetime passed the limit.
    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        let key = Secret::new("key-0123456789abcdef");
        let v = verifier(&["key-0123456789abcdef"]);
        for (i, (iat, exp)) in [(i64::MIN, i64::MAX), (i64::MIN, now() + 60), (now(), i64::MAX), (i64::MIN, i64::MIN)]
            .into_iter()
            .enumerate()
        {
            let c = json!({"sub": "s", "iat": iat, "exp": exp, "jti": format!("x{i}")});
            let (p, s) = sign_envelope(&c, &key);
            let r = v.verify("t", &headers(&p, Some(&s)));
            assert!(matches!(r, Err(Refusal::Malformed) | Err(Refusal::Expired)), "{iat} {exp}: {:?}", r.map(|_| ()));
        }
    }
}

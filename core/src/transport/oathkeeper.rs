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
    Malformed,
    Expired,
    Replayed,
    TenantMismatch,
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
        Verifier {
            require_tenant,
            identity_header: cfg
                .identity_header
                .clone()
                .unwrap_or_else(|| DEFAULT_IDENTITY_HEADER.into())
                .to_ascii_lowercase(),
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

    /// Verify the envelope in `headers` and build the session it describes.
    pub fn verify(&self, tenant: &str, headers: &HeaderMap) -> Result<Session, Refusal> {
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
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| Refusal::Unsigned)?;
        let signed_by_a_key = self.keys.iter().any(|k| {
            let mut mac = Hmac::<Sha256>::new_from_slice(k.expose().as_bytes()).expect("HMAC takes any key size");
            mac.update(payload.as_bytes());
            // Constant-time comparison.
            mac.verify_slice(&sig).is_ok()
        });
        if !signed_by_a_key {
            return Err(Refusal::Unsigned);
        }
        let raw = URL_SAFE_NO_PAD.decode(&payload).map_err(|_| Refusal::Malformed)?;
        let c: Claims = serde_json::from_slice(&raw).map_err(|_| Refusal::Malformed)?;
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
        match &c.tenant {
            Some(other) if other != tenant => return Err(Refusal::TenantMismatch),
            None if self.require_tenant => return Err(Refusal::Malformed),
            _ => {}
        }
        {
            let mut seen = self.seen.lock().map_err(|_| Refusal::Malformed)?;
            if let Some(&exp) = seen.peek(&c.jti) {
                if exp.saturating_add(LEEWAY_SECS) >= t {
                    return Err(Refusal::Replayed);
                }
            }
            seen.put(c.jti.clone(), c.exp);
        }
        let mut identity = Identity::reference(tenant, &c.sub);
        identity.traits = c.traits;
        Ok(Session {
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
        })
    }
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
                replay_max_entries: None,
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
            &OathkeeperConfig {
                identity_header: None,
                signature_header: None,
                signer_keys: vec![key.clone()],
                replay_max_entries: Some(2),
            },
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

    /// Two tenants sharing the transport: an envelope that names no tenant could be replayed
    /// against the other one, so it is refused; one naming this tenant passes.
    #[test]
    fn with_several_oathkeeper_tenants_the_tenant_claim_is_required() {
        let key = Secret::new("shared-key-0123456789");
        let shared = Verifier::new(
            &OathkeeperConfig {
                identity_header: None,
                signature_header: None,
                signer_keys: vec![key.clone()],
                replay_max_entries: None,
            },
            true,
        );
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

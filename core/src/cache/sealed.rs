//! What the Redis session cache writes, and how a read proves it wrote it.
//!
//! Redis is shared, so its contents are not trusted: whoever can write there could otherwise
//! plant a session for any identity, and two deployments sharing a Redis and a tenant name
//! would accept each other's sessions. Each configured key (32 random bytes) yields, through
//! HKDF-SHA256, an AES-256-GCM key for values and an HMAC-SHA256 key for key names:
//!
//! - name: `<prefix>:session:<hex HMAC(credential hash)>` — without the key, Redis shows no
//!   stable hash of a token, and a token's slot cannot be computed;
//! - value: base64 of `version (1) ‖ nonce (12, random) ‖ AES-256-GCM ciphertext ‖ tag`, with
//!   the version, the full name and the tenant as associated data, so a value copied under
//!   another name (another token, tenant, prefix or deployment) fails authentication. The
//!   plaintext is `deadline (u64 big-endian, Unix ms) ‖ session JSON`: the deadline is the
//!   entry's Redis expiry, sealed, so a value saved and written back later (without an expiry)
//!   is not read past the time it was cached for.
//!
//! With several keys, a value is looked up under the name of each (one `MGET`) and opened with
//! the key whose name held it; the first key seals.

use super::{hex, Rejection};
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
/// The plaintext of a tombstone (after the deadline): what an admin revoke confirmed by Kratos
/// leaves under each of the session's entries, so every instance refuses the credential from
/// Redis without asking Kratos. Not JSON, so never read as a session.
pub(crate) const REVOKED: &[u8] = b"\0revoked";
const NONCE_LEN: usize = 12;
/// Fixed HKDF salt: the keys are already uniformly random; the salt only separates this use.
const HKDF_SALT: &[u8] = b"ory-iam session cache";

struct CacheKey {
    aead: Aes256Gcm,
    names: Hmac<Sha256>,
}

/// The key prefix and keys of one Redis session cache. No `Debug`: it holds keys.
pub(crate) struct Namespace {
    prefix: String,
    /// `<prefix>:session:`, to recognise our own session entries in the eviction sets.
    session_prefix: String,
    keys: Vec<CacheKey>,
}

impl Namespace {
    /// `keys` non-empty (the configuration refuses Redis without a key).
    pub fn new(prefix: &str, keys: &[[u8; 32]]) -> Self {
        let keys = keys
            .iter()
            .map(|raw| {
                let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), raw);
                let (mut enc, mut mac) = ([0u8; 32], [0u8; 32]);
                // 32 bytes is far below HKDF's limit of 255 hash lengths: cannot fail.
                hk.expand(b"v1 value encryption (aes-256-gcm)", &mut enc).expect("hkdf length");
                hk.expand(b"v1 key names (hmac-sha256)", &mut mac).expect("hkdf length");
                CacheKey {
                    aead: Aes256Gcm::new(&enc.into()),
                    names: <Hmac<Sha256> as Mac>::new_from_slice(&mac).expect("hmac takes any key length"),
                }
            })
            .collect();
        Namespace { prefix: prefix.to_owned(), session_prefix: format!("{prefix}:session:"), keys }
    }

    /// The name of a credential's entry under key number `i` (`key`: `cache::key`'s hash).
    fn session_name(&self, i: usize, key: &str) -> String {
        let mut m = self.keys[i].names.clone();
        m.update(key.as_bytes());
        let mut out = self.session_prefix.clone();
        out.push_str(&hex(&m.finalize().into_bytes()));
        out
    }

    /// The name a new entry is written under (the first key's).
    pub fn write_name(&self, key: &str) -> String {
        self.session_name(0, key)
    }

    /// The names a credential's entry may be under, one per key, in key order.
    pub fn read_names(&self, key: &str) -> Vec<String> {
        (0..self.keys.len()).map(|i| self.session_name(i, key)).collect()
    }

    /// Whether `name` is a session entry of this namespace (the eviction sets are in Redis
    /// too: only our own entries are deleted through them).
    pub fn is_session_name(&self, name: &str) -> bool {
        name.starts_with(&self.session_prefix)
    }

    /// The marker of an Oathkeeper envelope id seen by any process sharing this Redis (replay
    /// protection): a keyed hash, so Redis shows no envelope ids.
    pub fn jti_name(&self, tenant: &str, jti: &str) -> String {
        let mut m = self.keys[0].names.clone();
        m.update(b"jti\0");
        m.update(tenant.as_bytes());
        m.update(b"\0");
        m.update(jti.as_bytes());
        format!("{}:jti:{}", self.prefix, hex(&m.finalize().into_bytes()))
    }

    /// The pub/sub channel of cross-instance invalidations (see `invalidation`).
    pub fn channel_name(&self) -> String {
        format!("{}:invalidate", self.prefix)
    }

    /// The fences an eviction leaves for the credential `key` (one per key, as
    /// [`read_names`](Self::read_names)); a process writes under the first.
    pub fn key_fences(&self, key: &str) -> Vec<String> {
        (0..self.keys.len()).map(|i| self.key_fence(i, key)).collect()
    }

    /// The fence of credential `key` under key number `i` (a writer checks the first).
    pub fn key_fence(&self, i: usize, key: &str) -> String {
        let name = self.session_name(i, key);
        format!("{}:fence:key:{}", self.prefix, &name[self.session_prefix.len()..])
    }

    /// The fence an eviction of a session leaves (see `RedisCache::put`).
    pub fn sid_fence(&self, tenant: &str, sid: &str) -> String {
        format!("{}:fence:sid:{tenant}:{sid}", self.prefix)
    }

    /// The fence an eviction of an identity's sessions leaves.
    pub fn identity_fence(&self, tenant: &str, identity_id: &str) -> String {
        format!("{}:fence:identity:{tenant}:{identity_id}", self.prefix)
    }

    /// The set of entry names of one session, for `evict_session`.
    pub fn sid_name(&self, tenant: &str, sid: &str) -> String {
        format!("{}:sid:{tenant}:{sid}", self.prefix)
    }

    /// The set of entry names of one identity, for `evict_identity`.
    pub fn identity_name(&self, tenant: &str, identity_id: &str) -> String {
        format!("{}:identity:{tenant}:{identity_id}", self.prefix)
    }

    /// Encrypt `plain`, to be read until `until_ms` (Unix ms), for the entry `name` of `tenant`
    /// with the first key.
    pub fn seal(&self, name: &str, tenant: &str, until_ms: u64, plain: &[u8]) -> Option<String> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = aad(name, tenant);
        let mut msg = Vec::with_capacity(8 + plain.len());
        msg.extend_from_slice(&until_ms.to_be_bytes());
        msg.extend_from_slice(plain);
        let ct = self.keys[0].aead.encrypt(&nonce, Payload { msg: &msg, aad: &aad }).ok()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Some(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// The deadline (Unix ms) and plaintext of the value found under `name`, the name of key
    /// number `i`, for `tenant`; `Unauthenticated` for anything this namespace did not write
    /// there.
    pub fn open(&self, i: usize, name: &str, tenant: &str, value: &[u8]) -> Result<(u64, Vec<u8>), Rejection> {
        let raw = base64::engine::general_purpose::STANDARD.decode(value).map_err(|_| Rejection::Unauthenticated)?;
        let (&version, rest) = raw.split_first().ok_or(Rejection::Unauthenticated)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(Rejection::Unauthenticated);
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let aad = aad(name, tenant);
        let mut plain = self.keys[i]
            .aead
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| Rejection::Unauthenticated)?;
        let until: [u8; 8] = plain.get(..8).and_then(|b| b.try_into().ok()).ok_or(Rejection::Malformed)?;
        plain.drain(..8);
        Ok((u64::from_be_bytes(until), plain))
    }
}

/// Associated data: the format version, the full Redis name and the tenant.
fn aad(name: &str, tenant: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(2 + name.len() + tenant.len());
    a.push(VERSION);
    a.extend_from_slice(name.as_bytes());
    a.push(0);
    a.extend_from_slice(tenant.as_bytes());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(prefix: &str, keys: &[u8]) -> Namespace {
        let keys: Vec<[u8; 32]> = keys.iter().map(|b| [*b; 32]).collect();
        Namespace::new(prefix, &keys)
    }

    #[test]
    fn a_value_opens_only_under_its_own_name_tenant_and_key() {
        let a = ns("p", &[1]);
        let name = a.write_name("k1");
        let v = a.seal(&name, "t", 77, b"{\"s\":1}").unwrap();
        assert_eq!(a.open(0, &name, "t", v.as_bytes()).unwrap(), (77, b"{\"s\":1}".to_vec()));
        assert!(!v.contains("\"s\""), "the value is not in clear");
        let other = a.write_name("k2");
        assert_eq!(a.open(0, &other, "t", v.as_bytes()), Err(Rejection::Unauthenticated), "another slot");
        assert_eq!(a.open(0, &name, "u", v.as_bytes()), Err(Rejection::Unauthenticated), "another tenant");
        let b = ns("p", &[2]);
        assert_eq!(b.open(0, &name, "t", v.as_bytes()), Err(Rejection::Unauthenticated), "another key");
        let c = ns("q", &[1]);
        assert_ne!(c.write_name("k1"), name, "another prefix, another name");
        for junk in [&b"not base64!"[..], b"", b"AQ==", b"{\"tenant\":\"t\"}"] {
            assert_eq!(a.open(0, &name, "t", junk), Err(Rejection::Unauthenticated));
        }
        let mut raw = base64::engine::general_purpose::STANDARD.decode(&v).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let flipped = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(a.open(0, &name, "t", flipped.as_bytes()), Err(Rejection::Unauthenticated), "tampered");
    }

    #[test]
    fn names_are_keyed_and_rotation_reads_the_old_slot() {
        let old = ns("p", &[1]);
        let rotated = ns("p", &[2, 1]);
        let name = old.write_name("k");
        assert!(name.starts_with("p:session:") && old.is_session_name(&name));
        assert_eq!(name.len(), "p:session:".len() + 64);
        assert_ne!(ns("p", &[2]).write_name("k"), name, "the name depends on the key");
        let v = old.seal(&name, "t", 1, b"x").unwrap();
        let names = rotated.read_names("k");
        assert_eq!(names.len(), 2);
        assert_eq!(names[1], name, "the old key's slot is read too");
        assert_eq!(rotated.open(1, &names[1], "t", v.as_bytes()).unwrap(), (1, b"x".to_vec()));
        assert_eq!(rotated.write_name("k"), names[0], "the first key writes");
    }
}

//! Hydra's JSON Web Key sets (`/admin/keys`) in memory, and the public keys of the
//! `hydra.openid.id-token` set at `/.well-known/jwks.json`. Keys are made by RustCrypto (`p256`,
//! `p384`, `ed25519-dalek`, all in the tree through `jsonwebtoken`); RSA keys (`RS*`, `PS*`) and
//! `ES512` are not generated (RSA key generation takes minutes in debug builds, P-521 has no
//! crate in the tree): creating them answers `501`, while keys of any type can still be
//! imported with `PUT`.

use super::{FakeRequest, FakeResponse, TenantState};
use base64::Engine;
use http::Method;
use serde_json::{json, Value};

/// The set whose public keys Hydra publishes at `/.well-known/jwks.json` (ID token keys).
pub(crate) const ID_TOKEN_SET: &str = "hydra.openid.id-token";

/// The key Hydra makes for [`ID_TOKEN_SET`] when it starts (RS256): here a fixed key pair made
/// once for the fake (RSA key generation takes too long in debug builds), so
/// `/.well-known/jwks.json` publishes one RSA signing key, as a fresh Hydra does. Its private
/// half ([`ID_TOKEN_PRIVATE_DER_B64`]) signs the ID tokens of the fake's authorization-code flows.
pub(crate) fn startup_id_token_key() -> Value {
    json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "ory-iam-fake-id-token",
        "e": "AQAB",
        "n": "vZjH8_Zp1MSKSDF0db5nygDnAlf1Vp-ufIJ4ZdhQn4NraLHcLwXMsMWeVTiDElGGYSC5zBPYo2gHn_Z1BvV0yyIrbiUU0Hi2EdNql7oODxBUwYKhF4PPfG-9kZhMcAVmCP0TjQ8byJQ7I7zHVGhZXsAfSwHiCQtH1BHXJScBqeP5vD9RazKPBgsR5Tj9ZqtI_pbVMY1JwgZi9RQB01tDJY4kbqQoujmn1wRDI9aO7ENqWFWx6q86ihfOTB-XrLfMe01vRaAYiJUt5blV9AqzOOiwJ5VX-5Yo0K0ecLrNxNt0iMdtv8I7FVdBe_hdzS_q03Iu_Hp9xYKyckrqF9lKfw",
    })
}

/// The private half of [`startup_id_token_key`]: a test key, public by design (it signs the fake's
/// ID tokens only, which no real server accepts).
/// PKCS#1 DER, in standard base64.
pub(crate) const ID_TOKEN_PRIVATE_DER_B64: &str = concat!(
    "MIIEowIBAAKCAQEAvZjH8/Zp1MSKSDF0db5nygDnAlf1Vp+ufIJ4ZdhQn4NraLHcLwXMsMWeVTiDElGGYSC5zBPYo2gHn/Z1",
    "BvV0yyIrbiUU0Hi2EdNql7oODxBUwYKhF4PPfG+9kZhMcAVmCP0TjQ8byJQ7I7zHVGhZXsAfSwHiCQtH1BHXJScBqeP5vD9R",
    "azKPBgsR5Tj9ZqtI/pbVMY1JwgZi9RQB01tDJY4kbqQoujmn1wRDI9aO7ENqWFWx6q86ihfOTB+XrLfMe01vRaAYiJUt5blV",
    "9AqzOOiwJ5VX+5Yo0K0ecLrNxNt0iMdtv8I7FVdBe/hdzS/q03Iu/Hp9xYKyckrqF9lKfwIDAQABAoIBAELIaJId92w7KIxC",
    "Y0fAIFXumHBiZCg1ieQQnvEcz1VImNJhZ/HmRJH1og5ZoA2ZStC2kst4KCRy1dC6IsGnPxL4P70F8b1274b65b55Ck+zDG+3",
    "ICAkzTaDM45vy2jf9e9vmW3j5wDxeZ1edwXb1bMC0GL+0EwoPY5NFG/hO/xHlmSZzeMCw8osVnuvKVxXI8CPw8gBB9asjBFf",
    "BF/R8f5Alp8d6Y9/6NjbD+yZCuRANhvGYSqtsWqvhKeI+tO2cb2r7z0JoKK0yXoLji7+SDpdkhpTaKKtPTgER1zQQpu8czGc",
    "B7cdOizZSUrqQBu2zGYDxTArPWbgjaIJkwCoQiUCgYEA4eH7n72B7z0nsRppFGyGuLzjCjLcGi+LH3oXciugHElEbdvgAb7T",
    "xF+A4EQdMo6Lf1a/gnukVpkMJmDPo+hYGclNlV9irjW59TAv1YSXuCa2L/Wsw50RDft7XzPbj+Civ3S9/8kFmqP+ZeP1fCBG",
    "Vg0IKbQdkLm5XtOkEo9NxNMCgYEA1uBBl7sLuP9xSR2RP0ycf1v5Pm+D5EgxYw29tpCwTXeSCTeKwtqqx4dqts9d/MZ1nUGr",
    "KBM6G/fSciwiuAkurp5aIiNP9JM9B9PfY4plwPtMngnYzKMqoXbgY4qoyWTxyLNo7MGXEXqpsczQeRxyssqX1HSW6FqS2p0R",
    "s6ZtyCUCgYAyMKZabh9K60nAfl/O2/ZrYf0IrRhe8SV2jwhao/rljhoYVvzFJoOjZJ0cN8ZND4NLfhj7g0GWxFcAyA4bG2tH",
    "/4SvpgwlLWbuZhCa3uVfU6qzqWED7gh2FOTq2Hj21TEUXXpCNYZ7P+ks9qP7OqimQisIKS9QkxPvUBNq1FCxZQKBgCPb7vZc",
    "X7ty3bv+9DNlHKTge3rg71jUd3F5ZJSoFtQGxVdGbqDQDzoXLkbt2liJ4izpPaAFfWgXdoZZOT4PQjwf7xjNXdWKEOBSinA5",
    "M3v+NC4XpJeaD0484XubM0nQz8zXrAX+1LA1EUa70Hq1taqCxs3M2zZRjzpuhfq+JooFAoGBAILM1bTKkqWevIYvniFi7w4s",
    "FtJt/lHYQGb0RrScluIsoVe4MPF6HprdNsyZO5PpGW8GFdxkaP30N7HfB8RkgCKLB9lzkdl1rYSKYjepQkpxKbOUsXAYO1CP",
    "rCzZTRqPbHqSbp3NTp7EFFnhyUczplwqHNpMmP0vkL6UqEX4qr/5",
);

/// Members of a JWK that are private key material (RFC 7518 §6).
const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn not_found_set() -> FakeResponse {
    FakeResponse::json(
        404,
        &json!({"error": "Not Found", "error_description": "Unable to locate the requested resource"}),
    )
}

fn not_found_key() -> FakeResponse {
    FakeResponse::json(404, &json!({"error": "Unable to locate the resource", "error_description": ""}))
}

fn bad_request(why: &str) -> FakeResponse {
    FakeResponse::json(400, &json!({"error": "Bad Request", "error_description": why}))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new private key as a JWK, or the answer for an algorithm that is not made.
fn generate(alg: &str, kid: &str, use_: &str) -> Result<Value, FakeResponse> {
    use rand_core::OsRng;
    let mut jwk: Value = match alg {
        "ES256" => serde_json::from_str(&p256::SecretKey::random(&mut OsRng).to_jwk_string())
            .map_err(|_| bad_request("key generation failed"))?,
        "ES384" => serde_json::from_str(&p384::SecretKey::random(&mut OsRng).to_jwk_string())
            .map_err(|_| bad_request("key generation failed"))?,
        "EdDSA" => {
            let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(key.verifying_key().as_bytes()), "d": b64(&key.to_bytes())})
        }
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES512" => {
            return Err(FakeResponse::error(
                501,
                &format!("ory-iam FakeOry does not generate {alg} keys; import one with update_set / update_key"),
            ))
        }
        _ => return Err(bad_request("Unsupported key algorithm")),
    };
    jwk["use"] = json!(use_);
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg);
    Ok(jwk)
}

/// The key without private members.
pub(crate) fn public(key: &Value) -> Value {
    let mut k = key.clone();
    if let Some(o) = k.as_object_mut() {
        for m in PRIVATE {
            o.remove(*m);
        }
    }
    k
}

fn set_json(keys: &[Value]) -> Value {
    json!({"keys": keys})
}

/// A JWK as given to `PUT`: an object with `kty`, `kid`, `alg` and `use`.
fn valid_key(k: &Value) -> bool {
    ["kty", "kid", "alg", "use"].iter().all(|m| k.get(*m).and_then(Value::as_str).is_some_and(|s| !s.is_empty()))
}

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    Some(match segs {
        [".well-known", "jwks.json"] if m == Method::GET => {
            let keys: Vec<Value> =
                t.jwk_sets.get(ID_TOKEN_SET).map(|s| s.iter().map(public).collect()).unwrap_or_default();
            FakeResponse::json(200, &set_json(&keys))
        }
        ["admin", "keys", set] => match *m {
            Method::POST => {
                let body = req.json.cloned().unwrap_or(Value::Null);
                let alg = body["alg"].as_str().unwrap_or_default();
                let use_ = body["use"].as_str().filter(|u| !u.is_empty()).unwrap_or("sig");
                let kid = body["kid"].as_str().filter(|k| !k.is_empty()).map(str::to_owned);
                let kid = kid.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                if t.jwk_sets.get(*set).is_some_and(|s| s.iter().any(|k| k["kid"] == kid.as_str())) {
                    return Some(FakeResponse::json(
                        409,
                        &json!({"error": "Unable to insert or update resource because a resource with that value exists already", "error_description": ""}),
                    ));
                }
                match generate(alg, &kid, use_) {
                    Ok(key) => {
                        // Hydra answers with the new key only, and lists the newest key first.
                        let out = set_json(std::slice::from_ref(&key));
                        t.jwk_sets.entry((*set).to_owned()).or_default().insert(0, key);
                        FakeResponse::json(201, &out)
                    }
                    Err(e) => e,
                }
            }
            Method::GET => match t.jwk_sets.get(*set).filter(|s| !s.is_empty()) {
                Some(keys) => FakeResponse::json(200, &set_json(keys)),
                None => not_found_set(),
            },
            Method::PUT => {
                let keys = req.json.and_then(|b| b.get("keys")).and_then(Value::as_array).cloned().unwrap_or_default();
                if !keys.iter().all(valid_key) {
                    return Some(bad_request("every key needs kty, kid, alg and use"));
                }
                t.jwk_sets.insert((*set).to_owned(), keys.clone());
                FakeResponse::json(200, &set_json(&keys))
            }
            Method::DELETE => match t.jwk_sets.remove(*set) {
                Some(_) => FakeResponse::empty(204),
                None => not_found_set(),
            },
            _ => return None,
        },
        ["admin", "keys", set, kid] => match *m {
            Method::GET => match t.jwk_sets.get(*set) {
                Some(keys) => match keys.iter().find(|k| k["kid"] == *kid) {
                    Some(k) => FakeResponse::json(200, &set_json(std::slice::from_ref(k))),
                    None => not_found_key(),
                },
                None => not_found_set(),
            },
            Method::PUT => {
                let Some(key) = req.json.filter(|k| valid_key(k)) else {
                    return Some(bad_request("the key needs kty, kid, alg and use"));
                };
                let keys = t.jwk_sets.entry((*set).to_owned()).or_default();
                match keys.iter_mut().find(|k| k["kid"] == *kid) {
                    Some(k) => *k = key.clone(),
                    None => keys.insert(0, key.clone()),
                }
                FakeResponse::json(200, key)
            }
            Method::DELETE => match t.jwk_sets.get_mut(*set) {
                Some(keys) => {
                    keys.retain(|k| k["kid"] != *kid);
                    FakeResponse::empty(204)
                }
                None => not_found_set(),
            },
            _ => return None,
        },
        _ => return None,
    })
}

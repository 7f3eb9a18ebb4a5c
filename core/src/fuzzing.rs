//! Entry points for `core/fuzz` (cargo-fuzz), compiled only with the `fuzzing` feature. Each
//! takes arbitrary bytes and drives one parser the way an untrusted peer would: a browser or
//! proxy (headers, the Oathkeeper envelope), a caller (JSON Patch) or an Ory server (response
//! JSON → DTOs). They must never panic; results are thrown away.

use crate::config::{OathkeeperConfig, Transport};
use crate::secret::Secret;
use crate::transport::{self, oathkeeper};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

const TENANT: &str = "fuzz";
const KEY: &str = "fuzz-signer-key";

/// `name: value` lines → headers, then every transport's credential extraction, and the same
/// pairs as the JSON object the Node binding hands over.
pub fn headers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(String, String)> = text
        .split('\n')
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim_start().to_owned())))
        .collect();
    let map = transport::header_map(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for t in [Transport::Cookie, Transport::Bearer, Transport::CookieOrBearer, Transport::Oathkeeper] {
        for name in ["ory_kratos_session", "ory_session_fuzz", ""] {
            let _ = transport::extract(t, name, &map);
        }
    }
    // Raw bytes as one header value: the path taken by a non-UTF-8 `Cookie` header.
    let mut raw = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_bytes(data) {
        raw.append(http::header::COOKIE, v.clone());
        raw.append(http::header::AUTHORIZATION, v.clone());
        raw.append("x-session-token", v);
        for t in [Transport::Cookie, Transport::Bearer, Transport::CookieOrBearer] {
            let _ = transport::extract(t, "ory_kratos_session", &raw);
        }
    }
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        let m = transport::header_map_from_json(&v);
        let _ = transport::extract(Transport::CookieOrBearer, "ory_kratos_session", &m);
    }
}

fn verifier() -> oathkeeper::Verifier {
    oathkeeper::Verifier::new(
        &OathkeeperConfig {
            identity_header: None,
            signature_header: None,
            signer_keys: vec![Secret::new("other-key"), Secret::new(KEY)],
            ..Default::default()
        },
        false,
    )
}

/// The Oathkeeper envelope verifier, twice: with the bytes as both headers (signature checks),
/// and with the bytes as the claims of a correctly signed envelope (everything after the HMAC).
pub fn oathkeeper(data: &[u8]) {
    let v = verifier();
    let text = String::from_utf8_lossy(data);
    let (payload, sig) = text.split_once('\n').unwrap_or((&text, ""));
    let h = transport::header_map([("x-user", payload), ("x-user-signature", sig)]);
    let _ = v.verify(TENANT, &h);

    let payload = URL_SAFE_NO_PAD.encode(data);
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("HMAC takes any key size");
    mac.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let h = transport::header_map([("x-user", payload.as_str()), ("x-user-signature", sig.as_str())]);
    let _ = v.verify(TENANT, &h);
    // A second time: the replay cache path.
    let _ = v.verify(TENANT, &h);
}

/// JSON Patch validation of identity patches (the only patch the core validates locally).
pub fn json_patch(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        let _ = crate::kratos::identity::validate_patch(&v);
        let _ = crate::kratos::identity::validate_patch(&Value::Array(vec![v]));
    }
}

fn decode<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    serde_json::from_value(v.clone()).ok()
}

/// Ory response JSON → library DTOs, for every wire shape the core maps, then serialized the
/// way the bindings do.
pub fn dto_mappers(data: &[u8]) {
    use crate::hydra::wire as hw;
    use crate::keto::wire as kw;
    use crate::kratos::wire as w;
    let Ok(v) = serde_json::from_slice::<Value>(data) else { return };
    let out = |x: &dyn erased::Ser| x.touch();

    if let Some(i) = decode::<w::Identity>(&v) {
        let d = i.into_dto(TENANT);
        out(&d.clone().sanitized());
        out(&d);
    }
    if let Some(s) = decode::<w::Session>(&v) {
        if let Some(d) = s.into_dto(TENANT) {
            out(&d);
        }
    }
    if let Some(s) = decode::<w::Session>(&v) {
        out(&s.into_dto_for(TENANT, "00000000-0000-0000-0000-000000000000"));
    }
    for kind in [crate::dto::FlowKind::Login, crate::dto::FlowKind::Settings] {
        if let Some(f) = decode::<w::Flow>(&v) {
            out(&f.into_dto(TENANT, kind, vec![Secret::new("a=b")]));
        }
    }
    if let Some(mut s) = decode::<w::FlowSuccess>(&v) {
        if let Some(cw) = s.continue_with.as_mut() {
            let _ = crate::kratos::flow::session_token_from(cw);
            crate::kratos::flow::redact_continue_with(cw);
        }
        if let Some(d) = s.session.and_then(|s| s.into_dto(TENANT)) {
            out(&d);
        }
        if let Some(i) = s.identity {
            out(&i.into_dto(TENANT));
        }
    }
    if let Some(m) = decode::<w::CourierMessage>(&v) {
        out(&m.into_dto(TENANT, true));
    }
    if let Some(creds) = v.get("credentials").and_then(Value::as_object) {
        for c in creds.values() {
            out(&crate::kratos::identity::public_credential(TENANT, c));
        }
    }
    if let Some(t) = decode::<kw::TupleList>(&v) {
        let items: Vec<_> = t.relation_tuples.into_iter().filter_map(kw::Tuple::into_dto).collect();
        out(&items);
    }
    if let Some(t) = decode::<kw::Tree>(&v) {
        out(&t.into_dto());
    }
    let _ = decode::<kw::Allowed>(&v);
    let _ = decode::<kw::BatchResults>(&v);
    if let Some(c) = decode::<hw::Client>(&v) {
        out(&c.into_dto(TENANT));
    }
    if let Some(t) = decode::<hw::Token>(&v) {
        out(&t.into_dto(TENANT));
    }
    if let Some(t) = decode::<hw::Trusted>(&v) {
        out(&t.into_dto(TENANT));
    }
    out(&hw::challenge(TENANT, v.clone()));
    out(&crate::network::project(TENANT, v.clone()));
    out(&crate::network::metadata(TENANT, &v));
    out(&crate::network::api_key(TENANT, &v));
    out(&crate::network::workspace(TENANT, &v));
    out(&crate::network::stream(TENANT, &v));
    let _ = crate::network::array(&v);
}

/// Serialize like the bindings (secrets exposed to their owner) and as `Debug` (logs).
mod erased {
    pub trait Ser {
        fn touch(&self);
    }
    impl<T: serde::Serialize + std::fmt::Debug> Ser for T {
        fn touch(&self) {
            let _ = crate::secret::expose_in(|| serde_json::to_value(self));
            let _ = format!("{self:?}");
        }
    }
}

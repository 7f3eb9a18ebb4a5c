//! Secret values handed to JS (session tokens, cookies, logout tokens). The value lives in Rust;
//! `console.log`, `util.inspect`, `String(x)` and `JSON.stringify` all show `***`.

use napi_derive::napi;

#[napi]
pub struct Secret(String);

impl Secret {
    pub fn from_core(s: ory_iam::Secret) -> Self {
        Secret(s.expose().to_owned())
    }
}

#[napi]
impl Secret {
    /// The value itself. Hand it only to its owner (the client, a `Set-Cookie` header).
    #[napi]
    pub fn expose(&self) -> String {
        self.0.clone()
    }

    #[napi(js_name = "toString")]
    pub fn to_js_string(&self) -> String {
        "***".to_owned()
    }

    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> String {
        "***".to_owned()
    }
}

//! Core errors → napi errors. The structured error (code, class, status, tenant, request id,
//! retry-after, fields) travels as JSON behind a marker; the package's `ory-iam.js` turns it
//! into the matching `Error` subclass with `err.code`, so `instanceof` works.

pub const MARKER: &str = "\u{1}ory-iam:";

pub fn to_napi(e: ory_iam::Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("{MARKER}{}", e.to_json()))
}

pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for ory_iam::Result<T> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}

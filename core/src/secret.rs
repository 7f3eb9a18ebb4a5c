//! Secret values (admin tokens, API keys, client secrets, session tokens).
//!
//! `Debug` and `Display` print `***` so a secret never reaches a log line, an error message or
//! a binding's `repr`/`inspect` by accident. Reading the value is explicit: [`Secret::expose`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// A string that must never be printed.
#[derive(Clone, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Call only where it is sent to Ory or handed back to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

thread_local! {
    static EXPOSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Serialize with secrets in clear, for handing a result to its owner (the bindings convert
/// DTOs this way and wrap the values in their own never-printing `Secret` types). Scoped to
/// the current thread and to `f`.
pub fn expose_in<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            EXPOSE.with(|e| e.set(self.0));
        }
    }
    let _reset = Reset(EXPOSE.with(|e| e.replace(true)));
    f()
}

/// Serializes as `***`, so a DTO holding a secret can be logged or dumped without leaking it —
/// except inside [`expose_in`].
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if EXPOSE.with(|e| e.get()) {
            s.serialize_str(&self.0)
        } else {
            s.serialize_str("***")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("ory_pat_very_secret");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "ory_pat_very_secret");
        assert_eq!(expose_in(|| serde_json::to_string(&s).unwrap()), "\"ory_pat_very_secret\"");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"", "only inside expose_in");
    }
}

//! What every service handle has (`forTenant`, `tenant`, `equals`) and the option parser all
//! methods share.

use crate::errors::IntoNapi;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parse a method's option object (absent = empty) into its core input type.
pub fn input<T: DeserializeOwned>(v: Option<Value>, what: &str) -> napi::Result<T> {
    ory_iam::dto::parse_input(what, v.unwrap_or(Value::Null)).napi()
}

/// Adds `forTenant(name)`, the `tenant` getter and `equals` to a `#[napi]` newtype over a core
/// service handle.
macro_rules! basics {
    ($t:ident) => {
        #[napi_derive::napi]
        impl $t {
            /// The same service for another tenant; unknown names throw `IamConfigurationError`.
            #[napi]
            pub fn for_tenant(&self, name: String) -> napi::Result<$t> {
                use crate::errors::IntoNapi;
                self.0.for_tenant(&name).napi().map($t)
            }

            /// The tenant this handle is bound to.
            #[napi(getter)]
            pub fn tenant(&self) -> String {
                self.0.tenant().to_owned()
            }

            /// True when both handles are bound to the same tenant.
            #[napi]
            pub fn equals(&self, other: &$t) -> bool {
                self.0 == other.0
            }
        }
    };
}
pub(crate) use basics;

//! What every service handle has (`forTenant`, `tenant`, `equals`) and the option parser all
//! methods share.

use crate::errors::IntoNapi;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parse a method's option object (absent = empty) into its core input type.
pub fn input<T: DeserializeOwned>(v: Option<Value>, what: &str) -> napi::Result<T> {
    ory_iam::dto::parse_input(what, v.unwrap_or(Value::Null)).napi()
}

/// What the calls of a traced handle did (see `ory-iam/otel`).
#[napi_derive::napi(object)]
pub struct OpReport {
    pub requests: u32,
    pub retries: u32,
    pub status: Option<u32>,
    pub cache_hit: bool,
    pub request_id: Option<String>,
    pub service: Option<String>,
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
                crate::errors::catch(|| self.0.for_tenant(&name).napi().map($t))
            }

            /// A handle for one traced call (used by `ory-iam/otel`): its Ory requests carry
            /// `traceparent` and `_opReport()` tells what they did.
            #[napi(js_name = "_traced")]
            pub fn traced(&self, traceparent: Option<String>) -> $t {
                $t(self.0.traced(traceparent.as_deref()))
            }

            /// A handle whose Ory requests carry `X-Request-Id: requestId` (what
            /// `runWithRequestId` uses for each call made inside it); an invalid id is ignored.
            #[napi(js_name = "_correlated")]
            pub fn correlated(&self, request_id: String) -> $t {
                $t(self.0.correlated(&request_id))
            }

            /// `{ requests, retries, status, cacheHit, requestId, service }` of a traced handle,
            /// `null` otherwise.
            #[napi(js_name = "_opReport")]
            pub fn op_report(&self) -> Option<crate::handle::OpReport> {
                self.0.op_report().map(|r| crate::handle::OpReport {
                    requests: r.requests,
                    retries: r.retries,
                    status: r.status.map(u32::from),
                    cache_hit: r.cache_hit,
                    request_id: r.request_id,
                    service: r.service,
                })
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

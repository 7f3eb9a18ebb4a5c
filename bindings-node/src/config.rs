//! Config from a JS object: handed to the core as JSON (camelCase keys are accepted there).

use serde_json::Value;

pub fn config_from_js(v: Value) -> ory_iam::Result<ory_iam::IamConfig> {
    ory_iam::IamConfig::from_value(&v)
}

/// Every config key path the core's reader accepts (`ory_iam::config::accepted_keys`, tenants
/// written `<name>`): the drift test of the `IamConfig` typings compares them with it. Not API.
#[cfg_attr(test, allow(dead_code))] // `#[napi]` items are not compiled into test builds
#[napi_derive::napi(js_name = "_acceptedConfigKeys")]
pub fn accepted_config_keys() -> Vec<String> {
    ory_iam::config::accepted_keys()
}

//! Config from a JS object: handed to the core as JSON (camelCase keys are accepted there).

use serde_json::Value;

pub fn config_from_js(v: Value) -> ory_iam::Result<ory_iam::IamConfig> {
    ory_iam::IamConfig::from_value(&v)
}

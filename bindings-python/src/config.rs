//! Config from a dict: converted to JSON and validated by the core (every bad path at once).

use crate::convert::from_py;
use pyo3::prelude::*;

pub fn config_from_py(obj: &Bound<'_, PyAny>) -> ory_iam::Result<ory_iam::IamConfig> {
    let v = from_py(obj, "").map_err(|e| ory_iam::Error::configuration_fields(e.fields().to_vec()))?;
    ory_iam::IamConfig::from_value(&v)
}

/// Every config key path the core's reader accepts (`ory_iam::config::accepted_keys`, tenants
/// written `<name>`): the drift test of the typed config (`ory_iam.config`) compares its
/// TypedDicts with it. Not API.
#[pyfunction]
pub fn _accepted_config_keys() -> Vec<String> {
    ory_iam::config::accepted_keys()
}

//! What every service handle has: `for_tenant`, `tenant`, equality and a repr.

/// Adds `for_tenant(name)`, the `tenant` getter, `==`/`hash` by tenant and `repr` to a
/// `#[pyclass]` newtype over a core service handle.
macro_rules! handle_basics {
    ($py_name:ident, $name:literal) => {
        #[pymethods]
        impl $py_name {
            fn for_tenant(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Self> {
                let name = core(py, want_str(name, "name"))?;
                crate::runtime::guard(py, || core(py, self.0.for_tenant(&name)).map(Self))
            }

            /// A handle for one traced call (see `ory_iam.otel`): its Ory requests carry
            /// `traceparent` and `_op_report()` tells what they did.
            #[pyo3(signature = (traceparent=None))]
            fn _traced(&self, traceparent: Option<String>) -> Self {
                Self(self.0.traced(traceparent.as_deref()))
            }

            /// A handle whose Ory requests carry `X-Request-Id: request_id` (what
            /// `ory_iam.request_id_scope` uses for each call made inside it); an invalid id is
            /// ignored.
            fn _correlated(&self, request_id: &str) -> Self {
                Self(self.0.correlated(request_id))
            }

            /// `{requests, retries, status, cache_hit, request_id, service}` of a traced handle,
            /// `None` otherwise.
            fn _op_report(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                match self.0.op_report() {
                    None => Ok(py.None()),
                    Some(r) => {
                        crate::convert::to_py(py, &serde_json::to_value(r).unwrap_or_default()).map(|o| o.unbind())
                    }
                }
            }

            #[getter]
            fn tenant(&self) -> &str {
                self.0.tenant()
            }

            fn __repr__(&self) -> String {
                format!(concat!($name, "(tenant={:?})"), self.0.tenant())
            }

            fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
                other.extract::<PyRef<'_, Self>>().map(|o| o.0 == self.0).unwrap_or(false)
            }

            fn __hash__(&self) -> u64 {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                ($name, self.0.tenant()).hash(&mut h);
                h.finish()
            }
        }
    };
}
pub(crate) use handle_basics;

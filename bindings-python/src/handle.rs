//! What every service handle has: `for_tenant`, `tenant`, equality and a repr.

/// Adds `for_tenant(name)`, the `tenant` getter, `==`/`hash` by tenant and `repr` to a
/// `#[pyclass]` newtype over a core service handle.
macro_rules! handle_basics {
    ($py_name:ident, $name:literal) => {
        #[pymethods]
        impl $py_name {
            fn for_tenant(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Self> {
                let name = core(py, want_str(name, "name"))?;
                core(py, self.0.for_tenant(&name)).map(Self)
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

//! Auto-paging: the core `Pager` behind a Python object whose `next_item()` returns an
//! awaitable; the package wraps it in an async iterator (`async for`).

use crate::runtime::spawn;
use pyo3::prelude::*;
use serde_json::Value;
use std::sync::Arc;

type Erased = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<ory_iam::Result<Value>>> + Send>>
        + Send
        + Sync,
>;

#[pyclass(module = "ory_iam._ory_iam", name = "Pager", frozen)]
pub struct PyPager {
    next: Erased,
}

impl PyPager {
    pub fn new<T: serde::Serialize + Send + Sync + 'static>(p: ory_iam::Pager<T>) -> Self {
        let p = Arc::new(p);
        PyPager {
            next: Arc::new(move || {
                let p = p.clone();
                Box::pin(async move {
                    p.next_item().await.map(|r| {
                        r.and_then(|v| {
                            ory_iam::secret::expose_in(|| serde_json::to_value(v))
                                .map_err(|_| ory_iam::Error::internal("cannot convert an item"))
                        })
                    })
                })
            }),
        }
    }
}

#[pymethods]
impl PyPager {
    /// The next item, or None at the end.
    fn next_item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let f = (self.next)();
        spawn(py, async move { f.await.transpose() })
    }
}

//! Auto-paging: the core `Pager` behind a Python object whose `next_item()` returns an
//! awaitable; the package wraps it in an async iterator (`async for`).

use crate::convert::to_py;
use crate::runtime::{settled, spawn};
use pyo3::prelude::*;
use serde_json::Value;
use std::sync::Arc;

type Erased = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<ory_iam::Result<Value>>> + Send>>
        + Send
        + Sync,
>;

type Ready = Arc<dyn Fn() -> Option<Option<ory_iam::Result<Value>>> + Send + Sync>;

#[pyclass(module = "ory_iam._ory_iam", name = "Pager", frozen)]
pub struct PyPager {
    next: Erased,
    ready: Ready,
}

fn to_json<T: serde::Serialize>(v: T) -> ory_iam::Result<Value> {
    ory_iam::secret::expose_in(|| serde_json::to_value(v))
        .map_err(|_| ory_iam::Error::internal("cannot convert an item"))
}

impl PyPager {
    pub fn new<T: serde::Serialize + Send + Sync + 'static>(p: ory_iam::Pager<T>) -> Self {
        let p = Arc::new(p);
        let q = p.clone();
        PyPager {
            next: Arc::new(move || {
                let p = p.clone();
                Box::pin(async move { p.next_item().await.map(|r| r.and_then(to_json)) })
            }),
            ready: Arc::new(move || q.next_ready().map(|o| o.map(|r| r.and_then(to_json)))),
        }
    }
}

#[pymethods]
impl PyPager {
    /// The next item, or None at the end. A buffered item (or the known end) comes back as an
    /// already-resolved future, without a round trip through the runtime.
    fn next_item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(r) = (self.ready)() {
            let value = match r.transpose() {
                Ok(Some(v)) => to_py(py, &v).map_err(|_| ory_iam::Error::internal("cannot convert an item")),
                Ok(None) => Ok(py.None().into_bound(py)),
                Err(e) => Err(e),
            };
            return settled(py, value);
        }
        let f = (self.next)();
        spawn(py, async move { f.await.transpose() })
    }
}

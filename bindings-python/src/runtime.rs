//! The one tokio runtime of the process (owned by pyo3-async-runtimes) and the helper every
//! method uses: run a core future, convert its result, map errors by kind.

use crate::convert::to_py;
use crate::errors::to_pyerr;
use pyo3::prelude::*;
use serde::Serialize;
use std::future::Future;

/// Start `fut` on the runtime and return an asyncio future. Must be called with a running
/// event loop — the Python package calls it from inside `async def` wrappers, which is what
/// makes a bare `asyncio.run(iam.identity.get(x))` work.
pub fn spawn<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = ory_iam::Result<T>> + Send + 'static,
    T: Serialize + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let out = fut.await;
        Python::attach(|py| match out {
            Ok(v) => {
                let value = serde_json::to_value(&v)
                    .map_err(|_| to_pyerr(py, ory_iam::Error::internal("cannot convert a result")))?;
                to_py(py, &value).map(|b| b.unbind())
            }
            Err(e) => Err(to_pyerr(py, e)),
        })
    })
}

/// Run a blocking core call (config parsing, file reading) without holding the interpreter.
pub fn core<T>(py: Python<'_>, r: ory_iam::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_pyerr(py, e))
}

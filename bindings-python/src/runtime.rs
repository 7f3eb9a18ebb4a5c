//! The one tokio runtime of the process (pyo3-async-runtimes owns it) and the bridge every
//! method uses: run a core future on it and resolve an asyncio future with the result.
//!
//! Why not `pyo3_async_runtimes::tokio::future_into_py`: it completes futures from tokio threads
//! with `call_soon_threadsafe`, which releases the GIL inside; when that wakes a loop that then
//! finishes `asyncio.run` and the interpreter shuts down, the tokio thread comes back to a
//! finalizing interpreter and crashes (seen here: SIGSEGV/SIGABRT at exit after
//! `asyncio.run(...)`). This bridge counts the threads inside Python and an `atexit` hook waits
//! for them and closes the door before finalization. Cancelling the asyncio future (task
//! cancellation) aborts the Rust future, which drops it and frees its resources.

use crate::convert::to_py;
use crate::errors::to_pyerr;
use futures::FutureExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;
use serde::Serialize;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static INSIDE: AtomicUsize = AtomicUsize::new(0);
static CLOSING: AtomicBool = AtomicBool::new(false);
static COMPLETE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Run `f` attached to the interpreter from a non-Python thread, unless it is shutting down.
pub fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    INSIDE.fetch_add(1, Ordering::SeqCst);
    let out = if CLOSING.load(Ordering::SeqCst) { None } else { Some(Python::attach(f)) };
    INSIDE.fetch_sub(1, Ordering::SeqCst);
    out
}

/// Registered with `atexit` by the package: stop calling into Python and wait (bounded) for
/// threads that are inside it to leave.
#[pyfunction]
pub fn _shutdown(py: Python<'_>) {
    CLOSING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + Duration::from_secs(2);
        while INSIDE.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Runs on the loop thread: resolve `fut` unless it was cancelled meanwhile.
#[pyfunction]
fn _complete(fut: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if fut.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    if ok {
        fut.call_method1("set_result", (value,))?;
    } else {
        fut.call_method1("set_exception", (value,))?;
    }
    Ok(())
}

fn complete_fn(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    COMPLETE
        .get_or_try_init(py, || Ok::<_, PyErr>(wrap_pyfunction!(_complete, py)?.into_any().unbind()))
        .map(|f| f.bind(py))
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    GET_RUNNING_LOOP
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind()))?
        .bind(py)
        .call0()
}

/// An asyncio future already resolved with a result known without I/O (a whoami cache hit,
/// converted by the caller): awaiting it does not yield to the loop, and there is no hop to the
/// runtime and back.
pub fn settled<'py>(py: Python<'py>, r: Result<Bound<'py, PyAny>, ory_iam::Error>) -> PyResult<Bound<'py, PyAny>> {
    let py_fut = running_loop(py)?.call_method0("create_future")?;
    match r {
        Ok(v) => py_fut.call_method1("set_result", (v,))?,
        Err(e) => py_fut.call_method1("set_exception", (to_pyerr(py, e).into_value(py),))?,
    };
    Ok(py_fut)
}

/// Start `fut` on the runtime and return an asyncio future bound to the running loop. The
/// package calls this from inside `async def` wrappers, so a loop is always running; a bare
/// `asyncio.run(iam.identity.get(x))` works because `asyncio.run` drives such a coroutine.
pub fn spawn<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = ory_iam::Result<T>> + Send + 'static,
    T: Serialize + Send + 'static,
{
    let event_loop = running_loop(py)?;
    let py_fut = event_loop.call_method0("create_future")?;
    complete_fn(py)?;
    let loop_ref = event_loop.unbind();
    let fut_ref = py_fut.clone().unbind();
    let task = pyo3_async_runtimes::tokio::get_runtime().spawn(async move {
        // A panic in the core must reach the caller as `IamError`, not kill the task silently
        // (the asyncio future would never complete) nor surface as PanicException.
        let out = match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(r) => r,
            Err(payload) => Err(panicked(payload)),
        };
        // Secrets in results (session tokens, cookies) go to their owner in clear; the package
        // wraps them in `ory_iam.Secret`, whose repr is `***`.
        let out = out.and_then(|v| {
            ory_iam::secret::expose_in(|| serde_json::to_value(&v))
                .map_err(|_| ory_iam::Error::internal("cannot convert a result"))
        });
        with_python(move |py| {
            let (ok, value) = match out {
                Ok(v) => match to_py(py, &v) {
                    Ok(obj) => (true, obj),
                    Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
                },
                Err(e) => (false, to_pyerr(py, e).into_value(py).into_bound(py).into_any()),
            };
            if let Ok(complete) = complete_fn(py) {
                // A closed loop (the awaiting code is gone) is not an error worth reporting.
                let _ = loop_ref.bind(py).call_method1("call_soon_threadsafe", (complete, fut_ref.bind(py), ok, value));
            }
        });
    });
    // Cancelling the asyncio future aborts the Rust task (its future is dropped).
    let abort = task.abort_handle();
    let on_done = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<()> {
        let f = args.get_item(0)?;
        if f.call_method0("cancelled")?.is_truthy()? {
            abort.abort();
        }
        Ok(())
    })?;
    py_fut.call_method1("add_done_callback", (on_done,))?;
    Ok(py_fut)
}

/// Map a core result to a Python exception.
pub fn core<T>(py: Python<'_>, r: ory_iam::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_pyerr(py, e))
}

/// Panic messages can quote whatever the code was handling (a token, a trait), and the default
/// hook prints them to stderr: print where the panic happened, never what it said. A cdylib has
/// its own copy of std, so this hook sees panics in ory-iam only, not in other extensions.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("ory-iam: internal error (a panic at {at}; its message is withheld); the caller gets IamError");
    }));
}

/// A caught panic as the library's internal error. The payload is dropped unread: a panic
/// message may quote whatever value the code was handling (a token, a trait).
fn panicked(payload: Box<dyn std::any::Any + Send>) -> ory_iam::Error {
    drop(payload);
    ory_iam::Error::internal("internal error in ory-iam (a panic was caught; this is a bug)")
}

/// Run synchronous core work so that a panic becomes `IamError` instead of PanicException.
pub fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(to_pyerr(py, panicked(payload))),
    }
}

/// Test builds only: panic deliberately inside the bridges, to prove no panic crosses into
/// Python. `kind` = `sync` (raises at once) or `async` (returns an awaitable that fails).
#[cfg(debug_assertions)]
#[pyfunction]
pub fn _debug_panic<'py>(py: Python<'py>, kind: &str) -> PyResult<Bound<'py, PyAny>> {
    match kind {
        "sync" => guard(py, || -> PyResult<Bound<'py, PyAny>> { panic!("deliberate test panic (sync)") }),
        _ => spawn(py, async {
            // Yield once so the panic happens on a runtime thread, mid-future.
            tokio::task::yield_now().await;
            if true {
                panic!("deliberate test panic (async)");
            }
            Ok(())
        }),
    }
}

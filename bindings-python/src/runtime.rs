//! The bridge every method uses: run a core future on the process's runtime
//! (`ory_iam::runtime::binding`) and resolve an asyncio future with the result.
//!
//! Results come back through a per-loop mailbox: runtime threads queue them (Rust values, no
//! GIL) and wake the loop through a socket it watches; the loop thread converts and resolves
//! everything that is ready in one go. Loops that cannot watch a socket (and every loop where
//! Unix sockets do not exist) fall back to completing each future from the runtime thread with
//! `call_soon_threadsafe`.
//!
//! Fork: the runtime is the core's, which is rebuilt in a child made by `fork()` (gunicorn
//! `--preload`, multiprocessing's `fork` start method), as are the tenants' connection pools.
//! pyo3-async-runtimes keeps its runtime in a `OnceLock` that cannot be replaced, so a child
//! would inherit a runtime without threads; the bridge does not use it for that reason. A loop
//! whose mailbox was made before a fork gets the per-call path in the child.
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
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use serde::Serialize;
use std::future::Future;
#[cfg(unix)]
use std::io::Read;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
#[cfg(unix)]
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::task::AbortHandle;

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

pub(crate) fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    GET_RUNNING_LOOP
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind()))?
        .bind(py)
        .call0()
}

/// An asyncio future already resolved with a result known without I/O (a whoami cache hit,
/// converted by the caller): awaiting it does not yield to the loop, and there is no hop to the
/// runtime and back.
pub fn settled<'py>(py: Python<'py>, r: Result<Bound<'py, PyAny>, ory_iam::Error>) -> PyResult<Bound<'py, PyAny>> {
    if blocking() {
        return ready(py, r.map_err(|e| to_pyerr(py, e)));
    }
    let py_fut = running_loop(py)?.call_method0("create_future")?;
    match r {
        Ok(v) => py_fut.call_method1("set_result", (v,))?,
        Err(e) => py_fut.call_method1("set_exception", (to_pyerr(py, e).into_value(py),))?,
    };
    Ok(py_fut)
}

/// How a finished core future's value becomes a Python object; runs on the loop thread.
type Convert = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send>;

/// A finished core future waiting for its event loop: the asyncio future to resolve and how to
/// build the value (or the exception) it resolves with.
struct Done {
    fut: Py<PyAny>,
    convert: Convert,
}

/// What runtime threads share with one event loop: finished results, and a socket pair whose
/// read end the loop watches (`loop.add_reader`). Both ends live as long as the mailbox, so a
/// wake-up never meets a closed peer (no EPIPE, no SIGPIPE for an embedding application that
/// does not ignore it, as Python does).
#[cfg(unix)]
struct Mailbox {
    queue: Mutex<Vec<Done>>,
    wake: UnixStream,
    wakeups: UnixStream,
    /// The fork generation it was made in: a loop carried into a forked child gets the
    /// per-call path there (the socket pair is shared with the parent).
    generation: u64,
}

#[cfg(not(unix))]
struct Mailbox;

#[cfg(not(unix))]
impl Mailbox {
    fn post(&self, _done: Done) {}
}

#[cfg(unix)]
impl Mailbox {
    /// Runtime thread: queue a result; wake the loop only when the queue was empty (a wake is
    /// already pending otherwise). No Python here: runtime threads never take the GIL.
    fn post(&self, done: Done) {
        let was_empty = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            let was_empty = q.is_empty();
            q.push(done);
            was_empty
        };
        if was_empty {
            wake(&self.wake);
        }
    }
}

/// One byte to the loop's end of the socket pair. WouldBlock means unread wake-ups are already
/// there.
#[cfg(unix)]
fn wake(s: &UnixStream) {
    let _ = std::io::Write::write(&mut &*s, &[1]);
}

/// Attached to an asyncio loop (as `_ory_iam_completer`): resolves, on the loop thread and in
/// one go, every future whose core work finished since the last wake-up. Compared with
/// completing each future from a runtime thread (`call_soon_threadsafe`), this takes no GIL on
/// runtime threads, creates no thread states, and wakes the loop once per batch.
#[pyclass(module = "ory_iam._ory_iam", frozen)]
pub struct LoopCompleter {
    #[cfg_attr(not(unix), allow(dead_code))]
    mailbox: Arc<Mailbox>,
}

#[pymethods]
impl LoopCompleter {
    /// The loop's reader callback.
    #[cfg(unix)]
    fn _drain(&self, py: Python<'_>) {
        let mut buf = [0u8; 256];
        while matches!((&self.mailbox.wakeups).read(&mut buf), Ok(n) if n == buf.len()) {}
        let ready = std::mem::take(&mut *self.mailbox.queue.lock().unwrap_or_else(|e| e.into_inner()));
        for done in ready {
            resolve(py, done);
        }
    }
}

/// Resolve one future unless it was cancelled meanwhile.
#[cfg_attr(not(unix), allow(dead_code))]
fn resolve(py: Python<'_>, Done { fut, convert }: Done) {
    let fut = fut.bind(py);
    if fut.call_method0(intern!(py, "done")).and_then(|d| d.is_truthy()).unwrap_or(true) {
        return;
    }
    let _ = match converted(py, convert) {
        Ok(v) => fut.call_method1(intern!(py, "set_result"), (v,)),
        Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
    };
}

/// Build a result's Python value; a panic while doing so fails this one future with
/// `IamError` instead of escaping into the loop (which would leave the rest of a batch unresolved).
fn converted<'py>(py: Python<'py>, convert: Convert) -> PyResult<Bound<'py, PyAny>> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| convert(py))) {
        Ok(r) => r,
        Err(payload) => Err(to_pyerr(py, panicked(payload))),
    }
}

/// Without Unix sockets every loop gets the per-call path.
#[cfg(not(unix))]
fn mailbox(_py: Python<'_>, _event_loop: &Bound<'_, PyAny>) -> Option<Arc<Mailbox>> {
    None
}

/// The loop's mailbox, attached on first use. `None` when the loop cannot watch a socket
/// (e.g. Windows' proactor loop) or takes no attributes, and for a loop whose mailbox was made
/// before a fork: those loops get the per-call path.
#[cfg(unix)]
fn mailbox(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> Option<Arc<Mailbox>> {
    use std::os::fd::AsRawFd;
    let name = intern!(py, "_ory_iam_completer");
    if let Ok(c) = event_loop.getattr(name) {
        let generation = ory_iam::runtime::fork_generation();
        return c.cast::<LoopCompleter>().ok().map(|c| c.get().mailbox.clone()).filter(|m| m.generation == generation);
    }
    let loop_type = event_loop.get_type().as_ptr() as usize;
    if NO_ATTRIBUTES.lock().unwrap_or_else(|e| e.into_inner()).contains(&loop_type) {
        return None;
    }
    let attach = || -> PyResult<Option<Arc<Mailbox>>> {
        // First make sure the loop can remember the answer: a loop type without instance
        // attributes would otherwise get a new socket pair and reader on every call.
        if event_loop.setattr(name, py.None()).is_err() {
            NO_ATTRIBUTES.lock().unwrap_or_else(|e| e.into_inner()).insert(loop_type);
            return Ok(None);
        }
        let (wakeups, wake) = UnixStream::pair()?;
        wakeups.set_nonblocking(true)?;
        wake.set_nonblocking(true)?;
        let fd = wakeups.as_raw_fd();
        let generation = ory_iam::runtime::fork_generation();
        let mailbox = Arc::new(Mailbox { queue: Mutex::new(Vec::new()), wake, wakeups, generation });
        let c = Bound::new(py, LoopCompleter { mailbox: mailbox.clone() })?;
        match event_loop.call_method1(intern!(py, "add_reader"), (fd, c.getattr(intern!(py, "_drain"))?)) {
            Ok(_) => {
                event_loop.setattr(name, c)?;
                Ok(Some(mailbox))
            }
            // The attribute stays `None`: this loop has no readers, do not try again per call.
            Err(_) => Ok(None),
        }
    };
    attach().ok().flatten()
}

/// Loop types whose instances take no attributes (so no mailbox can be attached to them).
#[cfg(unix)]
static NO_ATTRIBUTES: Mutex<std::collections::BTreeSet<usize>> = Mutex::new(std::collections::BTreeSet::new());

/// Cancelling the asyncio future aborts the Rust task (its future is dropped).
#[pyclass(module = "ory_iam._ory_iam", frozen)]
struct AbortOnCancel(AbortHandle);

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0(intern!(fut.py(), "cancelled"))?.is_truthy()? {
            self.0.abort();
        }
        Ok(())
    }
}

/// `settled` for a core value known without I/O, converted as `spawn_with` converts results.
pub fn settled_with<'py, T>(
    py: Python<'py>,
    r: ory_iam::Result<T>,
    convert: for<'a> fn(Python<'a>, T) -> PyResult<Bound<'a, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let value = match r {
        Ok(v) => Ok(convert(py, v)?),
        Err(e) => Err(e),
    };
    settled(py, value)
}

/// Start `fut` on the runtime and return an asyncio future bound to the running loop, resolved
/// with the serde form of its value (secrets exposed: they go to their owner, and the package
/// wraps them in `ory_iam.Secret`, whose repr is `***`). The package calls this from inside
/// `async def` wrappers, so a loop is always running; a bare `asyncio.run(iam.identity.get(x))`
/// works because `asyncio.run` drives such a coroutine.
pub fn spawn<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = ory_iam::Result<T>> + Send + 'static,
    T: Serialize + Send + 'static,
{
    spawn_with(
        py,
        async move {
            let v = fut.await?;
            // Off the loop thread: the loop thread only builds Python objects.
            ory_iam::secret::expose_in(|| serde_json::to_value(&v))
                .map_err(|_| ory_iam::Error::internal("cannot convert a result"))
        },
        |py, v| to_py(py, &v),
    )
}

/// `spawn` with a conversion of its own (e.g. straight to a dict, without a `serde_json::Value`
/// in between). `convert` runs on the loop thread.
pub fn spawn_with<'py, F, T>(
    py: Python<'py>,
    fut: F,
    convert: for<'a> fn(Python<'a>, T) -> PyResult<Bound<'a, PyAny>>,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = ory_iam::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    if blocking() {
        return block_on(py, fut, convert);
    }
    let event_loop = running_loop(py)?;
    let py_fut = event_loop.call_method0(intern!(py, "create_future"))?;
    let fut_ref = py_fut.clone().unbind();
    let run = async move {
        // A panic in the core must reach the caller as `IamError`, not kill the task silently
        // (the asyncio future would never complete) nor surface as PanicException.
        let out = match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(r) => r,
            Err(payload) => Err(panicked(payload)),
        };
        let convert: Convert = Box::new(move |py| match out {
            Ok(v) => convert(py, v),
            Err(e) => Err(to_pyerr(py, e)),
        });
        Done { fut: fut_ref, convert }
    };
    let runtime = ory_iam::runtime::binding();
    let task = match mailbox(py, &event_loop) {
        Some(mailbox) => runtime.spawn(async move { mailbox.post(run.await) }),
        None => {
            complete_fn(py)?;
            let loop_ref = event_loop.unbind();
            runtime.spawn(async move {
                let done = run.await;
                with_python(move |py| {
                    let Done { fut, convert } = done;
                    let (ok, value) = match converted(py, convert) {
                        Ok(v) => (true, v),
                        Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
                    };
                    if let Ok(complete) = complete_fn(py) {
                        // A closed loop (the awaiting code is gone) is not an error worth reporting.
                        let _ =
                            loop_ref.bind(py).call_method1("call_soon_threadsafe", (complete, fut.bind(py), ok, value));
                    }
                });
            })
        }
    };
    py_fut.call_method1(intern!(py, "add_done_callback"), (AbortOnCancel(task.abort_handle()),))?;
    Ok(py_fut)
}

// --- the blocking API (`ory_iam.sync`)
//
// `ory_iam.sync` wraps the async wrapper classes: a blocking method drives the async method's
// coroutine to completion in `_blocking_run` without an event loop. While it does, this thread is
// in blocking mode: `spawn_with` waits for the core future here, with the GIL released, and
// hands back an already-completed awaitable instead of an asyncio future, so the coroutine never
// suspends. One description of the surface (the async wrapper), two ways to wait.

thread_local! {
    static BLOCKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How often a blocked caller looks at pending signals (Ctrl-C in a script): a wait is never
/// longer than this past a KeyboardInterrupt.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// An awaitable that is already complete: `await` returns its value (or raises its exception)
/// at once, without an event loop.
#[pyclass(module = "ory_iam._ory_iam", frozen)]
struct Ready {
    ok: bool,
    value: Py<PyAny>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<()> {
        if self.ok {
            Err(pyo3::exceptions::PyStopIteration::new_err((self.value.clone_ref(py),)))
        } else {
            Err(PyErr::from_value(self.value.bind(py).clone()))
        }
    }
}

fn ready<'py>(py: Python<'py>, r: PyResult<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    let (ok, value) = match r {
        Ok(v) => (true, v.unbind()),
        Err(e) => (false, e.into_value(py).into_any()),
    };
    Ok(Bound::new(py, Ready { ok, value })?.into_any())
}

fn blocking() -> bool {
    BLOCKING.with(std::cell::Cell::get)
}

static GET_RUNNING_LOOP_OR_NONE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Drive `awaitable` (a coroutine of the async wrapper, or an async generator's `__anext__()`)
/// to completion on this thread, every core call in it waiting here with the GIL released.
/// Refused in a thread that runs an asyncio loop (the wait would stall every task of that loop)
/// and inside any runtime (an audit callback, on a runtime thread or inside a blocking call: the
/// wait would wait for itself).
#[pyfunction]
pub fn _blocking_run(py: Python<'_>, awaitable: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let get_loop = GET_RUNNING_LOOP_OR_NONE
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("asyncio")?.getattr("_get_running_loop")?.unbind()))?
        .bind(py);
    if !get_loop.call0()?.is_none() {
        let _ = awaitable.call_method0(intern!(py, "close"));
        return Err(to_pyerr(
            py,
            ory_iam::Error::configuration(
                "ory_iam.sync called in a thread that runs an asyncio event loop; use the async API there (await ory_iam.Iam's methods)",
            ),
        ));
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        let _ = awaitable.call_method0(intern!(py, "close"));
        return Err(to_pyerr(
            py,
            ory_iam::Error::configuration(
                "ory_iam.sync called on an ory-iam runtime thread (e.g. from an audit callback); call it from another thread",
            ),
        ));
    }
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            BLOCKING.with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(BLOCKING.with(|b| b.replace(true)));
    match send_none(py, awaitable)? {
        Some(v) => Ok(v),
        None => {
            // Something awaited a real asyncio future: not a call of this library.
            let _ = awaitable.call_method0(intern!(py, "close"));
            Err(to_pyerr(py, ory_iam::Error::internal("a blocking call tried to suspend (this is a bug)")))
        }
    }
}

/// `awaitable.send(None)`, once: its return value without a StopIteration raised and caught
/// (CPython's `PyIter_Send`, stable ABI since 3.10; the package is built for CPython only);
/// `None` when it yielded instead of returning.
fn send_none(py: Python<'_>, awaitable: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
    use pyo3::ffi;
    let mut out: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: valid object pointers; `out` receives a new reference on RETURN and NEXT and is
    // left null on ERROR (with the exception set, fetched below).
    let r = unsafe { ffi::PyIter_Send(awaitable.as_ptr(), py.None().as_ptr(), &mut out) };
    match r {
        ffi::PySendResult::PYGEN_RETURN => Ok(Some(unsafe { Bound::from_owned_ptr(py, out) }.unbind())),
        ffi::PySendResult::PYGEN_NEXT => {
            drop(unsafe { Bound::<PyAny>::from_owned_ptr(py, out) });
            Ok(None)
        }
        ffi::PySendResult::PYGEN_ERROR => Err(PyErr::fetch(py)),
    }
}

/// Whether this thread is where Python handles signals: its main thread (after a `fork()`, the
/// thread that forked, as for Python). Linux tells it without a call into Python: the main
/// thread's id is the process id (an application embedding Python that initialized it on
/// another thread gets signal handlers run after the call, which its timeout bounds). Elsewhere
/// every thread counts as one that may. Asked once per thread and fork generation.
fn handles_signals() -> bool {
    #[cfg(target_os = "linux")]
    {
        thread_local! {
            static MAIN: std::cell::Cell<Option<(u64, bool)>> = const { std::cell::Cell::new(None) };
        }
        let generation = ory_iam::runtime::fork_generation();
        MAIN.with(|m| match m.get() {
            Some((g, main)) if g == generation => main,
            _ => {
                // SAFETY: two system calls without arguments that cannot fail.
                let main = unsafe { libc::gettid() == libc::getpid() };
                m.set(Some((generation, main)));
                main
            }
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// The blocking half of `spawn_with`: run `fut` on this thread's local runtime
/// (`ory_iam::runtime::block_on_local`) with the GIL released (other Python threads run
/// meanwhile), convert here. On the thread that handles signals the wait is cut into slices of
/// `SIGNAL_CHECK`; between them, a pending signal (Ctrl-C) ends the wait and drops the core
/// future.
fn block_on<'py, F, T>(
    py: Python<'py>,
    fut: F,
    convert: for<'a> fn(Python<'a>, T) -> PyResult<Bound<'a, PyAny>>,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = ory_iam::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut fut = std::pin::pin!(AssertUnwindSafe(fut).catch_unwind());
    let out = if handles_signals() {
        loop {
            let slice = py.detach(|| {
                ory_iam::runtime::block_on_local(async { tokio::time::timeout(SIGNAL_CHECK, fut.as_mut()).await })
            });
            match slice {
                Ok(Ok(out)) => break out,
                Ok(Err(payload)) => break Err(panicked(payload)),
                Err(_) => py.check_signals()?,
            }
        }
    } else {
        // No slices, no timer: Python runs signal handlers on the main thread only (elsewhere
        // `check_signals` does nothing), and a worker thread (Django, Flask, a pool) is not it.
        match py.detach(|| ory_iam::runtime::block_on_local(fut.as_mut())) {
            Ok(out) => out,
            Err(payload) => Err(panicked(payload)),
        }
    };
    let value = match out {
        Ok(v) => converted(py, Box::new(move |py| convert(py, v))),
        Err(e) => Err(to_pyerr(py, e)),
    };
    ready(py, value)
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
/// Python. `kind` = `sync` (raises at once), `async` (returns an awaitable that fails) or
/// `convert` (fails while its result is turned into a Python value).
#[cfg(debug_assertions)]
#[pyfunction]
pub fn _debug_panic<'py>(py: Python<'py>, kind: &str) -> PyResult<Bound<'py, PyAny>> {
    match kind {
        "sync" => guard(py, || -> PyResult<Bound<'py, PyAny>> { panic!("deliberate test panic (sync)") }),
        // The panic happens on the loop thread, while a batch of results is being resolved.
        "convert" => spawn_with(py, async { Ok(()) }, |_py, ()| panic!("deliberate test panic (convert)")),
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

//! The tokio runtime the Python and Node bindings run every call on (Rust users bring their own),
//! and the process's fork generation, which lets everything tied to the threads and sockets of
//! one process be rebuilt in a child made by `fork()` (gunicorn `--preload`, multiprocessing's
//! `fork` start method) instead of being used there.
//!
//! After `fork()` only the forking thread exists in the child: a tokio runtime built before it
//! has no worker threads left, and its pooled connections are sockets the parent still uses.
//! Nothing of the old generation is dropped in the child (dropping a runtime would wait for
//! threads that do not exist; closing a connection would deregister the parent's socket from
//! the epoll instance both processes share): it is left alone, and new ones are made lazily.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Number of the bindings' runtime worker threads, read once when the runtime is built.
pub const THREADS_ENV: &str = "ORY_IAM_RUNTIME_THREADS";

/// The bindings' runtime: multi-thread, threads named `ory-iam-runtime`, one worker unless
/// `ORY_IAM_RUNTIME_THREADS` is a positive number. The consumer of every result is one event
/// loop thread (asyncio's, Node's), and a runtime thread does an Ory request's Rust-side work in
/// tens of microseconds, so one keeps up with it; more workers mostly add cross-thread wake-ups
/// (measured per uncached whoami: Python ~15 % more client CPU with two at concurrency 8, Node
/// 4–16 % more with napi's default of one per CPU).
pub fn binding_runtime() -> tokio::runtime::Builder {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all()
        .thread_name("ory-iam-runtime")
        .worker_threads(worker_threads(std::env::var(THREADS_ENV).ok().as_deref()));
    b
}

/// `ORY_IAM_RUNTIME_THREADS`'s value as a worker count: a positive number, else 1.
pub fn worker_threads(value: Option<&str>) -> usize {
    value.and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0).unwrap_or(1)
}

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// How many `fork()`s separate this process from the one that loaded the library: 0 in it, 1 in
/// its children, and so on. State built in one generation (runtimes, connection pools, Redis
/// connections, requests in flight) must not be used in another.
pub fn fork_generation() -> u64 {
    watch_forks();
    GENERATION.load(Ordering::Acquire)
}

#[cfg(unix)]
fn watch_forks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    extern "C" fn in_child() {
        // Async-signal-safe: one atomic add, nothing else.
        GENERATION.fetch_add(1, Ordering::AcqRel);
    }
    ONCE.call_once(|| {
        // SAFETY: registers a handler that only touches a static atomic; no other arguments.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        if rc != 0 {
            tracing::warn!(target: "ory_iam::runtime", "cannot watch for fork(); do not fork after using ory-iam");
        }
    });
}

#[cfg(not(unix))]
fn watch_forks() {}

/// A runtime and the generation it was built in; leaked, never freed (see the module docs).
struct Slot {
    generation: u64,
    runtime: tokio::runtime::Runtime,
}

static RUNTIME: AtomicPtr<Slot> = AtomicPtr::new(std::ptr::null_mut());

/// The bindings' runtime of this process: built on first use, and built again (the old one left
/// as it is) on first use after a `fork()`. One atomic load on the usual path.
pub fn binding() -> &'static tokio::runtime::Runtime {
    let generation = fork_generation();
    loop {
        let cur = RUNTIME.load(Ordering::Acquire);
        // SAFETY: slots are leaked boxes, valid for the rest of the process.
        if let Some(slot) = unsafe { cur.as_ref() } {
            if slot.generation == generation {
                return &slot.runtime;
            }
        }
        let runtime = binding_runtime().build().expect("cannot start the ory-iam runtime (threads)");
        let new = Box::into_raw(Box::new(Slot { generation, runtime }));
        match RUNTIME.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: just published; leaked from here on.
            Ok(_) => return unsafe { &(*new).runtime },
            Err(_) => {
                // Another thread published first: ours was never shared, shut it down.
                // SAFETY: `new` came from `Box::into_raw` above and nobody else saw it.
                let lost = unsafe { Box::from_raw(new) };
                lost.runtime.shutdown_background();
            }
        }
    }
}

// --- local runtimes: the blocking API's calls, run on the calling thread
//
// A blocking call (Python's `ory_iam.sync`) runs its future on a current-thread runtime of the
// calling thread instead of handing it to the shared runtime's thread and waiting: one wake-up
// per I/O instead of two cross-thread hops per call. Such a runtime only makes progress while
// its thread is inside a call, so nothing that outlives the call or is used by other threads may
// be registered on it: HTTP connections are per runtime (`HttpPool::client` hands a call on a
// local runtime a client of its own thread), and shared state (Redis connections and their
// driver tasks, the invalidation subscriber, single flights) goes through [`on_shared`] /
// [`spawn_handle`].

thread_local! {
    /// This thread's local runtime and the fork generation it was built in.
    static LOCAL: std::cell::RefCell<Option<Local>> = const { std::cell::RefCell::new(None) };
    /// Set while this thread runs a future on its local runtime ([`block_on_local`]).
    static ON_LOCAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A local runtime. Freed when its thread exits (tokio shuts a current-thread runtime down
/// without its thread-local context when that is already gone); never in a forked child, where
/// it belongs to the parent (see the module docs): there it is left alone and a new one built.
struct Local {
    generation: u64,
    runtime: std::mem::ManuallyDrop<std::rc::Rc<tokio::runtime::Runtime>>,
}

impl Drop for Local {
    fn drop(&mut self) {
        // SAFETY: taken once, here; never used again.
        let rt = unsafe { std::mem::ManuallyDrop::take(&mut self.runtime) };
        if self.generation != fork_generation() {
            std::mem::forget(rt);
            return;
        }
        // Only the last holder shuts it down; `shutdown_background` does not wait for a
        // blocking task (a DNS lookup) to finish, so a thread's exit is never held up.
        if let Ok(rt) = std::rc::Rc::try_unwrap(rt) {
            rt.shutdown_background();
        }
    }
}

/// This thread's local runtime of this generation, built on first use.
fn local_runtime() -> Option<std::rc::Rc<tokio::runtime::Runtime>> {
    let generation = fork_generation();
    LOCAL
        .try_with(|cell| {
            let mut slot = cell.borrow_mut();
            if let Some(l) = slot.as_ref().filter(|l| l.generation == generation) {
                return Some(std::rc::Rc::clone(&l.runtime));
            }
            if let Some(old) = slot.take() {
                // A parent's (this thread forked): its Drop leaves it alone.
                drop(old);
            }
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            let rt = std::rc::Rc::new(rt);
            *slot = Some(Local { generation, runtime: std::mem::ManuallyDrop::new(rt.clone()) });
            Some(rt)
        })
        .ok()
        .flatten()
}

/// Whether the caller runs on a local runtime (inside [`block_on_local`]).
pub fn is_local() -> bool {
    ON_LOCAL.with(std::cell::Cell::get)
}

/// Run `fut` to completion on this thread's local runtime (built on first use, again after a
/// `fork()`): the blocking API's way to wait. Callers that must stay interruptible run it in
/// slices (`tokio::time::timeout` around a pinned future) and look at signals in between.
/// Panics, as tokio's `block_on` does, when called from inside a runtime. Where no local
/// runtime can be had (the thread is exiting, or the OS refuses the runtime's fds), the future
/// runs on the shared runtime, the calling thread waiting.
pub fn block_on_local<F: std::future::Future>(fut: F) -> F::Output {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ON_LOCAL.with(|l| l.set(false));
        }
    }
    match local_runtime() {
        Some(rt) => {
            ON_LOCAL.with(|l| l.set(true));
            let _reset = Reset;
            rt.block_on(fut)
        }
        None => binding().block_on(fut),
    }
}

/// Aborts a task of the shared runtime when the caller waiting for it goes away.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Run `fut` where state shared between calls and threads lives: on the shared runtime when the
/// caller is on a local runtime (the caller waits; dropping the wait aborts the task), else
/// right here. For work that makes connections or starts tasks other calls use (Redis), or that
/// other callers wait on (a single flight): registered on a local runtime, it would stall
/// whenever that thread is not inside a call, and die with the thread.
pub async fn on_shared<F>(fut: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    if !is_local() {
        return fut.await;
    }
    let mut task = AbortOnDrop(binding().spawn(fut));
    match (&mut task.0).await {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only an abort cancels it, and only this guard aborts (when it is dropped).
        Err(_) => unreachable!("a task of the shared runtime was cancelled while awaited"),
    }
}

/// The runtime to start a background task on (one that outlives the call): the caller's, or
/// the shared one when the caller is on a local runtime; `None` outside any runtime.
pub fn spawn_handle() -> Option<tokio::runtime::Handle> {
    if is_local() {
        return Some(binding().handle().clone());
    }
    tokio::runtime::Handle::try_current().ok()
}

#[cfg(test)]
mod tests {
    use super::worker_threads;

    #[test]
    fn worker_threads_from_the_environment_value() {
        assert_eq!(worker_threads(None), 1);
        assert_eq!(worker_threads(Some("3")), 3);
        assert_eq!(worker_threads(Some(" 2 ")), 2);
        for bad in ["", "0", "-1", "many", "1.5"] {
            assert_eq!(worker_threads(Some(bad)), 1, "{bad:?}");
        }
    }

    #[test]
    fn a_blocking_call_runs_on_the_calling_thread() {
        assert!(!super::is_local());
        let here = std::thread::current().id();
        let (thread, local) = super::block_on_local(async {
            tokio::task::yield_now().await;
            (std::thread::current().id(), super::is_local())
        });
        assert_eq!((thread, local), (here, true));
        assert!(!super::is_local(), "the flag outlived the call");
        // The same runtime serves the thread's next call: a task it started is still there.
        let (tx, rx) = tokio::sync::oneshot::channel();
        super::block_on_local(async move {
            tokio::spawn(async move { tx.send(7).unwrap() });
        });
        assert_eq!(super::block_on_local(rx).unwrap(), 7);
    }

    #[test]
    fn shared_work_leaves_the_local_runtime() {
        let name = || std::thread::current().name().map(str::to_owned);
        // On a local runtime: run by the shared runtime's thread, the caller waiting.
        let there = super::block_on_local(super::on_shared(async move { name() }));
        assert_eq!(there.as_deref(), Some("ory-iam-runtime"));
        // Elsewhere: right here.
        let here = super::binding().block_on(super::on_shared(async move { std::thread::current().id() }));
        assert_eq!(here, std::thread::current().id());
        let h = super::block_on_local(async { super::spawn_handle() }).unwrap();
        assert_eq!(h.id(), super::binding().handle().id());
        // A panic on the shared runtime reaches the caller as a panic (the bindings turn it into
        // their internal error).
        let r = std::panic::catch_unwind(|| super::block_on_local(super::on_shared(async { panic!("deliberate") })));
        assert!(r.is_err());
    }

    #[test]
    fn dropping_a_wait_aborts_the_shared_work() {
        struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Flag(dropped.clone());
        let work = super::on_shared(async move {
            let _flag = flag;
            std::future::pending::<()>().await
        });
        let cut =
            super::block_on_local(async { tokio::time::timeout(std::time::Duration::from_millis(20), work).await });
        assert!(cut.is_err());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !dropped.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(std::time::Instant::now() < deadline, "the shared task outlived its caller");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn one_runtime_per_generation() {
        let a = super::binding() as *const _;
        let b = super::binding() as *const _;
        assert_eq!(a, b);
        assert_eq!(super::binding().block_on(async { 1 + 1 }), 2);
    }
}

/// `Instant::now() + d`, saturating: a duration from config or from a server (`u64::MAX` ms, a
/// session that ends in year 9999) must never panic on overflow; such an instant is simply "never"
/// (a century from now).
pub(crate) fn instant_after(d: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    let now = Instant::now();
    now.checked_add(d.min(CENTURY)).or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600))).unwrap_or(now)
}

#[cfg(test)]
mod saturation {
    use super::*;

    #[test]
    fn instant_after_saturates() {
        // `Instant::now() + Duration::MAX` panics ("overflow when adding duration to instant").
        for d in [Duration::MAX, Duration::from_millis(u64::MAX), Duration::from_secs(i64::MAX as u64)] {
            assert!(instant_after(d) > Instant::now() + Duration::from_secs(50 * 365 * 24 * 3600));
        }
        assert!(instant_after(Duration::ZERO) <= Instant::now());
    }
}

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

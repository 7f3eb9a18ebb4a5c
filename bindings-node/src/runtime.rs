//! The tokio runtime napi runs every promise on.

/// The runtime every promise runs on, set before its first use: one worker thread unless
/// `ORY_IAM_RUNTIME_THREADS` says otherwise (as in the Python binding). The consumer of every
/// result is the one JavaScript thread, and a runtime thread does an Ory request's Rust-side
/// work in tens of microseconds, so one keeps up with it; napi's default (one per CPU) mostly
/// adds cross-thread wake-ups between workers.
#[cfg_attr(test, allow(dead_code))]
pub fn configure() {
    // Once per process: module_init runs again in every worker_threads environment.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(build_runtime);
}

#[cfg_attr(test, allow(dead_code))]
fn build_runtime() {
    let threads = std::env::var("ORY_IAM_RUNTIME_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok());
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all().thread_name("ory-iam-runtime").worker_threads(threads.filter(|&n| n > 0).unwrap_or(1));
    // On failure (no thread could be started) napi builds its default runtime on first use.
    if let Ok(rt) = b.build() {
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}

//! The tokio runtime napi runs every promise on.

/// The runtime every promise runs on, set before its first use:
/// `ory_iam::runtime::binding_runtime()` (one worker thread, `ory-iam-runtime`, unless
/// `ORY_IAM_RUNTIME_THREADS` says otherwise; the same for Python) instead of napi's default of
/// one worker per CPU.
#[cfg_attr(test, allow(dead_code))]
pub fn configure() {
    // Once per process: module_init runs again in every worker_threads environment.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // On failure (no thread could be started) napi builds its default runtime on first use.
        if let Ok(rt) = ory_iam::runtime::binding_runtime().build() {
            napi::bindgen_prelude::create_custom_tokio_runtime(rt);
        }
    });
}

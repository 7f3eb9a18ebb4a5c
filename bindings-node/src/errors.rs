//! Core errors → napi errors. The structured error (code, class, status, tenant, request id,
//! retry-after, fields) travels as JSON behind a marker; the package's `ory-iam.js` turns it
//! into the matching `Error` subclass with `err.code`, so `instanceof` works.

pub const MARKER: &str = "\u{1}ory-iam:";

pub fn to_napi(e: ory_iam::Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("{MARKER}{}", e.to_json()))
}

pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for ory_iam::Result<T> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}

/// Panic messages can quote whatever the code was handling (a token, a trait), and the default
/// hook prints them to stderr: print where the panic happened, never what it said. A cdylib has
/// its own copy of std, so this hook sees panics in ory-iam only, not in other extensions.
#[cfg_attr(test, allow(dead_code))]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("ory-iam: internal error (a panic at {at}; its message is withheld); the caller gets IamError");
    }));
}

#[cfg_attr(test, allow(dead_code))]
#[napi_derive::module_init]
fn init() {
    install_panic_hook();
    crate::runtime::configure();
}

/// A caught panic as the library's internal error (the base `IamError`). The payload is dropped
/// unread: a panic message may quote whatever value the code was handling.
pub fn panicked(payload: Box<dyn std::any::Any + Send>) -> napi::Error {
    drop(payload);
    to_napi(ory_iam::Error::internal("internal error in ory-iam (a panic was caught; this is a bug)"))
}

/// Run synchronous core work so that a panic becomes `IamError`: a panic unwinding out of a sync
/// `#[napi]` function would abort the Node process. (Panics in `async fn`s are contained by
/// napi itself, which rejects the promise; `ory-iam.js` turns that rejection into `IamError`.)
pub fn catch<T>(f: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panicked(p)))
}

/// Test builds only: panic deliberately in a sync function (caught here) to prove no panic
/// crosses into JavaScript.
#[cfg(debug_assertions)]
#[cfg_attr(test, allow(dead_code))] // `#[napi]` items are not compiled into test builds
#[napi_derive::napi(js_name = "_debugPanic")]
pub fn debug_panic(kind: String) -> napi::Result<()> {
    catch(|| panic!("deliberate test panic ({kind})"))
}

/// Test builds only: panic deliberately inside an async function, mid-future, on the runtime.
#[cfg(debug_assertions)]
#[cfg_attr(test, allow(dead_code))]
#[napi_derive::napi(js_name = "_debugPanicAsync")]
pub async fn debug_panic_async(kind: String) -> napi::Result<()> {
    tokio::task::yield_now().await;
    if !kind.is_empty() {
        panic!("deliberate test panic ({kind})");
    }
    Ok(())
}

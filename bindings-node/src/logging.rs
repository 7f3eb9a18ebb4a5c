//! Audit events and `tracing` records of the core → JS callbacks, through threadsafe functions
//! that do not keep the process alive (weak).

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::Value;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// An audit event (already redacted by the core).
#[napi(object)]
pub struct AuditEvent {
    pub name: String,
    pub tenant: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: f64,
    pub request_id: Option<String>,
    pub actor: Option<String>,
    pub target_id: Option<String>,
    /// success | failure | denied
    pub result: String,
    pub attributes: Value,
}

/// A log record of the library (`target` is e.g. `ory_iam::audit`, `ory_iam::cache`).
#[napi(object)]
pub struct LogRecord {
    /// error | warn | info | debug | trace
    pub level: String,
    pub target: String,
    pub message: String,
    pub fields: Value,
}

pub type AuditCallback = ThreadsafeFunction<AuditEvent, (), AuditEvent, napi::Status, false, true>;
type LogCallback = ThreadsafeFunction<LogRecord, (), LogRecord, napi::Status, false, true>;

pub struct JsAuditSink(pub AuditCallback);

impl ory_iam::AuditSink for JsAuditSink {
    fn emit(&self, e: &ory_iam::AuditEvent) {
        let ev = AuditEvent {
            name: e.name.clone(),
            tenant: e.tenant.clone(),
            timestamp: e.timestamp as f64,
            request_id: e.request_id.clone(),
            actor: e.actor.clone(),
            target_id: e.target_id.clone(),
            result: e.result.clone(),
            attributes: Value::Object(e.attributes.clone()),
        };
        self.0.call(ev, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

static LOG: RwLock<Option<Arc<LogCallback>>> = RwLock::new(None);
/// The least severe level handed to the callback (error 1 … trace 5): records below it are not
/// sent to JS at all (the core logs a debug record per Ory operation).
static MAX_LEVEL: AtomicU8 = AtomicU8::new(5);

fn rank(l: &tracing::Level) -> u8 {
    match *l {
        tracing::Level::ERROR => 1,
        tracing::Level::WARN => 2,
        tracing::Level::INFO => 3,
        tracing::Level::DEBUG => 4,
        _ => 5,
    }
}

struct ToJs;

impl<S: Subscriber> Layer<S> for ToJs {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        ory_iam::audit::bridge_interest(meta)
    }

    /// A record below the callback's level is not even built.
    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        ory_iam::audit::bridged(meta) && rank(meta.level()) <= MAX_LEVEL.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with("ory_iam") || rank(meta.level()) > MAX_LEVEL.load(Ordering::Relaxed) {
            return;
        }
        let Some(cb) = LOG.read().ok().and_then(|g| g.clone()) else { return };
        let (message, fields) = ory_iam::audit::log_record(event);
        cb.call(
            LogRecord {
                level: meta.level().as_str().to_ascii_lowercase(),
                target: meta.target().to_owned(),
                message,
                fields: Value::Object(fields),
            },
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }
}

/// Receive the library's log records (audit events with `audit.sink: "log"` — failures and
/// denials at `warn` —, cache warnings, a `debug` record per Ory operation) at `level` and more
/// severe ones (default `trace`: all). Pass `null` to stop. `ory-iam` installs a console logger
/// at `info` when it loads (`setLogger` replaces it).
#[napi(
    ts_args_type = "callback: ((record: LogRecord) => void) | null, level?: 'error' | 'warn' | 'info' | 'debug' | 'trace'"
)]
pub fn set_log_callback(callback: Option<LogCallback>, level: Option<String>) -> napi::Result<()> {
    let max = match level.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("trace") => 5,
        Some("debug") => 4,
        Some("info") => 3,
        Some("warn") => 2,
        Some("error") => 1,
        Some(_) => {
            return Err(napi::Error::new(
                napi::Status::InvalidArg,
                "level must be one of error, warn, info, debug, trace",
            ))
        }
    };
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = tracing_subscriber::registry().with(ToJs).try_init();
    });
    MAX_LEVEL.store(max, Ordering::Relaxed);
    if let Ok(mut g) = LOG.write() {
        *g = callback.map(Arc::new);
    }
    Ok(())
}

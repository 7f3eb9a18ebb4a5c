//! `tracing` events of the core (audit events with `sink: log`, cache warnings) → Python's
//! `logging`, under the logger named after the target (`ory_iam.audit`, `ory_iam.cache`).
//! Each record gets the event's fields as `extra={"ory_iam": {...}}`. An audit event whose result
//! is `failure` or `denied` is logged at WARNING, other audit events at INFO.

use crate::convert::to_py;
use crate::runtime::with_python;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

struct ToPythonLogging;

/// Whether a Python logger is enabled for a level, remembered for a second: the core emits a
/// DEBUG `ory_iam.op` record per Ory request, and asking Python each time would take the GIL on
/// every request of an application that does not log them. Looked up without allocating (by
/// level, then by the logger's name as a `&str`).
fn enabled_cached(logger: &str, lvl: i32) -> Option<bool> {
    let map = ENABLED.get_or_init(Default::default).lock().ok()?;
    map.get(&lvl)?.get(logger).filter(|(_, at)| at.elapsed() < Duration::from_secs(1)).map(|(on, _)| *on)
}

fn remember_enabled(logger: &str, lvl: i32, on: bool) {
    if let Ok(mut m) = ENABLED.get_or_init(Default::default).lock() {
        m.entry(lvl).or_default().insert(logger.to_owned(), (on, Instant::now()));
    }
}

/// The Python logger a target logs to (`ory_iam::cache` → `ory_iam.cache`).
fn logger_name(target: &str) -> std::borrow::Cow<'_, str> {
    if target.contains("::") {
        target.replace("::", ".").into()
    } else {
        target.into()
    }
}

type EnabledMap = Mutex<HashMap<i32, HashMap<String, (bool, Instant)>>>;
static ENABLED: OnceLock<EnabledMap> = OnceLock::new();

fn level(l: &Level) -> i32 {
    match *l {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        _ => 10,
    }
}

impl<S: Subscriber> Layer<S> for ToPythonLogging {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        ory_iam::audit::bridge_interest(meta)
    }

    /// A record Python is known (within the last second) not to want is not even built.
    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        ory_iam::audit::bridged(meta) && enabled_cached(&logger_name(meta.target()), level(meta.level())) != Some(false)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with("ory_iam") {
            return;
        }
        let logger_name = logger_name(meta.target());
        let lvl = level(meta.level());
        if enabled_cached(&logger_name, lvl) == Some(false) {
            return;
        }
        // Audit failures and denials already come at WARN (`ory_iam::audit::LogSink`).
        let (message, fields) = ory_iam::audit::log_record(event);
        with_python(|py| {
            let run = || -> PyResult<()> {
                let logger = py.import("logging")?.call_method1("getLogger", (&*logger_name,))?;
                let on = logger.call_method1("isEnabledFor", (lvl,))?.is_truthy()?;
                if lvl < 20 {
                    // Only DEBUG answers are remembered: audit and warnings always ask Python.
                    remember_enabled(&logger_name, lvl, on);
                }
                if !on {
                    return Ok(());
                }
                let extra = PyDict::new(py);
                extra.set_item("ory_iam", to_py(py, &Value::Object(fields))?)?;
                let kwargs = PyDict::new(py);
                kwargs.set_item("extra", extra)?;
                logger.call_method("log", (lvl, message), Some(&kwargs))?;
                Ok(())
            };
            if let Err(e) = run() {
                e.write_unraisable(py, None);
            }
        });
    }
}

/// Install the bridge once per process (a no-op if the application set its own subscriber).
pub fn install() {
    let _ = tracing_subscriber::registry().with(ToPythonLogging).try_init();
}

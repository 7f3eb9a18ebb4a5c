//! `tracing` events of the core (audit events with `sink: log`, cache warnings) → Python's
//! `logging`, under the logger named after the target (`ory_iam.audit`, `ory_iam.cache`).
//! Each record gets the event's fields as `extra={"ory_iam": {...}}`.

use crate::convert::to_py;
use crate::runtime::with_python;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().to_owned(), Value::String(v.to_owned()));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.insert(f.name().to_owned(), Value::Bool(v));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.0.insert(f.name().to_owned(), v.into());
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.insert(f.name().to_owned(), v.into());
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.insert(f.name().to_owned(), Value::String(format!("{v:?}")));
    }
}

struct ToPythonLogging;

fn level(l: &Level) -> i32 {
    match *l {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        _ => 10,
    }
}

impl<S: Subscriber> Layer<S> for ToPythonLogging {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with("ory_iam") {
            return;
        }
        let mut f = Fields(Map::new());
        event.record(&mut f);
        // An audit event is logged as its JSON (already redacted by the core).
        if let Some(Value::String(json)) = f.0.remove("event") {
            if let Ok(v) = serde_json::from_str::<Value>(&json) {
                f.0.insert("event".into(), v);
            }
        }
        let message = f.0.remove("message").and_then(|m| m.as_str().map(str::to_owned)).unwrap_or_else(|| {
            f.0.get("name").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| meta.target().to_owned())
        });
        let logger_name = meta.target().replace("::", ".");
        let lvl = level(meta.level());
        with_python(|py| {
            let run = || -> PyResult<()> {
                let logger = py.import("logging")?.call_method1("getLogger", (logger_name,))?;
                if !logger.call_method1("isEnabledFor", (lvl,))?.is_truthy()? {
                    return Ok(());
                }
                let extra = PyDict::new(py);
                extra.set_item("ory_iam", to_py(py, &Value::Object(f.0))?)?;
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

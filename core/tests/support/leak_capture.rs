//! Leak scan of the Rust suite (issue 8): a tracing subscriber that captures every event the
//! core logs during the tests (any level, any target) and scans it for the secrets the tests
//! use — keys and tokens from `.stack/stack.json`, session tokens, cookies, logout tokens, Ory
//! API keys, the test password and test emails (by shape) and any value passed to
//! [`register_secret`]. Per test binary it keeps `.stack/reliability/leaks.rust/<binary>.json`
//! up to date and folds all binaries into the `rust` section of `.stack/reliability/leaks.json`.
//! Installed by `common::stack()`, so every integration test that talks to the stack is covered.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

const PATTERNS: &[&str] =
    &["ory_st_", "ory_lo_", "ory_pat_", "ory_wak_", "a-Long-and-unique-passphrase-42", "@example.test"];
const SECRET_KEYS: &[&str] = &["token", "secret", "api_key", "apikey", "password", "signer_keys"];

#[derive(Default)]
struct State {
    secrets: BTreeSet<String>,
    events: u64,
    leaks: Vec<String>,
    written: Option<Instant>,
    probe_detected: bool,
}

fn state() -> &'static Mutex<State> {
    static S: OnceLock<Mutex<State>> = OnceLock::new();
    S.get_or_init(Default::default)
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.stack/reliability")
}

/// A value the core must never log (an email, a password, a token a test obtained).
pub fn register_secret(v: &str) {
    if v.len() >= 6 {
        state().lock().unwrap().secrets.insert(v.to_owned());
    }
}

fn register_config(v: &Value, key: &str) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| register_config(x, k)),
        Value::Array(a) => a.iter().for_each(|x| register_config(x, key)),
        Value::String(s) if SECRET_KEYS.iter().any(|k| key.to_ascii_lowercase().contains(k)) => register_secret(s),
        _ => {}
    }
}

/// What in `text` is a leak: a pattern (a token shape whose value part is not masked) or a
/// registered secret.
pub fn hits(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in PATTERNS {
        for (i, _) in text.match_indices(p) {
            let leak = if p.starts_with('@') {
                // An address, not the bare domain.
                text[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || "._+-".contains(c))
            } else {
                // `ory_st_***` is the redacted form; a value follows the prefix in a leak.
                text[i + p.len()..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            };
            if leak {
                out.push(format!("pattern {p}"));
            }
        }
    }
    let st = state().lock().unwrap();
    out.extend(st.secrets.iter().filter(|s| text.contains(s.as_str())).map(|_| "a registered secret".to_owned()));
    out
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

struct Capture;

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields(event.metadata().target().to_owned());
        event.record(&mut f);
        record(&f.0);
    }
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, _id: &tracing::span::Id, _ctx: Context<'_, S>) {
        let mut f = Fields(attrs.metadata().name().to_owned());
        attrs.record(&mut f);
        record(&f.0);
    }
}

fn record(text: &str) {
    let found = hits(text);
    let mut st = state().lock().unwrap();
    st.events += 1;
    let leaked = !found.is_empty();
    st.leaks.extend(found);
    // Rewriting the summary is cheap but not free: at most every 100 ms, and at once on a leak.
    if leaked || st.written.is_none_or(|t| t.elapsed() > Duration::from_millis(100)) {
        st.written = Some(Instant::now());
        write_summary(&st);
    }
}

fn binary() -> String {
    let exe = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    let name = exe.unwrap_or_else(|| "rust".into());
    // Cargo names test binaries `<file>-<hash>`.
    name.rsplit_once('-').map(|(a, _)| a.to_owned()).unwrap_or(name)
}

fn write_summary(st: &State) {
    let per = dir().join("leaks.rust");
    if std::fs::create_dir_all(&per).is_err() {
        return;
    }
    let mine = json!({"events": st.events, "leaks": st.leaks.len(), "examples": st.leaks.iter().take(20).collect::<Vec<_>>(), "secrets": st.secrets.len(), "probe_detected": st.probe_detected});
    let _ = std::fs::write(per.join(format!("{}.json", binary())), mine.to_string());
    let (mut events, mut leaks, mut binaries, mut probe) = (0u64, 0u64, 0u64, false);
    for e in std::fs::read_dir(&per).into_iter().flatten().flatten() {
        if let Ok(v) = std::fs::read_to_string(e.path()).map(|t| serde_json::from_str::<Value>(&t).unwrap_or_default())
        {
            events += v["events"].as_u64().unwrap_or(0);
            leaks += v["leaks"].as_u64().unwrap_or(0);
            binaries += 1;
            probe |= v["probe_detected"].as_bool().unwrap_or(false);
        }
    }
    let out = dir().join("leaks.json");
    let mut doc: Value =
        std::fs::read_to_string(&out).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(json!({}));
    doc["rust"] = json!({"sources": {"logs": {"scanned": events, "leaks": leaks}}, "binaries": binaries, "leaks": leaks, "probe_detected": probe});
    let tmp = dir().join(format!("leaks.json.{}", std::process::id()));
    if std::fs::write(&tmp, serde_json::to_string_pretty(&doc).unwrap_or_default()).is_ok() {
        let _ = std::fs::rename(&tmp, &out);
    }
}

/// Install the capture as the process's global subscriber (once), with the stack's secrets.
pub fn install(stack: &Value) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        register_secret("a-Long-and-unique-passphrase-42");
        register_secret("ory_pat_ory_iam_test_project_key");
        register_config(stack, "");
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture));
    });
}

/// Events captured and leaks found so far in this process.
pub fn counts() -> (u64, usize) {
    let st = state().lock().unwrap();
    (st.events, st.leaks.len())
}

/// After a deliberate plant was detected: forget its hits and record that the scan works.
pub fn forget_probe(found_before: usize) {
    let mut st = state().lock().unwrap();
    st.leaks.truncate(found_before);
    st.probe_detected = true;
    write_summary(&st);
}

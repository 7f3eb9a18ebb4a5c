//! The config reference, `docs/config.md`, names every key the config reader accepts: a key
//! added to `core/src/config.rs` without a row in the reference fails here, and so does a row
//! for a key the reader no longer accepts. Needs no servers.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn reference() -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/config.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    (path, text)
}

/// Every inline code span (`…`) of the document, outside fenced code blocks.
fn code_spans(doc: &str) -> BTreeSet<String> {
    let mut spans = BTreeSet::new();
    let mut fenced = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Between the 1st and 2nd backtick, the 3rd and 4th, …
        spans.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    spans
}

#[test]
fn every_accepted_config_key_is_in_the_reference() {
    let (path, doc) = reference();
    let documented = code_spans(&doc);
    let keys = ory_iam::config::accepted_keys();
    assert!(keys.len() > 40, "accepted_keys() found only {} keys: {keys:?}", keys.len());
    let missing: Vec<&str> = keys.iter().map(String::as_str).filter(|k| !documented.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} lacks {} config key(s) that core/src/config.rs accepts; add a table row for each, \
         written as a full dotted path in backticks (e.g. `tenants.<name>.http.timeout_ms`):\n  {}",
        path.display(),
        missing.len(),
        missing.join("\n  ")
    );
}

#[test]
fn every_key_in_the_reference_is_accepted() {
    let (path, doc) = reference();
    let keys: BTreeSet<String> = ory_iam::config::accepted_keys().into_iter().collect();
    // Spans written like a key path of the reference (not values, examples or env variables).
    let looks_like_key = |s: &str| {
        ["tenants.<name>.", "session_cache.", "audit."].iter().any(|p| s.starts_with(p))
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.<>".contains(&b))
    };
    let unknown: Vec<String> =
        code_spans(&doc).into_iter().filter(|s| looks_like_key(s) && !keys.contains(s)).collect();
    assert!(
        unknown.is_empty(),
        "{} documents key(s) that core/src/config.rs does not accept:\n  {}",
        path.display(),
        unknown.join("\n  ")
    );
}

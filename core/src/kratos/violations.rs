//! Which fields Kratos rejected: its admin API answers a schema violation with a 400 whose
//! `error.reason` lists one `I[<instance pointer>] S[<schema pointer>] <message>` line per
//! violation (the JSON Schema validator's output). Read into `FieldError`s with the pointer and
//! a message that never carries the submitted value: Kratos's messages quote it
//! (`"x" is not valid "email"`), so every quoted part is masked except schema words (format names,
//! property names the schema itself reports for `required` / `additionalProperties`).

use crate::error::FieldError;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

static LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*I\[#(?P<i>[^\]]*)\] S\[#(?P<s>[^\]]*)\] (?P<m>.*)$").expect("static regex"));
/// A double-quoted part of a message, with Go's `%q` escapes.
static QUOTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""(?:[^"\\]|\\.)*""#).expect("static regex"));

/// JSON Schema `format` names: words of the schema, not of the submitted document.
const FORMATS: &[&str] = &[
    "email",
    "idn-email",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "date",
    "time",
    "date-time",
    "duration",
    "uuid",
    "regex",
    "json-pointer",
    "relative-json-pointer",
    "tel",
    "uri-template",
];

/// The rejected fields of a Kratos 400 body; empty when it names none.
pub(crate) fn schema_violations(body: &[u8]) -> Vec<FieldError> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return Vec::new() };
    let Some(reason) = v.pointer("/error/reason").and_then(Value::as_str) else { return Vec::new() };
    let mut out: Vec<FieldError> = Vec::new();
    for line in reason.lines() {
        let Some(c) = LINE.captures(line) else { continue };
        let (instance, schema, msg) = (&c["i"], &c["s"], &c["m"]);
        if msg == "validation failed" {
            continue; // a parent of the violations listed below it
        }
        let keyword = schema.rsplit('/').next().unwrap_or("");
        match keyword {
            // Property names quoted here come from the schema (`required`) or are keys, not values.
            "required" | "additionalProperties" => {
                let reason = if keyword == "required" { "is required" } else { "is not allowed" };
                for q in QUOTED.find_iter(msg) {
                    let name = unquote(q.as_str());
                    push(&mut out, format!("{instance}/{}", escape(&name)), reason.to_owned());
                }
            }
            _ => push(&mut out, instance.to_owned(), mask(msg)),
        }
    }
    out
}

fn push(out: &mut Vec<FieldError>, pointer: String, reason: String) {
    if out.iter().any(|f| f.pointer.as_deref() == Some(pointer.as_str()) && f.reason == reason) {
        return; // Kratos repeats a violation once per schema branch
    }
    let path = pointer.trim_start_matches('/').split('/').map(unescape).collect::<Vec<_>>().join(".");
    out.push(FieldError { path, reason, pointer: Some(pointer), message_id: None });
}

/// Every quoted part that is not a format name becomes `"***"`.
fn mask(msg: &str) -> String {
    QUOTED
        .replace_all(msg, |c: &regex::Captures<'_>| {
            let q = c.get(0).map(|m| m.as_str()).unwrap_or("");
            if FORMATS.contains(&unquote(q).as_str()) {
                q.to_owned()
            } else {
                "\"***\"".to_owned()
            }
        })
        .into_owned()
}

fn unquote(q: &str) -> String {
    serde_json::from_str::<String>(q).unwrap_or_else(|_| q.trim_matches('"').to_owned())
}

/// RFC 6901 escaping of one reference token.
fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn unescape(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pointers_and_masks_values() {
        let body = serde_json::json!({"error": {"code": 400, "reason": "I[#/traits] S[#/properties/traits] validation failed\n  I[#/traits/email] S[#/properties/traits/properties/email] validation failed\n    I[#/traits/email] S[#/properties/traits/properties/email/format] \"SECRET-VALUE\" is not valid \"email\"\n    I[#/traits/email] S[#/properties/traits/properties/email/format] \"SECRET-VALUE\" is not valid \"email\"\n  I[#/traits/name/first] S[#/properties/traits/properties/name/properties/first/type] expected string, but got number\n  I[#/traits] S[#/properties/traits/additionalProperties] additionalProperties \"zzz\" not allowed\n  I[#/traits] S[#/properties/traits/required] missing properties: \"email\", \"a/b\""}});
        let f = schema_violations(body.to_string().as_bytes());
        let got: Vec<(&str, &str, &str)> =
            f.iter().map(|f| (f.path.as_str(), f.pointer.as_deref().unwrap(), f.reason.as_str())).collect();
        assert_eq!(
            got,
            [
                ("traits.email", "/traits/email", "\"***\" is not valid \"email\""),
                ("traits.name.first", "/traits/name/first", "expected string, but got number"),
                ("traits.zzz", "/traits/zzz", "is not allowed"),
                ("traits.email", "/traits/email", "is required"),
                ("traits.a/b", "/traits/a~1b", "is required"),
            ]
        );
        assert!(!format!("{f:?}").contains("SECRET"));
        assert!(schema_violations(b"{\"error\":{\"reason\":\"free text\"}}").is_empty());
        assert!(schema_violations(b"not json").is_empty());
    }
}

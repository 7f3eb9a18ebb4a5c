//! Identity schemas in the fake Kratos: traits are validated with the `jsonschema` crate and a
//! violation is answered as Kratos v1.3.1's admin API answers it — `400` whose `error.reason`
//! lists one `I[#<instance>] S[#<schema>] <message>` line per violated keyword, with the Go
//! validator's message for the keyword (what the core reads into `IamValidationError.fields`).

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The schema [`FakeOry`](super::FakeOry) uses when it is given none: an `email` trait (required,
/// `format: email`, the password identifier, verification and recovery address), an optional
/// `name` (`first`, `last`) and `roles` (a list of strings); no other trait. The same schema as
/// the project's test stack's `customer` schema.
pub const DEFAULT_IDENTITY_SCHEMA: &str = include_str!("default.identity.schema.json");

pub(crate) struct IdentitySchema {
    /// The document as configured (what `GET /schemas/{id}` serves).
    pub raw: Value,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for IdentitySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentitySchema")
    }
}

impl IdentitySchema {
    /// A schema as Kratos loads it (draft 7 unless `$schema` says otherwise), formats asserted.
    pub(crate) fn compile(schema: &Value) -> Result<IdentitySchema, String> {
        if !schema.is_object() {
            return Err("must be a JSON Schema object".into());
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| format!("is not a valid JSON Schema: {e}"))?;
        Ok(IdentitySchema { raw: schema.clone(), validator })
    }

    /// The violations as self-service flows report them on their form nodes: `(node name,
    /// Kratos message id, text)` — a missing property is `4000002` on its own node, anything
    /// else `4000001` with the validator's message.
    pub(crate) fn node_messages(&self, traits: &Value) -> Vec<(String, u64, String)> {
        let doc = json!({ "traits": traits });
        let mut out = Vec::new();
        for e in self.validator.iter_errors(&doc) {
            let node = e.instance_path().as_str().trim_start_matches('/').replace('/', ".");
            match e.kind() {
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    out.push((format!("{node}.{name}"), 4000002, format!("Property {name} is missing.")));
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let names: Vec<String> = unexpected.iter().map(|n| quote(n)).collect();
                    out.push((node, 4000001, format!("additionalProperties {} not allowed", names.join(", "))));
                }
                kind => out.push((node, 4000001, message(kind, e.instance()))),
            }
        }
        out
    }

    /// `None` when `traits` is valid, else Kratos's `error.reason` text.
    pub(crate) fn violations(&self, traits: &Value) -> Option<String> {
        let doc = json!({ "traits": traits });
        // Sorted like the Go validator walks an object: `required`, then each property's own
        // violations (by name), then `additionalProperties`.
        let mut lines: BTreeMap<Vec<(u8, String)>, Vec<String>> = BTreeMap::new();
        let mut required: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for e in self.validator.iter_errors(&doc) {
            let instance = e.instance_path().as_str().to_owned();
            let schema = e.schema_path().as_str().to_owned();
            let segs: Vec<(u8, String)> = instance.split('/').skip(1).map(|s| (1, s.to_owned())).collect::<Vec<_>>();
            let (rank, msg) = match e.kind() {
                ValidationErrorKind::Required { property } => {
                    required
                        .entry((instance.clone(), schema.clone()))
                        .or_default()
                        .push(quote(property.as_str().unwrap_or_default()));
                    continue;
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let names: Vec<String> = unexpected.iter().map(|n| quote(n)).collect();
                    (2, format!("additionalProperties {} not allowed", names.join(", ")))
                }
                kind => (0, message(kind, e.instance())),
            };
            let mut key = segs;
            key.push((rank, String::new()));
            lines.entry(key).or_default().push(format!("I[#{instance}] S[#{schema}] {msg}"));
        }
        for ((instance, schema), names) in required {
            let mut key: Vec<(u8, String)> = instance.split('/').skip(1).map(|s| (1, s.to_owned())).collect();
            key.push((0, String::new()));
            let line = format!("I[#{instance}] S[#{schema}] missing properties: {}", names.join(", "));
            lines.entry(key).or_default().insert(0, line);
        }
        if lines.is_empty() {
            return None;
        }
        Some(lines.into_values().flatten().collect::<Vec<_>>().join("\n"))
    }
}

/// Go's `%q` of a string (JSON string quoting agrees for what identity schemas hold).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The JSON type name the Go validator reports for a value (integers are `number`).
fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    }
}

/// The message of the Go JSON Schema validator Kratos uses, for one violated keyword.
fn message(kind: &ValidationErrorKind, instance: &Value) -> String {
    match kind {
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
            };
            format!("expected {expected}, but got {}", type_of(instance))
        }
        ValidationErrorKind::Format { format } => {
            format!("{} is not valid {}", quote(instance.as_str().unwrap_or_default()), quote(format))
        }
        ValidationErrorKind::MinLength { limit } => format!("length must be >= {limit}, but got {}", len(instance)),
        ValidationErrorKind::MaxLength { limit } => format!("length must be <= {limit}, but got {}", len(instance)),
        ValidationErrorKind::Pattern { pattern } => format!("does not match pattern {}", quote(pattern)),
        ValidationErrorKind::Minimum { limit } => format!("must be >= {limit} but found {instance}"),
        ValidationErrorKind::Maximum { limit } => format!("must be <= {limit} but found {instance}"),
        ValidationErrorKind::ExclusiveMinimum { limit } => format!("must be > {limit} but found {instance}"),
        ValidationErrorKind::ExclusiveMaximum { limit } => format!("must be < {limit} but found {instance}"),
        ValidationErrorKind::MinItems { limit } => {
            format!("minimum {limit} items allowed, but found {} items", len(instance))
        }
        ValidationErrorKind::MaxItems { limit } => {
            format!("maximum {limit} items allowed, but found {} items", len(instance))
        }
        ValidationErrorKind::MinProperties { limit } => {
            format!("minimum {limit} properties allowed, but found {} properties", len(instance))
        }
        ValidationErrorKind::MaxProperties { limit } => {
            format!("maximum {limit} properties allowed, but found {} properties", len(instance))
        }
        ValidationErrorKind::Enum { options } => format!("value must be one of {options}"),
        ValidationErrorKind::Constant { .. } => "const failed".to_owned(),
        ValidationErrorKind::UniqueItems => "items must be unique".to_owned(),
        other => format!("{} failed", other.keyword()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_schema() -> IdentitySchema {
        IdentitySchema::compile(&serde_json::from_str(DEFAULT_IDENTITY_SCHEMA).unwrap()).unwrap()
    }

    /// The lines Kratos v1.3.1 gives for the same traits (its parent `validation failed` lines and
    /// its repeated format line aside, which the core skips).
    #[test]
    fn kratos_lines() {
        let s = default_schema();
        assert_eq!(s.violations(&json!({"email": "ada@example.com", "name": {"first": "Ada"}})), None);
        assert_eq!(
            s.violations(&json!({"email": "not-an-email"})).unwrap(),
            "I[#/traits/email] S[#/properties/traits/properties/email/format] \"not-an-email\" is not valid \"email\""
        );
        assert_eq!(
            s.violations(&json!({"name": 1})).unwrap(),
            "I[#/traits] S[#/properties/traits/required] missing properties: \"email\"\n\
             I[#/traits/name] S[#/properties/traits/properties/name/type] expected object, but got number"
        );
        assert_eq!(
            s.violations(&json!({"email": "x@b.co", "name": {"first": 3, "x": 1}, "roles": "a"})).unwrap(),
            "I[#/traits/name/first] S[#/properties/traits/properties/name/properties/first/type] expected string, but got number\n\
             I[#/traits/name] S[#/properties/traits/properties/name/additionalProperties] additionalProperties \"x\" not allowed\n\
             I[#/traits/roles] S[#/properties/traits/properties/roles/type] expected array, but got string"
        );
        assert_eq!(
            s.violations(&json!({"email": "x@b.co", "a": 1, "b": 2, "name": []})).unwrap(),
            "I[#/traits/name] S[#/properties/traits/properties/name/type] expected object, but got array\n\
             I[#/traits] S[#/properties/traits/additionalProperties] additionalProperties \"a\", \"b\" not allowed"
        );
        assert_eq!(
            s.violations(&Value::Null).unwrap(),
            "I[#/traits] S[#/properties/traits/type] expected object, but got null"
        );
    }
}

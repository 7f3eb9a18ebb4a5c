//! The shared HTTP answer scenarios (tests/scenarios/http_answers.json), run against the core's
//! `ory_iam::answer`; tests/python/test_http_answers.py and tests/node/http-answers.test.js run
//! the same file through the bindings. No stack needed.

use ory_iam::answer::{self, AnswerContext, ErrorFacts};
use ory_iam::{FieldError, Transport};
use serde_json::{json, Map, Value};

fn scenarios() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/http_answers.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read the scenario file")).expect("valid JSON")
}

fn secs(v: &Value, key: &str) -> Option<std::time::Duration> {
    v.get(key).map(|s| s.as_f64().expect("seconds are numbers")).and_then(answer::wait_from_secs)
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).map(|s| s.as_str().expect("a string").to_owned())
}

fn facts(v: &Value) -> ErrorFacts {
    ErrorFacts {
        request_id: string(v, "request_id"),
        retry_after: secs(v, "retry_after"),
        fields: v
            .get("fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|f| FieldError {
                        path: f["path"].as_str().unwrap().to_owned(),
                        reason: f["reason"].as_str().unwrap().to_owned(),
                        ..Default::default()
                    })
                    .collect()
            })
            .unwrap_or_default(),
        tenant: string(v, "tenant"),
        ..ErrorFacts::from_code(v["code"].as_str().expect("a code"))
    }
}

fn context(v: &Value) -> AnswerContext {
    AnswerContext {
        transport: string(v, "transport").map(|t| Transport::parse(&t).expect("a transport")).unwrap_or_default(),
        realm: string(v, "realm"),
        bearer_presented: v.get("bearer_presented").and_then(Value::as_bool).unwrap_or(false),
        required_scopes: v
            .get("required_scopes")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default(),
        retry_after_fallback: secs(v, "retry_after_fallback"),
    }
}

#[test]
fn shared_http_answer_scenarios() {
    let sc = scenarios();
    let cases = sc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30, "the scenario file lost cases");
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let a = answer::http_answer(&facts(&c["facts"]), &context(&c["context"]));
        let headers: Map<String, Value> = a.headers.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        assert_eq!(json!(a.status), c["status"], "{name}: status");
        assert_eq!(Value::Object(headers), c["headers"], "{name}: headers");
        assert_eq!(a.body_json(), c["body"], "{name}: body");
    }
}

#[test]
fn scenarios_cover_every_code_and_transport() {
    let sc = scenarios();
    let cases = sc["cases"].as_array().unwrap();
    for kind in ory_iam::ErrorKind::ALL {
        assert!(cases.iter().any(|c| c["facts"]["code"] == kind.code()), "no case for {}", kind.code());
    }
    for t in ["cookie", "bearer", "cookie-or-bearer", "oathkeeper"] {
        for presented in [false, true] {
            assert!(
                cases.iter().any(|c| c["context"]["transport"] == t
                    && c["context"]["bearer_presented"].as_bool().unwrap_or(false) == presented
                    && c["facts"]["code"] == "unauthorized"),
                "no 401 case for {t} (bearer presented: {presented})"
            );
        }
    }
}

/// The default roles rule (tests/scenarios/roles.json, also run by Python and Node): metadata
/// first, else traits.
#[test]
fn roles_scenarios() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/roles.json");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read the scenario file")).expect("valid JSON");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 8);
    for c in cases {
        let opt = |v: &Value| if v.is_null() { None } else { Some(v.clone()) };
        let (m, t) = (opt(&c["metadata_public"]), opt(&c["traits"]));
        let want: Vec<String> = serde_json::from_value(c["roles"].clone()).expect("roles");
        assert_eq!(ory_iam::answer::roles_of_identity(m.as_ref(), t.as_ref()), want, "{}", c["name"]);
    }
}

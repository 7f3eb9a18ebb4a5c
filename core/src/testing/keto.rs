//! Keto relation tuples in memory: check (following subject sets), list, expand, write.

use super::{FakeRequest, FakeResponse, TenantState};
use http::Method;
use serde_json::{json, Value};

const DEFAULT_DEPTH: u32 = 5;
const DEFAULT_PAGE: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Subject {
    Id(String),
    Set(String, String, String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Tuple {
    pub namespace: String,
    pub object: String,
    pub relation: String,
    pub subject: Subject,
}

impl Tuple {
    fn to_json(&self) -> Value {
        let mut v = json!({"namespace": self.namespace, "object": self.object, "relation": self.relation});
        match &self.subject {
            Subject::Id(id) => v["subject_id"] = json!(id),
            Subject::Set(n, o, r) => v["subject_set"] = json!({"namespace": n, "object": o, "relation": r}),
        }
        v
    }
}

/// A (possibly partial) query: from URL parameters or a JSON body.
#[derive(Default)]
struct Query {
    namespace: Option<String>,
    object: Option<String>,
    relation: Option<String>,
    subject: Option<Subject>,
}

impl Query {
    fn from_params(get: impl Fn(&str) -> Option<String>) -> Result<Query, FakeResponse> {
        let subject = match (
            get("subject_id"),
            get("subject_set.namespace"),
            get("subject_set.object"),
            get("subject_set.relation"),
        ) {
            (Some(id), None, None, None) => Some(Subject::Id(id)),
            (None, Some(n), Some(o), Some(r)) => Some(Subject::Set(n, o, r)),
            (None, None, None, None) => None,
            _ => {
                return Err(FakeResponse::error(
                    400,
                    "give either subject_id or all of subject_set.{namespace,object,relation}",
                ))
            }
        };
        Ok(Query { namespace: get("namespace"), object: get("object"), relation: get("relation"), subject })
    }

    fn from_json(v: &Value) -> Result<Query, FakeResponse> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let set = v.get("subject_set");
        let ss = |k: &str| set.and_then(|x| x.get(k)).and_then(Value::as_str).map(str::to_owned);
        let get = |k: &str| match k.strip_prefix("subject_set.") {
            Some(inner) => ss(inner),
            None => s(k),
        };
        Self::from_params(get)
    }

    fn matches(&self, t: &Tuple) -> bool {
        self.namespace.as_ref().is_none_or(|n| *n == t.namespace)
            && self.object.as_ref().is_none_or(|o| *o == t.object)
            && self.relation.as_ref().is_none_or(|r| *r == t.relation)
            && self.subject.as_ref().is_none_or(|s| *s == t.subject)
    }

    fn full(self) -> Result<Tuple, FakeResponse> {
        match self {
            Query {
                namespace: Some(namespace),
                object: Some(object),
                relation: Some(relation),
                subject: Some(subject),
            } if !namespace.is_empty() && !object.is_empty() && !relation.is_empty() => {
                Ok(Tuple { namespace, object, relation, subject })
            }
            _ => Err(FakeResponse::error(400, "namespace, object, relation and a subject are required")),
        }
    }
}

/// Keto's answer for a namespace its configuration does not declare.
fn unknown_namespace(n: &str) -> FakeResponse {
    FakeResponse::json(
        404,
        &json!({"error": {"code": 404, "status": "Not Found",
                "reason": format!("Unknown namespace with name {}.", serde_json::to_string(n).unwrap_or_default()),
                "message": "The requested resource could not be found"}}),
    )
}

/// The first undeclared namespace a tuple or query names (its own, or its subject set's).
fn undeclared<'a>(t: &TenantState, namespace: Option<&'a str>, subject: Option<&'a Subject>) -> Option<&'a str> {
    let set_ns = match subject {
        Some(Subject::Set(n, _, _)) => Some(n.as_str()),
        _ => None,
    };
    [namespace, set_ns].into_iter().flatten().find(|n| !t.namespaces.contains(*n))
}

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    let params = |k: &str| req.q(k).map(str::to_owned);
    let depth = req.q("max-depth").and_then(|d| d.parse::<u32>().ok()).filter(|d| *d > 0).unwrap_or(DEFAULT_DEPTH);
    Some(match segs {
        ["version"] if m == Method::GET => FakeResponse::json(200, &json!({"version": "v0.14.0"})),
        ["namespaces"] if m == Method::GET => {
            let list: Vec<Value> = t.namespace_order.iter().map(|n| json!({"name": n})).collect();
            FakeResponse::json(200, &json!({"namespaces": list}))
        }
        ["relation-tuples", "check", rest @ ..] if m == Method::GET && matches!(rest, [] | ["openapi"]) => {
            match Query::from_params(params).and_then(Query::full) {
                Ok(q) => {
                    // An undeclared namespace is simply not allowed (Keto answers no error here).
                    let allowed = t.namespaces.contains(&q.namespace) && check(t, &q, depth);
                    // The plain endpoint answers a denial with 403, the `openapi` one with 200.
                    let status = if !allowed && rest.is_empty() { 403 } else { 200 };
                    FakeResponse::json(status, &json!({"allowed": allowed}))
                }
                Err(e) => e,
            }
        }
        ["relation-tuples", "batch", "check"] if m == Method::POST => {
            let tuples = req.json.and_then(|b| b.get("tuples")).and_then(Value::as_array).cloned().unwrap_or_default();
            let results: Vec<Value> = tuples
                .iter()
                .map(|v| match Query::from_json(v).and_then(Query::full) {
                    Ok(q) if !t.namespaces.contains(&q.namespace) => {
                        json!({"allowed": false, "error": "The requested resource could not be found"})
                    }
                    Ok(q) => json!({"allowed": check(t, &q, depth)}),
                    Err(_) => json!({"allowed": false, "error": "invalid tuple"}),
                })
                .collect();
            FakeResponse::json(200, &json!({"results": results}))
        }
        ["relation-tuples"] if m == Method::GET => match Query::from_params(params) {
            Ok(q) => match undeclared(t, q.namespace.as_deref(), q.subject.as_ref()) {
                Some(n) => unknown_namespace(n),
                None => list(t, req, &q),
            },
            Err(e) => e,
        },
        ["relation-tuples", "expand"] if m == Method::GET => {
            let (Some(n), Some(o), Some(r)) = (req.q("namespace"), req.q("object"), req.q("relation")) else {
                return Some(FakeResponse::error(400, "namespace, object and relation are required"));
            };
            if !t.namespaces.contains(n) {
                return Some(unknown_namespace(n));
            }
            if !t.tuples.values().any(|x| x.namespace == n && x.object == o && x.relation == r) {
                // Keto v0.14's answer for a relation without tuples: a 200 whose body is an error.
                return Some(FakeResponse::json(
                    200,
                    &json!({"code": 404, "status": "Not Found", "message": "no relation tuple found"}),
                ));
            }
            let root = Subject::Set(n.to_owned(), o.to_owned(), r.to_owned());
            FakeResponse::json(200, &expand(t, &root, depth))
        }
        ["admin", "relation-tuples"] if m == Method::PUT => {
            match req
                .json
                .ok_or_else(|| FakeResponse::error(400, "a tuple is required"))
                .and_then(Query::from_json)
                .and_then(Query::full)
            {
                Ok(tuple) => match undeclared(t, Some(&tuple.namespace), Some(&tuple.subject)) {
                    Some(n) => unknown_namespace(n),
                    None => {
                        // Keto v0.14 stores a repeated tuple as another row: listed twice.
                        let body = tuple.to_json();
                        t.tuples.insert(uuid::Uuid::new_v4(), tuple);
                        FakeResponse::json(201, &body)
                    }
                },
                Err(e) => e,
            }
        }
        ["admin", "relation-tuples"] if m == Method::PATCH => patch(t, req),
        ["admin", "relation-tuples"] if m == Method::DELETE => match Query::from_params(params) {
            // Keto deletes everything the query matches; a query without a namespace is refused.
            Ok(q) if q.namespace.is_some() => match undeclared(t, q.namespace.as_deref(), q.subject.as_ref()) {
                Some(n) => unknown_namespace(n),
                None => {
                    t.tuples.retain(|_, x| !q.matches(x));
                    FakeResponse::empty(204)
                }
            },
            Ok(_) => FakeResponse::error(400, "namespace is required"),
            Err(e) => e,
        },
        _ => return None,
    })
}

/// Direct tuple, or membership of a subject set that has the relation, `depth` levels deep.
fn check(t: &TenantState, q: &Tuple, depth: u32) -> bool {
    if t.tuples.values().any(|x| x == q) {
        return true;
    }
    if depth <= 1 {
        return false;
    }
    t.tuples.values().filter(|x| x.namespace == q.namespace && x.object == q.object && x.relation == q.relation).any(
        |x| match &x.subject {
            Subject::Set(n, o, r) => check(
                t,
                &Tuple { namespace: n.clone(), object: o.clone(), relation: r.clone(), subject: q.subject.clone() },
                depth - 1,
            ),
            Subject::Id(_) => false,
        },
    )
}

fn list(t: &TenantState, req: &FakeRequest<'_>, q: &Query) -> FakeResponse {
    let size = match req.q("page_size").map(str::parse::<usize>) {
        None => DEFAULT_PAGE,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return FakeResponse::error(400, "page_size is out of range"),
    };
    // Keto's token is the id of the last row of the previous page; one it cannot read is a 500.
    let after = match req.q("page_token").filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match uuid::Uuid::parse_str(p) {
            Ok(u) => Some(u),
            Err(_) => {
                return FakeResponse::json(
                    500,
                    &json!({"error": {"code": 500, "status": "Internal Server Error", "message": "malformed page token"}}),
                )
            }
        },
    };
    let mut it = t.tuples.iter().filter(|(id, x)| q.matches(x) && after.is_none_or(|a| **id > a)).peekable();
    let mut last = None;
    let mut items: Vec<Value> = Vec::new();
    for (id, x) in it.by_ref().take(size) {
        last = Some(*id);
        items.push(x.to_json());
    }
    let next = match (it.peek(), last) {
        (Some(_), Some(l)) => l.to_string(),
        _ => String::new(),
    };
    FakeResponse::json(200, &json!({"relation_tuples": items, "next_page_token": next}))
}

/// `PATCH /admin/relation-tuples`: inserts and deletes in one transaction — an entry Keto
/// refuses (unknown action, incomplete tuple, undeclared namespace) changes nothing.
fn patch(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(list) = req.json.and_then(Value::as_array) else {
        return FakeResponse::error(400, "the body must be a list of patches");
    };
    let mut ops: Vec<(bool, Tuple)> = Vec::new();
    for p in list {
        let insert = match p.get("action").and_then(Value::as_str) {
            Some("insert") => true,
            Some("delete") => false,
            other => {
                let msg = format!("unknown action {}", other.unwrap_or(""));
                return FakeResponse::json(
                    400,
                    &json!({"error": {"code": 400, "status": "Bad Request", "message": msg}}),
                );
            }
        };
        let tuple = match p
            .get("relation_tuple")
            .ok_or_else(|| FakeResponse::error(400, "relation_tuple is required"))
            .and_then(Query::from_json)
            .and_then(Query::full)
        {
            Ok(x) => x,
            Err(e) => return e,
        };
        if let Some(n) = undeclared(t, Some(&tuple.namespace), Some(&tuple.subject)) {
            return unknown_namespace(n);
        }
        ops.push((insert, tuple));
    }
    for (insert, tuple) in ops {
        if insert {
            t.tuples.insert(uuid::Uuid::new_v4(), tuple);
        } else {
            t.tuples.retain(|_, x| *x != tuple);
        }
    }
    FakeResponse::empty(204)
}

/// Keto's tree: interior nodes carry the subject set they expand, leaves the subject; like
/// Keto v0.13 and v0.14, the `namespace`/`object`/`relation` of tree tuples are empty.
fn expand(t: &TenantState, set: &Subject, depth: u32) -> Value {
    let Subject::Set(n, o, r) = set else { return Value::Null };
    let node = |s: &Subject| {
        let mut v = json!({"namespace": "", "object": "", "relation": ""});
        match s {
            Subject::Id(id) => v["subject_id"] = json!(id),
            Subject::Set(n, o, r) => v["subject_set"] = json!({"namespace": n, "object": o, "relation": r}),
        }
        v
    };
    // Like Keto, `max-depth` 1 does not expand the root, 2 expands it once, and so on.
    let children: Vec<Value> = if depth <= 1 {
        Vec::new()
    } else {
        t.tuples
            .values()
            .filter(|x| x.namespace == *n && x.object == *o && x.relation == *r)
            .map(|x| match &x.subject {
                s @ Subject::Id(_) => json!({"type": "leaf", "tuple": node(s)}),
                s @ Subject::Set(..) => expand(t, s, depth - 1),
            })
            .collect()
    };
    if children.is_empty() {
        return json!({"type": "leaf", "tuple": node(set)});
    }
    json!({"type": "union", "children": children, "tuple": node(set)})
}

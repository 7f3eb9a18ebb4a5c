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

    /// The page token: the first tuple of the next page (the set is sorted).
    fn key(&self) -> String {
        self.to_json().to_string()
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

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    let params = |k: &str| req.q(k).map(str::to_owned);
    let depth = req.q("max-depth").and_then(|d| d.parse::<u32>().ok()).filter(|d| *d > 0).unwrap_or(DEFAULT_DEPTH);
    Some(match segs {
        ["version"] if m == Method::GET => FakeResponse::json(200, &json!({"version": "v0.14.0"})),
        ["relation-tuples", "check", rest @ ..] if m == Method::GET && matches!(rest, [] | ["openapi"]) => {
            match Query::from_params(params).and_then(Query::full) {
                Ok(q) => {
                    let allowed = check(t, &q, depth);
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
                    Ok(q) => json!({"allowed": check(t, &q, depth)}),
                    Err(_) => json!({"allowed": false, "error": "invalid tuple"}),
                })
                .collect();
            FakeResponse::json(200, &json!({"results": results}))
        }
        ["relation-tuples"] if m == Method::GET => match Query::from_params(params) {
            Ok(q) => list(t, req, &q),
            Err(e) => e,
        },
        ["relation-tuples", "expand"] if m == Method::GET => {
            let (Some(n), Some(o), Some(r)) = (req.q("namespace"), req.q("object"), req.q("relation")) else {
                return Some(FakeResponse::error(400, "namespace, object and relation are required"));
            };
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
                Ok(tuple) => {
                    let body = tuple.to_json();
                    t.tuples.insert(tuple);
                    FakeResponse::json(201, &body)
                }
                Err(e) => e,
            }
        }
        ["admin", "relation-tuples"] if m == Method::DELETE => match Query::from_params(params) {
            // Keto deletes everything the query matches; a query without a namespace is refused.
            Ok(q) if q.namespace.is_some() => {
                t.tuples.retain(|x| !q.matches(x));
                FakeResponse::empty(204)
            }
            Ok(_) => FakeResponse::error(400, "namespace is required"),
            Err(e) => e,
        },
        _ => return None,
    })
}

/// Direct tuple, or membership of a subject set that has the relation, `depth` levels deep.
fn check(t: &TenantState, q: &Tuple, depth: u32) -> bool {
    if t.tuples.contains(q) {
        return true;
    }
    if depth <= 1 {
        return false;
    }
    t.tuples.iter().filter(|x| x.namespace == q.namespace && x.object == q.object && x.relation == q.relation).any(
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
    let from = match req.q("page_token").filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match serde_json::from_str::<Value>(p).map(|v| Query::from_json(&v).and_then(Query::full)) {
            Ok(Ok(tuple)) => Some(tuple),
            _ => return FakeResponse::error(400, "malformed page_token"),
        },
    };
    let mut it =
        t.tuples.iter().filter(|x| q.matches(x)).skip_while(|x| from.as_ref().is_some_and(|f| *x < f)).peekable();
    let items: Vec<Value> = it.by_ref().take(size).map(Tuple::to_json).collect();
    let next = it.peek().map(|x| x.key()).unwrap_or_default();
    FakeResponse::json(200, &json!({"relation_tuples": items, "next_page_token": next}))
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
    let children: Vec<Value> = if depth == 0 {
        Vec::new()
    } else {
        t.tuples
            .iter()
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

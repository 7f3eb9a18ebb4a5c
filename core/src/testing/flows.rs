//! Kratos's native self-service registration and login with the `password` method, native
//! settings (`profile`, `password`) and native logout: the flow documents, their form nodes and the messages Kratos v1.3.1 puts on them
//! (ids `4000001`, `4000002`, `4000006`, `4000007`, `4000032`), the session and session token
//! a completed flow returns. Browser flows, other methods, recovery and verification answer 501.

use super::{now, random_token, ts, FakeRequest, FakeResponse, StoredSession, TenantState, SESSION_LIFESPAN};
use http::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const FLOW_LIFESPAN: time::Duration = time::Duration::hours(1);
const MIN_PASSWORD: usize = 8;
const BASE: &str = "http://kratos-public.fake.ory-iam.invalid";

pub(crate) struct StoredFlow {
    pub kind: &'static str,
    /// Settings flows: the identity whose settings they change.
    pub identity_id: Option<String>,
    pub doc: Value,
    pub expires_at: time::OffsetDateTime,
}

/// A salted SHA-256 of a password (the fake never keeps the password itself).
pub(crate) fn hash_password(password: &str, salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(password.as_bytes());
    format!("{salt}${:x}", h.finalize())
}

fn verify_password(stored: &str, password: &str) -> bool {
    stored.split_once('$').is_some_and(|(salt, _)| hash_password(password, salt) == stored)
}

fn node(name: &str, ty: &str, group: &str, required: bool) -> Value {
    let mut attrs = json!({"name": name, "type": ty, "disabled": false, "node_type": "input"});
    if required {
        attrs["required"] = json!(true);
    }
    if name == "csrf_token" {
        attrs["value"] = json!("");
    }
    json!({"type": "input", "group": group, "attributes": attrs, "messages": [], "meta": {}})
}

/// The trait inputs of a schema: one node per leaf property of `traits` (arrays are skipped).
fn trait_nodes(schema: &Value, prefix: &str, required: &[&str], out: &mut Vec<Value>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return };
    let req: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, p) in props {
        let path = format!("{prefix}.{name}");
        match p.get("type").and_then(Value::as_str) {
            Some("object") => trait_nodes(p, &path, &[], out),
            Some("array") => {}
            ty => {
                let input = match (ty, p.get("format").and_then(Value::as_str)) {
                    (_, Some("email")) => "email",
                    (Some("number") | Some("integer"), _) => "number",
                    (Some("boolean"), _) => "checkbox",
                    _ => "text",
                };
                out.push(node(
                    &path,
                    input,
                    "password",
                    req.contains(&name.as_str()) || required.contains(&name.as_str()),
                ));
            }
        }
    }
}

fn nodes(t: &TenantState, kind: &str) -> Vec<Value> {
    let mut out = vec![node("csrf_token", "hidden", "default", true)];
    if kind == "registration" {
        if let Some(s) = t.schemas.get(&t.default_schema_id) {
            if let Some(traits) = s.raw.pointer("/properties/traits") {
                trait_nodes(traits, "traits", &[], &mut out);
            }
        }
        out.push(node("password", "password", "password", true));
    } else {
        out.push(node("identifier", "text", "default", true));
        out.push(node("password", "password", "password", true));
    }
    let mut submit = node("method", "submit", "password", false);
    submit["attributes"]["value"] = json!("password");
    out.push(submit);
    out
}

fn new_flow(t: &mut TenantState, kind: &'static str) -> FakeResponse {
    let id = uuid::Uuid::new_v4().to_string();
    let at = now();
    let doc = json!({
        "id": id, "type": "api", "expires_at": ts(at + FLOW_LIFESPAN), "issued_at": ts(at),
        "request_url": format!("{BASE}/self-service/{kind}/api"),
        "ui": {"action": format!("{BASE}/self-service/{kind}?flow={id}"), "method": "POST", "nodes": nodes(t, kind)},
        "state": "choose_method",
    });
    t.flows
        .insert(id.clone(), StoredFlow { kind, identity_id: None, doc: doc.clone(), expires_at: at + FLOW_LIFESPAN });
    FakeResponse::json(200, &doc)
}

fn session_required() -> FakeResponse {
    FakeResponse::json(
        401,
        &json!({"error": {"id": "session_inactive", "code": 401, "status": "Unauthorized",
                "reason": "This endpoint can only be accessed with a valid session. Please log in and try again.",
                "message": "request does not have a valid authentication session"}}),
    )
}

/// The settings form of an identity: its traits (with their values) in the `profile` group,
/// then the `password` group.
fn settings_doc(t: &TenantState, id: &str, identity_id: &str, at: time::OffsetDateTime) -> Value {
    let identity = super::kratos::identity_json(t, identity_id, &[]);
    let mut nodes = vec![node("csrf_token", "hidden", "default", true)];
    let schema_id = identity["schema_id"].as_str().unwrap_or_default();
    if let Some(traits) = t.schemas.get(schema_id).and_then(|s| s.raw.pointer("/properties/traits").cloned()) {
        let mut tn = Vec::new();
        trait_nodes(&traits, "traits", &[], &mut tn);
        for mut n in tn {
            n["group"] = json!("profile");
            let name = n["attributes"]["name"].as_str().unwrap_or_default().to_owned();
            if let Some(v) = identity.pointer(&format!("/{}", name.replace('.', "/"))) {
                n["attributes"]["value"] = v.clone();
            }
            nodes.push(n);
        }
    }
    let mut profile = node("method", "submit", "profile", false);
    profile["attributes"]["value"] = json!("profile");
    nodes.push(profile);
    nodes.push(node("password", "password", "password", true));
    let mut pw = node("method", "submit", "password", false);
    pw["attributes"]["value"] = json!("password");
    nodes.push(pw);
    json!({
        "id": id, "type": "api", "expires_at": ts(at + FLOW_LIFESPAN), "issued_at": ts(at),
        "request_url": format!("{BASE}/self-service/settings/api"),
        "ui": {"action": format!("{BASE}/self-service/settings?flow={id}"), "method": "POST", "nodes": nodes},
        "state": "show_form", "identity": identity,
    })
}

fn new_settings(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(me) = super::kratos::current(t, req) else { return session_required() };
    let identity_id = me.identity_id.clone();
    let id = uuid::Uuid::new_v4().to_string();
    let at = now();
    let doc = settings_doc(t, &id, &identity_id, at);
    t.flows.insert(
        id.clone(),
        StoredFlow {
            kind: "settings",
            identity_id: Some(identity_id),
            doc: doc.clone(),
            expires_at: at + FLOW_LIFESPAN,
        },
    );
    FakeResponse::json(200, &doc)
}

/// `profile` (traits, validated against the identity's schema) or `password`; `200` with the
/// flow in state `success` and Kratos's `1050001` message when saved.
fn submit_settings(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let flow_id = req.q("flow").unwrap_or_default().to_owned();
    let owner = match t.flows.get(&flow_id) {
        Some(f) if f.kind == "settings" && f.expires_at > now() => f.identity_id.clone().unwrap_or_default(),
        Some(f) if f.kind == "settings" => return FakeResponse::error(410, "The self-service flow expired."),
        _ => return FakeResponse::error(404, "Unable to locate the resource"),
    };
    match super::kratos::current(t, req) {
        Some(me) if me.identity_id == owner => {}
        Some(_) => {
            return FakeResponse::error(
                403,
                "Access privileges are missing, invalid, or not sufficient to access this endpoint.",
            )
        }
        None => return session_required(),
    }
    let body = req.json.cloned().unwrap_or(Value::Null);
    match body["method"].as_str() {
        Some("profile") => {
            let traits = body.get("traits").cloned().unwrap_or(json!({}));
            let schema_id = t
                .identities
                .get(&owner)
                .and_then(|i| i.doc["schema_id"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let msgs = t.schemas.get(&schema_id).map(|s| s.node_messages(&traits)).unwrap_or_default();
            if !msgs.is_empty() {
                return invalid(t, &flow_id, &body, &msgs, &[]);
            }
            let mut doc = t.identities[&owner].doc.clone();
            doc["traits"] = traits;
            let r = super::kratos::replace(t, &owner, doc);
            if r.status == 409 {
                let text = "An account with the same identifier (email, phone, username, ...) exists already.";
                return invalid(t, &flow_id, &body, &[], &[(4000007, text)]);
            }
            if r.status != 200 {
                return r;
            }
        }
        Some("password") => {
            let password = body["password"].as_str().unwrap_or_default();
            let n = password.chars().count();
            if n < MIN_PASSWORD {
                let msg = if n == 0 {
                    ("password".to_owned(), 4000002, "Property password is missing.".to_owned())
                } else {
                    (
                        "password".to_owned(),
                        4000032,
                        format!("The password must be at least {MIN_PASSWORD} characters long, but got {n}."),
                    )
                };
                return invalid(t, &flow_id, &body, &[msg], &[]);
            }
            let hash = hash_password(password, &random_token(""));
            if let Some(i) = t.identities.get_mut(&owner) {
                i.password = Some(hash);
            }
        }
        _ => {
            return FakeResponse::error(501, "ory-iam FakeOry emulates only the profile and password settings methods")
        }
    }
    let issued = t.flows[&flow_id].expires_at - FLOW_LIFESPAN;
    let mut doc = settings_doc(t, &flow_id, &owner, issued);
    doc["state"] = json!("success");
    doc["ui"]["messages"] = json!([{"id": 1050001, "text": "Your changes have been saved!", "type": "success"}]);
    if let Some(f) = t.flows.get_mut(&flow_id) {
        f.doc = doc.clone();
    }
    FakeResponse::json(200, &doc)
}

/// The flow again, with messages on its nodes (by node name) and on the form: Kratos's `400`.
fn invalid(
    t: &TenantState,
    flow_id: &str,
    body: &Value,
    node_msgs: &[(String, u64, String)],
    form: &[(u64, &str)],
) -> FakeResponse {
    let mut doc = t.flows[flow_id].doc.clone();
    if let Some(nodes) = doc.pointer_mut("/ui/nodes").and_then(Value::as_array_mut) {
        for n in nodes.iter_mut() {
            let name = n["attributes"]["name"].as_str().unwrap_or_default().to_owned();
            // Kratos keeps what was typed in (never the password).
            if name != "password" && name != "csrf_token" {
                let pointer = format!("/{}", name.replace('.', "/"));
                if let Some(v) = body.pointer(&pointer) {
                    n["attributes"]["value"] = v.clone();
                }
            }
            let msgs: Vec<Value> = node_msgs
                .iter()
                .filter(|(n, _, _)| *n == name)
                .map(|(_, id, text)| json!({"id": id, "text": text, "type": "error"}))
                .collect();
            n["messages"] = Value::Array(msgs);
        }
    }
    let form: Vec<Value> = form.iter().map(|(id, text)| json!({"id": id, "text": text, "type": "error"})).collect();
    doc["ui"]["messages"] = Value::Array(form);
    FakeResponse::json(400, &doc)
}

fn start_session(t: &mut TenantState, identity_id: &str) -> StoredSession {
    let at = now();
    let s = StoredSession {
        id: uuid::Uuid::new_v4().to_string(),
        identity_id: identity_id.to_owned(),
        token: random_token("ory_st_"),
        cookie: random_token("MTc"),
        active: true,
        issued_at: at,
        expires_at: at + SESSION_LIFESPAN,
    };
    t.sessions.insert(s.id.clone(), s.clone());
    s
}

fn success(t: &TenantState, s: &StoredSession, with_identity: bool) -> FakeResponse {
    let mut out = json!({
        "session": super::kratos::session_json(t, s),
        "session_token": s.token,
        "continue_with": [{"action": "set_ory_session_token", "ory_session_token": s.token}],
    });
    if with_identity {
        out["identity"] = super::kratos::session_json(t, s)["identity"].clone();
    }
    FakeResponse::json(200, &out)
}

fn submit(t: &mut TenantState, req: &FakeRequest<'_>, kind: &'static str) -> FakeResponse {
    let flow_id = req.q("flow").unwrap_or_default().to_owned();
    match t.flows.get(&flow_id) {
        Some(f) if f.kind == kind && f.expires_at > now() => {}
        Some(f) if f.kind == kind => return FakeResponse::error(410, "The self-service flow expired."),
        _ => return FakeResponse::error(404, "Unable to locate the resource"),
    }
    let body = req.json.cloned().unwrap_or(Value::Null);
    if body["method"].as_str() != Some("password") {
        return FakeResponse::error(
            501,
            "ory-iam FakeOry emulates only the password method of native registration and login",
        );
    }
    let password = body["password"].as_str().unwrap_or_default().to_owned();
    if kind == "login" {
        let ident = body["identifier"].as_str().unwrap_or_default().to_lowercase();
        let found = t.identities.iter().find(|(_, i)| {
            i.doc["state"] == "active"
                && i.credentials
                    .get("password")
                    .and_then(|c| c["identifiers"].as_array())
                    .is_some_and(|a| a.iter().any(|x| x == ident.as_str()))
                && i.password.as_deref().is_some_and(|h| verify_password(h, &password))
        });
        let Some((id, _)) = found else {
            let text = "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.";
            return invalid(t, &flow_id, &body, &[], &[(4000006, text)]);
        };
        let id = id.clone();
        t.flows.remove(&flow_id);
        let s = start_session(t, &id);
        return success(t, &s, false);
    }
    // Registration: traits against the default schema, then the password policy, then uniqueness.
    let traits = body.get("traits").cloned().unwrap_or(json!({}));
    let schema = t.schemas.get(&t.default_schema_id).cloned();
    let mut msgs = schema.map(|s| s.node_messages(&traits)).unwrap_or_default();
    if password.is_empty() {
        msgs.push(("password".into(), 4000002, "Property password is missing.".into()));
    } else if password.chars().count() < MIN_PASSWORD {
        let n = password.chars().count();
        msgs.push((
            "password".into(),
            4000032,
            format!("The password must be at least {MIN_PASSWORD} characters long, but got {n}."),
        ));
    }
    if !msgs.is_empty() {
        return invalid(t, &flow_id, &body, &msgs, &[]);
    }
    let create = json!({"schema_id": t.default_schema_id, "traits": traits});
    let r = super::kratos::create_for_flow(t, &create, &password);
    let id = match r {
        Ok(id) => id,
        Err(409) => {
            let text = "An account with the same identifier (email, phone, username, ...) exists already.";
            return invalid(t, &flow_id, &body, &[], &[(4000007, text)]);
        }
        Err(_) => return FakeResponse::error(400, "The request was malformed or contained invalid parameters"),
    };
    t.flows.remove(&flow_id);
    let s = start_session(t, &id);
    success(t, &s, true)
}

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    Some(match segs {
        ["self-service", "registration", "api"] if m == Method::GET => new_flow(t, "registration"),
        ["self-service", "login", "api"]
            if m == Method::GET && req.q("refresh").is_none() && req.q("aal").is_none() =>
        {
            new_flow(t, "login")
        }
        ["self-service", "registration"] if m == Method::POST && req.q("flow").is_some() => {
            submit(t, req, "registration")
        }
        ["self-service", "login"] if m == Method::POST && req.q("flow").is_some() => submit(t, req, "login"),
        ["self-service", "settings", "api"] if m == Method::GET => new_settings(t, req),
        ["self-service", kind @ ("registration" | "login" | "settings"), "flows"] if m == Method::GET => {
            let id = req.q("id").unwrap_or_default();
            match t.flows.get(id).filter(|f| f.kind == *kind) {
                Some(f) if f.kind != "settings" => FakeResponse::json(200, &f.doc),
                // A settings flow is its owner's: Kratos wants the session that made it.
                Some(f)
                    if super::kratos::current(t, req)
                        .is_some_and(|s| Some(&s.identity_id) == f.identity_id.as_ref()) =>
                {
                    FakeResponse::json(200, &f.doc)
                }
                Some(_) => session_required(),
                None => FakeResponse::error(404, "Unable to locate the resource"),
            }
        }
        ["self-service", "settings"] if m == Method::POST && req.q("flow").is_some() => submit_settings(t, req),
        ["self-service", "logout", "api"] if m == Method::DELETE => {
            let token = req.json.and_then(|b| b["session_token"].as_str()).unwrap_or_default();
            match t.sessions.values_mut().find(|s| s.token == token && !token.is_empty()) {
                Some(s) => {
                    s.active = false;
                    FakeResponse::empty(204)
                }
                None => FakeResponse::error(403, "The provided Ory Session Token is invalid or expired."),
            }
        }
        _ => return None,
    })
}

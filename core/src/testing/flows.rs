//! Kratos's self-service registration and login with the `password` method, settings
//! (`profile`, `password`), native and browser, and logout (native, and the browser's two
//! steps): the flow documents, their form nodes and the messages Kratos v1.3.1 puts on them
//! (ids `4000001`, `4000002`, `4000006`, `4000007`, `4000032`), the session a completed flow
//! returns — its token for native flows, its cookie for browser flows. Browser flows carry
//! Kratos's anti-CSRF cookie (`csrf_token_<sha256 of the base URL>`) and, in the form, its
//! token masked as nosurf does; a browser submit whose token does not unmask to the cookie's
//! is `403 security_csrf_violation`. Recovery and verification are in `recovery.rs`.

use super::{now, random_token, ts, FakeRequest, FakeResponse, StoredSession, TenantState, SESSION_LIFESPAN};
use http::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const FLOW_LIFESPAN: time::Duration = time::Duration::hours(1);
const MIN_PASSWORD: usize = 8;
pub(super) const BASE: &str = "http://kratos-public.fake.ory-iam.invalid";

pub(crate) struct StoredFlow {
    pub kind: &'static str,
    /// Settings flows: the identity whose settings they change.
    pub identity_id: Option<String>,
    pub doc: Value,
    pub expires_at: time::OffsetDateTime,
    /// A browser flow: submits need the CSRF cookie and token; the session comes back as a cookie.
    pub browser: bool,
    /// Made by the admin API (`/admin/recovery/code`): Kratos checks no CSRF token on it.
    pub admin: bool,
    /// Where a browser is sent when the flow is done.
    pub return_to: Option<String>,
    /// Recovery and verification: the code that was sent, for which identity and address.
    pub code: Option<SentCode>,
}

pub(crate) struct SentCode {
    pub code: String,
    pub identity_id: String,
    pub address: String,
}

impl StoredFlow {
    pub(super) fn new(kind: &'static str, doc: Value, browser: bool, req: &FakeRequest<'_>) -> StoredFlow {
        StoredFlow {
            kind,
            identity_id: None,
            doc,
            expires_at: now() + FLOW_LIFESPAN,
            browser,
            admin: false,
            return_to: req.q("return_to").map(str::to_owned),
            code: None,
        }
    }
}

/// Where browsers go when a flow is done and no `return_to` was given (Kratos's
/// `selfservice.default_browser_return_url`), and where its UI pages live.
pub(super) const UI: &str = "http://ui.fake.ory-iam.invalid";

/// Kratos's anti-CSRF cookie: `csrf_token_` and the SHA-256 of the public base URL.
pub(super) fn csrf_cookie_name() -> String {
    format!("csrf_token_{:x}", Sha256::digest(format!("{BASE}/").as_bytes()))
}

/// The value of a cookie of the request.
pub(super) fn cookie<'a>(req: &'a FakeRequest<'_>, name: &str) -> Option<&'a str> {
    req.headers.get_all(http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|s| {
        s.split(';').filter_map(|p| p.trim().split_once('=')).find(|(k, _)| k.trim() == name).map(|(_, v)| v.trim())
    })
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn random_bytes() -> Vec<u8> {
    (0..32).map(|_| fastrand::u8(..)).collect()
}

/// The CSRF token of a browser flow's form: as nosurf masks it, a one-time pad and the
/// cookie's token XORed with it.
fn masked(raw: &[u8]) -> String {
    use base64::Engine;
    let pad = random_bytes();
    let mut out = pad.clone();
    out.extend(pad.iter().zip(raw).map(|(a, b)| a ^ b));
    b64().encode(out)
}

fn csrf_raw(cookie_value: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    b64().decode(cookie_value).ok().filter(|b| b.len() == 32)
}

/// A browser flow's CSRF form token, and the `Set-Cookie` to send when the request brought no
/// usable CSRF cookie (Kratos keeps the browser's cookie when it has one).
pub(super) fn csrf_begin(req: &FakeRequest<'_>) -> (String, Option<String>) {
    use base64::Engine;
    let name = csrf_cookie_name();
    if let Some(raw) = cookie(req, &name).and_then(csrf_raw) {
        return (masked(&raw), None);
    }
    let raw = random_bytes();
    (masked(&raw), Some(format!("{name}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax", b64().encode(&raw))))
}

/// Kratos's check of a browser submit: the form's (or `X-CSRF-Token`'s) token unmasked must be
/// the CSRF cookie's token.
pub(super) fn csrf_ok(req: &FakeRequest<'_>) -> bool {
    use base64::Engine;
    let Some(raw) = cookie(req, &csrf_cookie_name()).and_then(csrf_raw) else { return false };
    let sent = req
        .json
        .and_then(|b| b["csrf_token"].as_str())
        .or_else(|| req.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
        .unwrap_or_default();
    let Some(tok) = b64().decode(sent).ok().filter(|b| b.len() == 64) else { return false };
    tok[..32].iter().zip(&tok[32..]).map(|(a, b)| a ^ b).eq(raw.iter().copied())
}

pub(super) fn csrf_violation() -> FakeResponse {
    FakeResponse::json(
        403,
        &json!({"error": {"id": "security_csrf_violation", "code": 403, "status": "Forbidden",
            "reason": "Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.",
            "details": {"docs": "https://www.ory.sh/kratos/docs/debug/csrf",
                "reject_reason": "The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow."},
            "message": "the request was rejected to protect you from Cross-Site-Request-Forgery"}}),
    )
}

pub(super) fn set_cookie(mut r: FakeResponse, cookie: Option<String>) -> FakeResponse {
    if let Some(v) = cookie.and_then(|c| http::HeaderValue::from_str(&c).ok()) {
        r.headers.push((http::header::SET_COOKIE, v));
    }
    r
}

/// The browser's session cookie for a new session.
pub(super) fn session_cookie(s: &StoredSession) -> String {
    let secs = (s.expires_at - now()).whole_seconds().max(0);
    format!("{}={}; Path=/; Max-Age={secs}; HttpOnly; SameSite=Lax", super::SESSION_COOKIE, s.cookie)
}

/// Browser flows answer with a fresh CSRF cookie once they are done.
fn fresh_csrf_cookie() -> String {
    use base64::Engine;
    format!("{}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax", csrf_cookie_name(), b64().encode(random_bytes()))
}

pub(super) fn session_inactive() -> FakeResponse {
    FakeResponse::json(
        401,
        &json!({"error": {"id": "session_inactive", "code": 401, "status": "Unauthorized",
                "reason": "No active session was found in this request.",
                "message": "request does not have a valid authentication session"}}),
    )
}

fn already_logged_in() -> FakeResponse {
    FakeResponse::json(
        400,
        &json!({"error": {"id": "session_already_available", "code": 400, "status": "Bad Request",
                "reason": "A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?",
                "message": "you are already logged in"}}),
    )
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

pub(super) fn node(name: &str, ty: &str, group: &str, required: bool) -> Value {
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

fn new_flow(t: &mut TenantState, req: &FakeRequest<'_>, kind: &'static str, browser: bool) -> FakeResponse {
    if browser && super::kratos::current(t, req).is_some() {
        return already_logged_in();
    }
    let id = uuid::Uuid::new_v4().to_string();
    let at = now();
    let mut doc = json!({
        "id": id, "type": if browser { "browser" } else { "api" },
        "expires_at": ts(at + FLOW_LIFESPAN), "issued_at": ts(at),
        "request_url": format!("{BASE}/self-service/{kind}/{}", if browser { "browser" } else { "api" }),
        "ui": {"action": format!("{BASE}/self-service/{kind}?flow={id}"), "method": "POST", "nodes": nodes(t, kind)},
        "state": "choose_method",
    });
    let (csrf, cookie) = if browser { csrf_begin(req) } else { (String::new(), None) };
    set_csrf_value(&mut doc, &csrf);
    t.flows.insert(id.clone(), StoredFlow::new(kind, doc.clone(), browser, req));
    set_cookie(FakeResponse::json(200, &doc), cookie)
}

/// Put a browser flow's CSRF token into its `csrf_token` node.
pub(super) fn set_csrf_value(doc: &mut Value, csrf: &str) {
    if let Some(nodes) = doc.pointer_mut("/ui/nodes").and_then(Value::as_array_mut) {
        for n in nodes.iter_mut().filter(|n| n["attributes"]["name"] == "csrf_token") {
            n["attributes"]["value"] = json!(csrf);
        }
    }
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
pub(super) fn settings_doc(
    t: &TenantState,
    id: &str,
    identity_id: &str,
    at: time::OffsetDateTime,
    browser: bool,
) -> Value {
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
        "id": id, "type": if browser { "browser" } else { "api" },
        "expires_at": ts(at + FLOW_LIFESPAN), "issued_at": ts(at),
        "request_url": format!("{BASE}/self-service/settings/{}", if browser { "browser" } else { "api" }),
        "ui": {"action": format!("{BASE}/self-service/settings?flow={id}"), "method": "POST", "nodes": nodes},
        "state": "show_form", "identity": identity,
    })
}

fn new_settings(t: &mut TenantState, req: &FakeRequest<'_>, browser: bool) -> FakeResponse {
    let Some(me) = super::kratos::current(t, req) else {
        return if browser { session_inactive() } else { session_required() };
    };
    let identity_id = me.identity_id.clone();
    let (csrf, cookie) = if browser { csrf_begin(req) } else { (String::new(), None) };
    let (_, doc) = make_settings(t, req, &identity_id, browser, &csrf);
    set_cookie(FakeResponse::json(200, &doc), cookie)
}

/// A settings flow for the identity (also what a completed recovery opens).
pub(super) fn make_settings(
    t: &mut TenantState,
    req: &FakeRequest<'_>,
    identity_id: &str,
    browser: bool,
    csrf: &str,
) -> (String, Value) {
    let id = uuid::Uuid::new_v4().to_string();
    let mut doc = settings_doc(t, &id, identity_id, now(), browser);
    set_csrf_value(&mut doc, csrf);
    let mut f = StoredFlow::new("settings", doc.clone(), browser, req);
    f.identity_id = Some(identity_id.to_owned());
    t.flows.insert(id.clone(), f);
    (id, doc)
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
    let browser = t.flows[&flow_id].browser;
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
    if browser && !csrf_ok(req) {
        return csrf_violation();
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
    let csrf = t.flows[&flow_id].doc.pointer("/ui/nodes/0/attributes/value").cloned().unwrap_or(json!(""));
    let mut doc = settings_doc(t, &flow_id, &owner, issued, browser);
    set_csrf_value(&mut doc, csrf.as_str().unwrap_or_default());
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

pub(super) fn start_session(t: &mut TenantState, identity_id: &str) -> StoredSession {
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

/// A finished login or registration: native clients get the session token, browsers the
/// session cookie (and a fresh CSRF cookie) and where to go next.
fn success(
    t: &mut TenantState,
    s: &StoredSession,
    flow: &StoredFlow,
    with_identity: bool,
    req: &FakeRequest<'_>,
) -> FakeResponse {
    let mut continue_with = Vec::new();
    if flow.browser {
        let to = flow.return_to.clone().unwrap_or_else(|| format!("{UI}/"));
        continue_with.push(json!({"action": "redirect_browser_to", "redirect_browser_to": to}));
    }
    if with_identity {
        // Registration sends the verification code to the new address (Kratos's
        // `show_verification_ui` step); a native client gets no UI URL.
        if let Some(v) = super::recovery::verify_after_registration(t, &s.identity_id, flow.browser, req) {
            continue_with.push(v);
        }
    }
    let mut out = json!({"session": super::kratos::session_json(t, s)});
    if !flow.browser {
        out["session_token"] = json!(s.token);
        continue_with.push(json!({"action": "set_ory_session_token", "ory_session_token": s.token}));
    }
    out["continue_with"] = Value::Array(continue_with);
    if with_identity {
        out["identity"] = out["session"]["identity"].clone();
    }
    let r = FakeResponse::json(200, &out);
    if flow.browser {
        set_cookie(set_cookie(r, Some(fresh_csrf_cookie())), Some(session_cookie(s)))
    } else {
        r
    }
}

fn submit(t: &mut TenantState, req: &FakeRequest<'_>, kind: &'static str) -> FakeResponse {
    let flow_id = req.q("flow").unwrap_or_default().to_owned();
    match t.flows.get(&flow_id) {
        Some(f) if f.kind == kind && f.expires_at > now() => {}
        Some(f) if f.kind == kind => return FakeResponse::error(410, "The self-service flow expired."),
        _ => return FakeResponse::error(404, "Unable to locate the resource"),
    }
    if t.flows[&flow_id].browser && !csrf_ok(req) {
        return csrf_violation();
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
        let Some(flow) = t.flows.remove(&flow_id) else {
            return FakeResponse::error(404, "Unable to locate the resource");
        };
        let s = start_session(t, &id);
        return success(t, &s, &flow, false, req);
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
    let Some(flow) = t.flows.remove(&flow_id) else { return FakeResponse::error(404, "Unable to locate the resource") };
    let s = start_session(t, &id);
    success(t, &s, &flow, true, req)
}

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    Some(match segs {
        ["self-service", kind @ ("registration" | "login"), mode @ ("api" | "browser")]
            if m == Method::GET && req.q("refresh").is_none() && req.q("aal").is_none() =>
        {
            let kind = if *kind == "login" { "login" } else { "registration" };
            new_flow(t, req, kind, *mode == "browser")
        }
        ["self-service", "registration"] if m == Method::POST && req.q("flow").is_some() => {
            submit(t, req, "registration")
        }
        ["self-service", "login"] if m == Method::POST && req.q("flow").is_some() => submit(t, req, "login"),
        ["self-service", "settings", mode @ ("api" | "browser")] if m == Method::GET => {
            new_settings(t, req, *mode == "browser")
        }
        ["self-service", kind @ ("registration" | "login" | "settings" | "recovery" | "verification"), "flows"]
            if m == Method::GET =>
        {
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
        ["self-service", "logout", "browser"] if m == Method::GET => initiate_browser_logout(t, req),
        ["self-service", "logout"] if m == Method::GET => submit_browser_logout(t, req),
        // Kratos keeps no self-service error the fake could have made (it answers JSON errors,
        // never redirects to an error page).
        ["self-service", "errors"] if m == Method::GET => FakeResponse::json(
            404,
            &json!({"error": {"code": 404, "status": "Not Found", "message": "Unable to locate the resource"}}),
        ),
        ["self-service", "recovery" | "verification", ..] => return super::recovery::handle(t, req, segs),
        _ => return None,
    })
}

/// `GET /self-service/logout/browser`: the logout URL and token of the session in the cookie.
fn initiate_browser_logout(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(s) = super::kratos::current(t, req).filter(|_| cookie(req, super::SESSION_COOKIE).is_some()) else {
        return set_cookie(session_inactive(), Some(fresh_csrf_cookie()));
    };
    let id = s.id.clone();
    let token = format!("ory_lo_{}", &random_token("")[..32]);
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(r) = req.q("return_to") {
        q.append_pair("return_to", r);
    }
    q.append_pair("token", &token);
    let url = format!("{BASE}/self-service/logout?{}", q.finish());
    t.logout_tokens.insert(token.clone(), id);
    set_cookie(FakeResponse::json(200, &json!({"logout_url": url, "logout_token": token})), Some(fresh_csrf_cookie()))
}

/// `GET /self-service/logout?token=`: ends the session when the token is that of the session in
/// the cookie (`204`, clearing the cookie), otherwise Kratos's `401`.
fn submit_browser_logout(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let token = req.q("token").unwrap_or_default();
    let me =
        super::kratos::current(t, req).filter(|_| cookie(req, super::SESSION_COOKIE).is_some()).map(|s| s.id.clone());
    match (t.logout_tokens.get(token), me) {
        (Some(sid), Some(me)) if *sid == me => {
            t.logout_tokens.remove(token);
            if let Some(s) = t.sessions.get_mut(&me) {
                s.active = false;
            }
            let clear = format!(
                "{}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; HttpOnly; SameSite=Lax",
                super::SESSION_COOKIE
            );
            set_cookie(set_cookie(FakeResponse::empty(204), Some(fresh_csrf_cookie())), Some(clear))
        }
        _ => set_cookie(session_inactive(), Some(fresh_csrf_cookie())),
    }
}

//! Kratos's recovery and verification flows with the `code` method (native and browser), the
//! admin API's recovery codes and links, and the verification message a registration sends, as
//! Kratos v1.3.1 answers them with `selfservice.flows.{recovery,verification}.use: code`: the
//! code goes to the courier (read it with `iam.courier()`), the flow waits in `sent_email`, a
//! wrong code is message `4060006` / `4070006` on the flow, the right one `passed_challenge`
//! (recovery: a session — token for native flows, cookie for browser flows — and a settings
//! flow to set a new password; verification: the address verified). An address Kratos does not
//! know gets the same answer and no message, as Kratos does without `notify_unknown_recipients`.

use super::flows::{self, node, SentCode, StoredFlow, BASE, UI};
use super::{now, ts, FakeRequest, FakeResponse, TenantState};
use http::Method;
use serde_json::{json, Value};

/// The same `format: email` check the identity schemas get (Kratos validates the recovery and
/// verification forms with a JSON schema too).
fn is_email(s: &str) -> bool {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&json!({"type": "string", "format": "email"}))
        .is_ok_and(|v| v.is_valid(&json!(s)))
}

fn code6() -> String {
    format!("{:06}", fastrand::u32(0..1_000_000))
}

fn code_node(kind: &str) -> Value {
    let mut n = node("code", "text", "code", true);
    if kind == "recovery" {
        n["attributes"]["pattern"] = json!("[0-9]+");
        n["attributes"]["maxlength"] = json!(6);
    }
    let label = if kind == "recovery" { (1070010, "Recovery code") } else { (1070011, "Verification code") };
    n["meta"] = json!({"label": {"id": label.0, "text": label.1, "type": "info"}});
    n
}

fn submit_node(name: &str, value: &str, ty: &str) -> Value {
    let mut n = node(name, ty, "code", false);
    n["attributes"]["value"] = json!(value);
    n
}

fn email_node() -> Value {
    node("email", "email", "code", true)
}

/// Nodes of a flow waiting for its code (after the email was sent to `email`).
fn sent_nodes(kind: &str, browser: bool, email: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    if kind == "recovery" || browser {
        out.push(node("csrf_token", "hidden", "default", true));
    }
    if kind == "recovery" {
        out.push(code_node(kind));
        out.push(submit_node("method", "code", "hidden"));
    } else {
        out.push(submit_node("method", "code", "hidden"));
        out.push(code_node(kind));
    }
    out.push(submit_node("method", "code", "submit"));
    if let Some(e) = email {
        out.push(submit_node("email", e, "submit"));
    }
    out
}

fn base_doc(id: &str, kind: &str, browser: bool, nodes: Vec<Value>, state: &str, request_url: String) -> Value {
    let at = now();
    json!({
        "id": id, "type": if browser { "browser" } else { "api" },
        "expires_at": ts(at + time::Duration::hours(1)), "issued_at": ts(at),
        "request_url": request_url, "active": "code",
        "ui": {"action": format!("{BASE}/self-service/{kind}?flow={id}"), "method": "POST", "nodes": nodes},
        "state": state,
    })
}

fn new_flow(t: &mut TenantState, req: &FakeRequest<'_>, kind: &'static str, browser: bool) -> FakeResponse {
    let id = uuid::Uuid::new_v4().to_string();
    let mut nodes = Vec::new();
    if kind == "recovery" || browser {
        nodes.push(node("csrf_token", "hidden", "default", true));
    }
    nodes.push(email_node());
    nodes.push(submit_node("method", "code", "submit"));
    let mode = if browser { "browser" } else { "api" };
    let mut doc = base_doc(&id, kind, browser, nodes, "choose_method", format!("{BASE}/self-service/{kind}/{mode}"));
    let (csrf, cookie) = if browser { flows::csrf_begin(req) } else { (String::new(), None) };
    flows::set_csrf_value(&mut doc, &csrf);
    t.flows.insert(id, StoredFlow::new(kind, doc.clone(), browser, req));
    flows::set_cookie(FakeResponse::json(200, &doc), cookie)
}

fn csrf_of(doc: &Value) -> String {
    doc["ui"]["nodes"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["attributes"]["name"] == "csrf_token"))
        .and_then(|n| n["attributes"]["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Queue the code for the address, as Kratos's `*_code_valid` templates word it.
fn send(t: &mut TenantState, kind: &str, flow_id: &str, to: &str, code: &str) {
    if kind == "recovery" {
        let body = format!("Hi,\n\nplease recover access to your account by entering the following code:\n\n{code}\n");
        super::courier::queue(t, "recovery_code_valid", to, "Recover access to your account", body);
    } else {
        let body = format!(
            "Hi,\n\nplease verify your account by entering the following code:\n\n{code}\n\nor clicking the following link:\n\n{BASE}/self-service/verification?code={code}&flow={flow_id}\n"
        );
        super::courier::queue(t, "verification_code_valid", to, "Please verify your email address", body);
        set_address_status(t, to, "sent", false);
    }
}

fn set_address_status(t: &mut TenantState, address: &str, status: &str, verified: bool) {
    let at = ts(now());
    for i in t.identities.values_mut() {
        if let Some(addrs) = i.doc["verifiable_addresses"].as_array_mut() {
            for a in addrs.iter_mut().filter(|a| a["value"] == address) {
                if a["verified"] == true {
                    continue;
                }
                a["status"] = json!(status);
                if verified {
                    a["verified"] = json!(true);
                    a["verified_at"] = json!(at);
                }
            }
        }
    }
}

/// The identity whose recovery (or verifiable) address `email` is.
fn owner(t: &TenantState, kind: &str, email: &str) -> Option<String> {
    let key = if kind == "recovery" { "recovery_addresses" } else { "verifiable_addresses" };
    t.identities.iter().find_map(|(id, i)| {
        i.doc[key].as_array()?.iter().any(|a| a["value"].as_str() == Some(email)).then(|| id.clone())
    })
}

/// After a registration: a verification flow already in `sent_email` and its code in the
/// courier; the `show_verification_ui` step for `continue_with`.
pub(super) fn verify_after_registration(
    t: &mut TenantState,
    identity_id: &str,
    browser: bool,
    req: &FakeRequest<'_>,
) -> Option<Value> {
    let email = t.identities.get(identity_id)?.doc["verifiable_addresses"][0]["value"].as_str()?.to_owned();
    let id = uuid::Uuid::new_v4().to_string();
    let code = code6();
    let mode = if browser { "browser" } else { "api" };
    let mut doc = base_doc(
        &id,
        "verification",
        browser,
        sent_nodes("verification", browser, None),
        "sent_email",
        format!("{BASE}/self-service/registration/{mode}"),
    );
    doc["ui"]["messages"] = json!([sent_message("verification")]);
    if browser {
        let (csrf, _) = flows::csrf_begin(req);
        flows::set_csrf_value(&mut doc, &csrf);
    }
    let mut f = StoredFlow::new("verification", doc, browser, req);
    f.code = Some(SentCode { code: code.clone(), identity_id: identity_id.to_owned(), address: email.clone() });
    t.flows.insert(id.clone(), f);
    send(t, "verification", &id, &email, &code);
    let mut flow = json!({"id": id, "verifiable_address": email});
    if browser {
        flow["url"] = json!(format!("{UI}/verification?flow={id}"));
    }
    Some(json!({"action": "show_verification_ui", "flow": flow}))
}

fn sent_message(kind: &str) -> Value {
    if kind == "recovery" {
        json!({"id": 1060003, "type": "info", "text": "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."})
    } else {
        json!({"id": 1080003, "type": "info", "text": "An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."})
    }
}

fn email_problem(doc: &Value, id: u64, text: String) -> FakeResponse {
    let mut doc = doc.clone();
    if let Some(nodes) = doc.pointer_mut("/ui/nodes").and_then(Value::as_array_mut) {
        for n in nodes.iter_mut().filter(|n| n["attributes"]["name"] == "email") {
            n["messages"] = json!([{"id": id, "text": text, "type": "error"}]);
        }
    }
    FakeResponse::json(400, &doc)
}

fn submit(t: &mut TenantState, req: &FakeRequest<'_>, kind: &'static str) -> FakeResponse {
    let flow_id = req.q("flow").unwrap_or_default().to_owned();
    let (browser, admin, state) = match t.flows.get(&flow_id) {
        Some(f) if f.kind == kind && f.expires_at > now() => {
            (f.browser, f.admin, f.doc["state"].as_str().unwrap_or_default().to_owned())
        }
        Some(f) if f.kind == kind => return FakeResponse::error(410, "The self-service flow expired."),
        _ => return FakeResponse::error(404, "Unable to locate the resource"),
    };
    if browser && !admin && !flows::csrf_ok(req) {
        return flows::csrf_violation();
    }
    let body = req.json.cloned().unwrap_or(Value::Null);
    if body["method"].as_str() != Some("code") {
        return FakeResponse::error(501, "ory-iam FakeOry emulates only the code method of recovery and verification");
    }
    if state == "passed_challenge" {
        return FakeResponse::error(400, "The code was already used. Please request another code.");
    }
    let doc = t.flows[&flow_id].doc.clone();
    let csrf = csrf_of(&doc);
    // An email starts (or restarts) the flow; otherwise a code is checked.
    if body.get("email").is_some() || state == "choose_method" {
        let email = body["email"].as_str().unwrap_or_default().trim().to_lowercase();
        if email.is_empty() {
            return email_problem(&doc, 4000002, "Property email is missing.".into());
        }
        if !is_email(&email) {
            return email_problem(
                &doc,
                4000001,
                format!("{:?} is not valid \"email\"", body["email"].as_str().unwrap_or_default()),
            );
        }
        let mut next = doc.clone();
        next["state"] = json!("sent_email");
        next["ui"]["nodes"] = Value::Array(sent_nodes(kind, browser, Some(&email)));
        flows::set_csrf_value(&mut next, &csrf);
        next["ui"]["messages"] = json!([sent_message(kind)]);
        next["transient_payload"] = json!({});
        let code =
            owner(t, kind, &email).map(|identity_id| SentCode { code: code6(), identity_id, address: email.clone() });
        if let Some(c) = &code {
            let (to, c) = (c.address.clone(), c.code.clone());
            send(t, kind, &flow_id, &to, &c);
        }
        if let Some(f) = t.flows.get_mut(&flow_id) {
            f.doc = next.clone();
            f.code = code;
        }
        return FakeResponse::json(200, &next);
    }
    let given = body["code"].as_str().unwrap_or_default();
    let sent = t.flows[&flow_id]
        .code
        .as_ref()
        .filter(|c| !given.is_empty() && c.code == given)
        .map(|c| (c.identity_id.clone(), c.address.clone()));
    let Some((identity_id, address)) = sent else {
        let mut again = doc.clone();
        again["transient_payload"] = json!({});
        let msg = if kind == "recovery" {
            json!({"id": 4060006, "type": "error", "text": "The recovery code is invalid or has already been used. Please try again."})
        } else {
            json!({"id": 4070006, "type": "error", "text": "The verification code is invalid or has already been used. Please try again."})
        };
        again["ui"]["messages"] = json!([msg]);
        return FakeResponse::json(200, &again);
    };
    let mut done = doc.clone();
    done["state"] = json!("passed_challenge");
    if kind == "verification" {
        set_address_status(t, &address, "completed", true);
        let mut cont = node("continue", "a", "code", false);
        let to = t.flows[&flow_id].return_to.clone().unwrap_or_else(|| format!("{UI}/"));
        let label = json!({"id": 1070009, "text": "Continue", "type": "info"});
        cont["type"] = json!("a");
        cont["attributes"] = json!({"href": to, "title": label, "id": "continue", "node_type": "a"});
        cont["meta"] = json!({"label": label});
        let mut csrf_node = node("csrf_token", "hidden", "default", true);
        csrf_node["attributes"]["value"] = json!("");
        done["ui"]["nodes"] = json!([csrf_node, cont]);
        done["ui"]["messages"] =
            json!([{"id": 1080002, "text": "You successfully verified your email address.", "type": "success"}]);
        if let Some(f) = t.flows.get_mut(&flow_id) {
            f.doc = done.clone();
            f.code = None;
        }
        return FakeResponse::json(200, &done);
    }
    // Recovery: signed in, and sent to a settings flow to choose a new password.
    done["transient_payload"] = json!({});
    done["ui"]["messages"] = Value::Null;
    if let Some(o) = done["ui"].as_object_mut() {
        o.remove("messages");
    }
    let s = flows::start_session(t, &identity_id);
    let (settings_id, _) = flows::make_settings(t, req, &identity_id, browser, &csrf);
    let mut continue_with = Vec::new();
    if !browser {
        continue_with.push(json!({"action": "set_ory_session_token", "ory_session_token": s.token}));
    }
    continue_with.push(json!({"action": "show_settings_ui",
        "flow": {"id": settings_id, "url": format!("{UI}/settings?flow={settings_id}")}}));
    if let Some(f) = t.flows.get_mut(&flow_id) {
        f.doc = done.clone();
        f.code = None;
    }
    done["continue_with"] = Value::Array(continue_with);
    let r = FakeResponse::json(200, &done);
    if browser {
        flows::set_cookie(r, Some(flows::session_cookie(&s)))
    } else {
        r
    }
}

/// `POST /admin/recovery/{code,link}`: a browser recovery flow for the identity, with a code
/// (`201`; an unknown identity is `404`) or a link carrying a token (`200`; unknown: `400`).
fn admin(t: &mut TenantState, req: &FakeRequest<'_>, method: &str) -> FakeResponse {
    let identity_id = req.json.and_then(|b| b["identity_id"].as_str()).unwrap_or_default().to_owned();
    if !t.identities.contains_key(&identity_id) {
        return if method == "code" {
            FakeResponse::json(
                404,
                &json!({"error": {"code": 404, "status": "Not Found",
                "reason": "could not find identity", "message": "Unable to locate the resource"}}),
            )
        } else {
            FakeResponse::json(
                400,
                &json!({"error": {"code": 400, "status": "Bad Request",
                "reason": "The requested identity id does not exist.",
                "message": "The request was malformed or contained invalid parameters"}}),
            )
        };
    }
    let lifespan =
        req.json.and_then(|b| b["expires_in"].as_str()).and_then(parse_duration).unwrap_or(time::Duration::hours(1));
    let id = uuid::Uuid::new_v4().to_string();
    let nodes = if method == "code" {
        vec![code_node("recovery"), submit_node("method", "code", "submit")]
    } else {
        vec![node("csrf_token", "hidden", "default", true), email_node(), submit_node("method", "code", "submit")]
    };
    let state = if method == "code" { "sent_email" } else { "choose_method" };
    let mut doc = base_doc(&id, "recovery", true, nodes, state, format!("{BASE}/admin/recovery/{method}"));
    let expires_at = now() + lifespan;
    doc["expires_at"] = json!(ts(expires_at));
    let mut f = StoredFlow::new("recovery", doc, true, req);
    f.admin = true;
    f.expires_at = expires_at;
    f.return_to = None;
    let address =
        t.identities[&identity_id].doc["recovery_addresses"][0]["value"].as_str().unwrap_or_default().to_owned();
    if method == "code" {
        let code = code6();
        f.code = Some(SentCode { code: code.clone(), identity_id, address });
        t.flows.insert(id.clone(), f);
        FakeResponse::json(
            201,
            &json!({"recovery_link": format!("{UI}/recovery?flow={id}"), "recovery_code": code, "expires_at": ts(expires_at)}),
        )
    } else {
        let token = super::random_token("")[..32].to_owned();
        f.code = Some(SentCode { code: token.clone(), identity_id, address });
        t.flows.insert(id.clone(), f);
        FakeResponse::json(
            200,
            &json!({"recovery_link": format!("{BASE}/self-service/recovery?flow={id}&token={token}"), "expires_at": ts(expires_at)}),
        )
    }
}

/// A recovery link opened by the browser: signed in, `303` to the settings UI.
fn open_link(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let flow_id = req.q("flow").unwrap_or_default();
    let token = req.q("token").unwrap_or_default();
    let found = t
        .flows
        .get(flow_id)
        .filter(|f| f.kind == "recovery" && f.expires_at > now())
        .and_then(|f| f.code.as_ref())
        .filter(|c| c.code == token)
        .map(|c| c.identity_id.clone());
    let Some(identity_id) = found else {
        return FakeResponse::error(404, "Unable to locate the resource");
    };
    if let Some(f) = t.flows.get_mut(flow_id) {
        f.code = None;
        f.doc["state"] = json!("passed_challenge");
    }
    let s = flows::start_session(t, &identity_id);
    let (settings_id, _) = flows::make_settings(t, req, &identity_id, true, "");
    let mut r = FakeResponse::empty(303);
    if let Ok(v) = http::HeaderValue::from_str(&format!("{UI}/settings?flow={settings_id}")) {
        r.headers.push((http::header::LOCATION, v));
    }
    flows::set_cookie(r, Some(flows::session_cookie(&s)))
}

/// Go durations as Kratos takes them for `expires_in` (`1h`, `30m`, `90s`, `1h30m`).
fn parse_duration(s: &str) -> Option<time::Duration> {
    let mut total = 0i64;
    let mut num = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        total += n * match ch {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    (num.is_empty() && total > 0).then(|| time::Duration::seconds(total))
}

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    Some(match segs {
        ["self-service", kind @ ("recovery" | "verification"), mode @ ("api" | "browser")] if m == Method::GET => {
            let kind = if *kind == "recovery" { "recovery" } else { "verification" };
            new_flow(t, req, kind, *mode == "browser")
        }
        ["self-service", kind @ ("recovery" | "verification")] if m == Method::POST && req.q("flow").is_some() => {
            submit(t, req, if *kind == "recovery" { "recovery" } else { "verification" })
        }
        ["self-service", "recovery"] if m == Method::GET && req.q("token").is_some() => open_link(t, req),
        ["admin", "recovery", method @ ("code" | "link")] if m == Method::POST => admin(t, req, method),
        _ => return None,
    })
}

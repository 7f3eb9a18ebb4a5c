//! Kratos admin identities and sessions, and the public `whoami`, in memory.

use super::{now, ts, FakeRequest, FakeResponse, StoredSession, TenantState, SESSION_COOKIE, SESSION_LIFESPAN};
use http::Method;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

const DEFAULT_PAGE: usize = 250;
const MAX_PAGE: usize = 1000;

pub(crate) struct StoredIdentity {
    /// The identity as Kratos returns it (without `credentials`).
    pub doc: Value,
    /// Credential type → identifiers.
    pub credentials: Map<String, Value>,
    /// The salted hash of the identity's password (registration, or `credentials.password`).
    pub password: Option<String>,
}

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    Some(match segs {
        ["self-service", ..] => return super::flows::handle(t, req, segs),
        ["admin", "recovery", ..] => return super::recovery::handle(t, req, segs),
        ["admin", "courier", ..] => return super::courier::handle(t, req, segs),
        ["admin", "identities", id, "credentials", ty] if m == Method::DELETE => delete_credential(t, req, id, ty),
        ["sessions", "whoami"] if m == Method::GET => whoami(t, req),
        ["sessions"] if m == Method::GET => list_my_sessions(t, req),
        ["sessions"] if m == Method::DELETE => revoke_my_other_sessions(t, req),
        ["sessions", id] if m == Method::DELETE => revoke_my_session(t, req, id),
        ["admin", "sessions"] if m == Method::GET => list_all_sessions(t, req),
        ["admin", "version"] | ["version"] if m == Method::GET => {
            FakeResponse::json(200, &json!({"version": "v1.3.1"}))
        }
        ["schemas"] | ["admin", "schemas"] if m == Method::GET => list_schemas(t, req),
        ["schemas", id] | ["admin", "schemas", id] if m == Method::GET => get_schema(t, id),
        ["admin", "identities"] if m == Method::GET => list_identities(t, req),
        ["admin", "identities"] if m == Method::POST => create_identity(t, req),
        ["admin", "identities"] if m == Method::PATCH => batch(t, req),
        ["admin", "identities", id] => {
            if !t.identities.contains_key(*id) {
                return Some(FakeResponse::error(404, "Unable to locate the resource"));
            }
            match *m {
                Method::GET => FakeResponse::json(200, &identity_json(t, id, &req.q_all("include_credential"))),
                Method::PUT => put_identity(t, req, id),
                Method::PATCH => patch_identity(t, req, id),
                Method::DELETE => {
                    t.identities.remove(*id);
                    t.sessions.retain(|_, s| s.identity_id != *id);
                    FakeResponse::empty(204)
                }
                _ => return None,
            }
        }
        ["admin", "identities", id, "sessions"] if m == Method::GET => list_sessions(t, req, id),
        ["admin", "identities", id, "sessions"] if m == Method::DELETE => {
            if !t.identities.contains_key(*id) {
                return Some(FakeResponse::error(404, "Unable to locate the resource"));
            }
            for s in t.sessions.values_mut().filter(|s| s.identity_id == *id) {
                s.active = false;
            }
            FakeResponse::empty(204)
        }
        ["admin", "sessions", id] => {
            let Some(s) = t.sessions.get(*id) else {
                return Some(FakeResponse::error(404, "Unable to locate the resource"));
            };
            match *m {
                Method::GET => FakeResponse::json(200, &session_json(t, s)),
                Method::DELETE => {
                    if let Some(s) = t.sessions.get_mut(*id) {
                        s.active = false;
                    }
                    FakeResponse::empty(204)
                }
                _ => return None,
            }
        }
        ["admin", "sessions", id, "extend"] if m == Method::PATCH => match t.sessions.get_mut(*id) {
            Some(s) => {
                s.expires_at = now() + SESSION_LIFESPAN;
                let s = s.clone();
                FakeResponse::json(200, &session_json(t, &s))
            }
            None => FakeResponse::error(404, "Unable to locate the resource"),
        },
        _ => return None,
    })
}

/// `DELETE /admin/identities/{id}/credentials/{type}`, as Kratos v1.3.1: first-factor types
/// (`password`, `code`) are refused with `400`, a type the identity does not have is `404`;
/// an `oidc` credential loses the link named by `identifier` (the whole credential when none
/// is left).
fn delete_credential(t: &mut TenantState, req: &FakeRequest<'_>, id: &str, ty: &str) -> FakeResponse {
    let Some(i) = t.identities.get_mut(id) else {
        return FakeResponse::json(
            404,
            &json!({"error": {"code": 404, "status": "Not Found", "message": "Unable to locate the resource"}}),
        );
    };
    if matches!(ty, "password" | "code") {
        return FakeResponse::json(
            400,
            &json!({"error": {"code": 400, "status": "Bad Request",
            "reason": "You cannot remove first factor credentials.",
            "message": "The request was malformed or contained invalid parameters"}}),
        );
    }
    let missing = || {
        FakeResponse::json(
            404,
            &json!({"error": {"code": 404, "status": "Not Found",
            "reason": format!("You tried to remove a {ty} but this user have no {ty} set up."),
            "message": "The requested resource could not be found"}}),
        )
    };
    let Some(cred) = i.credentials.get_mut(ty) else { return missing() };
    if ty == "oidc" {
        let Some(which) = req.q("identifier") else { return missing() };
        let Some(ids) = cred["identifiers"].as_array_mut() else { return missing() };
        let before = ids.len();
        ids.retain(|x| x.as_str() != Some(which));
        if ids.len() == before {
            return missing();
        }
    } else {
        i.credentials.remove(ty);
    }
    FakeResponse::empty(204)
}

/// The identity's email: what the usual schemas mark as identifier and address.
fn email_of(traits: &Value) -> Option<String> {
    traits.get("email").and_then(Value::as_str).filter(|e| !e.is_empty()).map(str::to_lowercase)
}

fn taken(t: &TenantState, email: &Option<String>, except: &str) -> bool {
    let Some(e) = email else { return false };
    t.identities.iter().any(|(id, i)| id != except && email_of(&i.doc["traits"]).as_ref() == Some(e))
}

fn conflict() -> FakeResponse {
    FakeResponse::error(409, "This identity conflicts with another identity that already exists.")
}

fn bad_request(reason: &str) -> FakeResponse {
    FakeResponse::error(400, reason)
}

/// Where Kratos serves a schema: its public URL, `/schemas/` and the id in unpadded base64url.
fn schema_url(schema_id: &str) -> String {
    use base64::Engine;
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(schema_id);
    format!("http://kratos-public.fake.ory-iam.invalid/schemas/{enc}")
}

/// Traits against the identity's schema, answered as Kratos does: an unknown schema id and
/// every violated keyword are `400`.
fn validate(t: &TenantState, schema_id: &str, traits: &Value) -> Result<(), FakeResponse> {
    let Some(schema) = t.schemas.get(schema_id) else {
        return Err(bad_request(&format!("Unable to find JSON Schema ID: {schema_id}")));
    };
    match schema.violations(traits) {
        None => Ok(()),
        Some(reason) => Err(bad_request(&reason)),
    }
}

/// Addresses derived from the traits, keeping what was known about an address of the same value.
fn addresses(doc: &mut Value, verified_hint: &[String]) {
    let at = ts(now());
    let email = email_of(&doc["traits"]);
    let old: Vec<Value> = doc["verifiable_addresses"].as_array().cloned().unwrap_or_default();
    let find = |v: &str| old.iter().find(|a| a["value"].as_str() == Some(v)).cloned();
    let (verifiable, recovery) = match &email {
        Some(e) => {
            let mut v = find(e).unwrap_or_else(|| {
                json!({"id": uuid::Uuid::new_v4().to_string(), "value": e, "verified": false, "via": "email",
                       "status": "pending", "created_at": at, "updated_at": at})
            });
            if verified_hint.iter().any(|h| h.to_lowercase() == *e) {
                v["verified"] = json!(true);
                v["status"] = json!("completed");
                v["verified_at"] = json!(at);
            }
            let r = doc["recovery_addresses"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["value"].as_str() == Some(e)).cloned())
                .unwrap_or_else(|| {
                    json!({"id": uuid::Uuid::new_v4().to_string(), "value": e, "via": "email",
                           "created_at": at, "updated_at": at})
                });
            (vec![v], vec![r])
        }
        None => (Vec::new(), Vec::new()),
    };
    doc["verifiable_addresses"] = Value::Array(verifiable);
    doc["recovery_addresses"] = Value::Array(recovery);
}

fn valid_state(v: &Value) -> bool {
    matches!(v.as_str(), Some("active") | Some("inactive"))
}

fn create_identity(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    create_from(t, req.json)
}

/// `PATCH /admin/identities` with `create` entries, as Kratos v1.3.1 answers it: 200 with one
/// result per entry (`create` and the new id, or `error` with a generic body carrying the
/// status) — and, Kratos's quirk, when one entry conflicts none of the batch is kept although
/// the others are reported created.
fn batch(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(list) = req.json.and_then(|b| b.get("identities")).and_then(Value::as_array) else {
        return bad_request("identities is required");
    };
    let mut results = Vec::with_capacity(list.len());
    let mut made = Vec::new();
    let mut conflicted = false;
    for item in list {
        let patch_id = item.get("patch_id").cloned().unwrap_or(Value::Null);
        let Some(create) = item.get("create") else {
            results.push(
                json!({"action": "error", "patch_id": patch_id, "error": {"code": 400, "status": "Bad Request",
                "reason": "The request was malformed or contained invalid parameters",
                "message": "The request was malformed or contained invalid parameters"}}),
            );
            continue;
        };
        let r = create_from(t, Some(create));
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        match r.status {
            201 => {
                let id = body["id"].as_str().unwrap_or_default().to_owned();
                results.push(json!({"action": "create", "identity": id, "patch_id": patch_id}));
                made.push(id);
            }
            409 => {
                conflicted = true;
                results.push(json!({"action": "error", "patch_id": patch_id, "error": {"code": 409, "status": "Conflict",
                    "message": "Unable to insert or update resource because a resource with that value exists already"}}));
            }
            status => {
                let text =
                    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
                results.push(json!({"action": "error", "patch_id": patch_id, "error": {"code": status, "status": text,
                    "reason": "The request was malformed or contained invalid parameters",
                    "message": "The request was malformed or contained invalid parameters"}}));
            }
        }
    }
    if conflicted {
        for id in &made {
            t.identities.remove(id);
        }
    }
    FakeResponse::json(200, &json!({"identities": results}))
}

fn create_from(t: &mut TenantState, json: Option<&Value>) -> FakeResponse {
    let Some(body) = json.and_then(Value::as_object) else { return bad_request("body must be a JSON object") };
    // Kratos: no `schema_id` is the default schema; no `traits` is `{}` (then validated).
    let schema_id = match body.get("schema_id").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(s) => s.to_owned(),
        None => t.default_schema_id.clone(),
    };
    let empty = json!({});
    let traits = body.get("traits").unwrap_or(&empty);
    if let Err(e) = validate(t, &schema_id, traits) {
        return e;
    }
    let schema_id = schema_id.as_str();
    let state = body.get("state").cloned().unwrap_or(json!("active"));
    if !valid_state(&state) {
        return bad_request("state must be active or inactive");
    }
    let email = email_of(traits);
    if taken(t, &email, "") {
        return conflict();
    }
    let at = ts(now());
    let id = uuid::Uuid::new_v4().to_string();
    let mut doc = json!({
        "id": id, "schema_id": schema_id, "schema_url": schema_url(schema_id),
        "state": state, "state_changed_at": at, "traits": traits,
        "verifiable_addresses": [], "recovery_addresses": [],
        "metadata_public": body.get("metadata_public").cloned().unwrap_or(Value::Null),
        "metadata_admin": body.get("metadata_admin").cloned().unwrap_or(Value::Null),
        "created_at": at, "updated_at": at, "organization_id": null,
    });
    let hints: Vec<String> = body
        .get("verifiable_addresses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|x| x["verified"].as_bool() == Some(true))
                .filter_map(|x| x["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    addresses(&mut doc, &hints);
    let mut types: Vec<String> =
        body.get("credentials").and_then(Value::as_object).map(|c| c.keys().cloned().collect()).unwrap_or_default();
    // Kratos registers the schema's identifier as a `password` credential even without a password.
    if email.is_some() && !types.iter().any(|t| t == "password") {
        types.push("password".to_owned());
    }
    let mut credentials = Map::new();
    for ty in types {
        let identifiers: Vec<String> = if ty == "password" { email.iter().cloned().collect() } else { Vec::new() };
        let cred = json!({"type": ty, "identifiers": identifiers, "version": 0, "created_at": at, "updated_at": at, "config": {}});
        credentials.insert(ty, cred);
    }
    let password = body
        .get("credentials")
        .and_then(|c| c.pointer("/password/config/password"))
        .and_then(Value::as_str)
        .map(|p| super::flows::hash_password(p, &super::random_token("")));
    t.identities.insert(id.clone(), StoredIdentity { doc, credentials, password });
    FakeResponse::json(201, &identity_json(t, &id, &[]))
}

/// An identity made by a registration flow (already validated): its id, or the status Kratos's
/// admin API would have answered (`409` for a taken identifier).
pub(super) fn create_for_flow(t: &mut TenantState, body: &Value, password: &str) -> Result<String, u16> {
    let r = create_from(t, Some(body));
    if r.status != 201 {
        return Err(r.status);
    }
    let v: Value = serde_json::from_slice(&r.body).map_err(|_| 500u16)?;
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    if let Some(i) = t.identities.get_mut(&id) {
        i.password = Some(super::flows::hash_password(password, &super::random_token("")));
    }
    Ok(id)
}

pub(super) fn identity_json(t: &TenantState, id: &str, include: &[&str]) -> Value {
    let Some(i) = t.identities.get(id) else { return Value::Null };
    let mut doc = i.doc.clone();
    if !include.is_empty() {
        let creds: Map<String, Value> = i
            .credentials
            .iter()
            .filter(|(k, _)| include.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        doc["credentials"] = Value::Object(creds);
    }
    doc
}

/// Store a changed document after checks shared by PUT and PATCH.
pub(super) fn replace(t: &mut TenantState, id: &str, mut doc: Value) -> FakeResponse {
    let Some(schema_id) = doc["schema_id"].as_str().map(str::to_owned) else {
        return bad_request("schema_id must be a string");
    };
    if let Err(e) = validate(t, &schema_id, &doc["traits"]) {
        return e;
    }
    doc["schema_url"] = json!(schema_url(&schema_id));
    if !valid_state(&doc["state"]) {
        return bad_request("state must be active or inactive");
    }
    if doc["id"].as_str() != Some(id) {
        return bad_request("the id cannot be changed");
    }
    if taken(t, &email_of(&doc["traits"]), id) {
        return conflict();
    }
    let old_state = t.identities[id].doc["state"].clone();
    let at = ts(now());
    if doc["state"] != old_state {
        doc["state_changed_at"] = json!(at);
    }
    doc["updated_at"] = json!(at);
    addresses(&mut doc, &[]);
    if let Some(i) = t.identities.get_mut(id) {
        i.doc = doc;
    }
    FakeResponse::json(200, &identity_json(t, id, &[]))
}

fn put_identity(t: &mut TenantState, req: &FakeRequest<'_>, id: &str) -> FakeResponse {
    let Some(body) = req.json.and_then(Value::as_object) else { return bad_request("body must be a JSON object") };
    let mut doc = t.identities[id].doc.clone();
    // Kratos's PUT replaces these; omitted metadata is cleared.
    for k in ["schema_id", "traits", "state", "metadata_public", "metadata_admin"] {
        match body.get(k) {
            Some(v) => doc[k] = v.clone(),
            None if k.starts_with("metadata") => doc[k] = Value::Null,
            None => {}
        }
    }
    replace(t, id, doc)
}

const PATCHABLE: &[&str] = &["/traits", "/metadata_public", "/metadata_admin", "/state", "/schema_id"];

fn patch_identity(t: &mut TenantState, req: &FakeRequest<'_>, id: &str) -> FakeResponse {
    let Some(ops) = req.json else { return bad_request("body must be a JSON Patch") };
    let allowed = |p: &str| PATCHABLE.iter().any(|a| p == *a || p.starts_with(&format!("{a}/")));
    if let Some(list) = ops.as_array() {
        for op in list {
            if !op["path"].as_str().is_some_and(allowed) || op["from"].as_str().is_some_and(|f| !allowed(f)) {
                return bad_request("patch touches a field that cannot be changed");
            }
        }
    }
    let mut doc = t.identities[id].doc.clone();
    match super::hydra::apply_patch(&mut doc, ops) {
        Ok(()) => replace(t, id, doc),
        Err(why) => bad_request(why),
    }
}

pub(super) fn session_json(t: &TenantState, s: &StoredSession) -> Value {
    let active = s.active && s.expires_at > now();
    json!({
        "id": s.id,
        "active": active,
        "expires_at": ts(s.expires_at),
        "authenticated_at": ts(s.issued_at),
        "issued_at": ts(s.issued_at),
        "authenticator_assurance_level": "aal1",
        "authentication_methods": [{"method": "password", "aal": "aal1", "completed_at": ts(s.issued_at)}],
        "identity": identity_json(t, &s.identity_id, &[]),
        "devices": [],
    })
}

const FIRST_PAGE: &str = "00000000-0000-0000-0000-000000000000";

fn page_size(req: &FakeRequest<'_>) -> Result<usize, FakeResponse> {
    match req.q("page_size") {
        None => Ok(DEFAULT_PAGE),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(bad_request("page_size is out of range")),
        },
    }
}

/// Kratos's keyset paging of identities: the token is the last id of the previous page (the
/// nil UUID for the first page); anything but a UUID is `400`.
fn page<T>(items: Vec<(&str, T)>, req: &FakeRequest<'_>) -> Result<(Vec<T>, Option<String>), FakeResponse> {
    let size = page_size(req)?;
    let token = match req.q("page_token").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match uuid::Uuid::parse_str(t) {
            Ok(u) if !u.is_nil() => Some(u.to_string()),
            Ok(_) => None,
            Err(_) => return Err(bad_request("The page token is invalid, do not craft your own page tokens")),
        },
    };
    let mut it = items.into_iter().skip_while(|(k, _)| token.as_deref().is_some_and(|t| *k <= t)).peekable();
    let mut last = None;
    let mut out: Vec<T> = Vec::new();
    for (k, v) in it.by_ref().take(size) {
        last = Some(k.to_owned());
        out.push(v);
    }
    let next = if it.peek().is_some() { last } else { None };
    Ok((out, next))
}

fn link(path: &str, req: &FakeRequest<'_>, next: &Option<String>) -> Option<String> {
    let size = req.q("page_size").unwrap_or("250");
    let mut l = format!("</{path}?page_size={size}&page_token={FIRST_PAGE}>; rel=\"first\"");
    if let Some(n) = next {
        let enc: String = url::form_urlencoded::byte_serialize(n.as_bytes()).collect();
        l.push_str(&format!(",</{path}?page_size={size}&page_token={enc}>; rel=\"next\""));
    }
    Some(l)
}

fn list_identities(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    // Kratos's exact filters: `credentials_identifier` (here: the email trait) and `ids`.
    let ident = req.q("credentials_identifier").map(str::to_lowercase);
    let ids = req.q_all("ids");
    let items: Vec<(&str, &Value)> = t
        .identities
        .iter()
        .filter(|(_, i)| ident.is_none() || email_of(&i.doc["traits"]) == ident)
        .filter(|(id, _)| ids.is_empty() || ids.contains(&id.as_str()))
        .map(|(id, i)| (id.as_str(), &i.doc))
        .collect();
    match page(items, req) {
        Ok((items, next)) => {
            let items: Vec<Value> = items.into_iter().cloned().collect();
            FakeResponse::json(200, &Value::Array(items)).with_link(link("admin/identities", req, &next))
        }
        Err(e) => e,
    }
}

/// `GET /schemas`: `[{id, schema}]`, paged by offset like Kratos.
fn list_schemas(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let size = match page_size(req) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let offset = super::read_offset_token(req.q("page_token"));
    let all: Vec<Value> =
        t.schema_order.iter().filter_map(|id| t.schemas.get(id).map(|s| json!({"id": id, "schema": s.raw}))).collect();
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset).take(size).collect();
    let mut l = format!(
        "</schemas?page=0&page_size={size}&page_token={}&per_page={size}>; rel=\"first\"",
        super::offset_token(0)
    );
    if offset + size < total {
        l.push_str(&format!(
            ",</schemas?page_size={size}&page_token={}&per_page={size}>; rel=\"next\"",
            super::offset_token(offset + size)
        ));
    }
    FakeResponse::json(200, &Value::Array(page)).with_link(Some(l))
}

/// `GET /schemas/{id}`: the schema document (by its id, or its id in base64url as in
/// `schema_url`).
fn get_schema(t: &TenantState, id: &str) -> FakeResponse {
    use base64::Engine;
    let decoded =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id).ok().and_then(|b| String::from_utf8(b).ok());
    let found = t.schemas.get(id).or_else(|| decoded.as_deref().and_then(|d| t.schemas.get(d)));
    match found {
        Some(s) => FakeResponse::json(200, &s.raw),
        None => FakeResponse::error(404, "Identity schema could not be found."),
    }
}

fn list_sessions(t: &TenantState, req: &FakeRequest<'_>, id: &str) -> FakeResponse {
    // Kratos answers an unknown identity with an empty list, not 404.
    let active = req.q("active").map(|a| a == "true");
    let items: Vec<(&str, Value)> = t
        .sessions
        .values()
        .filter(|s| s.identity_id == id)
        .map(|s| (s.id.as_str(), session_json(t, s)))
        .filter(|(_, v)| active.is_none_or(|a| v["active"].as_bool() == Some(a)))
        .collect();
    // Kratos pages an identity's sessions by offset (`{"offset":"N","v":2}` tokens; one it cannot
    // read is the first page).
    let size = match page_size(req) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let offset = super::read_offset_token(req.q("page_token"));
    let total = items.len();
    let out: Vec<Value> = items.into_iter().skip(offset).take(size).map(|(_, v)| v).collect();
    let path = format!("admin/identities/{id}/sessions");
    let mut l = format!(
        "</{path}?page=0&page_size={size}&page_token={}&per_page={size}>; rel=\"first\"",
        super::offset_token(0)
    );
    // Kratos's quirk: an empty page (past the end, or an identity without sessions) still
    // names a next page.
    if offset + size < total || out.is_empty() {
        l.push_str(&format!(
            ",</{path}?page_size={size}&page_token={}&per_page={size}>; rel=\"next\"",
            super::offset_token(offset + size)
        ));
    }
    FakeResponse::json(200, &Value::Array(out)).with_link(Some(l))
}

/// The session token of the request: `X-Session-Token`, `Authorization: Bearer` or the cookie.
/// What the request presents: a session token (`X-Session-Token`, `Authorization: Bearer`) or
/// the session cookie's value. Like Kratos, a token is only a token and a cookie only a cookie.
enum Presented<'a> {
    Token(&'a str),
    Cookie(&'a str),
}

fn presented<'a>(req: &'a FakeRequest<'_>) -> Option<Presented<'a>> {
    let h = req.headers;
    if let Some(v) = h.get("x-session-token").and_then(|v| v.to_str().ok()) {
        return Some(Presented::Token(v.trim()));
    }
    if let Some(v) = h.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some((scheme, tok)) = v.split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") {
                return Some(Presented::Token(tok.trim()));
            }
        }
    }
    for v in h.get_all(http::header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k.trim() == SESSION_COOKIE {
                    return Some(Presented::Cookie(v.trim()));
                }
            }
        }
    }
    None
}

/// The caller's valid session: active, unexpired, of an active identity.
pub(super) fn current<'a>(t: &'a TenantState, req: &FakeRequest<'_>) -> Option<&'a StoredSession> {
    let found = match presented(req) {
        Some(Presented::Token(tok)) if !tok.is_empty() => t.sessions.values().find(|s| s.token == tok),
        Some(Presented::Cookie(c)) if !c.is_empty() => t.sessions.values().find(|s| s.cookie == c),
        _ => None,
    }?;
    let live = found.active && found.expires_at > now();
    let identity_active = t.identities.get(&found.identity_id).is_some_and(|i| i.doc["state"] == "active");
    (live && identity_active).then_some(found)
}

fn whoami(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    match current(t, req) {
        Some(s) => FakeResponse::json(200, &session_json(t, s)),
        None => FakeResponse::error(401, "No valid session credentials found in the request."),
    }
}

/// The caller's other sessions, newest first (`GET /sessions`: the active ones;
/// `DELETE /sessions`: all of them).
fn others<'a>(t: &'a TenantState, me: &StoredSession) -> Vec<&'a StoredSession> {
    let mut v: Vec<&StoredSession> =
        t.sessions.values().filter(|s| s.identity_id == me.identity_id && s.id != me.id).collect();
    v.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then_with(|| a.id.cmp(&b.id)));
    v
}

fn no_session_cookie() -> FakeResponse {
    FakeResponse::error(401, "No valid session cookie found.")
}

/// `GET /sessions`: the caller's other active sessions, offset-paged like Kratos.
fn list_my_sessions(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(me) = current(t, req) else { return no_session_cookie() };
    let size = match page_size(req) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let offset = super::read_offset_token(req.q("page_token"));
    let all: Vec<Value> =
        others(t, me).into_iter().filter(|s| s.active && s.expires_at > now()).map(|s| session_json(t, s)).collect();
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset).take(size).collect();
    let mut links = Vec::new();
    // As for an identity's sessions: an empty page still names a next page.
    if offset + size < total || page.is_empty() {
        let next = offset + size;
        links.push(format!(
            "</sessions?page={}&page_size={size}&page_token={}&per_page={size}>; rel=\"next\"",
            next / size,
            super::offset_token(next)
        ));
        let last = total.saturating_sub(1) / size * size;
        links.push(format!(
            "</sessions?page={}&page_size={size}&page_token={}&per_page={size}>; rel=\"last\"",
            last / size,
            super::offset_token(last)
        ));
    }
    let mut r = FakeResponse::json(200, &Value::Array(page)).with_link((!links.is_empty()).then(|| links.join(",")));
    if let Ok(v) = http::HeaderValue::from_str(&total.to_string()) {
        r.headers.push((http::HeaderName::from_static("x-total-count"), v));
    }
    r
}

/// `DELETE /sessions`: revokes the caller's other sessions; Kratos counts every other session,
/// revoked ones included.
fn revoke_my_other_sessions(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(me) = current(t, req) else { return no_session_cookie() };
    let ids: Vec<String> = others(t, me).into_iter().map(|s| s.id.clone()).collect();
    for id in &ids {
        if let Some(s) = t.sessions.get_mut(id) {
            s.active = false;
        }
    }
    FakeResponse::json(200, &json!({"count": ids.len()}))
}

/// `DELETE /sessions/{id}`: one of the caller's other sessions (another identity's or an
/// unknown id: nothing happens, still 204); the current session is refused.
fn revoke_my_session(t: &mut TenantState, req: &FakeRequest<'_>, id: &str) -> FakeResponse {
    let Some(me) = current(t, req) else { return no_session_cookie() };
    if me.id == id {
        return FakeResponse::json(
            400,
            &json!({"error": {"code": 400, "status": "Bad Request", "message": "cannot revoke current session"}}),
        );
    }
    let identity = me.identity_id.clone();
    if let Some(s) = t.sessions.get_mut(id).filter(|s| s.identity_id == identity) {
        s.active = false;
    }
    FakeResponse::empty(204)
}

/// `GET /admin/sessions`: every session, newest first, with Kratos's keyset page tokens
/// (`id=<id>/created_at=<time>` in base64url; one it did not make is `400`).
fn list_all_sessions(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    use base64::Engine;
    let enc = |s: &StoredSession| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("id={}/created_at={}", s.id, ts(s.issued_at)))
    };
    let size = match page_size(req) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let after: Option<(OffsetDateTime, String)> = match req.q("page_token").filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => {
            let parsed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| {
                    let (id, at) = s.strip_prefix("id=")?.split_once("/created_at=")?;
                    let at = OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
                    uuid::Uuid::parse_str(id).ok().map(|_| (at, id.to_owned()))
                });
            match parsed {
                Some(a) => Some(a),
                None => return bad_request("The page token is invalid, do not craft your own page tokens"),
            }
        }
    };
    let active = req.q("active").map(|a| a == "true");
    let mut all: Vec<&StoredSession> =
        t.sessions.values().filter(|s| active.is_none_or(|a| (s.active && s.expires_at > now()) == a)).collect();
    all.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then_with(|| a.id.cmp(&b.id)));
    let mut it = all
        .into_iter()
        .skip_while(|s| {
            after.as_ref().is_some_and(|(at, id)| {
                // Kratos's timestamps in the token keep microseconds; ours keep what `ts` writes.
                s.issued_at > *at || (s.issued_at == *at && s.id.as_str() <= id.as_str())
            })
        })
        .peekable();
    let mut page = Vec::new();
    let mut last: Option<&StoredSession> = None;
    for s in it.by_ref().take(size) {
        page.push(session_json(t, s));
        last = Some(s);
    }
    let mut l = format!(
        "</admin/sessions?expand=identity&page_size={size}&page_token={}>; rel=\"first\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode("id=00000000-0000-0000-0000-000000000000/created_at=2200-12-31T23:59:59Z")
    );
    if let (Some(_), Some(s)) = (it.peek(), last) {
        l.push_str(&format!(",</admin/sessions?expand=identity&page_size={size}&page_token={}>; rel=\"next\"", enc(s)));
    }
    FakeResponse::json(200, &Value::Array(page)).with_link(Some(l))
}

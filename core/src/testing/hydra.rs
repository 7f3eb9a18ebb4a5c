//! Hydra in memory: the client-credentials grant with opaque tokens, introspection, revocation
//! and OAuth2 client administration. Also the JSON Patch used by the fake's PATCH endpoints.

use super::{now, random_token, ts, FakeRequest, FakeResponse, TenantState, TOKEN_LIFESPAN_SECS};
use http::Method;
use serde_json::{json, Value};

pub(crate) struct StoredClient {
    /// The client as Hydra returns it (never with its secret).
    pub doc: Value,
    pub secret: Option<String>,
    /// The fake's own configured client may ask for any scope.
    any_scope: bool,
}

impl StoredClient {
    pub fn new(doc: Value, secret: Option<String>, any_scope: bool) -> Self {
        StoredClient { doc, secret, any_scope }
    }

    pub(crate) fn allows(&self, scope: &str) -> bool {
        self.any_scope || self.doc["scope"].as_str().unwrap_or("").split(' ').any(|s| s == scope || wildcard(s, scope))
    }
}

/// Hydra's default `wildcard` scope strategy: `photos.*` covers `photos.read`.
pub(super) fn wildcard(granted: &str, scope: &str) -> bool {
    granted.strip_suffix('*').is_some_and(|p| p.ends_with('.') && scope.starts_with(p))
}

pub(crate) struct StoredToken {
    pub client_id: String,
    pub scope: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub active: bool,
    /// The subject and audience of a JWT-bearer grant's token (`None`: the client's own).
    pub sub: Option<String>,
    pub aud: Vec<String>,
}

impl TenantState {
    pub(crate) fn mint_token(&mut self, client_id: &str, scope: Vec<String>) -> String {
        let token = random_token("ory_at_");
        let iat = now().unix_timestamp();
        self.tokens.insert(
            token.clone(),
            StoredToken {
                client_id: client_id.to_owned(),
                scope,
                iat,
                exp: iat + TOKEN_LIFESPAN_SECS,
                active: true,
                sub: None,
                aud: Vec::new(),
            },
        );
        token
    }
}

pub(super) fn oauth_error(status: u16, error: &str) -> FakeResponse {
    FakeResponse::json(status, &json!({"error": error, "error_description": error}))
}

pub(super) fn hydra_error(status: u16, what: &str) -> FakeResponse {
    FakeResponse::json(status, &json!({"error": what, "error_description": what, "status_code": status}))
}

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    Some(match segs {
        ["version"] if m == Method::GET => FakeResponse::json(200, &json!({"version": "v2.3.0"})),
        ["oauth2", "token"] if m == Method::POST => token(t, req),
        ["oauth2", "revoke"] if m == Method::POST => match authenticate(t, req) {
            Ok(c) => {
                // RFC 7009 as Hydra does it: a token of another client is left alone, and the
                // answer is still 200.
                let caller = c.doc["client_id"].as_str().unwrap_or_default().to_owned();
                let flow_token = req.f("token").is_some_and(|v| super::hydra_flows::revoke(t, v, &caller));
                if let Some(tok) = req.f("token").filter(|_| !flow_token).and_then(|v| t.tokens.get_mut(v)) {
                    if tok.client_id == caller {
                        tok.active = false;
                    }
                }
                FakeResponse::empty(200)
            }
            Err(e) => e,
        },
        ["admin", "oauth2", "introspect"] if m == Method::POST => introspect(t, req),
        ["admin", "clients"] if m == Method::POST => create_client(t, req),
        ["admin", "clients"] if m == Method::GET => list_clients(t, req),
        ["admin", "clients", id] => {
            if !t.clients.contains_key(*id) {
                return Some(hydra_error(404, "Unable to locate the resource"));
            }
            match *m {
                Method::GET => FakeResponse::json(200, &t.clients[*id].doc),
                Method::DELETE => {
                    t.clients.remove(*id);
                    t.hydra_admin.forget_client(id, true);
                    FakeResponse::empty(204)
                }
                Method::PUT => match req.json.filter(|v| v.is_object()) {
                    Some(body) => {
                        if let Err(e) = validate_client(body) {
                            return Some(e);
                        }
                        let mut body = body.clone();
                        let secret = body.as_object_mut().and_then(|o| o.remove("client_secret"));
                        let mut doc = client_doc(&body, id, &t.clients[*id].doc["created_at"]);
                        let c = t.clients.get_mut(*id).expect("checked above");
                        if let Some(s) = secret.as_ref().and_then(Value::as_str) {
                            c.secret = Some(s.to_owned());
                            doc["client_secret"] = json!(s);
                        }
                        c.doc = doc.clone();
                        if let Some(o) = c.doc.as_object_mut() {
                            o.remove("client_secret");
                        }
                        t.hydra_admin.forget_client(id, false);
                        FakeResponse::json(200, &doc)
                    }
                    None => hydra_error(400, "the body must be a client"),
                },
                Method::PATCH => {
                    let mut doc = t.clients[*id].doc.clone();
                    // Hydra drops what is not a client member: an operation on an unknown
                    // member changes nothing (and is no error).
                    let known = |op: &Value| {
                        let top = op["path"].as_str().unwrap_or_default().trim_start_matches('/');
                        let top = top.split('/').next().unwrap_or_default();
                        top.is_empty() || top == "client_secret" || doc.get(top).is_some()
                    };
                    let ops = req.json.map(|o| match o.as_array() {
                        Some(list) => Value::Array(list.iter().filter(|op| known(op)).cloned().collect()),
                        None => o.clone(),
                    });
                    match ops.as_ref().ok_or("a JSON Patch is required").and_then(|ops| apply_patch(&mut doc, ops)) {
                        Ok(()) if doc["client_id"].as_str() == Some(*id) => {
                            if let Err(e) = validate_client(&doc) {
                                return Some(e);
                            }
                            let created = doc["created_at"].clone();
                            let doc = client_doc(&doc, id, &created);
                            t.clients.get_mut(*id).expect("checked above").doc = doc.clone();
                            t.hydra_admin.forget_client(id, false);
                            FakeResponse::json(200, &doc)
                        }
                        Ok(()) => hydra_error(400, "the client id cannot be changed"),
                        Err(why) => hydra_error(400, why),
                    }
                }
                _ => return None,
            }
        }
        _ => return super::hydra_admin::handle(t, req, segs).or_else(|| super::jwk::handle(t, req, segs)),
    })
}

/// The client of a token or revocation request: Basic auth, or `client_id` (+ `client_secret`)
/// in the form.
pub(super) fn authenticate<'a>(t: &'a TenantState, req: &FakeRequest<'_>) -> Result<&'a StoredClient, FakeResponse> {
    use base64::Engine;
    let (id, secret) = match req.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(v) if v.len() > 6 && v[..6].eq_ignore_ascii_case("basic ") => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(v[6..].trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| oauth_error(401, "invalid_client"))?;
            let (i, s) = raw.split_once(':').ok_or_else(|| oauth_error(401, "invalid_client"))?;
            let dec =
                |x: &str| url::form_urlencoded::parse(format!("x={x}").as_bytes()).next().map(|(_, v)| v.into_owned());
            (dec(i).unwrap_or_default(), dec(s))
        }
        _ => (req.f("client_id").unwrap_or("").to_owned(), req.f("client_secret").map(str::to_owned)),
    };
    let c = t.clients.get(&id).ok_or_else(|| oauth_error(401, "invalid_client"))?;
    match (&c.secret, secret) {
        (Some(want), Some(got)) if *want == got => Ok(c),
        (None, None) => Ok(c),
        _ => Err(oauth_error(401, "invalid_client")),
    }
}

fn token(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    if let Some(r) = super::hydra_flows::token(t, req) {
        return r;
    }
    let c = match authenticate(t, req) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if req.f("grant_type") == Some(crate::hydra::token::JWT_BEARER) {
        let c = StoredClient { doc: c.doc.clone(), secret: c.secret.clone(), any_scope: c.any_scope };
        return super::hydra_admin::jwt_bearer(t, req, &c);
    }
    if req.f("grant_type") != Some("client_credentials") {
        return oauth_error(400, "unsupported_grant_type");
    }
    if c.secret.is_none()
        || !c.doc["grant_types"].as_array().is_some_and(|g| g.iter().any(|x| x == "client_credentials"))
    {
        return oauth_error(400, "unauthorized_client");
    }
    let scope: Vec<String> =
        req.f("scope").unwrap_or("").split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if !scope.iter().all(|s| c.allows(s)) {
        return oauth_error(400, "invalid_scope");
    }
    let client_id = c.doc["client_id"].as_str().unwrap_or_default().to_owned();
    let joined = scope.join(" ");
    let access = t.mint_token(&client_id, scope);
    let lifespan = t.hydra_admin.access_lifespan(&client_id, "client_credentials");
    if let Some(tok) = t.tokens.get_mut(&access) {
        tok.exp = tok.iat + lifespan;
    }
    FakeResponse::json(
        200,
        &json!({"access_token": access, "expires_in": lifespan - 1, "scope": joined, "token_type": "bearer"}),
    )
}

fn introspect(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(token) = req.f("token").filter(|v| !v.is_empty()) else {
        return oauth_error(400, "invalid_request");
    };
    let wanted: Vec<&str> = req.f("scope").unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
    if let Some(r) = super::hydra_flows::introspect(t, token, &wanted) {
        return r;
    }
    match t.tokens.get(token) {
        Some(tok)
            if tok.active
                && tok.exp > now().unix_timestamp()
                && wanted.iter().all(|w| tok.scope.iter().any(|s| s == w)) =>
        {
            FakeResponse::json(
                200,
                &json!({
                    "active": true, "client_id": tok.client_id, "sub": tok.sub.as_ref().unwrap_or(&tok.client_id),
                    "scope": (!tok.scope.is_empty()).then(|| tok.scope.join(" ")), "exp": tok.exp, "iat": tok.iat, "nbf": tok.iat,
                    "iss": t.hydra_admin.issuer(), "aud": tok.aud,
                    "token_type": "Bearer", "token_use": "access_token",
                }),
            )
        }
        _ => FakeResponse::json(200, &json!({"active": false})),
    }
}

/// A client document with Hydra's defaults for what `body` leaves out.
pub(super) fn client_doc(body: &Value, id: &str, created_at: &Value) -> Value {
    let at = ts(now());
    let get = |k: &str, default: Value| body.get(k).filter(|v| !v.is_null()).cloned().unwrap_or(default);
    json!({
        "client_id": id,
        "client_name": get("client_name", json!("")),
        "grant_types": get("grant_types", Value::Null),
        "response_types": get("response_types", Value::Null),
        "redirect_uris": get("redirect_uris", Value::Null),
        "scope": get("scope", json!("offline_access offline openid")),
        "audience": get("audience", json!([])),
        "owner": get("owner", json!("")),
        "token_endpoint_auth_method": get("token_endpoint_auth_method", json!("client_secret_basic")),
        "metadata": get("metadata", json!({})),
        "created_at": if created_at.is_null() { json!(at) } else { created_at.clone() },
        "updated_at": at,
    })
}

fn create_client(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(body) = req.json.filter(|v| v.is_object()) else { return hydra_error(400, "the body must be a client") };
    if let Err(e) = validate_client(body) {
        return e;
    }
    let id = body["client_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if t.clients.contains_key(&id) {
        return hydra_error(409, "a client with this id exists");
    }
    let mut doc = client_doc(body, &id, &Value::Null);
    // The stack enables dynamic registration: Hydra then gives every client it creates a
    // registration access token, and a registration URI without the id (v2.3.0 builds it
    // before choosing the id).
    let uri = format!("{}/oauth2/register/{}", t.hydra_admin.public_url, body["client_id"].as_str().unwrap_or(""));
    let registration = t.hydra_admin.issue_registration_token(&id);
    let secret = if doc["token_endpoint_auth_method"] == "none" {
        None
    } else {
        Some(body["client_secret"].as_str().map(str::to_owned).unwrap_or_else(|| random_token("")))
    };
    t.clients.insert(id.clone(), StoredClient::new(doc.clone(), secret.clone(), false));
    if let Some(s) = secret {
        doc["client_secret"] = json!(s);
    }
    doc["registration_access_token"] = json!(registration);
    doc["registration_client_uri"] = json!(uri);
    FakeResponse::json(201, &doc)
}

/// Hydra's checks of a client's metadata, with its error codes: every redirect URI must be an
/// absolute URL or an absolute path (Go's `ParseRequestURI`) without a fragment, and a given
/// secret must be at least 6 characters long.
pub(super) fn validate_client(body: &Value) -> Result<(), FakeResponse> {
    let describe =
        |error: &str, why: String| FakeResponse::json(400, &json!({"error": error, "error_description": why}));
    if let Some(uris) = body.get("redirect_uris").and_then(Value::as_array) {
        for u in uris {
            let u = u.as_str().unwrap_or_default();
            let parses = if u.starts_with('/') { !u.chars().any(char::is_control) } else { url::Url::parse(u).is_ok() };
            if !parses {
                return Err(describe(
                    "invalid_redirect_uri",
                    format!("The value of one or more redirect_uris is invalid. Unable to parse redirect URL: {u}"),
                ));
            }
            if u.contains('#') {
                return Err(describe(
                    "invalid_redirect_uri",
                    "The value of one or more redirect_uris is invalid. Redirect URIs must not contain fragments (#)."
                        .into(),
                ));
            }
        }
    }
    if let Some(secret) = body.get("client_secret").and_then(Value::as_str) {
        if !secret.is_empty() && secret.chars().count() < 6 {
            return Err(describe(
                "invalid_client_metadata",
                "The value of one of the Client Metadata fields is invalid and the server has rejected this request. \
                 Note that an Authorization Server MAY choose to substitute a valid value for any requested parameter \
                 of a Client's Metadata. Field client_secret must contain a secret that is at least 6 characters long."
                    .into(),
            ));
        }
    }
    Ok(())
}

fn list_clients(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let size = match req.q("page_size").map(str::parse::<usize>) {
        None => 250,
        Some(Ok(n)) if (1..=500).contains(&n) => n,
        Some(_) => return hydra_error(400, "page_size is out of range"),
    };
    // Hydra pages clients by offset; a token it cannot read is the first page.
    let offset = super::read_offset_token(req.q("page_token"));
    let (name, owner) = (req.q("client_name"), req.q("owner"));
    let matching: Vec<&StoredClient> = t
        .clients
        .values()
        .filter(|c| name.is_none_or(|n| c.doc["client_name"] == n) && owner.is_none_or(|o| c.doc["owner"] == o))
        .collect();
    let total = matching.len();
    let items: Vec<Value> = matching.iter().skip(offset).take(size).map(|c| c.doc.clone()).collect();
    let link_to = |off: usize, rel: &str| {
        format!("</admin/clients?page_size={size}&page_token={}>; rel=\"{rel}\"", super::offset_token(off))
    };
    let mut links = Vec::new();
    if offset + size < total {
        links.push(link_to(offset + size, "next"));
        links.push(link_to((total - 1) / size * size, "last"));
    }
    let link = if links.is_empty() { None } else { Some(links.join(",")) };
    let mut r = FakeResponse::json(200, &Value::Array(items)).with_link(link);
    if let Ok(v) = http::HeaderValue::from_str(&total.to_string()) {
        r.headers.push((http::HeaderName::from_static("x-total-count"), v));
    }
    r
}

/// RFC 6902 on `doc`: `add`, `remove`, `replace`, `move`, `copy`, `test`. All or nothing.
pub(super) fn apply_patch(doc: &mut Value, ops: &Value) -> Result<(), &'static str> {
    let ops = ops.as_array().ok_or("a JSON Patch is an array of operations")?;
    let mut out = doc.clone();
    for op in ops {
        let path = op["path"].as_str().ok_or("every operation needs a path")?;
        match op["op"].as_str() {
            Some("add") => add(&mut out, path, op.get("value").ok_or("add needs a value")?.clone())?,
            Some("remove") => {
                remove(&mut out, path)?;
            }
            Some("replace") => {
                remove(&mut out, path)?;
                add(&mut out, path, op.get("value").ok_or("replace needs a value")?.clone())?;
            }
            Some("move") => {
                let v = remove(&mut out, op["from"].as_str().ok_or("move needs from")?)?;
                add(&mut out, path, v)?;
            }
            Some("copy") => {
                let v =
                    out.pointer(op["from"].as_str().ok_or("copy needs from")?).cloned().ok_or("from does not exist")?;
                add(&mut out, path, v)?;
            }
            Some("test") => {
                if out.pointer(path) != op.get("value") {
                    return Err("test failed");
                }
            }
            _ => return Err("unknown operation"),
        }
    }
    *doc = out;
    Ok(())
}

fn split(path: &str) -> Result<(&str, String), &'static str> {
    let i = path.rfind('/').ok_or("a path is a JSON Pointer")?;
    Ok((&path[..i], path[i + 1..].replace("~1", "/").replace("~0", "~")))
}

fn add(doc: &mut Value, path: &str, v: Value) -> Result<(), &'static str> {
    if path.is_empty() {
        *doc = v;
        return Ok(());
    }
    let (parent, key) = split(path)?;
    match doc.pointer_mut(parent).ok_or("the parent does not exist")? {
        Value::Object(m) => {
            m.insert(key, v);
            Ok(())
        }
        Value::Array(a) if key == "-" => {
            a.push(v);
            Ok(())
        }
        Value::Array(a) => {
            let i: usize = key.parse().map_err(|_| "bad array index")?;
            if i > a.len() {
                return Err("array index out of range");
            }
            a.insert(i, v);
            Ok(())
        }
        // Kratos stores missing metadata as null; adding below it creates the object.
        p @ Value::Null => {
            *p = json!({ key: v });
            Ok(())
        }
        _ => Err("the parent is not a container"),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, &'static str> {
    let (parent, key) = split(path)?;
    match doc.pointer_mut(parent).ok_or("the parent does not exist")? {
        Value::Object(m) => m.remove(&key).ok_or("the path does not exist"),
        Value::Array(a) => {
            let i: usize = key.parse().map_err(|_| "bad array index")?;
            if i >= a.len() {
                return Err("array index out of range");
            }
            Ok(a.remove(i))
        }
        _ => Err("the path does not exist"),
    }
}

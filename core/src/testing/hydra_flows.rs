//! Hydra's authorization-code flow in memory: `GET /oauth2/auth` (started by
//! [`FakeOry::authorize`], followed by [`FakeOry::follow`] as a browser would), the login and
//! consent challenges of the admin API, the `authorization_code` and `refresh_token` grants of
//! `POST /oauth2/token` (ID tokens signed with the `hydra.openid.id-token` key), `/userinfo`, and
//! the consent and login sessions (`/admin/oauth2/auth/sessions/*`).
//!
//! Compared with Hydra v2.3.0 (the stack's): a challenge stays readable and decidable after it
//! was decided (Hydra v2 answers `200` again, with a new verifier each time); a verifier works
//! once (the second visit sends the browser to the client with `access_denied`); an unknown
//! challenge is `404`; a code is single use (its second redemption is `invalid_grant` and revokes
//! the tokens issued for it); a code redeemed by another client or with another `redirect_uri`
//! is `invalid_grant` and stays usable; a failed PKCE check spends the code; a refresh token is
//! single use (its reuse is `invalid_grant` and revokes the tokens of its family); every
//! accepted consent is listed (whatever `remember`), and revoking it makes its tokens inactive;
//! revoking login sessions leaves tokens and consents alone. Not emulated: remembered logins
//! (there is no browser cookie jar, so `skip` is always `false`), logout challenges (an unknown
//! one answers `404` as Hydra's; the fake issues none), prompt/max_age and implicit flows.

use super::hydra::{authenticate, hydra_error, oauth_error};
use super::{now, random_token, ts, FakeOry, FakeRequest, FakeResponse, TenantState, TOKEN_LIFESPAN_SECS};
use crate::error::{Error, ErrorKind, Result};
use http::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Where the fake Hydra sends the browser for login, consent and errors (its `urls.login`,
/// `urls.consent`, `urls.error`).
pub const LOGIN_URL: &str = "http://app.fake.ory-iam.invalid/login";
pub const CONSENT_URL: &str = "http://app.fake.ory-iam.invalid/consent";
pub const ERROR_URL: &str = "http://app.fake.ory-iam.invalid/error";
/// Hydra's default refresh-token lifespan (720 h).
const REFRESH_LIFESPAN_SECS: i64 = 720 * 3600;

/// An authorization request as a browser would start it at `GET /oauth2/auth`
/// ([`FakeOry::authorize`]). `scope` is space-separated.
#[derive(Clone, Debug, Default)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    /// `code` when empty.
    pub response_type: Option<String>,
    pub code_challenge: Option<String>,
    /// `S256` or `plain`; Hydra's default `plain` when a challenge is given without it.
    pub code_challenge_method: Option<String>,
    /// Space-separated requested access-token audience.
    pub audience: Option<String>,
    pub nonce: Option<String>,
}

#[derive(Clone)]
struct AuthReq {
    client_id: String,
    redirect_uri: String,
    scope: Vec<String>,
    audience: Vec<String>,
    state: String,
    nonce: Option<String>,
    code_challenge: Option<(String, String)>,
    request_url: String,
    /// The query Hydra puts in `redirect_to` (with a verifier added).
    query: Vec<(String, String)>,
    login_challenge: String,
    login_session_id: String,
    login: Option<Value>,
    auth_time: i64,
    /// A remembered consent of the subject to the client covers the request.
    consent_skip: bool,
}

enum Decision {
    Login(Value),
    Consent(Value),
    Reject(String, String),
}

struct Verifier {
    request: String,
    decision: Decision,
    used: bool,
}

struct Consent {
    request: String,
    doc: Value,
    revoked: bool,
    /// Given without asking (a remembered consent covered it): Hydra does not list these.
    skipped: bool,
}

struct Code {
    consent: usize,
    used: bool,
    tokens: Vec<String>,
}

struct FlowToken {
    consent: usize,
    refresh: bool,
    /// The refresh token's family: every access/refresh token since the code.
    family: usize,
    exp: i64,
    iat: i64,
    active: bool,
}

/// The tenant's authorization-code flows (a field of the fake tenant's state).
#[derive(Default)]
pub(crate) struct FlowState {
    /// The tenant's Hydra public URL, with a trailing `/`.
    pub public_url: String,
    requests: HashMap<String, AuthReq>,
    login_challenges: HashMap<String, String>,
    consent_challenges: HashMap<String, String>,
    verifiers: HashMap<String, Verifier>,
    consents: Vec<Consent>,
    codes: HashMap<String, Code>,
    tokens: HashMap<String, FlowToken>,
    families: Vec<Vec<String>>,
}

/// The client as Hydra embeds it in login and consent requests: every member of its client
/// model, with Hydra's defaults for those the fake's client documents leave out.
fn full_client(doc: &Value) -> Value {
    let mut c = doc.clone();
    let defaults = json!({
        "allowed_cors_origins": [], "client_secret_expires_at": 0, "client_uri": "", "contacts": [],
        "jwks": {}, "logo_uri": "", "policy_uri": "", "skip_consent": false, "skip_logout_consent": null,
        "subject_type": "public", "tos_uri": "", "userinfo_signed_response_alg": "none",
        "authorization_code_grant_access_token_lifespan": null, "authorization_code_grant_id_token_lifespan": null,
        "authorization_code_grant_refresh_token_lifespan": null, "client_credentials_grant_access_token_lifespan": null,
        "implicit_grant_access_token_lifespan": null, "implicit_grant_id_token_lifespan": null,
        "jwt_bearer_grant_access_token_lifespan": null, "refresh_token_grant_id_token_lifespan": null,
        "refresh_token_grant_access_token_lifespan": null, "refresh_token_grant_refresh_token_lifespan": null,
    });
    if let (Some(o), Some(d)) = (c.as_object_mut(), defaults.as_object()) {
        for (k, v) in d {
            o.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    c
}

fn not_found() -> FakeResponse {
    FakeResponse::json(
        404,
        &json!({"error": "Not Found", "error_description": "Unable to locate the requested resource"}),
    )
}

fn redirect(status: u16, to: &str) -> FakeResponse {
    let mut r = FakeResponse::empty(status);
    if let Ok(v) = http::HeaderValue::from_str(to) {
        r.headers.push((http::header::LOCATION, v));
    }
    r
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse(base).expect("fake URLs parse");
    u.query_pairs_mut().extend_pairs(pairs);
    u.into()
}

fn challenge_token() -> String {
    // Hydra v2's challenges are long base64url strings (an encrypted flow); opaque here too.
    random_token("") + &random_token("")
}

fn client_error(req: &AuthReq, error: &str, description: &str) -> FakeResponse {
    redirect(
        303,
        &with_query(
            &req.redirect_uri,
            &[("error", error), ("error_description", description), ("state", req.state.as_str())],
        ),
    )
}

impl FlowState {
    /// A login request (`consent: None`) or the consent request of that challenge, as Hydra
    /// answers them.
    fn challenge_doc(&self, t: &TenantState, id: &str, consent: Option<&str>) -> Value {
        let r = &self.requests[id];
        let client = t.clients.get(&r.client_id).map(|c| full_client(&c.doc)).unwrap_or(Value::Null);
        let mut doc = json!({
            "challenge": consent.unwrap_or(&r.login_challenge),
            "requested_scope": r.scope, "requested_access_token_audience": r.audience, "skip": false,
            "subject": "", "oidc_context": {}, "client": client, "request_url": r.request_url,
        });
        if consent.is_some() {
            let l = r.login.clone().unwrap_or(Value::Null);
            doc["subject"] = l["subject"].clone();
            doc["skip"] = json!(r.consent_skip);
            doc["login_challenge"] =
                json!(r.login_challenge.replace(['-', '_'], "").chars().take(32).collect::<String>());
            doc["login_session_id"] = json!(r.login_session_id);
            doc["acr"] = l.get("acr").cloned().unwrap_or(json!(""));
            doc["amr"] = l.get("amr").cloned().unwrap_or(json!([]));
            doc["context"] = l.get("context").cloned().unwrap_or(Value::Null);
        } else {
            doc["session_id"] = json!(r.login_session_id);
        }
        doc
    }

    fn verify_url(&self, r: &AuthReq, kind: &str, verifier: &str) -> String {
        let mut q = r.query.clone();
        q.push((format!("{kind}_verifier"), verifier.to_owned()));
        q.sort();
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        with_query(&format!("{}oauth2/auth", self.public_url), &pairs)
    }
}

/// The admin and public endpoints of this module; `None` for any other request.
pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    Some(match segs {
        ["oauth2", "auth"] if m == Method::GET => auth(t, req),
        ["admin", "oauth2", "auth", "requests", kind] if m == Method::GET => {
            let Some(c) = req.q(&format!("{kind}_challenge")).filter(|c| !c.is_empty()) else {
                return Some(oauth_error(400, "invalid_request"));
            };
            match *kind {
                "login" => match t.oauth_flows.login_challenges.get(c) {
                    Some(id) => FakeResponse::json(200, &t.oauth_flows.challenge_doc(t, id, None)),
                    None => not_found(),
                },
                "consent" => match t.oauth_flows.consent_challenges.get(c) {
                    Some(id) => FakeResponse::json(200, &t.oauth_flows.challenge_doc(t, id, Some(c))),
                    None => not_found(),
                },
                "logout" => hydra_error_404(),
                _ => return None,
            }
        }
        ["admin", "oauth2", "auth", "requests", kind, verdict] if m == Method::PUT => {
            let Some(c) = req.q(&format!("{kind}_challenge")).filter(|c| !c.is_empty()) else {
                return Some(oauth_error(400, "invalid_request"));
            };
            decide(t, kind, verdict, c, req.json)?
        }
        ["admin", "oauth2", "auth", "sessions", "consent"] if m == Method::GET => list_consents(t, req),
        ["admin", "oauth2", "auth", "sessions", "consent"] if m == Method::DELETE => {
            let subject = req.q("subject").unwrap_or_default();
            let client = req.q("client");
            let all = req.q("all") == Some("true");
            if subject.is_empty() || (client.is_none() && !all) {
                return Some(oauth_error(400, "invalid_request"));
            }
            let f = &mut t.oauth_flows;
            let mut revoked = Vec::new();
            for (i, c) in f.consents.iter_mut().enumerate() {
                let r = &f.requests[&c.request];
                if !c.revoked
                    && c.doc["consent_request"]["subject"] == subject
                    && client.is_none_or(|x| r.client_id == x)
                {
                    c.revoked = true;
                    revoked.push(i);
                }
            }
            for (tok, ft) in f.tokens.iter_mut() {
                if revoked.contains(&ft.consent) {
                    ft.active = false;
                    if let Some(at) = t.tokens.get_mut(tok) {
                        at.active = false;
                    }
                }
            }
            FakeResponse::empty(204)
        }
        // Hydra ends the login sessions (remembered logins, which the fake does not keep): tokens
        // and consents stay.
        ["admin", "oauth2", "auth", "sessions", "login"] if m == Method::DELETE => {
            if req.q("subject").is_none() && req.q("sid").is_none() {
                return Some(oauth_error(400, "invalid_request"));
            }
            FakeResponse::empty(204)
        }
        ["userinfo"] if m == Method::GET || m == Method::POST => userinfo(t, req),
        _ => return None,
    })
}

fn hydra_error_404() -> FakeResponse {
    FakeResponse::json(404, &json!({"error": "Unable to locate the resource", "error_description": ""}))
}

fn auth(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let q = |k: &str| req.q(k).unwrap_or_default().to_owned();
    let error_page =
        |e: &str, d: &str| redirect(302, &with_query(ERROR_URL, &[("error", e), ("error_description", d)]));
    let f = &mut t.oauth_flows;
    for kind in ["login", "consent"] {
        if let Some(v) = req.q(&format!("{kind}_verifier")) {
            return verified(t, v);
        }
    }
    let client_id = q("client_id");
    let Some(client) = t.clients.get(&client_id) else {
        return error_page("invalid_client", "The requested OAuth 2.0 Client does not exist.");
    };
    let redirect_uri = q("redirect_uri");
    let registered: Vec<&str> = client.doc["redirect_uris"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let redirect_uri =
        if redirect_uri.is_empty() && registered.len() == 1 { registered[0].to_owned() } else { redirect_uri };
    if !registered.contains(&redirect_uri.as_str()) {
        return error_page(
            "invalid_request",
            "The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.",
        );
    }
    let scope: Vec<String> = q("scope").split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let audience: Vec<String> = q("audience").split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let mut r = AuthReq {
        client_id: client_id.clone(),
        redirect_uri,
        scope: scope.clone(),
        audience,
        state: q("state"),
        nonce: req.q("nonce").map(str::to_owned),
        code_challenge: req.q("code_challenge").filter(|c| !c.is_empty()).map(|c| {
            (c.to_owned(), req.q("code_challenge_method").filter(|m| !m.is_empty()).unwrap_or("plain").to_owned())
        }),
        request_url: with_query(
            &format!("{}oauth2/auth", f.public_url),
            &req.query.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
        ),
        query: req.query.iter().filter(|(k, _)| *k != "audience").map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        login_challenge: challenge_token(),
        login_session_id: uuid::Uuid::new_v4().to_string(),
        login: None,
        auth_time: 0,
        consent_skip: false,
    };
    // The client's `response_types` (Hydra's default: `code`) decide, not its grant types (the
    // token endpoint checks those).
    let response_types: Vec<String> = strings(&client.doc["response_types"]);
    let allowed = if response_types.is_empty() { vec!["code".to_owned()] } else { response_types };
    if q("response_type") != "code" || !allowed.iter().any(|t| t == "code") {
        return client_error(
            &r,
            "unsupported_response_type",
            "The authorization server does not support obtaining a token using this method.",
        );
    }
    if r.state.len() < 8 {
        return client_error(
            &r,
            "invalid_state",
            "The state is missing or does not have enough characters and is therefore considered too weak.",
        );
    }
    if let Some(s) = scope.iter().find(|s| !client.allows(s)) {
        let why = format!("The OAuth 2.0 Client is not allowed to request scope '{s}'.");
        return client_error(&r, "invalid_scope", &why);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let challenge = r.login_challenge.clone();
    r.query.retain(|(k, _)| k != "nonce" || r.nonce.is_some());
    f.login_challenges.insert(challenge.clone(), id.clone());
    f.requests.insert(id, r);
    redirect(302, &with_query(LOGIN_URL, &[("login_challenge", &challenge)]))
}

fn decide(
    t: &mut TenantState,
    kind: &str,
    verdict: &str,
    challenge: &str,
    body: Option<&Value>,
) -> Option<FakeResponse> {
    let f = &mut t.oauth_flows;
    let body = body.cloned().unwrap_or(json!({}));
    let id = match kind {
        "login" => f.login_challenges.get(challenge),
        "consent" => f.consent_challenges.get(challenge),
        "logout" => return Some(if verdict == "reject" { not_found() } else { hydra_error_404() }),
        _ => return None,
    };
    let Some(id) = id.cloned() else { return Some(not_found()) };
    let decision = match (kind, verdict) {
        ("login", "accept") => {
            if body["subject"].as_str().is_none_or(str::is_empty) {
                return Some(oauth_error(400, "invalid_request"));
            }
            Decision::Login(body)
        }
        ("consent", "accept") => {
            let mut b = body;
            b["handled_at"] = json!(ts(now()));
            b["challenge"] = json!(challenge);
            Decision::Consent(b)
        }
        (_, "reject") => Decision::Reject(
            body["error"].as_str().filter(|e| !e.is_empty()).unwrap_or("access_denied").to_owned(),
            body["error_description"].as_str().unwrap_or_default().to_owned(),
        ),
        _ => return None,
    };
    let verifier = challenge_token();
    let to = f.verify_url(&f.requests[&id], kind, &verifier);
    f.verifiers.insert(verifier, Verifier { request: id, decision, used: false });
    Some(FakeResponse::json(200, &json!({"redirect_to": to})))
}

/// The browser comes back to `/oauth2/auth` with a verifier.
fn verified(t: &mut TenantState, verifier: &str) -> FakeResponse {
    let f = &mut t.oauth_flows;
    let Some(v) = f.verifiers.get_mut(verifier) else {
        return redirect(
            302,
            &with_query(ERROR_URL, &[("error", "access_denied"), ("error_description", "The verifier is unknown.")]),
        );
    };
    let r = f.requests[&v.request].clone();
    if v.used {
        return client_error(
            &r,
            "access_denied",
            "The resource owner or authorization server denied the request. The verifier has already been used.",
        );
    }
    v.used = true;
    let id = v.request.clone();
    match &v.decision {
        Decision::Reject(e, d) => client_error(&r, e, d),
        Decision::Login(l) => {
            let l = l.clone();
            // Hydra skips the consent UI's question when a remembered consent of the subject to
            // the client (forever, or not yet expired) granted every requested scope and audience.
            let subject = l["subject"].clone();
            let at = now();
            let skip = f.consents.iter().any(|c| {
                let cr = &f.requests[&c.request];
                let for_secs = c.doc["remember_for"].as_i64().unwrap_or(0);
                let handled = c.doc["handled_at"]
                    .as_str()
                    .and_then(|h| time::OffsetDateTime::parse(h, &time::format_description::well_known::Rfc3339).ok());
                !c.revoked
                    && c.doc["remember"] == true
                    && cr.client_id == r.client_id
                    && c.doc["consent_request"]["subject"] == subject
                    && (for_secs == 0 || handled.is_some_and(|h| h + time::Duration::seconds(for_secs) > at))
                    && r.scope.iter().all(|s| strings(&c.doc["grant_scope"]).contains(s))
                    && r.audience.iter().all(|a| strings(&c.doc["grant_access_token_audience"]).contains(a))
            });
            let req = f.requests.get_mut(&id).expect("verifier of a known request");
            req.login = Some(l);
            req.consent_skip = skip;
            req.auth_time = now().unix_timestamp();
            let challenge = challenge_token();
            f.consent_challenges.insert(challenge.clone(), id);
            redirect(302, &with_query(CONSENT_URL, &[("consent_challenge", &challenge)]))
        }
        Decision::Consent(c) => {
            let c = c.clone();
            let _ = f;
            let login = r.login.clone().unwrap_or(Value::Null);
            // Hydra lists the consent under a new id (a UUID), not its challenge.
            let consent_id = uuid::Uuid::new_v4().to_string();
            let consent_request = t.oauth_flows.challenge_doc(t, &id, Some(&consent_id));
            let f = &mut t.oauth_flows;
            let doc = json!({
                "grant_scope": c.get("grant_scope").cloned().unwrap_or(json!([])),
                "grant_access_token_audience": c.get("grant_access_token_audience").cloned().unwrap_or(json!([])),
                "session": {
                    "access_token": c.pointer("/session/access_token").cloned().unwrap_or(json!({})),
                    "id_token": c.pointer("/session/id_token").cloned().unwrap_or(json!({})),
                },
                "remember": c.get("remember").and_then(Value::as_bool).unwrap_or(false),
                "remember_for": c.get("remember_for").and_then(Value::as_i64).unwrap_or(0),
                "handled_at": c["handled_at"],
                "context": login.get("context").cloned().unwrap_or(Value::Null),
                "consent_request": consent_request,
            });
            f.consents.push(Consent { request: id, doc: doc.clone(), revoked: false, skipped: r.consent_skip });
            let code = format!("ory_ac_{}.{}", random_token(""), random_token(""));
            f.codes.insert(code.clone(), Code { consent: f.consents.len() - 1, used: false, tokens: Vec::new() });
            let granted = strings(&doc["grant_scope"]).join(" ");
            redirect(303, &with_query(&r.redirect_uri, &[("code", &code), ("scope", &granted), ("state", &r.state)]))
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn invalid_grant() -> FakeResponse {
    oauth_error(400, "invalid_grant")
}

/// `POST /oauth2/token` with the `authorization_code` or `refresh_token` grant; `None` for
/// other grants (the client-credentials grant of `hydra.rs`).
pub(super) fn token(t: &mut TenantState, req: &FakeRequest<'_>) -> Option<FakeResponse> {
    let grant = req.f("grant_type")?;
    if grant != "authorization_code" && grant != "refresh_token" {
        return None;
    }
    let client = match authenticate(t, req) {
        Ok(c) => c,
        Err(e) => return Some(e),
    };
    let client_id = client.doc["client_id"].as_str().unwrap_or_default().to_owned();
    if !client.doc["grant_types"].as_array().is_some_and(|g| g.iter().any(|x| x == grant)) {
        return Some(oauth_error(400, "unauthorized_client"));
    }
    let f = &mut t.oauth_flows;
    if grant == "authorization_code" {
        let Some(code) = req.f("code").and_then(|c| f.codes.get_mut(c)) else { return Some(invalid_grant()) };
        let c = &f.consents[code.consent];
        let r = &f.requests[&c.request];
        if code.used {
            // A replayed code: Hydra revokes what the code gave.
            for tok in code.tokens.clone() {
                revoke_one(t, &tok);
            }
            return Some(invalid_grant());
        }
        if c.revoked || r.client_id != client_id || req.f("redirect_uri").unwrap_or_default() != r.redirect_uri {
            return Some(invalid_grant());
        }
        if let Some((challenge, method)) = r.code_challenge.clone() {
            let verifier = req.f("code_verifier").unwrap_or_default();
            // A method other than S256 and plain (which Hydra lets through at /oauth2/auth) never
            // matches.
            let ok = verifier.len() >= 43 && verifier.len() <= 128 && (method == "S256" || method == "plain") && {
                let computed = if method == "S256" {
                    use base64::Engine;
                    use sha2::Digest;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
                } else {
                    verifier.to_owned()
                };
                computed == challenge
            };
            if !ok {
                // Hydra drops the PKCE data at the first check: the code is spent.
                let code = req.f("code").unwrap_or_default();
                t.oauth_flows.codes.remove(code);
                return Some(invalid_grant());
            }
        }
        let consent = code.consent;
        code.used = true;
        let family = f.families.len();
        f.families.push(Vec::new());
        let answer = issue(t, consent, family);
        let code = req.f("code").unwrap_or_default();
        let fam = t.oauth_flows.families[family].clone();
        if let Some(c) = t.oauth_flows.codes.get_mut(code) {
            c.tokens = fam;
        }
        Some(answer)
    } else {
        let rt = req.f("refresh_token").unwrap_or_default();
        let Some(ft) = f.tokens.get(rt).filter(|x| x.refresh) else { return Some(invalid_grant()) };
        let (consent, family) = (ft.consent, ft.family);
        let c = &f.consents[consent];
        if f.requests[&c.request].client_id != client_id {
            return Some(invalid_grant());
        }
        if !ft.active || c.revoked || ft.exp <= now().unix_timestamp() {
            if !ft.active && !c.revoked {
                // Reuse of a rotated refresh token: Hydra revokes its whole family.
                for tok in f.families[family].clone() {
                    revoke_one(t, &tok);
                }
            }
            return Some(invalid_grant());
        }
        for tok in f.families[family].clone() {
            revoke_one(t, &tok);
        }
        Some(issue(t, consent, family))
    }
}

fn revoke_one(t: &mut TenantState, tok: &str) {
    if let Some(x) = t.oauth_flows.tokens.get_mut(tok) {
        x.active = false;
    }
    if let Some(x) = t.tokens.get_mut(tok) {
        x.active = false;
    }
}

/// New tokens for the consent: an access token, a refresh token when `offline_access` (or
/// `offline`) was granted, an ID token when `openid` was.
fn issue(t: &mut TenantState, consent: usize, family: usize) -> FakeResponse {
    let c = &t.oauth_flows.consents[consent];
    let r = t.oauth_flows.requests[&c.request].clone();
    let scope = strings(&c.doc["grant_scope"]);
    let id_claims = c.doc["session"]["id_token"].clone();
    let login = r.login.clone().unwrap_or(Value::Null);
    let subject = login["subject"].as_str().unwrap_or_default().to_owned();
    let access = t.mint_token(&r.client_id, scope.clone());
    let iat = now().unix_timestamp();
    let f = &mut t.oauth_flows;
    let ft = |refresh: bool, exp: i64| FlowToken { consent, refresh, family, exp, iat, active: true };
    f.tokens.insert(access.clone(), ft(false, iat + TOKEN_LIFESPAN_SECS));
    f.families[family].push(access.clone());
    let mut out = json!({"access_token": access, "expires_in": TOKEN_LIFESPAN_SECS - 1, "scope": scope.join(" "), "token_type": "bearer"});
    if scope.iter().any(|s| s == "offline_access" || s == "offline") {
        let rt = format!("ory_rt_{}.{}", random_token(""), random_token(""));
        f.tokens.insert(rt.clone(), ft(true, iat + REFRESH_LIFESPAN_SECS));
        f.families[family].push(rt.clone());
        out["refresh_token"] = json!(rt);
    }
    if scope.iter().any(|s| s == "openid") {
        use base64::Engine;
        use sha2::Digest;
        let digest = sha2::Sha256::digest(access.as_bytes());
        let mut claims = json!({
            "at_hash": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]),
            "aud": [r.client_id], "auth_time": r.auth_time, "exp": iat + TOKEN_LIFESPAN_SECS, "iat": iat,
            "iss": t.oauth_flows.public_url, "jti": uuid::Uuid::new_v4().to_string(), "rat": r.auth_time,
            "sid": r.login_session_id, "sub": subject,
        });
        for k in ["acr", "amr"] {
            if let Some(v) = login.get(k).filter(|v| !v.is_null()) {
                claims[k] = v.clone();
            }
        }
        if let Some(n) = &r.nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(extra) = id_claims.as_object() {
            for (k, v) in extra {
                if claims.get(k).is_none() {
                    claims[k] = v.clone();
                }
            }
        }
        match sign_id_token(&claims) {
            Some(jwt) => out["id_token"] = json!(jwt),
            None => return hydra_error(500, "the fake could not sign the ID token"),
        }
    }
    FakeResponse::json(200, &out)
}

fn sign_id_token(claims: &Value) -> Option<String> {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(super::jwk::ID_TOKEN_PRIVATE_DER_B64).ok()?;
    let key = jsonwebtoken::EncodingKey::from_rsa_der(&der);
    let kid = super::jwk::startup_id_token_key()["kid"].as_str()?.to_owned();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid);
    jsonwebtoken::encode(&header, claims, &key).ok()
}

/// Introspection of the flows' tokens (refresh tokens live only here; access tokens are also in
/// the tenant's token table, for revocation): `sub` is the user, as Hydra's.
pub(super) fn introspect(t: &TenantState, token: &str, wanted: &[&str]) -> Option<FakeResponse> {
    let ft = t.oauth_flows.tokens.get(token)?;
    let c = &t.oauth_flows.consents[ft.consent];
    let r = &t.oauth_flows.requests[&c.request];
    let scope = strings(&c.doc["grant_scope"]);
    let access_active = ft.refresh || t.tokens.get(token).is_some_and(|a| a.active);
    if !ft.active
        || !access_active
        || c.revoked
        || ft.exp <= now().unix_timestamp()
        || !wanted.iter().all(|w| scope.iter().any(|s| s == w))
    {
        return Some(FakeResponse::json(200, &json!({"active": false})));
    }
    Some(FakeResponse::json(
        200,
        &json!({
            "active": true, "scope": scope.join(" "), "client_id": r.client_id,
            "sub": r.login.as_ref().map(|l| l["subject"].clone()).unwrap_or(Value::Null),
            "exp": ft.exp, "iat": ft.iat, "nbf": ft.iat, "aud": [], "iss": t.hydra_admin.issuer(),
            "token_type": "Bearer", "token_use": if ft.refresh { "refresh_token" } else { "access_token" },
        }),
    ))
}

/// RFC 7009 for a token of the flows, access or refresh: its whole family goes, as Hydra v2.3.0
/// revokes every token of the request (fosite revokes by request id: a revoked access token
/// takes its refresh token with it, checked on the stack). `true` when the token was one of them.
pub(super) fn revoke(t: &mut TenantState, token: &str, caller: &str) -> bool {
    let Some(ft) = t.oauth_flows.tokens.get(token) else { return false };
    let c = &t.oauth_flows.consents[ft.consent];
    if t.oauth_flows.requests[&c.request].client_id == caller {
        for tok in t.oauth_flows.families[ft.family].clone() {
            revoke_one(t, &tok);
        }
    }
    true
}

fn userinfo(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let unauthorized = || {
        FakeResponse::json(
            401,
            &json!({"error": "request_unauthorized", "error_description": "The request could not be authorized. Check that you provided valid credentials in the right format."}),
        )
    };
    let token = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .unwrap_or_default();
    let (Some(ft), Some(at)) = (t.oauth_flows.tokens.get(token).filter(|x| !x.refresh), t.tokens.get(token)) else {
        return unauthorized();
    };
    let c = &t.oauth_flows.consents[ft.consent];
    if !at.active || !ft.active || c.revoked || at.exp <= now().unix_timestamp() {
        return unauthorized();
    }
    let r = &t.oauth_flows.requests[&c.request];
    let login = r.login.clone().unwrap_or(Value::Null);
    let mut claims = json!({"aud": [r.client_id], "auth_time": r.auth_time, "iat": ft.iat, "iss": t.oauth_flows.public_url, "rat": r.auth_time,
                            "sub": login["subject"]});
    for k in ["acr", "amr"] {
        if let Some(v) = login.get(k).filter(|v| !v.is_null()) {
            claims[k] = v.clone();
        }
    }
    if let Some(extra) = c.doc["session"]["id_token"].as_object() {
        for (k, v) in extra {
            if claims.get(k).is_none() {
                claims[k] = v.clone();
            }
        }
    }
    FakeResponse::json(200, &claims)
}

fn list_consents(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(subject) = req.q("subject").filter(|s| !s.is_empty()) else { return oauth_error(400, "invalid_request") };
    let sid = req.q("login_session_id");
    let size = req.q("page_size").and_then(|s| s.parse::<usize>().ok()).unwrap_or(250).clamp(1, 500);
    let offset = super::read_offset_token(req.q("page_token"));
    let f = &t.oauth_flows;
    // In the order they were given, as Hydra lists them.
    let items: Vec<&Consent> = f
        .consents
        .iter()
        .filter(|c| !c.revoked && !c.skipped && c.doc["consent_request"]["subject"] == subject)
        .filter(|c| sid.is_none_or(|s| f.requests[&c.request].login_session_id == s))
        .collect();
    let total = items.len();
    let page: Vec<Value> = items.iter().skip(offset).take(size).map(|c| c.doc.clone()).collect();
    // Hydra v2.3.0 writes `first`/`prev` links only (see `consent.rs`), and the total.
    let link = format!(
        "</admin/oauth2/auth/sessions/consent?page_size={size}&page_token={}&subject={subject}>; rel=\"first\"",
        super::offset_token(0)
    );
    let mut r = FakeResponse::json(200, &Value::Array(page)).with_link(Some(link));
    if let Ok(v) = http::HeaderValue::from_str(&total.to_string()) {
        r.headers.push((http::HeaderName::from_static("x-total-count"), v));
    }
    r
}

impl FakeOry {
    /// Start an authorization request as a browser would (`GET /oauth2/auth` on the tenant's
    /// Hydra): the URL Hydra redirects to — the login UI ([`LOGIN_URL`]`?login_challenge=…`), or,
    /// as Hydra does, the client's `redirect_uri` with `error` (e.g. `invalid_scope`) or the
    /// error page ([`ERROR_URL`]) for an unknown client or unregistered redirect URI.
    pub fn authorize(&self, tenant: &str, request: AuthorizeRequest) -> Result<String> {
        let mut q: Vec<(&str, String)> = vec![
            ("client_id", request.client_id),
            ("response_type", request.response_type.unwrap_or_else(|| "code".into())),
            ("redirect_uri", request.redirect_uri),
            ("scope", request.scope),
            ("state", request.state),
        ];
        for (k, v) in [
            ("code_challenge", request.code_challenge),
            ("code_challenge_method", request.code_challenge_method),
            ("audience", request.audience),
            ("nonce", request.nonce),
        ] {
            if let Some(v) = v {
                q.push((k, v));
            }
        }
        self.browser_get(tenant, &q)
    }

    /// Follow a redirect as the browser would: `url` is a `redirect_to` of an accepted or
    /// rejected login or consent (a URL on the tenant's Hydra with a `login_verifier` or
    /// `consent_verifier`). Returns the next `Location`: the consent UI
    /// ([`CONSENT_URL`]`?consent_challenge=…`) after a login, the client's `redirect_uri` with
    /// `code`, `scope` and `state` after a consent, or with `error` after a rejection or a
    /// verifier used twice. Any other URL is an `invalid_input` error.
    pub fn follow(&self, tenant: &str, url: &str) -> Result<String> {
        let base = self.with_tenant(tenant, |t| Ok(t.oauth_flows.public_url.clone()))?;
        let u = url::Url::parse(url).map_err(|_| Error::invalid_field("url", "must be an absolute URL"))?;
        let auth = format!("{base}oauth2/auth");
        if !url.starts_with(&auth)
            || u.path() != url::Url::parse(&auth).map(|a| a.path().to_owned()).unwrap_or_default()
        {
            return Err(Error::invalid_field("url", "must be a redirect_to of the fake Hydra (its /oauth2/auth)"));
        }
        let q: Vec<(String, String)> = u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let known = ["login_verifier", "consent_verifier"];
        let Some((k, v)) = q.iter().find(|(k, _)| known.contains(&k.as_str())) else {
            return Err(Error::invalid_field("url", "must carry a login_verifier or consent_verifier"));
        };
        let k: &'static str = if k == "login_verifier" { "login_verifier" } else { "consent_verifier" };
        self.browser_get(tenant, &[(k, v.clone())])
    }

    fn browser_get(&self, tenant: &str, query: &[(&'static str, String)]) -> Result<String> {
        let headers = http::HeaderMap::new();
        let query: Vec<(&str, String)> = query.to_vec();
        let r = self.backend.handle(super::FakeRequest {
            tenant,
            product: crate::http::Product::HydraPublic,
            method: &Method::GET,
            path: "oauth2/auth",
            query: &query,
            headers: &headers,
            json: None,
            form: None,
        });
        if !self.iam.tenants().iter().any(|t| t == tenant) {
            return Err(Error::configuration(format!("unknown tenant {tenant:?}")));
        }
        r.headers
            .iter()
            .find(|(k, _)| *k == http::header::LOCATION)
            .and_then(|(_, v)| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| Error::new(ErrorKind::UpstreamUnavailable, "the fake Hydra answered without a redirect"))
    }
}

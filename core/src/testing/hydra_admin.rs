//! Hydra's administration beyond `/admin/clients` in memory, each answer compared with Hydra
//! v2.3.0 (the stack's configuration: dynamic client registration enabled): trusted JWT-bearer
//! issuers (`/admin/trust/grants/jwt-bearer/issuers`) and the JWT-bearer grant they allow at
//! the token endpoint, a client's token lifespans (`PUT /admin/clients/{id}/lifespans`),
//! OpenID Connect dynamic client registration (`/oauth2/register`), deleting a client's access
//! tokens (`DELETE /admin/oauth2/tokens`) and the discovery document
//! (`/.well-known/openid-configuration`).

use super::hydra::{client_doc, validate_client, StoredClient};
use super::{now, random_token, ts, FakeRequest, FakeResponse, TenantState, TOKEN_LIFESPAN_SECS};
use http::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

const TRUST_PATH: &str = "/admin/trust/grants/jwt-bearer/issuers";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Hydra's `oauth2.grant.jwt.max_ttl` default: an assertion's `exp` at most this after its `iat`.
const JWT_MAX_TTL_SECS: i64 = 720 * 3600;

/// The lifespan members of a client (`PUT /admin/clients/{id}/lifespans` replaces them all).
const LIFESPANS: &[&str] = &[
    "authorization_code_grant_access_token_lifespan",
    "authorization_code_grant_id_token_lifespan",
    "authorization_code_grant_refresh_token_lifespan",
    "client_credentials_grant_access_token_lifespan",
    "implicit_grant_access_token_lifespan",
    "implicit_grant_id_token_lifespan",
    "jwt_bearer_grant_access_token_lifespan",
    "refresh_token_grant_id_token_lifespan",
    "refresh_token_grant_access_token_lifespan",
    "refresh_token_grant_refresh_token_lifespan",
];

/// What this module keeps per tenant.
#[derive(Default)]
pub(crate) struct AdminState {
    /// The tenant's Hydra public URL (no trailing `/`): issuer, endpoints, registration URIs.
    pub public_url: String,
    /// Trusted issuers by id (listed in id order, as Hydra's `ORDER BY id`).
    grants: BTreeMap<String, Value>,
    /// The `jti`s of accepted assertions (Hydra refuses a replay with `jti_known`).
    used_jtis: HashSet<String>,
    /// Client id → its current registration access token.
    registration: BTreeMap<String, String>,
    /// Client id → lifespan member → seconds, as set with `set_lifespans`.
    lifespans: BTreeMap<String, BTreeMap<&'static str, i64>>,
}

impl AdminState {
    /// A new registration access token for the client (the previous one stops working).
    pub(crate) fn issue_registration_token(&mut self, client_id: &str) -> String {
        let token = random_token("ory_at_");
        self.registration.insert(client_id.to_owned(), token.clone());
        token
    }

    /// After an admin `PUT`/`PATCH` or delete: Hydra replaces the registration token's
    /// signature with none, so the token given at registration stops working.
    pub(crate) fn forget_client(&mut self, client_id: &str, deleted: bool) {
        self.registration.remove(client_id);
        if deleted {
            self.lifespans.remove(client_id);
        }
    }

    /// The access-token lifespan of `grant` (`client_credentials`, `jwt_bearer`, …) for the
    /// client: its own when set, else Hydra's default (1h).
    pub(crate) fn access_lifespan(&self, client_id: &str, grant: &str) -> i64 {
        let key = format!("{grant}_grant_access_token_lifespan");
        self.lifespans.get(client_id).and_then(|m| m.get(key.as_str())).copied().unwrap_or(TOKEN_LIFESPAN_SECS)
    }

    pub(crate) fn issuer(&self) -> String {
        format!("{}/", self.public_url)
    }

    fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.public_url)
    }
}

fn generic(status: u16, error: &str, description: &str) -> FakeResponse {
    FakeResponse::json(status, &json!({"error": error, "error_description": description}))
}

fn not_found() -> FakeResponse {
    generic(404, "Unable to locate the resource", "")
}

/// Hydra's members of a client document that the fake's `client_doc` leaves out, with their
/// lifespans.
fn with_lifespans(st: &AdminState, mut doc: Value) -> Value {
    let id = doc["client_id"].as_str().unwrap_or_default().to_owned();
    if let Some(o) = doc.as_object_mut() {
        for k in LIFESPANS {
            let v = st.lifespans.get(&id).and_then(|m| m.get(k)).map(|s| json!(go_duration(*s)));
            o.insert((*k).to_owned(), v.unwrap_or(Value::Null));
        }
    }
    doc
}

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    let m = req.method;
    Some(match segs {
        [".well-known", "openid-configuration"] if m == Method::GET => discovery(&t.hydra_admin),
        ["admin", "trust", "grants", "jwt-bearer", "issuers"] if m == Method::POST => trust(t, req),
        ["admin", "trust", "grants", "jwt-bearer", "issuers"] if m == Method::GET => list_grants(&t.hydra_admin, req),
        ["admin", "trust", "grants", "jwt-bearer", "issuers", id] => match *m {
            Method::GET => match t.hydra_admin.grants.get(*id) {
                Some(g) => FakeResponse::json(200, g),
                None => not_found(),
            },
            Method::DELETE => match t.hydra_admin.grants.get(*id) {
                Some(g) => {
                    // Hydra deletes the grant's key from the issuer's key set too, in the same
                    // transaction: when another grant with the same key was deleted first, the
                    // key is gone, the delete fails with 404 and the grant stays.
                    let (set, kid) = (g["public_key"]["set"].as_str().unwrap_or_default(), &g["public_key"]["kid"]);
                    let Some(keys) = t.jwk_sets.get_mut(set).filter(|keys| keys.iter().any(|k| k["kid"] == *kid))
                    else {
                        return Some(not_found());
                    };
                    keys.retain(|k| k["kid"] != *kid);
                    t.hydra_admin.grants.remove(*id);
                    FakeResponse::empty(204)
                }
                None => not_found(),
            },
            _ => return None,
        },
        ["admin", "clients", id, "lifespans"] if m == Method::PUT => set_lifespans(t, req, id),
        ["admin", "oauth2", "tokens"] if m == Method::DELETE => match req.q("client_id").filter(|c| !c.is_empty()) {
            // Access tokens only: the client's refresh tokens keep working, as in Hydra v2.3.0.
            Some(client) => {
                t.tokens.retain(|tok, stored| !(stored.client_id == client && tok.starts_with("ory_at_")));
                FakeResponse::empty(204)
            }
            None => generic(
                400,
                "invalid_request",
                "The request is missing a required parameter, includes an invalid parameter value, includes a \
                 parameter more than once, or is otherwise malformed. Query parameter 'client_id' is not defined but \
                 it should have been.",
            ),
        },
        ["oauth2", "register"] if m == Method::POST => register(t, req),
        ["oauth2", "register", id] => registered(t, req, id)?,
        _ => return None,
    })
}

fn discovery(st: &AdminState) -> FakeResponse {
    let p = &st.public_url;
    // Hydra v2.3.0's document for the stack's configuration, with the fake's URLs. Like the
    // real one it names no `registration_endpoint` (`webfinger.oidc_discovery.client_registration_url`
    // is unset) although registration works, nor the JWT-bearer grant although it is allowed.
    FakeResponse::json(
        200,
        &json!({
            "issuer": st.issuer(),
            "authorization_endpoint": format!("{p}/oauth2/auth"),
            "token_endpoint": st.token_url(),
            "jwks_uri": format!("{p}/.well-known/jwks.json"),
            "subject_types_supported": ["public"],
            "response_types_supported": ["code", "code id_token", "id_token", "token id_token", "token", "token id_token code"],
            "claims_supported": ["sub"],
            "grant_types_supported": ["authorization_code", "implicit", "client_credentials", "refresh_token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "userinfo_endpoint": format!("{p}/userinfo"),
            "scopes_supported": ["offline_access", "offline", "openid"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt", "none"],
            "userinfo_signing_alg_values_supported": ["none", "RS256"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "id_token_signed_response_alg": ["RS256"],
            "userinfo_signed_response_alg": ["RS256"],
            "request_parameter_supported": true,
            "request_uri_parameter_supported": true,
            "require_request_uri_registration": true,
            "claims_parameter_supported": false,
            "revocation_endpoint": format!("{p}/oauth2/revoke"),
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "frontchannel_logout_supported": true,
            "frontchannel_logout_session_supported": true,
            "end_session_endpoint": format!("{p}/oauth2/sessions/logout"),
            "request_object_signing_alg_values_supported": ["none", "RS256", "ES256"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "credentials_endpoint_draft_00": format!("{p}/credentials"),
            "credentials_supported_draft_00": [{
                "format": "jwt_vc_json",
                "types": ["VerifiableCredential", "UserInfoCredential"],
                "cryptographic_binding_methods_supported": ["jwk"],
                "cryptographic_suites_supported": ["PS256", "RS256", "ES256", "PS384", "RS384", "ES384", "PS512", "RS512", "ES512", "EdDSA"],
            }],
        }),
    )
}

// ---- trusted issuers -------------------------------------------------------------------------

/// Go's `time.Time` JSON decoding: RFC 3339, normalised to UTC whole seconds as Hydra stores it.
fn utc_seconds(s: &str) -> Option<String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let t = t.to_offset(time::UtcOffset::UTC);
    let rounded = if t.nanosecond() >= 500_000_000 { t + time::Duration::seconds(1) } else { t };
    Some(ts(rounded.replace_nanosecond(0).ok()?))
}

/// Whether go-jose would decode the JWK (Hydra answers 400 `error` otherwise, before any rule).
fn usable_jwk(k: &Value) -> bool {
    serde_json::from_value::<jsonwebtoken::jwk::Jwk>(k.clone())
        .ok()
        .is_some_and(|j| jsonwebtoken::DecodingKey::from_jwk(&j).is_ok())
}

fn trust(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(body) = req.json.and_then(Value::as_object) else {
        return generic(400, "error", "json: cannot unmarshal the body into Go value of type trust.createGrantRequest");
    };
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let jwk = body.get("jwk").filter(|v| !v.is_null());
    if jwk.is_some_and(|k| !usable_jwk(k)) {
        return generic(400, "error", "go-jose/go-jose: the jwk cannot be decoded");
    }
    let expires = match body.get("expires_at").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => match v.as_str().and_then(utc_seconds) {
            Some(e) => Some(e),
            None => return generic(400, "error", "parsing time as RFC 3339 failed"),
        },
    };
    let missing = |hint: &str| {
        generic(
            400,
            "missing_required_parameter",
            &format!("One of the required parameters is missing. Check your request parameters. {hint}"),
        )
    };
    let (issuer, subject) = (s("issuer"), s("subject"));
    let any = body.get("allow_any_subject").and_then(Value::as_bool).unwrap_or(false);
    let kid = jwk.and_then(|k| k["kid"].as_str()).unwrap_or_default();
    if issuer.is_empty() {
        return missing("Field 'issuer' is required.");
    }
    if subject.is_empty() && !any {
        return missing("One of 'subject' or 'allow_any_subject' field must be set.");
    }
    if !subject.is_empty() && any {
        return missing("Both 'subject' and 'allow_any_subject' fields cannot be set at the same time.");
    }
    let Some(expires) = expires else { return missing("Field 'expires_at' is required.") };
    if kid.is_empty() {
        return missing("Field 'jwk' must contain JWK with kid header.");
    }
    let st = &mut t.hydra_admin;
    // Hydra's unique index: (issuer, subject, key id).
    if st.grants.values().any(|g| g["issuer"] == issuer && g["subject"] == subject && g["public_key"]["kid"] == kid) {
        return generic(
            409,
            "Unable to insert or update resource because a resource with that value exists already",
            "",
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let created = utc_seconds(&ts(now())).unwrap_or_default();
    let grant = json!({
        "id": id, "issuer": issuer, "subject": subject, "allow_any_subject": any,
        "scope": body.get("scope").cloned().unwrap_or(Value::Null),
        "public_key": {"set": issuer, "kid": kid},
        "created_at": created, "expires_at": expires,
    });
    st.grants.insert(id.clone(), grant.clone());
    // The key goes into a key set named after the issuer, unless one with its id is there.
    let keys = t.jwk_sets.entry(issuer.to_owned()).or_default();
    if !keys.iter().any(|k| k["kid"] == kid) {
        keys.insert(0, jwk.cloned().unwrap_or(Value::Null));
    }
    let mut r = FakeResponse::json(201, &grant);
    if let Ok(v) = http::HeaderValue::from_str(&format!("/trust/grants/jwt-bearer/issuers/{id}")) {
        r.headers.push((http::header::LOCATION, v));
    }
    r
}

/// Hydra v2.3.0's token pagination (`ory/x` `tokenpagination`): offset tokens, `X-Total-Count`
/// counting every grant (the `issuer` filter aside), and its `Link` relations.
fn list_grants(st: &AdminState, req: &FakeRequest<'_>) -> FakeResponse {
    let size: i64 = req.q("page_size").and_then(|s| s.parse().ok()).unwrap_or(250).clamp(1, 1000);
    let offset = (super::read_offset_token(req.q("page_token")) as i64 / size) * size;
    let issuer = req.q("issuer").filter(|i| !i.is_empty());
    let items: Vec<Value> = st
        .grants
        .values()
        .filter(|g| issuer.is_none_or(|i| g["issuer"] == i))
        .skip(offset as usize)
        .take(size as usize)
        .cloned()
        .collect();
    let total = st.grants.len() as i64;
    let link = |rel: &str, size: i64, off: i64| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(i) = issuer {
            q.append_pair("issuer", i);
        }
        q.append_pair("page_size", &size.to_string());
        q.append_pair("page_token", &super::offset_token(off.max(0) as usize));
        format!("<{TRUST_PATH}?{}>; rel=\"{rel}\"", q.finish())
    };
    let last = if total % size == 0 { total - size } else { total / size * size };
    let (next, prev) = ((offset / size + 1) * size, (offset / size - 1) * size);
    let links: Vec<String> = if offset >= last {
        if total == 0 {
            vec![link("first", size, 0), link("next", size, next), link("prev", size, prev)]
        } else if total < size {
            vec![link("first", total, 0)]
        } else {
            vec![link("first", size, 0), link("prev", size, last - size)]
        }
    } else if offset < size {
        vec![link("next", size, size), link("last", size, last)]
    } else {
        vec![link("first", size, 0), link("next", size, next), link("prev", size, prev), link("last", size, last)]
    };
    let mut r = FakeResponse::json(200, &Value::Array(items)).with_link(Some(links.join(",")));
    if let Ok(v) = http::HeaderValue::from_str(&total.to_string()) {
        r.headers.push((http::HeaderName::from_static("x-total-count"), v));
    }
    r
}

// ---- the JWT-bearer grant --------------------------------------------------------------------

fn invalid_grant(hint: &str) -> FakeResponse {
    FakeResponse::json(
        400,
        &json!({"error": "invalid_grant", "error_description": format!("The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client. {hint}")}),
    )
}

/// RFC 7523 at the token endpoint, as fosite v0.49 (Hydra v2.3.0) checks it, for an
/// authenticated client: the assertion's issuer and subject must be trusted with the key its
/// `kid` names (without a `kid`: any unexpired grant's key that verifies it), `aud` must hold
/// the token URL, `exp` in the future and at most 720h after `iat`, `nbf` past, `iat` and `jti`
/// present and the `jti` never used before; the scopes must be the grant's.
pub(crate) fn jwt_bearer(t: &mut TenantState, req: &FakeRequest<'_>, client: &StoredClient) -> FakeResponse {
    let client_id = client.doc["client_id"].as_str().unwrap_or_default().to_owned();
    if !client.doc["grant_types"].as_array().is_some_and(|g| g.iter().any(|x| x == JWT_BEARER)) {
        return generic(
            400,
            "unauthorized_client",
            "The client is not authorized to request a token using this method. The OAuth 2.0 Client is not allowed \
             to use authorization grant 'urn:ietf:params:oauth:grant-type:jwt-bearer'.",
        );
    }
    let scope: Vec<String> =
        req.f("scope").unwrap_or("").split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if !scope.iter().all(|s| client.allows(s)) {
        return generic(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.");
    }
    let Some(assertion) = req.f("assertion").filter(|a| !a.is_empty()) else {
        return generic(
            400,
            "invalid_request",
            "The request is missing a required parameter. The assertion request parameter must be set when using \
             grant_type of 'urn:ietf:params:oauth:grant-type:jwt-bearer'.",
        );
    };
    let (Ok(header), Some(claims)) = (jsonwebtoken::decode_header(assertion), unverified_claims(assertion)) else {
        return invalid_grant("Unable to parse JSON Web Token passed in 'assertion' request parameter.");
    };
    let s = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (iss, sub) = (s("iss"), s("sub"));
    if iss.is_empty() {
        return invalid_grant("The JWT in 'assertion' request parameter MUST contain an 'iss' (issuer) claim.");
    }
    if sub.is_empty() {
        return invalid_grant("The JWT in 'assertion' request parameter MUST contain a 'sub' (subject) claim.");
    }
    let st = &t.hydra_admin;
    let now_s = now().unix_timestamp();
    let trusts =
        |g: &&Value| g["issuer"] == iss.as_str() && (g["subject"] == sub.as_str() || g["allow_any_subject"] == true);
    let key_of = |g: &Value| {
        t.jwk_sets
            .get(g["public_key"]["set"].as_str().unwrap_or_default())
            .and_then(|keys| keys.iter().find(|k| k["kid"] == g["public_key"]["kid"]).cloned())
    };
    // With a `kid`, Hydra looks the grant up without looking at its expiry (v2.3.0's
    // `GetPublicKey`); without one, it tries the keys of the unexpired grants.
    let candidates: Vec<&Value> = match &header.kid {
        Some(kid) => {
            st.grants.values().filter(trusts).filter(|g| g["public_key"]["kid"] == kid.as_str()).take(1).collect()
        }
        None => st
            .grants
            .values()
            .filter(trusts)
            .filter(|g| {
                g["expires_at"]
                    .as_str()
                    .and_then(|e| time::OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).ok())
                    .is_some_and(|e| e.unix_timestamp() > now_s)
            })
            .collect(),
    };
    let no_key = || {
        invalid_grant(&format!(
            "No public JWK was registered for issuer '{iss}' and subject '{sub}', and public key is required to check \
             signature of JWT in 'assertion' request parameter."
        ))
    };
    if candidates.is_empty() {
        return no_key();
    }
    let verified = candidates.iter().find(|g| key_of(g).is_some_and(|k| verifies(assertion, header.alg, &k)));
    let Some(grant) = verified.copied() else {
        return if header.kid.is_some() {
            invalid_grant("Unable to verify the integrity of the 'assertion' value.")
        } else {
            no_key()
        };
    };
    let token_url = st.token_url();
    let aud_ok = match &claims.get("aud") {
        Some(Value::String(a)) => *a == token_url,
        Some(Value::Array(list)) => list.iter().any(|a| *a == token_url.as_str()),
        _ => false,
    };
    if !claims.get("aud").is_some_and(|a| a.is_string() || a.as_array().is_some_and(|l| !l.is_empty())) {
        return invalid_grant("The JWT in 'assertion' request parameter MUST contain an 'aud' (audience) claim.");
    }
    if !aud_ok {
        return invalid_grant(&format!(
            "The JWT in 'assertion' request parameter MUST contain an 'aud' (audience) claim containing a value \
             '{token_url}' that identifies the authorization server as an intended audience."
        ));
    }
    let num = |k: &str| claims.get(k).and_then(Value::as_f64).map(|f| f as i64);
    let Some(exp) = num("exp") else {
        return invalid_grant(
            "The JWT in 'assertion' request parameter MUST contain an 'exp' (expiration time) claim.",
        );
    };
    if exp < now_s {
        return invalid_grant("The JWT in 'assertion' request parameter expired.");
    }
    if num("nbf").is_some_and(|nbf| nbf >= now_s) {
        return invalid_grant(
            "The JWT in 'assertion' request parameter contains an 'nbf' (not before) claim in the future.",
        );
    }
    let Some(iat) = num("iat") else {
        return invalid_grant("The JWT in 'assertion' request parameter MUST contain an 'iat' (issued at) claim.");
    };
    if exp - iat > JWT_MAX_TTL_SECS {
        return invalid_grant(
            "The JWT in 'assertion' request parameter contains an 'exp' (expiration time) claim that is unreasonably \
             far in the future.",
        );
    }
    let jti = s("jti");
    if jti.is_empty() {
        return invalid_grant("The JWT in 'assertion' request parameter MUST contain an 'jti' (JWT ID) claim.");
    }
    if st.used_jtis.contains(&jti) {
        return generic(400, "jti_known", "The jti was already used.");
    }
    let allowed: Vec<String> = grant["scope"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if let Some(bad) = scope.iter().find(|s| !allowed.iter().any(|a| a == *s || super::hydra::wildcard(a, s))) {
        return generic(
            400,
            "invalid_scope",
            &format!(
                "The requested scope is invalid, unknown, or malformed. The public key registered for issuer '{iss}' \
                 and subject '{sub}' is not allowed to request scope '{bad}'."
            ),
        );
    }
    let aud: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(l)) => l.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    let lifespan = st.access_lifespan(&client_id, "jwt_bearer");
    t.hydra_admin.used_jtis.insert(jti);
    let joined = scope.join(" ");
    let access = t.mint_token(&client_id, scope);
    if let Some(tok) = t.tokens.get_mut(&access) {
        tok.exp = tok.iat + lifespan;
        tok.sub = Some(sub);
        tok.aud = aud;
    }
    FakeResponse::json(
        200,
        &json!({"access_token": access, "expires_in": lifespan, "scope": joined, "token_type": "bearer"}),
    )
}

/// The claims before the signature is checked (the issuer names the key to check it with).
fn unverified_claims(jwt: &str) -> Option<serde_json::Map<String, Value>> {
    jsonwebtoken::dangerous::insecure_decode::<serde_json::Map<String, Value>>(jwt).ok().map(|d| d.claims)
}

fn verifies(jwt: &str, alg: jsonwebtoken::Algorithm, key: &Value) -> bool {
    let Ok(jwk) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(key.clone()) else { return false };
    let Ok(dk) = jsonwebtoken::DecodingKey::from_jwk(&jwk) else { return false };
    let mut v = jsonwebtoken::Validation::new(alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    jsonwebtoken::decode::<Value>(jwt, &dk, &v).is_ok()
}

// ---- lifespans -------------------------------------------------------------------------------

fn set_lifespans(t: &mut TenantState, req: &FakeRequest<'_>, id: &str) -> FakeResponse {
    if !t.clients.contains_key(id) {
        return not_found();
    }
    let body = req.json.and_then(Value::as_object).cloned().unwrap_or_default();
    let mut set = BTreeMap::new();
    for k in LIFESPANS {
        match body.get(*k) {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_str().and_then(parse_go_duration) {
                Some(secs) => {
                    set.insert(*k, secs);
                }
                None => {
                    return generic(
                        400,
                        "The request was malformed or contained invalid parameters",
                        &format!("Unable to decode the request body: time: invalid duration {v}"),
                    )
                }
            },
        }
    }
    t.hydra_admin.lifespans.insert(id.to_owned(), set);
    let c = t.clients.get_mut(id).expect("checked above");
    c.doc["updated_at"] = json!(ts(now()));
    FakeResponse::json(200, &with_lifespans(&t.hydra_admin, c.doc.clone()))
}

/// Go's `time.ParseDuration`, to whole seconds (the fake's clock): `"1h30m"`, `"90s"`, `"-5m"`.
fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[u..];
        nanos += value * unit;
    }
    let secs = (nanos / 1e9).floor() as i64;
    Some(if neg { -secs } else { secs })
}

/// Go's `Duration.String()` for whole seconds: `2m0s`, `1h0m0s`, `-5m0s`, `0s`.
fn go_duration(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a % 3600 / 60, a % 60);
    match (h, m) {
        (0, 0) => format!("{sign}{s}s"),
        (0, _) => format!("{sign}{m}m{s}s"),
        _ => format!("{sign}{h}h{m}m{s}s"),
    }
}

// ---- dynamic client registration -------------------------------------------------------------

fn unauthorized() -> FakeResponse {
    generic(
        401,
        "The request could not be authorized",
        "The requested OAuth 2.0 client does not exist or you provided incorrect credentials.",
    )
}

/// Hydra's extra rules for a dynamically registered client (`ValidateDynamicRegistration`).
fn validate_dynamic(body: &Value) -> Result<(), FakeResponse> {
    if body.get("metadata").is_some_and(|m| !m.is_null()) {
        return Err(generic(
            400,
            "invalid_client_metadata",
            "The value of one of the Client Metadata fields is invalid and the server has rejected this request. \
             Note that an Authorization Server MAY choose to substitute a valid value for any requested parameter \
             of a Client's Metadata. 'metadata' cannot be set for dynamic client registration",
        ));
    }
    for k in ["skip_consent", "skip_logout_consent"] {
        if body.get(k).and_then(Value::as_bool) == Some(true) {
            return Err(generic(
                400,
                "invalid_request",
                &format!("'{k}' cannot be set for dynamic client registration"),
            ));
        }
    }
    validate_client(body)
}

fn register(t: &mut TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let Some(body) = req.json.filter(|v| v.is_object()) else {
        return generic(
            400,
            "The request was malformed or contained invalid parameters",
            "Unable to decode the request body",
        );
    };
    if body.get("client_secret").and_then(Value::as_str).is_some_and(|s| !s.is_empty()) {
        return generic(
            400,
            "The request was malformed or contained invalid parameters",
            "It is not allowed to choose your own OAuth2 Client secret.",
        );
    }
    if let Err(e) = validate_dynamic(body) {
        return e;
    }
    // The client id is always Hydra's own.
    let id = uuid::Uuid::new_v4().to_string();
    let mut doc = client_doc(body, &id, &Value::Null);
    let secret = (doc["token_endpoint_auth_method"] != "none").then(|| random_token(""));
    t.clients.insert(id.clone(), StoredClient::new(doc.clone(), secret.clone(), false));
    let token = t.hydra_admin.issue_registration_token(&id);
    if let Some(s) = secret {
        doc["client_secret"] = json!(s);
    }
    doc["registration_access_token"] = json!(token);
    doc["registration_client_uri"] = json!(format!("{}/oauth2/register/{id}", t.hydra_admin.public_url));
    let mut r = FakeResponse::json(201, &with_lifespans(&t.hydra_admin, doc));
    if let Ok(v) = http::HeaderValue::from_str(&format!("/admin/clients/{id}")) {
        r.headers.push((http::header::LOCATION, v));
    }
    r
}

fn registered(t: &mut TenantState, req: &FakeRequest<'_>, id: &str) -> Option<FakeResponse> {
    // Hydra's router decodes `%2F`: `../x` is another route, and none exists.
    if id.to_ascii_lowercase().contains("%2f") {
        return Some(FakeResponse { status: 404, headers: Vec::new(), body: b"404 page not found\n".to_vec() });
    }
    let bearer = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.get(..7).filter(|p| p.eq_ignore_ascii_case("bearer ")).map(|_| v[7..].trim()));
    let authorized = t.clients.contains_key(id)
        && bearer.is_some_and(|b| t.hydra_admin.registration.get(id).is_some_and(|r| r == b));
    if !matches!(*req.method, Method::GET | Method::PUT | Method::DELETE) {
        return None;
    }
    if !authorized {
        return Some(unauthorized());
    }
    Some(match *req.method {
        Method::GET => {
            // Read back without its metadata (and, as everywhere, without its secret).
            let mut doc = with_lifespans(&t.hydra_admin, t.clients[id].doc.clone());
            if let Some(o) = doc.as_object_mut() {
                o.remove("metadata");
            }
            FakeResponse::json(200, &doc)
        }
        Method::DELETE => {
            t.clients.remove(id);
            t.hydra_admin.forget_client(id, true);
            FakeResponse::empty(204)
        }
        _ => {
            let Some(body) = req.json.filter(|v| v.is_object()) else {
                return Some(generic(
                    400,
                    "The request was malformed or contained invalid parameters",
                    "Unable to decode the request body. Is it valid JSON?",
                ));
            };
            if body.get("client_secret").and_then(Value::as_str).is_some_and(|s| !s.is_empty()) {
                return Some(generic(
                    403,
                    "The requested action was forbidden",
                    "It is not allowed to choose your own OAuth2 Client secret.",
                ));
            }
            if let Err(e) = validate_dynamic(body) {
                return Some(e);
            }
            let created = t.clients[id].doc["created_at"].clone();
            let doc = client_doc(body, id, &created);
            t.clients.get_mut(id).expect("checked above").doc = doc.clone();
            // A new registration access token on every update; the answer carries no
            // registration_client_uri.
            let token = t.hydra_admin.issue_registration_token(id);
            let mut out = with_lifespans(&t.hydra_admin, doc);
            out["registration_access_token"] = json!(token);
            FakeResponse::json(200, &out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{go_duration, parse_go_duration};

    #[test]
    fn go_durations_round_trip_as_hydra_prints_them() {
        for (input, secs, printed) in [
            ("1h", 3600, "1h0m0s"),
            ("2m", 120, "2m0s"),
            ("-5m", -300, "-5m0s"),
            ("90s", 90, "1m30s"),
            ("1h30m", 5400, "1h30m0s"),
            ("1.5h", 5400, "1h30m0s"),
            ("0", 0, "0s"),
        ] {
            assert_eq!(parse_go_duration(input), Some(secs), "{input}");
            assert_eq!(go_duration(secs), printed, "{input}");
        }
        for bad in ["forever", "", "5", "h", "1x", "-"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }
}

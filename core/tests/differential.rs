//! The differential suite of issue 26: tests/scenarios/differential.json run once on
//! `ory_iam::testing::FakeOry` and once on the real stack (tests/stack), comparing per step the
//! outcome, the error kind/code/status and the DTO shape. Any difference must be listed, with its
//! reason, in the allow-list of docs/testing-fake.md; a listed step that agrees fails too (the list
//! stays honest). The coverage table of the same page (emulated / 501 per method) is checked
//! against what the fake answered. Same rules as tests/python/test_differential.py and
//! tests/node/differential.test.js; the records go to .stack/differential/rust.json.

mod common;

use futures::StreamExt;
use ory_iam::dto::{parse_input, FlowKind, PermissionPatch, PermissionTuple};
use ory_iam::testing::FakeOry;
use ory_iam::transport::header_map_from_json;
use ory_iam::{Iam, IamConfig, Pager, Secret};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

const LANG: &str = "rust";

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/scenarios/differential.json")).unwrap()).unwrap()
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/testing-fake.md")).unwrap()
}

/// The fenced ```json block after the `<!-- differential-allow-list -->` marker.
fn allow_list() -> BTreeMap<String, Value> {
    let doc = doc();
    let after = doc.split("<!-- differential-allow-list -->").nth(1).expect("docs/testing-fake.md has an allow-list");
    let block = after.split("```json\n").nth(1).and_then(|b| b.split("```").next()).expect("a ```json block");
    let entries: Vec<Value> = serde_json::from_str(block).expect("the allow-list is JSON");
    let mut out = BTreeMap::new();
    for e in entries {
        for k in ["step", "differs", "kind", "reason"] {
            assert!(e.get(k).is_some(), "allow-list entry without {k}: {e}");
        }
        assert!(["fake-bug", "simplification"].contains(&e["kind"].as_str().unwrap()), "{e}");
        assert!(["outcome", "error", "shape"].contains(&e["differs"].as_str().unwrap()), "{e}");
        out.insert(e["step"].as_str().unwrap().to_owned(), e);
    }
    out
}

/// `| `service.method` | emulated / 501 |` rows after the `<!-- fake-coverage -->` marker.
fn coverage_table() -> BTreeMap<String, String> {
    let doc = doc();
    let part = doc.split("<!-- fake-coverage -->").nth(1).expect("docs/testing-fake.md has a coverage table");
    part.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let m = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let v = cells.get(2)?.to_string();
            (m.contains('.') && !m.contains(' ')).then(|| (m.to_owned(), v))
        })
        .collect()
}

// ----------------------------------------------------------------------------- normalizer

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// Keys and value types: strings masked unless their key is in `keep` (and they are no UUID or
/// URL), numbers masked except a top-level count, booleans and null kept, list lengths kept; secrets (`***`) as `<secret>`.
fn shape(v: &Value, key: &str, top: bool, keep: &BTreeSet<String>) -> Value {
    match v {
        Value::Null | Value::Bool(_) => v.clone(),
        Value::Number(_) if top => v.clone(),
        Value::Number(_) => json!("<number>"),
        Value::String(s) if s == "***" => json!("<secret>"),
        Value::String(s) if keep.contains(key) && !is_uuid(s) && !s.contains("://") => v.clone(),
        Value::String(_) => json!("<string>"),
        Value::Array(a) => Value::Array(a.iter().map(|x| shape(x, key, false, keep)).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), shape(x, k, false, keep))).collect()),
    }
}

/// Every list sorted (by its elements' JSON): for lists whose order the servers vary.
fn unordered(v: Value) -> Value {
    match v {
        Value::Array(a) => {
            let mut items: Vec<Value> = a.into_iter().map(unordered).collect();
            items.sort_by_cached_key(|x| x.to_string());
            Value::Array(items)
        }
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, x)| (k, unordered(x))).collect()),
        other => other,
    }
}

/// A result serialized twice: with secrets in clear (for `save`) and masked (for the shape).
type Out = (Value, Value);

fn out<T: Serialize>(t: T) -> Out {
    let exposed = ory_iam::secret::expose_in(|| serde_json::to_value(&t).unwrap());
    (exposed, serde_json::to_value(&t).unwrap())
}

async fn take<T: Serialize + Send + 'static>(p: Pager<T>, n: usize) -> ory_iam::Result<Out> {
    let mut items: Vec<T> = Vec::new();
    let mut p = p.take(n);
    while let Some(r) = p.next().await {
        items.push(r?);
    }
    Ok(out(items))
}

// ----------------------------------------------------------------------------- backends

enum Backend {
    Fake(FakeOry),
    Real { iam: Iam, cfg: Value, jar: std::sync::Mutex<BTreeMap<String, String>> },
}

/// The PKCE verifier of the scenario's authorization requests (S256).
const CODE_VERIFIER: &str = "differential-code-verifier-0123456789-0123456789-0123456789";

/// A redirect's `Location` with its query parameters (`login_challenge`, `consent_challenge`,
/// `code`, `error`, …) as members, for later steps.
fn location(url: &str) -> Value {
    let mut out = json!({"url": url});
    if let Ok(u) = url::Url::parse(url) {
        for (k, v) in u.query_pairs() {
            out[k.as_ref()] = json!(v);
        }
    }
    out
}

impl Backend {
    fn iam(&self) -> Iam {
        match self {
            Backend::Fake(f) => f.iam(),
            Backend::Real { iam, .. } => iam.clone(),
        }
    }

    /// The browser's part of an authorization-code flow: `authorize` (the authorization request
    /// of `step`: `client`, `scope`, PKCE with [`CODE_VERIFIER`]) or `follow` (the redirect
    /// `url`): on the fake with `FakeOry::authorize` / `FakeOry::follow`, on the real Hydra with
    /// a GET that does not follow the redirect (Hydra's cookies kept, as a browser would).
    async fn browse(&self, tenant: &str, kind: &str, step: &Value) -> Value {
        use base64::Engine;
        use sha2::Digest;
        let challenge =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(CODE_VERIFIER.as_bytes()));
        let req = ory_iam::testing::AuthorizeRequest {
            client_id: s(&step["client"]).to_owned(),
            redirect_uri: "https://app.example.test/callback".into(),
            scope: s(&step["scope"]).to_owned(),
            state: "differential-state".into(),
            code_challenge: Some(challenge),
            code_challenge_method: Some("S256".into()),
            ..Default::default()
        };
        let to = match (self, kind) {
            (Backend::Fake(f), "authorize") => f.authorize(tenant, req).unwrap(),
            (Backend::Fake(f), _) => {
                f.follow(tenant, s(&step["url"])).unwrap_or_else(|e| panic!("follow {step}: {e:?}"))
            }
            (Backend::Real { cfg, jar, .. }, _) => {
                let url = if kind == "authorize" {
                    let mut u = url::Url::parse(cfg["tenants"][tenant]["hydra"]["public_url"].as_str().unwrap())
                        .unwrap()
                        .join("oauth2/auth")
                        .unwrap();
                    u.query_pairs_mut()
                        .append_pair("client_id", &req.client_id)
                        .append_pair("response_type", "code")
                        .append_pair("redirect_uri", &req.redirect_uri)
                        .append_pair("scope", &req.scope)
                        .append_pair("state", &req.state)
                        .append_pair("code_challenge", req.code_challenge.as_deref().unwrap())
                        .append_pair("code_challenge_method", "S256");
                    String::from(u)
                } else {
                    s(&step["url"]).to_owned()
                };
                let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
                let cookies =
                    jar.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
                let r = http.get(&url).header("cookie", cookies).send().await.unwrap();
                for sc in r.headers().get_all("set-cookie") {
                    let first = sc.to_str().unwrap().split(';').next().unwrap();
                    if let Some((k, v)) = first.split_once('=') {
                        jar.lock().unwrap().insert(k.to_owned(), v.to_owned());
                    }
                }
                assert!(r.status().is_redirection(), "{url} answered {}", r.status());
                r.headers()["location"].to_str().unwrap().to_owned()
            }
        };
        let mut out = location(&to);
        out["code_verifier"] = json!(CODE_VERIFIER);
        out
    }

    fn cookie(&self, tenant: &str) -> String {
        match self {
            Backend::Fake(_) => ory_iam::testing::SESSION_COOKIE.to_owned(),
            Backend::Real { cfg, .. } => cfg["tenants"][tenant]["kratos"]["session_cookie_name"]
                .as_str()
                .unwrap_or("ory_kratos_session")
                .to_owned(),
        }
    }

    /// A session of a new identity with a password (identity.create, the same call on both
    /// sides), or a second session of the saved fixture `of`.
    async fn fixture(&self, tenant: &str, of: Option<&Value>, run: &str, n: usize, password: &str) -> Value {
        use ory_iam::dto::{CreateIdentity, FlowResult, InitiateFlow, SubmitFlow};
        let of = match of {
            Some(o) => o.clone(),
            None => {
                let email = format!("fixture{n}-{run}@example.test");
                let new = CreateIdentity {
                    schema_id: tenant.into(),
                    traits: json!({"email": email}),
                    credentials: Some(json!({"password": {"config": {"password": password}}})),
                    ..Default::default()
                };
                let id = self.iam().identity().for_tenant(tenant).unwrap().create(new).await.unwrap().id;
                json!({"identity_id": id, "email": email})
            }
        };
        let (session_id, token) = match self {
            Backend::Fake(f) => {
                let cred = f.create_session(tenant, of["identity_id"].as_str().unwrap()).unwrap();
                (cred.session_id, cred.token)
            }
            Backend::Real { iam, .. } => {
                let flows = iam.flow().for_tenant(tenant).unwrap();
                let flow = flows.initiate_login(InitiateFlow::default()).await.unwrap();
                let body = json!({"method": "password", "password": password, "identifier": of["email"]});
                let res = flows.submit_login(&flow.id, body, SubmitFlow::default()).await.unwrap();
                let FlowResult::Success(s) = res else { panic!("fixture: the login did not succeed: {res:?}") };
                (s.session.expect("the session").id, s.session_token.expect("native flows hand out a token"))
            }
        };
        common::leak_capture::register_secret(token.expose());
        let mut out = of;
        out["session_id"] = json!(session_id);
        out["token"] = json!(token.expose());
        out
    }
}

/// The stack's config plus an OAuth2 client (scope `read write`) as the tenants' Hydra client.
async fn real_backend() -> Backend {
    let mut cfg = common::iam_config();
    // The session cache as FakeOry configures it, so `cache_hit` compares.
    cfg["session_cache"] = json!("memory");
    for t in cfg["tenants"].as_object_mut().unwrap().values_mut() {
        t["cache"] = json!({"session_ttl_ms": 60_000});
    }
    let base = Iam::from_config(IamConfig::from_value(&cfg).unwrap()).unwrap();
    let client = base
        .oauth2_client()
        .create(json!({"client_name": "differential", "grant_types": ["client_credentials"], "scope": "read write",
                       "token_endpoint_auth_method": "client_secret_basic"}))
        .await
        .unwrap();
    let secret = client.client_secret.clone().expect("the secret is shown once");
    common::leak_capture::register_secret(secret.expose());
    for t in cfg["tenants"].as_object_mut().unwrap().values_mut() {
        t["hydra"]["client_id"] = json!(client.client_id);
        t["hydra"]["client_secret"] = json!(secret.expose());
    }
    let iam = Iam::from_config(IamConfig::from_value(&cfg).unwrap()).unwrap();
    Backend::Real { iam, cfg, jar: Default::default() }
}

// ----------------------------------------------------------------------------- runner

struct Ctx<'a> {
    saved: &'a Map<String, Value>,
    run: &'a str,
    backend: &'a Backend,
    tenant: &'a str,
}

fn resolve(v: &Value, c: &Ctx<'_>) -> Value {
    match v {
        Value::String(s) if s == "$uuid" => json!(uuid::Uuid::new_v4().to_string()),
        Value::String(s) if s.starts_with('$') && !s.starts_with("${") => {
            let mut parts = s[1..].split('.');
            // A value an earlier step failed to produce resolves to null (the call then fails too).
            let mut cur = c.saved.get(parts.next().unwrap()).unwrap_or(&Value::Null);
            for p in parts {
                cur = &cur[p];
            }
            cur.clone()
        }
        Value::String(s) => json!(s.replace("${run}", c.run)),
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, c)).collect()),
        Value::Object(m) if m.contains_key("$headers") => {
            let token = m.get("token").map(|t| resolve(t, c));
            let token = token.as_ref().and_then(Value::as_str).unwrap_or_default();
            match m["$headers"].as_str().unwrap() {
                "bearer" => json!({"authorization": format!("Bearer {token}")}),
                "session_token" => json!({"x-session-token": token}),
                "cookie" => json!({"cookie": format!("{}={token}", c.backend.cookie(c.tenant))}),
                _ => json!({}),
            }
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), resolve(x, c))).collect()),
        other => other.clone(),
    }
}

fn p<T: serde::de::DeserializeOwned>(v: &Value) -> ory_iam::Result<T> {
    parse_input("argument", v.clone())
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn secret(v: &Value) -> Secret {
    Secret::new(s(v))
}

/// One scenario call through the Rust API.
async fn call(iam: &Iam, tenant: &str, method: &str, a: &[Value], iterate: Option<usize>) -> ory_iam::Result<Out> {
    let n = iterate.unwrap_or(usize::MAX);
    let arg = |i: usize| a.get(i).cloned().unwrap_or(Value::Null);
    let h = |i: usize| header_map_from_json(&arg(i));
    let opt_str = |i: usize| a.get(i).and_then(Value::as_str).map(str::to_owned);
    let kind = |i: usize| -> ory_iam::Result<FlowKind> { p(&arg(i)) };
    let (service, m) = method.split_once('.').unwrap();
    macro_rules! svc {
        ($f:ident) => {
            iam.$f().for_tenant(tenant)?
        };
    }
    Ok(match (service, m) {
        ("metadata", "version") => out(svc!(metadata).version().await?),
        ("metadata", "discover_jwks") => out(svc!(metadata).discover_jwks().await?),
        ("schema", "list") => out(svc!(schema).list().await?),
        ("schema", "get") => out(svc!(schema).get(s(&a[0])).await?),

        ("identity", "create") => out(svc!(identity).create(p(&a[0])?).await?),
        ("identity", "create_many") => {
            let inputs = a[0].as_array().unwrap().iter().map(p).collect::<ory_iam::Result<Vec<_>>>()?;
            out(svc!(identity).create_many(inputs).await?)
        }
        ("identity", "get") => out(svc!(identity).get(s(&a[0])).await?),
        ("identity", "get_with_traits") => out(svc!(identity).get_with_traits(s(&a[0])).await?),
        ("identity", "get_credentials") => out(svc!(identity).get_credentials(s(&a[0])).await?),
        ("identity", "list") => out(svc!(identity).list(p(&a[0])?).await?),
        ("identity", "list_all") => take(svc!(identity).list_all(a[0].as_u64().map(|x| x as u32)), n).await?,
        ("identity", "update_traits") => out(svc!(identity).update_traits(s(&a[0]), a[1].clone()).await?),
        ("identity", "patch") => out(svc!(identity).patch(s(&a[0]), a[1].clone()).await?),
        ("identity", "list_sessions") => out(svc!(identity).list_sessions(s(&a[0]), p(&a[1])?).await?),
        ("identity", "list_sessions_all") => {
            take(svc!(identity).list_sessions_all(s(&a[0]), arg(1).as_bool()), n).await?
        }
        ("identity", "revoke_session") => out(svc!(identity).revoke_session(s(&a[0])).await?),
        ("identity", "revoke_sessions") => out(svc!(identity).revoke_sessions(s(&a[0])).await?),
        ("identity", "extend_session") => out(svc!(identity).extend_session(s(&a[0])).await?),
        ("identity", "create_recovery_link") => out(svc!(identity).create_recovery_link(s(&a[0]), p(&a[1])?).await?),
        ("identity", "create_recovery_code") => out(svc!(identity).create_recovery_code(s(&a[0]), p(&a[1])?).await?),
        ("identity", "delete_credential") => {
            out(svc!(identity).delete_credential(s(&a[0]), s(&a[1]), opt_str(2).as_deref()).await?)
        }
        ("identity", "delete") => out(svc!(identity).delete(s(&a[0])).await?),

        ("session", "whoami") => out(svc!(session).whoami(&h(0)).await?),
        ("session", "whoami_or_null") => out(svc!(session).whoami_or_null(&h(0)).await?),
        ("session", "revoke") => out(svc!(session).revoke(s(&a[0])).await?),
        ("session", "list") => out(svc!(session).list(p(&a[0])?).await?),
        ("session", "list_all") => take(svc!(session).list_all(arg(0).as_bool()), n).await?,
        ("session", "get") => out(svc!(session).get(s(&a[0])).await?),
        ("session", "list_mine") => out(svc!(session).list_mine(&h(0), p(&arg(1))?).await?),
        ("session", "list_mine_all") => take(svc!(session).list_mine_all(&h(0)), n).await?,
        ("session", "revoke_my_other_sessions") => out(svc!(session).revoke_my_other_sessions(&h(0)).await?),
        ("session", "revoke_mine") => out(svc!(session).revoke_mine(&h(0), s(&a[1])).await?),

        ("flow", "initiate") => out(svc!(flow).initiate(kind(0)?, p(&arg(1))?).await?),
        ("flow", "submit") => out(svc!(flow).submit(kind(0)?, s(&a[1]), a[2].clone(), p(&arg(3))?).await?),
        ("flow", "fetch_flow") => out(svc!(flow).fetch_flow(kind(0)?, s(&a[1]), p(&arg(2))?).await?),
        ("flow", "get_error") => out(svc!(flow).get_error(s(&a[0])).await?),
        ("flow", "initiate_browser_logout") => {
            out(svc!(flow).initiate_browser_logout(&secret(&a[0]), opt_str(1)).await?)
        }
        ("flow", "submit_browser_logout") => {
            let cookie = opt_str(1).map(Secret::new);
            out(svc!(flow).submit_browser_logout(&secret(&a[0]), cookie.as_ref()).await?)
        }
        ("flow", "perform_native_logout") => out(svc!(flow).perform_native_logout(&secret(&a[0])).await?),
        ("flow", "exchange_session_token") => {
            out(svc!(flow).exchange_session_token(&secret(&a[0]), &secret(&a[1])).await?)
        }

        ("courier", "list") => out(svc!(courier).list(p(&a[0])?).await?),
        ("courier", "list_all") => take(svc!(courier).list_all(p(&a[0])?), n).await?,
        ("courier", "get") => out(svc!(courier).get(s(&a[0]), arg(1).as_bool().unwrap_or(false)).await?),

        ("permission", "namespaces") => out(svc!(permission).namespaces().await?),
        ("permission", "grant") => out(svc!(permission).grant(&p::<PermissionTuple>(&a[0])?).await?),
        ("permission", "revoke") => out(svc!(permission).revoke(&p::<PermissionTuple>(&a[0])?).await?),
        ("permission", "check") => out(svc!(permission).check(&p::<PermissionTuple>(&a[0])?, p(&arg(1))?).await?),
        ("permission", "check_batch") => {
            let ts = a[0].as_array().unwrap().iter().map(p).collect::<ory_iam::Result<Vec<PermissionTuple>>>()?;
            out(svc!(permission).check_batch(&ts).await?)
        }
        ("permission", "patch") => {
            let ps = a[0].as_array().unwrap().iter().map(p).collect::<ory_iam::Result<Vec<PermissionPatch>>>()?;
            out(svc!(permission).patch(&ps).await?)
        }
        ("permission", "delete_matching") => out(svc!(permission).delete_matching(&p(&a[0])?).await?),
        ("permission", "check_opl_syntax") => out(svc!(permission).check_opl_syntax(s(&a[0])).await?),
        ("permission", "list") => out(svc!(permission).list(p(&a[0])?).await?),
        ("permission", "list_all") => take(svc!(permission).list_all(p(&a[0])?), n).await?,
        ("permission", "expand") => out(svc!(permission).expand(p(&a[0])?).await?),

        ("oauth2_client", "create") => out(svc!(oauth2_client).create(a[0].clone()).await?),
        ("oauth2_client", "get") => out(svc!(oauth2_client).get(s(&a[0])).await?),
        ("oauth2_client", "list") => out(svc!(oauth2_client).list(p(&a[0])?).await?),
        ("oauth2_client", "list_all") => take(svc!(oauth2_client).list_all(p(&a[0])?), n).await?,
        ("oauth2_client", "set") => out(svc!(oauth2_client).set(s(&a[0]), a[1].clone()).await?),
        ("oauth2_client", "patch") => out(svc!(oauth2_client).patch(s(&a[0]), a[1].clone()).await?),
        ("oauth2_client", "delete") => out(svc!(oauth2_client).delete(s(&a[0])).await?),
        ("oauth2_client", "set_lifespans") => out(svc!(oauth2_client).set_lifespans(s(&a[0]), p(&a[1])?).await?),
        ("oauth2_client", "register") => out(svc!(oauth2_client).register(a[0].clone()).await?),
        ("oauth2_client", "get_registered") => {
            out(svc!(oauth2_client).get_registered(s(&a[0]), &secret(&a[1])).await?)
        }
        ("oauth2_client", "set_registered") => {
            out(svc!(oauth2_client).set_registered(s(&a[0]), &secret(&a[1]), a[2].clone()).await?)
        }
        ("oauth2_client", "delete_registered") => {
            out(svc!(oauth2_client).delete_registered(s(&a[0]), &secret(&a[1])).await?)
        }

        ("token", "client_credentials") => out(svc!(token).client_credentials(opt_str(0).as_deref()).await?),
        ("token", "authorization_code") => out(svc!(token).authorization_code(p(&a[0])?).await?),
        ("token", "refresh") => out(svc!(token).refresh(p(&a[0])?).await?),
        ("token", "jwt_bearer") => out(svc!(token).jwt_bearer(p(&a[0])?).await?),
        ("token", "introspect") => out(svc!(token).introspect(&secret(&a[0])).await?),
        ("token", "authenticate") => out(svc!(token).authenticate(&h(0), p(&arg(1))?).await?),
        ("token", "revoke") => out(svc!(token).revoke(&secret(&a[0]), p(&arg(1))?).await?),
        ("token", "delete_access_tokens") => out(svc!(token).delete_access_tokens(s(&a[0])).await?),
        ("token", "userinfo") => out(svc!(token).userinfo(&secret(&a[0])).await?),
        ("token", "discover") => out(svc!(token).discover().await?),

        ("consent", "get_login_request") => out(svc!(consent).get_login_request(s(&a[0])).await?),
        ("consent", "list_consent_sessions") => out(svc!(consent).list_consent_sessions(p(&a[0])?).await?),
        ("consent", "list_consent_sessions_all") => take(svc!(consent).list_consent_sessions_all(p(&a[0])?), n).await?,
        ("consent", "revoke_consent_sessions") => out(svc!(consent).revoke_consent_sessions(p(&a[0])?).await?),
        ("consent", "logout_url") => out(svc!(consent).logout_url(p(&a[0])?)?),
        ("consent", "revoke_login_sessions") => out(svc!(consent).revoke_login_sessions(p(&a[0])?).await?),
        ("consent", "accept_login_request") => out(svc!(consent).accept_login_request(s(&a[0]), arg(1)).await?),
        ("consent", "reject_login_request") => out(svc!(consent).reject_login_request(s(&a[0]), arg(1)).await?),
        ("consent", "get_consent_request") => out(svc!(consent).get_consent_request(s(&a[0])).await?),
        ("consent", "accept_consent_request") => out(svc!(consent).accept_consent_request(s(&a[0]), arg(1)).await?),
        ("consent", "reject_consent_request") => out(svc!(consent).reject_consent_request(s(&a[0]), arg(1)).await?),
        ("consent", "get_logout_request") => out(svc!(consent).get_logout_request(s(&a[0])).await?),
        ("consent", "accept_logout_request") => out(svc!(consent).accept_logout_request(s(&a[0])).await?),
        ("consent", "reject_logout_request") => out(svc!(consent).reject_logout_request(s(&a[0])).await?),

        ("jwk", "create_set") => out(svc!(jwk).create_set(s(&a[0]), p(&a[1])?).await?),
        ("jwk", "get_set") => out(svc!(jwk).get_set(s(&a[0])).await?),
        ("jwk", "update_set") => {
            let keys = ory_iam::dto::JsonWebKeySet { keys: a[1]["keys"].as_array().cloned().unwrap_or_default() };
            out(svc!(jwk).update_set(s(&a[0]), keys).await?)
        }
        ("jwk", "delete_set") => out(svc!(jwk).delete_set(s(&a[0])).await?),
        ("jwk", "get_key") => out(svc!(jwk).get_key(s(&a[0]), s(&a[1])).await?),
        ("jwk", "update_key") => out(svc!(jwk).update_key(s(&a[0]), s(&a[1]), a[2].clone()).await?),
        ("jwk", "delete_key") => out(svc!(jwk).delete_key(s(&a[0]), s(&a[1])).await?),

        ("trusted_issuer", "trust") => out(svc!(trusted_issuer).trust(p(&a[0])?).await?),
        ("trusted_issuer", "get") => out(svc!(trusted_issuer).get(s(&a[0])).await?),
        ("trusted_issuer", "list") => out(svc!(trusted_issuer).list(p(&a[0])?).await?),
        ("trusted_issuer", "list_all") => take(svc!(trusted_issuer).list_all(p(&a[0])?), n).await?,
        ("trusted_issuer", "delete") => out(svc!(trusted_issuer).delete(s(&a[0])).await?),
        _ => panic!("core/tests/differential.rs does not know {method}: add it to `call`"),
    })
}

async fn run_scenario(backend: &Backend, run: &str) -> BTreeMap<String, Value> {
    let sc = scenario();
    let keep: BTreeSet<String> =
        sc["keep"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()).collect();
    let password = sc["password"].as_str().unwrap();
    let iam = backend.iam();
    let mut saved = Map::new();
    let mut records = BTreeMap::new();
    for (n, step) in sc["steps"].as_array().unwrap().iter().enumerate() {
        let tenant = step["tenant"].as_str().unwrap_or("customer");
        if let Some(kind @ ("authorize" | "follow")) = step["fixture"].as_str() {
            let ctx = Ctx { saved: &saved, run, backend, tenant };
            let got = backend.browse(tenant, kind, &resolve(step, &ctx)).await;
            saved.insert(step["save"].as_str().unwrap().to_owned(), got);
            continue;
        }
        if step.get("fixture").is_some() {
            let of = step["identity"].as_str().map(|r| saved[&r[1..]].clone());
            let got = backend.fixture(tenant, of.as_ref(), run, n, password).await;
            saved.insert(step["save"].as_str().unwrap().to_owned(), got);
            continue;
        }
        let ctx = Ctx { saved: &saved, run, backend, tenant };
        let mut args: Vec<Value> = resolve(&step["args"], &ctx).as_array().cloned().unwrap_or_default();
        if let Some(kw) = step.get("kwargs") {
            args.push(resolve(kw, &ctx));
        }
        let iterate = step["iterate"].as_u64().map(|x| x as usize);
        let rec = match call(&iam, tenant, step["call"].as_str().unwrap(), &args, iterate).await {
            Ok((exposed, masked)) => {
                if let Some(name) = step["save"].as_str() {
                    saved.insert(name.to_owned(), exposed);
                }
                if step["record"] == "outcome" {
                    json!({"outcome": "ok"})
                } else {
                    let sh = shape(&masked, "", true, &keep);
                    json!({"outcome": "ok", "shape": if step["unordered"] == true { unordered(sh) } else { sh }})
                }
            }
            Err(e) => {
                json!({"outcome": "error", "class": format!("{:?}", e.kind()), "code": e.code(), "status": e.status()})
            }
        };
        records.insert(step["id"].as_str().unwrap().to_owned(), rec);
    }
    records
}

fn category(fake: &Value, real: &Value) -> Option<&'static str> {
    if fake == real {
        None
    } else if fake["outcome"] != real["outcome"] {
        Some("outcome")
    } else if fake["outcome"] == "error" {
        Some("error")
    } else {
        Some("shape")
    }
}

/// Per method: `501` when every call of it answered 501 on the fake, else `emulated`.
fn coverage(records: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    let mut by: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for step in scenario()["steps"].as_array().unwrap() {
        if let Some(c) = step["call"].as_str() {
            by.entry(c.to_owned()).or_default().push(&records[step["id"].as_str().unwrap()]);
        }
    }
    by.into_iter()
        .map(|(m, rs)| {
            let all_501 = rs.iter().all(|r| r["status"] == 501);
            (m, if all_501 { "501" } else { "emulated" }.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn fake_and_real_agree_except_the_allow_list() {
    common::stack();
    let run = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let fake = run_scenario(&Backend::Fake(stack_like_fake()), &run).await;
    let real_backend = real_backend().await;
    let real = run_scenario(&real_backend, &run).await;
    let dir = root().join(".stack/differential");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{LANG}.json")),
        serde_json::to_vec_pretty(&json!({"fake": fake, "real": real})).unwrap(),
    )
    .unwrap();

    let allowed = allow_list();
    let (mut unlisted, mut wrong, mut stale) = (Vec::new(), Vec::new(), Vec::new());
    let mut differ = 0;
    for (id, f) in &fake {
        let r = &real[id];
        let cat = category(f, r);
        let entry = allowed
            .get(id)
            .filter(|e| e.get("languages").and_then(Value::as_array).is_none_or(|l| l.iter().any(|x| x == LANG)));
        differ += usize::from(cat.is_some());
        match (cat, entry) {
            (None, Some(_)) => stale.push(id.clone()),
            (Some(c), None) => unlisted.push(format!("{id} ({c}): fake {f} / real {r}")),
            (Some(c), Some(e)) if e["differs"] != c => {
                wrong.push(format!("{id}: listed as {}, differs in {c}", e["differs"]))
            }
            _ => {}
        }
    }
    println!("differential ({LANG}): {} steps, {} agree, {differ} differ", fake.len(), fake.len() - differ);
    assert!(unlisted.is_empty(), "differences not in docs/testing-fake.md:\n{}", unlisted.join("\n"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(stale.is_empty(), "allow-list entries that no longer differ (remove them): {stale:?}");
    let unknown: Vec<_> = allowed.keys().filter(|k| !fake.contains_key(*k)).collect();
    assert!(unknown.is_empty(), "allow-list entries for no step: {unknown:?}");

    let got = coverage(&fake);
    assert_eq!(coverage_table(), got, "docs/testing-fake.md's coverage table is stale");
}

/// The fake configured like tests/stack: each tenant's Kratos has its own identity schema.
fn stack_like_fake() -> FakeOry {
    let stack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/stack");
    let schema = |t: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(stack.join(format!("identity.{t}.schema.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    FakeOry::with_options(ory_iam::testing::FakeOptions {
        tenants: vec!["customer".into(), "admin".into()],
        tenant_identity_schemas: ["customer", "admin"]
            .iter()
            .map(|t| (t.to_string(), vec![(t.to_string(), schema(t))]))
            .collect(),
        // The tenants' client is registered for the real side's client's scopes (`read write`).
        client_scope: Some(vec!["read".into(), "write".into()]),
        ..Default::default()
    })
    .unwrap()
}

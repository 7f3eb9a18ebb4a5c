//! The fault matrix (issue 8): every fault × representative operations, through
//! `tests/reliability/fault_proxy.py` placed between the library and the real stack.
//! Each cell must end in a typed `upstream_unavailable` within the configured budget, after the
//! number of attempts the retry policy allows, and never as "anonymous" or "allowed". Then the
//! circuit breaker, per fault: opens after the threshold, refuses without sending, half-opens
//! after the open period, re-opens on a failed probe and closes on a good one. Last, the faults
//! callers make themselves (issue 19, items 3 and 4): a half-open probe that its caller cancels or
//! that the rate limiter refuses re-opens the breaker (which later reaches the healed server); a
//! single flight whose every waiter was cancelled is gone, and the next caller starts its own.
//! Prints the matrix and writes `.stack/reliability/faults.json`.

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use fault_proxy::FaultProxy;
use ory_iam::dto::{CheckOptions, CreateIdentity, FlowResult, InitiateFlow, PermissionTuple, SubmitFlow};
use ory_iam::transport::header_map;
use ory_iam::{Error, ErrorKind, Iam};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TIMEOUT_MS: u64 = 500;
const CONNECT_TIMEOUT_MS: u64 = 300;
const RETRIES: u32 = 2;
const BACKOFF_BASE_MS: u64 = 10;
const BACKOFF_MAX_MS: u64 = 40;
/// Scheduling and process noise on a 2-core machine shared with other builds.
const SLACK_MS: u64 = 700;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Server {
    KratosPublic,
    KratosAdmin,
    KetoRead,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Whoami,
    WhoamiOrNull,
    Check,
    IdentityGet,
    IdentityCreate,
}

const OPS: [Op; 5] = [Op::Whoami, Op::WhoamiOrNull, Op::Check, Op::IdentityGet, Op::IdentityCreate];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Whoami => "session.whoami",
            Op::WhoamiOrNull => "session.whoami_or_null",
            Op::Check => "permission.check",
            Op::IdentityGet => "identity.get",
            Op::IdentityCreate => "identity.create",
        }
    }
    fn idempotent(self) -> bool {
        self != Op::IdentityCreate
    }
    fn server(self) -> Server {
        match self {
            Op::Whoami | Op::WhoamiOrNull => Server::KratosPublic,
            Op::Check => Server::KetoRead,
            Op::IdentityGet | Op::IdentityCreate => Server::KratosAdmin,
        }
    }
    /// The proxy faults only these paths, so health probes pass through untouched.
    fn path(self) -> &'static str {
        match self {
            Op::Whoami | Op::WhoamiOrNull => "/sessions/whoami",
            Op::Check => "/relation-tuples/check",
            Op::IdentityGet | Op::IdentityCreate => "/admin/identities",
        }
    }
}

/// What the fault does to the request.
#[derive(Clone)]
enum How {
    /// Arm the shared proxy with this spec.
    Proxy(Value),
    /// A loopback port nobody listens on.
    Refused,
    /// A `.invalid` host (RFC 2606: never resolves).
    Dns,
    /// A fresh proxy that exits hard once the request arrived.
    Kill,
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    /// Network, timeout, 5xx, 429: retried for idempotent calls, counted by the breaker.
    Transport,
    /// The server answered, badly: never retried (the same answer would come back), not counted
    /// by the breaker (the host is up).
    Payload,
    /// 429 asking for more patience than the budget: given up at once, `retry_after` carried.
    TooLong,
}

#[derive(Clone)]
struct Fault {
    name: &'static str,
    how: How,
    class: Class,
    retry_after: Option<Duration>,
    /// Longest wait between two attempts this row allows (backoff or Retry-After).
    max_wait_ms: u64,
    status: Option<u16>,
}

fn faults() -> Vec<Fault> {
    let p = |name, spec: Value, class| Fault {
        name,
        how: How::Proxy(spec),
        class,
        retry_after: None,
        max_wait_ms: BACKOFF_MAX_MS,
        status: None,
    };
    let status =
        |name, s: u16| Fault { status: Some(s), ..p(name, json!({"mode": "status", "status": s}), Class::Transport) };
    vec![
        Fault { how: How::Refused, ..p("connection refused", json!(null), Class::Transport) },
        Fault { how: How::Dns, ..p("DNS failure", json!(null), Class::Transport) },
        Fault { how: How::Kill, ..p("server killed mid-request", json!(null), Class::Transport) },
        p("connection reset", json!({"mode": "reset"}), Class::Transport),
        status("500", 500),
        status("502", 502),
        status("503", 503),
        status("429 no Retry-After", 429),
        Fault {
            retry_after: Some(Duration::from_secs(1)),
            max_wait_ms: 1_000,
            status: Some(429),
            ..p("429 Retry-After: 1", json!({"mode": "status", "status": 429, "retry_after": 1}), Class::Transport)
        },
        Fault {
            retry_after: Some(Duration::from_secs(30)),
            status: Some(429),
            ..p("429 Retry-After: 30", json!({"mode": "status", "status": 429, "retry_after": 30}), Class::TooLong)
        },
        p("never answers", json!({"mode": "hang"}), Class::Transport),
        p("slow-drip body", json!({"mode": "drip", "interval_ms": 100}), Class::Transport),
        p("truncated JSON", json!({"mode": "truncated"}), Class::Transport),
        p("malformed JSON", json!({"mode": "malformed"}), Class::Payload),
        p("body over cap (Content-Length)", json!({"mode": "oversize", "size": 4_000_000}), Class::Payload),
        p(
            "body over cap (chunked)",
            json!({"mode": "oversize", "size": 4_000_000, "content_length": false}),
            Class::Payload,
        ),
        p(
            "wrong content type",
            json!({"mode": "content_type", "content_type": "text/html; charset=utf-8"}),
            Class::Payload,
        ),
        p("200 lacking required fields", json!({"mode": "missing_fields", "body": {}}), Class::Payload),
    ]
}

impl Fault {
    fn expected_attempts(&self, op: Op) -> u32 {
        match self.class {
            Class::Transport if op.idempotent() => RETRIES + 1,
            _ => 1,
        }
    }
    /// Every attempt may use the whole per-attempt timeout, plus the waits between attempts.
    fn budget(&self, op: Op) -> Duration {
        let n = self.expected_attempts(op) as u64;
        Duration::from_millis(n * TIMEOUT_MS + (n - 1) * self.max_wait_ms + SLACK_MS)
    }
    fn http(&self) -> Value {
        json!({
            "timeout_ms": TIMEOUT_MS, "connect_timeout_ms": CONNECT_TIMEOUT_MS, "retries": RETRIES,
            "backoff_base_ms": BACKOFF_BASE_MS, "backoff_max_ms": self.max_wait_ms.max(BACKOFF_MAX_MS),
            "max_body_bytes": 256 * 1024, "breaker_threshold": 0,
        })
    }
}

struct Fixture {
    stack: Value,
    token: String,
    identity_id: String,
    allowed: PermissionTuple,
    schema_id: String,
    created_emails: Vec<String>,
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn real_url(stack: &Value, s: Server) -> String {
    match s {
        Server::KratosPublic => stack["kratos"]["customer"]["public_url"].as_str().unwrap().to_owned(),
        Server::KratosAdmin => stack["kratos"]["customer"]["admin_url"].as_str().unwrap().to_owned(),
        Server::KetoRead => stack["keto"]["read_url"].as_str().unwrap().to_owned(),
    }
}

/// The stack's config with the customer tenant's `server` replaced by `url`.
fn config(stack: &Value, server: Server, url: &str, http: Value) -> Value {
    let mut cfg = stack["iam_config"].clone();
    let t = &mut cfg["tenants"]["customer"];
    match server {
        Server::KratosPublic => t["kratos"]["public_url"] = json!(url),
        Server::KratosAdmin => t["kratos"]["admin_url"] = json!(url),
        Server::KetoRead => t["keto"]["read_url"] = json!(url),
    }
    t["http"] = http;
    cfg["session_cache"] = json!("none");
    cfg["audit"] = json!({"sink": "none"});
    cfg
}

async fn fixture() -> Fixture {
    let stack = common::stack();
    let iam = Iam::from_value(&stack["iam_config"]).unwrap();
    let flows = iam.flow();
    let flow = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
    let email = common::unique_email("reliability");
    let body = json!({"method": "password", "password": "a-Long-and-unique-passphrase-42", "traits": {"email": email}});
    let FlowResult::Success(s) = flows.submit_registration(&flow.id, body, SubmitFlow::default()).await.unwrap() else {
        panic!("registration did not succeed")
    };
    let allowed = PermissionTuple::new("documents", &format!("rel-{}", uuid::Uuid::new_v4().simple()), "view", "alice");
    iam.permission().grant(&allowed).await.unwrap();
    assert!(iam.permission().check(&allowed, CheckOptions::default()).await.unwrap(), "without faults: allowed");
    Fixture {
        schema_id: stack["kratos"]["customer"]["schema_id"].as_str().unwrap().to_owned(),
        stack,
        token: s.session_token.unwrap().expose().to_owned(),
        identity_id: s.identity.unwrap().id,
        allowed,
        created_emails: Vec::new(),
    }
}

/// What an operation returned when it did not fail.
async fn run(op: Op, iam: &Iam, fx: &mut Fixture) -> Result<&'static str, Error> {
    let req = header_map([("authorization", format!("Bearer {}", fx.token))]);
    match op {
        Op::Whoami => iam.session().whoami(&req).await.map(|_| "session"),
        Op::WhoamiOrNull => {
            iam.session().whoami_or_null(&req).await.map(|s| if s.is_some() { "session" } else { "anonymous" })
        }
        Op::Check => {
            iam.permission()
                .check(&fx.allowed, CheckOptions::default())
                .await
                .map(|a| if a { "allowed" } else { "denied" })
        }
        Op::IdentityGet => iam.identity().get(&fx.identity_id).await.map(|_| "identity"),
        Op::IdentityCreate => {
            let email = common::unique_email("reliability-create");
            fx.created_emails.push(email.clone());
            let input = CreateIdentity {
                schema_id: fx.schema_id.clone(),
                traits: json!({"email": email}),
                ..Default::default()
            };
            iam.identity().create(input).await.map(|_| "created")
        }
    }
}

struct Proxies {
    kratos_public: FaultProxy,
    kratos_admin: FaultProxy,
    keto_read: FaultProxy,
}

impl Proxies {
    fn get(&self, s: Server) -> &FaultProxy {
        match s {
            Server::KratosPublic => &self.kratos_public,
            Server::KratosAdmin => &self.kratos_admin,
            Server::KetoRead => &self.keto_read,
        }
    }
}

#[derive(serde::Serialize)]
struct Row {
    fault: String,
    op: String,
    result: String,
    status: Option<u16>,
    retry_after_ms: Option<u128>,
    attempts_expected: u32,
    /// Requests the proxy saw; `None` where no proxy is involved (refused, DNS).
    attempts_seen: Option<u64>,
    elapsed_ms: u128,
    budget_ms: u128,
    fail_closed: bool,
    ok: bool,
    problems: Vec<String>,
}

async fn cell(f: &Fault, op: Op, fx: &mut Fixture, proxies: &Proxies) -> Row {
    let mut killer: Option<FaultProxy> = None;
    let url = match &f.how {
        How::Proxy(spec) => {
            let p = proxies.get(op.server());
            p.reset().await;
            let mut spec = spec.clone();
            spec["path"] = json!(op.path());
            p.fault(spec).await;
            p.url.clone()
        }
        How::Refused => format!("http://127.0.0.1:{}/", closed_port()),
        How::Dns => "http://ory-iam-reliability.invalid:4434/".to_owned(),
        How::Kill => {
            let p = FaultProxy::start(&real_url(&fx.stack, op.server()));
            p.fault(json!({"mode": "kill", "path": op.path(), "after_ms": 50})).await;
            let url = p.url.clone();
            killer = Some(p);
            url
        }
    };
    let iam = Iam::from_value(&config(&fx.stack, op.server(), &url, f.http())).unwrap();
    let budget = f.budget(op);
    let t0 = Instant::now();
    let out = tokio::time::timeout(budget + Duration::from_secs(3), run(op, &iam, fx)).await;
    let elapsed = t0.elapsed();
    let seen = match (&f.how, killer.as_mut()) {
        (How::Proxy(_), _) => Some(proxies.get(op.server()).requests(op.path()).await),
        // It can only have exited (code 17) by receiving the request.
        (How::Kill, Some(k)) => Some(u64::from(k.wait_exit(Duration::from_secs(2)).and_then(|s| s.code()) == Some(17))),
        _ => None,
    };
    let mut problems = Vec::new();
    let (result, status, retry_after, fail_closed) = match &out {
        Err(_) => {
            problems.push("no answer within budget + 3 s (hang)".into());
            ("hang".to_owned(), None, None, true)
        }
        Ok(Ok(what)) => {
            problems.push(format!("returned `{what}` despite the fault"));
            (what.to_string(), None, None, false)
        }
        Ok(Err(e)) => {
            if e.kind() != ErrorKind::UpstreamUnavailable {
                problems.push(format!("kind {} instead of upstream_unavailable", e.code()));
            }
            (e.code().to_owned(), e.status(), e.retry_after(), true)
        }
    };
    let expected = f.expected_attempts(op);
    if let Some(s) = seen {
        if s != u64::from(expected) && !matches!(f.how, How::Kill) {
            problems.push(format!("{s} attempts instead of {expected}"));
        }
        if matches!(f.how, How::Kill) && s != 1 {
            problems.push("the proxy did not die on the request".into());
        }
    }
    if elapsed > budget {
        problems.push(format!("{} ms over the {} ms budget", elapsed.as_millis(), budget.as_millis()));
    }
    if f.retry_after.is_some() && retry_after != f.retry_after {
        problems.push(format!("retry_after {retry_after:?} instead of {:?}", f.retry_after));
    }
    if f.status.is_some() && status != f.status {
        problems.push(format!("status {status:?} instead of {:?}", f.status));
    }
    if !fail_closed {
        problems.push("fail-open".into());
    }
    Row {
        fault: f.name.to_owned(),
        op: op.name().to_owned(),
        result,
        status,
        retry_after_ms: retry_after.map(|d| d.as_millis()),
        attempts_expected: expected,
        attempts_seen: seen,
        elapsed_ms: elapsed.as_millis(),
        budget_ms: budget.as_millis(),
        fail_closed,
        ok: problems.is_empty(),
        problems,
    }
}

#[derive(serde::Serialize)]
struct BreakerRow {
    fault: String,
    counted: bool,
    /// States seen by `iam.health()` after each step.
    states: Vec<String>,
    refused_without_request: bool,
    requests_seen: Vec<u64>,
    ok: bool,
    problems: Vec<String>,
}

const THRESHOLD: u32 = 2;
const OPEN_MS: u64 = 400;

async fn breaker_state(iam: &Iam) -> String {
    let h = iam.health().await;
    h.probes
        .iter()
        .find(|p| p.tenant == "customer" && p.product == "kratos-admin")
        .map(|p| p.breaker.clone())
        .unwrap_or_default()
}

/// identity.get (idempotent, no retries) against one fault, with a small threshold and open
/// period: `threshold` failures open it (health says `open`); an open breaker answers at once
/// with `retry_after` and sends nothing; after the open period exactly one probe goes out; a
/// failed probe re-opens it; a good probe closes it (calls flow again, health says `closed`).
/// Payload faults must leave it closed. `health()` is only read where it cannot disturb the
/// state: its version lookup goes through the same breaker (a success resets the failure count
/// and can serve as the half-open probe).
async fn breaker_row(f: &Fault, fx: &mut Fixture, proxies: &Proxies) -> BreakerRow {
    let op = Op::IdentityGet;
    let p = proxies.get(op.server());
    let mut killer: Option<FaultProxy> = None;
    let url = match &f.how {
        How::Proxy(spec) => {
            p.reset().await;
            let mut spec = spec.clone();
            spec["path"] = json!(op.path());
            p.fault(spec).await;
            p.url.clone()
        }
        How::Kill => {
            let k = FaultProxy::start(&real_url(&fx.stack, op.server()));
            k.fault(json!({"mode": "kill", "path": op.path(), "after_ms": 20})).await;
            let url = k.url.clone();
            killer = Some(k);
            url
        }
        How::Refused => format!("http://127.0.0.1:{}/", closed_port()),
        How::Dns => "http://ory-iam-reliability.invalid:4434/".to_owned(),
    };
    let mut http = f.http();
    http["retries"] = json!(0);
    http["timeout_ms"] = json!(300);
    http["breaker_threshold"] = json!(THRESHOLD);
    http["breaker_open_ms"] = json!(OPEN_MS);
    let iam = Iam::from_value(&config(&fx.stack, op.server(), &url, http)).unwrap();
    let counted = f.class != Class::Payload;
    let live = matches!(f.how, How::Proxy(_));
    let mut states = Vec::new();
    let mut seen = Vec::new();
    let mut problems = Vec::new();
    let mut refused_without_request = true;
    for _ in 0..THRESHOLD {
        if run(op, &iam, fx).await.is_ok() {
            problems.push("a faulted call succeeded".into());
        }
    }
    seen.push(count(p, live, op).await);
    if !counted {
        // One more: an answering host keeps the breaker closed, every call is sent.
        let _ = run(op, &iam, fx).await;
        seen.push(count(p, live, op).await);
        states.push(breaker_state(&iam).await);
        if seen.last() != Some(&u64::from(THRESHOLD + 1)) || states.last().map(String::as_str) != Some("closed") {
            problems.push("an answering server opened the breaker".into());
        }
    } else {
        states.push(breaker_state(&iam).await);
        if states.last().map(String::as_str) != Some("open") {
            problems.push(format!("not open after {THRESHOLD} failures"));
        }
        // Open: answered at once, nothing sent.
        let refused = |res: &Result<&'static str, Error>, t0: Instant| match res {
            Err(e) => {
                e.kind() == ErrorKind::UpstreamUnavailable
                    && e.retry_after().is_some_and(|d| d <= Duration::from_millis(OPEN_MS))
                    && t0.elapsed() < Duration::from_millis(150)
            }
            Ok(_) => false,
        };
        let before = count(p, live, op).await;
        let t0 = Instant::now();
        let r = run(op, &iam, fx).await;
        let after = count(p, live, op).await;
        seen.push(after);
        if !refused(&r, t0) || after != before {
            refused_without_request = false;
            problems.push("the open breaker did not refuse at once without sending".into());
        }
        states.push("refused".into());
        // Half-open: exactly one probe goes out; it fails and re-opens the breaker.
        tokio::time::sleep(Duration::from_millis(OPEN_MS + 50)).await;
        let r = run(op, &iam, fx).await;
        seen.push(count(p, live, op).await);
        // Refused by the breaker = `retry_after` within the open period (a 429's own is longer).
        if r.is_ok() || matches!(&r, Err(e) if e.retry_after().is_some_and(|d| d <= Duration::from_millis(OPEN_MS))) {
            problems.push("the half-open probe was not sent or succeeded".into());
        }
        if live && seen[seen.len() - 1] != before + 1 {
            problems.push("not exactly one half-open probe".into());
        }
        states.push("probe failed".into());
        let t0 = Instant::now();
        let r = run(op, &iam, fx).await;
        if !refused(&r, t0) {
            problems.push("a failed probe did not re-open".into());
        }
        states.push(breaker_state(&iam).await);
        if states.last().map(String::as_str) != Some("open") {
            problems.push("health does not say open after the failed probe".into());
        }
        if live {
            // A good probe closes it: calls flow again.
            tokio::time::sleep(Duration::from_millis(OPEN_MS + 50)).await;
            p.reset().await;
            for _ in 0..2 {
                if run(op, &iam, fx).await.is_err() {
                    problems.push("a call after the good probe failed".into());
                }
            }
            seen.push(count(p, live, op).await);
            if seen.last() != Some(&2) {
                problems.push("calls after the good probe were not sent".into());
            }
            states.push("probe ok".into());
            states.push(breaker_state(&iam).await);
            if states.last().map(String::as_str) != Some("closed") {
                problems.push("a good probe did not close it".into());
            }
        }
    }
    drop(killer);
    BreakerRow {
        fault: f.name.to_owned(),
        counted,
        states,
        refused_without_request,
        requests_seen: seen,
        ok: problems.is_empty(),
        problems,
    }
}

/// A fault made by the caller rather than the server: what happened step by step, the requests
/// the proxy saw, and whether the later call reached the healed server.
#[derive(serde::Serialize)]
struct CancelRow {
    fault: &'static str,
    steps: Vec<String>,
    requests_seen: u64,
    ok: bool,
    problems: Vec<String>,
}

/// whoami through `proxy` (in front of the real Kratos public API) with `http` settings.
fn whoami_iam(fx: &Fixture, proxy: &FaultProxy, http: Value, session_cache: Value) -> Iam {
    let mut cfg = fx.stack["iam_config"].clone();
    cfg["session_cache"] = session_cache;
    let t = &mut cfg["tenants"]["customer"];
    t["kratos"]["public_url"] = json!(proxy.url);
    t["http"] = http;
    t["cache"] = json!({"session_ttl_ms": 60_000});
    Iam::from_value(&cfg).unwrap()
}

fn kind_of<T>(r: &Result<T, Error>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.code().to_owned(),
    }
}

/// Opens the breaker (threshold 1) with one 503, waits out the open period, lets `probe` be the
/// half-open probe, heals the server and checks that a later call reaches it: before the fix the
/// breaker stayed half-open for ever ("circuit breaker is open" until restart).
async fn probe_row(
    fx: &Fixture,
    fault: &'static str,
    probe: impl std::future::Future<Output = String>,
    p: &FaultProxy,
    iam: &Iam,
) -> CancelRow {
    let req = header_map([("authorization", format!("Bearer {}", fx.token))]);
    let mut steps = Vec::new();
    let mut problems = Vec::new();
    p.fault(json!({"mode": "status", "status": 503, "path": "/sessions/whoami"})).await;
    let r = iam.session().whoami(&req).await;
    steps.push(format!("503 → {}", kind_of(&r)));
    if r.is_ok() {
        problems.push("a 503 gave a session".into());
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    steps.push(format!("probe → {}", probe.await));
    p.reset().await;
    let mut healed = None;
    // The re-opened breaker half-opens again after its open period (300 ms) and the rate limiter
    // refills (1/s): a call within 3 s must reach the healed server.
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        match iam.session().whoami(&req).await {
            Ok(s) => {
                healed = Some(s.active);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let seen = p.requests("/sessions/whoami").await;
    steps.push(format!("healed → {}", if healed == Some(true) { "session" } else { "still refused" }));
    if healed != Some(true) {
        problems.push("the healed server was never reached again (breaker stuck half-open)".into());
    }
    CancelRow { fault, steps, requests_seen: seen, ok: problems.is_empty(), problems }
}

async fn cancellation_rows(fx: &Fixture) -> Vec<CancelRow> {
    let kratos = real_url(&fx.stack, Server::KratosPublic);
    let req = header_map([("authorization", format!("Bearer {}", fx.token))]);
    let mut rows = Vec::new();

    // The probe is refused by the rate limiter: no token within its 400 ms timeout.
    let p = FaultProxy::start(&kratos);
    let http = json!({"timeout_ms": 400, "retries": 0, "breaker_threshold": 1, "breaker_open_ms": 300,
                      "rate_limit_per_sec": 1, "rate_limit_burst": 1});
    let iam = whoami_iam(fx, &p, http, json!("none"));
    let probe = async { kind_of(&iam.session().whoami(&req).await) };
    rows.push(probe_row(fx, "half-open probe rate-limited", probe, &p, &iam).await);

    // The probe hangs and its caller gives up (the future is dropped).
    let p = FaultProxy::start(&kratos);
    let http = json!({"timeout_ms": 5000, "retries": 0, "breaker_threshold": 1, "breaker_open_ms": 300});
    let iam = whoami_iam(fx, &p, http, json!("none"));
    let probe = async {
        p.fault(json!({"mode": "hang", "path": "/sessions/whoami"})).await;
        match tokio::time::timeout(Duration::from_millis(200), iam.session().whoami(&req)).await {
            Err(_) => "cancelled by its caller".to_owned(),
            Ok(r) => kind_of(&r),
        }
    };
    rows.push(probe_row(fx, "half-open probe cancelled", probe, &p, &iam).await);

    // Every waiter of one single flight is cancelled while the server hangs; the next caller
    // with the same credential must start its own request, not inherit the abandoned one.
    let p = FaultProxy::start(&kratos);
    let http = json!({"timeout_ms": 8000, "retries": 0, "breaker_threshold": 0});
    let iam = whoami_iam(fx, &p, http, json!({"memory": {"max_entries": 100}}));
    let mut steps = Vec::new();
    let mut problems = Vec::new();
    p.fault(json!({"mode": "hang", "path": "/sessions/whoami"})).await;
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (iam, req) = (iam.clone(), req.clone());
            tokio::spawn(async move { iam.session().whoami(&req).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for w in &waiters {
        w.abort();
    }
    let mut cancelled = 0;
    for w in waiters {
        cancelled += usize::from(w.await.is_err_and(|e| e.is_cancelled()));
    }
    steps.push(format!("3 waiters on a hanging server → {cancelled} cancelled"));
    p.reset().await;
    match tokio::time::timeout(Duration::from_secs(3), iam.session().whoami(&req)).await {
        Ok(Ok(s)) if s.active && !s.cache_hit => steps.push("next caller → own request, session".into()),
        Ok(r) => {
            steps.push(format!("next caller → {}", kind_of(&r)));
            problems.push("the next caller did not get a fresh session".into());
        }
        Err(_) => {
            steps.push("next caller → joined the abandoned flight (hung)".into());
            problems.push("the abandoned flight was still in the map".into());
        }
    }
    if cancelled != 3 {
        problems.push("not every waiter was cancelled".into());
    }
    let seen = p.requests("/sessions/whoami").await;
    rows.push(CancelRow {
        fault: "every single-flight waiter cancelled",
        steps,
        requests_seen: seen,
        ok: problems.is_empty(),
        problems,
    });
    rows
}

async fn count(p: &FaultProxy, live: bool, op: Op) -> u64 {
    if live {
        p.requests(op.path()).await
    } else {
        0
    }
}

async fn cleanup(fx: &Fixture) {
    let admin = real_url(&fx.stack, Server::KratosAdmin);
    let http = reqwest::Client::new();
    let mut ids = vec![fx.identity_id.clone()];
    for email in &fx.created_emails {
        let url = format!("{admin}admin/identities");
        if let Ok(r) = http.get(&url).query(&[("credentials_identifier", email)]).send().await {
            if let Ok(v) = r.json::<Value>().await {
                ids.extend(v.as_array().into_iter().flatten().filter_map(|i| i["id"].as_str().map(str::to_owned)));
            }
        }
    }
    for id in ids {
        let _ = http.delete(format!("{admin}admin/identities/{id}")).send().await;
    }
    let iam = Iam::from_value(&fx.stack["iam_config"]).unwrap();
    let _ = iam.permission().revoke(&fx.allowed).await;
}

fn check_mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix() {
    let started = Instant::now();
    let mut fx = fixture().await;
    let proxies = Proxies {
        kratos_public: FaultProxy::start(&real_url(&fx.stack, Server::KratosPublic)),
        kratos_admin: FaultProxy::start(&real_url(&fx.stack, Server::KratosAdmin)),
        keto_read: FaultProxy::start(&real_url(&fx.stack, Server::KetoRead)),
    };
    let mut rows = Vec::new();
    for f in faults() {
        for op in OPS {
            rows.push(cell(&f, op, &mut fx, &proxies).await);
        }
    }
    let mut brows = Vec::new();
    for f in faults() {
        brows.push(breaker_row(&f, &mut fx, &proxies).await);
    }
    let crows = cancellation_rows(&fx).await;
    cleanup(&fx).await;

    println!("\nFault matrix (timeout {TIMEOUT_MS} ms/attempt, retries {RETRIES}, backoff ≤ {BACKOFF_MAX_MS} ms)");
    println!(
        "| {:<30} | {:<22} | {:<20} | {:>9} | {:>7} | {:>9} | {:^11} |",
        "fault", "op", "result kind", "attempts", "elapsed", "budget", "fail-closed"
    );
    println!("|{}|", ["-"; 7].map(|_| "").join("|"));
    for r in &rows {
        let kind = match (r.status, r.retry_after_ms) {
            (Some(s), Some(ra)) => format!("{} ({s}, ra {ra}ms)", r.result),
            (Some(s), None) => format!("{} ({s})", r.result),
            _ => r.result.clone(),
        };
        let seen = r.attempts_seen.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
        println!(
            "| {:<30} | {:<22} | {:<20} | {:>4}/{:<4} | {:>5}ms | {:>7}ms | {:^11} |{}",
            r.fault,
            r.op,
            kind,
            r.attempts_expected,
            seen,
            r.elapsed_ms,
            r.budget_ms,
            check_mark(r.fail_closed),
            if r.ok { String::new() } else { format!(" ✗ {}", r.problems.join("; ")) }
        );
    }
    println!("\nCircuit breaker (identity.get, retries 0, threshold {THRESHOLD}, open {OPEN_MS} ms)");
    println!("| {:<30} | {:<7} | {:<60} | {:<14} | ok |", "fault", "counted", "states", "requests seen");
    for b in &brows {
        println!(
            "| {:<30} | {:<7} | {:<60} | {:<14} | {}{}",
            b.fault,
            b.counted,
            b.states.join("→"),
            format!("{:?}", b.requests_seen),
            check_mark(b.ok),
            if b.ok { String::new() } else { format!(" {}", b.problems.join("; ")) }
        );
    }
    println!("\nFaults made by callers (session.whoami through the proxy)");
    println!("| {:<38} | {:<90} | {:<5} | ok |", "fault", "steps", "seen");
    for c in &crows {
        println!(
            "| {:<38} | {:<90} | {:<5} | {}{}",
            c.fault,
            c.steps.join(" → "),
            c.requests_seen,
            check_mark(c.ok),
            if c.ok { String::new() } else { format!(" {}", c.problems.join("; ")) }
        );
    }
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !r.ok)
        .map(|r| format!("{} × {}: {}", r.fault, r.op, r.problems.join("; ")))
        .chain(brows.iter().filter(|b| !b.ok).map(|b| format!("breaker × {}: {}", b.fault, b.problems.join("; "))))
        .chain(crows.iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.fault, c.problems.join("; "))))
        .collect();
    let out = json!({
        "config": {"timeout_ms": TIMEOUT_MS, "connect_timeout_ms": CONNECT_TIMEOUT_MS, "retries": RETRIES,
                   "backoff_base_ms": BACKOFF_BASE_MS, "backoff_max_ms": BACKOFF_MAX_MS,
                   "breaker_threshold": THRESHOLD, "breaker_open_ms": OPEN_MS},
        "rows": rows,
        "breaker": brows,
        "cancellation": crows,
        "cells": rows.len(),
        "failed": failed,
        "elapsed_s": started.elapsed().as_secs_f64(),
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.stack/reliability");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("faults.json"), serde_json::to_string_pretty(&out).unwrap()).unwrap();
    println!(
        "\n{} cells, {} breaker rows, {} failed, {:.1} s",
        rows.len(),
        brows.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failed.is_empty(), "fault matrix failures:\n{}", failed.join("\n"));
}

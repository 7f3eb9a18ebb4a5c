//! Transport security (issue 19 item 9) against the real stack: Kratos behind a TLS-terminating
//! proxy (`tests/security/tls_proxy.py`) whose certificate comes from a private CA made here
//! with rcgen; `http.ca_file`, the OS trust store (`SSL_CERT_FILE`), mutual TLS; a `rediss://`
//! session cache on a real `redis-server` with TLS; IPv6 literal URLs; TLS files that cannot be
//! used refused at construction under their key; the warning for credentials configured to
//! travel over plain `http://` to a host that is not loopback.

mod common;

use ory_iam::{ErrorKind, Iam};
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private CA, a server certificate for 127.0.0.1, ::1 and localhost, and a client certificate,
/// as PEM files in a fresh directory (removed on drop).
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("ory-iam-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        ca.distinguished_name.push(rcgen::DnType::CommonName, "ory-iam test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose, stem: &str| {
            let mut p = CertificateParams::new(names).unwrap();
            p.extended_key_usages = vec![usage];
            p.distinguished_name.push(rcgen::DnType::CommonName, stem);
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &issuer).unwrap();
            std::fs::write(dir.join(format!("{stem}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.join(format!("{stem}.key")), key.serialize_pem()).unwrap();
        };
        std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
        leaf(vec!["127.0.0.1".into(), "::1".into(), "localhost".into()], ExtendedKeyUsagePurpose::ServerAuth, "server");
        leaf(vec!["client.ory-iam.test".into()], ExtendedKeyUsagePurpose::ClientAuth, "client");
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn file(&self, name: &str) -> Value {
        Value::String(self.path(name).display().to_string())
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `tests/security/tls_proxy.py` in front of `upstream` (a stack URL); killed on drop.
struct Proxy {
    child: Child,
    port: u16,
}

impl Proxy {
    fn start(upstream: &str, listen: &str, tls: Option<(&Pki, bool)>) -> Proxy {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/security/tls_proxy.py");
        let authority = upstream.trim_start_matches("http://").trim_end_matches('/');
        let mut cmd = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
        cmd.args([script, "--upstream", authority, "--listen", listen]);
        if let Some((pki, mutual)) = tls {
            cmd.arg("--cert").arg(pki.path("server.pem")).arg("--key").arg(pki.path("server.key"));
            if mutual {
                cmd.arg("--client-ca").arg(pki.path("ca.pem"));
            }
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs tls_proxy.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("proxy announces its port");
        let port = serde_json::from_str::<Value>(&line).expect("{\"port\": N}")["port"].as_u64().unwrap() as u16;
        Proxy { child, port }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kratos(which: &str) -> String {
    common::stack()["kratos"]["customer"][which].as_str().unwrap().to_owned()
}

/// One tenant `customer` whose Kratos public and admin APIs are at `public`/`admin`, with `http`
/// settings; failures come back at once (no retries, no breaker).
fn config(public: &str, admin: &str, http: Value) -> Value {
    let mut h = json!({"timeout_ms": 5000, "connect_timeout_ms": 2000, "retries": 0, "breaker_threshold": 0});
    for (k, v) in http.as_object().unwrap() {
        h[k] = v.clone();
    }
    json!({
        "tenants": {"customer": {
            "kratos": {
                "public_url": public, "admin_url": admin,
                "session_cookie_name": common::stack()["kratos"]["customer"]["session_cookie_name"],
            },
            "http": h,
        }},
        "audit": {"sink": "none"},
    })
}

fn bearer(token: &ory_iam::Secret) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("authorization", format!("Bearer {}", token.expose()).parse().unwrap());
    h
}

/// A session made over plain HTTP on the stack itself.
async fn session() -> (String, ory_iam::Secret) {
    let iam = Iam::from_value(&common::iam_config()).unwrap();
    common::native_session(&iam, "customer").await
}

#[tokio::test]
async fn https_to_a_private_ca_works_with_ca_file_and_fails_without() {
    let pki = Pki::new();
    let public = Proxy::start(&kratos("public_url"), "127.0.0.1", Some((&pki, false)));
    let admin = Proxy::start(&kratos("admin_url"), "127.0.0.1", Some((&pki, false)));
    let (public_url, admin_url) =
        (format!("https://127.0.0.1:{}/", public.port), format!("https://localhost:{}/", admin.port));
    let (id, token) = session().await;

    let iam = Iam::from_value(&config(&public_url, &admin_url, json!({"ca_file": pki.file("ca.pem")}))).unwrap();
    let s = iam.session().whoami(&bearer(&token)).await.expect("whoami over https with http.ca_file");
    assert_eq!(s.identity.id, id);
    assert_eq!(iam.identity().get(&id).await.unwrap().id, id);
    // The same client again (a pooled TLS connection) and a fresh registration through the proxy.
    common::native_session(&iam, "customer").await;

    // Without the CA the certificate is refused: the transport error class, not an answer.
    let iam = Iam::from_value(&config(&public_url, &admin_url, json!({}))).unwrap();
    let e = iam.session().whoami(&bearer(&token)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{e}");
    let e = iam.identity().get(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{e}");
    assert!(!iam.health().await.probes.iter().any(|p| p.healthy), "no probe passes an untrusted certificate");
}

#[tokio::test]
async fn the_os_trust_store_is_used() {
    // rustls-native-certs reads SSL_CERT_FILE in place of the system bundle, once per process:
    // a child process (this test binary, running the ignored test below) gets the private CA as
    // its OS root, and no `http.ca_file`.
    let pki = Pki::new();
    let public = Proxy::start(&kratos("public_url"), "127.0.0.1", Some((&pki, false)));
    let (id, token) = session().await;
    let run = |cert_file: &std::path::Path| {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "os_trust_store_child", "--ignored", "--test-threads", "1"])
            .env("SSL_CERT_FILE", cert_file)
            .env("ORY_IAM_TLS_CHILD", json!({"port": public.port, "token": token.expose(), "id": id}).to_string())
            .output()
            .unwrap()
    };
    let trusted = run(&pki.path("ca.pem"));
    assert!(trusted.status.success(), "{}", String::from_utf8_lossy(&trusted.stdout));
    // The same child with another CA as the OS store: refused, so the store is what decided.
    let other = Pki::new();
    let untrusted = run(&other.path("ca.pem"));
    assert!(!untrusted.status.success(), "a certificate from an untrusted CA was accepted");
}

#[tokio::test]
#[ignore = "run by the_os_trust_store_is_used in a child process with SSL_CERT_FILE set"]
async fn os_trust_store_child() {
    let Ok(spec) = std::env::var("ORY_IAM_TLS_CHILD") else { return };
    let spec: Value = serde_json::from_str(&spec).unwrap();
    let url = format!("https://127.0.0.1:{}/", spec["port"]);
    let iam = Iam::from_value(&config(&url, &url, json!({}))).unwrap();
    let token = ory_iam::Secret::new(spec["token"].as_str().unwrap());
    let s = iam.session().whoami(&bearer(&token)).await.expect("whoami trusting the OS store");
    assert_eq!(s.identity.id, spec["id"].as_str().unwrap());
}

#[tokio::test]
async fn mutual_tls_works_with_a_client_certificate_and_fails_without() {
    let pki = Pki::new();
    let public = Proxy::start(&kratos("public_url"), "127.0.0.1", Some((&pki, true)));
    let url = format!("https://127.0.0.1:{}/", public.port);
    let (id, token) = session().await;
    let with = json!({
        "ca_file": pki.file("ca.pem"),
        "client_cert_file": pki.file("client.pem"),
        "client_key_file": pki.file("client.key"),
    });
    let iam = Iam::from_value(&config(&url, &url, with)).unwrap();
    assert_eq!(iam.session().whoami(&bearer(&token)).await.unwrap().identity.id, id);

    let iam = Iam::from_value(&config(&url, &url, json!({"ca_file": pki.file("ca.pem")}))).unwrap();
    let e = iam.session().whoami(&bearer(&token)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{e}");
}

#[tokio::test]
async fn tls_files_that_cannot_be_used_fail_construction_under_their_key() {
    let pki = Pki::new();
    let url = "https://127.0.0.1:1/";
    let secret_looking = "ory_pat_not_a_certificate_but_a_secret";
    std::fs::write(pki.path("junk.pem"), format!("{secret_looking}\n")).unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/security/tls_files.json");
    let cases: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let fill = |v: &Value| -> Value {
        let mut v = v.clone();
        for (_, x) in v.as_object_mut().unwrap() {
            let s = x.as_str().unwrap();
            *x = match s {
                "$junk" => pki.file("junk.pem"),
                "$missing" => pki.file("missing.pem"),
                _ => s.strip_prefix("$pki/").map(|n| pki.file(n)).unwrap_or_else(|| json!(s)),
            };
        }
        v
    };
    let check = |cfg: Value, want: &Value| {
        let want: Vec<String> = serde_json::from_value(want.clone()).unwrap();
        match Iam::from_value(&cfg) {
            Ok(_) => assert!(want.is_empty(), "{cfg} built; expected {want:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
                let got: Vec<String> = e.fields().iter().map(|f| f.path.clone()).collect();
                assert_eq!(got, want, "{cfg}");
                assert!(!format!("{e} {e:?}").contains(secret_looking), "a file's content is never echoed");
            }
        }
    };
    for c in cases["http"].as_array().unwrap() {
        check(config(url, url, fill(&c["http"])), &c["paths"]);
    }
    for c in cases["redis"].as_array().unwrap() {
        let mut cfg = config(url, url, json!({}));
        let mut redis = fill(&c["redis"]);
        redis["keys"] = json!([common::redis_key()]);
        cfg["session_cache"] = json!({ "redis": redis });
        check(cfg, &c["paths"]);
    }
}

/// A real `redis-server` listening with TLS only, certificate from `pki`; killed on drop.
struct TlsRedis {
    child: Child,
    port: u16,
}

impl TlsRedis {
    fn start(pki: &Pki, require_client_cert: bool) -> TlsRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let p = |n: &str| pki.path(n).display().to_string();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--tls-port", &port.to_string(), "--tls-cert-file", &p("server.pem")])
            .args(["--tls-key-file", &p("server.key"), "--tls-ca-cert-file", &p("ca.pem")])
            .args(["--tls-auth-clients", if require_client_cert { "yes" } else { "no" }])
            .args(["--dir", &pki.dir.display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's is built with TLS)");
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(10), "redis-server did not listen on its TLS port");
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsRedis { child, port }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn second_whoami_is_a_cache_hit(mut redis: Value) -> bool {
    redis["keys"] = json!([common::redis_key()]);
    let mut cfg = config(&kratos("public_url"), &kratos("admin_url"), json!({}));
    cfg["tenants"]["customer"]["cache"] = json!({"session_ttl_ms": 60000});
    cfg["session_cache"] = json!({"redis": redis});
    let iam = Iam::from_value(&cfg).unwrap();
    let (_, token) = common::native_session(&iam, "customer").await;
    let first = iam.session().whoami(&bearer(&token)).await.unwrap();
    assert!(!first.cache_hit);
    iam.session().whoami(&bearer(&token)).await.unwrap().cache_hit
}

#[tokio::test]
async fn rediss_session_cache_on_a_tls_redis() {
    let pki = Pki::new();
    let redis = TlsRedis::start(&pki, false);
    let url = format!("rediss://127.0.0.1:{}/0", redis.port);
    assert!(second_whoami_is_a_cache_hit(json!({"url": url, "ca_file": pki.file("ca.pem")})).await);
    // Redis's certificate is checked: without the CA the cache is unreachable (a miss, Kratos
    // still answers).
    assert!(!second_whoami_is_a_cache_hit(json!({"url": url})).await);
}

#[tokio::test]
async fn rediss_with_a_client_certificate() {
    let pki = Pki::new();
    let redis = TlsRedis::start(&pki, true);
    let url = format!("rediss://127.0.0.1:{}/0", redis.port);
    let with = json!({
        "url": url, "ca_file": pki.file("ca.pem"),
        "client_cert_file": pki.file("client.pem"), "client_key_file": pki.file("client.key"),
    });
    assert!(second_whoami_is_a_cache_hit(with).await);
    assert!(!second_whoami_is_a_cache_hit(json!({"url": url, "ca_file": pki.file("ca.pem")})).await);
}

#[tokio::test]
async fn ipv6_literal_urls_work_on_the_first_attempt() {
    let public = Proxy::start(&kratos("public_url"), "::1", None);
    let admin = Proxy::start(&kratos("admin_url"), "::1", None);
    let cfg = config(&format!("http://[::1]:{}/", public.port), &format!("http://[::1]:{}", admin.port), json!({}));
    // No retries: the first attempt has to succeed.
    let iam = Iam::from_value(&cfg).unwrap();
    let (id, token) = common::native_session(&iam, "customer").await;
    assert_eq!(iam.session().whoami(&bearer(&token)).await.unwrap().identity.id, id);
    assert_eq!(iam.identity().get(&id).await.unwrap().id, id);
    let health = iam.health().await;
    assert!(health.probes.iter().all(|p| p.healthy), "{health:?}");

    // Over TLS too, with the server certificate's IPv6 address.
    let pki = Pki::new();
    let tls = Proxy::start(&kratos("public_url"), "::1", Some((&pki, false)));
    let url = format!("https://[::1]:{}/", tls.port);
    let iam = Iam::from_value(&config(&url, &url, json!({"ca_file": pki.file("ca.pem")}))).unwrap();
    assert_eq!(iam.session().whoami(&bearer(&token)).await.unwrap().identity.id, id);
}

/// Every event logged while `f` runs, as text (message and fields).
fn logged<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;
    struct Grab(Arc<Mutex<Vec<String>>>);
    struct Text(String);
    impl tracing::field::Visit for Text {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={:?}", field.name(), value));
        }
    }
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Grab {
        fn on_event(&self, e: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            let mut t = Text(format!("{} {}", e.metadata().level(), e.metadata().target()));
            e.record(&mut t);
            self.0.lock().unwrap().push(t.0);
        }
    }
    let out = Arc::new(Mutex::new(Vec::new()));
    let sub = tracing_subscriber::registry().with(Grab(out.clone()));
    let r = tracing::subscriber::with_default(sub, f);
    let lines = out.lock().unwrap().clone();
    (r, lines)
}

#[tokio::test]
async fn credentials_over_plain_http_to_a_remote_host_are_warned_about() {
    let token = "ory_pat_plaintext_admin_token_value";
    let local = kratos("public_url");
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never routed, so the probe fails within the connect
    // timeout; the warning needs no connection.
    let cfg = json!({
        "default_tenant": "remote",
        "tenants": {
            "remote": {
                "kratos": {"public_url": "http://192.0.2.1:4433/", "admin_url": "http://192.0.2.1:4434/", "admin_token": token},
                "keto": {"read_url": "http://[::1]:1/", "write_url": "http://127.8.0.1:1/", "api_key": token},
                "hydra": {"public_url": "http://localhost:1/", "admin_url": "https://hydra.example.test/", "admin_token": token, "client_id": "c", "client_secret": token},
                "http": {"timeout_ms": 300, "connect_timeout_ms": 200, "retries": 0},
            },
            "local": {
                "kratos": {"public_url": local, "admin_url": local, "admin_token": token},
                "http": {"timeout_ms": 300, "connect_timeout_ms": 200, "retries": 0},
            },
        },
        "audit": {"sink": "none"},
    });
    let (iam, lines) = logged(|| Iam::from_value(&cfg).unwrap());
    let warned: Vec<&String> = lines.iter().filter(|l| l.starts_with("WARN ory_iam::config")).collect();
    assert_eq!(warned.len(), 1, "{lines:?}");
    assert!(warned[0].contains("tenants.remote.kratos.admin_token"), "{warned:?}");
    assert!(lines.iter().all(|l| !l.contains(token)), "the token itself is never logged");

    let health = iam.health().await;
    let w: Vec<&String> = health.warnings.iter().filter(|w| w.contains("http://")).collect();
    assert_eq!(w.len(), 1, "{:?}", health.warnings);
    assert!(w[0].contains("tenants.remote.kratos.admin_token") && w[0].contains("tenants.remote.kratos.admin_url"));
    assert!(!format!("{health:?}").contains(token));

    // The same remote host over https: no warning.
    let mut cfg = cfg;
    cfg["tenants"]["remote"]["kratos"]["admin_url"] = json!("https://192.0.2.1:4434/");
    let (iam, lines) = logged(|| Iam::from_value(&cfg).unwrap());
    assert!(!lines.iter().any(|l| l.starts_with("WARN ory_iam::config")), "{lines:?}");
    assert!(!iam.health().await.warnings.iter().any(|w| w.contains("http://")));
}

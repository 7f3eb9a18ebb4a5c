//! Tracing against the real stack: a `traced` handle reports what its calls did (requests,
//! retries, status, cache hit) and sends the caller's `traceparent` to Ory.

mod common;

use ory_iam::transport::header_map;
use ory_iam::{ErrorKind, Iam};
use serde_json::json;
use std::io::{Read, Write};

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn traced_calls_report_requests_status_and_cache_hits() {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = json!("memory");
    cfg["tenants"]["customer"]["cache"] = json!({"session_ttl_ms": 60_000});
    let iam = Iam::from_value(&cfg).unwrap();

    // An untraced handle has no report; a traced one is bound to the same tenant.
    let ids = iam.identity();
    assert!(ids.op_report().is_none());
    let traced = ids.traced(Some(TP));
    assert_eq!(traced, ids, "same tenant, same registry");
    let e = traced.get("9f425a8d-7efc-4768-8f23-7647a74fdf13").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let r = traced.op_report().unwrap();
    assert_eq!((r.requests, r.retries, r.status, r.cache_hit), (1, 0, Some(404), false));
    assert_eq!(r.service.as_deref(), Some("kratos-admin"));
    assert!(r.request_id.is_some());

    // whoami: first a request to Kratos, then the cache answers with no request at all.
    let (id, token) = common::native_session(&iam, "customer").await;
    let req = header_map([("authorization", format!("Bearer {}", token.expose()))]);
    let first = iam.session().traced(Some(TP));
    assert_eq!(first.whoami(&req).await.unwrap().identity.id, id);
    let r = first.op_report().unwrap();
    assert_eq!((r.requests, r.status, r.cache_hit), (1, Some(200), false));
    let second = iam.session().traced(None);
    assert_eq!(second.whoami(&req).await.unwrap().identity.id, id);
    let r = second.op_report().unwrap();
    assert_eq!((r.requests, r.status, r.cache_hit), (0, None, true));

    // A traced handle shares the caches: a grant through it invalidates the untraced decision.
    let perm = iam.permission();
    let tuple = ory_iam::dto::PermissionTuple::new("documents", &format!("doc-{}", uuid::Uuid::new_v4()), "view", &id);
    assert!(!perm.check(&tuple, Default::default()).await.unwrap());
    let tp = perm.traced(Some(TP));
    tp.grant(&tuple).await.unwrap();
    assert!(perm.check(&tuple, Default::default()).await.unwrap());
    assert_eq!(tp.op_report().unwrap().requests, 1);
    perm.revoke(&tuple).await.unwrap();
}

/// One HTTP exchange on a loopback socket: returns the request head the client sent.
fn capture_one(listener: std::net::TcpListener) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let body = b"{\"error\":{\"code\":404}}";
        let _ = write!(s, "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
        let _ = s.write_all(body);
        String::from_utf8_lossy(&head).to_ascii_lowercase()
    })
}

#[tokio::test]
async fn traceparent_is_sent_only_when_valid() {
    for (given, expected) in [(Some(TP), Some(TP)), (Some("00-zz-bad-01"), None), (None, None)] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = capture_one(listener);
        let mut cfg = common::iam_config();
        cfg["tenants"]["customer"]["kratos"]["admin_url"] = json!(format!("http://127.0.0.1:{port}/"));
        cfg["tenants"]["customer"]["http"] = json!({"retries": 0});
        let iam = Iam::from_value(&cfg).unwrap();
        let svc = iam.identity().traced(given);
        let e = svc.get("9f425a8d-7efc-4768-8f23-7647a74fdf13").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let head = seen.join().unwrap();
        match expected {
            Some(tp) => assert!(head.contains(&format!("traceparent: {tp}\r\n")), "traceparent not sent"),
            None => assert!(!head.contains("traceparent:"), "no valid context, no header"),
        }
    }
}

/// Every Ory call made through a `correlated` handle carries its request id, whichever product
/// it goes to and whatever service makes it; an invalid id is never sent; whoami behind a
/// trusted proxy keeps the request's own id.
#[tokio::test]
async fn correlated_handles_send_their_request_id_to_every_product() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let at = format!("http://127.0.0.1:{port}/");
    let mut cfg = common::iam_config();
    let t = &mut cfg["tenants"]["customer"];
    t["kratos"]["admin_url"] = json!(at);
    t["kratos"]["public_url"] = json!(at);
    t["keto"]["read_url"] = json!(at);
    t["hydra"]["admin_url"] = json!(at);
    t["http"] = json!({"retries": 0});
    let iam = Iam::from_value(&cfg).unwrap();
    let id = "9f425a8d-7efc-4768-8f23-7647a74fdf13";
    let rid = "req-7f3a:checkout/42";
    let token = header_map([("authorization", "Bearer ory_st_x".to_owned())]);
    let tuple = ory_iam::dto::PermissionTuple::new("documents", "doc-1", "view", id);
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = heads.clone();
    // Records each request head before answering 404, so a finished call's head is there.
    std::thread::spawn(move || {
        for mut s in listener.incoming().map_while(Result::ok) {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            seen.lock().unwrap().push(String::from_utf8_lossy(&head).to_ascii_lowercase());
            let body = b"{\"error\":{\"code\":404}}";
            let _ = write!(s, "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = s.write_all(body);
        }
    });
    let last = || heads.lock().unwrap().last().cloned().unwrap_or_default();
    let sent = |head: &str| {
        head.lines().find_map(|l| l.strip_prefix("x-request-id: ").map(|v| v.trim().to_owned())).unwrap_or_default()
    };

    let _ = iam.identity().correlated(rid).get(id).await;
    assert_eq!(sent(&last()), rid.to_ascii_lowercase(), "kratos admin");
    let _ = iam.permission().correlated(rid).check(&tuple, Default::default()).await;
    assert_eq!(sent(&last()), rid.to_ascii_lowercase(), "keto read");
    let _ = iam.oauth2_client().correlated(rid).get("some-client").await;
    assert_eq!(sent(&last()), rid.to_ascii_lowercase(), "hydra admin");
    let _ = iam.session().correlated(rid).whoami(&token).await;
    assert_eq!(sent(&last()), rid.to_ascii_lowercase(), "kratos public whoami");
    // Traced then correlated: both the trace context and the id.
    let _ = iam.identity().traced(Some(TP)).correlated(rid).get(id).await;
    assert!(last().contains(&format!("traceparent: {TP}\r\n")));
    assert_eq!(sent(&last()), rid.to_ascii_lowercase());

    // Not correlated, or with an id that must not reach a log line: a fresh UUID per call.
    for h in [iam.identity(), iam.identity().correlated("two words"), iam.identity().correlated("a\r\nx-admin: 1")] {
        let _ = h.get(id).await;
        let got = sent(&last());
        assert!(uuid::Uuid::parse_str(&got).is_ok(), "{got:?}");
        assert!(!last().contains("x-admin"));
    }

    // Behind a trusted proxy, whoami keeps the request's own id over the handle's.
    cfg["tenants"]["customer"]["trust_proxy"] = json!(true);
    let iam = Iam::from_value(&cfg).unwrap();
    let mut req = token.clone();
    req.insert("x-request-id", http::HeaderValue::from_static("from-the-edge"));
    let _ = iam.session().correlated(rid).whoami(&req).await;
    assert_eq!(sent(&last()), "from-the-edge");
}

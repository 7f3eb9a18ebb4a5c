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
